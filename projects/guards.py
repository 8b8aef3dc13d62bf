"""Guards: the named conditions of the transitions, each returning a message when it fails.

A guard is a function ``(obj, ctx) -> str | None``. Wrapped by ``@guard`` it is
also a django-fsm condition (called with the object alone), so that
``can_proceed`` and the fsm itself agree with ``services.perform``, which asks
every guard for its message so the user sees all that is wrong at once.
The context carries the actor, the typed reason, the clock and the step's
parameters; ``perform`` attaches it to the object for the duration of a step.
"""

from dataclasses import dataclass, field
from datetime import datetime

from dateutil.relativedelta import relativedelta
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.utils.translation import ngettext

from accounts.models import TitleLevel

from .rules import rule


@dataclass
class TransitionContext:
    actor: object = None
    reason: str = ""
    now: datetime = field(default_factory=timezone.now)
    params: dict = field(default_factory=dict)


def context_of(obj):
    return getattr(obj, "_transition_context", None) or TransitionContext()


class Guard:
    def __init__(self, check):
        self.check = check
        self.name = check.__name__
        self.__doc__ = check.__doc__

    def __call__(self, obj):
        return self.message(obj) is None

    def message(self, obj, ctx=None):
        return self.check(obj, ctx or context_of(obj))

    def __repr__(self):
        return f"<Guard {self.name}>"


def guard(check):
    return Guard(check)


def _local(moment):
    return date_format(timezone.localtime(moment), "Y-m-d H:i")


# ---- shared ---------------------------------------------------------------


@guard
def reason_given(obj, ctx):
    """Returning, rejecting, terminating and revoking need a reason the applicant can read."""
    if not (ctx.reason or "").strip():
        return _("Please give a reason for this step.")
    return None


# ---- application (申报) ------------------------------------------------------


@guard
def call_is_open(project, ctx):
    """Applications are accepted only inside the call's window, on the server's clock."""
    call = project.call
    if call.state != "published":
        return _("The call “%(call)s” is not accepting applications.") % {"call": call.title}
    if ctx.now < call.opens_at:
        return _("The call opens at %(time)s.") % {"time": _local(call.opens_at)}
    if ctx.now > call.deadline:
        return _("The deadline (%(time)s, Beijing time) has passed.") % {"time": _local(call.deadline)}
    return None


@guard
def before_deadline(project, ctx):
    """Returning for revision makes sense only while the applicant can still resubmit."""
    if ctx.now > project.call.deadline:
        return _(
            "The deadline (%(time)s) has passed, so the application can no longer be "
            "revised; mark it not accepted or let it pass the formal check instead."
        ) % {"time": _local(project.call.deadline)}
    return None


@guard
def one_application_per_call(project, ctx):
    """One application per person per call as PI."""
    Project = type(project)
    others = (
        Project.objects.filter(call_id=project.call_id, pi_id=project.pi_id)
        .exclude(pk=project.pk)
        .exclude(state__in=["draft", "withdrawn"])
    )
    if others.exists():
        return _("You have already submitted an application to this call as PI.")
    return None


UNFINISHED_STATES = ("publicity", "active", "midterm_review", "completion_review")


@guard
def pi_has_no_unfinished_project(project, ctx):
    """A PI with an unfinished project of the association may not apply."""
    Project = type(project)
    unfinished = Project.objects.filter(pi_id=project.pi_id, state__in=UNFINISHED_STATES).exclude(
        pk=project.pk
    )
    first = unfinished.only("title").first()
    if first is not None:
        return _("The PI still has an unfinished project (“%(title)s”).") % {"title": first.title}
    return None


@guard
def pi_not_recently_revoked(project, ctx):
    """A PI whose project was revoked (撤项) in the last years may not apply."""
    years = rule("REVOCATION_BAR_YEARS", project.call_class)
    since = ctx.now - relativedelta(years=years)
    Project = type(project)
    if Project.objects.filter(pi_id=project.pi_id, state="revoked", revoked_at__gte=since).exists():
        return ngettext(
            "A project of the PI was revoked within the last %(years)d year.",
            "A project of the PI was revoked within the last %(years)d years.",
            years,
        ) % {"years": years}
    return None


@guard
def pi_title_level(project, ctx):
    """A-class PIs hold an associate-senior title or above, B-class intermediate or above."""
    minimum = rule("MIN_PI_TITLE_LEVEL", project.call_class)
    if project.pi.title_level < minimum:
        label = TitleLevel(minimum).label
        return _("The PI of a class %(cls)s project must hold a professional title of level “%(level)s” or above.") % {
            "cls": project.call_class.code,
            "level": label,
        }
    return None


SUBTITLE_MARKS = ("——", "—", "--", "：", ":")


def title_problem(title, call_class):
    """The message for a title that breaks the rules, or None (shared with the form)."""
    limit = rule("TITLE_MAX_LENGTH", call_class)
    title = (title or "").strip()
    if not title:
        return _("The title is missing.")
    if len(title) > limit:
        return _("The title has %(n)d characters; at most %(limit)d are allowed.") % {
            "n": len(title),
            "limit": limit,
        }
    if any(mark in title for mark in SUBTITLE_MARKS):
        return _("The title may not have a subtitle (no dash or colon).")
    return None


def keywords_problem(keywords, call_class):
    """The message for a keyword list that breaks the rules, or None (shared with the form)."""
    limit = rule("MAX_KEYWORDS", call_class)
    keywords = [k for k in (keywords or []) if str(k).strip()]
    if not keywords:
        return _("Give at least one keyword.")
    if len(keywords) > limit:
        return _("At most %(limit)d keywords are allowed; you gave %(n)d.") % {
            "limit": limit,
            "n": len(keywords),
        }
    return None


def argument_problem(length, call_class):
    limit = rule("ARGUMENT_MAX_CHARS", call_class)
    if length > limit:
        return _("The anonymous argument has %(n)d characters; at most %(limit)d are allowed.") % {
            "n": length,
            "limit": limit,
        }
    return None


@guard
def title_is_valid(project, ctx):
    """The title has at most 40 characters and no subtitle."""
    return title_problem(project.title, project.call_class)


@guard
def keywords_are_valid(project, ctx):
    """One to three keywords."""
    return keywords_problem(project.keywords, project.call_class)


@guard
def argument_within_limit(project, ctx):
    """The anonymous argument (活页) has at most 7,000 characters in all."""
    return argument_problem(project.argument_length(), project.call_class)


@guard
def members_are_complete(project, ctx):
    """Every member is listed with title, unit and task (分工)."""
    incomplete = [m.name for m in project.members.all() if not (m.title and m.unit and m.task)]
    if incomplete:
        return _("Give the title, unit and task of every member (missing for: %(names)s).") % {
            "names": "、".join(incomplete)
        }
    return None


REQUIRED_FOR_SUBMISSION = (
    ("discipline", gettext_lazy("discipline")),
    ("planned_end_date", gettext_lazy("planned end date")),
    ("basis", gettext_lazy("rationale")),
    ("content", gettext_lazy("research content")),
    ("approach", gettext_lazy("approach and methods")),
    ("innovation", gettext_lazy("innovation")),
    ("expected_outcomes", gettext_lazy("expected outcomes")),
    ("foundation", gettext_lazy("research foundation")),
)


@guard
def application_is_complete(project, ctx):
    """Every required part of the form is filled in."""
    missing = [str(label) for name, label in REQUIRED_FOR_SUBMISSION if not getattr(project, name)]
    if not (project.guide_topic_id or project.is_free_topic):
        missing.insert(0, str(_("guide topic or free topic")))
    if missing:
        return _("Fill in: %(fields)s.") % {"fields": "、".join(missing)}
    return None


@guard
def pledge_accepted(project, ctx):
    """The applicant signs the pledge (承诺书) before submitting."""
    if project.pledge_accepted_at is None:
        return _("Accept the pledge before submitting.")
    return None


@guard
def budget_within_funding(project, ctx):
    """The budget does not exceed the class's funding."""
    funding = project.call_class.funding
    total = sum(line.amount for line in project.budget_lines.all())
    if funding and total > funding:
        return _("The budget (%(total)s yuan) exceeds the funding of the class (%(funding)s yuan).") % {
            "total": total,
            "funding": funding,
        }
    return None


@guard
def anonymous_part_is_anonymous(project, ctx):
    """No name, unit or place of the team in the 活页 text or its files."""
    from .identity import describe_leaks, find_identity_leaks

    leaks = find_identity_leaks(project)
    return describe_leaks(leaks) if leaks else None


# ---- after the review -----------------------------------------------------------


@guard
def notice_period_over(project, ctx):
    """Confirmation only after the public notice (公示) period."""
    if project.publicity_started_at is None:
        return _("The public notice has not started.")
    ends = project.publicity_started_at + relativedelta(days=project.call.notice_days)
    if ctx.now < ends:
        return _("The public notice runs until %(time)s.") % {"time": _local(ends)}
    return None


@guard
def grade_given(project, ctx):
    """An appraisal records one of the four grades."""
    from .models import Grade

    if ctx.params.get("grade") not in Grade.values:
        return _("Choose a grade: excellent, good, pass or fail.")
    return None


# ---- completion (结题) ----------------------------------------------------------


@guard
def completion_within_period(project, ctx):
    """Completion is requested within the period (结题在研究期限内申请): by the end date, which an
    approved extension (延期) has already moved.

    A project sent back by a first 不合格 (``appraisal_failures`` ≥ 1) may submit its
    revised materials after the end date: until ``RECTIFICATION_MONTHS`` months after
    the failed appraisal (the latest ``CompletionReport.appraised_at``), or until the
    end date when that is later. A project without an end date is not held back.
    """
    if project.end_date is None:
        return None
    today = timezone.localdate(ctx.now)
    if project.appraisal_failures:
        failed = (project.completion_reports.filter(appraised_at__isnull=False)
                  .order_by("-appraised_at").values_list("appraised_at", flat=True).first())
        if failed is not None:
            months = rule("RECTIFICATION_MONTHS", project.call_class)
            until = max(project.end_date, timezone.localdate(failed) + relativedelta(months=months))
            if today > until:
                return _("The revised completion materials were due by %(date)s (%(n)d months after the failed "
                         "appraisal); the secretariat decides what happens to the project.") % {
                    "date": until.isoformat(), "n": months}
            return None
    if today > project.end_date:
        return _("The project ended on %(date)s: completion is applied for within the period. Ask the "
                 "secretariat; an extension must be requested before the end date.") % {
            "date": project.end_date.isoformat()}
    return None


@guard
def completion_is_complete(report, ctx):
    """The work report, the summary (the experts' anonymous copy) and the self-assessment, and one output."""
    missing = [label for label, value in (
        (_("work report"), report.work_report),
        (_("summary report"), report.summary_report),
        (_("self-assessment"), report.self_assessment),
    ) if not (value or "").strip()]
    if not report.project.outputs.exists():
        missing.append(_("at least one output"))
    if missing:
        return _("Missing: %(parts)s.") % {"parts": "、".join(str(m) for m in missing)}
    return None


@guard
def anonymous_copy_is_anonymous(report, ctx):
    """The anonymous copy the appraisal experts read names no one of the team, their units or places."""
    from .identity import describe_leaks, find_report_leaks

    leaks = find_report_leaks(report)
    return describe_leaks(leaks) if leaks else None


# ---- change requests (变更) ---------------------------------------------------


@guard
def project_is_running(change, ctx):
    if change.project.state not in ("active", "midterm_review"):
        return _("Changes can be requested only for a project under way.")
    return None


@guard
def extension_is_allowed(change, ctx):
    """Extension (延期): at most once, at most 12 months, at least 2 months before the end."""
    if change.kind != "extension":
        return None
    project = change.project
    cls = project.call_class
    problems = []
    max_count = rule("EXTENSION_MAX_COUNT", cls)
    if project.extension_count >= max_count:
        problems.append(_("The project has already been extended; an extension is allowed only once."))
    months = change.extension_months or 0
    max_months = rule("EXTENSION_MAX_MONTHS", cls)
    override = ctx.params.get("override_limits") and ctx.actor is not None and ctx.actor.has_perm(
        "projects.manage_project"
    )
    if months < 1:
        problems.append(_("Give the length of the extension in months."))
    elif months > max_months and not override:
        problems.append(_("An extension is at most %(n)d months.") % {"n": max_months})
    lead = rule("EXTENSION_MIN_MONTHS_BEFORE_END", cls)
    requested_on = timezone.localdate(change.created_at or ctx.now)
    if project.end_date and requested_on > project.end_date - relativedelta(months=lead):
        problems.append(
            _("An extension must be requested at least %(n)d months before the end date (%(date)s).")
            % {"n": lead, "date": project.end_date.isoformat()}
        )
    return " ".join(problems) or None


@guard
def member_change_is_allowed(change, ctx):
    """A change of more than a third of the members is refused."""
    if change.kind != "members":
        return None
    plan = change.member_changes or {}
    added = len(plan.get("add", []))
    removed = len(plan.get("remove", []))
    if not added and not removed:
        return _("Say which members leave and which join.")
    current = change.project.members.count()
    fraction = rule("MEMBER_CHANGE_MAX_FRACTION", change.project.call_class)
    changed = max(added, removed)
    if changed > current * fraction:
        return _(
            "%(changed)d of %(current)d members would change; at most %(fraction)s of the members may change."
        ) % {"changed": changed, "current": current, "fraction": str(fraction)}
    return None


@guard
def change_has_content(change, ctx):
    """Each kind of change names what changes; a PI change without a successor is "the PI cannot
    continue" and revokes the project when approved (see ``services.apply_change``)."""
    kind = change.kind
    if kind == "pi" and not change.new_pi_id and change.project.state != "active":
        # A PI change without a successor means 撤项 (revoke_project), which runs from ``active`` only.
        return _("Without a successor the project is revoked (撤项), which is possible only while it is under "
                 "way, not during its mid-term check.")
    if kind == "pi" and change.new_pi_id == change.project.pi_id:
        return _("The new PI is the current PI.")
    if kind == "content" and not (change.new_title or change.new_content):
        return _("Give the new title or the changed content.")
    if kind == "output_form" and not change.new_output_form:
        return _("Give the new form of the outputs.")
    return None


@guard
def new_title_is_valid(change, ctx):
    if change.kind != "content" or not change.new_title:
        return None
    limit = rule("TITLE_MAX_LENGTH", change.project.call_class)
    if len(change.new_title) > limit or any(m in change.new_title for m in SUBTITLE_MARKS):
        return _("The new title must have at most %(limit)d characters and no subtitle.") % {"limit": limit}
    return None


# ---- calls (课题指南) ---------------------------------------------------------


@guard
def call_is_complete(call, ctx):
    """A call is published with its window and at least one class."""
    if not (call.opens_at and call.deadline) or call.opens_at >= call.deadline:
        return _("Set an opening time before the deadline.")
    if not call.classes.exists():
        return _("Add at least one project class (A, B, …) before publishing.")
    return None


@guard
def deadline_passed(call, ctx):
    if ctx.now < call.deadline:
        return _("The call can be closed only after its deadline (%(time)s).") % {"time": _local(call.deadline)}
    return None
