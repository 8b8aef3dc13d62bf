"""Kick-off (开题), mid-term check (中期检查) and the sweeps (督办) as their people see them.

The PI records and submits; the unit's administrators read; the secretariat
reads, decides and terminates. Anyone else gets 404 on a project's page and 403
on a role's page. The rules live in ``projects.supervision``.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import roles

from .. import access
from .. import supervision as sv
from ..models import ChangeRequest, KickoffReport, MidtermDecision, MidtermReport, Project, SupervisionWarning
from ..services import TransitionRefused, perform
from ..workflow import ChangeState, ProjectState

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
FILE_HELP = gettext_lazy("PDF, Word (.docx), PNG or JPEG. If the form is refused, choose the file again.")


def _role_on(project, user):
    """"pi", "secretariat" or "unit" for the people of a supervised project; 404 for anyone else."""
    if access.is_pi(project, user):
        return "pi"
    if access.is_secretariat(project, user):
        return "secretariat"
    if access.is_unit_admin_of(project, user):
        return "unit"
    raise Http404


def _project(pk):
    return get_object_or_404(Project.objects.with_people(), pk=pk)


def _secretariat(request):
    if not access.is_secretariat(None, request.user):
        raise PermissionDenied
    return request.user


def _refused(form, refusal):
    for message in refusal.messages:
        form.add_error(None, message)


def _download(field, name):
    if not field:
        raise Http404
    return FileResponse(field.open("rb"), as_attachment=True, filename=name or field.name.rsplit("/", 1)[-1])


# ---- kick-off (开题) -------------------------------------------------------------------------


class KickoffForm(forms.Form):
    held_on = forms.DateField(label=gettext_lazy("Date of the kick-off meeting"), widget=DATE_INPUT)
    experts = forms.CharField(label=gettext_lazy("Experts present"), widget=forms.Textarea(attrs={"rows": 4}),
                              help_text=gettext_lazy("Names, titles and units of the experts, one per line."))
    report = forms.CharField(label=gettext_lazy("Kick-off report"), widget=forms.Textarea(attrs={"rows": 10}))
    file = forms.FileField(label=gettext_lazy("File (optional)"), required=False, help_text=FILE_HELP)


@login_required
def kickoff(request, pk):
    project = _project(pk)
    role = _role_on(project, request.user)
    report = sv.kickoff_of(project)
    editable = role == "pi" and project.state in sv.RUNNING and (report is None or sv.kickoff_is_editable(project))
    form = None
    if request.method == "POST":
        if role != "pi":
            raise PermissionDenied
        form = KickoffForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                sv.record_kickoff(project, by=request.user, held_on=data["held_on"], experts=data["experts"],
                                  report=data["report"], upload=data["file"])
            except TransitionRefused as refusal:
                _refused(form, refusal)
            else:
                messages.success(request, _("The kick-off has been recorded."))
                return redirect("project-kickoff", pk=project.pk)
    elif editable:
        initial = {"held_on": report.held_on, "experts": report.experts, "report": report.report} if report else {}
        form = KickoffForm(initial=initial)
    return render(request, "projects/supervision/kickoff.html", {
        "project": project, "kickoff": report, "form": form, "role": role, "editable": editable or form is not None,
        "due_on": sv.kickoff_due_on(project),
    })


@login_required
def kickoff_file(request, pk):
    project = _project(pk)
    _role_on(project, request.user)
    report = get_object_or_404(KickoffReport, project=project)
    return _download(report.file, report.file_name)


# ---- mid-term check (中期检查) -----------------------------------------------------------------


class MidtermForm(forms.Form):
    progress = forms.CharField(label=gettext_lazy("Progress"), widget=forms.Textarea(attrs={"rows": 8}))
    outputs_so_far = forms.CharField(label=gettext_lazy("Outputs so far"), widget=forms.Textarea(attrs={"rows": 5}),
                                     required=False)
    problems = forms.CharField(label=gettext_lazy("Problems"), widget=forms.Textarea(attrs={"rows": 4}), required=False)
    plan = forms.CharField(label=gettext_lazy("Plan for the rest"), widget=forms.Textarea(attrs={"rows": 5}))
    file = forms.FileField(label=gettext_lazy("File (optional)"), required=False, help_text=FILE_HELP)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(label=gettext_lazy("Decision"), choices=MidtermDecision.choices,
                                 widget=forms.RadioSelect)
    reason = forms.CharField(label=gettext_lazy("Opinion or reason"), widget=forms.Textarea(attrs={"rows": 4}),
                             required=False, help_text=gettext_lazy("Required when the check fails or the project is terminated."))
    rectification_deadline = forms.DateField(
        label=gettext_lazy("Rectification deadline"), required=False, widget=DATE_INPUT,
        help_text=gettext_lazy("Only when the check fails; empty: the default number of months from today."),
    )


@login_required
def midterm(request, pk):
    project = _project(pk)
    role = _role_on(project, request.user)
    may_submit = role == "pi" and project.state == ProjectState.ACTIVE and project.midterm_result != "pass"
    may_decide = role == "secretariat" and project.state == ProjectState.MIDTERM_REVIEW
    submit_form = MidtermForm() if may_submit else None
    decision_form = DecisionForm() if may_decide else None
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "submit" and role == "pi":
            submit_form = MidtermForm(request.POST, request.FILES)
            if submit_form.is_valid():
                data = submit_form.cleaned_data
                try:
                    sv.submit_midterm(project, by=request.user, progress=data["progress"],
                                      outputs_so_far=data["outputs_so_far"], problems=data["problems"],
                                      plan=data["plan"], upload=data["file"])
                except TransitionRefused as refusal:
                    _refused(submit_form, refusal)
                else:
                    messages.success(request, _("The mid-term report has been submitted."))
                    return redirect("project-midterm", pk=project.pk)
        elif action == "decide" and role == "secretariat":
            decision_form = DecisionForm(request.POST)
            if decision_form.is_valid():
                data = decision_form.cleaned_data
                try:
                    sv.decide_midterm(project, by=request.user, decision=data["decision"], reason=data["reason"],
                                      rectification_deadline=data["rectification_deadline"])
                except TransitionRefused as refusal:
                    _refused(decision_form, refusal)
                else:
                    messages.success(request, _("The mid-term decision has been recorded."))
                    return redirect("project-midterm", pk=project.pk)
        else:
            raise PermissionDenied
    reports = list(project.midterm_reports.select_related("decided_by").order_by("-submitted_at", "-pk"))
    round_, result = sv.midterm_round_result(project) if role == "secretariat" else (None, None)
    return render(request, "projects/supervision/midterm.html", {
        "project": project,
        "role": role,
        "reports": reports,
        "kickoff": sv.kickoff_of(project),
        "submit_form": submit_form,
        "decision_form": decision_form,
        "due_on": sv.midterm_due_on(project),
        "round": round_,
        "result": result,
        "open_rounds": list(sv.open_midterm_rounds(project)) if role == "secretariat" else [],
    })


@login_required
def midterm_file(request, pk, report_pk):
    project = _project(pk)
    _role_on(project, request.user)
    report = get_object_or_404(MidtermReport, project=project, pk=report_pk)
    return _download(report.file, report.file_name)


@login_required
def midterm_document(request, pk):
    """The 中期检查表 (.docx) of the latest mid-term report."""
    from ..supervision_documents import midterm_form

    project = _project(pk)
    _role_on(project, request.user)
    report = sv.latest_midterm(project)
    if report is None:
        raise Http404
    response = HttpResponse(midterm_form(project, report), content_type=DOCX)
    name = f"{project.number or project.pk}-midterm.docx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
def midterm_queue(request):
    """The secretariat's queue: projects whose mid-term report waits for a decision."""
    from reviews.models import ReviewRound, Stage

    _secretariat(request)
    projects = list(
        Project.objects.with_people()
        .filter(state=ProjectState.MIDTERM_REVIEW)
        .prefetch_related(
            Prefetch("midterm_reports", queryset=MidtermReport.objects.order_by("-submitted_at", "-pk"), to_attr="reports"),
            Prefetch("review_rounds", queryset=ReviewRound.objects.filter(stage=Stage.MIDTERM).order_by("-created_at"),
                     to_attr="midterm_rounds"),
        )
        .order_by("call_class__code", "number", "pk")
    )
    for project in projects:
        project.latest_report = project.reports[0] if project.reports else None
        project.midterm_round = project.midterm_rounds[0] if project.midterm_rounds else None
    return render(request, "projects/supervision/midterm_queue.html", {"projects": projects})


# ---- the sweeps (督办) -------------------------------------------------------------------------


@login_required
def supervision_sweep(request):
    """The three lists of the sweeps; an overdue project can be terminated here with a reason."""
    user = _secretariat(request)
    now = timezone.now()
    failed = None
    if request.method == "POST":
        posted = request.POST.get("project", "")
        if not posted.isdigit():
            raise Http404
        project = get_object_or_404(Project, pk=int(posted))
        reason = request.POST.get("reason", "")
        if project.pk not in {p.pk for p in sv.overdue(now).end_passed}:
            failed = {"pk": project.pk, "reason": reason,
                      "messages": [_("Only a project past its end date without completion can be terminated here.")]}
        else:
            try:
                perform(project, "terminate", by=user, reason=reason, now=now)
            except TransitionRefused as refusal:
                failed = {"pk": project.pk, "reason": reason, "messages": refusal.messages}
            else:
                messages.success(request, _("The project “%(title)s” has been terminated.") % {"title": project.title})
                return redirect("supervision-sweep")
    result = sv.overdue(now)
    listed = [p.pk for projects in result.lists().values() for p in projects]
    warnings = {}
    for warning in SupervisionWarning.objects.filter(project_id__in=listed):
        warnings[(warning.project_id, warning.kind)] = warning.sent_at
    sections = []
    for kind, projects in result.lists().items():
        for project in projects:
            project.warned_at = warnings.get((project.pk, kind))
        sections.append((kind, kind.label, projects))
    return render(request, "projects/supervision/sweep.html", {
        "sections": sections, "failed": failed, "midterm_at": sv.MIDTERM_AT,
    })


# ---- for the dashboard ------------------------------------------------------------------------


def dashboard_section(user):
    """The context of ``_dashboard_section.html`` for ``user`` (empty for those without a queue)."""
    context = {}
    if access.is_secretariat(None, user):
        counts = sv.supervision_counts()
        context["secretariat"] = {
            "end_passed": counts[sv.WarningKind.END_PASSED],
            "kickoff_overdue": counts[sv.WarningKind.KICKOFF_OVERDUE],
            "midterm_overdue": counts[sv.WarningKind.MIDTERM_OVERDUE],
            "midterm_waiting": Project.objects.filter(state=ProjectState.MIDTERM_REVIEW).count(),
            "changes_waiting": ChangeRequest.objects.filter(state=ChangeState.ENDORSED).count(),
        }
    if roles.has_role(user, roles.UNIT_ADMIN) and user.institution_id:
        context["unit"] = {"changes_waiting": ChangeRequest.objects.filter(
            state=ChangeState.PENDING, project__institution_id=user.institution_id).count()}
    return context
