"""Reminders, lateness and timeliness (催评、逾期与按时率).

Two schedules, both counted in local (Asia/Shanghai) days and read from
``settings.KETI_RULES`` through ``projects.rules.rule`` (a call class may
override them):

- answering the invitation (答复邀请): an invitation still unanswered
  ``REMIND_INVITATION_AFTER_DAYS`` after it went out gets one reminder; once it is
  older than the round's ``answer_within_days`` it is flagged to the secretariat
  with a proposed replacement;
- submitting the review (提交评审意见): a reminder on each of the days
  ``REMIND_REVIEW_DAYS_BEFORE`` before the effective deadline (the expert's own,
  else the round's), and every ``REMIND_OVERDUE_EVERY_DAYS`` days once overdue.

An expert gets at most one mail a day, listing everything due: the row of
``Reminder`` for (expert, day) is written before the mail goes out, in the same
transaction, so two workers running at once cannot both send. A scheduled day
that was missed (the beat was down, or the expert had already had a mail that
day) is caught up the next time, because an assignment is due whenever its
latest scheduled day is later than the last reminder that named it.

The clock is passed in everywhere (``now=``); nothing here sleeps or reads the
time twice.
"""

import datetime as dt
import logging
import smtplib
from collections import defaultdict
from dataclasses import dataclass
from functools import partial
from statistics import mean
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts import roles
from projects.access import is_secretariat
from projects.blind import blind_dossier
from projects.rules import rule
from projects.services import TransitionRefused

from . import notifications
from .models import Assignment, AssignmentStatus, Reminder, ReminderKind, ReviewRound
from .workflow import ReviewState, RoundState

logger = logging.getLogger(__name__)

LOCAL_TZ = ZoneInfo("Asia/Shanghai")

# Most urgent last: the kind of a mail is the highest of its items.
URGENCY = {ReminderKind.INVITATION: 0, ReminderKind.REVIEW_DUE: 1, ReminderKind.REVIEW_OVERDUE: 2}

# Assignments that still owe an answer or a review.
WAITING = (AssignmentStatus.INVITED, AssignmentStatus.ACCEPTED)


def local_day(moment):
    """The Asia/Shanghai calendar date of an aware datetime."""
    return moment.astimezone(LOCAL_TZ).date()


def local_text(moment):
    """A datetime as mails and pages print it: local, to the minute."""
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def answer_within_days(round_):
    """Days an expert has to answer (答复期限): the round's own number, else the rule."""
    return round_.answer_within_days or rule("ANSWER_WITHIN_DAYS", round_.call_class)


# ---- the schedule -------------------------------------------------------------------


def scheduled_days(assignment, today):
    """[(day, kind)] of the reminders ``assignment`` is owed up to ``today``, oldest first.

    Days on or before the invitation day are dropped: an expert invited two days
    before the deadline hears about it in the invitation, not in a reminder.
    """
    call_class = assignment.round.call_class
    invited_day = local_day(assignment.invited_at)
    deadline_day = local_day(assignment.effective_deadline)
    days = []
    if assignment.status == AssignmentStatus.INVITED:
        days.append((invited_day + dt.timedelta(days=rule("REMIND_INVITATION_AFTER_DAYS", call_class)),
                     ReminderKind.INVITATION))
    for before in rule("REMIND_REVIEW_DAYS_BEFORE", call_class):
        days.append((deadline_day - dt.timedelta(days=before), ReminderKind.REVIEW_DUE))
    first_overdue = deadline_day + dt.timedelta(days=1)
    if today >= first_overdue:
        every = max(1, rule("REMIND_OVERDUE_EVERY_DAYS", call_class))
        latest = (today - first_overdue).days // every * every
        days.append((first_overdue + dt.timedelta(days=latest), ReminderKind.REVIEW_OVERDUE))
    return sorted((day, kind) for day, kind in days if invited_day < day <= today)


def due_kind(assignment, today, last_reminded):
    """The kind of reminder ``assignment`` is due today, or None.

    Due when its latest scheduled day is later than the last reminder that named
    it; of several reasons on that day the most urgent wins.
    """
    days = scheduled_days(assignment, today)
    if not days:
        return None
    latest = days[-1][0]
    if last_reminded is not None and last_reminded >= latest:
        return None
    return max((kind for day, kind in days if day == latest), key=URGENCY.__getitem__)


def waiting_assignments():
    """Assignments that may owe a reminder: invited or accepted, round open, review not submitted."""
    return (
        Assignment.objects.filter(status__in=WAITING, round__state=RoundState.OPEN, invited_at__isnull=False)
        .exclude(review__state=ReviewState.SUBMITTED)
        .select_related("round__call_class", "expert__user")
    )


def last_reminded_days(assignments):
    """{assignment id: local day of the latest reminder that named it} in one query.

    ``assignments`` is a queryset, used as a subquery (a round of thousands of
    proposals has more assignments than SQLite takes parameters).
    """
    through = Reminder.assignments.through
    rows = (
        through.objects.filter(assignment__in=assignments.values("pk"))
        .values("assignment_id")
        .annotate(last=Max("reminder__day"))
    )
    return {row["assignment_id"]: row["last"] for row in rows}


@dataclass(frozen=True)
class DueItem:
    """One assignment named in a reminder, and why."""

    assignment: Assignment
    kind: str


def due_by_expert(now):
    """{expert: [DueItem]} of what is due today, leaving out experts already reminded today."""
    today = local_day(now)
    waiting = waiting_assignments()
    candidates = list(waiting)
    last = last_reminded_days(waiting)
    reminded_today = set(Reminder.objects.filter(day=today).values_list("expert_id", flat=True))
    due = defaultdict(list)
    for assignment in candidates:
        if assignment.expert_id in reminded_today:
            continue
        kind = due_kind(assignment, today, last.get(assignment.pk))
        if kind == ReminderKind.REVIEW_DUE and assignment.effective_deadline <= now:
            kind = ReminderKind.REVIEW_OVERDUE  # a day missed until the deadline had passed
        if kind is not None:
            due[assignment.expert].append(DueItem(assignment, kind))
    return due


# ---- sending --------------------------------------------------------------------------


def review_link():
    """Where the expert finds their reviews (the expert's dashboard)."""
    try:
        path = reverse("expert-dashboard")
    except NoReverseMatch:
        path = "/review/"
    return getattr(settings, "SITE_URL", "").rstrip("/") + path


def reminder_lines(items):
    """The body lines of a reminder: per round, how many of what and by when.

    Only the round, counts and deadlines: no title, name, unit or number of a
    proposal, so that a mail forwarded or misdelivered tells nothing.
    """
    groups = defaultdict(int)
    for item in items:
        a = item.assignment
        groups[(a.round.name, a.round_id, item.kind, a.effective_deadline)] += 1
    lines = []
    current_round = None
    for (round_name, _round_id, kind, deadline), count in sorted(
        groups.items(), key=lambda g: (g[0][1], -URGENCY[g[0][2]], g[0][3])
    ):
        if round_name != current_round:
            lines.append("")
            lines.append(_("Round “%(round)s”:") % {"round": round_name})
            current_round = round_name
        values = {"n": count, "deadline": local_text(deadline)}
        if kind == ReminderKind.REVIEW_OVERDUE:
            text = ngettext("%(n)s review overdue since %(deadline)s",
                            "%(n)s reviews overdue since %(deadline)s", count) % values
        elif kind == ReminderKind.REVIEW_DUE:
            text = ngettext("%(n)s review due by %(deadline)s",
                            "%(n)s reviews due by %(deadline)s", count) % values
        else:
            text = ngettext("%(n)s invitation waiting for your answer (review due by %(deadline)s)",
                            "%(n)s invitations waiting for your answer (reviews due by %(deadline)s)",
                            count) % values
        lines.append("  - " + text)
    return lines


def reminder_mail(expert, kind, items):
    """A writer for ``notifications.tell``: (subject, body) of one expert's reminder."""

    def write():
        subjects = {
            ReminderKind.REVIEW_OVERDUE: _("[Keti] Reminder: reviews overdue"),
            ReminderKind.REVIEW_DUE: _("[Keti] Reminder: reviews due soon"),
            ReminderKind.INVITATION: _("[Keti] Reminder: please answer the review invitation"),
        }
        body = [_("Dear %(name)s,") % {"name": expert.user.display_name}, "",
                _("This is a reminder of the expert reviews waiting for you.")]
        body += reminder_lines(items)
        body += ["", _("Please answer and submit your reviews at: %(link)s") % {"link": review_link()}, "",
                 _("If you have already done so, please ignore this mail.")]
        return subjects[kind], "\n".join(body)

    return write


class _NotSent(Exception):
    """The expert cannot be mailed: undo the Reminder row."""


def send_one(expert, items, now):
    """Record and send one expert's reminder of today; False when another run already did,
    or when the mail server refused it (logged; the row is undone, so the next run retries)."""
    kind = max((item.kind for item in items), key=URGENCY.__getitem__)
    try:
        with transaction.atomic():
            reminder = Reminder.objects.create(expert=expert, kind=kind, day=local_day(now), sent_at=now)
            reminder.assignments.set([item.assignment for item in items])
            if not notifications.tell(expert.user, reminder_mail(expert, kind, items)):
                raise _NotSent
    except (IntegrityError, _NotSent):
        return False
    except (smtplib.SMTPException, OSError):
        logger.exception("Reminder to expert %s could not be sent", expert.pk)
        return False
    return True


def send_reminders(now=None):
    """Send today's reminders (催评邮件), at most one a day per expert; return the mails sent.

    Safe to run twice, and from two workers at once: the (expert, day) row is the lock.
    """
    now = now or timezone.now()
    sent = 0
    for expert, items in due_by_expert(now).items():
        sent += send_one(expert, items, now)
    return sent


# ---- unanswered invitations -------------------------------------------------------------


@dataclass(frozen=True)
class Unanswered:
    """An invitation not answered in time (逾期未答复), with who could take it instead."""

    assignment: Assignment
    limit: dt.datetime  # when it crossed the limit
    replacement: object  # ExpertProfile | None


def answer_limit(assignment):
    return assignment.invited_at + dt.timedelta(days=answer_within_days(assignment.round))


def unanswered_invitations(round_, now=None, assignments=None):
    """[Unanswered] of ``round_``: invitations older than the days to answer, oldest first.

    Each carries its best replacement (no writes; never a conflicted expert), all
    computed in one batch per round by ``reviews.rounds.best_replacements``.
    ``assignments`` lets a page pass rows it already loaded.
    """
    from .rounds import best_replacements

    now = now or timezone.now()
    if assignments is None:
        assignments = (
            Assignment.objects.filter(round=round_, status=AssignmentStatus.INVITED, invited_at__isnull=False)
            .select_related("round__call_class", "expert__user", "project")
            .order_by("invited_at", "pk")
        )
    late = [a for a in assignments if a.status == AssignmentStatus.INVITED and a.invited_at
            and answer_limit(a) <= now]
    replacements = best_replacements(late)
    return [Unanswered(a, answer_limit(a), replacements[a.pk]) for a in late]


def secretariat_users():
    """Active members of the secretariat with an address."""
    return (
        get_user_model().objects.filter(is_active=True, groups__name=roles.SECRETARIAT)
        .exclude(email="").distinct().order_by("pk")
    )


def newly_unanswered(now):
    """[Unanswered] of every open round that crossed the limit in the last 24 hours
    (the replacements in one batch per round)."""
    found = []
    rounds = ReviewRound.objects.filter(state=RoundState.OPEN).select_related("call_class").order_by("pk")
    for round_ in rounds:
        days = answer_within_days(round_)
        window_end = now - dt.timedelta(days=days)
        rows = (
            Assignment.objects.filter(round=round_, status=AssignmentStatus.INVITED,
                                      invited_at__gt=window_end - dt.timedelta(hours=24),
                                      invited_at__lte=window_end)
            .select_related("round__call_class", "expert__user", "project")
            .order_by("invited_at", "pk")
        )
        found += unanswered_invitations(round_, now, assignments=rows)
    return found


def flag_mail(flagged):
    def write():
        lines = [_("These review invitations have not been answered in time:"), ""]
        for item in flagged:
            a = item.assignment
            proposal = item.replacement.user.display_name if item.replacement else _("none available")
            lines.append(_("- %(round)s: %(expert)s, “%(title)s”, invited %(invited)s; proposed replacement: "
                           "%(replacement)s") % {
                "round": a.round.name, "expert": a.expert.user.display_name, "title": a.project.title,
                "invited": local_text(a.invited_at), "replacement": proposal,
            })
        links = sorted({item.assignment.round_id for item in flagged})
        lines.append("")
        for round_id in links:
            lines.append(_("Who is late: %(link)s") % {
                "link": getattr(settings, "SITE_URL", "").rstrip("/") + reverse("round-late", args=[round_id])})
        subject = ngettext("[Keti] %(n)s review invitation unanswered",
                           "[Keti] %(n)s review invitations unanswered", len(flagged)) % {"n": len(flagged)}
        return subject, "\n".join(lines)

    return write


def flag_unanswered(now=None):
    """Mail the secretariat a digest of invitations that crossed the limit in the last 24 h.

    Run once a day by the beat, so each invitation is flagged once; returns the mails sent.
    """
    now = now or timezone.now()
    flagged = newly_unanswered(now)
    if not flagged:
        return 0
    return sum(notifications.tell(user, flag_mail(flagged)) for user in secretariat_users())



def replacement_refusals(assignment, *, by, now):
    """Why an unanswered invitation may not be withdrawn and given to another expert."""
    if not is_secretariat(assignment, by):
        return [_("Only the secretariat may replace an expert.")]
    messages = []
    if assignment.round.state != RoundState.OPEN:
        messages.append(_("The review round is not open."))
    if assignment.status != AssignmentStatus.INVITED:
        messages.append(_("The invitation has been answered or withdrawn in the meantime."))
    elif answer_limit(assignment) > now:
        messages.append(_("The expert still has until %(limit)s to answer.")
                        % {"limit": local_text(answer_limit(assignment))})
    return messages


def replace_unanswered(assignment, *, by, now=None):
    """Withdraw an invitation left unanswered (撤销逾期邀请) and invite the best replacement.

    In one transaction: ``reviews.rounds.remove_assignment`` takes it from the late
    expert and ``reviews.rounds.replace_declined`` invites the best available
    expert (the one ``best_replacement`` proposed); when there is none, nothing
    changes and the secretariat is told.
    """
    from . import rounds

    now = now or timezone.now()
    with transaction.atomic():
        record = (
            Assignment.objects.select_for_update()
            .select_related("round__call_class", "expert__user", "project")
            .get(pk=assignment.pk)
        )
        messages = replacement_refusals(record, by=by, now=now)
        if messages:
            raise TransitionRefused(messages)
        rounds.remove_assignment(record, by=by, now=now)
        new = rounds.replace_declined(record, by=by, now=now)
        if new is None:
            raise TransitionRefused([_("No expert is available to replace them; the invitation is kept.")])
    return new


# ---- extending a deadline ------------------------------------------------------------------


def extension_refusals(assignment, new_deadline, *, by, now):
    """Every reason why the deadline may not be moved, at once."""
    if not is_secretariat(assignment, by):
        return [_("Only the secretariat may extend a deadline.")]
    messages = []
    if assignment.status not in WAITING:
        messages.append(_("The expert no longer holds this assignment."))
    if assignment.round.state != RoundState.OPEN:
        messages.append(_("The review round is not open."))
    review = getattr(assignment, "review", None)
    if review is not None and review.state == ReviewState.SUBMITTED:
        messages.append(_("The review has already been submitted."))
    if new_deadline is None:
        messages.append(_("Give the new deadline."))
        return messages
    if new_deadline <= assignment.effective_deadline:
        messages.append(_("The new deadline must be later than the current one (%(current)s).")
                        % {"current": local_text(assignment.effective_deadline)})
    if new_deadline <= now:
        messages.append(_("The new deadline must be in the future."))
    return messages


def extension_mail(assignment):
    def write():
        title = blind_dossier(assignment.project).title
        subject = _("[Keti] Your review deadline has been extended")
        body = "\n".join([
            _("Dear %(name)s,") % {"name": assignment.expert.user.display_name}, "",
            _("The deadline of your review of “%(title)s” in the round “%(round)s” is now %(deadline)s.") % {
                "title": title, "round": assignment.round.name, "deadline": local_text(assignment.deadline)},
            "", _("Your reviews: %(link)s") % {"link": review_link()},
        ])
        return subject, body

    return write


def extend_deadline(assignment, new_deadline, *, by, now=None):
    """Give one expert a later deadline (延期); raise ``TransitionRefused`` with every reason if not."""
    now = now or timezone.now()
    if new_deadline is not None and timezone.is_naive(new_deadline):
        new_deadline = timezone.make_aware(new_deadline, LOCAL_TZ)
    with transaction.atomic():
        record = (
            Assignment.objects.select_for_update()
            .select_related("round__call_class", "expert__user", "project")
            .get(pk=assignment.pk)
        )
        messages = extension_refusals(record, new_deadline, by=by, now=now)
        if messages:
            raise TransitionRefused(messages)
        record.deadline = new_deadline
        record.save(update_fields=["deadline"])
        # After the commit: no mail for a change rolled back by an outer transaction.
        transaction.on_commit(partial(notifications.tell, record.expert.user, extension_mail(record)))
    assignment.deadline = new_deadline
    return record


# ---- who is late ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LateReport:
    """The late page of a round: unanswered invitations, overdue reviews, reviews due soon."""

    unanswered: list
    overdue: list
    due_soon: list


def late_report(round_, now=None):
    """Who is late in ``round_`` (each assignment in one list only), with their last reminder.

    One query for the assignments; the replacements of the unanswered ones in one batch.
    """
    now = now or timezone.now()
    rows = list(
        waiting_assignments().filter(round=round_)
        .select_related("project")
        .annotate(last_reminder=Max("reminders__sent_at"))
        .order_by("invited_at", "pk")
    )
    unanswered_rows = [a for a in rows if a.status == AssignmentStatus.INVITED and answer_limit(a) <= now]
    unanswered = unanswered_invitations(round_, now, assignments=unanswered_rows)
    taken = {item.assignment.pk for item in unanswered}
    soon = now + dt.timedelta(days=max(rule("REMIND_REVIEW_DAYS_BEFORE", round_.call_class) or [0]))
    overdue, due_soon = [], []
    for a in rows:
        if a.pk in taken:
            continue
        if a.effective_deadline < now:
            overdue.append(a)
        elif a.effective_deadline <= soon:
            due_soon.append(a)
    overdue.sort(key=lambda a: (a.effective_deadline, a.pk))
    due_soon.sort(key=lambda a: (a.effective_deadline, a.pk))
    return LateReport(unanswered, overdue, due_soon)


# ---- timeliness --------------------------------------------------------------------------------


def _days(delta):
    return delta.total_seconds() / 86400


def _average(values):
    return round(mean(values), 1) if values else None


def timeliness(expert, now=None):
    """An expert's private record across rounds (按时率, for the secretariat only).

    From the assignment and review rows: invitations, accepted, declined,
    unanswered (never answered and removed, or past the days to answer),
    reviews submitted, on time, late (submitted after the effective deadline),
    the average days to answer, and the average margin to the deadline in days
    (positive: before it, negative: after it).
    """
    now = now or timezone.now()
    assignments = (
        Assignment.objects.filter(expert=expert, invited_at__isnull=False)
        .select_related("round__call_class", "review")
        .order_by("round__created_at", "round_id", "pk")
    )
    totals = defaultdict(int)
    answer_days, margins = [], []
    rounds = {}
    for a in assignments:
        review = getattr(a, "review", None)
        submitted = review is not None and review.state == ReviewState.SUBMITTED and review.submitted_at
        row = rounds.setdefault(a.round_id, {"round": a.round, **dict.fromkeys(
            ("invitations", "accepted", "declined", "unanswered", "submitted", "on_time", "late"), 0)})
        facts = {"invitations": True}
        if a.status == AssignmentStatus.DECLINED:
            facts["declined"] = True
        elif a.responded_at or submitted:
            facts["accepted"] = True
        elif a.status == AssignmentStatus.REMOVED or answer_limit(a) <= now:
            facts["unanswered"] = True
        if a.responded_at:
            answer_days.append(_days(a.responded_at - a.invited_at))
        if submitted:
            facts["submitted"] = True
            margin = _days(a.effective_deadline - review.submitted_at)
            margins.append(margin)
            facts["on_time" if margin >= 0 else "late"] = True
        for name in facts:
            totals[name] += 1
            row[name] += 1
    record = {name: totals[name] for name in
              ("invitations", "accepted", "declined", "unanswered", "submitted", "on_time", "late")}
    record["average_days_to_answer"] = _average(answer_days)
    record["average_days_before_deadline"] = _average(margins)
    record["rounds"] = list(rounds.values())
    return record


def reminders_of(expert):
    """The reminders sent to an expert, newest first (for the timeliness page)."""
    return Reminder.objects.filter(expert=expert).order_by("-sent_at")

