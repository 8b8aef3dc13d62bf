"""Supervision of a project under way: kick-off (开题), mid-term check (中期检查) and the sweeps (督办).

Each function checks every rule first and raises ``TransitionRefused`` with all
the messages at once, changing nothing; the project's own steps go through
``services.perform`` in the same transaction as the record they come with, so a
refusal leaves neither behind.
"""

from dataclasses import dataclass, field
from functools import partial

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from . import access
from .models import (
    ChangeKind,
    ChangeRequest,
    KickoffReport,
    MidtermDecision,
    MidtermReport,
    Project,
    SupervisionWarning,
    WarningKind,
)
from .rules import rule
from .services import TransitionRefused, perform, refusals
from .uploads import delete_stored_file, files_removed_on_failure
from .workflow import ChangeState, ProjectState

# The mid-term report is due by this fraction of the project's period (中期 = the middle).
# Not in settings.KETI_RULES (not ours to edit): a module constant until it becomes a rule.
MIDTERM_AT = 0.5

RUNNING = (ProjectState.ACTIVE, ProjectState.MIDTERM_REVIEW)

# The project step each mid-term decision takes.
DECISION_STEPS = {
    MidtermDecision.PASS: "pass_midterm",
    MidtermDecision.FAIL: "fail_midterm",
    MidtermDecision.TERMINATE: "terminate",
}


def _today(now):
    return timezone.localdate(now)


def _blank(value):
    return not (value or "").strip()


def _read_upload(upload, problems):
    """(bytes, stored name) of an uploaded file checked by ``inspect_upload``; None when refused or absent."""
    if upload is None:
        return None
    from .uploads import UploadRejected, inspect_upload

    data = upload.read()
    try:
        info = inspect_upload(upload.name, data, max_bytes=settings.UPLOAD_MAX_BYTES)
    except UploadRejected as rejected:
        problems.append(rejected.message)
        return None
    return data, info.extension


def _store_file(record, checked, upload, stored, *, file_field="file", name_field="file_name"):
    """Store the checked upload on ``record`` (not saved); ``stored`` (``files_removed_on_failure``)
    removes it again when the transaction fails. Returns the name of the file it replaces, or ""."""
    if checked is None:
        return ""
    data, extension = checked
    field_file = getattr(record, file_field)
    replaced = field_file.name or ""
    field_file.save(f"upload{extension}", ContentFile(data), save=False)
    stored.add(field_file)
    setattr(record, name_field, upload.name[:200])
    return replaced


# ---- kick-off (开题) -------------------------------------------------------------------------


def kickoff_of(project):
    return KickoffReport.objects.filter(project=project).first()


def kickoff_is_editable(project):
    """The PI may correct the kick-off until the first mid-term report is in."""
    return not project.midterm_reports.exists()


def record_kickoff(project, *, by, held_on, experts, report, upload=None, now=None):
    """Record (or correct) the kick-off (开题): date, experts present, the report, a file."""
    now = now or timezone.now()
    problems = []
    if not access.is_pi(project, by):
        raise TransitionRefused([_("Only the PI can record the kick-off.")])
    if project.state not in RUNNING:
        problems.append(_("The kick-off can be recorded only for a project under way."))
    existing = kickoff_of(project)
    if existing is not None and not kickoff_is_editable(project):
        problems.append(_("The kick-off was recorded and can no longer be changed: the mid-term report is in."))
    if held_on is None:
        problems.append(_("Give the date of the kick-off meeting."))
    else:
        if held_on > _today(now):
            problems.append(_("The kick-off date (%(date)s) is in the future; record the kick-off after it was held.")
                            % {"date": held_on.isoformat()})
        if project.start_date and held_on < project.start_date:
            problems.append(_("The kick-off date (%(date)s) is before the project's start (%(start)s).")
                            % {"date": held_on.isoformat(), "start": project.start_date.isoformat()})
    if _blank(experts):
        problems.append(_("List the experts present at the kick-off."))
    if _blank(report):
        problems.append(_("Write the kick-off report."))
    checked = _read_upload(upload, problems)
    if problems:
        raise TransitionRefused(problems)
    with files_removed_on_failure() as stored, transaction.atomic():
        kickoff = existing or KickoffReport(project=project)
        kickoff.held_on = held_on
        kickoff.experts = experts.strip()
        kickoff.report = report.strip()
        kickoff.submitted_at = now
        kickoff.submitted_by = by
        replaced = _store_file(kickoff, checked, upload, stored)
        kickoff.save()
        if replaced:
            # The corrected kick-off's new file replaces the old one: delete it once the new one is in.
            transaction.on_commit(partial(delete_stored_file, kickoff.file.storage, replaced))
    return kickoff


# ---- mid-term check (中期检查) -----------------------------------------------------------------


def latest_midterm(project):
    return project.midterm_reports.order_by("-submitted_at", "-pk").first()


def submit_midterm(project, *, by, progress, outputs_so_far, problems, plan, upload=None, now=None):
    """The PI submits the mid-term report (提交中期报告); the project goes to ``midterm_review``."""
    now = now or timezone.now()
    messages = list(refusals(project, "submit_midterm", by=by, now=now))
    if project.midterm_result == "pass":
        messages.append(_("The project has passed its mid-term check; no further mid-term report is due."))
    if _blank(progress):
        messages.append(_("Describe the progress of the research."))
    if _blank(plan):
        messages.append(_("Give the plan for the rest of the project."))
    checked = _read_upload(upload, messages)
    if messages:
        raise TransitionRefused(messages)
    with files_removed_on_failure() as stored, transaction.atomic():
        perform(project, "submit_midterm", by=by, now=now)
        report = MidtermReport(
            project=project,
            progress=progress.strip(),
            outputs_so_far=(outputs_so_far or "").strip(),
            problems=(problems or "").strip(),
            plan=plan.strip(),
            submitted_at=now,
        )
        _store_file(report, checked, upload, stored)
        report.save()
    return report


def open_midterm_rounds(project):
    """Mid-term review rounds with this project that are not closed yet."""
    from reviews.models import ReviewRound, Stage
    from reviews.workflow import RoundState

    return ReviewRound.objects.filter(stage=Stage.MIDTERM, projects=project).exclude(state=RoundState.CLOSED)


def decide_midterm(project, *, by, decision, reason="", rectification_deadline=None, now=None):
    """The secretariat's decision (中期检查结论): 合格, 不合格 with a rectification deadline, or 终止."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if decision not in DECISION_STEPS:
        raise TransitionRefused([_("Choose a decision: pass, fail or terminate.")])
    step = DECISION_STEPS[decision]
    params = {}
    messages = []
    if decision == MidtermDecision.FAIL:
        if rectification_deadline is not None and rectification_deadline <= _today(now):
            messages.append(_("The rectification deadline must be a day after today."))
        params["rectification_deadline"] = rectification_deadline
    given, project = project, Project.objects.get(pk=project.pk)
    report = latest_midterm(project)
    if project.state != ProjectState.MIDTERM_REVIEW:
        # Only a mid-term check under way is decided: a decided report is never rewritten, and an
        # active project is ended by ``terminate`` (or a change request), not by a mid-term decision.
        from .services import step_label

        raise TransitionRefused([_("“%(step)s” is not possible while the record is “%(state)s”.") % {
            "step": step_label(Project, step), "state": project.get_state_display()}])
    if report is None or report.decision:
        raise TransitionRefused([_("There is no mid-term report waiting for a decision.")])
    messages += refusals(project, step, by=by, reason=reason, now=now, **params)
    if access.is_secretariat(project, by) and open_midterm_rounds(project).exists():
        messages.append(_("A mid-term review round with this project is still running; close it before deciding."))
    if messages:
        raise TransitionRefused(messages)
    with transaction.atomic():
        perform(project, step, by=by, reason=reason, now=now, **params)
        # perform locked the project in midterm_review: no other decision can be under way.
        MidtermReport.objects.filter(pk=report.pk, decision="").update(
            decision=decision, decision_reason=reason, decided_at=now, decided_by=by
        )
    given.refresh_from_db()
    report.refresh_from_db()
    return report


def midterm_round_result(project):
    """(round, ProposalResult) of the latest closed mid-term round with this project, or (None, None)."""
    from reviews.aggregation import round_results
    from reviews.models import ReviewRound, Stage
    from reviews.workflow import RoundState

    round_ = (
        ReviewRound.objects.filter(stage=Stage.MIDTERM, state=RoundState.CLOSED, projects=project)
        .order_by("-closed_at", "-pk")
        .first()
    )
    if round_ is None:
        return None, None
    result = next((r for r in round_results(round_) if r.project is not None and r.project.pk == project.pk), None)
    return round_, result


# ---- the sweeps (督办) -------------------------------------------------------------------------


@dataclass
class SweepResult:
    end_passed: list = field(default_factory=list)  # 逾期未结题
    kickoff_overdue: list = field(default_factory=list)  # 开题逾期
    midterm_overdue: list = field(default_factory=list)  # 中期检查逾期
    warned: list = field(default_factory=list)  # (project, kind) newly warned

    def lists(self):
        return {
            WarningKind.END_PASSED: self.end_passed,
            WarningKind.KICKOFF_OVERDUE: self.kickoff_overdue,
            WarningKind.MIDTERM_OVERDUE: self.midterm_overdue,
        }

    def as_dict(self):
        return {"end_passed": self.end_passed, "kickoff_overdue": self.kickoff_overdue,
                "midterm_overdue": self.midterm_overdue, "warned": self.warned}


def midterm_due_on(project):
    """The day by which the mid-term report is due: MIDTERM_AT of the way through the period."""
    if not (project.start_date and project.end_date):
        return None
    days = (project.end_date - project.start_date).days
    return project.start_date + relativedelta(days=int(days * MIDTERM_AT))


def kickoff_due_on(project):
    if project.approved_at is None:
        return None
    approved = timezone.localdate(project.approved_at)
    return approved + relativedelta(months=rule("KICKOFF_WITHIN_MONTHS", project.call_class))


def _running():
    return Project.objects.with_people().filter(state__in=RUNNING).order_by("end_date", "pk")


def overdue(now=None):
    """The three lists of the sweeps, without side effects (three queries)."""
    today = _today(now or timezone.now())
    pending_extension = ChangeRequest.objects.filter(
        project=OuterRef("pk"), kind=ChangeKind.EXTENSION, state__in=(ChangeState.PENDING, ChangeState.ENDORSED)
    )
    end_passed = list(
        _running().filter(end_date__lt=today, completion_submitted_at__isnull=True)
        .annotate(extension_pending=Exists(pending_extension))
        .filter(extension_pending=False)
    )
    kickoff_candidates = _running().filter(approved_at__isnull=False, kickoff__isnull=True)
    kickoff_overdue = [p for p in kickoff_candidates if (due := kickoff_due_on(p)) and today > due]
    midterm_candidates = _running().filter(
        state=ProjectState.ACTIVE, midterm_reports__isnull=True, completion_submitted_at__isnull=True,
        start_date__isnull=False, end_date__isnull=False,
    )
    midterm_overdue = [p for p in midterm_candidates if today > midterm_due_on(p)]
    for project in kickoff_overdue:
        project.due_on = kickoff_due_on(project)
    for project in midterm_overdue:
        project.due_on = midterm_due_on(project)
    for project in end_passed:
        project.due_on = project.end_date
    return SweepResult(end_passed=end_passed, kickoff_overdue=kickoff_overdue, midterm_overdue=midterm_overdue)


def _warning_text(kind, project):
    """A writer for ``accounts.inbox.notify``: called in the PI's language."""

    def write():
        title = project.title
        due = project.due_on.isoformat() if getattr(project, "due_on", None) else ""
        if kind == WarningKind.KICKOFF_OVERDUE:
            subject = _("[Keti] Kick-off overdue: %(title)s") % {"title": title}
            body = _("The kick-off of the project “%(title)s” was due by %(date)s and has not been recorded. "
                     "Hold the kick-off meeting and record it on the project's kick-off page.") % {
                "title": title, "date": due}
        elif kind == WarningKind.MIDTERM_OVERDUE:
            subject = _("[Keti] Mid-term report overdue: %(title)s") % {"title": title}
            body = _("The mid-term report of the project “%(title)s” was due by %(date)s. "
                     "Submit it on the project's mid-term page.") % {"title": title, "date": due}
        else:
            subject = _("[Keti] End date passed: %(title)s") % {"title": title}
            body = _("The project “%(title)s” ended on %(date)s and no completion has been submitted or "
                     "extension requested. Apply for completion now; otherwise the secretariat may terminate "
                     "the project.") % {"title": title, "date": due}
        return subject, body

    return write


def sweep(now=None):
    """List the overdue projects and warn each PI once per kind (SupervisionWarning); returns a dict.

    Safe to run twice: a warning already sent is not sent again.
    """
    from accounts.inbox import notify

    now = now or timezone.now()
    result = overdue(now)
    for kind, projects in result.lists().items():
        if not projects:
            continue
        already = set(
            SupervisionWarning.objects.filter(kind=kind, project__in=projects).values_list("project_id", flat=True)
        )
        for project in projects:
            if project.pk in already:
                continue
            with transaction.atomic():
                _warning, created = SupervisionWarning.objects.get_or_create(
                    project=project, kind=kind, defaults={"sent_at": now}
                )
                if created:
                    notify(project.pi, _warning_text(kind, project),
                           link=reverse("project-detail", args=[project.pk]))
                    result.warned.append((project, kind))
    return result.as_dict()


def supervision_counts(now=None):
    """How many projects each sweep list holds, for the dashboard."""
    result = overdue(now)
    return {kind: len(projects) for kind, projects in result.lists().items()}
