"""Review rounds (评审轮次): what the secretariat does with a round, as plain functions.

A round is prepared in ``draft``: its proposals are gathered (``add_proposals``),
the conflicts checked, the assigner run (``run_assignment``: diagnosed first,
solved optimally by ``reviews.assignment``, stored as an ``AssignmentRun`` that
can be compared and undone), pairs added, removed or locked by hand. Opening the
round (``open_round``) sends the invitations; closing it (``close_round``) ends
the review. A conflicted pair is never assigned, by the solver or by hand.

Every function that writes several rows does so in one transaction; a refusal
raises ``projects.services.TransitionRefused`` with messages in the user's
language and changes nothing (except ``run_assignment``, which keeps a record of
the infeasible run it refused, as the issue asks).
"""

import dataclasses
from functools import partial

import numpy as np
from django.conf import settings as conf
from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from projects.access import is_secretariat
from projects.models import ARGUMENT_FIELDS, Project
from projects.rules import rule
from projects.services import TransitionRefused, perform
from projects.workflow import ProjectState

from . import assignment as solver
from .affinity import affinity_parts, weights
from .forms_schema import default_form, form_problems
from .models import (
    OPEN_TO_EXPERT,
    Assignment,
    AssignmentRun,
    AssignmentSource,
    AssignmentStatus,
    ExpertProfile,
    ReviewRound,
    Stage,
)
from .workflow import RoundState

CURRENT = (AssignmentStatus.PROPOSED, *OPEN_TO_EXPERT)
GONE = (AssignmentStatus.DECLINED, AssignmentStatus.REMOVED)

# The project states a round of each stage takes its proposals from.
PROPOSAL_STATES = {
    Stage.APPLICATION: (ProjectState.ELIGIBLE, ProjectState.IN_REVIEW),
    Stage.MIDTERM: (ProjectState.MIDTERM_REVIEW,),
    Stage.COMPLETION: (ProjectState.COMPLETION_REVIEW,),
}

# The proposal fields the round code reads: the anonymous part and the handles the
# secretariat knows a proposal by (never shown to an expert).
PROPOSAL_FIELDS = ("pk", "title", "keywords", "discipline", "receipt_number", "number", "state", "call_class_id",
                   *ARGUMENT_FIELDS)


def refresh_conflicts(**scope):
    """Bring the conflicts of the pairs about to be assigned up to date (the rules of ``reviews.conflicts``)."""
    from .conflicts import refresh_conflicts as refresh

    return refresh(**scope)


def _require_secretariat(user):
    if not is_secretariat(None, user):
        raise TransitionRefused([_("Only the secretariat may change review rounds.")])


def _require_preparing(round_, *, open_too=True):
    allowed = (RoundState.DRAFT, RoundState.OPEN) if open_too else (RoundState.DRAFT,)
    if round_.state not in allowed:
        raise TransitionRefused([_("The round is “%(state)s”: its assignments can no longer change.")
                                 % {"state": round_.get_state_display()}])


def proposal_label(project):
    """How the secretariat names a proposal in a message: title and receipt (or project) number."""
    number = project.receipt_number or project.number or "—"
    return f"“{project.title}” ({number})"


def unit_key(expert):
    """The expert's unit for the one-per-unit rule: the unit's name, normalised.

    The registered unit's name and a unit typed by hand compare equal when they
    are written the same (width, case, brackets and spaces aside, as the 回避 rules
    compare them), so that an expert who
    typed 华东师范大学 is a colleague of one registered there.
    """
    from .conflicts import normalise

    name = normalise(expert.institution.name if expert.institution_id else expert.unit_name)
    return name or None


def expert_limit(round_, expert):
    """m for this expert in this round: the round's limit or the expert's own, whichever is lower."""
    return min(round_.load_limit, expert.load_limit)


# ---- creating a round -------------------------------------------------------------------


def create_round(call_class, *, stage, by, deadline, name=None, **settings):
    """Create a round in draft with its proposals (创建评审轮次).

    ``settings`` are fields of ``ReviewRound`` (``experts_per_proposal`` or ``k``,
    ``load_limit`` or ``m``, ``form``, ``answer_within_days``, ``experts_see_each_other``).
    k defaults to the class's experts per proposal, m to the rule ``EXPERT_LOAD_LIMIT``,
    the form to the default form of the stage.
    """
    _require_secretariat(by)
    if stage not in Stage.values:
        raise TransitionRefused([_("Unknown stage “%(stage)s”.") % {"stage": stage}])
    k = settings.pop("k", None) or settings.pop("experts_per_proposal", None) or call_class.experts_per_proposal
    m = settings.pop("m", None) or settings.pop("load_limit", None) or rule("EXPERT_LOAD_LIMIT", call_class)
    form = settings.pop("form", None) or default_form(stage)
    problems = [str(p) for p in form_problems(form)]
    if k < 1:
        problems.append(_("A round needs at least one expert per proposal."))
    if m < 1:
        problems.append(_("The load limit must be at least 1."))
    if deadline is None:
        problems.append(_("Set the deadline for reviews."))
    if problems:
        raise TransitionRefused(problems)
    settings.setdefault("answer_within_days", rule("ANSWER_WITHIN_DAYS", call_class))
    if not name:
        # Stored data: named in the association's language, whoever's interface created it.
        with translation.override(conf.LANGUAGE_CODE):
            name = _("%(year)s class %(code)s: %(stage)s") % {
                "year": call_class.call.year, "code": call_class.code, "stage": Stage(stage).label}
    with transaction.atomic():
        round_ = ReviewRound.objects.create(
            call_class=call_class, stage=stage, name=name, form=form, experts_per_proposal=k, load_limit=m,
            deadline=deadline, created_by=by, **settings,
        )
        add_proposals(round_)
    return round_


def add_proposals(round_):
    """Add the class's proposals waiting for this stage's review; returns how many were added.

    Application stage: those past the formal check (eligible), and those already
    in review that no other unfinished round holds (a round prepared again).
    Mid-term and completion: those in the mid-term check or the completion
    appraisal. A proposal is never in two unfinished rounds of one stage.
    """
    busy = ReviewRound.objects.filter(stage=round_.stage, state__in=(RoundState.DRAFT, RoundState.OPEN)).exclude(
        pk=round_.pk)
    candidates = (
        Project.objects.filter(call_class=round_.call_class, state__in=PROPOSAL_STATES[round_.stage])
        .exclude(review_rounds__in=busy)
        .exclude(review_rounds=round_)
        .values_list("pk", flat=True)
    )
    ids = list(candidates)
    round_.projects.add(*ids)
    return len(ids)


# ---- the assignment problem -------------------------------------------------------------


@dataclasses.dataclass
class RoundProblem:
    """The assignment problem of a round with what it was built from."""

    problem: solver.AssignmentProblem
    projects: list
    experts: list
    total: np.ndarray
    parts: dict
    current: list  # the round's current assignments
    conflicts: set

    def __post_init__(self):
        self.pindex = {p.pk: i for i, p in enumerate(self.projects)}
        self.eindex = {e.pk: i for i, e in enumerate(self.experts)}

    def figures(self, project_id, expert_id):
        """(total, discipline, text) of a pair."""
        p, e = self.pindex[project_id], self.eindex[expert_id]
        return (float(self.total[p, e]), float(self.parts["discipline"][p, e]), float(self.parts["text"][p, e]))

    def project(self, project_id):
        return self.projects[self.pindex[project_id]]

    def expert(self, expert_id):
        return self.experts[self.eindex[expert_id]]


def _round_projects(round_, project_ids=None):
    projects = round_.projects.only(*PROPOSAL_FIELDS).order_by("pk")
    if project_ids is not None:
        projects = projects.filter(pk__in=project_ids)
    return list(projects)


def _experts(extra_ids=()):
    """Active experts, and the inactive ones still holding an assignment (they keep it, get no more)."""
    return list(
        ExpertProfile.objects.filter(Q(active=True, user__is_active=True) | Q(pk__in=list(extra_ids)))
        .select_related("user", "institution")
        .order_by("pk")
    )


def _is_active(expert):
    return expert.active and expert.user.is_active


def build_problem(round_, *, projects=None, without=None):
    """The round as a ``reviews.assignment.AssignmentProblem``.

    k per proposal; m per expert = min(round's m, expert's own limit) (an inactive
    expert keeps what he holds and gets nothing more); conflicts = the blocking pairs
    of ``reviews.conflicts``; units = ``unit_key``; locked = the locked current
    pairs and, in an open round, every pair already sent (invited or accepted);
    excluded = the pairs of this round that were declined or removed. ``without``
    (an assignment) is treated as gone: the replacement of a decliner.
    """
    from .conflicts import blocking_pairs

    projects = _round_projects(round_) if projects is None else list(projects)
    current = list(round_.assignments.filter(status__in=CURRENT))
    if without is not None:
        current = [a for a in current if a.pk != without.pk]
    experts = _experts({a.expert_id for a in current})
    total, parts = affinity_parts(projects, experts, call_class=round_.call_class)
    project_ids, expert_ids = [p.pk for p in projects], [e.pk for e in experts]
    conflicts = set(blocking_pairs(project_ids=project_ids, expert_ids=expert_ids))
    current_pairs = {(a.project_id, a.expert_id) for a in current}
    gone = set(round_.assignments.filter(status__in=GONE).values_list("project_id", "expert_id"))
    if without is not None:
        gone.add((without.project_id, without.expert_id))
    held = {}
    for a in current:
        held[a.expert_id] = held.get(a.expert_id, 0) + 1
    m = {e.pk: expert_limit(round_, e) if _is_active(e) else held.get(e.pk, 0) for e in experts}
    problem = solver.AssignmentProblem(
        proposals=project_ids,
        experts=expert_ids,
        affinity=total,
        expert_unit={e.pk: unit_key(e) for e in experts},
        conflicts=conflicts,
        k=round_.experts_per_proposal,
        m=m,
        locked=sorted((a.project_id, a.expert_id) for a in current if _kept(round_, a)),
        excluded=sorted(gone - current_pairs),
    )
    return RoundProblem(problem, projects, experts, total, parts, current, conflicts)


def _kept(round_, assignment):
    """Whether a re-run keeps this pair: locked, or already sent to the expert."""
    return assignment.locked or (round_.state == RoundState.OPEN and assignment.status in OPEN_TO_EXPERT)


# ---- diagnosis ----------------------------------------------------------------------------


def locked_problems(rp):
    """Messages for kept pairs that contradict the rules (a conflict found after they were made…)."""
    messages = []
    k = rp.problem.k
    on_proposal = {}
    for project_id, expert_id in rp.problem.locked:
        on_proposal.setdefault(project_id, []).append(expert_id)
        if (project_id, expert_id) in rp.conflicts:
            messages.append(_("%(expert)s is kept on %(proposal)s but is in conflict with it; remove the pair first.")
                            % {"expert": rp.expert(expert_id), "proposal": proposal_label(rp.project(project_id))})
    for project_id, expert_ids in on_proposal.items():
        if len(expert_ids) > k:
            messages.append(_("%(proposal)s has %(n)s kept experts, more than %(k)s; unlock or remove some.")
                            % {"proposal": proposal_label(rp.project(project_id)), "n": len(expert_ids), "k": k})
        units = [unit_key(rp.expert(e)) for e in expert_ids]
        named = [u for u in units if u is not None]
        if len(set(named)) < len(named):
            messages.append(_("%(proposal)s has two kept experts of the same unit; remove one.")
                            % {"proposal": proposal_label(rp.project(project_id))})
    return messages


def _why_short(rp, project_id):
    """Counts that explain a short proposal: experts in conflict, declined or removed, full."""
    conflicted = sum(1 for p, _e in rp.conflicts if p == project_id)
    excluded = sum(1 for p, _e in rp.problem.excluded if p == project_id)
    return conflicted, excluded


def describe_shortfalls(rp, shortfalls):
    """The solver's shortfalls as messages naming the proposals and why they fall short."""
    messages = []
    for shortfall in shortfalls:
        if shortfall.proposal is None:
            messages.append(_(
                "The round needs %(need)s reviews (experts per proposal × proposals) but the experts offer "
                "only %(offer)s places; add experts to the pool or raise the load limit."
            ) % {"need": shortfall.required, "offer": shortfall.available})
            continue
        label = proposal_label(rp.project(shortfall.proposal))
        if shortfall.reason == "units":
            conflicted, excluded = _why_short(rp, shortfall.proposal)
            messages.append(_(
                "%(proposal)s needs %(k)s experts but only %(n)s eligible experts of different units are left "
                "(%(conflicted)s in conflict with it, %(excluded)s declined or removed, out of %(pool)s in the pool)."
            ) % {"proposal": label, "k": shortfall.required, "n": shortfall.available,
                 "conflicted": conflicted, "excluded": excluded, "pool": len(rp.experts)})
        else:
            messages.append(_(
                "%(proposal)s can get only %(n)s of its %(k)s experts together with the rest of the round: "
                "the experts free of conflicts for it are at their load limit."
            ) % {"proposal": label, "n": shortfall.available, "k": shortfall.required})
    return messages


def diagnose_round(round_, rp=None):
    """What keeps the round from being covered, as messages; [] when the solver may run.

    Shown before solving. An empty list does not promise a solution (several
    proposals may compete for the same few experts); ``run_assignment`` then names
    the proposals the solver could not cover.
    """
    rp = rp or build_problem(round_)
    return locked_problems(rp) or describe_shortfalls(rp, solver.diagnose(rp.problem))


# ---- running the assigner -----------------------------------------------------------------


def _snapshot(assignments):
    """The pairs of a round as ``AssignmentRun.before`` keeps them (enough to restore them exactly)."""
    return [
        {
            "id": a.pk, "project": a.project_id, "expert": a.expert_id, "status": a.status, "locked": a.locked,
            "source": a.source, "affinity": a.affinity, "affinity_parts": a.affinity_parts, "run": a.run_id,
            "replaces": a.replaces_id, "token": a.token,
            "invited_at": a.invited_at.isoformat() if a.invited_at else None,
        }
        for a in sorted(assignments, key=lambda a: a.pk)
    ]


def _parameters(round_, stats=None):
    w_discipline, w_text = weights(round_.call_class)
    parameters = {"k": round_.experts_per_proposal, "m": round_.load_limit,
                  "weights": {"discipline": w_discipline, "text": w_text}}
    if stats is not None:
        parameters["solver"] = dataclasses.asdict(stats)
    return parameters


def _inputs(rp):
    problem = rp.problem
    return {
        "proposals": list(problem.proposals),
        "experts": list(problem.experts),
        "conflict_count": len(rp.conflicts),
        "locked": [list(pair) for pair in problem.locked],
        "excluded": [list(pair) for pair in problem.excluded],
    }


def _next_number(round_):
    return (round_.runs.aggregate(last=Max("number"))["last"] or 0) + 1


def run_assignment(round_, *, by, now=None):
    """Run the optimal assigner on the round (自动分配) and store the run.

    Diagnoses first: a round that cannot be covered is stored as an infeasible run
    and refused with the messages naming its proposals; nothing else changes.
    Otherwise the non-kept proposed pairs are replaced by the solver's; in an open
    round the pairs already sent stay and only the gaps are filled, the new experts
    invited at once.
    """
    now = now or timezone.now()
    _require_secretariat(by)
    refresh_conflicts(projects=list(round_.projects.values_list("pk", flat=True)), now=now)
    with transaction.atomic():
        round_ = ReviewRound.objects.select_for_update().select_related("call_class__call").get(pk=round_.pk)
        _require_preparing(round_)
        rp = build_problem(round_)
        messages, result = diagnose_round(round_, rp), None
        if not messages:
            try:
                result = solver.solve(rp.problem)
            except solver.Infeasible as infeasible:
                messages = describe_shortfalls(rp, infeasible.shortfalls)
            except solver.InvalidProblem as invalid:
                messages = [_("The assignment cannot be computed: %(detail)s") % {"detail": invalid}]
        run = AssignmentRun.objects.create(
            round=round_, number=_next_number(round_), parameters=_parameters(round_, result and result.stats),
            inputs=_inputs(rp), before=_snapshot(rp.current), created_by=by,
            feasible=not messages, result={"shortfalls": messages} if messages else {},
        )
        if not messages:
            invited = _apply(round_, rp, result, run, now)
    if messages:
        raise TransitionRefused(messages)
    _send_after_commit(round_, invited)
    return run


def _apply(round_, rp, result, run, now):
    """Write the solver's pairs; returns the ids of assignments invited at once (open round)."""
    kept = {tuple(pair) for pair in rp.problem.locked}
    replaced = [a.pk for a in rp.current if (a.project_id, a.expert_id) not in kept]
    Assignment.objects.filter(pk__in=replaced).delete()
    rows, pairs = [], []
    opened = round_.state == RoundState.OPEN
    for project_id, expert_id in result.pairs:
        total, discipline, text = rp.figures(project_id, expert_id)
        pairs.append([project_id, expert_id, round(total, 6), round(discipline, 6), round(text, 6)])
        if (project_id, expert_id) in kept:
            continue
        rows.append(Assignment(
            round=round_, project_id=project_id, expert_id=expert_id, source=AssignmentSource.SOLVER, run=run,
            affinity=total, affinity_parts={"discipline": discipline, "text": text},
            status=AssignmentStatus.INVITED if opened else AssignmentStatus.PROPOSED,
            invited_at=now if opened else None,
        ))
    created = Assignment.objects.bulk_create(rows)
    run.result = {"pairs": pairs, "total_affinity": result.total_affinity,
                  "proven_optimal": result.stats.proven_optimal, "seconds": result.stats.seconds}
    run.total_affinity = result.total_affinity
    run.save(update_fields=["result", "total_affinity"])
    if not opened:
        return []
    if any(a.pk is None for a in created):  # backends that do not return ids
        return list(round_.assignments.filter(run=run).values_list("pk", flat=True))
    return [a.pk for a in created]


# ---- comparing and undoing runs -----------------------------------------------------------


@dataclasses.dataclass
class RunComparison:
    """What a run changed against another run (or, for the first run, against what it replaced)."""

    run: AssignmentRun
    other: AssignmentRun | None
    added: list
    removed: list
    kept: list
    change: float  # total affinity of ``run`` minus that of the other side


def _pairs_of_run(run):
    return {(row[0], row[1]): row[2] for row in run.result.get("pairs", [])}


def previous_run(run):
    """The latest feasible, not undone run before ``run``."""
    return (run.round.runs.filter(number__lt=run.number, feasible=True, undone_at__isnull=True)
            .order_by("-number").first())


def compare_runs(run, other=None):
    """Pairs added, removed and kept by ``run`` against ``other`` (default: the previous run;
    without one, the pairs the run replaced), and the change in total affinity."""
    other = other or previous_run(run)
    mine = _pairs_of_run(run)
    if other is not None:
        theirs = _pairs_of_run(other)
        their_total = other.total_affinity
    else:
        theirs = {(row["project"], row["expert"]): row["affinity"] for row in run.before}
        their_total = sum(theirs.values())
    return RunComparison(
        run=run, other=other,
        added=sorted(set(mine) - set(theirs)),
        removed=sorted(set(theirs) - set(mine)),
        kept=sorted(set(mine) & set(theirs)),
        change=run.total_affinity - their_total,
    )


def undo_run(run, *, by, now=None):
    """Undo the latest run of a draft round: its pairs go, the pairs before it come back exactly."""
    now = now or timezone.now()
    _require_secretariat(by)
    # The pairs about to come back are checked against today's conflicts; the current
    # pairs go anyway, so the refresh leaves them alone.
    refresh_conflicts(projects=list(ReviewRound.objects.get(pk=run.round_id).projects.values_list("pk", flat=True)),
                      now=now, remove_assignments=False)
    with transaction.atomic():
        round_ = ReviewRound.objects.select_for_update().get(pk=run.round_id)
        run = AssignmentRun.objects.select_for_update().get(pk=run.pk)
        latest = round_.runs.filter(feasible=True, undone_at__isnull=True).order_by("-number").first()
        problems = []
        if round_.state != RoundState.DRAFT:
            problems.append(_("Runs can be undone only while the round is being prepared."))
        if run.undone_at is not None:
            problems.append(_("Run %(n)s has already been undone.") % {"n": run.number})
        elif not run.feasible:
            problems.append(_("Run %(n)s changed nothing; there is nothing to undo.") % {"n": run.number})
        elif latest is None or latest.pk != run.pk:
            problems.append(_("Only the latest run can be undone."))
        elif _changed_since(round_, run):
            problems.append(_("The assignments of the round were changed by hand after run %(n)s (pairs added, "
                              "removed or replaced); undoing it would lose those changes. Run the assigner "
                              "again instead.") % {"n": run.number})
        if problems:
            raise TransitionRefused(problems)
        problems = restore_problems(round_, run)
        if problems:
            raise TransitionRefused(problems)
        _restore(round_, run)
        run.undone_at, run.undone_by = now, by
        run.save(update_fields=["undone_at", "undone_by"])
    return run


def _changed_since(round_, run):
    """Whether a pair of the round was added, removed or replaced after ``run`` other than by it.

    Added: any assignment created after the run that the run did not make (by hand,
    a replacement). Removed or declined: a pair the run made or kept that is gone now.
    """
    before_ids = [row["id"] for row in run.before]
    later = round_.assignments.filter(created_at__gt=run.created_at).exclude(run=run)
    gone = round_.assignments.filter(status__in=GONE).filter(Q(run=run) | Q(pk__in=before_ids))
    return later.exists() or gone.exists()


def restore_problems(round_, run):
    """Why the pairs before ``run`` may not come back: a pair now in conflict, two experts of one unit.

    The conflicts must be fresh (``undo_run`` refreshes them first).
    """
    from .conflicts import blocking_pairs

    pairs = {(row["project"], row["expert"]) for row in run.before}
    if not pairs:
        return []
    project_ids, expert_ids = {p for p, _e in pairs}, {e for _p, e in pairs}
    blocked = pairs & blocking_pairs(project_ids=project_ids, expert_ids=expert_ids)
    experts = {e.pk: e for e in ExpertProfile.objects.filter(pk__in=expert_ids).select_related("user", "institution")}
    by_unit = {}
    for project_id, expert_id in sorted(pairs):
        unit = unit_key(experts[expert_id]) if expert_id in experts else None
        if unit is not None:
            by_unit.setdefault((project_id, unit), []).append(expert_id)
    colleagues = {key: ids for key, ids in by_unit.items() if len(ids) > 1}
    if not blocked and not colleagues:
        return []
    projects = {p.pk: p for p in Project.objects.filter(pk__in=project_ids).only("pk", "title", "receipt_number",
                                                                                 "number")}
    messages = [_("%(expert)s may not review %(proposal)s again: %(reasons)s.") % {
        "expert": experts[expert_id], "proposal": proposal_label(projects[project_id]), "reasons": reasons}
        for (project_id, expert_id), reasons in sorted(conflict_texts(blocked).items())]
    for (project_id, _unit), ids in sorted(colleagues.items()):
        messages.append(_("%(proposal)s would get %(experts)s, experts of the same unit.") % {
            "proposal": proposal_label(projects[project_id]),
            "experts": ", ".join(str(experts[e]) for e in ids)})
    return [_("Run %(n)s cannot be undone: the pairs before it break the rules now.") % {"n": run.number},
            *messages]


def conflict_texts(pairs):
    """{(project id, expert pk): "reason (detail); …"} of the blocking conflicts of ``pairs``."""
    from .models import Conflict

    pairs = set(pairs)
    if not pairs:
        return {}
    texts = {}
    rows = Conflict.objects.blocking().filter(project_id__in={p for p, _e in pairs},
                                              expert_id__in={e for _p, e in pairs}).order_by("pk")
    for conflict in rows:
        key = (conflict.project_id, conflict.expert_id)
        if key in pairs:
            texts.setdefault(key, []).append(_conflict_text(conflict))
    return {key: "; ".join(values) for key, values in texts.items()}


def _restore(round_, run):
    before = {row["id"]: row for row in run.before}
    round_.assignments.filter(Q(status__in=CURRENT) | Q(run=run)).exclude(pk__in=before).delete()
    existing = set(round_.assignments.filter(pk__in=before).values_list("pk", flat=True))
    missing = []
    for pk, row in before.items():
        values = {
            "project_id": row["project"], "expert_id": row["expert"], "status": row["status"],
            "locked": row["locked"], "source": row["source"], "affinity": row["affinity"],
            "affinity_parts": row["affinity_parts"], "run_id": row["run"], "replaces_id": row["replaces"],
            "invited_at": row["invited_at"], "removed_at": None,
        }
        if pk in existing:
            Assignment.objects.filter(pk=pk).update(**values)
        else:
            missing.append(Assignment(pk=pk, round=round_, token=row["token"], **values))
    Assignment.objects.bulk_create(missing)


# ---- by hand ------------------------------------------------------------------------------


def _conflict_text(conflict):
    from .conflicts import describe

    text = f"{conflict.get_reason_display()} ({describe(conflict)})"
    if conflict.status == "potential":
        text += " – " + _("possible, still to be decided")
    return text


def hand_problems(round_, project, expert):
    """Why ``expert`` may not be added to ``project`` in ``round_`` ([] when he may)."""
    from .conflicts import conflicts_between

    problems = []
    if not round_.projects.filter(pk=project.pk).exists():
        return [_("%(proposal)s is not a proposal of this round.") % {"proposal": proposal_label(project)}]
    conflicts = conflicts_between(project, expert)
    if conflicts:
        problems.append(_("%(expert)s may not review %(proposal)s: %(reasons)s.") % {
            "expert": expert, "proposal": proposal_label(project),
            "reasons": "; ".join(_conflict_text(c) for c in conflicts)})
    if not _is_active(expert):
        problems.append(_("%(expert)s is not an active expert.") % {"expert": expert})
    current = list(round_.assignments.filter(status__in=CURRENT, project=project).select_related(
        "expert__user", "expert__institution"))
    if any(a.expert_id == expert.pk for a in current):
        problems.append(_("%(expert)s already reviews %(proposal)s.") % {"expert": expert,
                                                                          "proposal": proposal_label(project)})
        return problems
    if round_.assignments.filter(project=project, expert=expert, status=AssignmentStatus.DECLINED).exists():
        problems.append(_("%(expert)s has declined %(proposal)s.") % {"expert": expert,
                                                                       "proposal": proposal_label(project)})
    unit = unit_key(expert)
    colleagues = [a.expert for a in current if unit is not None and unit_key(a.expert) == unit]
    if colleagues:
        problems.append(_("%(other)s, of the same unit (%(unit)s), already reviews %(proposal)s.") % {
            "other": colleagues[0], "unit": expert.unit_label, "proposal": proposal_label(project)})
    limit = expert_limit(round_, expert)
    load = round_.assignments.filter(status__in=CURRENT, expert=expert).count()
    if load >= limit:
        problems.append(_("%(expert)s already has %(n)s proposals in this round, the most allowed (%(m)s).")
                        % {"expert": expert, "n": load, "m": limit})
    if len(current) >= round_.experts_per_proposal:
        problems.append(_("%(proposal)s already has its %(k)s experts; remove one first.")
                        % {"proposal": proposal_label(project), "k": round_.experts_per_proposal})
    return problems


def _pair_figures(round_, project, expert):
    total, parts = affinity_parts([project], [expert], call_class=round_.call_class)
    return float(total[0, 0]), {"discipline": float(parts["discipline"][0, 0]), "text": float(parts["text"][0, 0])}


def add_by_hand(round_, project, expert, *, by, now=None):
    """Add a pair by hand (手工指定), locked so that a re-run keeps it.

    Refused, with every reason, for a conflicted pair (never assignable), a second
    expert of one unit on a proposal, an expert at his load limit, a duplicate, a
    proposal that has its k experts. In an open round the expert is invited at once.
    """
    now = now or timezone.now()
    _require_secretariat(by)
    refresh_conflicts(projects=[project.pk], experts=[expert.pk], now=now)
    with transaction.atomic():
        round_ = ReviewRound.objects.select_for_update().select_related("call_class").get(pk=round_.pk)
        _require_preparing(round_)
        expert = ExpertProfile.objects.select_related("user", "institution").get(pk=expert.pk)
        problems = hand_problems(round_, project, expert)
        if problems:
            raise TransitionRefused(problems)
        total, parts = _pair_figures(round_, project, expert)
        opened = round_.state == RoundState.OPEN
        created = Assignment.objects.create(
            round=round_, project=project, expert=expert, source=AssignmentSource.MANUAL, locked=True,
            affinity=total, affinity_parts=parts,
            status=AssignmentStatus.INVITED if opened else AssignmentStatus.PROPOSED,
            invited_at=now if opened else None,
        )
    if opened:
        _send_after_commit(round_, [created.pk])
    return created


def remove_assignment(assignment, *, by, now=None):
    """Remove a pair (撤销). An invited or accepted expert loses access to the dossier at once."""
    now = now or timezone.now()
    _require_secretariat(by)
    with transaction.atomic():
        assignment = Assignment.objects.select_for_update().select_related("round").get(pk=assignment.pk)
        _require_preparing(assignment.round)
        if assignment.status not in CURRENT:
            raise TransitionRefused([_("This assignment has already been declined or removed.")])
        assignment.status, assignment.removed_at, assignment.locked = AssignmentStatus.REMOVED, now, False
        assignment.save(update_fields=["status", "removed_at", "locked"])
    return assignment


def remove_and_replace(assignment, *, by, now=None):
    """Remove a pair and give its proposal the best other expert, in one transaction.

    Refused (nothing changes, the pair stays) when nobody qualifies as replacement.
    """
    now = now or timezone.now()
    with transaction.atomic():
        removed = remove_assignment(assignment, by=by, now=now)
        replacement = replace_declined(removed, by=by, now=now)
        if replacement is None:
            raise TransitionRefused([_("No eligible expert is left to replace it; the assignment is kept.")])
    return replacement


def set_locked(assignment, locked, *, by):
    """Lock a pair (the assigner keeps it on a re-run) or unlock it."""
    _require_secretariat(by)
    with transaction.atomic():
        assignment = Assignment.objects.select_for_update().select_related("round").get(pk=assignment.pk)
        _require_preparing(assignment.round)
        if assignment.status not in CURRENT:
            raise TransitionRefused([_("Only a current assignment can be locked or unlocked.")])
        assignment.locked = bool(locked)
        assignment.save(update_fields=["locked"])
    return assignment


# ---- opening and closing ------------------------------------------------------------------


def open_round(round_, *, by, now=None):
    """Open the round (发出评审邀请): proposals go into review, the proposed experts are invited.

    The conflicts of its proposals are refreshed first (a pair found conflicted is
    removed and replaced, see ``remove_conflicted``). The round's guards refuse while
    a possible conflict is undecided, a current pair is conflicted or shares its unit
    with another expert of the proposal, or a proposal lacks its k experts. Mails go
    out after the commit, one per expert.
    """
    now = now or timezone.now()
    refresh_conflicts(projects=list(round_.projects.values_list("pk", flat=True)), now=now)
    with transaction.atomic():
        perform(round_, "open_round", by=by, now=now)
        if round_.stage == Stage.APPLICATION:
            for project in round_.projects.filter(state=ProjectState.ELIGIBLE).order_by("pk"):
                perform(project, "start_review", by=by, now=now)
        proposed = round_.assignments.filter(status=AssignmentStatus.PROPOSED)
        ids = list(proposed.values_list("pk", flat=True))
        Assignment.objects.filter(pk__in=ids).update(status=AssignmentStatus.INVITED, invited_at=now)
    _send_after_commit(round_, ids)
    round_.refresh_from_db()
    return round_


def close_round(round_, *, by, now=None):
    """Close the round (结束评审); at the application stage its proposals leave review."""
    now = now or timezone.now()
    with transaction.atomic():
        perform(round_, "close_round", by=by, now=now)
        if round_.stage == Stage.APPLICATION:
            for project in round_.projects.filter(state=ProjectState.IN_REVIEW).order_by("pk"):
                perform(project, "close_review", by=by, now=now)
    round_.refresh_from_db()
    return round_


def _send_after_commit(round_, assignment_ids):
    if not assignment_ids:
        return
    from .tasks_rounds import send_invitations

    transaction.on_commit(partial(send_invitations.delay, round_.pk, list(assignment_ids)))


# ---- replacing a decliner -----------------------------------------------------------------


def _replacement_problem(assignment):
    """A one-proposal problem for the replacement of ``assignment``.

    The load of each expert on the round's other proposals is taken off his m, so
    that the small problem says exactly what the round's would, at the cost of one
    row of affinities instead of the whole round's.
    """
    from .conflicts import blocking_pairs

    round_ = assignment.round
    project = Project.objects.only(*PROPOSAL_FIELDS).get(pk=assignment.project_id)
    current = list(round_.assignments.filter(status__in=CURRENT).exclude(pk=assignment.pk))
    here = [a for a in current if a.project_id == project.pk]
    experts = _experts({a.expert_id for a in here})
    total, parts = affinity_parts([project], experts, call_class=round_.call_class)
    elsewhere = dict(
        round_.assignments.filter(status__in=CURRENT).exclude(project=project)
        .values("expert_id").annotate(n=Count("pk")).values_list("expert_id", "n")
    )
    m = {e.pk: max(0, expert_limit(round_, e) - elsewhere.get(e.pk, 0)) if _is_active(e) else 0 for e in experts}
    for a in here:  # a pair the expert holds here always fits his m
        m[a.expert_id] = max(m[a.expert_id], 1)
    expert_ids = [e.pk for e in experts]
    conflicts = set(blocking_pairs(project_ids=[project.pk], expert_ids=expert_ids))
    gone = set(round_.assignments.filter(project=project, status__in=GONE).values_list("project_id", "expert_id"))
    gone.add((project.pk, assignment.expert_id))
    problem = solver.AssignmentProblem(
        proposals=[project.pk], experts=expert_ids, affinity=total,
        expert_unit={e.pk: unit_key(e) for e in experts}, conflicts=conflicts,
        k=round_.experts_per_proposal, m=m, excluded=sorted(gone - {(a.project_id, a.expert_id) for a in here}),
    )
    rp = RoundProblem(problem, [project], experts, total, parts, current, conflicts)
    return rp, [(a.project_id, a.expert_id) for a in here]


def best_replacement(assignment):
    """The best expert to take over ``assignment`` (highest affinity among the eligible), or None.

    Eligible: active, not in conflict, not the decliner nor anyone who declined or
    was removed from the proposal, not of a unit already on it, under his load
    limit. Writes nothing (the secretariat sees it as a proposal).
    """
    rp, here = _replacement_problem(assignment)
    expert_id = solver.replacement(rp.problem, here, assignment.project_id, assignment.expert_id)
    return None if expert_id is None else rp.expert(expert_id)


def replace_declined(assignment, *, by, now=None):
    """Give a declined or removed assignment's proposal the best available expert (替补).

    The caller has already set ``assignment`` declined or removed. The replacement is
    invited at once (and mailed) in an open round, proposed in a draft one; None
    when nobody qualifies, the proposal still has its k experts, or the round is closed.
    """
    now = now or timezone.now()
    refresh_conflicts(projects=[assignment.project_id], now=now)
    with transaction.atomic():
        round_ = ReviewRound.objects.select_for_update().select_related("call_class").get(pk=assignment.round_id)
        assignment = Assignment.objects.select_related("round").get(pk=assignment.pk)
        if round_.state not in (RoundState.DRAFT, RoundState.OPEN):
            return None
        if assignment.status in CURRENT:
            raise TransitionRefused([_("Decline or remove the assignment before replacing it.")])
        done = round_.assignments.filter(replaces=assignment, status__in=CURRENT).first()
        if done is not None:
            return done
        assignment.round = round_
        rp, here = _replacement_problem(assignment)
        expert_id = solver.replacement(rp.problem, here, assignment.project_id, assignment.expert_id)
        if expert_id is None:
            return None
        total, discipline, text = rp.figures(assignment.project_id, expert_id)
        opened = round_.state == RoundState.OPEN
        created = Assignment.objects.create(
            round=round_, project_id=assignment.project_id, expert_id=expert_id,
            source=AssignmentSource.REPLACEMENT, replaces=assignment,
            affinity=total, affinity_parts={"discipline": discipline, "text": text},
            status=AssignmentStatus.INVITED if opened else AssignmentStatus.PROPOSED,
            invited_at=now if opened else None,
        )
    if opened:
        _send_after_commit(round_, [created.pk])
    return created


def best_replacements(assignments):
    """{assignment pk: the best replacement (ExpertProfile) or None} for many assignments at once.

    The same answer as ``best_replacement`` for each, from one problem per round: the
    proposals in question against the pool, with the round's current pairs, each
    assignment taken off in turn. A fixed number of queries per round, however many
    assignments (the late page asks this for every unanswered invitation).
    """
    by_round = {}
    for assignment in assignments:
        by_round.setdefault(assignment.round_id, []).append(assignment)
    found = {}
    for items in by_round.values():
        rp, here = _batch_problem(items[0].round, {a.project_id for a in items})
        for a in items:
            expert_id = solver.replacement(rp.problem, here, a.project_id, a.expert_id)
            found[a.pk] = None if expert_id is None else rp.expert(expert_id)
    return found


def _batch_problem(round_, project_ids):
    """Like ``_replacement_problem`` for several proposals: the load of each expert on the
    round's other proposals is taken off his m; the pairs on these proposals are ``here``."""
    from .conflicts import blocking_pairs

    projects = list(Project.objects.only(*PROPOSAL_FIELDS).filter(pk__in=project_ids).order_by("pk"))
    current = list(round_.assignments.filter(status__in=CURRENT).values_list("project_id", "expert_id"))
    here = [(p, e) for p, e in current if p in project_ids]
    elsewhere, held = {}, {}
    for p, e in current:
        counts = held if p in project_ids else elsewhere
        counts[e] = counts.get(e, 0) + 1
    experts = _experts({e for _p, e in here})
    total, parts = affinity_parts(projects, experts, call_class=round_.call_class)
    m = {e.pk: max(0, expert_limit(round_, e) - elsewhere.get(e.pk, 0)) if _is_active(e) else 0 for e in experts}
    for expert_id, n in held.items():  # the pairs an expert holds here always fit his m
        m[expert_id] = max(m[expert_id], n)
    expert_ids = [e.pk for e in experts]
    conflicts = set(blocking_pairs(project_ids=project_ids, expert_ids=expert_ids))
    gone = set(round_.assignments.filter(project_id__in=project_ids, status__in=GONE)
               .values_list("project_id", "expert_id"))
    problem = solver.AssignmentProblem(
        proposals=[p.pk for p in projects], experts=expert_ids, affinity=total,
        expert_unit={e.pk: unit_key(e) for e in experts}, conflicts=conflicts,
        k=round_.experts_per_proposal, m=m, excluded=sorted(gone - set(here)),
    )
    return RoundProblem(problem, projects, experts, total, parts, [], conflicts), here


# ---- a conflict found after the assignment ----------------------------------------------------


def conflicted_assignments(project_qs=None, expert_qs=None):
    """Current assignments of draft and open rounds whose pair is in a blocking conflict (a queryset)."""
    from django.db.models import Exists, OuterRef

    from .models import BLOCKING_STATUSES, Conflict

    blocking = Conflict.objects.filter(project_id=OuterRef("project_id"), expert_id=OuterRef("expert_id"),
                                       status__in=BLOCKING_STATUSES)
    rows = Assignment.objects.filter(status__in=CURRENT, round__state__in=(RoundState.DRAFT, RoundState.OPEN))
    if project_qs is not None:
        rows = rows.filter(project__in=project_qs)
    if expert_qs is not None:
        rows = rows.filter(expert__in=expert_qs)
    return rows.filter(Exists(blocking))


def remove_conflicted(project_qs=None, expert_qs=None, *, now=None):
    """Take every conflicted pair off its proposal (撤销回避的专家) and give it a replacement.

    Called by ``reviews.conflicts`` right after the conflict rows are written, in the
    same transaction: an expert found in conflict after the assignment (even after
    the invitation, even with a submitted review, which then no longer counts) loses
    the proposal at once; ``replace_declined`` proposes or invites the best other
    expert. Returns the removed assignments.
    """
    now = now or timezone.now()
    removed = list(conflicted_assignments(project_qs, expert_qs).select_for_update().order_by("pk"))
    if not removed:
        return []
    Assignment.objects.filter(pk__in=[a.pk for a in removed]).update(
        status=AssignmentStatus.REMOVED, removed_at=now, locked=False)
    for assignment in removed:
        assignment.status, assignment.removed_at, assignment.locked = AssignmentStatus.REMOVED, now, False
        replace_declined(assignment, by=None, now=now)
    return removed
