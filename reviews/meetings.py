"""The committee meeting (会议评审): votes, staged decisions and their release.

The life of a meeting
    The secretariat creates a meeting for a call whose application rounds have
    been ranked, naming the members of the academic committee present. The
    meeting votes on the shortlist (入围) of each class, taken from
    ``aggregation.class_ranking``: the shortlisted proposals still ``reviewed``.
    Each member present votes approve, reject or abstain on each of them and may
    change the vote while the meeting is voting.

The two-thirds rule (三分之二)
    A proposal is recommended when its approvals reach ⌈fraction × present⌉,
    with the fraction ``MEETING_APPROVAL_FRACTION`` (2/3) of the class's rules.
    The base is the members *present*, not the votes cast: an abstention or a
    missing vote counts as not approving (5 present: 4 approvals recommend, 3
    do not; 3 present: 2 recommend).

Standing aside (回避)
    A member present who is the PI of a proposal, one of its team (``Member.user``)
    or of the PI's unit (``User.institution`` is the project's institution) does not
    vote on it: ``cast_vote`` refuses, the page shows "not voting (回避)", and the
    member is left out of that proposal's base: the two thirds are of the members
    present who may vote on it (5 present, 1 standing aside: 3 of 4 recommend).

Staging and release (公布立项结果)
    The secretariat stages a decision per proposal: approve (only a recommended
    one, never beyond the class quota) or decline (any reviewed proposal of the
    call; the proposals off the shortlist in one go with ``decline_others``).
    Restaging replaces the staged decision. Nobody is told anything while
    decisions are staged: no state changes, no log row on the project, no
    notification. ``release`` runs the meeting's ``release`` step and every
    project's ``approve`` / ``decline`` in one transaction and tells each
    applicant exactly once, with the mail ``preview_mails`` showed; declined
    applicants receive the experts' comments meant for them, under aliases.
"""

import math
from dataclasses import dataclass
from fractions import Fraction

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts import roles
from projects.access import is_secretariat
from projects.models import Project, TransitionLog
from projects.rules import rule
from projects.services import TransitionRefused, perform
from projects.workflow import ProjectState

from .aggregation import class_ranking, counted_reviews, ensure_aliases, latest_rounds
from .models import DecisionOutcome, Meeting, ReviewRound, Stage, StagedDecision, Vote, VoteChoice
from .rounds import proposal_label
from .workflow import MeetingState, RoundState

# Share of the members present whose approval recommends a proposal (三分之二).
# Default until settings.KETI_RULES carries "MEETING_APPROVAL_FRACTION"; a call
# class may override it in its rules ("2/3", 0.75 …).
MEETING_APPROVAL_FRACTION = Fraction(2, 3)


def approval_fraction(call_class=None):
    """The class's approval fraction as a ``Fraction`` (see ``MEETING_APPROVAL_FRACTION``)."""
    name = "MEETING_APPROVAL_FRACTION"
    overrides = getattr(call_class, "rules", None) or {}
    if name in overrides or name in settings.KETI_RULES:
        value = rule(name, call_class)
    else:
        value = MEETING_APPROVAL_FRACTION
    if isinstance(value, Fraction):
        return value
    if isinstance(value, float):
        return Fraction(value).limit_denominator(100)
    return Fraction(value)


def approvals_needed(present, fraction=MEETING_APPROVAL_FRACTION):
    """⌈fraction × present⌉: the approvals that recommend a proposal (5 → 4, 3 → 2, 1 → 1)."""
    return math.ceil(Fraction(fraction) * present)


# ---- values ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassAgenda:
    """What the meeting sees of one class: its ranking and the proposals it votes on."""

    call_class: object
    ranking: object  # aggregation.Ranking
    shortlisted: tuple  # aggregation.ProposalResult rows, in ranking order


@dataclass(frozen=True)
class Tally:
    """The votes on one shortlisted proposal (see the module docstring for the rule)."""

    project: object
    call_class: object
    rank: int | None
    approve: int
    reject: int
    abstain: int
    present: int  # the base: the members present who may vote on this proposal
    needed: int
    recused: int = 0  # members present standing aside (回避), not in ``present``

    @property
    def cast(self):
        return self.approve + self.reject + self.abstain

    @property
    def not_voted(self):
        return max(self.present - self.cast, 0)

    @property
    def recommended(self):
        return self.present > 0 and self.approve >= self.needed


@dataclass(frozen=True)
class DecisionMail:
    """The facts of one decision mail; ``write`` renders it in the active language."""

    outcome: str
    name: str
    title: str
    receipt: str
    class_label: str
    notice_days: int
    note: str = ""
    comments: tuple = ()  # (alias, text) of the counted reviews, by alias

    def write(self):
        if self.outcome == DecisionOutcome.APPROVE:
            subject = _("[Keti] Your application is proposed for approval: %(title)s") % {"title": self.title}
            body = _(
                "Dear %(name)s,\n\n"
                "The academic committee has proposed your application “%(title)s” (receipt number %(receipt)s, "
                "%(class)s) for approval (拟立项).\n\n"
                "The proposed projects are now published for a public notice of %(days)s days (立项公示). "
                "When the notice ends without a verified objection, the project is confirmed and you receive "
                "its number and the approval letter."
            ) % {"name": self.name, "title": self.title, "receipt": self.receipt, "class": self.class_label,
                 "days": self.notice_days}
        else:
            subject = _("[Keti] Your application was not approved: %(title)s") % {"title": self.title}
            body = _(
                "Dear %(name)s,\n\n"
                "We regret to tell you that the academic committee has not approved your application "
                "“%(title)s” (receipt number %(receipt)s, %(class)s)."
            ) % {"name": self.name, "title": self.title, "receipt": self.receipt, "class": self.class_label}
            if self.comments:
                body += "\n\n" + _("The experts' comments for you:")
                for alias, text in self.comments:
                    body += f"\n\n{alias}: {text}"
        if self.note:
            body += "\n\n" + _("Note of the secretariat: %(note)s") % {"note": self.note}
        body += "\n\n" + _("The secretariat of the association")
        return subject, body


# ---- the agenda -----------------------------------------------------------------------------


def _on_agenda(project, meeting, decided_ids):
    """A shortlisted proposal is voted on while it is reviewed; after the release its decision stays shown."""
    return project.state == ProjectState.REVIEWED or project.pk in decided_ids


def _decided_ids(meeting):
    return set(meeting.decisions.filter(released_at__isnull=False).values_list("project_id", flat=True))


def class_agenda(meeting, call_class, decided_ids=None):
    """The ``ClassAgenda`` of ``call_class`` at ``meeting``."""
    if decided_ids is None:
        decided_ids = _decided_ids(meeting)
    ranking = class_ranking(call_class, Stage.APPLICATION)
    shortlisted = tuple(row for row in ranking.rows if row.shortlisted and _on_agenda(row.project, meeting, decided_ids))
    return ClassAgenda(call_class=call_class, ranking=ranking, shortlisted=shortlisted)


def agenda(meeting):
    """[ClassAgenda] of every class of the meeting's call, by class code."""
    decided_ids = _decided_ids(meeting)
    return [class_agenda(meeting, call_class, decided_ids) for call_class in meeting.call.classes.order_by("code", "pk")]


def _shortlisted_row(meeting, project):
    """The ranking row of ``project`` when the meeting votes on it, else None."""
    for row in class_agenda(meeting, project.call_class).shortlisted:
        if row.project.pk == project.pk:
            return row
    return None


# ---- votes ----------------------------------------------------------------------------------


def is_present(meeting, user):
    return user.is_authenticated and user.is_active and meeting.present.filter(pk=user.pk).exists()


def recused_members(meeting, projects):
    """{project_id: {user ids}}: the members present who stand aside (回避) on each of ``projects``.

    The PI, the team members with an account (``Member.user``) and the members of
    the PI's unit (the project's institution). Two queries, whatever the number.
    """
    from projects.models import Member

    projects = list(projects)
    present = list(meeting.present.values_list("pk", "institution_id"))
    team = {}
    for project_id, user_id in Member.objects.filter(
        project__in=[p.pk for p in projects], user__isnull=False
    ).values_list("project_id", "user_id"):
        team.setdefault(project_id, set()).add(user_id)
    result = {}
    for project in projects:
        own = team.get(project.pk, set())
        result[project.pk] = {
            user_id for user_id, institution_id in present
            if user_id == project.pi_id or user_id in own
            or (institution_id is not None and institution_id == project.institution_id)
        }
    return result


def recusal_problem(project, member):
    """The message when ``member`` must stand aside (回避) on ``project``, else None."""
    from projects.models import Member

    if member.pk == project.pi_id:
        return _("You are the PI of %(proposal)s: you stand aside (回避) and do not vote on it.") % {
            "proposal": proposal_label(project)}
    if Member.objects.filter(project=project, user=member).exists():
        return _("You are a member of the team of %(proposal)s: you stand aside (回避) and do not vote on it.") % {
            "proposal": proposal_label(project)}
    if member.institution_id is not None and member.institution_id == project.institution_id:
        return _("You belong to the unit of the PI of %(proposal)s: you stand aside (回避) and do not vote on it.") % {
            "proposal": proposal_label(project)}
    return None


def cast_vote(meeting, project, member, choice, *, now=None):
    """Record (or change) ``member``'s vote on ``project``; raises ``TransitionRefused``."""
    now = now or timezone.now()
    problems = []
    if meeting.state != MeetingState.VOTING:
        problems.append(_("The meeting has released its decisions; votes can no longer be cast or changed."))
    if not is_present(meeting, member):
        problems.append(_("Only the committee members present at the meeting vote."))
    if choice not in VoteChoice.values:
        problems.append(_("Choose approve, reject or abstain."))
    if project.call_id != meeting.call_id or _shortlisted_row(meeting, project) is None:
        problems.append(_("%(proposal)s is not on the meeting's shortlist.") % {"proposal": proposal_label(project)})
    elif member.is_authenticated and (problem := recusal_problem(project, member)):
        problems.append(problem)
    if problems:
        raise TransitionRefused(problems)
    vote, _created = Vote.objects.update_or_create(
        meeting=meeting, project=project, member=member, defaults={"choice": choice, "cast_at": now}
    )
    return vote


def votes_of(meeting, member):
    """{project_id: choice} of ``member`` at ``meeting``."""
    return dict(Vote.objects.filter(meeting=meeting, member=member).values_list("project_id", "choice"))


def tally(meeting, agendas=None):
    """[Tally] of every proposal on the meeting's shortlists, class by class in ranking order.

    Each proposal's base is the members present less those standing aside on it
    (回避, ``recused_members``); their votes, if any, are not counted.
    """
    agendas = agenda(meeting) if agendas is None else agendas
    present_ids = set(meeting.present.values_list("pk", flat=True))
    recused = recused_members(meeting, [row.project for class_ in agendas for row in class_.shortlisted])
    counts = {}
    rows = (
        Vote.objects.filter(meeting=meeting, member_id__in=present_ids)
        .values("project_id", "member_id", "choice")
    )
    for row in rows:
        if row["member_id"] in recused.get(row["project_id"], ()):
            continue
        votes = counts.setdefault(row["project_id"], {})
        votes[row["choice"]] = votes.get(row["choice"], 0) + 1
    result = []
    for class_ in agendas:
        fraction = approval_fraction(class_.call_class)
        for row in class_.shortlisted:
            votes = counts.get(row.project.pk, {})
            standing_aside = len(recused.get(row.project.pk, ()))
            base = len(present_ids) - standing_aside
            result.append(Tally(
                project=row.project, call_class=class_.call_class, rank=row.rank,
                approve=votes.get(VoteChoice.APPROVE, 0), reject=votes.get(VoteChoice.REJECT, 0),
                abstain=votes.get(VoteChoice.ABSTAIN, 0), present=base,
                needed=approvals_needed(base, fraction), recused=standing_aside,
            ))
    return result


def tally_of(meeting, project):
    """The ``Tally`` of one proposal, or None when the meeting does not vote on it."""
    class_ = class_agenda(meeting, project.call_class)
    return next((t for t in tally(meeting, [class_]) if t.project.pk == project.pk), None)


# ---- creating a meeting ---------------------------------------------------------------------


def committee_members():
    """The active members of the academic committee (学术委员会)."""
    return get_user_model().objects.filter(groups__name=roles.COMMITTEE, is_active=True).distinct()


def create_meeting(call, *, held_on, place="", present, by):
    """A new meeting of ``call`` (会议评审); raises ``TransitionRefused`` with every problem at once."""
    present = list(present or ())
    problems = []
    if not is_secretariat(None, by):
        problems.append(_("Only the secretariat creates committee meetings."))
    if held_on is None:
        problems.append(_("Give the date and time of the meeting."))
    if not present:
        problems.append(_("Name at least one committee member present."))
    members = set(committee_members().filter(pk__in=[p.pk for p in present]).values_list("pk", flat=True))
    strangers = [p.display_name for p in present if p.pk not in members]
    if strangers:
        problems.append(_("Not members of the academic committee: %(names)s.") % {"names": "、".join(strangers)})
    rounds = ReviewRound.objects.filter(call_class__call=call, stage=Stage.APPLICATION,
                                        state__in=(RoundState.OPEN, RoundState.CLOSED))
    if not rounds.exists():
        problems.append(_("The call has no application review round to decide on yet."))
    voting = Meeting.objects.filter(call=call, state=MeetingState.VOTING).first()
    if voting is not None:
        problems.append(_("The meeting of %(date)s is still voting on this call; release its decisions first.")
                        % {"date": timezone.localtime(voting.held_on).strftime("%Y-%m-%d")})
    if problems:
        raise TransitionRefused(problems)
    with transaction.atomic():
        meeting = Meeting.objects.create(call=call, held_on=held_on, place=(place or "").strip(), created_by=by)
        meeting.present.set(present)
        TransitionLog.objects.create(
            content_type=ContentType.objects.get_for_model(Meeting), object_id=meeting.pk, project=None,
            transition="create", from_state="", to_state=meeting.state, actor=by, at=timezone.now(),
        )
    return meeting


# ---- staging decisions ----------------------------------------------------------------------


def _staging_problems(meeting, project, by):
    problems = []
    if not is_secretariat(None, by):
        problems.append(_("Only the secretariat stages decisions."))
    if meeting.state != MeetingState.VOTING:
        problems.append(_("The meeting has released its decisions; nothing more can be staged."))
    if project.call_id != meeting.call_id:
        problems.append(_("%(proposal)s is not an application of this call.") % {"proposal": proposal_label(project)})
    elif project.state != ProjectState.REVIEWED:
        problems.append(_("%(proposal)s is “%(state)s”; only reviewed proposals are decided.")
                        % {"proposal": proposal_label(project), "state": project.get_state_display()})
    return problems


def released_approvals(call_class, *, exclude_meeting=None):
    """The class's approvals already released by earlier meetings of its call (they use up the quota).

    A released approval whose project was later dropped after an upheld objection
    (公示异议成立, ``not_approved``) no longer holds a place.
    """
    released = StagedDecision.objects.filter(
        project__call_class=call_class, outcome=DecisionOutcome.APPROVE, released_at__isnull=False,
    ).exclude(project__state=ProjectState.NOT_APPROVED)
    if exclude_meeting is not None:
        released = released.exclude(meeting=exclude_meeting)
    return released.values("project_id").distinct().count()


def _quota_problem(meeting, project):
    """The message when one more approval would exceed the class quota (立项限额), else None.

    The quota is the class's, over all the meetings of the call: the approvals
    released by earlier meetings count with the ones staged at this meeting.
    """
    call_class = project.call_class
    staged = (StagedDecision.objects.filter(meeting=meeting, outcome=DecisionOutcome.APPROVE,
                                            project__call_class=call_class, released_at__isnull=True)
              .exclude(project=project).count())
    released = released_approvals(call_class, exclude_meeting=meeting)
    if call_class.quota and released + staged + 1 > call_class.quota:
        if released:
            return _("Class %(code)s has a quota of %(quota)s approvals; %(released)s were released by earlier "
                     "meetings and %(n)s are staged here, so no further approval is possible.") % {
                "code": call_class.code, "quota": call_class.quota, "released": released, "n": staged}
        return _("Class %(code)s has a quota of %(quota)s approvals and %(n)s are already staged; "
                 "decline one of them before approving another.") % {
            "code": call_class.code, "quota": call_class.quota, "n": staged}
    return None


def stage_decision(meeting, project, outcome, *, by, note="", now=None):
    """Stage (or restage) the decision on ``project``; nobody is told until ``release``."""
    now = now or timezone.now()
    note = (note or "").strip()
    with transaction.atomic():
        meeting = Meeting.objects.select_for_update().select_related("call").get(pk=meeting.pk)
        project = Project.objects.select_related("call_class").get(pk=project.pk)
        problems = _staging_problems(meeting, project, by)
        if outcome not in DecisionOutcome.values:
            problems.append(_("Choose approve or decline."))
        elif outcome == DecisionOutcome.APPROVE and not problems:
            count = tally_of(meeting, project)
            if count is None:
                problems.append(_("%(proposal)s is not on the meeting's shortlist; it can only be declined.")
                                % {"proposal": proposal_label(project)})
            elif not count.recommended:
                problems.append(_("%(proposal)s has %(approve)s approvals of %(present)s members present; "
                                  "%(needed)s are needed for a recommendation.") % {
                    "proposal": proposal_label(project), "approve": count.approve, "present": count.present,
                    "needed": count.needed})
            else:
                problem = _quota_problem(meeting, project)
                if problem:
                    problems.append(problem)
        if problems:
            raise TransitionRefused(problems)
        decision, _created = StagedDecision.objects.update_or_create(
            meeting=meeting, project=project,
            defaults={"outcome": outcome, "note": note, "staged_by": by, "staged_at": now},
        )
    return decision


def withdraw_decision(meeting, project, *, by):
    """Take back a staged decision before the release; nobody has been told of it."""
    problems = []
    if not is_secretariat(None, by):
        problems.append(_("Only the secretariat stages decisions."))
    if meeting.state != MeetingState.VOTING:
        problems.append(_("The meeting has released its decisions; nothing more can be staged."))
    if problems:
        raise TransitionRefused(problems)
    return StagedDecision.objects.filter(meeting=meeting, project=project, released_at__isnull=True).delete()[0]


def other_proposals(meeting, agendas=None):
    """The call's reviewed proposals off every shortlist (receipt-number order)."""
    agendas = agenda(meeting) if agendas is None else agendas
    shortlisted = {row.project.pk for class_ in agendas for row in class_.shortlisted}
    return list(
        Project.objects.filter(call=meeting.call, state=ProjectState.REVIEWED)
        .exclude(pk__in=shortlisted)
        .select_related("pi", "institution", "call_class")
        .order_by("call_class__code", "receipt_number", "pk")
    )


def decline_others(meeting, *, by, note="", now=None):
    """Stage “decline” for every reviewed proposal off the shortlists that has no staged decision yet."""
    now = now or timezone.now()
    problems = []
    if not is_secretariat(None, by):
        problems.append(_("Only the secretariat stages decisions."))
    if meeting.state != MeetingState.VOTING:
        problems.append(_("The meeting has released its decisions; nothing more can be staged."))
    if problems:
        raise TransitionRefused(problems)
    with transaction.atomic():
        meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
        staged = set(meeting.decisions.values_list("project_id", flat=True))
        pending = [p for p in other_proposals(meeting) if p.pk not in staged]
        StagedDecision.objects.bulk_create(
            StagedDecision(meeting=meeting, project=p, outcome=DecisionOutcome.DECLINE, note=(note or "").strip(),
                           staged_by=by, staged_at=now)
            for p in pending
        )
    return len(pending)


def staged_decisions(meeting):
    """The meeting's decisions not yet released, by class and receipt number."""
    return list(
        meeting.decisions.filter(released_at__isnull=True)
        .select_related("project__pi", "project__call_class", "project__call", "staged_by")
        .order_by("project__call_class__code", "project__receipt_number", "project_id")
    )


# ---- the mails ------------------------------------------------------------------------------


def comments_for_applicants(call, projects):
    """{project_id: ((alias, text), …)}: the comments to the applicant of each proposal's counted reviews.

    The reviews of the class's latest application round, the one the committee
    ranked; the confidential comments to the committee are never read here.
    """
    rounds = list(latest_rounds(call, Stage.APPLICATION).values())
    for round in rounds:
        ensure_aliases(round)
    wanted = {p.pk for p in projects}
    comments = {}
    if not wanted or not rounds:
        return comments
    for review in counted_reviews(rounds).filter(assignment__project_id__in=wanted):
        text = (review.comments_to_applicant or "").strip()
        if text:
            number = review.assignment.alias_number
            alias = f"专家{number}" if number else "专家"
            comments.setdefault(review.assignment.project_id, []).append(((number or 0), alias, text))
    return {pk: tuple((alias, text) for _n, alias, text in sorted(items)) for pk, items in comments.items()}


def _mail_of(decision, comments):
    project = decision.project
    call_class = project.call_class
    return DecisionMail(
        outcome=decision.outcome,
        name=project.pi.display_name,
        title=project.title,
        receipt=project.receipt_number or "—",
        class_label=f"{call_class.code} {call_class.name}",
        notice_days=project.call.notice_days,
        note=decision.note,
        comments=comments.get(project.pk, ()) if decision.outcome == DecisionOutcome.DECLINE else (),
    )


def _mails(meeting, decisions):
    """[(decision, DecisionMail)] for ``decisions``."""
    declined = [d.project for d in decisions if d.outcome == DecisionOutcome.DECLINE]
    comments = comments_for_applicants(meeting.call, declined)
    return [(decision, _mail_of(decision, comments)) for decision in decisions]


def _link_of(decision):
    return reverse("project-detail", args=[decision.project_id])


def preview_mails(meeting):
    """[(user, subject, body)]: exactly the mails ``release`` will send, each in the applicant's language.

    Written as ``accounts.inbox.notify`` writes them (its language, its subject
    line, its "open in Keti" link); a test compares the preview with the mails sent.
    """
    from accounts.inbox import absolute, language_of

    preview = []
    for decision, mail in _mails(meeting, staged_decisions(meeting)):
        user = decision.project.pi
        with translation.override(language_of(user)):
            subject, body = mail.write()
            body = str(body) + "\n\n" + _("Open in Keti: %(link)s") % {"link": absolute(_link_of(decision))}
            preview.append((user, " ".join(str(subject).split()), body))
    return preview


# ---- release --------------------------------------------------------------------------------


def release(meeting, *, by, now=None):
    """公布立项结果: release every staged decision at once; returns the decisions released.

    One transaction: the meeting's ``release`` step (something staged, within
    the quota), then each project's ``approve`` or ``decline``, then one
    notification per applicant, mailed after the commit. When any step is
    refused, nothing changes and ``TransitionRefused`` carries every message.
    """
    from accounts.inbox import notify

    now = now or timezone.now()
    try:
        with transaction.atomic():
            perform(meeting, "release", by=by, now=now)
            decisions = staged_decisions(meeting)
            mails = _mails(meeting, decisions)
            problems = []
            for decision in decisions:
                try:
                    perform(decision.project, decision.outcome, by=by, reason=decision.note, now=now)
                except TransitionRefused as refusal:
                    problems += [f"{proposal_label(decision.project)}: {message}" for message in refusal.messages]
            if problems:
                raise TransitionRefused(problems)
            StagedDecision.objects.filter(pk__in=[d.pk for d in decisions]).update(released_at=now)
            for decision, mail in mails:
                notify(decision.project.pi, mail.write, link=_link_of(decision))
    except TransitionRefused:
        meeting.refresh_from_db()
        raise
    return decisions


# ---- lists ----------------------------------------------------------------------------------


def meetings_visible_to(user):
    """All meetings for the secretariat; the meetings a committee member attends; none for others."""
    queryset = Meeting.objects.select_related("call")
    if is_secretariat(None, user):
        return queryset
    if roles.has_role(user, roles.COMMITTEE):
        # A subquery, not a join: the list counts all the members present.
        attended = Meeting.present.through.objects.filter(user_id=user.pk).values("meeting_id")
        return queryset.filter(pk__in=attended)
    return queryset.none()


def open_meetings_for(user):
    """The meetings still voting that ``user`` may open (for the dashboards)."""
    return meetings_visible_to(user).filter(state=MeetingState.VOTING).order_by("held_on", "pk")
