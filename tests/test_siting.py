"""Siting: exact answers equal a brute force on tiny instances and spopt's on a real one."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from analysis import columns as C
from analysis.coverage import nearest_facility
from analysis.siting import candidate_sites, plan_sites, snap_candidates
from analysis.siting_models import InfeasibleError, solve_lscp, solve_mclp, solve_pmedian
from analysis.traveltime import node_seconds_from
from geo import snap_points


@pytest.fixture
def tiny():
    rng = np.random.default_rng(11)
    cover = rng.random((8, 20)) < 0.25
    weight = rng.integers(1, 50, 20).astype(float)
    cost = rng.uniform(1, 100, (8, 20))
    return cover, weight, cost


def covered_weight(cover, weight, rows):
    return weight[cover[list(rows)].any(axis=0)].sum() if len(rows) else 0.0


@pytest.mark.parametrize("k", [1, 2, 3])
def test_mclp_equals_brute_force(tiny, k):
    cover, weight, _ = tiny
    best = max(covered_weight(cover, weight, rows) for rows in itertools.combinations(range(8), k))
    s = solve_mclp(sp.csr_matrix(cover), weight, k)
    assert s.optimal and s.gap == 0  # greedy's answer when the LP bound proves it, else HiGHS's
    assert s.objective == pytest.approx(best)
    assert covered_weight(cover, weight, s.chosen) == pytest.approx(best)


def test_lscp_equals_brute_force(tiny):
    cover, weight, _ = tiny
    need = 0.8 * weight[cover.any(axis=0)].sum()
    fewest = min(
        k
        for k in range(1, 9)
        if any(covered_weight(cover, weight, r) >= need for r in itertools.combinations(range(8), k))
    )
    s = solve_lscp(sp.csr_matrix(cover), weight, need)
    assert len(s.chosen) == fewest and s.optimal
    assert covered_weight(cover, weight, s.chosen) >= need


def test_pmedian_equals_brute_force(tiny):
    _, weight, cost = tiny
    existing = np.where(np.arange(20) % 4 == 0, 30.0, np.inf)  # an existing centre serves every 4th point

    def total(rows):
        options = np.vstack([cost[list(rows)], existing])
        return (weight * options.min(axis=0)).sum()

    best = min(total(r) for r in itertools.combinations(range(8), 2))
    s = solve_pmedian(sp.csr_matrix(cost), weight, 2, existing=existing)
    assert s.objective == pytest.approx(best) and total(s.chosen) == pytest.approx(best)


def test_capacitated_mclp_by_hand():
    cover = sp.csr_matrix(np.array([[1, 1, 1], [0, 0, 1]], dtype=bool))
    weight = np.array([40.0, 40.0, 40.0])
    # Uncapped, the first site covers 120; capped at 50 it serves 50, and two sites serve 50 + 40.
    assert solve_mclp(cover, weight, 1).objective == 120
    assert solve_mclp(cover, weight, 1, capacity=50).objective == pytest.approx(50)
    two = solve_mclp(cover, weight, 2, capacity=50)
    assert two.objective == pytest.approx(90) and sorted(two.chosen.tolist()) == [0, 1]


def test_infeasible_target_says_how_far(sample):
    network, facilities, demand = sample
    f, d = snap_points(facilities, network), snap_points(demand, network)
    covered = nearest_facility(network, facilities, demand, f, d, minutes=5)
    with pytest.raises(InfeasibleError, match=r"coverage can reach at most \d+\.\d%"):
        plan_sites(
            network, covered, d, model="lscp", target=1.0, minutes=5, candidates=candidate_sites(network, spacing_m=400)
        )


@pytest.fixture(scope="module")
def five_minutes(sample):
    network, facilities, demand = sample
    f, d = snap_points(facilities, network), snap_points(demand, network)
    return network, nearest_facility(network, facilities, demand, f, d, minutes=5), d


def test_plan_sites_explained_and_repeatable(five_minutes):
    network, covered, d = five_minutes
    a = plan_sites(network, covered, d, k=3, minutes=5, curve_k=4)
    b = plan_sites(network, covered, d, k=3, minutes=5, curve_k=4)
    assert a.sites.equals(b.sites) and a.curve.equals(b.curve)
    assert a.after - a.before == pytest.approx(a.sites[C.POP_NEW].sum())
    assert a.sites[C.POP_NEW].is_monotonic_decreasing  # best first
    assert a.curve["pop_new"].is_monotonic_increasing
    assert (a.curve["pop_new"] >= a.curve["pop_new_greedy"] - 1e-9).all()  # exact never below greedy
    assert a.curve.loc[a.curve["k"] == 3, "pop_new"].iloc[0] == pytest.approx(a.after - a.before)
    assert len(a.isochrones) == 3 and a.isochrones.is_valid.all()
    lscp = plan_sites(network, covered, d, model="lscp", target=0.8, minutes=5)
    assert lscp.after >= 0.8 * lscp.total - 1e-6
    assert (
        len(lscp.sites) == a.curve.loc[a.curve["pop_covered"] >= 0.8 * a.total, "k"].min()
        if (a.curve["pop_covered"] >= 0.8 * a.total).any()
        else len(lscp.sites) > 4
    )


def test_exclusions_and_planner_candidates(five_minutes):
    network, covered, d = five_minutes
    everywhere = candidate_sites(network, spacing_m=200)
    box = everywhere.iloc[:5].buffer(1).to_frame("geometry")
    kept = candidate_sites(network, spacing_m=200, exclude=box)
    assert len(kept) == len(everywhere) - 5
    mine = everywhere.iloc[[3, 7]][["geometry"]].reset_index(drop=True)
    r = plan_sites(network, covered, d, k=1, minutes=5, candidates=candidate_sites(network, points=mine))
    assert r.sites["candidate_id"].iloc[0] in {"K0001", "K0002"}


def test_units_elsewhere_are_named_not_called_no_candidates(five_minutes):
    """Review units that do not lie on the streets (the sample's units left on a city's network) are said as such."""
    import geopandas as gpd
    import shapely

    from geo import sample_paths
    from geo.io import read_boundaries

    network, covered, d = five_minutes
    units = read_boundaries(sample_paths()["boundaries"])
    far = {level: gdf.to_crs(network.crs).translate(50_000, 0).to_frame("geometry") for level, gdf in units.items()}
    with pytest.raises(InfeasibleError) as told:
        plan_sites(network, covered, d, k=1, minutes=5, boundaries=far)
    assert told.value.key == "siting_units_off_network" and "单元" in told.value.in_lang("zh")
    middle = shapely.box(*network.nodes.total_bounds).centroid.buffer(1.0)  # on the streets' area, no corner in it
    inside = {"city": gpd.GeoDataFrame(geometry=[middle], crs=network.crs)}
    with pytest.raises(InfeasibleError) as told:
        plan_sites(network, covered, d, k=1, minutes=5, boundaries=inside)
    assert told.value.key == "siting_there_no_candidate_sites"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_mclp_objective_equals_spopt(five_minutes):
    """spopt (PuLP + CBC) on the same small instance built from the sample finds the same coverage."""
    pulp = pytest.importorskip("pulp")
    spopt_locate = pytest.importorskip("spopt.locate")
    network, covered, d = five_minutes
    from analysis.traveltime import od_table

    cands = candidate_sites(network, spacing_m=250)
    c_snap = snap_points(cands, network)
    left = ~covered[C.COVERED].to_numpy()
    od = od_table(network, c_snap, d[left], cutoff_s=300)
    cost = np.full((int(left.sum()), len(cands)), 1e6)
    cost[od["target"], od["source"]] = od["seconds"]
    weights = covered.loc[left, C.POP].to_numpy()
    theirs = spopt_locate.MCLP.from_cost_matrix(cost, weights, service_radius=300, p_facilities=4)
    theirs = theirs.solve(pulp.PULP_CBC_CMD(msg=False))
    cover = sp.csr_matrix((cost <= 300).T)
    ours = solve_mclp(cover, weights, 4)
    assert ours.objective == pytest.approx(theirs.problem.objective.value())


# Lean siting (issue 13) and siting that tells the truth (issue 14 item 5).


@pytest.mark.parametrize("k", [1, 2, 3])
def test_pruning_keeps_the_optimum(five_minutes, k):
    """Candidates dropped before the OD work reach no one left out; the optimum equals the unpruned model's."""
    from analysis._siting_reach import left_out, reaching
    from analysis.traveltime import od_table

    network, covered, d = five_minutes
    cands = candidate_sites(network, spacing_m=200)
    c_snap = snap_points(cands, network)
    left = left_out(covered, d, minutes=5)
    kept = reaching(network, c_snap, left, limit_s=300)
    od = od_table(network, c_snap, left.snaps, cutoff_s=300)  # every candidate, no pruning
    full = sp.csr_matrix(
        (np.ones(len(od), dtype=bool), (od["source"], od["target"])), shape=(len(cands), len(left.rows))
    )
    reaches_someone = np.diff(full.indptr) > 0
    assert 0 < kept.sum() < len(cands)  # pruning drops some
    assert np.array_equal(kept, reaches_someone)  # exactly those that reach no one left out
    unpruned = solve_mclp(full, left.pop, k)
    r = plan_sites(network, covered, d, k=k, minutes=5, candidates=cands)
    assert r.after - r.before == pytest.approx(unpruned.objective)
    if k <= 2:  # and a brute force over every candidate
        dense = full.toarray()
        best = max(covered_weight(dense, left.pop, rows) for rows in itertools.combinations(range(len(cands)), k))
        assert r.after - r.before == pytest.approx(best)


@pytest.fixture(scope="module")
def pocket(five_minutes):
    """Monaco at 5 minutes: the residents left out whom no candidate of the default 200 m grid reaches."""
    from analysis.traveltime import nearest_times

    network, covered, d = five_minutes
    grid = snap_points(candidate_sites(network, spacing_m=200), network)
    t = nearest_times(network, grid, d, limit_s=300)
    missed = ~covered[C.COVERED].to_numpy() & ~(t.point_s <= 300)
    keep = covered[C.COVERED].to_numpy() | missed  # everyone covered, and the pocket between the grid's nodes
    return network, covered[keep], d[keep], float(covered.loc[missed, C.POP].sum())


def test_pocket_between_grid_candidates_is_covered(pocket):
    network, covered, d, left_pop = pocket
    assert left_pop > 100  # 14 points, 153 residents: real data, not made up
    r = plan_sites(network, covered, d, k=10, minutes=5, spacing_m=200, curve_k=10)
    assert r.after - r.before == pytest.approx(left_pop)  # all of them: a street corner reaches each
    assert r.unreached == 0 and not any("nothing left" in str(n) for n in r.notes)
    assert (r.sites[C.POP_NEW] > 0).all() and r.sites[C.MINUTES].le(5).all()
    assert r.curve["pop_new"].iloc[-1] == pytest.approx(left_pop) and r.curve["saturated"].iloc[-1]


def test_unreached_residents_are_named_with_what_helps(pocket, sample):
    network, covered, d, left_pop = pocket
    _, facilities, _ = sample
    far = facilities.iloc[:1][["geometry"]].reset_index(drop=True)  # one candidate of the planner's, nowhere near
    r = plan_sites(network, covered, d, k=3, minutes=5, candidates=candidate_sites(network, points=far))
    assert r.after == r.before and r.unreached == pytest.approx(left_pop) and r.no_corner == 0
    assert not any("nothing left" in str(n) for n in r.notes)
    assert any("finer grid (--spacing-m) or your own candidates" in str(n) for n in r.notes)


@pytest.fixture(scope="module")
def fifteen_minutes(sample):
    from geo import read_boundaries, sample_paths

    network, facilities, demand = sample
    f, d = snap_points(facilities, network), snap_points(demand, network)
    boundaries = {lv: u.to_crs(network.crs) for lv, u in read_boundaries(sample_paths()["boundaries"]).items()}
    return network, nearest_facility(network, facilities, demand, f, d, minutes=15), d, boundaries


def test_no_site_adds_nobody(fifteen_minutes):
    network, covered, d, boundaries = fifteen_minutes
    left = covered.loc[~covered[C.COVERED], C.POP].sum()
    r = plan_sites(network, covered, d, k=3, minutes=15, spacing_m=200, curve_k=10, boundaries=boundaries)
    assert (r.sites[C.POP_NEW] > 0).all()
    assert len(r.sites) == r.useful_k < 3 and r.after - r.before == pytest.approx(left)
    assert any("stop helping" in str(n) for n in r.notes)
    assert len(r.curve) == r.useful_k and r.curve["saturated"].iloc[-1]  # the curve stops where sites stop helping


def test_every_site_has_its_units_and_walk(fifteen_minutes):
    network, covered, d, boundaries = fifteen_minutes
    r = plan_sites(network, covered, d, k=3, minutes=15, spacing_m=200, boundaries=boundaries)
    assert len(r.sites)
    assert r.sites[list(boundaries)].notna().all().all()
    assert np.isfinite(r.sites[C.MINUTES].to_numpy(dtype=float)).all()


@pytest.mark.parametrize("minutes", [2, 5])
def test_tiled_coverage_matrix_equals_od_table(sample, minutes):
    """The tile-local coverage matrix equals the city-wide od_table, for grid nodes and points off the nodes."""
    from analysis._siting_reach import EPS_S, coverage_matrix
    from analysis.traveltime import od_table

    network, facilities, demand = sample
    d = snap_points(demand, network)
    grid = candidate_sites(network, spacing_m=150)[["geometry"]]
    # nodes, and facilities standing off the street (some share a segment with residents)
    cands = snap_points(pd.concat([grid, facilities[["geometry"]].to_crs(grid.crs)]), network)
    m = coverage_matrix(network, cands, d, cutoff_s=minutes * 60).tocoo()
    od = od_table(network, cands, d, cutoff_s=minutes * 60)
    ours = dict(zip(zip(m.row.tolist(), m.col.tolist(), strict=True), (m.data - EPS_S).tolist(), strict=True))
    theirs = dict(zip(zip(od["source"], od["target"], strict=True), od["seconds"], strict=True))
    assert ours.keys() == theirs.keys() and len(ours) > 1000
    assert np.allclose([ours[p] for p in theirs], list(theirs.values()), atol=1e-6)


# Siting at city scale in seconds (issue 13 item 2): merged rows, dominated candidates out, a budgeted curve.


def plain_mclp(cover, weight, k):
    """The textbook MCLP: one row per point, every candidate, HiGHS with its defaults; the reference."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    a = sp.csr_matrix(cover, dtype=float).T.tocsr()
    n_p, n_c = a.shape
    link = sp.hstack([-a, sp.identity(n_p)])
    count = sp.hstack([sp.csr_matrix(np.ones((1, n_c))), sp.csr_matrix((1, n_p))])
    res = milp(
        np.concatenate([np.zeros(n_c), -np.asarray(weight, dtype=float)]),
        integrality=np.concatenate([np.ones(n_c), np.zeros(n_p)]),
        bounds=Bounds(0, 1),
        constraints=[LinearConstraint(link, -np.inf, 0), LinearConstraint(count, k, k)],
    )
    assert res.status == 0
    return -res.fun


@pytest.mark.parametrize("k", [1, 2, 3])
def test_merged_model_equals_plain_model_on_the_sample(five_minutes, k):
    """Points merged by covering set, dominated candidates dropped: the same optimum as the plain model."""
    from analysis._siting_reach import coverage_matrix, left_out
    from analysis.siting_models import _covering_rows, _undominated

    network, covered, d = five_minutes
    cands = candidate_sites(network, spacing_m=100)
    left = left_out(covered, d, minutes=5)
    secs = coverage_matrix(network, snap_points(cands, network), left.snaps, cutoff_s=300)
    cover = sp.csr_matrix(secs, dtype=bool)
    a, _, _ = _covering_rows(cover, left.pop)
    assert a.shape[0] < len(left.rows) and len(_undominated(a)) < len(cands)  # both reductions bite here
    ours = solve_mclp(cover, left.pop, k)
    assert ours.optimal and ours.objective == pytest.approx(plain_mclp(cover, left.pop, k))
    assert covered_weight(cover.toarray(), left.pop, ours.chosen) == pytest.approx(ours.objective)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_merged_model_equals_brute_force_on_random_instances(seed):
    """Random instances with repeated and nested columns and repeated rows: brute force agrees for k = 1..3."""
    rng = np.random.default_rng(seed)
    base = rng.random((6, 12)) < 0.3
    cover = np.vstack([base, base[:2], base[2:4] & (rng.random((2, 12)) < 0.6)])  # identical and dominated rows
    cover = np.hstack([cover, cover[:, :4]])  # points sharing a covering set
    weight = rng.integers(1, 30, cover.shape[1]).astype(float)
    for k in (1, 2, 3):
        best = max(covered_weight(cover, weight, rows) for rows in itertools.combinations(range(len(cover)), k))
        s = solve_mclp(sp.csr_matrix(cover), weight, k)
        assert s.optimal and s.objective == pytest.approx(best) == pytest.approx(plain_mclp(cover, weight, k))
        assert covered_weight(cover, weight, s.chosen) == pytest.approx(best)


def test_curve_says_which_points_are_exact(five_minutes):
    """Past the time budget the curve keeps greedy's value, marked as not proven; before it, exact values."""
    from analysis import siting

    network, covered, d = five_minutes
    exact = plan_sites(network, covered, d, k=3, minutes=5, curve_k=4).curve
    assert exact["optimal"].all()
    budget = siting.CURVE_BUDGET_S
    try:
        siting.CURVE_BUDGET_S = 0.0
        cheap = plan_sites(network, covered, d, k=3, minutes=5, curve_k=4).curve
    finally:
        siting.CURVE_BUDGET_S = budget
    assert (cheap["method"] == "greedy").all()
    assert not cheap.loc[~cheap["saturated"], "optimal"].any()
    assert np.allclose(cheap["pop_new"], cheap["pop_new_greedy"])
    assert (cheap["pop_new"] <= exact["pop_new"][: len(cheap)] + 1e-9).all()
    assert (cheap["pop_new"] >= (1 - 1 / np.e) * exact["pop_new"][: len(cheap)] - 1e-9).all()


def test_grid_candidates_sit_on_their_corners_as_snapping_puts_them(sample):
    """``snap_candidates`` finds a corner's segment without a spatial search; every walk is the same."""
    network, facilities, _ = sample
    cands = candidate_sites(network, spacing_m=150)
    planner = candidate_sites(network, points=facilities.iloc[:5])
    both = pd.concat([cands, planner])
    fast, slow = snap_candidates(both, network), snap_points(both, network)
    assert list(fast.columns) == list(slow.columns) and (fast.dtypes == slow.dtypes).all()
    assert fast["on_network"].equals(slow["on_network"]) and fast["component"].equals(slow["component"])
    assert np.allclose(fast["offset_m"], slow["offset_m"], atol=1e-6)
    np.testing.assert_allclose(node_seconds_from(network, fast), node_seconds_from(network, slow), atol=1e-6)


@pytest.mark.parametrize("model", ["pmedian", "mclp"])
def test_each_sites_residents_and_saving_equal_a_brute_force(sample, fifteen_minutes, model):
    """Served (nearest once open), newly covered, walk and walk saved: networkx Dijkstra from every centre and site.

    At 15 minutes a p-median site is chosen for shorter walks of residents already covered: it newly covers no
    one, and its walk was once NaN. Now every site says whom it serves, their walk and what it saves them.
    """
    import networkx as nx
    import test_traveltime

    from analysis.traveltime import speed_ms

    network, covered, d, _ = fifteen_minutes
    r = plan_sites(network, covered, d, model=model, k=3, minutes=15, spacing_m=200)
    sites = r.sites
    assert len(sites) and np.isfinite(sites[[C.POP_SERVED, C.MINUTES, C.POP_MINUTES_SAVED]].to_numpy(float)).all()
    points = pd.concat(
        [
            covered[["geometry"]].set_axis([f"d{i}" for i in range(len(covered))]),
            r.sites[["geometry"]].set_axis([f"s{i}" for i in range(len(sites))]),
        ]
    )
    facilities = sample[1][["geometry"]]
    points = pd.concat([points, facilities.set_axis([f"f{i}" for i in range(len(facilities))])])
    graph = test_traveltime._split_graph(network, snap_points(points, network), speed_ms(4.5))

    def seconds_from(keys):
        got = nx.multi_source_dijkstra_path_length(graph, {("p", k) for k in keys}, weight="s")
        return np.array([got.get(("p", f"d{i}"), np.inf) for i in range(len(covered))])

    old = seconds_from([f"f{i}" for i in range(len(facilities))])
    np.testing.assert_allclose(old / 60, covered[C.MINUTES].to_numpy(float), atol=1e-6)
    new = np.column_stack([seconds_from([f"s{j}"]) for j in range(len(sites))])
    pop = covered[C.POP].to_numpy(float)
    nearest, best = new.argmin(axis=1), new.min(axis=1)
    served = best < old
    taken = np.zeros(len(covered), bool)
    for j in range(len(sites)):
        mine = served & (nearest == j)
        assert sites[C.POP_SERVED].iloc[j] == pytest.approx(pop[mine].sum())
        assert sites[C.MINUTES].iloc[j] == pytest.approx((pop * best)[mine].sum() / pop[mine].sum() / 60)
        saved = (pop * (old - best))[mine].sum() / 60
        assert sites[C.POP_MINUTES_SAVED].iloc[j] == pytest.approx(saved)
        assert sites[C.MINUTES_SAVED].iloc[j] == pytest.approx(saved / pop[mine].sum())
        new_here = (old > 900) & (new[:, j] <= 900) & ~taken
        assert sites[C.POP_NEW].iloc[j] == pytest.approx(pop[new_here].sum())  # what it adds to the sites before it
        taken |= new_here
    assert sites[C.POP_MINUTES_SAVED].sum() == pytest.approx((pop * (old - np.minimum(old, best))).sum() / 60)
    if model == "pmedian":
        assert (sites[C.POP_NEW] == 0).any()  # the case that once had no walk
