"""Change requests (变更申请): the PI's page with a form per kind, the unit's and the secretariat's queues.

The machine is ``ChangeRequestWorkflow``; requests are opened by
``services.request_change`` and moved by ``services.perform`` (which applies an
approved change in the same transaction). A refusal is shown with its message
and the form keeps what was typed.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import roles
from accounts.models import TitleLevel

from .. import access
from ..models import ChangeKind, ChangeRequest, Project, TransitionLog
from ..rules import rule
from ..services import TransitionRefused, perform, request_change, step_label
from ..workflow import ChangeState
from .project import described

# ---- forms: one per kind ---------------------------------------------------------------------


class ChangeForm(forms.Form):
    explanation = forms.CharField(
        label=gettext_lazy("Explanation"), widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("Why the change is needed; the unit and the secretariat read it."),
    )

    def __init__(self, *args, project, **kwargs):
        self.project = project
        super().__init__(*args, **kwargs)

    def change_fields(self):
        """The ``ChangeRequest`` fields this kind sets, from ``cleaned_data``."""
        return {}


class ExtensionForm(ChangeForm):
    extension_months = forms.IntegerField(
        label=gettext_lazy("Extension in months"), min_value=1,
        help_text=gettext_lazy("At most once, at most 12 months, requested at least 2 months before the end date."),
    )

    def change_fields(self):
        return {"extension_months": self.cleaned_data["extension_months"]}


class NewMemberForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Full name"), max_length=50, required=False)
    title = forms.CharField(label=gettext_lazy("Professional title"), max_length=30, required=False)
    unit = forms.CharField(label=gettext_lazy("Unit"), max_length=120, required=False)
    task = forms.CharField(label=gettext_lazy("Task"), max_length=200, required=False)

    def clean(self):
        data = super().clean()
        values = [data.get(k, "").strip() for k in ("name", "title", "unit", "task")]
        if any(values) and not all(values):
            raise forms.ValidationError(_("Give the name, title, unit and task of every new member."))
        return data


NewMemberFormSet = forms.formset_factory(NewMemberForm, extra=3)


class MembersForm(ChangeForm):
    remove = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Members who leave"), queryset=None, required=False, widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, project=project, **kwargs)
        self.fields["remove"].queryset = project.members.all()
        self.formset = NewMemberFormSet(self.data or None, prefix=f"{self.prefix}-add")

    def is_valid(self):
        return super().is_valid() & self.formset.is_valid()

    def change_fields(self):
        leaving = list(self.cleaned_data["remove"])
        joining = [
            {k: form.cleaned_data[k].strip() for k in ("name", "title", "unit", "task")}
            for form in self.formset
            if form.cleaned_data.get("name", "").strip()
        ]
        # The names are kept beside the ids, so the request still reads well once the members are gone.
        return {"member_changes": {"add": joining, "remove": [m.pk for m in leaving],
                                   "remove_names": [m.name for m in leaving]}}


class PIForm(ChangeForm):
    new_pi = forms.CharField(
        label=gettext_lazy("New PI (username or e-mail)"), max_length=254, required=False,
        help_text=gettext_lazy("The successor must have an account on this site."),
    )
    no_successor = forms.BooleanField(
        label=gettext_lazy("I cannot continue and no one takes over: the project will be revoked (撤项)"),
        required=False,
        help_text=gettext_lazy("Once your unit and the secretariat approve, the project is revoked with your "
                               "explanation as the reason."),
    )

    def clean_new_pi(self):
        value = self.cleaned_data["new_pi"].strip()
        if not value:
            return None
        User = get_user_model()
        user = User.objects.filter(Q(username=value) | Q(email__iexact=value), is_active=True).first()
        if user is None:
            raise forms.ValidationError(
                _("No active user has the username or e-mail “%(value)s”. Ask the successor to register first. "
                  "If there is no successor, tick “I cannot continue” below: the project is then revoked (撤项).")
                % {"value": value}
            )
        minimum = rule("MIN_PI_TITLE_LEVEL", self.project.call_class)
        if user.title_level < minimum:
            raise forms.ValidationError(
                _("The PI of a class %(cls)s project must hold a professional title of level “%(level)s” or above.")
                % {"cls": self.project.call_class.code, "level": TitleLevel(minimum).label}
            )
        return user

    def clean(self):
        data = super().clean()
        new_pi, no_successor = data.get("new_pi"), data.get("no_successor")
        if "new_pi" in data and not new_pi and not no_successor:
            self.add_error("new_pi", _("Name the new PI, or tick “I cannot continue” if no one takes over."))
        elif new_pi and no_successor:
            self.add_error("no_successor", _("You named a new PI: the project goes on and is not revoked. "
                                             "Untick “I cannot continue” or clear the new PI."))
        return data

    def change_fields(self):
        return {"new_pi": None if self.cleaned_data["no_successor"] else self.cleaned_data["new_pi"]}


class ContentForm(ChangeForm):
    new_title = forms.CharField(label=gettext_lazy("New title"), max_length=200, required=False)
    new_content = forms.CharField(label=gettext_lazy("Changed content"), widget=forms.Textarea(attrs={"rows": 5}),
                                  required=False)

    def change_fields(self):
        return {"new_title": self.cleaned_data["new_title"].strip(), "new_content": self.cleaned_data["new_content"].strip()}


class OutputFormForm(ChangeForm):
    new_output_form = forms.CharField(label=gettext_lazy("New form of the outputs"), max_length=200)

    def change_fields(self):
        return {"new_output_form": self.cleaned_data["new_output_form"].strip()}


class TerminationForm(ChangeForm):
    pass


FORMS = {
    ChangeKind.EXTENSION: ExtensionForm,
    ChangeKind.MEMBERS: MembersForm,
    ChangeKind.PI: PIForm,
    ChangeKind.CONTENT: ContentForm,
    ChangeKind.OUTPUT_FORM: OutputFormForm,
    ChangeKind.TERMINATION: TerminationForm,
}


def summary(change):
    """What the request changes, in a line the queues and the log can show."""
    kind = change.kind
    if kind == ChangeKind.EXTENSION:
        return _("%(n)s months") % {"n": change.extension_months}
    if kind == ChangeKind.MEMBERS:
        plan = change.member_changes or {}
        parts = []
        if plan.get("add"):
            parts.append(_("join: %(names)s") % {"names": "、".join(
                f"{p.get('name', '')}（{p.get('title', '')}，{p.get('unit', '')}，{p.get('task', '')}）" for p in plan["add"])})
        if plan.get("remove"):
            names = plan.get("remove_names") or [f"#{pk}" for pk in plan["remove"]]
            parts.append(_("leave: %(names)s") % {"names": "、".join(names)})
        return "; ".join(parts)
    if kind == ChangeKind.PI:
        if not change.new_pi_id:
            return _("the PI cannot continue and no one takes over: the project will be revoked (撤项)")
        return _("new PI: %(name)s") % {"name": change.new_pi.display_name}
    if kind == ChangeKind.CONTENT:
        parts = []
        if change.new_title:
            parts.append(_("new title: %(title)s") % {"title": change.new_title})
        if change.new_content:
            parts.append(_("changed content: %(text)s") % {"text": change.new_content[:200]})
        return "; ".join(parts)
    if kind == ChangeKind.OUTPUT_FORM:
        return _("new form of the outputs: %(form)s") % {"form": change.new_output_form}
    return _("The project ends at the PI's request.")


# ---- the PI's page --------------------------------------------------------------------------


def _project_for_changes(request, pk):
    """The project, for its PI, its unit's administrators and the secretariat; others get 404."""
    project = get_object_or_404(Project.objects.with_people(), pk=pk)
    user = request.user
    if not (access.is_pi(project, user) or access.is_unit_admin_of(project, user) or access.is_secretariat(project, user)):
        raise Http404
    return project


def _changes_with_people(queryset):
    return queryset.select_related(
        "project__pi", "project__institution", "project__call_class", "requested_by", "new_pi"
    )


def change_log(project):
    kind = ContentType.objects.get_for_model(ChangeRequest)
    return described(TransitionLog.objects.filter(project=project, content_type=kind)
                     .select_related("actor", "content_type").order_by("at", "pk"))


@login_required
def project_changes(request, pk):
    project = _project_for_changes(request, pk)
    user = request.user
    is_pi = access.is_pi(project, user)
    may_request = is_pi and project.state in ("active", "midterm_review")
    open_kind = request.POST.get("kind") or request.GET.get("kind") or ""
    forms_by_kind = {kind: cls(project=project, prefix=kind) for kind, cls in FORMS.items()}

    if request.method == "POST":
        if not is_pi:
            raise PermissionDenied
        if request.POST.get("withdraw"):
            return _withdraw(request, project)
        if open_kind not in FORMS:
            raise Http404
        form = FORMS[open_kind](request.POST, project=project, prefix=open_kind)
        forms_by_kind[open_kind] = form
        if form.is_valid():
            try:
                request_change(project, open_kind, by=user, explanation=form.cleaned_data["explanation"],
                               **form.change_fields())
            except TransitionRefused as refusal:
                for message in refusal.messages:
                    form.add_error(None, message)
            else:
                messages.success(request, _("Your request has been sent to your unit for endorsement."))
                return redirect("project-changes", pk=project.pk)

    changes = list(_changes_with_people(project.change_requests.all()).order_by("-created_at", "-pk"))
    for change in changes:
        change.summary = summary(change)
    return render(request, "projects/supervision/changes.html", {
        "project": project,
        "changes": changes,
        "log": change_log(project),
        "forms": [(kind, label, forms_by_kind[kind]) for kind, label in ChangeKind.choices],
        "open_kind": open_kind,
        "is_pi": is_pi,
        "may_request": may_request,
        "is_unit_admin": access.is_unit_admin_of(project, user),
        "is_secretariat": access.is_secretariat(project, user),
    })


def _posted_pk(request, name):
    value = request.POST.get(name, "")
    if not value.isdigit():
        raise Http404
    return int(value)


def _withdraw(request, project):
    change = get_object_or_404(project.change_requests, pk=_posted_pk(request, "withdraw"))
    try:
        perform(change, "withdraw", by=request.user)
    except TransitionRefused as refusal:
        for message in refusal.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("The request has been withdrawn."))
    return redirect("project-changes", pk=project.pk)


# ---- the queues -----------------------------------------------------------------------------

QUEUE_STEPS = {"unit": ("endorse", "reject"), "secretariat": ("approve", "reject")}


def _take_step(request, queryset, allowed):
    """Run the posted step on the posted change; returns the failed (change pk, reason, messages) or None."""
    change = get_object_or_404(queryset, pk=_posted_pk(request, "change"))
    step = request.POST.get("step", "")
    if step not in allowed:
        raise Http404
    reason = request.POST.get("reason", "")
    params = {"override_limits": True} if request.POST.get("override_limits") else {}
    try:
        perform(change, step, by=request.user, reason=reason, **params)
    except TransitionRefused as refusal:
        return {"pk": change.pk, "reason": reason, "messages": refusal.messages}
    messages.success(request, _("Done: %(step)s (%(change)s).") % {
        "step": step_label(ChangeRequest, step), "change": change.get_kind_display()})
    return None


def _steps(*names):
    return [(name, step_label(ChangeRequest, name)) for name in names]


def _queue_rows(queryset):
    rows = list(_changes_with_people(queryset).order_by("created_at", "pk"))
    for change in rows:
        change.summary = summary(change)
    return rows


@login_required
def unit_change_queue(request):
    """The unit's research office endorses (单位审核) or rejects its projects' change requests."""
    user = request.user
    if not (roles.has_role(user, roles.UNIT_ADMIN) and user.institution_id):
        raise PermissionDenied
    mine = ChangeRequest.objects.filter(project__institution_id=user.institution_id)
    failed = None
    if request.method == "POST":
        failed = _take_step(request, mine.filter(state=ChangeState.PENDING), QUEUE_STEPS["unit"])
        if failed is None:
            return redirect("unit-change-queue")
    return render(request, "projects/supervision/change_queue.html", {
        "title": _("Change requests of my unit"),
        "sections": [(_("Waiting for the unit"), _queue_rows(mine.filter(state=ChangeState.PENDING)),
                      _steps("endorse", "reject"))],
        "failed": failed,
        "action": "unit-change-queue",
    })


@login_required
def change_queue(request):
    """The secretariat approves (秘书处批准, applied at once) or rejects change requests."""
    user = request.user
    if not access.is_secretariat(None, user):
        raise PermissionDenied
    failed = None
    if request.method == "POST":
        waiting = ChangeRequest.objects.filter(state__in=(ChangeState.PENDING, ChangeState.ENDORSED))
        failed = _take_step(request, waiting, QUEUE_STEPS["secretariat"])
        if failed is None:
            return redirect("change-queue")
    return render(request, "projects/supervision/change_queue.html", {
        "title": _("Change requests"),
        "sections": [
            (_("Waiting for the secretariat"), _queue_rows(ChangeRequest.objects.filter(state=ChangeState.ENDORSED)),
             _steps("approve", "reject")),
            (_("Waiting for the unit"), _queue_rows(ChangeRequest.objects.filter(state=ChangeState.PENDING)),
             _steps("reject")),
        ],
        "failed": failed,
        "action": "change-queue",
    })
