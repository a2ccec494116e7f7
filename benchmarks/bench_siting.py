"""Siting at city scale: exact MCLP with HiGHS against greedy and against spopt (PuLP + CBC).

    python benchmarks/bench_siting.py [--candidates 2000] [--residents 50000] [--k 20]

Issue 5's goal: MCLP with 2,000 candidates x 50,000 resident points and k = 20 on
the synthetic city solved exactly within 60 s, or the gap stated. Then, on an
instance spopt can finish (--spopt-candidates x --spopt-residents), the same
model through spopt with CBC, in the same run: times, objectives and the ratio.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import scipy.sparse as sp
from synthetic_city import synthetic_city

from analysis.siting_models import greedy_max_coverage, solve_mclp
from analysis.traveltime import od_table
from geo import snap_points

__all__ = ["coverage", "main"]


def coverage(net, cands, dem, cutoff_s):
    od = od_table(net, snap_points(cands, net), snap_points(dem, net), cutoff_s=cutoff_s)
    return sp.csr_matrix((np.ones(len(od), dtype=bool), (od["source"], od["target"])), shape=(len(cands), len(dem))), od


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--nodes", type=int, default=100_000)
    p.add_argument("--candidates", type=int, default=2000)
    p.add_argument("--residents", type=int, default=50_000)
    p.add_argument("--k", type=int, default=20)
    p.add_argument("--minutes", type=float, default=15)
    p.add_argument("--spopt-candidates", type=int, default=500)
    p.add_argument("--spopt-residents", type=int, default=5000)
    a = p.parse_args()
    cutoff = a.minutes * 60
    net, _, dem = synthetic_city(a.nodes, n_facilities=1, n_residents=a.residents)
    rng = np.random.default_rng(1)
    cands = net.nodes.iloc[np.sort(rng.choice(net.n_nodes, a.candidates, replace=False))][["geometry"]]
    t0 = time.perf_counter()
    cover, _ = coverage(net, cands, dem, cutoff)
    t_cov = time.perf_counter() - t0
    w = dem["pop"].to_numpy()
    print(
        f"MCLP: {a.candidates} candidates x {len(dem):,} resident points, k = {a.k}, {a.minutes:g} min; "
        f"coverage matrix {cover.nnz:,} pairs in {t_cov:.1f} s"
    )
    t0 = time.perf_counter()
    greedy = sum(g for _, g in greedy_max_coverage(cover, w, a.k))
    t_greedy = time.perf_counter() - t0
    t0 = time.perf_counter()
    exact = solve_mclp(cover, w, a.k, time_limit_s=60)
    t_exact = time.perf_counter() - t0
    print(
        f"greedy: {greedy:,.0f} residents in {t_greedy:.2f} s; exact ({exact.method}, "
        f"{'optimal' if exact.optimal else f'gap {exact.gap:.2%}'}): {exact.objective:,.0f} in {t_exact:.1f} s "
        f"(goal: exact within 60 s); greedy is {100 * (1 - greedy / exact.objective):.2f}% below"
    )

    try:
        import pulp
        from spopt.locate import MCLP
    except ImportError:
        print("spopt not installed (pip install -e '.[test]'): no comparison")
        return
    small_dem = dem.iloc[np.sort(rng.choice(len(dem), a.spopt_residents, replace=False))]
    small_cands = cands.iloc[np.sort(rng.choice(len(cands), a.spopt_candidates, replace=False))]
    cover_s, od = coverage(net, small_cands, small_dem, cutoff)
    ws = small_dem["pop"].to_numpy()
    cost = np.full((len(small_dem), len(small_cands)), 1e9)
    cost[od["target"], od["source"]] = od["seconds"]
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        theirs = MCLP.from_cost_matrix(cost, ws, service_radius=cutoff, p_facilities=a.k)
        theirs = theirs.solve(pulp.PULP_CBC_CMD(msg=False))
    t_spopt = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = solve_mclp(cover_s, ws, a.k)
    t_ours = time.perf_counter() - t0
    print(
        f"spopt (CBC) on {a.spopt_candidates} x {a.spopt_residents:,}, k = {a.k}: "
        f"{theirs.problem.objective.value():,.0f} in {t_spopt:.1f} s; ours (HiGHS): {ours.objective:,.0f} "
        f"in {t_ours:.2f} s; ratio {t_spopt / t_ours:.1f}x"
    )


if __name__ == "__main__":
    main()
