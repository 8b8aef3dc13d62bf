"""The assigner against brute force on small random instances (issue 4, Must show 3).

No database: plain pytest.  Brute force = exhaustive dynamic programming over every
per-proposal expert set (all k-subsets), proposal by proposal, with the experts' loads as
state — it enumerates every assignment, only sharing common sub-results.
"""

import itertools
import math
import random
from functools import lru_cache

import numpy as np
import pytest

from reviews.assignment import (
    AssignmentProblem,
    Infeasible,
    InvalidProblem,
    SparseAffinity,
    diagnose,
    greedy,
    replacement,
    solve,
)

N_INSTANCES = 200


# ---------------------------------------------------------------- instances


def random_instance(rng: random.Random):
    P = rng.randint(3, 6)
    E = rng.randint(4, 8)
    proposals = [f"p{i}" for i in range(P)]
    experts = [f"e{j}" for j in range(E)]
    n_units = rng.randint(2, E)
    unit = {e: (None if rng.random() < 0.15 else f"u{rng.randrange(n_units)}") for e in experts}
    if rng.random() < 0.5:
        aff = [[rng.randint(0, 1000) / 1000 for _ in experts] for _ in proposals]
    else:
        aff = [[rng.random() * 3 for _ in experts] for _ in proposals]
    conflicts = {(p, e) for p in proposals for e in experts if rng.random() < rng.choice([0.0, 0.05, 0.1, 0.25])}
    excluded = {(p, e) for p in proposals for e in experts if (p, e) not in conflicts and rng.random() < 0.05}
    if rng.random() < 0.5:
        k = rng.randint(1, 3)
    else:
        k = {p: rng.randint(1, 3) for p in proposals}
    if rng.random() < 0.5:
        m = rng.randint(1, 3)
    else:
        m = {e: rng.choice([0, 1, 2, 2, 3, 3]) for e in experts}
    kk = k if isinstance(k, dict) else {p: k for p in proposals}
    mm = m if isinstance(m, dict) else {e: m for e in experts}
    # A few valid locks.
    locked = set()
    for _ in range(rng.choice([0, 0, 1, 2])):
        p, e = rng.choice(proposals), rng.choice(experts)
        if (p, e) in conflicts or (p, e) in excluded or (p, e) in locked:
            continue
        on_p = [x for q, x in locked if q == p]
        if len(on_p) >= kk[p] or sum(1 for _, x in locked if x == e) >= mm[e]:
            continue
        if unit[e] is not None and any(unit[x] == unit[e] for x in on_p):
            continue
        locked.add((p, e))
    sparse = None
    if rng.random() < 0.3:  # a candidate list: some pairs unlisted
        sparse = {
            (p, e): aff[i][j]
            for i, p in enumerate(proposals)
            for j, e in enumerate(experts)
            if (p, e) in locked or rng.random() < 0.8
        }
    problem = AssignmentProblem(
        proposals=proposals,
        experts=experts,
        affinity=sparse if sparse is not None else aff,
        expert_unit=unit,
        conflicts=conflicts,
        k=k,
        m=m,
        locked=locked,
        excluded=excluded,
    )
    return problem, aff, kk, mm, sparse


def banned_pairs(problem, sparse):
    banned = set(problem.conflicts) | set(problem.excluded)
    if sparse is not None:
        banned |= {(p, e) for p in problem.proposals for e in problem.experts if (p, e) not in sparse}
    return banned - set(problem.locked)


def unit_key(problem, e):
    u = problem.expert_unit[e]
    return ("own", e) if u is None else u


def brute_force(problem, aff, kk, mm, sparse):
    """(best total, assignment as a set of pairs) or (None, None) when infeasible."""
    P, E = problem.proposals, problem.experts
    banned = banned_pairs(problem, sparse)
    locked = set(problem.locked)
    options = []
    for i, p in enumerate(P):
        must = {e for q, e in locked if q == p}
        opts = []
        for S in itertools.combinations(range(len(E)), kk[p]):
            names = {E[j] for j in S}
            if not must <= names:
                continue
            if any((p, E[j]) in banned for j in S):
                continue
            if len({unit_key(problem, E[j]) for j in S}) < len(S):
                continue
            opts.append((S, math.fsum(aff[i][j] for j in S)))
        options.append(opts)
    cap = tuple(mm[e] for e in E)

    @lru_cache(maxsize=None)
    def best(i, loads):
        if i == len(P):
            return 0.0, ()
        top = (-math.inf, None)
        for S, v in options[i]:
            new = list(loads)
            for j in S:
                new[j] += 1
            if any(new[j] > cap[j] for j in S):
                continue
            sub, rest = best(i + 1, tuple(new))
            if sub + v > top[0]:
                top = (sub + v, (S,) + rest)
        return top

    total, choice = best(0, (0,) * len(E))
    if choice is None:
        return None, None
    return total, {(P[i], E[j]) for i, S in enumerate(choice) for j in S}


def check_valid(problem, result, kk, mm, sparse, exact_k=True):
    banned = banned_pairs(problem, sparse)
    pairs = result.pairs
    assert len(set(pairs)) == len(pairs)
    assert not (set(pairs) & banned), "a conflicted/excluded/unlisted pair was assigned"
    assert set(problem.locked) <= set(pairs), "a locked pair was dropped"
    for p in problem.proposals:
        mine = [e for q, e in pairs if q == p]
        if exact_k:
            assert len(mine) == kk[p]
        else:
            assert len(mine) <= kk[p]
        units = [unit_key(problem, e) for e in mine]
        assert len(units) == len(set(units)), "two experts of one unit on a proposal"
    for e in problem.experts:
        assert sum(1 for _, x in pairs if x == e) <= mm[e]
    assert result.total_affinity == pytest.approx(sum(result.affinity[pr] for pr in pairs))


def expected_short(problem, kk, mm, sparse):
    """Proposals with fewer than k eligible experts from distinct units (locked count)."""
    banned = banned_pairs(problem, sparse) | set(problem.locked)
    locked = set(problem.locked)
    load = {e: sum(1 for _, x in locked if x == e) for e in problem.experts}
    out = set()
    for p in problem.proposals:
        mine = [e for q, e in locked if q == p]
        blocked = {unit_key(problem, e) for e in mine}
        units = {
            unit_key(problem, e)
            for e in problem.experts
            if (p, e) not in banned and mm[e] - load[e] > 0 and unit_key(problem, e) not in blocked
        }
        if len(mine) + len(units) < kk[p]:
            out.add(p)
    return out


# ---------------------------------------------------------------- the 200 instances


def test_solve_equals_brute_force_on_random_instances():
    rng = random.Random(20240404)
    feasible = infeasible = priced = grown = 0
    for n in range(N_INSTANCES):
        problem, aff, kk, mm, sparse = random_instance(rng)
        opt, _ = brute_force(problem, aff, kk, mm, sparse)

        # diagnose names exactly the proposals with too few distinct-unit experts.
        named = {s.proposal for s in diagnose(problem) if s.proposal is not None}
        assert named == expected_short(problem, kk, mm, sparse), n
        if named:
            assert opt is None, n

        for cands in (None, 1, 2, 60):
            if opt is None:
                with pytest.raises(Infeasible) as exc:
                    solve(problem, candidates=cands)
                assert exc.value.shortfalls, n
                for s in exc.value.shortfalls:
                    assert s.proposal is None or s.available < s.required
            else:
                res = solve(problem, candidates=cands)
                check_valid(problem, res, kk, mm, sparse)
                assert res.total_affinity == pytest.approx(opt, abs=1e-6), (n, cands)
                assert res.stats.proven_optimal is True
                priced += res.stats.arcs_added_by_pricing > 0
                grown += res.stats.arcs_added_for_feasibility > 0
        if opt is None:
            infeasible += 1
            continue
        feasible += 1

        # greedy: valid (maybe short), and never better than the optimum when complete.
        g = greedy(problem)
        check_valid(problem, g, kk, mm, sparse, exact_k=False)
        if not g.shortfalls:
            assert g.total_affinity <= opt + 1e-9, n

        # replacement: decline a random non-locked pair of the optimum.
        res = solve(problem)
        free = [pr for pr in res.pairs if pr not in set(problem.locked)]
        if free:
            p, d = rng.choice(free)
            got = replacement(problem, res.pairs, p, d)
            assert got == expected_replacement(problem, aff, mm, sparse, res.pairs, p, d), n
    # The generator must exercise both outcomes, and pruning (candidates = 1 or 2) must
    # have needed both the optimality pricing and the feasibility fallback.
    assert feasible > 60 and infeasible > 20, (feasible, infeasible)
    assert priced > 20 and grown > 20, (priced, grown)


def expected_replacement(problem, aff, mm, sparse, pairs, p, declined):
    banned = banned_pairs(problem, sparse)
    current = [pr for pr in pairs if pr != (p, declined)]
    on_p = [e for q, e in current if q == p]
    units = {unit_key(problem, e) for e in on_p}
    i = problem.proposals.index(p)
    best, best_a = None, -math.inf
    for j, e in enumerate(problem.experts):
        if e == declined or e in on_p or (p, e) in banned or unit_key(problem, e) in units:
            continue
        if sum(1 for _, x in current if x == e) >= mm[e]:
            continue
        if aff[i][j] > best_a:
            best, best_a = e, aff[i][j]
    return best


# ---------------------------------------------------------------- focused cases


def small(**kw):
    base = dict(
        proposals=["a", "b"],
        experts=["x", "y", "z"],
        affinity=[[3.0, 2.0, 0.0], [2.9, 0.0, 1.0]],
        expert_unit={"x": "U1", "y": "U2", "z": "U3"},
        k=1,
        m=1,
    )
    base.update(kw)
    return AssignmentProblem(**base)


def test_optimum_beats_greedy_on_a_classic_case():
    # greedy takes (a, x)=3.0 and then must give b z (1.0): 4.0; optimum a-y, b-x: 4.9.
    prob = small()
    assert greedy(prob).total_affinity == pytest.approx(4.0)
    res = solve(prob)
    assert res.total_affinity == pytest.approx(4.9)
    assert sorted(res.pairs) == [("a", "y"), ("b", "x")]
    assert res.affinity[("b", "x")] == pytest.approx(2.9)


def test_conflicted_lock_is_an_error():
    prob = small(conflicts={("a", "x")}, locked={("a", "x")})
    with pytest.raises(InvalidProblem):
        solve(prob)
    with pytest.raises(InvalidProblem):
        solve(small(locked={("a", "x"), ("a", "y")}))  # two locks, k = 1
    with pytest.raises(InvalidProblem):
        solve(small(excluded={("a", "x")}, locked={("a", "x")}))
    with pytest.raises(InvalidProblem):
        solve(small(k=2, expert_unit={"x": "U1", "y": "U1", "z": "U3"}, locked={("a", "x"), ("a", "y")}))


def test_locked_pair_is_kept_and_counts():
    res = solve(small(locked={("b", "y")}))  # b-y has affinity 0 but is locked
    assert ("b", "y") in res.pairs
    assert sorted(res.pairs) == [("a", "x"), ("b", "y")]


def test_unit_rule_and_diagnosis():
    prob = small(
        expert_unit={"x": "U1", "y": "U1", "z": "U2"},
        k={"a": 2, "b": 1},
        m=2,
        conflicts={("a", "z")},
    )
    short = diagnose(prob)
    assert [(s.proposal, s.required, s.available) for s in short] == [("a", 2, 1)]
    with pytest.raises(Infeasible) as exc:
        solve(prob)
    assert exc.value.proposals == ["a"]


def test_capacity_shortfall_is_diagnosed():
    prob = small(k=2, m=1, affinity=[[1, 1, 1], [1, 1, 1]])
    assert [s.reason for s in diagnose(prob)] == ["capacity"]
    with pytest.raises(Infeasible):
        solve(prob)


def test_joint_shortage_is_found_by_the_solver_not_the_diagnosis():
    # Each proposal alone has an expert, but both have only x (m = 1).
    prob = small(conflicts={("a", "y"), ("a", "z"), ("b", "y"), ("b", "z")})
    assert diagnose(prob) == []
    with pytest.raises(Infeasible) as exc:
        solve(prob, candidates=1)
    assert len(exc.value.shortfalls) == 1
    assert exc.value.shortfalls[0].reason == "flow"


def test_replacement_respects_load():
    prob = small(
        experts=["x", "y", "z", "w"],
        affinity=[[5, 4, 3, 2], [1, 9, 1, 1]],
        expert_unit={"x": "U1", "y": "U2", "z": "U3", "w": "U4"},
        k=2,
        m=1,
    )
    current = [("a", "x"), ("a", "z"), ("b", "y"), ("b", "w")]
    # x declines a: y and w are full (m = 1), z is on a already, x declined -> nobody.
    assert replacement(prob, current, "a", "x") is None
    prob.m = {"x": 1, "y": 2, "z": 1, "w": 2}
    assert replacement(prob, current, "a", "x") == "y"  # y now has room and affinity 4
    prob.conflicts = {("a", "y")}
    assert replacement(prob, current, "a", "x") == "w"  # never a conflicted expert


def test_replacement_unit_rule():
    prob = small(
        experts=["x", "y", "z", "w"],
        affinity=[[5, 4, 3, 2], [1, 9, 1, 1]],
        expert_unit={"x": "U1", "y": "U2", "z": "U2", "w": "U3"},
        k=2,
        m=2,
    )
    current = [("a", "x"), ("a", "z"), ("b", "y"), ("b", "w")]
    # x declines a; y has room but shares U2 with z (on a) -> w.
    assert replacement(prob, current, "a", "x") == "w"
    # z declines a: now U2 is free again -> y (4) beats w (2).
    assert replacement(prob, current, "a", "z") == "y"
    # someone not on a "declines": a still has k -> None.
    assert replacement(prob, current, "a", "w") is None


@pytest.mark.parametrize("form", ["dense", "sparse"])
def test_pruned_solve_is_certified_on_a_medium_instance(form):
    rng = np.random.default_rng(7)
    P, E = 120, 60
    A = np.round(rng.random((P, E)) ** 2, 4)
    units = [f"u{j % 25}" for j in range(E)]
    conflicts = {(i, j) for i in range(P) for j in range(E) if rng.random() < 0.05}
    if form == "sparse":
        keep = rng.random((P, E)) < 0.7
        pi, ei = np.nonzero(keep)
        aff = SparseAffinity(pi, ei, A[pi, ei])
    else:
        aff = A
    prob = AssignmentProblem(
        proposals=list(range(P)), experts=list(range(E)), affinity=aff,
        expert_unit=units, conflicts=conflicts, k=4, m=9,
    )
    full = solve(prob, candidates=None)
    pruned = solve(prob, candidates=5)
    assert pruned.total_affinity == pytest.approx(full.total_affinity, abs=1e-6)
    assert pruned.stats.proven_optimal is True
    assert pruned.stats.arcs < full.stats.arcs
    assert greedy(prob).total_affinity <= full.total_affinity + 1e-9


@pytest.mark.parametrize("cands", [None, 2, 20])
def test_joint_infeasibility_is_proven_with_pruning(cands):
    # Proposals 0..19 may only use experts 0..9 (30 places for 40 reviews); 20..39 anyone.
    # Every proposal alone is coverable and sum(m) >= sum(k): only the flow can tell.
    rng = np.random.default_rng(3)
    P, E = 40, 30
    conflicts = {(p, e) for p in range(20) for e in range(10, 30)}
    prob = AssignmentProblem(
        proposals=list(range(P)), experts=list(range(E)), affinity=rng.random((P, E)),
        expert_unit=list(range(E)), conflicts=conflicts, k=2, m=3,
    )
    assert diagnose(prob) == []
    with pytest.raises(Infeasible) as exc:
        solve(prob, candidates=cands)
    short = exc.value.shortfalls
    assert {s.reason for s in short} == {"flow"}
    assert set(exc.value.proposals) <= set(range(20))
    assert sum(s.required - s.available for s in short) == 10  # 40 needed, 30 places
