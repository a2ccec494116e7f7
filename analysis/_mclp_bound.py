"""An upper bound on the maximal covering problem, found on a few candidates, and the candidates it rules out.

For any multipliers lambda >= 0 on the links y_i <= sum_j a_ij x_j, every choice of
k sites covers at most

    L(lambda) = sum_i max(0, w_i - lambda_i) + (the k largest of (A^T lambda)_j)

(weak duality; the best lambda are the duals of the linear relaxation). Those
duals are found on a restricted linear programme over a few candidates (the
best ones of each greedy round), adding the candidates that would improve it,
until none would (column generation; Dantzig and Wolfe 1960). Points that none
of the restricted candidates covers keep lambda_i = w_i. Each LP is small: on
the 100k city it holds about 100 of 20,000 candidates, and takes milliseconds
where HiGHS's MILP on the whole model takes 10 s.

When the bound meets greedy's coverage (within the stated gap), greedy's sites
are proven optimal and no MILP is needed: this is what usually happens on a
city, whose linear relaxation is integral. Otherwise the bound says which
candidates cannot be part of any choice better than greedy's (reduced-cost
fixing): a site j outside the k best of A^T lambda costs at least the difference
between the k-th best and (A^T lambda)_j. Only the others enter the MILP.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = ["Bound", "could_beat", "greedy_seeds", "lp_bound"]

#: Candidates added to the restricted LP per round, at most.
ADD_PER_ROUND = 200
#: Rounds of column generation, at most (the bound is valid after any of them).
ROUNDS = 40
#: Candidates of each greedy round that seed the restricted LP.
SEEDS_PER_ROUND = 20
#: Rounds in a row that may pass without lowering the bound (degenerate duals: "tailing off") before it stops.
STALL_ROUNDS = 4


@dataclass(frozen=True)
class Bound:
    """An upper bound on k sites' coverage, and the scores it came from."""

    upper: float  #: no k sites cover more weight than this
    score: np.ndarray  #: (A^T lambda)_j per candidate
    kth: float  #: the k-th largest score


def greedy_seeds(by_cand: sp.csr_matrix, weight: np.ndarray, k: int, *, per_round: int = SEEDS_PER_ROUND) -> np.ndarray:
    """The candidates that add the most in each of ``k`` greedy rounds: the columns the restricted LP starts from.

    Parameters
    ----------
    by_cand
        Boolean candidates x points.
    weight
        Weight per point.
    k
        How many sites (greedy rounds).
    per_round
        The best candidates kept from each round.

    Returns
    -------
    numpy.ndarray
        Candidate rows, sorted, without repeats.
    """
    m = sp.csr_matrix(by_cand, dtype=float)
    left = np.asarray(weight, dtype=float).copy()
    seeds = []
    n = m.shape[0]
    for _ in range(min(k, n)):
        gain = m @ left
        top = np.argpartition(-gain, per_round)[:per_round] if n > per_round else np.arange(n)
        seeds.append(top)
        left[m[int(np.argmax(gain))].indices] = 0.0
    return np.unique(np.concatenate(seeds)) if seeds else np.empty(0, np.int64)


def _lagrangian(by_cand: sp.csr_matrix, weight: np.ndarray, lam: np.ndarray, k: int) -> Bound:
    """L(lambda) for multipliers ``lam`` >= 0: a valid upper bound whatever they are."""
    score = by_cand @ lam
    top = np.partition(score, len(score) - k)[len(score) - k :] if k < len(score) else score
    return Bound(float(np.maximum(weight - lam, 0).sum() + top.sum()), score, float(top.min()))


def _restricted_lp(by_point_csc: sp.csc_matrix, weight: np.ndarray, cols: np.ndarray, k: int):
    """The linear relaxation over candidates ``cols``: its value, the points' duals and the count's dual."""
    from scipy.optimize import linprog  # here: slow to import, and only siting needs it

    sub = sp.csr_matrix(by_point_csc[:, cols])
    rows = np.flatnonzero(np.diff(sub.indptr) > 0)
    sub = sub[rows]
    n_m, n_p = len(cols), len(rows)
    link = sp.hstack([-sub, sp.identity(n_p)], format="csr")  # y_i - sum_j a_ij x_j <= 0
    count = sp.hstack([sp.csr_matrix(np.ones((1, n_m))), sp.csr_matrix((1, n_p))], format="csr")
    res = linprog(
        np.concatenate([np.zeros(n_m), -weight[rows]]),
        A_ub=link,
        b_ub=np.zeros(n_p),
        A_eq=count,
        b_eq=[min(k, n_m)],
        bounds=(0, 1),
        method="highs-ds",
    )
    if res.status != 0:
        return None
    lam = np.asarray(weight, dtype=float).copy()  # points no restricted candidate covers: lambda_i = w_i
    lam[rows] = np.maximum(-res.ineqlin.marginals, 0.0)
    return float(-res.fun), lam, float(-res.eqlin.marginals[0])


def lp_bound(
    by_point: sp.csr_matrix,
    weight: np.ndarray,
    k: int,
    incumbent: float,
    seeds: np.ndarray,
    *,
    rel_gap: float,
    deadline: float = np.inf,
) -> Bound | None:
    """The linear relaxation's bound on ``k`` sites' coverage, by column generation from ``seeds``.

    Stops as soon as the bound is within ``rel_gap`` of ``incumbent`` (the incumbent
    is then proven optimal), or when no candidate outside would raise the restricted
    LP (the bound is the relaxation's own), or when the bound has not come down for
    ``STALL_ROUNDS`` rounds, or after ``ROUNDS`` rounds, or past ``deadline``.

    Parameters
    ----------
    by_point
        Boolean points x candidates (the model's rows and columns).
    weight
        Weight per point.
    k
        How many sites, at most the number of candidates.
    incumbent
        The coverage of a known choice of ``k`` sites (greedy's).
    seeds
        Candidates the restricted LP starts from (``greedy_seeds``).
    rel_gap
        The relative gap at which the incumbent counts as optimal.
    deadline
        ``time.perf_counter()`` past which no new round starts.

    Returns
    -------
    Bound or None
        The lowest bound found; None when the LP solver failed.
    """
    by_point = sp.csr_matrix(by_point, dtype=float)
    w = np.asarray(weight, dtype=float)
    by_cand, by_point_csc = by_point.T.tocsr(), by_point.tocsc()
    n = by_point.shape[1]
    cols, best, stalled = np.unique(seeds), None, 0
    for _ in range(ROUNDS):
        lp = _restricted_lp(by_point_csc, w, cols, k)
        if lp is None:
            return best
        value, lam, mu = lp
        bound = _lagrangian(by_cand, w, lam, k)
        lower = best is None or bound.upper < best.upper - rel_gap * abs(best.upper)
        stalled = 0 if lower else stalled + 1
        best = bound if best is None or bound.upper < best.upper else best
        if best.upper - incumbent <= rel_gap * abs(best.upper) or bound.upper - value <= rel_gap * abs(bound.upper):
            return best
        if stalled >= STALL_ROUNDS or time.perf_counter() > deadline:
            return best
        out = np.setdiff1d(np.arange(n), cols, assume_unique=True)
        better = out[bound.score[out] > mu * (1 + 1e-12) + 1e-9]  # positive reduced cost: would raise the LP
        if not len(better):
            return best
        cols = np.union1d(cols, better[np.argsort(-bound.score[better], kind="stable")][:ADD_PER_ROUND])
    return best


def could_beat(bound: Bound, incumbent: float, *, rel_gap: float) -> np.ndarray:
    """The candidates that may be part of a choice covering more than ``incumbent`` (beyond the gap).

    A choice holding candidate j covers at most ``upper - (kth - score_j)`` when
    ``score_j`` is below the k-th best score; candidates for which that is no more
    than the incumbent plus the gap cannot improve on it.

    Parameters
    ----------
    bound
        ``lp_bound``'s answer.
    incumbent
        The coverage of a known choice of k sites.
    rel_gap
        The relative gap at which the incumbent counts as optimal.

    Returns
    -------
    numpy.ndarray
        Boolean mask over the candidates.
    """
    with_j = bound.upper - np.maximum(bound.kth - bound.score, 0.0)
    return with_j > incumbent + rel_gap * abs(bound.upper)
