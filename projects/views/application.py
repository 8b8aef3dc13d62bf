"""The application form in steps that save as you go; the check and the submission.

A draft is never lost: every step saves what validates; input that does not
validate is kept and shown again with its messages; and a step posted after
the session expired is saved on the strength of the signed draft token in the
form before the applicant is asked to log in again.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import application as app
from ..forms import (
    ArgumentForm,
    AttachmentForm,
    BasicForm,
    BudgetFormSet,
    MemberFormSet,
    PIForm,
    PlannedOutputFormSet,
    PledgeForm,
)
from ..models import ARGUMENT_FIELDS, Call, Project
from ..rules import rule
from ..services import TransitionRefused, perform
from ..workflow import CallState


@login_required
@require_POST
def start(request, call_pk):
    """Open (or resume) the user's draft in a call that takes applications."""
    call = get_object_or_404(Call, pk=call_pk, state=CallState.PUBLISHED)
    project = app.start_application(call, request.user)
    return redirect("application-step", pk=project.pk, step=app.STEP_NAMES[0])


# ---- the forms of each step -----------------------------------------------------------------------


def _forms(step, project, user, data=None, files=None):
    """{name: form or formset} of ``step``, bound to ``data`` when given."""
    if step == "basic":
        return {"form": BasicForm(data, instance=project)}
    if step == "pi":
        return {"form": PIForm(data, instance=user)}
    if step == "members":
        return {"formset": MemberFormSet(data, instance=project, prefix="members")}
    if step == "argument":
        return {"form": ArgumentForm(data, instance=project)}
    if step == "outputs":
        return {"formset": PlannedOutputFormSet(data, instance=project, prefix="outputs")}
    if step == "budget":
        return {"formset": BudgetFormSet(data, instance=project, prefix="budget")}
    if step == "attachments":
        return {"form": AttachmentForm(data, files) if data is not None else AttachmentForm()}
    if step == "pledge":
        return {"form": PledgeForm(data, initial={"accept": project.pledge_accepted_at is not None})}
    return {}


def _save(step, project, forms):
    """Save a validated step; return an error message for the form, or None."""
    if step == "attachments":
        from ..uploads import UploadRejected

        form = forms["form"]
        try:
            attachment = app.attach_file(project, form.cleaned_data["part"], form.cleaned_data["file"],
                                         max_bytes=settings.UPLOAD_MAX_BYTES)
        except UploadRejected as rejection:
            form.add_error("file", str(rejection))
            return str(rejection)
        return None if attachment else _("The file could not be stored.")
    if step == "pledge":
        app.accept_pledge(project, forms["form"].cleaned_data["accept"])
        return None
    for form in forms.values():
        form.save()
    return None


def _context(project, user, step, forms, restored=False):
    context = {
        "project": project,
        "steps": app.STEPS,
        "step": step,
        "step_label": dict(app.STEPS)[step],
        "next_step": app.next_step(step),
        "draft_token": app.draft_token(project, user),
        "restored": restored,
        **forms,
    }
    if step == "argument":
        context["argument_max"] = rule("ARGUMENT_MAX_CHARS", project.call_class)
        context["argument_used"] = project.argument_length()
        context["argument_fields"] = ARGUMENT_FIELDS
    if step == "attachments":
        context["attachments"] = project.attachments.all()
    if step == "pledge":
        context["pledge_text"] = app.PLEDGE_TEXT
    if step == "budget":
        context["funding"] = project.call_class.funding
        context["budget_total"] = sum(line.amount for line in project.budget_lines.all())
    if step == "pi":
        context["pi"] = user
    if step == "check":
        context["problems"] = app.submission_problems(project, user)
        context["general_problems"] = context["problems"].get("", [])
    return context


def application_step(request, pk, step):
    if step not in app.STEP_NAMES:
        raise Http404
    project = get_object_or_404(Project.objects.with_people(), pk=pk)
    user, session_expired = request.user, False
    if not user.is_authenticated:
        user = app.user_from_draft_token(request.POST.get("draft_token"), project) if request.method == "POST" else None
        if user is None:
            return redirect_to_login(request.get_full_path())
        session_expired = True
    if project.pi_id != user.pk:
        raise Http404
    refusal = app.not_editable_reason(project, user)
    if refusal:
        messages.info(request, refusal)
        return redirect("project-detail", pk=project.pk)

    if request.method == "POST" and step != "check":
        return _post_step(request, project, user, step, session_expired)
    kept = app.unsaved_input(project, step)
    forms = _forms(step, project, user, data=kept)
    if kept is not None:
        for form in forms.values():
            form.is_valid()  # show the messages of the kept input again
    return render(request, "projects/application/step.html", _context(project, user, step, forms, restored=kept is not None))


def _post_step(request, project, user, step, session_expired):
    if step == "attachments" and request.POST.get("delete"):
        project.attachments.filter(pk=request.POST["delete"]).delete()
        messages.success(request, _("The file was removed."))
        return redirect("application-step", pk=project.pk, step=step)
    if step == "attachments" and not request.FILES:  # nothing to upload: just move on
        following = app.next_step(step) if "continue" in request.POST else step
        return redirect("application-step", pk=project.pk, step=following)
    forms = _forms(step, project, user, data=request.POST, files=request.FILES)
    valid = all(form.is_valid() for form in forms.values())
    error = _save(step, project, forms) if valid else _("Please correct the errors below; nothing of this step was saved.")
    here = reverse("application-step", kwargs={"pk": project.pk, "step": step})
    if error is None:
        app.forget_unsaved_input(project, step)
        if session_expired:
            return redirect_to_login(here)
        messages.success(request, _("Saved."))
        following = app.next_step(step) if "continue" in request.POST else step
        return redirect("application-step", pk=project.pk, step=following)
    if step != "attachments":
        app.keep_unsaved_input(project, step, request.POST)
    if session_expired:
        return redirect_to_login(here)
    messages.error(request, error)
    return render(request, "projects/application/step.html", _context(project, user, step, forms), status=200)


@login_required
@require_POST
def submit(request, pk):
    project = get_object_or_404(Project, pk=pk, pi=request.user)
    try:
        perform(project, "submit", by=request.user)
    except TransitionRefused as refusal:
        for message in refusal.messages:
            messages.error(request, message)
        return redirect("application-step", pk=project.pk, step="check")
    messages.success(request, _("Submitted. Your receipt number is %(number)s.") % {"number": project.receipt_number})
    return redirect("project-detail", pk=project.pk)
