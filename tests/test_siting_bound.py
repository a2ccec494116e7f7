"""The MCLP's fast path: the LP bound proves greedy's answer, or leaves HiGHS only the candidates that can beat it.

Each check is against an independent answer: a brute force over every choice of
k sites on random instances, the plain MILP (no merging, no bound) on the
bundled sample, and the whole linear relaxation solved by ``linprog``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog

from analysis._mclp_bound import could_beat, greedy_seeds, lp_bound
from analysis._siting_reach import coverage_matrix, left_out
from analysis.coverage import nearest_facility
from analysis.siting import candidate_sites, plan_sites
from analysis.siting_models import REL_GAP, greedy_max_coverage, mclp_model, solve_mclp
from geo import snap_points
from tests.test_siting import covered_weight, plain_mclp


def random_instance(seed: int, n_c: int = 10, n_p: int = 28):
    """Overlapping coverage where greedy is often beaten (a few big candidates crossing small ones)."""
    rng = np.random.default_rng(seed)
    cover = rng.random((n_c, n_p)) < rng.uniform(0.12, 0.35)
    weight = rng.integers(1, 40, n_p).astype(float)
    return cover, weight


def brute_force(cover, weight, k):
    """Every choice of k sites, their coverage."""
    return {rows: covered_weight(cover, weight, rows) for rows in itertools.combinations(range(len(cover)), k)}


def full_lp(a: sp.csr_matrix, w: np.ndarray, k: int) -> float:
    """The linear relaxation over every candidate, solved whole."""
    n_p, n_m = a.shape
    link = sp.hstack([-a, sp.identity(n_p)])
    count = sp.hstack([sp.csr_matrix(np.ones((1, n_m))), sp.csr_matrix((1, n_p))])
    res = linprog(
        np.concatenate([np.zeros(n_m), -w]), A_ub=link, b_ub=np.zeros(n_p), A_eq=count, b_eq=[k], bounds=(0, 1)
    )
    assert res.status == 0
    return -res.fun


def test_fast_path_equals_brute_force_on_random_instances():
    """k = 2..4 on 40 random instances: the optimum every time, by both ways of proving it."""
    methods = []
    for seed in range(40):
        cover, weight = random_instance(seed)
        for k in (2, 3, 4):
            best = max(brute_force(cover, weight, k).values())
            s = solve_mclp(sp.csr_matrix(cover), weight, k)
            assert s.optimal and s.gap == 0
            assert s.objective == pytest.approx(best) == pytest.approx(covered_weight(cover, weight, s.chosen))
            methods.append(s.method)
    greedy_lost = sum(
        max(brute_force(c, w, k).values()) > sum(g for _, g in greedy_max_coverage(sp.csr_matrix(c), w, k)) + 1e-9
        for c, w in map(random_instance, range(40))
        for k in (2, 3, 4)
    )
    assert greedy_lost >= 5  # the instances do test the MILP path ...
    assert methods.count("milp") >= 1 and methods.count("greedy") >= 10  # ... and the bound's proofs


@pytest.mark.parametrize("seed", [3, 7, 11])
def test_bound_is_the_linear_relaxation_and_holds_every_choice(seed):
    """Column generation from a few seeds ends at the whole LP's value; no choice of k sites covers more."""
    cover, weight = random_instance(seed, n_c=14, n_p=40)
    model = mclp_model(sp.csr_matrix(cover), weight)
    for k in (2, 3):
        seeds = greedy_seeds(model.a.T, model.w, k, per_round=1)
        bound = lp_bound(model.a, model.w, k, -np.inf, seeds, rel_gap=REL_GAP)  # no incumbent: run to the end
        assert bound.upper == pytest.approx(full_lp(model.a, model.w, k), rel=1e-7)
        assert bound.upper >= max(brute_force(cover, weight, k).values()) - 1e-9


@pytest.mark.parametrize("seed", [0, 5, 9, 21])
def test_candidates_ruled_out_are_in_no_better_choice(seed):
    """Every choice covering more than greedy's answer holds only candidates ``could_beat`` keeps."""
    cover, weight = random_instance(seed, n_c=12)
    model = mclp_model(sp.csr_matrix(cover), weight)
    # brute force on the model's own candidates (the reduced model has the same optimum)
    a = model.a.T.toarray().astype(bool)
    for k in (2, 3):
        g = sum(x for _, x in greedy_max_coverage(sp.csr_matrix(a), model.w, k))
        bound = lp_bound(model.a, model.w, k, g, greedy_seeds(model.a.T, model.w, k), rel_gap=REL_GAP)
        alive = could_beat(bound, g, rel_gap=REL_GAP)
        for rows, value in brute_force(a, model.w, k).items():
            if value > g + 1e-6:
                assert alive[list(rows)].all()


@pytest.fixture(scope="module")
def sample_cover(sample):
    network, facilities, demand = sample
    f, d = snap_points(facilities, network), snap_points(demand, network)
    covered = nearest_facility(network, facilities, demand, f, d, minutes=5)
    left = left_out(covered, d, minutes=5)
    cands = candidate_sites(network, spacing_m=100)
    secs = coverage_matrix(network, snap_points(cands, network), left.snaps, cutoff_s=300)
    return sp.csr_matrix(secs, dtype=bool), left.pop, (network, covered, d)


@pytest.mark.parametrize("k", [2, 5, 8])
def test_fast_path_equals_plain_milp_on_the_sample(sample_cover, k):
    """On the Monaco sample the fast path's optimum is the plain MILP's (no merging, no bound, HiGHS alone)."""
    cover, pop, _ = sample_cover
    s = solve_mclp(cover, pop, k)
    assert s.optimal and s.objective == pytest.approx(plain_mclp(cover, pop, k))
    assert covered_weight(cover.toarray(), pop, s.chosen) == pytest.approx(s.objective)


def test_curve_is_exact_and_equals_plain_milp_on_the_sample(sample_cover):
    """The curve k = 1..6 in one go: every point proven, each equal to the plain MILP for that k."""
    cover, pop, (network, covered, d) = sample_cover
    curve = plan_sites(network, covered, d, k=2, minutes=5, curve_k=6).curve
    assert curve["optimal"].all()
    for k, value in zip(curve["k"], curve["pop_new"], strict=True):
        assert value == pytest.approx(plain_mclp(cover, pop, k))
