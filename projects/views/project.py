"""A project as its people see it: the dashboard, the project page with its timeline and steps, its documents."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q, Prefetch
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts import roles

from .. import access
from ..application import STEPS
from ..forms import FORMAL_CHECK_DECISIONS
from ..models import DocumentKind, Project, ProjectDocument, TransitionLog
from ..services import TransitionRefused, available_transitions, perform, step_label
from ..workflow import ProjectState

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

# What the PI is asked to do next, by state.
NEXT_FOR_PI = {
    ProjectState.DRAFT: gettext_lazy("Complete and submit the application."),
    ProjectState.SUBMITTED: gettext_lazy("Waiting for your unit's endorsement."),
    ProjectState.ENDORSED: gettext_lazy("Waiting for the secretariat's formal check."),
    ProjectState.ELIGIBLE: gettext_lazy("Accepted; waiting for the expert review."),
    ProjectState.IN_REVIEW: gettext_lazy("In expert review."),
    ProjectState.REVIEWED: gettext_lazy("Waiting for the committee's decision."),
    ProjectState.PUBLICITY: gettext_lazy("Approved, in public notice."),
    ProjectState.ACTIVE: gettext_lazy("Under way: report the kick-off, the mid-term check and apply for completion."),
    ProjectState.MIDTERM_REVIEW: gettext_lazy("Mid-term report submitted; waiting for the decision."),
    ProjectState.COMPLETION_REVIEW: gettext_lazy("Completion materials submitted; waiting for the appraisal."),
}


@login_required
def dashboard(request):
    """Each user lands here and sees what is theirs to do next, role by role."""
    user = request.user
    last_step = Prefetch("log", queryset=TransitionLog.objects.order_by("-at", "-pk"), to_attr="history")
    my_projects = list(Project.objects.with_people().filter(pi=user).prefetch_related(last_step).order_by("-created_at"))
    for project in my_projects:
        project.next_hint = NEXT_FOR_PI.get(project.state, "")
        project.last_entry = project.history[0] if project.history else None
    context = {
        "my_projects": my_projects,
        "member_projects": Project.objects.with_people().filter(members__user=user).exclude(pi=user).distinct(),
    }
    if roles.has_role(user, roles.UNIT_ADMIN) and user.institution_id:
        context["unit_queue"] = Project.objects.with_people().filter(
            institution_id=user.institution_id, state=ProjectState.SUBMITTED
        )
    if access.is_secretariat(None, user):
        counts = dict(Project.objects.values_list("state").annotate(n=Count("pk")).order_by())
        context["state_counts"] = [(label, counts.get(value, 0), value) for value, label in ProjectState.choices]
        context["formal_check_queue"] = Project.objects.with_people().filter(state=ProjectState.ENDORSED)
    context.update(after_approval_context(user))
    context["is_committee"] = roles.has_role(user, roles.COMMITTEE)
    context["is_expert"] = roles.has_role(user, roles.EXPERT)
    if context["is_expert"]:
        context["expert_counts"] = expert_counts(user)
    return render(request, "projects/dashboard.html", context)


def after_approval_context(user):
    """What the dashboard's sections on meetings, supervision and completions need (their apps build it)."""
    from reviews.meetings import open_meetings_for

    from ..completion import waiting_counts
    from .supervision import dashboard_section

    return {
        "supervision": dashboard_section(user),
        "completions_waiting": waiting_counts(user),
        "meetings": open_meetings_for(user),
    }


def expert_counts(user):
    """Open review work of an expert, for the dashboard's summary (the review app owns the details)."""
    from reviews.access import assignments_of
    from reviews.models import AssignmentStatus

    return assignments_of(user).filter(round__state="open").exclude(review__state="submitted").aggregate(
        open=Count("pk"), invitations=Count("pk", filter=Q(status=AssignmentStatus.INVITED))
    )


def described(entries):
    """Log entries with the labels of their step and states, in the user's language."""
    from ..models import ChangeRequest, CompletionReport
    from ..workflow import CallState, ChangeState, CompletionState

    states = {"project": ProjectState, "changerequest": ChangeState, "call": CallState,
              "completionreport": CompletionState}
    models = {"project": Project, "changerequest": ChangeRequest, "completionreport": CompletionReport}
    entries = list(entries)
    for entry in entries:
        kind = entry.content_type.model
        choices = dict(states.get(kind, ProjectState).choices)
        entry.step_label = step_label(models.get(kind, Project), entry.transition)
        entry.from_label = choices.get(entry.from_state, entry.from_state)
        entry.to_label = choices.get(entry.to_state, entry.to_state)
    return entries


def visible_project_or_404(request, pk):
    project = get_object_or_404(Project.objects.with_people(), pk=pk)
    if not access.can_view_project(request.user, project):
        raise Http404
    return project


# Steps taken on a page of their own (with its checklist), never by a bare button.
# Steps taken on their own page, where what they need is asked for (a checklist, a report,
# the meeting's votes, the objections): the project page links there instead of offering a bare button.
OWN_PAGE_STEPS = {name: "formal-check" for name in FORMAL_CHECK_DECISIONS} | {
    "start_review": "round-list",
    "close_review": "round-list",
    "approve": "meeting-list",
    "decline": "meeting-list",
    "drop": "objection-queue",
    "confirm": "publicity-confirm",
    "submit_midterm": "project-midterm",
    "pass_midterm": "project-midterm",
    "fail_midterm": "project-midterm",
    "submit_completion": "project-completion",
    "appraise": "project-completion",
}
OWN_PAGE_LABELS = {
    "formal-check": gettext_lazy("Open the formal check"),
    "round-list": gettext_lazy("Open the review rounds"),
    "meeting-list": gettext_lazy("Open the committee meetings"),
    "objection-queue": gettext_lazy("Open the objections"),
    "publicity-confirm": gettext_lazy("Open the confirmation after the notice"),
    "project-midterm": gettext_lazy("Open the mid-term check"),
    "project-completion": gettext_lazy("Open the completion"),
}


def own_page_url(url_name, project):
    """Where a step with a page of its own is taken for ``project``."""
    if url_name in ("round-list", "meeting-list", "objection-queue"):
        return reverse(url_name)
    if url_name == "publicity-confirm":
        return reverse(url_name, args=[project.call_id])
    return reverse(url_name, args=[project.pk])


@login_required
def project_detail(request, pk):
    project = visible_project_or_404(request, pk)
    available = available_transitions(project, request.user)
    steps = [(name, step_label(Project, name)) for name in available if name not in OWN_PAGE_STEPS]
    own_pages = [
        (own_page_url(url_name, project), OWN_PAGE_LABELS[url_name])
        for url_name in sorted({OWN_PAGE_STEPS[name] for name in available if name in OWN_PAGE_STEPS})
    ]
    return render(
        request,
        "projects/project_detail.html",
        {
            "project": project,
            "members": project.members.all(),
            "planned_outputs": project.planned_outputs.all(),
            "budget_lines": project.budget_lines.all(),
            "attachments": project.attachments.all(),
            "log": described(project.log.select_related("actor", "content_type").order_by("at", "pk")),
            "steps": steps,
            "own_pages": own_pages,
            "next_hint": NEXT_FOR_PI.get(project.state, "") if project.pi_id == request.user.pk else "",
            "can_edit": project.state == ProjectState.DRAFT and project.pi_id == request.user.pk,
            "first_step": STEPS[0][0],
            "has_documents": project.receipt_number is not None,
        },
    )


@login_required
@require_POST
def project_step(request, pk, name):
    project = visible_project_or_404(request, pk)
    if name in OWN_PAGE_STEPS:
        messages.error(request, _("Take this step on its own page."))
        return redirect(own_page_url(OWN_PAGE_STEPS[name], project))
    params = {}
    if request.POST.get("grade"):
        params["grade"] = request.POST["grade"]
    try:
        perform(project, name, by=request.user, reason=request.POST.get("reason", ""), **params)
    except TransitionRefused as refusal:
        for message in refusal.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Done: %(step)s.") % {"step": step_label(Project, name)})
    following = request.POST.get("next", "")
    if following and url_has_allowed_host_and_scheme(following, allowed_hosts={request.get_host()}):
        return redirect(following)
    return redirect("project-detail", pk=project.pk)


@login_required
def project_document(request, pk, kind):
    """The 申请书 or 活页 of a submitted application, for those who may see the project."""
    from ..tasks import build_documents

    project = visible_project_or_404(request, pk)
    if kind not in DocumentKind.values or project.receipt_number is None:
        raise Http404
    document = ProjectDocument.objects.filter(project=project, kind=kind).first()
    if document is None:  # the task has not run yet (a worker is busy): build it now
        build_documents(project.pk)
        document = get_object_or_404(ProjectDocument, project=project, kind=kind)
    label = _("application form") if kind == DocumentKind.APPLICATION else _("anonymous form")
    filename = f"{project.receipt_number}-{label}.docx"
    return FileResponse(document.file.open("rb"), as_attachment=True, filename=filename, content_type=DOCX)


@login_required
def attachment_download(request, pk, attachment_pk):
    project = visible_project_or_404(request, pk)
    attachment = get_object_or_404(project.attachments, pk=attachment_pk)
    return FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.original_name,
                        content_type=attachment.content_type)

