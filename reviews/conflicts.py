"""Conflicts of interest (回避): the rules, the sync of the ``Conflict`` table, the decisions.

Each rule is a small named function reading a :class:`Context` (the proposals and
experts in question with indexes built once) and yielding :class:`Finding`\\ s:

``team_findings``            the expert is the PI or a member (课题负责人或成员)
``same_unit_findings``       same unit as the PI or a member (同单位), exact or similar
``named_findings``           an expert the applicant asked to exclude (申请回避)
``declared_findings``        a conflict the expert declared (专家申报)
``shared_project_findings``  shared an approved project in the last N years (近年合作课题)

A finding is *certain* when the data leave no doubt (same account, same unit) and
*potential* when a person must look (a namesake, a unit written differently); an
undecided potential conflict blocks the pair as a certain one does, until the
secretariat confirms or dismisses it. That decision is taken once: the rows are
keyed by ``(project, expert, reason, detail)`` and :func:`refresh_conflicts` never
touches a decided row.

``detail`` is stored language-neutral (a short code and the facts, e.g.
``similar:华东师大|华东师范大学``), so that the key does not change with the reader's
language or with later translations; :func:`describe` turns it into a sentence.
Only the secretariat ever sees these rows: they name people, units and projects.
"""

import datetime as dt
import difflib
import threading
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import Institution
from projects.access import is_pi, is_secretariat
from projects.models import Member, Project
from projects.rules import rule
from projects.services import TransitionRefused
from projects.workflow import ProjectState as S

from .models import (
    AvoidRequest,
    AvoidRequestState,
    Conflict,
    ConflictReason,
    ConflictStatus,
    DeclarationKind,
    ExpertDeclaration,
    ExpertProfile,
    Stage,
)

# Proposals whose conflicts are kept in step: from submission to the expert review, and
# projects in their mid-term check or completion appraisal.
CURRENT_STATES = (S.SUBMITTED, S.ENDORSED, S.ELIGIBLE, S.IN_REVIEW, S.MIDTERM_REVIEW, S.COMPLETION_REVIEW)
# A project counts as approved (立项) in these states, whatever its approval date field says.
APPROVED_STATES = (S.ACTIVE, S.MIDTERM_REVIEW, S.COMPLETION_REVIEW, S.COMPLETED, S.TERMINATED, S.REVOKED)
# The applicant may name experts to exclude only while the application is under way; at the
# completion (结题) while the project is under way or its materials are with the appraisal.
AVOID_OPEN_STATES = {
    Stage.APPLICATION: (S.DRAFT, S.SUBMITTED, S.ENDORSED, S.ELIGIBLE),
    Stage.COMPLETION: (S.ACTIVE, S.COMPLETION_REVIEW),
}
# Experts the PI may ask to exclude from the completion appraisal (DESIGN.md: "up to 2
# experts to avoid"). Not in settings.KETI_RULES: a call class may still set it in its rules.
COMPLETION_AVOID_MAX = 2

DECIDED = (ConflictStatus.CONFIRMED, ConflictStatus.DISMISSED)
DETAIL_LENGTH = Conflict._meta.get_field("detail").max_length
SIMILARITY = 0.8  # difflib ratio from which two unit names are "possibly the same"

_state = threading.local()  # ``refreshing``: the signals stay quiet while we write


def refreshing():
    """True while :func:`refresh_conflicts` runs in this thread (the signals skip their work)."""
    return getattr(_state, "refreshing", False)


# ---- normalisation and unit similarity ----------------------------------------------

_BRACKETS = str.maketrans("", "", "()[]{}<>【】〔〕〖〗《》「」『』")


def normalise(text):
    """A name or unit as compared: full-width to half-width, no spaces, no brackets, lower case."""
    text = unicodedata.normalize("NFKC", text or "")
    return "".join(text.translate(_BRACKETS).split()).lower()


def _is_subsequence(short, long):
    chars = iter(long)
    return all(char in chars for char in short)


class UnitMatcher:
    """Says whether two normalised unit names are possibly the same unit; one cache per pair.

    Two names of distinct registered units (``accounts.Institution``) are distinct units,
    however alike ("北京大学" and "北京师范大学"). Otherwise a short name that is a
    subsequence of the long one with the same first two characters is an abbreviation
    ("华东师大" of "华东师范大学"), and a difflib ratio of 0.8 or more a variant spelling.
    """

    def __init__(self, registered):
        self.registered = frozenset(registered)
        self._cache = {}

    def similar(self, a, b):
        if not a or not b or a == b:
            return False
        key = (a, b) if a < b else (b, a)
        verdict = self._cache.get(key)
        if verdict is None:
            verdict = self._cache[key] = self._judge(*key)
        return verdict

    def _judge(self, a, b):
        if a in self.registered and b in self.registered:
            return False
        short, long = (a, b) if len(a) <= len(b) else (b, a)
        if len(short) >= 2 and short[:2] == long[:2] and _is_subsequence(short, long):
            return True
        if 2 * len(short) / (len(short) + len(long)) < SIMILARITY:  # ratio's upper bound
            return False
        matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
        return matcher.quick_ratio() >= SIMILARITY and matcher.ratio() >= SIMILARITY


# ---- what the rules read ------------------------------------------------------------


@dataclass
class Person:
    """Someone on a team: the PI or a member, with an account or only a name."""

    user_id: int | None
    name: str  # normalised
    unit: str  # normalised
    shown_name: str
    shown_unit: str
    is_pi: bool = False


@dataclass
class Proposal:
    pk: int
    call_class: object
    institution_id: int | None
    people: list = field(default_factory=list)

    def units(self):
        """{normalised unit: as written} of the PI's and the members' units."""
        return {person.unit: person.shown_unit for person in self.people if person.unit}


@dataclass
class Expert:
    pk: int
    user_id: int
    name: str
    unit: str
    shown_name: str
    shown_unit: str


class Finding(NamedTuple):
    """One reason why ``expert_pk`` may not review ``project_id``.

    ``decision`` (status, by id, at, reason) carries a decision taken elsewhere (on the
    applicant's request) onto an undecided row; ``update_only`` findings never create one.
    """

    project_id: int
    expert_pk: int
    reason: str
    detail: str
    certain: bool
    decision: tuple | None = None
    update_only: bool = False

    @property
    def key(self):
        return (self.project_id, self.expert_pk, self.reason, self.detail)


def _detail(code, *parts):
    text = code + ":" + "|".join(str(part or "").replace("|", "/") for part in parts)
    return text[:DETAIL_LENGTH]


def _finding(proposal, expert, reason, certain, code, *parts, **extra):
    return Finding(proposal.pk, expert.pk, reason, _detail(code, *parts), certain, **extra)


@dataclass
class Context:
    """The proposals and experts of one check, with the indexes the rules look things up in."""

    proposals: list
    experts: list
    matcher: UnitMatcher
    now: dt.datetime
    requests: list = field(default_factory=list)
    declarations: list = field(default_factory=list)
    past: dict = field(default_factory=dict)  # project id -> (title, year, approved, [Person])

    def __post_init__(self):
        self.by_user = {expert.user_id: expert for expert in self.experts}
        self.by_name = defaultdict(list)
        self.by_unit = defaultdict(list)
        for expert in self.experts:
            self.by_name[expert.name].append(expert)
            if expert.unit:
                self.by_unit[expert.unit].append(expert)
        self.expert_pks = {expert.pk for expert in self.experts}
        self.by_pk = {expert.pk: expert for expert in self.experts}
        self._similar_units = {}

    def similar_expert_units(self, unit):
        """The experts' units possibly the same as ``unit`` (but not equal), cached per unit."""
        if unit not in self._similar_units:
            self._similar_units[unit] = [other for other in self.by_unit if self.matcher.similar(unit, other)]
        return self._similar_units[unit]

    def same_or_similar(self, a, b):
        return bool(a) and (a == b or self.matcher.similar(a, b))


# ---- the rules ----------------------------------------------------------------------


def team_findings(ctx):
    """The PI or a member of the proposal (certain); a member with only the expert's name
    is the expert when the unit is the same (certain), perhaps otherwise (potential)."""
    for proposal in ctx.proposals:
        for person in proposal.people:
            expert = ctx.by_user.get(person.user_id) if person.user_id else None
            if expert is not None:
                code = "pi" if person.is_pi else "member"
                yield _finding(proposal, expert, ConflictReason.TEAM, True, code, person.shown_name)
            elif person.user_id is None:
                for expert in ctx.by_name.get(person.name, ()):
                    certain = bool(person.unit) and person.unit == expert.unit
                    yield _finding(proposal, expert, ConflictReason.TEAM, certain, "namesake",
                                   person.shown_name, person.shown_unit)


def same_unit_findings(ctx):
    """Same unit as the PI or a member (certain); a unit written alike (potential)."""
    for proposal in ctx.proposals:
        units = proposal.units()
        exact = set()
        for unit in units:
            for expert in ctx.by_unit.get(unit, ()):
                exact.add(expert.pk)
                yield _finding(proposal, expert, ConflictReason.SAME_UNIT, True, "same", expert.shown_unit)
        for unit, shown in units.items():
            for other in ctx.similar_expert_units(unit):
                for expert in ctx.by_unit[other]:
                    if expert.pk not in exact:
                        yield _finding(proposal, expert, ConflictReason.SAME_UNIT, False, "similar",
                                       shown, expert.shown_unit)


def request_detail(request):
    """The detail of the conflicts found for an applicant's request (the key of its decision)."""
    return _detail("request", request.name.strip(), request.unit.strip(), request.reason.strip())


def request_matches(ctx, request):
    """The experts an applicant's request names: same name, and a like unit when one is given."""
    unit = normalise(request.unit)
    found = [
        expert for expert in ctx.by_name.get(normalise(request.name), ())
        if not unit or ctx.same_or_similar(unit, expert.unit)
    ]
    if request.state == AvoidRequestState.CONFIRMED and request.expert_id:
        found = [expert for expert in found if expert.pk == request.expert_id]
    return found


def named_findings(ctx):
    """An expert the applicant asked to exclude: potential while the request waits, certain
    once confirmed; a request not accepted dismisses what it had raised."""
    proposals = {proposal.pk: proposal for proposal in ctx.proposals}
    for request in ctx.requests:
        proposal = proposals.get(request.project_id)
        if proposal is None:
            continue
        detail = request_detail(request)
        decision = None
        if request.decided_by_id and request.state != AvoidRequestState.PENDING:
            status = (ConflictStatus.CONFIRMED if request.state == AvoidRequestState.CONFIRMED
                      else ConflictStatus.DISMISSED)
            decision = (status, request.decided_by_id, request.decided_at, request.decision_reason)
        if request.state == AvoidRequestState.REJECTED and decision is None:
            continue  # nothing to carry: the rows it raised simply go
        for expert in request_matches(ctx, request):
            yield Finding(proposal.pk, expert.pk, ConflictReason.NAMED_BY_APPLICANT, detail,
                          request.state == AvoidRequestState.CONFIRMED, decision,
                          update_only=request.state == AvoidRequestState.REJECTED)


def declared_findings(ctx):
    """What the expert declared: about this proposal (certain), or about a person on its team
    by name and unit (certain) or by name alone (potential)."""
    proposals = {proposal.pk: proposal for proposal in ctx.proposals}
    by_name = defaultdict(list)
    for declaration in ctx.declarations:
        if declaration.project_id:
            proposal = proposals.get(declaration.project_id)
            if proposal is not None:
                yield _finding(proposal, ctx.by_pk[declaration.expert_id], ConflictReason.DECLARED, True,
                               "proposal", declaration.kind, declaration.text.strip())
        elif declaration.person_name.strip():
            by_name[normalise(declaration.person_name)].append(declaration)
    if not by_name:
        return
    for proposal in ctx.proposals:
        for person in proposal.people:
            for declaration in by_name.get(person.name, ()):
                unit = normalise(declaration.person_unit)
                yield _finding(proposal, ctx.by_pk[declaration.expert_id], ConflictReason.DECLARED,
                               bool(unit) and unit == person.unit, "person", declaration.kind,
                               declaration.person_name.strip(), declaration.person_unit.strip(),
                               declaration.text.strip())


def shared_project_findings(ctx):
    """The expert and the PI or a member were on one approved project in the last N years.

    The expert is found on the old team by account or by name and unit; a person of the
    proposal by account or name and unit (certain) or by name alone (potential).
    """
    if not ctx.past:
        return
    holders = defaultdict(list)  # key -> [(past id, index of the person on the old team)]
    for past_id, (_title, _year, _approved, people) in ctx.past.items():
        for index, person in enumerate(people):
            if person.user_id:
                holders[("user", person.user_id)].append((past_id, index))
            holders[("name", person.name)].append((past_id, index))
    expert_seats = defaultdict(list)  # past id -> [(expert, index)]
    for expert in ctx.experts:
        for past_id, index in _seats_of(ctx, holders, expert.user_id, expert.name, expert.unit):
            expert_seats[past_id].append((expert, index))
    if not expert_seats:
        return
    for proposal in ctx.proposals:
        cutoff = years_ago(ctx.now, rule("CONFLICT_SHARED_PROJECT_YEARS", proposal.call_class))
        shared = {}  # (past id, index) -> (certain, person of the proposal)
        for person in proposal.people:
            for past_id, index, certain in _person_seats(ctx, holders, person, expert_seats):
                if past_id != proposal.pk and ctx.past[past_id][2] >= cutoff:
                    if certain or (past_id, index) not in shared:
                        shared[(past_id, index)] = (certain, person)
        for (past_id, index), (certain, person) in shared.items():
            title, year = ctx.past[past_id][:2]
            for expert, expert_index in expert_seats[past_id]:
                if expert_index != index and not (person.user_id and person.user_id == expert.user_id):
                    yield _finding(proposal, expert, ConflictReason.SHARED_PROJECT, certain, "shared",
                                   title, year, person.shown_name)


def _seats_of(ctx, holders, user_id, name, unit):
    """Places on old teams held by the person with this account, or this name and unit."""
    seats = set(holders.get(("user", user_id), ())) if user_id else set()
    for past_id, index in holders.get(("name", name), ()):
        seat = ctx.past[past_id][3][index]
        if unit and seat.unit == unit and (seat.user_id is None or seat.user_id == user_id):
            seats.add((past_id, index))
    return seats


def _person_seats(ctx, holders, person, expert_seats):
    """(past id, index, certain) of the old teams, shared with an expert, that ``person`` was on."""
    if person.user_id:
        for past_id, index in holders.get(("user", person.user_id), ()):
            if past_id in expert_seats:
                yield past_id, index, True
    for past_id, index in holders.get(("name", person.name), ()):
        if past_id not in expert_seats:
            continue
        seat = ctx.past[past_id][3][index]
        if person.user_id and seat.user_id:
            continue  # two accounts: two people (or the same one, found above)
        yield past_id, index, bool(person.unit) and seat.unit == person.unit


RULES = (team_findings, same_unit_findings, named_findings, declared_findings, shared_project_findings)


def years_ago(now, years):
    try:
        return now.replace(year=now.year - years)
    except ValueError:  # 29 February
        return now.replace(year=now.year - years, day=28)


# ---- loading ------------------------------------------------------------------------


def _pi(project):
    unit = project.institution.name if project.institution_id else ""
    return Person(project.pi_id, normalise(project.pi.real_name), normalise(unit),
                  project.pi.display_name, unit, is_pi=True)


def _member(name, unit, user_id):
    return Person(user_id, normalise(name), normalise(unit), name, unit)


def _load_proposals(project_qs):
    projects = list(project_qs.select_related("pi", "institution", "call_class").order_by("pk"))
    proposals = {p.pk: Proposal(p.pk, p.call_class, p.institution_id, [_pi(p)]) for p in projects}
    members = Member.objects.filter(project__in=project_qs.values("pk")).values_list(
        "project_id", "name", "unit", "user_id")
    for project_id, name, unit, user_id in members:
        if project_id in proposals:
            proposals[project_id].people.append(_member(name, unit, user_id))
    return list(proposals.values())


def _load_experts(expert_qs):
    experts = []
    for profile in expert_qs.select_related("user", "institution").order_by("pk"):
        unit = profile.unit_label or ""
        experts.append(Expert(profile.pk, profile.user_id, normalise(profile.user.real_name), normalise(unit),
                              profile.user.display_name, unit))
    return experts


def _load_past(proposals, now):
    """Approved projects of the last N years (the longest N of the classes in question)."""
    if not proposals:
        return {}
    years = max(rule("CONFLICT_SHARED_PROJECT_YEARS", proposal.call_class) for proposal in proposals)
    cutoff = years_ago(now, years)
    rows = (
        Project.objects.filter(Q(approved_at__gte=cutoff) | Q(approved_at=None, state__in=APPROVED_STATES,
                                                              created_at__gte=cutoff))
        .select_related("pi", "institution")
        .only("pk", "title", "approved_at", "created_at", "pi_id", "pi__real_name", "pi__username",
              "pi__first_name", "pi__last_name", "institution__name")
    )
    past = {}
    for project in rows:
        approved = project.approved_at or project.created_at
        past[project.pk] = (project.title, timezone.localtime(approved).year, approved, [_pi(project)])
    if past:
        for project_id, name, unit, user_id in Member.objects.filter(project_id__in=list(past)).values_list(
                "project_id", "name", "unit", "user_id"):
            past[project_id][3].append(_member(name, unit, user_id))
    return past


def build_context(project_qs, expert_qs, now):
    proposals = _load_proposals(project_qs)
    experts = _load_experts(expert_qs)
    registered = {normalise(name) for name in Institution.objects.values_list("name", flat=True)}
    ctx = Context(proposals, experts, UnitMatcher(registered), now)
    if proposals and experts:
        ctx.requests = list(AvoidRequest.objects.filter(project__in=project_qs.values("pk")))
        ctx.declarations = list(ExpertDeclaration.objects.filter(expert__in=expert_qs.values("pk")))
        ctx.past = _load_past(proposals, now)
    return ctx


def find_conflicts(ctx):
    """Every rule's findings, one per key (certain wins; a carried decision is kept)."""
    found = {}
    for rule_findings in RULES:
        for finding in rule_findings(ctx):
            if finding.expert_pk not in ctx.expert_pks:
                continue
            old = found.get(finding.key)
            if old is None or (finding.certain and not old.certain):
                found[finding.key] = finding
    return found


# ---- the sync -----------------------------------------------------------------------


def _scope(projects, experts):
    if projects is None:
        project_qs = Project.objects.filter(state__in=CURRENT_STATES)
    else:
        project_qs = Project.objects.filter(pk__in=[getattr(p, "pk", p) for p in projects])
    if experts is None:
        # Every active expert, and an inactive one still holding a current assignment
        # (he keeps it until removed, so a conflict found now must still reach it).
        from .models import OPEN_TO_EXPERT, AssignmentStatus

        holding = Q(assignments__status__in=(AssignmentStatus.PROPOSED, *OPEN_TO_EXPERT))
        expert_qs = ExpertProfile.objects.filter(
            Q(active=True, user__is_active=True) | Q(pk__in=ExpertProfile.objects.filter(holding).values("pk")))
    else:
        expert_qs = ExpertProfile.objects.filter(pk__in=[getattr(e, "pk", e) for e in experts])
    return project_qs, expert_qs


def _status_of(finding):
    if finding.decision:
        return finding.decision[0]
    return ConflictStatus.CERTAIN if finding.certain else ConflictStatus.POTENTIAL


def _new_row(finding):
    by, at, reason = finding.decision[1:] if finding.decision else (None, None, "")
    return Conflict(project_id=finding.project_id, expert_id=finding.expert_pk, reason=finding.reason,
                    detail=finding.detail, status=_status_of(finding), decided_by_id=by, decided_at=at,
                    decision_reason=reason)


def refresh_conflicts(*, projects=None, experts=None, now=None, remove_assignments=True):
    """Run every rule for ``projects`` × ``experts`` and bring the ``Conflict`` table in step.

    ``None`` means every current proposal (submitted to in review, mid-term check,
    completion appraisal) and every active expert. New findings are created as certain
    or potential; undecided rows that no longer hold are removed, and a potential one
    that has become certain is made certain; decided rows (confirmed, dismissed) are
    kept as they are. Returns the counts ``{"certain", "potential", "created",
    "removed"}`` of the pairs in question. All in one transaction; it sends no signal.

    Then, in the same transaction, every current assignment (draft or open round) of
    a pair now blocked is removed and replaced (``rounds.remove_conflicted``), unless
    ``remove_assignments`` is False (undoing a run: its current pairs go anyway). A
    refresh run by that replacement does not remove again (no recursion).
    """
    now = now or timezone.now()
    project_qs, expert_qs = _scope(projects, experts)
    outer = not refreshing()
    _state.refreshing = True
    try:
        with transaction.atomic():
            ctx = build_context(project_qs, expert_qs, now)
            found = find_conflicts(ctx)
            counts = _sync(found, project_qs, expert_qs)
            _remember_matches(ctx)
            if remove_assignments and not removing():
                _remove_conflicted(project_qs, expert_qs, now)
    finally:
        if outer:
            _state.refreshing = False
    return counts


def removing():
    """True while conflicted assignments are being removed and replaced in this thread."""
    return getattr(_state, "removing", False)


def _remove_conflicted(project_qs=None, expert_qs=None, now=None):
    from .rounds import remove_conflicted

    _state.removing = True
    try:
        return remove_conflicted(project_qs, expert_qs, now=now)
    finally:
        _state.removing = False


def _sync(found, project_qs, expert_qs):
    """Write the difference between the findings and the rows; read rows as tuples (there may
    be tens of thousands) and build model instances only for the new ones."""
    rows = Conflict.objects.filter(project__in=project_qs.values("pk"), expert__in=expert_qs.values("pk"))
    stale, kept = [], []
    moves = defaultdict(list)  # new status -> row ids
    decided = []  # (row id, finding) carrying a decision taken on the applicant's request
    existing = set()
    for pk, project_id, expert_id, reason, detail, status in rows.values_list(
            "pk", "project_id", "expert_id", "reason", "detail", "status"):
        key = (project_id, expert_id, reason, detail)
        existing.add(key)
        finding = found.get(key)
        if status in DECIDED:
            kept.append(status)
        elif finding is None:
            stale.append(pk)
        else:
            new_status = _status_of(finding)
            kept.append(new_status)
            if finding.decision and new_status != status:
                decided.append((pk, finding))
            elif new_status != status:
                moves[new_status].append(pk)
    new = [_new_row(f) for key, f in found.items() if key not in existing and not f.update_only]
    for ids in _chunks(stale):
        Conflict.objects.filter(pk__in=ids).delete()
    for status, pks in moves.items():
        for ids in _chunks(pks):
            Conflict.objects.filter(pk__in=ids).update(status=status)
    for pk, finding in decided:
        status, by, at, reason = finding.decision
        Conflict.objects.filter(pk=pk).update(status=status, decided_by_id=by, decided_at=at, decision_reason=reason)
    Conflict.objects.bulk_create(new, batch_size=500, ignore_conflicts=True)
    statuses = kept + [row.status for row in new]
    return {
        "certain": statuses.count(ConflictStatus.CERTAIN),
        "potential": statuses.count(ConflictStatus.POTENTIAL),
        "created": len(new),
        "removed": len(stale),
    }


def _chunks(ids, size=500):
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def _remember_matches(ctx):
    """Note on a waiting request the one expert it names (for the secretariat; never shown
    to the applicant). ``update`` sends no signal."""
    for request in ctx.requests:
        if request.state != AvoidRequestState.PENDING:
            continue
        matches = request_matches(ctx, request)
        expert_pk = matches[0].pk if len(matches) == 1 else None
        if request.expert_id != expert_pk:
            AvoidRequest.objects.filter(pk=request.pk).update(expert_id=expert_pk)


# ---- reading ------------------------------------------------------------------------


def blocking_pairs(project_ids=None, expert_ids=None):
    """{(project id, expert pk)} that may not be assigned (certain, confirmed, undecided)."""
    rows = Conflict.objects.blocking()
    if project_ids is not None:
        rows = rows.filter(project_id__in=list(project_ids))
    if expert_ids is not None:
        rows = rows.filter(expert_id__in=list(expert_ids))
    return set(rows.values_list("project_id", "expert_id"))


def conflicts_between(project, expert):
    """The blocking conflicts of one pair (empty: the expert may review the proposal)."""
    return list(Conflict.objects.blocking().filter(project=project, expert=expert))


def describe(conflict):
    """The detail as a sentence in the reader's language (for the secretariat only)."""
    code, _sep, rest = conflict.detail.partition(":")
    parts = rest.split("|")
    parts += [""] * (4 - len(parts))
    if code == "pi":
        return _("The expert is the PI.")
    if code == "member":
        return _("The expert is a member of the team.")
    if code == "namesake":
        return _("A member has the expert's name: %(name)s (%(unit)s).") % {
            "name": parts[0], "unit": parts[1] or "—"}
    if code == "same":
        return _("Same unit: %(unit)s.") % {"unit": parts[0]}
    if code == "similar":
        return _("The team's unit “%(team)s” may be the expert's unit “%(expert)s”.") % {
            "team": parts[0], "expert": parts[1]}
    if code == "request":
        return _("The applicant asks to exclude %(name)s (%(unit)s): %(reason)s") % {
            "name": parts[0], "unit": parts[1] or "—", "reason": parts[2]}
    if code == "proposal":
        return _("%(kind)s, declared while reading the proposal: %(text)s") % {
            "kind": _kind_label(parts[0]), "text": parts[1] or "—"}
    if code == "person":
        return _("%(kind)s with %(name)s (%(unit)s): %(text)s") % {
            "kind": _kind_label(parts[0]), "name": parts[1], "unit": parts[2] or "—", "text": parts[3] or "—"}
    if code == "shared":
        return _("Shared the project “%(title)s” (approved %(year)s) with %(name)s.") % {
            "title": parts[0], "year": parts[1], "name": parts[2]}
    return conflict.detail


def _kind_label(code):
    try:
        return DeclarationKind(code).label
    except ValueError:
        return code


# ---- the secretariat's decision -----------------------------------------------------


def decision_problems(conflict, *, by, reason):
    problems = []
    if not is_secretariat(conflict, by):
        problems.append(_("Only the secretariat decides on conflicts."))
    if conflict.status != ConflictStatus.POTENTIAL:
        problems.append(_("Only a possible conflict can be confirmed or dismissed; this one is decided."))
    if not (reason or "").strip():
        problems.append(_("Please give the reason of the decision."))
    return problems


def decide_conflict(conflict, *, by, confirm, reason, now=None):
    """Confirm or dismiss a possible conflict, once; an applicant's request follows the decision.

    Raises ``TransitionRefused`` (and changes nothing) for a decided or certain row, a
    missing reason, or someone other than the secretariat.
    """
    now = now or timezone.now()
    with transaction.atomic():
        row = Conflict.objects.select_for_update().get(pk=conflict.pk)
        problems = decision_problems(row, by=by, reason=reason)
        if problems:
            raise TransitionRefused(problems)
        row.status = ConflictStatus.CONFIRMED if confirm else ConflictStatus.DISMISSED
        row.decided_by, row.decided_at, row.decision_reason = by, now, reason.strip()
        row.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
        if row.reason == ConflictReason.NAMED_BY_APPLICANT:
            _follow_on_request(row)
        if confirm and not removing():
            _remove_conflicted(Project.objects.filter(pk=row.project_id),
                               ExpertProfile.objects.filter(pk=row.expert_id), now)
    conflict.refresh_from_db()
    return conflict


def _follow_on_request(row):
    """Carry the decision onto the applicant's request: confirmed for this expert, or not
    accepted once no other expert it names is still in doubt."""
    for request in AvoidRequest.objects.filter(project_id=row.project_id, state=AvoidRequestState.PENDING):
        if request_detail(request) != row.detail:
            continue
        if row.status == ConflictStatus.DISMISSED:
            open_rows = Conflict.objects.filter(
                project_id=row.project_id, reason=row.reason, detail=row.detail,
                status__in=(ConflictStatus.POTENTIAL, ConflictStatus.CERTAIN, ConflictStatus.CONFIRMED))
            if open_rows.exists():
                continue
        state = AvoidRequestState.CONFIRMED if row.status == ConflictStatus.CONFIRMED else AvoidRequestState.REJECTED
        AvoidRequest.objects.filter(pk=request.pk).update(
            state=state, expert_id=row.expert_id if state == AvoidRequestState.CONFIRMED else request.expert_id,
            decided_by_id=row.decided_by_id, decided_at=row.decided_at, decision_reason=row.decision_reason)


# ---- the applicant's requests (申请回避) ---------------------------------------------


def avoid_limit(project, stage=Stage.APPLICATION):
    """How many experts the PI may name to exclude at ``stage`` (a rule of the call class)."""
    if stage == Stage.COMPLETION:
        try:  # the class's own number, else the settings', else the default above
            return rule("COMPLETION_AVOID_MAX", project.call_class)
        except KeyError:
            return COMPLETION_AVOID_MAX
    return rule("MAX_AVOID_REQUESTS", project.call_class)


def avoid_problems(project, name, unit, reason, *, stage=Stage.APPLICATION):
    """What stops the applicant from naming this expert to exclude (empty: nothing)."""
    problems = []
    if project.state not in AVOID_OPEN_STATES.get(stage, ()):
        if stage == Stage.COMPLETION:
            problems.append(_("Experts can be named for exclusion from the completion appraisal only while "
                              "the project is under way or its materials are being appraised."))
        else:
            problems.append(_("Experts can be named for exclusion only while the application is under way."))
    if not (name or "").strip():
        problems.append(_("Please give the expert's name."))
    if not (reason or "").strip():
        problems.append(_("Please give the reason for excluding the expert."))
    limit = avoid_limit(project, stage)
    if project.avoid_requests.filter(stage=stage).count() >= limit:
        problems.append(ngettext(
            "You may name at most %(n)s expert to exclude.",
            "You may name at most %(n)s experts to exclude.", limit) % {"n": limit})
    elif (name or "").strip() and any(
            normalise(other.name) == normalise(name) and normalise(other.unit) == normalise(unit)
            for other in project.avoid_requests.filter(stage=stage)):
        problems.append(_("You have already named this expert."))
    return problems


def request_avoidance(project, *, by, name, unit, reason, stage=Stage.APPLICATION):
    """The PI names an expert to exclude; raises ``TransitionRefused`` with every problem."""
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=project.pk)
        problems = [] if is_pi(project, by) else [_("Only the PI may name experts to exclude.")]
        problems += avoid_problems(project, name, unit, reason, stage=stage)
        if problems:
            raise TransitionRefused(problems)
        return AvoidRequest.objects.create(project=project, stage=stage, name=name.strip(),
                                           unit=(unit or "").strip(), reason=reason.strip())


def withdraw_avoidance(request, *, by):
    """The PI takes back a request the secretariat has not decided yet."""
    problems = []
    if not is_pi(request.project, by):
        problems.append(_("Only the PI may withdraw the request."))
    if request.state != AvoidRequestState.PENDING:
        problems.append(_("The secretariat has already decided on this request."))
    if problems:
        raise TransitionRefused(problems)
    request.delete()
