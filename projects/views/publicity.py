"""Public notice (立项公示) pages: the notice board, the public objection form, the secretariat's
queue of objections and their decision, the confirmation of a call's projects, the approval letter."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Case, IntegerField, Value, When
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.lockout import client_ip
from config.ratelimits import limited

from .. import access
from ..letters import build_approval_letter
from ..models import DocumentKind, Objection, ObjectionState, Project, ProjectDocument
from ..publicity import (
    CONTACT_MAX_CHARS,
    NAME_MAX_CHARS,
    OBJECTION_MAX_CHARS,
    ObjectionRefused,
    TooManyObjections,
    confirm_projects,
    confirmation_outlook,
    decide_objection,
    notice_board,
    notice_period,
    objection_closed_reason,
    submit_objection,
)
from ..services import TransitionRefused
from .public import public_calls

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _formatted(message, values):
    return str(message) % values


_lazy_formatted = lazy(_formatted, str)


def lazy_format(message, **values):
    """``message % values`` translated when shown, not at import (``gettext_lazy % …`` is eager)."""
    return _lazy_formatted(message, values)


# ---- forms: they only read the input; the rules and their messages are in ``publicity`` ------


class ObjectionForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Your name"), required=False,
        widget=forms.TextInput(attrs={"maxlength": NAME_MAX_CHARS, "autocomplete": "name"}),
    )
    contact = forms.CharField(
        label=gettext_lazy("Phone or e-mail"), required=False,
        help_text=gettext_lazy("Only the secretariat sees it, to ask you about the objection."),
        widget=forms.TextInput(attrs={"maxlength": CONTACT_MAX_CHARS}),
    )
    text = forms.CharField(
        label=gettext_lazy("Objection"), required=False, strip=False,
        help_text=lazy_format(gettext_lazy("What is wrong, with the facts that show it; at most %(max)d characters."),
                              max=OBJECTION_MAX_CHARS),
        widget=forms.Textarea(attrs={"rows": 8, "maxlength": OBJECTION_MAX_CHARS}),
    )
    file = forms.FileField(
        label=gettext_lazy("Supporting file (optional)"), required=False,
        help_text=lazy_format(gettext_lazy("PDF, Word (.docx), PNG or JPEG; at most %(mb)d MB."),
                              mb=settings.UPLOAD_MAX_BYTES // 2**20),
    )


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=gettext_lazy("Decision"),
        choices=[
            ("dismiss", gettext_lazy("Dismiss: the objection is not founded, the project stays")),
            ("uphold", gettext_lazy("Uphold: the objection is founded, the project is dropped")),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"), required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("Upholding drops the project; the reason is written in its history and mailed to the PI."),
    )


def _secretariat(request):
    if not access.is_secretariat(None, request.user):
        raise PermissionDenied
    return request.user


def _client_id(request):
    """The sender's address: the proxy-aware one the login lockout and the rate limits use."""
    return client_ip(request) or ""


# ---- public -------------------------------------------------------------------------------


def call_publicity(request, pk):
    """The call's notice board (立项公示): anyone may read it and object."""
    call = get_object_or_404(public_calls(), pk=pk)
    board = notice_board(call)
    now = timezone.now()
    return render(request, "projects/publicity/board.html", {
        "call": call,
        "board": board,
        "entries": [(entry, entry.is_running(now)) for entry in board.entries],
        "is_secretariat": access.is_secretariat(None, request.user),
    })


def _public_project(project_pk):
    """A project that has been in public notice (never one the public has not seen)."""
    return get_object_or_404(Project.objects.with_people().exclude(publicity_started_at=None), pk=project_pk)


@limited("forms")
def objection_form(request, project_pk):
    """The public objection form of one project (公示异议), while its notice runs."""
    project = _public_project(project_pk)
    closed = objection_closed_reason(project, timezone.now())
    form = ObjectionForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST" and not closed and form.is_valid():
        data = form.cleaned_data
        try:
            submit_objection(
                project, name=data["name"], contact=data["contact"], text=data["text"],
                upload=data["file"], client_id=_client_id(request),
            )
        except TooManyObjections as refusal:
            status = 429
            for message in refusal.messages:
                form.add_error(None, message)
        except ObjectionRefused as refusal:
            for field, field_messages in refusal.field_errors.items():
                for message in field_messages:
                    form.add_error(field or None, message)
        else:
            return redirect("objection-thanks", project_pk=project.pk)
    starts, ends = notice_period(project)
    return render(request, "projects/publicity/objection_form.html", {
        "project": project, "form": form, "closed": closed, "starts": starts, "ends": ends,
    }, status=status)


def objection_thanks(request, project_pk):
    project = _public_project(project_pk)
    return render(request, "projects/publicity/objection_thanks.html", {"project": project})


# ---- the secretariat ---------------------------------------------------------------------------


@login_required
def objection_queue(request):
    """Every objection, those waiting for a decision first."""
    _secretariat(request)
    objections = (
        Objection.objects.select_related(
            "project__call", "project__call_class", "project__pi", "project__institution", "decided_by"
        )
        .annotate(waiting=Case(When(state=ObjectionState.PENDING, then=Value(0)), default=Value(1),
                               output_field=IntegerField()))
        .order_by("waiting", "submitted_at", "pk")
    )
    objections = list(objections)
    return render(request, "projects/publicity/objection_queue.html", {
        "pending": [o for o in objections if o.state == ObjectionState.PENDING],
        "decided": [o for o in objections if o.state != ObjectionState.PENDING],
    })


@login_required
def objection_decide(request, pk):
    user = _secretariat(request)
    objection = get_object_or_404(
        Objection.objects.select_related("project__call", "project__call_class", "project__pi",
                                         "project__institution", "decided_by"),
        pk=pk,
    )
    form = DecisionForm(request.POST or None) if objection.state == ObjectionState.PENDING else None
    if request.method == "POST" and form is not None and form.is_valid():
        uphold = form.cleaned_data["decision"] == "uphold"
        try:
            decide_objection(objection, by=user, uphold=uphold, reason=form.cleaned_data["reason"])
        except TransitionRefused as refusal:
            for message in refusal.messages:
                form.add_error(None, message)
        else:
            if uphold:
                messages.success(request, _("The objection was upheld; “%(title)s” is dropped from the notice.")
                                 % {"title": objection.project.title})
            else:
                messages.success(request, _("The objection was dismissed."))
            return redirect("objection-queue")
    elif request.method == "POST" and form is None:
        messages.error(request, _("This objection was already decided."))
    return render(request, "projects/publicity/objection_decide.html", {
        "objection": objection, "project": objection.project, "form": form,
        "other_objections": objection.project.objections.exclude(pk=objection.pk).order_by("submitted_at"),
    })


@login_required
def objection_file(request, pk):
    """The objection's supporting file, for the secretariat only (404 for everyone else)."""
    if not access.is_secretariat(None, request.user):
        raise Http404
    objection = get_object_or_404(Objection, pk=pk)
    if not objection.file:
        raise Http404
    return FileResponse(objection.file.open("rb"), as_attachment=True,
                        filename=objection.file_name or objection.file.name.rsplit("/", 1)[-1])


@login_required
def confirm_call(request, pk):
    """Confirmation (正式立项) of a call's projects whose notice is over: GET shows the outlook, POST does it."""
    user = _secretariat(request)
    call = get_object_or_404(public_calls(), pk=pk)
    if request.method == "POST":
        confirmed, refused = confirm_projects(call, by=user)
        if confirmed:
            messages.success(request, _("%(count)d projects confirmed.") % {"count": len(confirmed)})
        return render(request, "projects/publicity/confirm.html", {
            "call": call, "done": True, "confirmed": confirmed, "refused": refused,
        })
    return render(request, "projects/publicity/confirm.html", {
        "call": call, "done": False, "outlook": confirmation_outlook(call),
    })


# ---- the approval letter --------------------------------------------------------------------


@login_required
def approval_letter(request, pk):
    """The 立项通知书 for the PI, the project's unit and the secretariat; 404 for everyone else."""
    project = get_object_or_404(Project.objects.with_people(), pk=pk)
    user = request.user
    allowed = access.is_pi(project, user) or access.is_unit_admin_of(project, user) or access.is_secretariat(project, user)
    if not allowed or not project.number or not project.start_date:
        raise Http404
    document = ProjectDocument.objects.filter(project=project, kind=DocumentKind.APPROVAL_LETTER).first()
    if document is None:  # the task has not run yet (a busy worker): build it now
        build_approval_letter(project.pk)
        document = get_object_or_404(ProjectDocument, project=project, kind=DocumentKind.APPROVAL_LETTER)
    return FileResponse(document.file.open("rb"), as_attachment=True,
                        filename=f"{project.number}-立项通知书.docx", content_type=DOCX)

