"""Siting models on a coverage or cost matrix: exact with ``scipy.optimize.milp`` (HiGHS), greedy as fallback.

Rows are candidate sites, columns demand points (residents not yet covered by
the facilities that stay). Every solver returns a ``Solution`` that says which
method answered (``milp`` or ``greedy``), whether it is proven optimal, and the
optimality gap. ``scipy.optimize.milp`` takes no starting solution, so the greedy
answer is computed first and kept as the answer whenever the solver does not
beat it (time limit hit with a worse incumbent, or no solution at all). For the
MCLP, greedy's answer is often proven optimal by the linear relaxation's bound
alone (``analysis._mclp_bound``), with no MILP at all.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

# scipy.optimize is imported in the solvers below: it is slow to import (0.1-0.3 s) and only siting needs it
from analysis._mclp_bound import could_beat, greedy_seeds, lp_bound
from geo.errors import InputError
from geo.notes import note

__all__ = [
    "InfeasibleError",
    "MclpModel",
    "Solution",
    "greedy_max_coverage",
    "mclp_model",
    "solve_lscp",
    "solve_mclp",
    "solve_pmedian",
]

TIME_LIMIT_S = 60.0
#: The relative optimality gap at which an answer counts as optimal (HiGHS's ``mip_rel_gap`` too).
REL_GAP = 1e-6
#: The share of an MCLP's time limit the LP bound may take; the MILP has the rest.
BOUND_SHARE = 0.25


class InfeasibleError(InputError):
    """The asked-for coverage cannot be reached with these candidates; the message says how far it can go."""


@dataclass(frozen=True)
class Solution:
    """A siting answer: the chosen candidate rows and how it was found."""

    chosen: np.ndarray  #: candidate rows, best first (by what each adds, in greedy order)
    objective: float  #: weight covered (MCLP, LSCP) or weighted cost (p-median)
    method: str  #: "milp" (HiGHS) or "greedy"
    optimal: bool  #: proven optimal
    gap: float  #: relative optimality gap: 0 when proven optimal, NaN when unknown
    notes: list[str] = field(default_factory=list)


def greedy_max_coverage(cover: sp.csr_matrix, weight: np.ndarray, k: int) -> list[tuple[int, float]]:
    """Pick up to ``k`` rows of a boolean candidates x points matrix, each adding the most weight.

    Returns ``[(candidate row, weight added), ...]``; stops early when no
    candidate adds anything. Ties go to the lowest row, so runs are repeatable.

    Examples
    --------
    >>> cover = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 1], [0, 0, 1]], dtype=bool))
    >>> greedy_max_coverage(cover, np.array([5.0, 1.0, 4.0]), 2)
    [(0, 6.0), (1, 4.0)]
    """
    cover = sp.csr_matrix(cover, dtype=float)
    left = np.asarray(weight, dtype=float).copy()
    picked: list[tuple[int, float]] = []
    for _ in range(k):
        gain = cover @ left
        best = int(np.argmax(gain))
        if gain[best] <= 0:
            break
        picked.append((best, float(gain[best])))
        left[cover[best].indices] = 0.0
    return picked


def _covering_rows(cover: sp.csr_matrix, weight: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Points as rows of A (points x candidates), merged where the same candidates cover them.

    Points no candidate covers, or of no weight, are dropped; points with the
    same covering set become one row carrying their summed weight (the model
    is unchanged, and much smaller where residents cluster). Returns
    (A, weights, kept mask of the original points).
    """
    a = sp.csr_matrix(cover, dtype=float).T.tocsr()
    a.sort_indices()
    w = np.asarray(weight, dtype=float)
    keep = (np.diff(a.indptr) > 0) & (w > 0)
    a, w = a[keep], w[keep]
    keys = [a.indices[a.indptr[i] : a.indptr[i + 1]].tobytes() for i in range(a.shape[0])]
    label = pd.factorize(pd.Series(keys, dtype=object))[0]
    first = np.unique(label, return_index=True)[1]  # the first point of each label, labels in order
    return a[first], np.bincount(label, weights=w), keep


def _undominated(a: sp.csr_matrix, *, chunk: int = 4000) -> np.ndarray:
    """The candidates (columns of A, points x candidates) whose covered points no other candidate's strictly contain.

    A candidate that covers only points another one also covers can be swapped
    for it without losing anyone, so some optimum of the MCLP avoids it; of
    candidates covering the same points, the first is kept. The overlaps are
    counted chunk by chunk (``A_chunk^T A``), so memory stays bounded.
    """
    cols = sp.csr_matrix(a.T, dtype=np.int32)
    size = np.diff(cols.indptr)
    by_point = cols.T.tocsr()
    dominated = np.zeros(cols.shape[0], dtype=bool)
    for lo in range(0, cols.shape[0], chunk):
        ov = (cols[lo : lo + chunk] @ by_point).tocoo()
        r, c = ov.row + lo, ov.col
        inside = (ov.data == size[r]) & (c != r) & ((size[c] > size[r]) | (c < r))
        dominated[r[inside]] = True
    return np.flatnonzero(~dominated & (size > 0))


def _order_by_gain(cover: sp.csr_matrix, weight: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Chosen rows in greedy order of what each adds, so the first site is the most useful."""
    sub = sp.csr_matrix(cover)[rows]
    order = [rows[r] for r, _ in greedy_max_coverage(sub, weight, len(rows))]
    return np.array(order + [r for r in rows if r not in order], dtype=np.int64)


def _solve(c, integrality, bounds, constraints, *, time_limit_s, rel_gap=REL_GAP, presolve=True):
    from scipy.optimize import milp

    return milp(
        c=c,
        integrality=integrality,
        bounds=bounds,
        constraints=constraints,
        options={"time_limit": time_limit_s, "mip_rel_gap": rel_gap, "disp": False, "presolve": presolve},
    )


def solve_mclp(
    cover: sp.csr_matrix,
    weight: np.ndarray,
    k: int,
    *,
    capacity: float | None = None,
    time_limit_s: float = TIME_LIMIT_S,
    model: MclpModel | None = None,
) -> Solution:
    """Maximal covering location problem: ``k`` sites that cover the most weight.

    maximise sum_i w_i y_i subject to y_i <= sum_j a_ij x_j, sum_j x_j = k,
    x_j in {0, 1}, 0 <= y_i <= 1 (Church and ReVelle 1974).

    Greedy's answer is tried first: when the linear relaxation's bound
    (``analysis._mclp_bound``) meets it within ``REL_GAP``, it is proven optimal
    and no MILP is solved. Otherwise HiGHS solves the MILP over the candidates
    that bound leaves able to beat greedy's answer.

    With ``capacity``, each site serves at most that much weight: assignment
    shares z_ij in [0, 1] on covering pairs, sum_j z_ij <= 1,
    sum_i w_i z_ij <= capacity x_j, and the objective is sum_ij w_i z_ij.

    Parameters
    ----------
    cover
        Boolean candidates x points: which candidate reaches which point in time.
    weight
        Residents per point.
    k
        How many sites.
    capacity
        The most weight one site serves; ``None`` for no cap.
    time_limit_s
        The solver's time limit in seconds; past it the best answer found (or greedy's) is kept.
    model
        ``mclp_model(cover, weight)`` when already built (a curve solves many k on one model).

    Returns
    -------
    Solution
        The chosen rows, best first, and how they were found.

    Examples
    --------
    >>> cover = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]], dtype=bool))
    >>> s = solve_mclp(cover, np.array([3.0, 1.0, 1.0, 3.0]), 2)
    >>> sorted(s.chosen.tolist()), s.objective, s.optimal
    ([0, 2], 8.0, True)
    """
    cover = sp.csr_matrix(cover, dtype=bool)
    n_c = cover.shape[0]
    k = min(int(k), n_c)
    if capacity is not None:
        return _capacitated_mclp(cover, weight, k, capacity, time_limit_s)
    greedy = greedy_max_coverage(cover, weight, k)
    g_rows = np.array([r for r, _ in greedy], dtype=np.int64)
    g_obj = float(sum(g for _, g in greedy))
    if k == 1 and greedy:  # the best single candidate is the optimum: no solver needed (a city's HiGHS run is not)
        return Solution(g_rows, g_obj, "greedy", True, 0.0, ["one site: the best single candidate is optimal"])
    model = mclp_model(cover, weight) if model is None else model
    if model.a.shape[0] == 0 or k == 0:
        return Solution(np.empty(0, np.int64), 0.0, "greedy", True, 0.0, [note("nothing_left")])
    k_m = min(k, len(model.keep))
    seeds = greedy_seeds(model.a.T, model.w, k_m)
    start = time.perf_counter()
    bound = lp_bound(model.a, model.w, k_m, g_obj, seeds, rel_gap=REL_GAP, deadline=start + BOUND_SHARE * time_limit_s)
    if bound is not None and bound.upper - g_obj <= REL_GAP * abs(bound.upper):
        return Solution(g_rows, g_obj, "greedy", True, 0.0)  # proven by the bound
    alive = np.ones(len(model.keep), bool) if bound is None else could_beat(bound, g_obj, rel_gap=REL_GAP)
    if alive.sum() < k_m:  # every choice of k_m sites holds one that cannot beat greedy's
        return Solution(g_rows, g_obj, "greedy", True, 0.0)
    cols = np.flatnonzero(alive)
    a, w, _ = _covering_rows(sp.csr_matrix(model.a[:, cols].T), model.w)
    res = _solve_mclp_milp(a, w, k_m, time_limit_s=max(time_limit_s - (time.perf_counter() - start), 0.1))
    upper = np.inf if bound is None else bound.upper
    return _pick(res, model.keep[cols], g_rows, g_obj, upper=upper, cover=cover, weight=weight)


@dataclass(frozen=True)
class MclpModel:
    """The MCLP as the solvers see it: points merged by covering set, dominated candidates left out."""

    a: sp.csr_matrix  #: points x model candidates, 1 where the candidate covers the point
    w: np.ndarray  #: weight per model point
    keep: np.ndarray  #: the model's candidates, as rows of the cover they came from


def mclp_model(cover: sp.csr_matrix, weight: np.ndarray) -> MclpModel:
    """The reduced MCLP of a coverage: the same optimum, much smaller where residents cluster.

    Parameters
    ----------
    cover
        Boolean candidates x points.
    weight
        Residents per point.

    Returns
    -------
    MclpModel
        Points merged by covering set and undominated candidates only (``_covering_rows``, ``_undominated``).
    """
    a, w, _ = _covering_rows(cover, weight)
    if a.shape[0] == 0:
        return MclpModel(a, w, np.empty(0, np.int64))
    keep = _undominated(a)  # only candidates no other one outdoes; the points are then merged again on them
    a, w, _ = _covering_rows(sp.csr_matrix(a[:, keep].T), w)
    return MclpModel(a, w, keep)


def _solve_mclp_milp(a: sp.csr_matrix, w: np.ndarray, k: int, *, time_limit_s: float):
    """HiGHS on the MCLP of points x candidates ``a``: x (candidates, binary), y (points, continuous)."""
    from scipy.optimize import Bounds, LinearConstraint

    n_m, n_p = a.shape[1], a.shape[0]
    link = sp.hstack([-a, sp.identity(n_p)]).tocsr()  # y_i - sum_j a_ij x_j <= 0
    count = sp.hstack([sp.csr_matrix(np.ones((1, n_m))), sp.csr_matrix((1, n_p))])
    return _solve(
        np.concatenate([np.zeros(n_m), -w]),
        np.concatenate([np.ones(n_m), np.zeros(n_p)]),
        Bounds(0, 1),
        [LinearConstraint(link, -np.inf, 0), LinearConstraint(count, k, k)],
        time_limit_s=time_limit_s,
        presolve=False,  # HiGHS's presolve takes most of the time on a city's coverage (25 s of 31 at 100k)
    )


def _capacitated_mclp(cover, weight, k, capacity, time_limit_s) -> Solution:
    from scipy.optimize import Bounds, LinearConstraint

    n_c = cover.shape[0]
    pairs = sp.coo_matrix(cover)
    keep = np.asarray(weight)[pairs.col] > 0
    cand, pt = pairs.row[keep], pairs.col[keep]
    w = np.asarray(weight, dtype=float)
    n_z = len(cand)
    if n_z == 0:
        return Solution(np.empty(0, np.int64), 0.0, "greedy", True, 0.0, [note("nothing_left")])
    # variables: x (n_c binary), z (n_z continuous in [0, 1])
    c = np.concatenate([np.zeros(n_c), -w[pt]])
    z_idx = np.arange(n_z)
    one_each = sp.csr_matrix((np.ones(n_z), (pt, z_idx)), shape=(len(w), n_z))
    serve = sp.csr_matrix((w[pt], (cand, z_idx)), shape=(n_c, n_z))
    open_ = sp.csr_matrix((np.ones(n_z), (z_idx, z_idx)), shape=(n_z, n_z))
    opened = sp.csr_matrix((-np.ones(n_z), (z_idx, cand)), shape=(n_z, n_c))
    cons = [
        LinearConstraint(sp.hstack([sp.csr_matrix((len(w), n_c)), one_each]), -np.inf, 1),
        LinearConstraint(sp.hstack([-capacity * sp.identity(n_c), serve]), -np.inf, 0),
        LinearConstraint(sp.hstack([opened, open_]), -np.inf, 0),
        LinearConstraint(sp.hstack([sp.csr_matrix(np.ones((1, n_c))), sp.csr_matrix((1, n_z))]), k, k),
    ]
    res = _solve(c, np.concatenate([np.ones(n_c), np.zeros(n_z)]), Bounds(0, 1), cons, time_limit_s=time_limit_s)
    if res.x is None:
        return Solution(np.empty(0, np.int64), 0.0, "greedy", False, np.nan, [f"solver: {res.message}"])
    chosen = np.flatnonzero(res.x[:n_c] > 0.5)
    gap = float(res.mip_gap) if res.mip_gap is not None else np.nan
    return Solution(_order_by_gain(cover, weight, chosen), float(-res.fun), "milp", res.status == 0, gap)


def _pick(res, rows, g_rows, g_obj, *, upper, cover, weight) -> Solution:
    """The MILP's answer when it is at least as good as greedy, else greedy; with an honest gap.

    ``rows`` maps the MILP's candidate variables (the first ``len(rows)``) back to
    rows of ``cover``; the MILP holds only candidates that may beat greedy, so a
    proven optimum below greedy's proves greedy's. ``upper`` bounds every choice.
    """
    notes = []
    obj = float(-res.fun) if res.x is not None else -np.inf
    if res.x is not None and obj >= g_obj - 1e-9:
        chosen = rows[np.flatnonzero(res.x[: len(rows)] > 0.5)]
        gap = 0.0 if res.status == 0 else (float(res.mip_gap) if res.mip_gap is not None else np.nan)
        if res.status != 0:
            notes.append(note("solver_gap", gap=gap, message=res.message))
        return Solution(_order_by_gain(cover, weight, chosen), obj, "milp", res.status == 0, gap, notes)
    if res.status == 0:  # nothing among the candidates left beats greedy
        return Solution(g_rows, g_obj, "greedy", True, 0.0)
    if res.mip_dual_bound is not None and np.isfinite(res.mip_dual_bound):  # those left out cannot beat greedy
        upper = min(upper, max(float(-res.mip_dual_bound), g_obj + REL_GAP * abs(upper)))
    singles = np.sort(np.asarray(sp.csr_matrix(cover, dtype=float) @ np.asarray(weight, dtype=float)))
    upper = min(upper, float(singles[-max(len(g_rows), 1) :].sum()))  # k sites cover at most the k best alone
    gap = abs(upper - g_obj) / max(abs(upper), 1e-9) if np.isfinite(upper) else np.nan
    notes.append(note("greedy_kept", message=res.message))
    return Solution(g_rows, g_obj, "greedy", False, gap, notes)


def solve_lscp(
    cover: sp.csr_matrix,
    weight: np.ndarray,
    need: float,
    *,
    time_limit_s: float = TIME_LIMIT_S,
    what: str = "the coverage target",
) -> Solution:
    """Location set covering with a target: the fewest sites that cover at least ``need`` weight.

    minimise sum_j x_j subject to sum_i w_i y_i >= need, y_i <= sum_j a_ij x_j,
    x_j in {0, 1}, 0 <= y_i <= 1 (Toregas et al. 1971, with partial coverage).
    Raises ``InfeasibleError`` when even every candidate together covers less.

    Parameters
    ----------
    cover
        Boolean candidates x points: which candidate reaches which point in time.
    weight
        Residents per point.
    need
        The weight (residents) to cover.
    time_limit_s
        The solver's time limit in seconds.
    what
        What is asked, for the message when it cannot be reached.

    Returns
    -------
    Solution
        The chosen rows, best first, and how they were found.

    Examples
    --------
    >>> cover = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]], dtype=bool))
    >>> solve_lscp(cover, np.ones(4), 4).chosen.tolist()
    [0, 2]
    """
    from scipy.optimize import Bounds, LinearConstraint

    cover = sp.csr_matrix(cover, dtype=bool)
    n_c = cover.shape[0]
    a, w, _ = _covering_rows(cover, weight)
    reachable = float(w.sum())
    if need > reachable + 1e-9:
        raise InfeasibleError("siting_models_what_needs_need_0f", what=what, need=need, reachable=reachable)
    if need <= 0:
        return Solution(np.empty(0, np.int64), 0.0, "greedy", True, 0.0, ["the target is already met"])
    greedy, got = [], 0.0
    for r, g in greedy_max_coverage(cover, weight, n_c):
        greedy.append(r)
        got += g
        if got >= need - 1e-9:
            break
    n_p = a.shape[0]
    c = np.concatenate([np.ones(n_c), np.zeros(n_p)])
    link = sp.hstack([-a, sp.identity(n_p)]).tocsr()
    reach = sp.hstack([sp.csr_matrix((1, n_c)), sp.csr_matrix(w.reshape(1, -1))])
    res = _solve(
        c,
        np.concatenate([np.ones(n_c), np.zeros(n_p)]),
        Bounds(0, 1),
        [LinearConstraint(link, -np.inf, 0), LinearConstraint(reach, need - 1e-6, np.inf)],
        time_limit_s=time_limit_s,
    )
    g_rows = np.array(greedy, dtype=np.int64)
    if res.x is not None and round(res.fun) <= len(g_rows):
        chosen = np.flatnonzero(res.x[:n_c] > 0.5)
        gap = 0.0 if res.status == 0 else (float(res.mip_gap) if res.mip_gap is not None else np.nan)
        return Solution(_order_by_gain(cover, weight, chosen), float(len(chosen)), "milp", res.status == 0, gap)
    return Solution(g_rows, float(len(g_rows)), "greedy", False, np.nan, [note("greedy_kept", message=res.message)])


def solve_pmedian(
    cost: sp.csr_matrix,
    weight: np.ndarray,
    p: int,
    *,
    existing: np.ndarray | None = None,
    time_limit_s: float = TIME_LIMIT_S,
) -> Solution:
    """p-median: ``p`` new sites that minimise the resident-weighted travel time.

    ``cost`` holds the time from candidate j to point i where it is within
    reach (a stored entry; absent = out of reach). ``existing`` is each point's
    time to the facilities that stay (inf where none is in reach). Each point
    goes to its cheapest open option:

    minimise sum_i w_i (sum_j d_ij z_ij + e_i u_i) subject to
    sum_j z_ij + u_i = 1, z_ij <= x_j, sum_j x_j = p, x binary, z, u >= 0
    (ReVelle and Swain 1970). Points with no option at all are left out and
    counted in ``notes``.

    Parameters
    ----------
    cost
        Candidates x points, seconds where in reach (a stored entry).
    weight
        Residents per point.
    p
        How many new sites.
    existing
        Seconds from each point to the facilities that stay; ``None`` when there are none.
    time_limit_s
        The solver's time limit in seconds.

    Returns
    -------
    Solution
        The chosen rows, best first; ``objective`` is the resident-weighted seconds.

    Examples
    --------
    >>> cost = sp.csr_matrix(np.array([[1.0, 5.0, 9.0], [9.0, 5.0, 1.0]]))
    >>> s = solve_pmedian(cost, np.array([1.0, 1.0, 1.0]), 1, existing=np.array([np.inf, np.inf, 2.0]))
    >>> s.chosen.tolist(), s.objective
    ([0], 8.0)
    """
    from scipy.optimize import Bounds, LinearConstraint

    cost = sp.coo_matrix(cost)
    n_c, n_pts = cost.shape
    w = np.asarray(weight, dtype=float)
    e = np.full(n_pts, np.inf) if existing is None else np.asarray(existing, dtype=float)
    has_option = np.zeros(n_pts, dtype=bool)
    has_option[cost.col] = True
    has_option |= np.isfinite(e)
    notes = []
    if (~has_option & (w > 0)).any():
        notes.append(note("out_of_reach", n=int((~has_option & (w > 0)).sum())))
    keep = np.isin(cost.col, np.flatnonzero(has_option))
    cand, pt, d = cost.row[keep], cost.col[keep], cost.data[keep]
    ex = np.flatnonzero(has_option & np.isfinite(e))
    n_z, n_u = len(cand), len(ex)
    # variables: x (n_c binary), z (n_z), u (n_u)
    c = np.concatenate([np.zeros(n_c), w[pt] * d, w[ex] * e[ex]])
    rows_pts = np.flatnonzero(has_option)
    row_of = np.full(n_pts, -1)
    row_of[rows_pts] = np.arange(len(rows_pts))
    assign = sp.hstack(
        [
            sp.csr_matrix((len(rows_pts), n_c)),
            sp.csr_matrix((np.ones(n_z), (row_of[pt], np.arange(n_z))), shape=(len(rows_pts), n_z)),
            sp.csr_matrix((np.ones(n_u), (row_of[ex], np.arange(n_u))), shape=(len(rows_pts), n_u)),
        ]
    )
    link = sp.hstack(
        [
            sp.csr_matrix((-np.ones(n_z), (np.arange(n_z), cand)), shape=(n_z, n_c)),
            sp.identity(n_z),
            sp.csr_matrix((n_z, n_u)),
        ]
    )
    count = sp.hstack([sp.csr_matrix(np.ones((1, n_c))), sp.csr_matrix((1, n_z + n_u))])
    res = _solve(
        c,
        np.concatenate([np.ones(n_c), np.zeros(n_z + n_u)]),
        Bounds(0, 1),
        [LinearConstraint(assign, 1, 1), LinearConstraint(link, -np.inf, 0), LinearConstraint(count, p, p)],
        time_limit_s=time_limit_s,
    )
    if res.x is None:
        raise InfeasibleError("siting_models_no_way_open_p", p=p, message=res.message)
    chosen = np.flatnonzero(res.x[:n_c] > 0.5)
    gap = 0.0 if res.status == 0 else (float(res.mip_gap) if res.mip_gap is not None else np.nan)
    return Solution(chosen, float(res.fun), "milp", res.status == 0, gap, notes)
