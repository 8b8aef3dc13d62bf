"""The completion of a project (结题): materials, outputs, unit, formal check, appraisal, certificate.

The road, with its two machines (``workflow.ProjectWorkflow`` and ``CompletionWorkflow``):

1. ``submit_completion``: the PI hands in the work report (工作报告), the summary
   report (成果报告, the anonymous copy the experts read), the self-assessment, the
   outputs (成果) with their citation data, up to two experts to avoid (申请回避) and
   optionally an anonymous copy of the main output (cleaned like the 活页's files).
   One transaction: a ``CompletionReport`` (attempt = previous + 1), the ``Output``
   rows (replacing the project's), the ``AvoidRequest``\\ s, then the project's
   ``submit_completion`` step. A refusal stores nothing.
2. The unit endorses (``endorse_completion``) or returns (``return_completion``, with
   a reason); the PI corrects and submits the same attempt again
   (``correct_completion``). The secretariat's formal check accepts
   (``accept_completion``: the identity scan of the anonymous copy runs) or returns.
   These are ``perform`` steps on the report; ``report_step`` runs one and tells the
   people concerned.
3. The appraisal (结题鉴定): a review round of stage ``completion`` (``create_completion_round``
   takes only materials that passed the formal check), whose experts grade with the
   completion form; ``panel_grade`` is the grade most of them gave (a tie goes to the
   lower grade). The panel decides: ``record_appraisal`` records that grade (never a typed one,
   and not without a round) on the report and runs the project's
   ``appraise``: a pass completes the project and ``issue_certificate`` gives the
   certificate number; 不合格 sends it back to work once, a second 不合格 revokes it.
4. After the commit the 结题鉴定意见表 and the 结题证书 are built
   (``completion_documents.build_completion_documents``).

This module reads the review app (rounds, reviews, avoid requests) with local imports:
the completion's appraisal *is* a review round, and the brief of this step asks the
project side to read its result.
"""

import datetime as dt
from collections import Counter
from functools import partial

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from . import access
from .models import CompletionReport, Grade, Output, OutputType, Project
from .rules import rule
from .services import TransitionRefused, perform, refusals_by_rule
from .uploads import files_removed_on_failure
from .workflow import CompletionState, ProjectState

# The grades from the lowest up: a tie between the panel's grades goes to the lower one.
GRADE_ORDER = (Grade.FAIL, Grade.PASS, Grade.GOOD, Grade.EXCELLENT)
# How the documents and the archive name the grades (documents are in Chinese).
GRADE_NAMES = {Grade.EXCELLENT: "优秀", Grade.GOOD: "良好", Grade.PASS: "合格", Grade.FAIL: "不合格"}

# The fields of an output as ``submit_completion`` takes them (the keys of each dict).
OUTPUT_FIELDS = ("kind", "title", "authors", "venue", "year", "volume_issue", "pages", "identifier", "award_level")
# An output may be dated at the earliest this many years before the call's year (work begun
# while applying); later than next year is a typing error.
OUTPUT_YEARS_BEFORE_CALL = 1

def _stage():
    """The review stage of the appraisal (``reviews.models.Stage.COMPLETION``), imported late."""
    from reviews.models import Stage

    return Stage.COMPLETION


# ---- checking the input -----------------------------------------------------------------------


def text_problems(work_report, summary_report, self_assessment):
    """The three texts of the materials are required."""
    missing = [label for label, value in (
        (_("work report"), work_report),
        (_("summary report"), summary_report),
        (_("self-assessment"), self_assessment),
    ) if not (value or "").strip()]
    if missing:
        return [_("Fill in: %(fields)s.") % {"fields": "、".join(str(m) for m in missing)}]
    return []


def output_year_range(project, now):
    first = project.call.year - OUTPUT_YEARS_BEFORE_CALL
    last = timezone.localtime(now).year + 1
    return first, last


def clean_outputs(project, outputs, now):
    """(cleaned output dicts, problems): every output needs a type, its title and authors, a plausible year."""
    cleaned, problems = [], []
    first, last = output_year_range(project, now)
    for number, raw in enumerate(outputs or (), start=1):
        raw = raw or {}
        item = {name: str(raw.get(name) or "").strip() for name in OUTPUT_FIELDS}
        if not any(item[name] for name in OUTPUT_FIELDS if name != "kind"):
            continue  # an empty row of the form
        item["kind"] = item["kind"] or OutputType.PAPER
        if item["kind"] not in OutputType.values:
            problems.append(_("Output %(n)d: choose its type.") % {"n": number})
        if not item["title"]:
            problems.append(_("Output %(n)d: the title is missing.") % {"n": number})
        if not item["authors"]:
            problems.append(_("Output %(n)d: the authors are missing.") % {"n": number})
        year = raw.get("year")
        if year in (None, ""):
            item["year"] = None
        else:
            try:
                item["year"] = int(str(year).strip())
            except ValueError:
                item["year"] = None
                problems.append(_("Output %(n)d: the year must be a number such as 2024.") % {"n": number})
            else:
                if not first <= item["year"] <= last:
                    problems.append(
                        _("Output %(n)d: the year %(year)s is not plausible; give a year from %(first)d to %(last)d.")
                        % {"n": number, "year": item["year"], "first": first, "last": last}
                    )
        for name in OUTPUT_FIELDS:
            if name in ("kind", "year"):
                continue
            limit = Output._meta.get_field(name).max_length
            if len(item[name]) > limit:
                problems.append(_("Output %(n)d: “%(field)s” has at most %(limit)d characters.") % {
                    "n": number, "field": Output._meta.get_field(name).verbose_name, "limit": limit})
        cleaned.append(item)
    if not cleaned and not problems:
        problems.append(_("List at least one output with its citation data."))
    return cleaned, problems


def clean_avoid(project, avoid):
    """(cleaned requests, problems) of the experts the PI asks to exclude from the appraisal."""
    from reviews.conflicts import avoid_limit, avoid_problems, normalise

    stage = _stage()
    wanted = []
    for raw in avoid or ():
        item = {name: str((raw or {}).get(name) or "").strip() for name in ("name", "unit", "reason")}
        if any(item.values()):
            wanted.append(item)
    problems = []
    for item in wanted:
        for message in avoid_problems(project, item["name"], item["unit"], item["reason"], stage=stage):
            if message not in problems:
                problems.append(message)
    keys = [(normalise(item["name"]), normalise(item["unit"])) for item in wanted]
    if len(set(keys)) < len(keys):
        problems.append(_("You have already named this expert."))
    limit = avoid_limit(project, stage)
    if wanted and project.avoid_requests.filter(stage=stage).count() + len(wanted) > limit:
        message = ngettext("You may name at most %(n)s expert to exclude.",
                           "You may name at most %(n)s experts to exclude.", limit) % {"n": limit}
        if message not in problems:
            problems.append(message)
    return wanted, problems


class PreparedFile:
    """An inspected and cleaned upload, ready to be stored."""

    def __init__(self, name, data, extension, removed):
        self.name, self.data, self.extension, self.removed = name, data, extension, removed


def prepare_upload(upload):
    """(PreparedFile or None, problems): the anonymous copy is a PDF or Word file, checked and cleaned."""
    from .uploads import DOCX, PDF, UploadRejected, clean, inspect_upload

    if not upload:
        return None, []
    data = upload.read()
    try:
        info = inspect_upload(upload.name, data, max_bytes=settings.UPLOAD_MAX_BYTES, allowed=(PDF, DOCX))
        result = clean(info.content_type, data)
    except UploadRejected as rejected:
        return None, [rejected.message]
    return PreparedFile(upload.name[:200], result.data, info.extension, list(result.removed)), []


# ---- submitting and correcting ------------------------------------------------------------------


def submit_completion(project, *, by, work_report, summary_report, self_assessment, outputs, avoid=(),
                      upload=None, now=None):
    """申请结题: the PI submits the completion materials; returns the new ``CompletionReport``.

    Raises ``TransitionRefused`` with every problem at once and stores nothing.
    """
    now = now or timezone.now()
    given, project = project, Project.objects.select_related("call", "call_class").get(pk=project.pk)
    problems = [message for guard, message in refusals_by_rule(project, "submit_completion", by=by, now=now)]
    if problems:
        raise TransitionRefused(problems)
    texts, cleaned_outputs, wanted_avoid, prepared = _checked_materials(
        project, work_report, summary_report, self_assessment, outputs, avoid, upload, now)
    with files_removed_on_failure() as stored:
        with transaction.atomic():
            locked = Project.objects.select_for_update().get(pk=project.pk)
            attempt = (locked.completion_reports.aggregate(last=Max("attempt"))["last"] or 0) + 1
            report = CompletionReport(project=locked, attempt=attempt, submitted_at=now,
                                      **{k: v.strip() for k, v in texts.items()})
            _store(report, prepared, stored)
            report.save()
            _replace_outputs(locked, cleaned_outputs)
            _add_avoid_requests(locked, wanted_avoid, by)
            perform(locked, "submit_completion", by=by, now=now)
            transaction.on_commit(partial(_tell_unit, report.pk))
    given.refresh_from_db()
    return report


def _checked_materials(project, work_report, summary_report, self_assessment, outputs, avoid, upload, now):
    """The materials as they will be stored, or ``TransitionRefused`` with every problem of the input."""
    texts = {"work_report": work_report or "", "summary_report": summary_report or "",
             "self_assessment": self_assessment or ""}
    cleaned_outputs, output_problems = clean_outputs(project, outputs, now)
    wanted_avoid, avoid_problems = clean_avoid(project, avoid)
    prepared, file_problems = prepare_upload(upload)
    problems = text_problems(**texts) + output_problems + avoid_problems + file_problems
    if problems:
        raise TransitionRefused(problems)
    return texts, cleaned_outputs, wanted_avoid, prepared


def correct_completion(report, *, by, work_report, summary_report, self_assessment, outputs, avoid=(),
                       upload=None, now=None):
    """重新提交: the PI corrects returned materials (the same attempt) and submits them again.

    Without a new upload the anonymous copy stays as it was.
    """
    now = now or timezone.now()
    report = CompletionReport.objects.select_related("project__call", "project__call_class").get(pk=report.pk)
    project = report.project
    problems = [message for guard, message in refusals_by_rule(report, "resubmit_completion", by=by, now=now)
                if not guard]
    if problems:
        raise TransitionRefused(problems)
    texts, cleaned_outputs, wanted_avoid, prepared = _checked_materials(
        project, work_report, summary_report, self_assessment, outputs, avoid, upload, now)
    with files_removed_on_failure() as stored:
        with transaction.atomic():
            locked = CompletionReport.objects.select_for_update().get(pk=report.pk)
            old_file = locked.anonymous_file.name if prepared else None
            CompletionReport.objects.filter(pk=locked.pk).update(**{k: v.strip() for k, v in texts.items()})
            if prepared:
                _store(locked, prepared, stored)
                CompletionReport.objects.filter(pk=locked.pk).update(
                    anonymous_file=locked.anonymous_file.name, anonymous_file_name=locked.anonymous_file_name)
            _replace_outputs(project, cleaned_outputs)
            _add_avoid_requests(project, wanted_avoid, by)
            perform(locked, "resubmit_completion", by=by, now=now)
            if old_file:
                transaction.on_commit(partial(_delete_file, old_file))
            transaction.on_commit(partial(_tell_unit, report.pk))
    report.refresh_from_db()
    return report


def _store(report, prepared, stored):
    if prepared is None:
        return
    report.anonymous_file.save(f"copy{prepared.extension}", ContentFile(prepared.data), save=False)
    report.anonymous_file_name = prepared.name
    stored.add(report.anonymous_file)


def _delete_file(name):
    CompletionReport._meta.get_field("anonymous_file").storage.delete(name)


def _replace_outputs(project, outputs):
    project.outputs.all().delete()
    Output.objects.bulk_create(Output(project=project, order=index, **item) for index, item in enumerate(outputs))


def _add_avoid_requests(project, wanted, by):
    from reviews.conflicts import request_avoidance

    for item in wanted:
        request_avoidance(project, by=by, stage=_stage(), **item)


# ---- the unit and the formal check ------------------------------------------------------------

REPORT_STEPS = ("endorse_completion", "return_completion", "accept_completion")


def report_step(report, name, *, by, reason="", now=None):
    """Run one step of the materials (endorse, return, accept) and tell the people concerned."""
    if name not in REPORT_STEPS:
        raise TransitionRefused([_("“%(step)s” is not a step of this record.") % {"step": name}])
    with transaction.atomic():
        record = perform(report, name, by=by, reason=reason, now=now)
        transaction.on_commit(partial(_tell_after_step, record.pk, name, reason))
    return record


def anonymity_problems(report):
    """The identity scan of the anonymous copy, as the formal check will run it: messages, [] when clean."""
    from .identity import describe_leaks, find_report_leaks

    leaks = find_report_leaks(report)
    return [describe_leaks(leaks)] if leaks else []


# ---- the appraisal ------------------------------------------------------------------------------


def appraisal_round(report):
    """The completion round that appraised this attempt: the latest open or closed round holding the
    project that opened after the materials passed the formal check (an older round appraised an
    earlier attempt), or None."""
    from reviews.models import ReviewRound
    from reviews.workflow import RoundState

    rounds = ReviewRound.objects.filter(stage=_stage(), projects=report.project_id,
                                        state__in=(RoundState.OPEN, RoundState.CLOSED))
    if report.checked_at is not None:
        rounds = rounds.filter(opened_at__gte=report.checked_at)
    return rounds.select_related("call_class").order_by("-opened_at", "-pk").first()


def panel_reviews(round_, project):
    """The counted reviews of ``project`` in ``round_`` (submitted, assignment not removed)."""
    from reviews.aggregation import counted_reviews

    return list(counted_reviews([round_]).filter(assignment__project_id=getattr(project, "pk", project)))


def grade_counts(reviews):
    """{grade: count} of the reviews' recommendations that are grades."""
    return Counter(r.recommendation for r in reviews if r.recommendation in GRADE_ORDER)


def grade_of_counts(counts, min_valid):
    """The grade most experts gave (a tie goes to the lower grade), None below ``min_valid`` graded reviews."""
    if sum(counts.values()) < min_valid or not counts:
        return None
    return max(GRADE_ORDER, key=lambda grade: (counts.get(grade, 0), -GRADE_ORDER.index(grade)))


def panel_grade(round_, project):
    """The panel's result (专家组鉴定等级) for ``project`` in ``round_``, or None without enough valid reviews."""
    counts = grade_counts(panel_reviews(round_, project))
    return grade_of_counts(counts, rule("MIN_VALID_REVIEWS", round_.call_class))


def record_appraisal(report, *, by, now=None, reason=""):
    """鉴定结论: record the panel's grade on the materials and appraise the project, in one transaction.

    The panel decides (专家组鉴定): the grade is always ``panel_grade`` of the completion round of
    this attempt; without such a round, or with too few valid reviews, the appraisal is refused
    (run the appraisal round first). The secretariat records it and may add a remark (``reason``).
    A pass completes the project and issues its certificate number; 不合格 sends it back to work
    (the PI revises and submits a new attempt), a second 不合格 revokes it (撤项). The documents
    follow after the commit.
    """
    now = now or timezone.now()
    report = CompletionReport.objects.select_related("project__call_class").get(pk=report.pk)
    problems = [m for guard, m in refusals_by_rule(report, "record_appraisal", by=by, now=now, grade="pass")
                if not guard]
    if problems:
        raise TransitionRefused(problems)
    grade = _panel_result_or_refuse(report)
    with transaction.atomic():
        perform(report, "record_appraisal", by=by, reason=reason, now=now, grade=grade)
        project = perform(report.project, "appraise", by=by, reason=reason, now=now, grade=grade)
        if project.state == ProjectState.COMPLETED:
            issue_certificate(project, now=now)
        else:
            transaction.on_commit(partial(_build_documents, project.pk))
    report.refresh_from_db()
    return report


def _panel_result_or_refuse(report):
    round_ = appraisal_round(report)
    if round_ is None:
        raise TransitionRefused([_(
            "No appraisal round has reviewed these materials yet. Run the appraisal round first: create a "
            "completion round and wait for its reviews; the panel's grade decides."
        )])
    reviews = panel_reviews(round_, report.project)
    needed = rule("MIN_VALID_REVIEWS", round_.call_class)
    grade = grade_of_counts(grade_counts(reviews), needed)
    if grade is None:
        graded = sum(grade_counts(reviews).values())
        raise TransitionRefused([_(
            "The round “%(round)s” has %(n)d valid reviews of this project; the panel's grade needs "
            "%(needed)d. Wait for the reviews."
        ) % {"round": round_.name, "n": graded, "needed": needed}])
    return grade


def issue_certificate(project, *, now=None):
    """Give a completed project its certificate number (结题证书编号) once; the documents follow after the commit."""
    from .numbers import certificate_number

    now = now or timezone.now()
    with transaction.atomic():
        locked = Project.objects.select_for_update().get(pk=project.pk)
        if locked.state != ProjectState.COMPLETED:
            raise TransitionRefused([_("Only a completed project receives a certificate.")])
        number = locked.certificate_number
        if not number:
            number = certificate_number(now)
            Project.objects.filter(pk=locked.pk).update(certificate_number=number)
            transaction.on_commit(partial(_tell_certificate, locked.pk))
        transaction.on_commit(partial(_build_documents, locked.pk))
    project.certificate_number = number
    return number


def _build_documents(project_id):
    from .completion_documents import build_completion_documents

    build_completion_documents.delay(project_id)


# ---- the completion round ---------------------------------------------------------------------


def ready_for_appraisal(call_class=None):
    """Projects whose current materials passed the formal check (鉴定中)."""
    projects = Project.objects.filter(state=ProjectState.COMPLETION_REVIEW,
                                      completion_reports__state=CompletionState.ACCEPTED)
    if call_class is not None:
        projects = projects.filter(call_class=call_class)
    return projects.distinct()


def not_ready_in_round(round_):
    """The round's projects whose materials have not passed the formal check (they must not be appraised)."""
    return round_.projects.exclude(pk__in=ready_for_appraisal().values("pk"))


def create_completion_round(call_class, *, by, deadline, **settings_):
    """A completion appraisal round (结题鉴定) of the class holding only materials that passed the formal check.

    ``reviews.rounds.add_proposals`` takes every project in ``completion_review``, whatever
    its materials' state; those not yet accepted are taken out again here.
    """
    from reviews.rounds import create_round

    if not access.is_secretariat(None, by):
        raise TransitionRefused([_("Only the secretariat may change review rounds.")])
    if not ready_for_appraisal(call_class).exists():
        raise TransitionRefused([_("No completion materials of this class have passed the formal check.")])
    with transaction.atomic():
        round_ = create_round(call_class, stage=_stage(), by=by, deadline=deadline, **settings_)
        round_.projects.remove(*not_ready_in_round(round_))
    return round_


def open_completion_round(round_, *, by, now=None):
    """Open a completion round, refusing while it holds materials that have not passed the formal check."""
    from reviews.rounds import open_round

    waiting = list(not_ready_in_round(round_).order_by("pk").values_list("title", flat=True))
    if waiting:
        raise TransitionRefused([_("These projects' materials have not passed the formal check: %(titles)s.")
                                 % {"titles": "、".join(waiting)}])
    return open_round(round_, by=by, now=now)


# ---- what the pages read ----------------------------------------------------------------------


def current_report(project):
    """The latest attempt's materials, or None."""
    return project.completion_reports.order_by("-attempt").first()


def can_submit(project, user):
    return access.is_pi(project, user) and project.state == ProjectState.ACTIVE


def avoid_slots(project):
    """How many more experts the PI may name to exclude from the appraisal."""
    from reviews.conflicts import avoid_limit

    return max(0, avoid_limit(project, _stage()) - project.avoid_requests.filter(stage=_stage()).count())


# ---- citations (GB/T 7714) --------------------------------------------------------------------

CITATION_MARKS = {OutputType.PAPER: "J", OutputType.BOOK: "M", OutputType.REPORT: "R", OutputType.OTHER: "Z"}


def cite(output):
    """One output as a reference in the style of GB/T 7714, e.g. ``作者. 题名[J]. 期刊, 2024, 40(3): 12-18.``"""
    authors = output.authors.strip()
    title = output.title.strip()
    year = str(output.year) if output.year else ""
    if output.kind == OutputType.AWARD:
        award = "，".join(part for part in (output.award_level.strip(), output.venue.strip()) if part)
        text = f"{authors}. {title}. 获奖: {award or '—'}" + (f", {year}" if year else "") + "."
        return _with_identifier(text, output)
    mark = CITATION_MARKS.get(output.kind, "Z")
    text = f"{authors}. {title}[{mark}]."
    if output.kind == OutputType.PAPER:
        source = ", ".join(part for part in (output.venue.strip(), year) if part)
        if output.volume_issue.strip():
            source += f", {output.volume_issue.strip()}"
        if output.pages.strip():
            source += f": {output.pages.strip()}"
    else:
        source = ", ".join(part for part in (output.venue.strip(), year) if part)
        if output.pages.strip():
            source += f": {output.pages.strip()}"
    if source:
        text += f" {source}."
    return _with_identifier(text, output)


def _with_identifier(text, output):
    identifier = output.identifier.strip()
    if not identifier:
        return text
    if identifier.startswith("10."):
        identifier = f"DOI:{identifier}"
    return f"{text} {identifier}."


def citations(project):
    """The project's outputs as references, one per line (the archive's ``outputs``)."""
    return "\n".join(cite(output) for output in project.outputs.all())


# ---- telling people -----------------------------------------------------------------------------


def _link(project_id):
    return reverse("project-completion", args=[project_id])


def _notify(user, write, link):
    from accounts.inbox import notify

    notify(user, write, link=link)


def _tell_unit(report_id):
    """The unit's research office hears that completion materials wait for it."""
    report = CompletionReport.objects.select_related("project__institution").filter(pk=report_id).first()
    if report is None or not report.project.institution_id or report.state != CompletionState.SUBMITTED:
        return
    project = report.project
    group = project.institution.admin_group
    for admin in group.user_set.filter(is_active=True):
        _notify(admin, partial(_unit_message, project), _link(project.pk))


def _unit_message(project):
    return (
        _("[Keti] Completion materials to endorse: %(title)s") % {"title": project.title},
        _("The PI of “%(title)s” has submitted the completion materials. Please endorse them or return them "
          "with a reason.") % {"title": project.title},
    )


def _tell_after_step(report_id, name, reason):
    report = CompletionReport.objects.select_related("project__pi").filter(pk=report_id).first()
    if report is None:
        return
    project = report.project
    _notify(project.pi, partial(_pi_message, project, name, reason), _link(project.pk))


def _pi_message(project, name, reason):
    from .services import step_label

    subject = _("[Keti] %(step)s: %(title)s") % {"step": step_label(CompletionReport, name), "title": project.title}
    bodies = {
        "endorse_completion": _("Your unit has endorsed the completion materials of “%(title)s”; they now go to "
                                "the secretariat's formal check."),
        "return_completion": _("The completion materials of “%(title)s” were returned for correction. Correct "
                               "them and submit them again."),
        "accept_completion": _("The completion materials of “%(title)s” passed the formal check and go to the "
                               "appraisal experts."),
    }
    body = bodies[name] % {"title": project.title}
    if reason:
        body += "\n\n" + _("Reason: %(reason)s") % {"reason": reason}
    return subject, body


def _tell_certificate(project_id):
    project = Project.objects.select_related("pi").filter(pk=project_id).first()
    if project is None:
        return
    _notify(project.pi, partial(_certificate_message, project), _link(project.pk))


def _certificate_message(project):
    return (
        _("[Keti] Completion certificate: %(title)s") % {"title": project.title},
        _("The project “%(title)s” is completed with the grade “%(grade)s”. Its certificate number is "
          "%(number)s; the certificate and the appraisal opinion can be downloaded from the project's page.")
        % {"title": project.title, "grade": project.get_grade_display(), "number": project.certificate_number},
    )


def local_date(moment):
    """The date of a moment in the association's time zone (documents are dated so)."""
    if isinstance(moment, dt.datetime):
        return timezone.localtime(moment).date()
    return moment


def waiting_counts(user):
    """What waits for ``user`` at the completion, for the dashboard: ``{"unit": n or None,
    "secretariat": bool, "formal_check": n, "appraisal": n}`` (two queries at most)."""
    from django.db.models import Count, Q

    from accounts import roles

    counts = {"unit": None, "secretariat": False, "formal_check": 0, "appraisal": 0}
    if roles.has_role(user, roles.UNIT_ADMIN) and user.institution_id:
        counts["unit"] = CompletionReport.objects.filter(
            project__institution_id=user.institution_id, state=CompletionState.SUBMITTED).count()
    if access.is_secretariat(None, user):
        figures = CompletionReport.objects.aggregate(
            formal_check=Count("pk", filter=Q(state=CompletionState.ENDORSED)),
            appraisal=Count("pk", filter=Q(state=CompletionState.ACCEPTED)),
        )
        counts.update(secretariat=True, **figures)
    return counts
