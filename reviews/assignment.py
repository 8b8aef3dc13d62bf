"""Optimal assignment of experts to proposals (DESIGN.md, "Blind review": Assignment).

Pure Python + numpy; OR-Tools is imported only when :func:`solve` runs.  Nothing here
knows Django: the round code builds an :class:`AssignmentProblem` from the database and
stores the :class:`AssignmentResult`.

API
===

``AssignmentProblem``  the instance (ids, affinity, units, conflicts, k, m, locked, excluded).
``SparseAffinity``     affinity given as index arrays (a candidate list) for huge rounds.
``diagnose(problem)``  -> ``list[Shortfall]``: what makes the round impossible, before solving.
``solve(problem)``     -> ``AssignmentResult``: the optimum (max total affinity), or
                       raises ``Infeasible(shortfalls)``.
``greedy(problem)``    -> ``AssignmentResult``: the baseline, for comparison only.
``replacement(problem, current_pairs, proposal, declined_expert)`` -> expert id or ``None``.
``InvalidProblem``     (a ``ValueError``) for contradictory input, e.g. a locked pair that is
                       conflicted.

Constraints
===========

For every proposal p and expert e (``x[p, e]`` = 1 when e reviews p):

(K)  sum_e x[p, e] = k_p                    each proposal gets exactly k_p experts;
(M)  sum_p x[p, e] <= m_e                   each expert at most m_e proposals;
(C)  x[p, e] = 0 for (p, e) conflicted or excluded (and, with a sparse affinity, for every
     pair that is not in the candidate list);
(U)  sum_{e in unit u} x[p, e] <= 1         at most one expert of a unit per proposal;
(L)  x[p, e] = 1 for every locked pair.

Objective: maximise sum a[p, e] x[p, e].  Experts with no unit (``None``) are each their own
unit.

The network
===========

Locked pairs are taken out first: k'_p = k_p - |locked(p)|, m'_e = m_e - |locked(e)|, and
the units of p's locked experts are *blocked* for p (no arc is made from an expert of a
blocked unit to p).  Then, with D = sum_p k'_p:

    source S --(cap m'_e, cost 0)--> E_e                    for every expert e
    E_e --(cap 1, cost -A[p, e])--> G_{p,u(e)}              for every eligible pair (p, e)
    G_{p,u} --(cap 1, cost 0)--> P_p                        for every (proposal, unit) node
    P_p --(cap k'_p, cost 0)--> sink T                      for every proposal
    supply D at S, demand D at T

where A[p, e] = round(a[p, e] * scale) is the integer cost (OR-Tools needs integers) and a
pair is *eligible* when it is not conflicted, excluded or locked, its unit is not blocked for
p, k'_p > 0 and m'_e > 0.  When only one eligible expert of unit u is offered to p, the
G node is left out and the arc goes E_e -> P_p directly (a node with one arc in and a
cap-1 arc out adds nothing).

**Claim.**  Integral S-T flows of value D correspond one to one to assignments satisfying
(K), (M), (C), (U), (L); the cost of the flow is minus the scaled affinity of the non-locked
pairs.

*Flow -> assignment.*  Let f be integral of value D and put x[p, e] = f(E_e -> G_{p,u(e)})
in {0, 1} (and x = 1 on the locked pairs, 0 elsewhere).
(K): the arcs into T have total capacity sum k'_p = D, so a flow of value D saturates each:
f(P_p -> T) = k'_p.  Conservation at P_p and at each G_{p,u} gives
sum_e x[p, e] = sum_u f(G_{p,u} -> P_p) = k'_p; with the locked pairs, k_p.
(M): conservation at E_e gives sum_p x[p, e] = f(S -> E_e) <= m'_e; with the locked
pairs, <= m_e.
(U): conservation at G_{p,u} gives sum_{e in u} x[p, e] = f(G_{p,u} -> P_p) <= 1, and a unit
of a locked expert of p is blocked, so it contributes the locked expert alone.
(C): conflicted and excluded pairs have no arc.  (L): by construction.
*Assignment -> flow.*  Given x satisfying the constraints, send one unit along
S -> E_e -> G_{p,u(e)} -> P_p -> T for every non-locked pair: each arc's load is exactly the
left-hand side of (M), of (U) (at most one pair per (p, u), and never a blocked unit since a
second expert of a locked expert's unit would break (U)) or of (K), so capacities hold and
the value is sum k'_p = D.  The two maps are inverse to each other, and
cost(f) = -sum A[p, e] x[p, e].

A min-cost flow with integer capacities has an integral optimum (the node-arc incidence
matrix is totally unimodular) and OR-Tools returns one, so the minimum cost flow of value D
is a maximum-affinity assignment (for the integer costs A), and *no* flow of value D
exists exactly when no feasible assignment exists.  OR-Tools' ``solve_max_flow_with_min_cost``
returns a maximum flow; if its value is below D the proposals whose P_p -> T arc is not
saturated are the ones left short.

Rounding: scale is a power of ten chosen so that the largest affinity becomes about 1e8, so
affinities with up to 8 significant digits are represented exactly; otherwise the optimum of
the integer problem is within ``D / scale`` of the real optimum (each of the D chosen pairs
is off by at most 0.5 / scale, in both solutions).

Pruning and its proofs
======================

A full round (10,000 proposals x 3,000 experts) has ~29 M eligible pairs, too many arcs for
the time and memory we have.  ``solve`` therefore starts from each proposal's best
``candidates`` eligible pairs (by affinity) and enlarges that arc set until it can *prove*
that the answer is the one the full network would give:

*Optimality (column generation with a dual certificate).*  A feasible flow is of minimum
cost iff its residual graph has no negative cycle iff there are node potentials d with
reduced cost  w(u, v) + d(u) - d(v) >= 0  on every residual arc (LP duality /
complementary slackness).  After solving the pruned network we compute such d by
Bellman-Ford on its residual graph (all d start at 0, which is the usual virtual root joined
to every node by a 0-cost arc).  Every expert with m'_e > 0 and every proposal with
k'_p > 0 is a node of the pruned network (their arcs from S and to T are always there), so
d is defined on them.  The full network differs only by pruned-away arcs E_e -> G_{p,u},
all with zero flow, so their residual arc is the forward one, with reduced cost
-A[p, e] + d(E_e) - d(G_{p,u}); and by G nodes the pruned network does not have.
For such a G_{p,u} (no candidate, or a single candidate joined directly to P_p) give it
d(G) = d(P_p): its arc G -> P_p (forward, or backward when saturated) has reduced cost
0, the single candidate arc E_e' -> G (or its reverse) has the reduced cost that the direct
arc E_e' -> P_p had, which is >= 0.  So if every pruned-away eligible pair has
-A[p, e] + d(E_e) - d(target) >= 0, where target is G_{p,u(e)} when the pruned network has
that node and P_p otherwise, then d is a certificate for the full network and the pruned
flow is optimal for it.  Pairs that fail the test are added and the network is solved again;
the arc set only grows, so this ends, at worst with the full network.

*Feasibility (max-flow min-cut).*  If the pruned network cannot carry D, let R be the nodes
reachable from S in its residual graph; (R, not R) is a minimum cut, of capacity = the
maximum flow < D.  Let R' = R plus every G_{p,u} (present or not) whose P_p is in R.  A
present G outside R with P_p in R has no arc from R: an arc leaving R is saturated, so G
would pass that unit on along G -> P_p, an arc from not-R into R that carries flow, whose
residual reverse arc P_p -> G would have put G in R.  So moving G into R' removes nothing
from the cut and adds nothing to it (G -> P_p is then inside R').  A missing
G_{p,u} with P_p outside R goes to P_p's side, where its arc to P_p is internal and a direct
arc E_e' -> P_p of the pruned network becomes E_e' -> G, crossing exactly when it did.
So in the full network the cut (R', rest) has the same capacity plus one for each
pruned-away eligible pair (p, e) with E_e in R, P_p not in R and, when the pruned network
has the node G_{p,u(e)}, that node not in R.  If there is no such pair the full network has
a cut of capacity < D and the round is infeasible: ``Infeasible`` is raised naming the
proposals left short.  Otherwise the best c of those pairs of each proposal (by affinity)
are added and the network is solved again, c doubling every time (adding all of them at
once can mean millions of arcs when a whole discipline is short of experts).

``AssignmentResult.stats.proven_optimal`` is ``True`` when the final potentials certify the
full network (or the network is the full one), ``None`` when ``certify=False`` skipped the
check.  An ``Infeasible`` from ``solve`` is always proven (diagnosis, or the cut above).
"""

from __future__ import annotations

import math
import time
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "AssignmentProblem",
    "AssignmentResult",
    "Infeasible",
    "InvalidProblem",
    "Shortfall",
    "SolverStats",
    "SparseAffinity",
    "diagnose",
    "greedy",
    "replacement",
    "solve",
]

#: Initial number of candidate experts per proposal kept by :func:`solve`.  Small is
#: fine: pricing adds what the optimum needs (bench: C = 10..100 all reach the same
#: certified optimum; 15-20 is fastest on 10,000 x 3,000).
DEFAULT_CANDIDATES = 20
#: The largest affinity becomes about this many cost units (see "Rounding").
_COST_RANGE = 1e8
#: Cells of a dense block handled at once (rows x experts).
_BLOCK_CELLS = 2_000_000


# ---------------------------------------------------------------------------
# Public data types
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SparseAffinity:
    """A candidate list: affinity ``value[i]`` for ``(proposals[proposal_index[i]],
    experts[expert_index[i]])``.  Pairs that are not listed can never be assigned."""

    proposal_index: Any
    expert_index: Any
    value: Any


@dataclass
class AssignmentProblem:
    """One assignment round.

    ``affinity`` is one of: a dense ``len(proposals) x len(experts)`` array (or nested
    lists) of floats >= 0; a mapping ``{(proposal, expert): affinity}``; or a
    :class:`SparseAffinity`.  With the two sparse forms, unlisted pairs are not candidates.
    ``expert_unit`` maps each expert to its unit (``None``: a unit of its own).  ``k`` and
    ``m`` are an int or a mapping per proposal / per expert.  ``conflicts`` and ``excluded``
    pairs are never assigned (pairs naming unknown ids are ignored); ``locked`` pairs are
    always in the result and count towards k and m.
    """

    proposals: Sequence[Hashable]
    experts: Sequence[Hashable]
    affinity: Any
    expert_unit: Mapping[Hashable, Hashable] | Sequence[Hashable]
    conflicts: Iterable[tuple[Hashable, Hashable]] = frozenset()
    k: int | Mapping[Hashable, int] = 3
    m: int | Mapping[Hashable, int] = 10
    locked: Iterable[tuple[Hashable, Hashable]] = ()
    excluded: Iterable[tuple[Hashable, Hashable]] = ()


@dataclass(frozen=True)
class Shortfall:
    """Why a proposal (or the round) cannot be covered.

    ``reason`` is ``"units"`` (fewer eligible experts from distinct units than k, counting
    its locked experts; ``available`` is that number), ``"capacity"`` (the whole round:
    ``proposal`` is None, ``required`` = sum k, ``available`` = sum m), ``"flow"`` (the
    solver could give it only ``available`` experts, locked included) or ``"greedy"``.
    """

    proposal: Hashable | None
    required: int
    available: int
    reason: str

    def __str__(self) -> str:
        if self.proposal is None:
            return f"round: {self.required} reviews needed, {self.available} places offered"
        what = {
            "units": "eligible experts from distinct units",
            "flow": "experts assignable together with the rest of the round",
            "greedy": "experts assigned by the greedy baseline",
        }.get(self.reason, self.reason)
        return f"{self.proposal}: needs {self.required}, {self.available} {what}"


class InvalidProblem(ValueError):
    """The input contradicts itself (a locked pair that is conflicted, too many locks...)."""


class Infeasible(Exception):
    """No assignment satisfies the constraints; ``shortfalls`` names the proposals."""

    def __init__(self, shortfalls: Iterable[Shortfall]):
        self.shortfalls = list(shortfalls)
        shown = "; ".join(str(s) for s in self.shortfalls[:10])
        more = len(self.shortfalls) - 10
        super().__init__(
            f"cannot cover the round: {shown}" + (f" (and {more} more)" if more > 0 else "")
        )

    @property
    def proposals(self) -> list[Hashable]:
        return [s.proposal for s in self.shortfalls if s.proposal is not None]


@dataclass
class SolverStats:
    method: str
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # process CPU time (differs from seconds on a busy machine)
    arcs: int = 0  # arcs of the final network
    nodes: int = 0
    rounds: int = 0  # networks solved
    candidates: int | None = None  # initial candidates per proposal (None: all)
    eligible_pairs: int = 0  # arcs of the full network
    arcs_added_for_feasibility: int = 0
    arcs_added_by_pricing: int = 0
    proven_optimal: bool | None = None
    note: str = ""
    scale: float = 1.0
    phases: dict[str, float] = field(default_factory=dict)


@dataclass
class AssignmentResult:
    pairs: list[tuple[Hashable, Hashable]]
    affinity: dict[tuple[Hashable, Hashable], float]
    total_affinity: float
    stats: SolverStats
    locked: list[tuple[Hashable, Hashable]] = field(default_factory=list)
    shortfalls: list[Shortfall] = field(default_factory=list)  # greedy only

    def experts_of(self, proposal: Hashable) -> list[Hashable]:
        return [e for p, e in self.pairs if p == proposal]


# ---------------------------------------------------------------------------
# Compiled instance (indices, masks, affinity access)
# ---------------------------------------------------------------------------


def _member(sorted_keys: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Boolean array: is each x in sorted_keys."""
    if len(sorted_keys) == 0:
        return np.zeros(np.shape(x), dtype=bool)
    pos = np.searchsorted(sorted_keys, x)
    pos[pos == len(sorted_keys)] = 0
    return sorted_keys[pos] == x


def _unique(x: np.ndarray) -> np.ndarray:
    """Sorted unique values (sort based: numpy's hash-based unique is slower here)."""
    x = np.sort(np.asarray(x, dtype=np.int64))
    if len(x) > 1:
        x = x[np.r_[True, x[1:] != x[:-1]]]
    return x


def _per_item(value, ids: list, name: str) -> np.ndarray:
    if isinstance(value, Mapping):
        try:
            out = np.array([int(value[i]) for i in ids], dtype=np.int64)
        except KeyError as exc:
            raise InvalidProblem(f"{name} has no value for {exc.args[0]!r}") from None
    elif isinstance(value, (int, np.integer)):
        out = np.full(len(ids), int(value), dtype=np.int64)
    else:
        out = np.asarray(value, dtype=np.int64).reshape(-1)
        if len(out) != len(ids):
            raise InvalidProblem(f"{name} must have one value per item")
    if (out < 0).any():
        raise InvalidProblem(f"{name} must be >= 0")
    return out


class _Instance:
    """Index form of an AssignmentProblem.  Pairs are keys p * E + e (int64)."""

    def __init__(self, problem: AssignmentProblem, scale: float | None = None):
        self.proposals = list(problem.proposals)
        self.experts = list(problem.experts)
        P, E = self.P, self.E = len(self.proposals), len(self.experts)
        self.pindex = {p: i for i, p in enumerate(self.proposals)}
        self.eindex = {e: i for i, e in enumerate(self.experts)}
        if len(self.pindex) != P or len(self.eindex) != E:
            raise InvalidProblem("proposal and expert ids must be unique")

        # Units: codes 0..U-1, an expert without a unit gets one of its own.
        eu = problem.expert_unit
        raw = [eu.get(e) for e in self.experts] if isinstance(eu, Mapping) else list(eu)
        if len(raw) != E:
            raise InvalidProblem("expert_unit must give one unit per expert")
        codes: dict = {}
        unit = np.empty(E, dtype=np.int64)
        for i, u in enumerate(raw):
            key = ("\0own", i) if u is None else u
            unit[i] = codes.setdefault(key, len(codes))
        self.unit = unit
        self.U = U = max(len(codes), 1)
        self.unit_order = np.argsort(unit, kind="stable")
        su = unit[self.unit_order]
        self.unit_starts = np.flatnonzero(np.r_[True, su[1:] != su[:-1]]) if E else np.zeros(0, int)

        self.k = _per_item(problem.k, self.proposals, "k")
        self.m = _per_item(problem.m, self.experts, "m")

        conflicts = self._keys(problem.conflicts, strict=False)
        excluded = self._keys(problem.excluded, strict=False)
        self.conflicts = _unique(conflicts)

        # Affinity.
        aff = problem.affinity
        self.dense: np.ndarray | None = None
        if isinstance(aff, (Mapping, SparseAffinity)):
            if isinstance(aff, Mapping):
                items = list(aff.items())
                try:
                    pi = np.array([self.pindex[p] for (p, _), _ in items], dtype=np.int64)
                    ei = np.array([self.eindex[e] for (_, e), _ in items], dtype=np.int64)
                except KeyError as exc:
                    raise InvalidProblem(f"affinity names unknown id {exc.args[0]!r}") from None
                val = np.array([v for _, v in items], dtype=np.float64)
            else:
                pi = np.asarray(aff.proposal_index, dtype=np.int64).reshape(-1)
                ei = np.asarray(aff.expert_index, dtype=np.int64).reshape(-1)
                val = np.asarray(aff.value, dtype=np.float64).reshape(-1)
                if not (len(pi) == len(ei) == len(val)):
                    raise InvalidProblem("SparseAffinity arrays differ in length")
                if len(pi) and (pi.min() < 0 or pi.max() >= P or ei.min() < 0 or ei.max() >= E):
                    raise InvalidProblem("SparseAffinity index out of range")
            keys = pi * E + ei
            order = np.argsort(keys, kind="stable")
            self.all_keys, self.all_vals = keys[order], val[order]
            if len(keys) and (self.all_keys[1:] == self.all_keys[:-1]).any():
                raise InvalidProblem("affinity lists a pair twice")
            vals = self.all_vals
        else:
            A = np.asarray(aff)
            if A.dtype.kind not in "fiu":
                A = A.astype(np.float64)
            if A.shape != (P, E):
                raise InvalidProblem(f"affinity has shape {A.shape}, expected {(P, E)}")
            self.dense = A
            vals = A
        if np.size(vals):
            lo, hi = float(np.min(vals)), float(np.max(vals))
            if not (math.isfinite(lo) and math.isfinite(hi)) or lo < 0:
                raise InvalidProblem("affinities must be finite and >= 0")
        else:
            hi = 0.0
        if scale is None:
            scale = 10.0 ** math.floor(math.log10(_COST_RANGE / hi)) if hi > 0 else 1.0
        self.scale = float(scale)

        # Locked pairs.
        locked = _unique(self._keys(problem.locked, strict=True))
        bad = locked[_member(self.conflicts, locked)]
        if len(bad):
            raise InvalidProblem(f"locked pair {self._pair(bad[0])} is conflicted")
        bad = locked[_member(_unique(excluded), locked)]
        if len(bad):
            raise InvalidProblem(f"locked pair {self._pair(bad[0])} is excluded")
        self.locked = locked
        lp, le = locked // E if E else locked, locked % E if E else locked
        self.k_res = self.k - np.bincount(lp, minlength=P)
        self.m_res = self.m - np.bincount(le, minlength=E)
        if (self.k_res < 0).any():
            p = int(np.flatnonzero(self.k_res < 0)[0])
            raise InvalidProblem(f"{self.proposals[p]!r} has more locked experts than k")
        if (self.m_res < 0).any():
            e = int(np.flatnonzero(self.m_res < 0)[0])
            raise InvalidProblem(f"{self.experts[e]!r} has more locked proposals than m")
        blocked = lp * U + unit[le]
        self.blocked = _unique(blocked)
        if len(self.blocked) < len(blocked):
            dup = np.sort(blocked)
            dup = dup[1:][dup[1:] == dup[:-1]][0]
            raise InvalidProblem(
                f"{self.proposals[int(dup // U)]!r} has two locked experts of one unit"
            )
        self.banned = _unique(np.concatenate([self.conflicts, excluded, locked]))
        self.p_ok = self.k_res > 0
        self.e_ok = self.m_res > 0

        if self.dense is None:
            k_all = self.all_keys
            p_all, e_all = k_all // E, k_all % E
            ok = self.p_ok[p_all] & self.e_ok[e_all] & ~_member(self.banned, k_all)
            ok &= ~_member(self.blocked, p_all * U + unit[e_all])
            self.sk, self.sa = k_all[ok], self.all_vals[ok]

    # -- helpers -----------------------------------------------------------

    def _keys(self, pairs, strict: bool) -> np.ndarray:
        E, pindex, eindex = self.E, self.pindex, self.eindex
        pairs = list(pairs)
        if not pairs:
            return np.zeros(0, dtype=np.int64)
        try:  # fast path: every id known
            ps, es = zip(*pairs)
            pi = np.fromiter(map(pindex.__getitem__, ps), dtype=np.int64, count=len(ps))
            ei = np.fromiter(map(eindex.__getitem__, es), dtype=np.int64, count=len(es))
            return pi * E + ei
        except (KeyError, TypeError, ValueError):
            pass
        out = []
        for pair in pairs:
            p, e = pair
            pi, ei = pindex.get(p), eindex.get(e)
            if pi is None or ei is None:
                if strict:
                    raise InvalidProblem(f"pair {(p, e)!r} names an unknown id")
                continue
            out.append(pi * E + ei)
        return np.array(out, dtype=np.int64)

    def _pair(self, key) -> tuple:
        return self.proposals[int(key // self.E)], self.experts[int(key % self.E)]

    def to_int(self, a) -> np.ndarray:
        return np.rint(np.asarray(a, dtype=np.float64) * self.scale).astype(np.int64)

    def values(self, keys: np.ndarray) -> np.ndarray:
        """Float affinity of pairs (0.0 for an unlisted pair of a sparse affinity)."""
        keys = np.asarray(keys, dtype=np.int64)
        if self.dense is not None:
            return np.asarray(self.dense[keys // self.E, keys % self.E], dtype=np.float64)
        out = np.zeros(len(keys))
        if len(self.all_keys):
            pos = np.searchsorted(self.all_keys, keys)
            pos[pos == len(self.all_keys)] = 0
            hit = self.all_keys[pos] == keys
            out[hit] = self.all_vals[pos[hit]]
        return out

    def blocks(self):
        step = max(1, _BLOCK_CELLS // max(self.E, 1))
        for r0 in range(0, self.P, step):
            yield r0, min(self.P, r0 + step)

    def dense_mask(self, r0: int, r1: int, exclude: np.ndarray | None = None) -> np.ndarray:
        """Eligibility of the dense block rows r0..r1 (minus the `exclude` keys)."""
        E, U = self.E, self.U
        mask = np.empty((r1 - r0, E), dtype=bool)
        mask[:] = self.e_ok
        mask[~self.p_ok[r0:r1]] = False
        flat = mask.reshape(-1)
        for keys in (self.banned, exclude):
            if keys is not None and len(keys):
                lo, hi = np.searchsorted(keys, [r0 * E, r1 * E])
                flat[keys[lo:hi] - r0 * E] = False
        lo, hi = np.searchsorted(self.blocked, [r0 * U, r1 * U])
        if hi > lo:
            blk = np.zeros((r1 - r0, U), dtype=bool)
            blk.reshape(-1)[self.blocked[lo:hi] - r0 * U] = True
            mask &= ~blk[:, self.unit]
        return mask

    def eligible_arcs(self):
        """Yield (keys, values) of all eligible pairs, block by block, keys ascending."""
        if self.dense is None:
            yield self.sk, self.sa
            return
        for r0, r1 in self.blocks():
            mask = self.dense_mask(r0, r1)
            rr, cc = np.nonzero(mask)
            yield (rr + r0) * self.E + cc, self.dense[r0:r1][rr, cc]

    # -- scans -------------------------------------------------------------

    def unit_counts(self) -> tuple[np.ndarray, int]:
        """Per proposal: number of distinct units among its eligible experts; and the
        number of eligible pairs.  (Eligibility ignores k'_p = 0 here.)"""
        P, E, U = self.P, self.E, self.U
        saved = self.p_ok
        self.p_ok = np.ones(P, dtype=bool)
        try:
            counts = np.zeros(P, dtype=np.int64)
            n = 0
            if self.dense is None:
                k_all = self.all_keys
                p_all, e_all = k_all // E, k_all % E
                ok = self.e_ok[e_all] & ~_member(self.banned, k_all)
                ok &= ~_member(self.blocked, p_all * U + self.unit[e_all])
                pu = _unique(p_all[ok] * U + self.unit[e_all[ok]])
                counts = np.bincount(pu // U, minlength=P).astype(np.int64)
                n = int((ok & saved[p_all]).sum())
            else:
                own_units = U == E and len(self.unit_starts) == E
                for r0, r1 in self.blocks():
                    mask = self.dense_mask(r0, r1)
                    n += int(mask[saved[r0:r1]].sum())
                    if own_units or E == 0:
                        counts[r0:r1] = mask.sum(1)
                    else:
                        mu = np.logical_or.reduceat(
                            mask[:, self.unit_order], self.unit_starts, axis=1
                        )
                        counts[r0:r1] = mu.sum(1)
            return counts, n
        finally:
            self.p_ok = saved

    def top_candidates(self, C: int | None) -> np.ndarray:
        """Sorted keys of each proposal's best C eligible pairs (all of them if None)."""
        E = self.E
        if self.dense is None:
            if C is None:
                return self.sk.copy()
            p = self.sk // E
            order = np.lexsort((self.sk, -self.sa, p))
            ps = p[order]
            starts = np.flatnonzero(np.r_[True, ps[1:] != ps[:-1]]) if len(ps) else np.zeros(0, int)
            rank = np.arange(len(ps)) - np.repeat(starts, np.diff(np.r_[starts, len(ps)]))
            return np.sort(self.sk[order[rank < C]])
        out = []
        for r0, r1 in self.blocks():
            mask = self.dense_mask(r0, r1)
            if C is None or C >= E:
                rr, cc = np.nonzero(mask)
            else:
                Am = np.where(mask, self.dense[r0:r1], -np.inf)
                part = np.argpartition(Am, E - C, axis=1)[:, E - C:]
                sel = np.take_along_axis(Am, part, axis=1) > -np.inf
                rr = np.nonzero(sel)[0]
                cc = part[sel]
            out.append((rr + r0).astype(np.int64) * E + cc)
        return np.sort(np.concatenate(out)) if out else np.zeros(0, np.int64)

    def _targets(self, p: np.ndarray, e: np.ndarray, per_p: np.ndarray, g_keys, per_g):
        """Value at each pair's target node: G_{p,u(e)} if the network has it, else P_p."""
        out = per_p[p].copy()
        if len(g_keys):
            gk = p * self.U + self.unit[e]
            hit = _member(g_keys, gk)
            out[hit] = per_g[np.searchsorted(g_keys, gk[hit])]
        return out

    def price(self, net: _Network, d: np.ndarray) -> np.ndarray:
        """Eligible pairs outside the network with negative reduced cost under d."""
        E, U = self.E, self.U
        dE, dP, dG = net.split(d)
        found = []
        if self.dense is None:
            rest = ~_member(net.keys, self.sk)
            k, a = self.sk[rest], self.sa[rest]
            p, e = k // E, k % E
            rc = -self.to_int(a) + dE[e] - self._targets(p, e, dP, net.g_keys, dG)
            return k[rc < 0]
        for r0, r1 in self.blocks():
            mask = self.dense_mask(r0, r1, exclude=net.keys)
            tp = np.repeat(dP[r0:r1, None], U, axis=1)
            lo, hi = np.searchsorted(net.g_keys, [r0 * U, r1 * U])
            tp.reshape(-1)[net.g_keys[lo:hi] - r0 * U] = dG[lo:hi]
            rc = dE[None, :] - tp[:, self.unit] - self.to_int(self.dense[r0:r1])
            rr, cc = np.nonzero(mask & (rc < 0))
            found.append((rr + r0).astype(np.int64) * E + cc)
        return np.concatenate(found) if found else np.zeros(0, np.int64)

    def cut_arcs(self, net: _Network, reached: np.ndarray, per_proposal: int | None) -> np.ndarray:
        """Eligible pairs outside the network that cross the residual cut (R, not R): at
        most `per_proposal` per proposal, the ones of highest affinity (all if None)."""
        E, U = self.E, self.U
        rE, rP, rG = net.split(reached)
        if self.dense is None:
            rest = ~_member(net.keys, self.sk)
            k, a = self.sk[rest], self.sa[rest]
            p, e = k // E, k % E
            cross = rE[e] & ~rP[p] & ~self._targets(p, e, rP, net.g_keys, rG)
            k, a, p = k[cross], a[cross], p[cross]
            if per_proposal is not None and len(k):
                order = np.lexsort((k, -a, p))
                ps = p[order]
                starts = np.flatnonzero(np.r_[True, ps[1:] != ps[:-1]])
                rank = np.arange(len(ps)) - np.repeat(starts, np.diff(np.r_[starts, len(ps)]))
                k = np.sort(k[order[rank < per_proposal]])
            return k
        found = []
        for r0, r1 in self.blocks():
            rows = np.flatnonzero(self.p_ok[r0:r1] & ~rP[r0:r1]) + r0
            if len(rows) == 0:
                continue
            mask = self.dense_mask(r0, r1, exclude=net.keys)[rows - r0]
            tp = np.repeat(rP[rows, None], U, axis=1)
            lo, hi = np.searchsorted(net.g_keys, [r0 * U, r1 * U])
            gk = net.g_keys[lo:hi]
            keep = np.isin(gk // U, rows)
            if keep.any():
                where = np.searchsorted(rows, gk[keep] // U)
                tp[where, gk[keep] % U] = rG[lo:hi][keep]
            cross = mask & rE[None, :] & ~tp[:, self.unit]
            if per_proposal is None or per_proposal >= E:
                rr, cc = np.nonzero(cross)
            else:
                Am = np.where(cross, self.dense[rows], -np.inf)
                part = np.argpartition(Am, E - per_proposal, axis=1)[:, E - per_proposal:]
                sel = np.take_along_axis(Am, part, axis=1) > -np.inf
                rr = np.nonzero(sel)[0]
                cc = part[sel]
            found.append(rows[rr].astype(np.int64) * E + cc)
        return np.sort(np.concatenate(found)) if found else np.zeros(0, np.int64)


# ---------------------------------------------------------------------------
# The flow network
# ---------------------------------------------------------------------------


class _Network:
    """S=0, T=1, experts 2.., proposals, then the (proposal, unit) nodes G."""

    def __init__(self, inst: _Instance, keys: np.ndarray):
        P, E, U = inst.P, inst.E, inst.U
        self.inst, self.keys = inst, keys
        p, e = keys // E, keys % E
        self.aint = inst.to_int(inst.values(keys))
        gk = p * U + inst.unit[e]
        order = np.argsort(gk, kind="stable")
        sg = gk[order]
        first = np.r_[True, sg[1:] != sg[:-1]] if len(sg) else np.zeros(0, bool)
        starts = np.flatnonzero(first)
        cnt = np.diff(np.r_[starts, len(sg)])
        ug = sg[starts]
        inv = np.empty(len(gk), dtype=np.int64)
        inv[order] = np.cumsum(first) - 1
        multi = cnt >= 2
        gid = np.full(len(ug), -1, dtype=np.int64)
        gid[multi] = np.arange(int(multi.sum()))
        self.g_keys = ug[multi]
        nG = len(self.g_keys)
        self.EB, self.PB, self.GB = 2, 2 + E, 2 + E + P
        self.N = self.GB + nG
        g_of_arc = gid[inv]
        cand_head = np.where(g_of_arc >= 0, self.GB + g_of_arc, self.PB + p)
        es = np.flatnonzero(inst.e_ok)
        ps = np.flatnonzero(inst.p_ok)
        self.tails = np.concatenate(
            [np.zeros(len(es), np.int64), self.EB + e, self.GB + np.arange(nG), self.PB + ps]
        ).astype(np.int32)
        self.heads = np.concatenate(
            [self.EB + es, cand_head, self.PB + self.g_keys // U, np.ones(len(ps), np.int64)]
        ).astype(np.int32)
        self.caps = np.concatenate(
            [inst.m_res[es], np.ones(len(keys) + nG, np.int64), inst.k_res[ps]]
        ).astype(np.int64)
        self.costs = np.concatenate(
            [np.zeros(len(es), np.int64), -self.aint, np.zeros(nG + len(ps), np.int64)]
        )
        self.cand = slice(len(es), len(es) + len(keys))
        self.pt = slice(len(self.tails) - len(ps), len(self.tails))
        self.ps = ps
        self.demand = int(inst.k_res[ps].sum())

    @property
    def arcs(self) -> int:
        return len(self.tails)

    def split(self, node_values: np.ndarray):
        P, E = self.inst.P, self.inst.E
        v = node_values
        return v[self.EB:self.EB + E], v[self.PB:self.PB + P], v[self.GB:self.N]

    def solve(self) -> None:
        from ortools.graph.python import min_cost_flow

        smcf = min_cost_flow.SimpleMinCostFlow()
        arcs = smcf.add_arcs_with_capacity_and_unit_cost(
            self.tails, self.heads, self.caps, self.costs
        )
        smcf.set_node_supply(0, self.demand)
        smcf.set_node_supply(1, -self.demand)
        status = smcf.solve_max_flow_with_min_cost()
        if status != smcf.OPTIMAL:
            raise RuntimeError(f"min cost flow failed with status {status}")
        self.flow = np.asarray(smcf.flows(arcs), dtype=np.int64)
        self.value = int(self.flow[self.pt].sum())
        del smcf

    def residual(self):
        fwd = self.flow < self.caps
        bwd = self.flow > 0
        src = np.concatenate([self.tails[fwd], self.heads[bwd]]).astype(np.int64)
        dst = np.concatenate([self.heads[fwd], self.tails[bwd]]).astype(np.int64)
        w = np.concatenate([self.costs[fwd], -self.costs[bwd]])
        return src, dst, w

    def potentials(self) -> tuple[np.ndarray | None, int]:
        """Bellman-Ford (all distances start at 0: a virtual root) on the residual graph;
        only arcs leaving a node that changed in the last pass are relaxed.  Returns
        (d, passes), or (None, passes) if the graph has a negative cycle."""
        src, dst, w = self.residual()
        d = np.zeros(self.N, dtype=np.int64)
        changed = np.ones(self.N, dtype=bool)
        passes = 0
        while True:
            act = changed[src]
            if not act.any():
                break
            passes += 1
            if passes > self.N + 1:
                return None, passes
            s, t = src[act], dst[act]
            cand = d[s] + w[act]
            better = cand < d[t]
            if not better.any():
                break
            t, cand = t[better], cand[better]
            new = d.copy()
            np.minimum.at(new, t, cand)
            changed = new < d
            d = new
        # Sanity: every residual arc has reduced cost >= 0.
        if (w + d[src] - d[dst] < 0).any():  # pragma: no cover - would be a bug
            return None, passes
        return d, passes

    def reachable(self) -> np.ndarray:
        src, dst, _ = self.residual()
        reached = np.zeros(self.N, dtype=bool)
        reached[0] = True
        frontier = reached.copy()
        while True:
            nxt = dst[frontier[src]]
            nxt = nxt[~reached[nxt]]
            if len(nxt) == 0:
                return reached
            reached[nxt] = True
            frontier = np.zeros(self.N, dtype=bool)
            frontier[nxt] = True

    def chosen(self) -> np.ndarray:
        return self.keys[self.flow[self.cand] > 0]

    def proposal_flow(self) -> np.ndarray:
        out = np.zeros(self.inst.P, dtype=np.int64)
        out[self.ps] = self.flow[self.pt]
        return out


# ---------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------


def _diagnose(inst: _Instance) -> tuple[list[Shortfall], int]:
    counts, eligible = inst.unit_counts()
    n_locked = inst.k - inst.k_res
    available = n_locked + counts
    out = [
        Shortfall(inst.proposals[i], int(inst.k[i]), int(available[i]), "units")
        for i in np.flatnonzero(available < inst.k)
    ]
    need, offer = int(inst.k.sum()), int(inst.m.sum())
    if offer < need:
        out.append(Shortfall(None, need, offer, "capacity"))
    return out, eligible


def diagnose(problem: AssignmentProblem) -> list[Shortfall]:
    """Before solving: the proposals with fewer than k eligible experts from distinct units
    (after conflicts, exclusions, locked pairs and full experts), and a round-level
    shortfall when sum(m) < sum(k).  An empty list does not promise feasibility (the
    experts may still be too few for several proposals together); :func:`solve` finds that
    out and names the proposals left short."""
    return _diagnose(_Instance(problem))[0]


def _result(
    inst: _Instance, keys: np.ndarray, stats: SolverStats, shortfalls=()
) -> AssignmentResult:
    keys = np.concatenate([np.asarray(keys, np.int64), inst.locked])
    vals = inst.values(keys)
    order = np.lexsort((keys % max(inst.E, 1), -vals, keys // max(inst.E, 1)))
    pairs, aff = [], {}
    for key, v in zip(keys[order].tolist(), vals[order].tolist()):
        pair = inst._pair(key)
        pairs.append(pair)
        aff[pair] = v
    locked = [inst._pair(k) for k in inst.locked.tolist()]
    return AssignmentResult(
        pairs=pairs,
        affinity=aff,
        total_affinity=float(math.fsum(vals)),
        stats=stats,
        locked=locked,
        shortfalls=list(shortfalls),
    )


def solve(
    problem: AssignmentProblem,
    *,
    candidates: int | None = DEFAULT_CANDIDATES,
    certify: bool = True,
    scale: float | None = None,
    max_rounds: int = 50,
) -> AssignmentResult:
    """Maximum total affinity under (K), (M), (C), (U), (L); see the module docstring.

    ``candidates``: initial arcs per proposal (its best eligible pairs); ``None`` builds the
    full network.  The arc set is enlarged until the network is feasible (or proven
    infeasible) and, with ``certify``, until the dual certificate proves the result optimal
    for the full network.  After ``max_rounds`` networks the full one is solved.
    Raises :class:`Infeasible` (with the diagnosis, or the proposals left short by a maximum
    flow) and :class:`InvalidProblem`."""
    t0, c0 = time.perf_counter(), time.process_time()
    phases: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        phases[name] = phases.get(name, 0.0) + now - since
        return now

    inst = _Instance(problem, scale=scale)
    t = lap("compile", t0)
    shortfalls, eligible = _diagnose(inst)
    t = lap("diagnose", t)
    if shortfalls:
        raise Infeasible(shortfalls)
    stats = SolverStats(
        method="min-cost flow", candidates=candidates, eligible_pairs=eligible, scale=inst.scale
    )
    if int(inst.k_res.sum()) == 0:
        stats.proven_optimal, stats.note = True, "everything locked"
        stats.seconds = time.perf_counter() - t0
        stats.cpu_seconds = time.process_time() - c0
        return _result(inst, np.zeros(0, np.int64), stats)

    keys = inst.top_candidates(candidates)
    t = lap("candidates", t)
    notes = []
    # Feasibility fallback: crossing arcs added per short proposal, doubling each round.
    grow: int | None = max(10, 2 * int(inst.k_res.max()))
    while True:
        stats.rounds += 1
        net = _Network(inst, keys)
        t = lap("build", t)
        net.solve()
        t = lap("min_cost_flow", t)
        full = len(keys) == eligible
        stats.arcs, stats.nodes = net.arcs, net.N
        if net.value < net.demand:
            add = np.zeros(0, np.int64)
            if not full:
                add = inst.cut_arcs(net, net.reachable(), grow)
                grow = None if grow is None or grow >= inst.E else 2 * grow
            t = lap("feasibility_pricing", t)
            if len(add) == 0:
                got = net.proposal_flow() + (inst.k - inst.k_res)
                short = [
                    Shortfall(inst.proposals[i], int(inst.k[i]), int(got[i]), "flow")
                    for i in np.flatnonzero(got < inst.k)
                ]
                raise Infeasible(short)
            stats.arcs_added_for_feasibility += len(add)
        elif full:
            stats.proven_optimal = True
            notes.append("the network holds every eligible pair (the full network)")
            break
        elif not certify:
            stats.proven_optimal = None
            notes.append("pruned network, not certified")
            break
        else:
            d, passes = net.potentials()
            t = lap("potentials", t)
            if d is None:  # pragma: no cover - cannot happen for an optimal flow
                add = None
            else:
                add = inst.price(net, d)
            t = lap("optimality_pricing", t)
            if add is not None and len(add) == 0:
                stats.proven_optimal = True
                notes.append(
                    f"optimal for the full network: no pruned-away pair has negative reduced "
                    f"cost (Bellman-Ford potentials, {passes} passes)"
                )
                break
            if add is None:
                add = inst.top_candidates(None)
            stats.arcs_added_by_pricing += len(add)
        if stats.rounds >= max_rounds:
            notes.append(f"{stats.rounds} rounds: switched to the full network")
            keys = inst.top_candidates(None)
        else:
            keys = _unique(np.concatenate([keys, add]))
        t = lap("merge", t)
    stats.note = "; ".join(notes)
    stats.phases = phases
    result_keys = net.chosen()
    stats.seconds = time.perf_counter() - t0
    stats.cpu_seconds = time.process_time() - c0
    return _result(inst, result_keys, stats)


def greedy(problem: AssignmentProblem) -> AssignmentResult:
    """Baseline for comparison only: all eligible pairs by decreasing affinity (ties by
    proposal then expert order), each taken if the proposal still needs an expert, the
    expert has room and the proposal has no expert of that unit yet.  Locked pairs come
    first.  Proposals left short are in ``result.shortfalls`` (no exception)."""
    t0, c0 = time.perf_counter(), time.process_time()
    inst = _Instance(problem)
    E, U = inst.E, inst.U
    if inst.dense is None:
        keys, vals = inst.sk, -inst.sa
    else:  # two passes, to hold the ~E*P eligible pairs once
        n = sum(int(inst.dense_mask(r0, r1).sum()) for r0, r1 in inst.blocks())
        keys = np.empty(n, dtype=np.int64)
        vals = np.empty(n, dtype=inst.dense.dtype if inst.dense.dtype.kind == "f" else np.float64)
        at = 0
        for kk, vv in inst.eligible_arcs():
            keys[at:at + len(kk)] = kk
            vals[at:at + len(kk)] = vv
            at += len(kk)
        np.negative(vals, out=vals)
    order = np.argsort(vals, kind="stable")
    del vals
    need = inst.k_res.copy()
    room = inst.m_res.copy()
    used = set(inst.blocked.tolist())
    unit = inst.unit
    left = int(need.sum())
    taken: list[int] = []
    step = 1 << 16
    for s0 in range(0, len(order), step):
        if left == 0:
            break
        kk = keys[order[s0:s0 + step]]
        p, e = kk // E, kk % E
        ok = (need[p] > 0) & (room[e] > 0)
        for key, pi, ei in zip(kk[ok].tolist(), p[ok].tolist(), e[ok].tolist()):
            if need[pi] <= 0 or room[ei] <= 0:
                continue
            g = pi * U + int(unit[ei])
            if g in used:
                continue
            used.add(g)
            need[pi] -= 1
            room[ei] -= 1
            taken.append(key)
            left -= 1
            if left == 0:
                break
    del keys, order
    short = [
        Shortfall(inst.proposals[i], int(inst.k[i]), int(inst.k[i] - need[i]), "greedy")
        for i in np.flatnonzero(need > 0)
    ]
    stats = SolverStats(method="greedy", scale=inst.scale)
    stats.seconds = time.perf_counter() - t0
    stats.cpu_seconds = time.process_time() - c0
    stats.note = "baseline" if not short else f"baseline; {len(short)} proposals left short"
    return _result(inst, np.array(taken, dtype=np.int64), stats, short)


def replacement(
    problem: AssignmentProblem,
    current_pairs: Iterable[tuple[Hashable, Hashable]],
    proposal: Hashable,
    declined_expert: Hashable,
) -> Hashable | None:
    """The best expert to replace ``declined_expert`` on ``proposal``.

    ``current_pairs`` is the round's current assignment (locked pairs are added if
    missing); the declined pair is dropped from it.  The replacement is the eligible expert
    of highest affinity (first in ``problem.experts`` on a tie) that is not conflicted or
    excluded for the proposal, is not the decliner, is not already on it, has no colleague
    of its unit on it, and has room under m given its current load.  ``None`` if the
    proposal still has k experts without the decliner, or if nobody qualifies."""
    inst = _Instance(problem)
    E, U = inst.E, inst.U
    if proposal not in inst.pindex:
        raise InvalidProblem(f"unknown proposal {proposal!r}")
    pi = inst.pindex[proposal]
    di = inst.eindex.get(declined_expert)
    current = set(inst._keys(current_pairs, strict=True).tolist()) | set(inst.locked.tolist())
    if di is not None:
        current.discard(pi * E + di)
    cur = np.array(sorted(current), dtype=np.int64)
    load = np.bincount(cur % E, minlength=E) if len(cur) else np.zeros(E, np.int64)
    on_p = cur[cur // E == pi] % E
    if len(on_p) >= inst.k[pi]:
        return None
    ok = load < inst.m
    ok[on_p] = False
    if di is not None:
        ok[di] = False
    taken_units = np.zeros(U, dtype=bool)
    taken_units[inst.unit[on_p]] = True
    ok &= ~taken_units[inst.unit]
    row_keys = pi * E + np.arange(E, dtype=np.int64)
    ok &= ~_member(inst.conflicts, row_keys)
    ok &= ~_member(_unique(inst._keys(problem.excluded, strict=False)), row_keys)
    if inst.dense is not None:
        a = np.asarray(inst.dense[pi], dtype=np.float64)
    else:
        a = np.full(E, -np.inf)
        lo, hi = np.searchsorted(inst.all_keys, [pi * E, (pi + 1) * E])
        a[inst.all_keys[lo:hi] - pi * E] = inst.all_vals[lo:hi]
    a = np.where(ok, a, -np.inf)
    if E == 0 or not np.isfinite(a.max()):
        return None
    return inst.experts[int(np.argmax(a))]
