"""Benchmark of the expert assigner (issue 4, Must show 4).  No Django needed:

    .venv/bin/python bench/assignment.py            # 10,000 x 3,000, k=5, m=20, + gap check
    .venv/bin/python bench/assignment.py --full     # also solve the unpruned 29 M-arc network
    .venv/bin/python bench/assignment.py --proposals 2000 --experts 600

Affinity model (seeded): 12 disciplines of unequal popularity, different for experts and
proposals (so the popular experts run into m); each person has a 32-dim topic vector =
their discipline's centre + personal spread; affinity = 0.35 for the same discipline (0.12
for a neighbouring one) + 0.55 * max(0, cosine of topic vectors) + noise N(0, 0.04),
clipped at 0.  Units: 3,000 experts in ~350 units of Zipf-like sizes; each proposal comes
from an institution (60 % of them also have experts): same-unit pairs are conflicts, and
random declared conflicts bring the total to ~2 % of all pairs.

Peak memory is the process's ru_maxrss (resident set, includes OR-Tools' C++ memory and
the instance itself: the 10,000 x 3,000 float32 matrix is 120 MB and the conflict set of
600,000 Python tuples ~100 MB).  maxrss only grows, so each figure is the peak so far.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from reviews.assignment import DEFAULT_CANDIDATES, AssignmentProblem, greedy, solve  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(P: int, E: int, k: int, m: int, seed: int, conflict_rate: float = 0.02):
    rng = np.random.default_rng(seed)
    D, dim = 12, 32
    centres = rng.normal(size=(D, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    pop_e = rng.dirichlet(np.full(D, 2.0))
    pop_p = rng.dirichlet(np.full(D, 2.0))
    disc_e = rng.choice(D, size=E, p=pop_e)
    disc_p = rng.choice(D, size=P, p=pop_p)

    def topics(disc, n):
        t = centres[disc] + 0.8 * rng.normal(size=(n, dim)) / np.sqrt(dim)
        return (t / np.linalg.norm(t, axis=1, keepdims=True)).astype(np.float32)

    te, tp = topics(disc_e, E), topics(disc_p, P)
    # Neighbouring disciplines: a ring.
    related = np.zeros((D, D), dtype=np.float32)
    for d in range(D):
        related[d, (d + 1) % D] = related[d, (d - 1) % D] = 0.12
        related[d, d] = 0.35
    A = np.empty((P, E), dtype=np.float32)
    for r0 in range(0, P, 1000):
        r1 = min(P, r0 + 1000)
        block = 0.55 * np.maximum(tp[r0:r1] @ te.T, 0)
        block += related[disc_p[r0:r1]][:, disc_e]
        block += rng.normal(0, 0.04, size=block.shape).astype(np.float32)
        A[r0:r1] = np.maximum(block, 0)

    # Units and institutions.
    n_units = max(2, E // 9)
    sizes = 1.0 / np.arange(1, n_units + 1) ** 0.8
    unit_e = rng.choice(n_units, size=E, p=sizes / sizes.sum())
    n_inst = int(n_units / 0.6)
    inst_p = rng.integers(0, n_inst, size=P)
    same = inst_p[:, None] == unit_e[None, :]  # P x E bool (30 MB at full size)
    pi, ei = np.nonzero(same)
    del same
    target = int(conflict_rate * P * E)
    extra = max(0, target - len(pi))
    flat = np.unique(rng.integers(0, P * E, size=extra))
    pi = np.concatenate([pi, flat // E])
    ei = np.concatenate([ei, flat % E])
    conflicts = set(zip(pi.tolist(), ei.tolist()))
    problem = AssignmentProblem(
        proposals=list(range(P)),
        experts=list(range(E)),
        affinity=A,
        expert_unit=[f"unit{u}" for u in unit_e.tolist()],
        conflicts=conflicts,
        k=k,
        m=m,
    )
    return problem


def describe(res, label: str) -> None:
    s = res.stats
    print(f"  {label}: {s.seconds:.2f} s wall ({s.cpu_seconds:.2f} s CPU), total affinity {res.total_affinity:,.4f}, "
          f"{len(res.pairs):,} pairs")
    if s.method != "greedy":
        print(f"    network: {s.arcs:,} arcs, {s.nodes:,} nodes, {s.rounds} min-cost-flow solve(s); "
              f"full network would have {s.eligible_pairs:,} pair arcs")
        print(f"    arcs added: {s.arcs_added_for_feasibility:,} for feasibility, "
              f"{s.arcs_added_by_pricing:,} by reduced-cost pricing")
        print(f"    proven optimal for the full network: {s.proven_optimal} ({s.note})")
        print("    phases: " + ", ".join(f"{k} {v:.2f}s" for k, v in s.phases.items()))
    else:
        print(f"    {s.note}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--proposals", type=int, default=10_000)
    ap.add_argument("--experts", type=int, default=3_000)
    ap.add_argument("-k", type=int, default=5)
    ap.add_argument("-m", type=int, default=20)
    ap.add_argument("--candidates", type=int, default=DEFAULT_CANDIDATES)
    ap.add_argument("--sweep", action="store_true", help="also solve with 10, 40, 60 and 100 candidates")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--full", action="store_true", help="also solve the unpruned network (slow, ~4 GB)")
    ap.add_argument("--gap-proposals", type=int, default=2_000)
    ap.add_argument("--gap-experts", type=int, default=600)
    args = ap.parse_args()
    P, E = args.proposals, args.experts

    print(f"== main instance: {P:,} proposals x {E:,} experts, k={args.k}, m={args.m}, "
          f"seed {args.seed}")
    t = time.perf_counter()
    problem = build(P, E, args.k, args.m, args.seed)
    n_conf = len(problem.conflicts)
    print(f"  built in {time.perf_counter() - t:.1f} s: {n_conf:,} conflicted pairs "
          f"({100 * n_conf / (P * E):.2f} %), {len(set(problem.expert_unit)):,} units, "
          f"demand {P * args.k:,} reviews for {E * args.m:,} places; peak RSS so far "
          f"{peak_mb():,.0f} MB")

    res = solve(problem, candidates=args.candidates)
    describe(res, f"solve (min-cost flow, {args.candidates} candidates per proposal)")
    solve_peak = peak_mb()
    print(f"  peak RSS after solve: {solve_peak:,.0f} MB (instance included)")
    target_ok = res.stats.seconds <= 30 and solve_peak <= 2048
    print(f"  target (<= 30 s, <= 2 GB): {'met' if target_ok else 'NOT met'}")

    raw = solve(problem, candidates=args.candidates, certify=False)
    print(f"  same, without the optimality certificate (first feasible pruned network): "
          f"{raw.stats.seconds:.2f} s, total {raw.total_affinity:,.4f}, "
          f"gap to the certified optimum {res.total_affinity - raw.total_affinity:.6f}")

    g = greedy(problem)
    describe(g, "greedy baseline")
    print(f"  peak RSS after greedy: {peak_mb():,.0f} MB")
    print(f"  solve / greedy total affinity: {res.total_affinity / g.total_affinity:.5f} "
          f"(+{100 * (res.total_affinity / g.total_affinity - 1):.2f} %)")

    if args.sweep:
        print("  candidates sweep (same instance):")
        for c in (10, 40, 60, 100):
            r = solve(problem, candidates=c)
            s = r.stats
            print(f"    C={c:>3}: {s.seconds:5.1f} s wall ({s.cpu_seconds:4.1f} s CPU), {s.rounds} solves, "
                  f"{s.arcs:,} arcs, total {r.total_affinity:,.4f}, proven {s.proven_optimal}, "
                  f"gap to C={args.candidates}: {res.total_affinity - r.total_affinity:.6f}")
        print(f"  peak RSS after the sweep: {peak_mb():,.0f} MB")

    if args.full:
        full = solve(problem, candidates=None)
        describe(full, "solve on the full (unpruned) network")
        print(f"  peak RSS after the full solve: {peak_mb():,.0f} MB")
        print(f"  gap pruned vs full: {full.total_affinity - res.total_affinity:.6f}")
    del problem, res, g

    gp, ge = args.gap_proposals, args.gap_experts
    print(f"\n== gap check: {gp:,} x {ge:,}, k={args.k}, m={args.m}, seed {args.seed + 1}")
    small = build(gp, ge, args.k, args.m, args.seed + 1)
    full = solve(small, candidates=None)
    describe(full, "full network (no pruning)")
    raw = solve(small, candidates=args.candidates, certify=False)
    describe(raw, f"pruned to {args.candidates}, no certification (first feasible network)")
    cert = solve(small, candidates=args.candidates)
    describe(cert, f"pruned to {args.candidates}, with reduced-cost certification")
    for c in (10, 60):
        tight = solve(small, candidates=c)
        describe(tight, f"pruned to {c}, with certification")
        print(f"    gap to full: {full.total_affinity - tight.total_affinity:.6f}")
    print(f"  gap full - pruned (uncertified): {full.total_affinity - raw.total_affinity:.6f}")
    print(f"  gap full - pruned (certified):   {full.total_affinity - cert.total_affinity:.6f}")
    gs = greedy(small)
    print(f"  greedy {gs.total_affinity:,.4f}; full / greedy {full.total_affinity / gs.total_affinity:.5f}")
    print(f"\npeak RSS of the whole run: {peak_mb():,.0f} MB")


if __name__ == "__main__":
    main()
