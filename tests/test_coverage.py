"""Coverage, gaps and the suggested site: checked by hand, by totals and by brute force."""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import shapely

from analysis import columns as C
from analysis.gaps import gap_zones
from analysis.pipeline import run_circle
from analysis.siting import greedy_max_coverage
from tests.conftest import points, toy_network


@pytest.fixture
def line_town():
    """A 2 km straight street; one centre at x=0; residents along it and one far off the street."""
    net = toy_network({i: (i * 100.0, 0.0) for i in range(21)}, [(i, i + 1) for i in range(20)])
    fac = points([(0, 0)], name=["centre"], category=["service_centre"])
    dem = points([(300, 10), (900, 10), (1500, 10), (1700, 0), (1000, 800)], pop=[100, 200, 300, 50, 70])
    return net, fac, dem


def test_rates_by_hand(line_town):
    net, fac, dem = line_town
    # 10 min at 3.6 km/h = 600 m: only the resident at x=300 (300 + 10 m) is covered.
    r = run_circle(net, fac, dem, minutes=10, speed_kmh=3.6, n_sites=1, site_spacing_m=100)
    assert r.demand[C.COVERED].tolist() == [True, False, False, False, False]
    np.testing.assert_allclose(r.demand[C.MINUTES].iloc[:4], [310 / 60, 910 / 60, 1510 / 60, 1700 / 60])
    assert np.isnan(r.demand[C.MINUTES].iloc[4])  # 800 m from the street: off-network
    assert r.summary.pop_total == 720
    assert r.summary.pop_covered == 100
    assert r.summary.pct_covered == pytest.approx(100 / 720 * 100)
    assert r.summary.pop_unreachable == 70
    assert any("300 m from any street" in str(s) for s in r.skipped)
    # Gaps hold exactly the uncovered residents.
    assert r.gaps[C.POP_UNCOVERED].sum() == r.summary.pop_uncovered == 620
    assert r.gaps[C.RANK].tolist() == list(range(1, len(r.gaps) + 1))
    assert r.gaps[C.POP_UNCOVERED].is_monotonic_decreasing
    # One new site within 600 m of x=900, 1500 and 1700 covers 550 more residents (the 70 off-street cannot be).
    site = r.sites.iloc[0]
    assert site[C.POP_NEW] == 550
    assert 1100 <= site.geometry.x <= 1500


def test_gap_totals_on_sample(sample):
    network, facilities, demand = sample
    r = run_circle(network, facilities, demand, minutes=5)
    assert r.gaps[C.POP_UNCOVERED].sum() == pytest.approx(r.summary.pop_uncovered, abs=1e-9)
    assert r.gaps[C.POP_UNCOVERED].sum() == pytest.approx(demand.loc[~r.demand[C.COVERED], "pop"].sum())
    assert 0 < r.summary.pct_covered < 100
    assert gap_zones(r.demand).equals(r.gaps)  # deterministic


def test_greedy_single_site_equals_brute_force():
    rng = np.random.default_rng(7)
    cover = rng.random((30, 60)) < 0.15
    weight = rng.integers(1, 100, 60).astype(float)
    best = max(range(30), key=lambda c: (weight[cover[c]].sum(), -c))
    assert greedy_max_coverage(sp.csr_matrix(cover), weight, 1) == [(best, weight[cover[best]].sum())]
    # k = 2: greedy is within (1 - 1/e) of the optimum found by trying every pair.
    opt = max(weight[cover[a] | cover[b]].sum() for a, b in itertools.combinations(range(30), 2))
    got = sum(g for _, g in greedy_max_coverage(sp.csr_matrix(cover), weight, 2))
    assert (1 - 1 / np.e) * opt <= got <= opt


def test_sample_runs_are_repeatable(sample):
    a, b = run_circle(*sample), run_circle(*sample)
    assert a.summary == b.summary
    assert a.sites.equals(b.sites)
    assert a.demand[C.MINUTES].equals(b.demand[C.MINUTES])


def test_fragments_are_reported():
    """A street cut off from the main network: its residents are counted, reported and not covered."""
    nodes = {i: (i * 100.0, 0.0) for i in range(6)} | {10: (0.0, 500.0), 11: (100.0, 500.0)}
    net = toy_network(nodes, [(i, i + 1) for i in range(5)] + [(10, 11)])
    assert net.nodes["component"].tolist() == [0, 0, 0, 0, 0, 0, 1, 1]
    fac = points([(0, 0)], name=["centre"], category=["service_centre"])
    dem = points([(200, 5), (50, 505)], pop=[10, 40])
    r = run_circle(net, fac, dem, minutes=15, speed_kmh=3.6)
    assert r.demand[C.COVERED].tolist() == [True, False]
    assert np.isnan(r.demand[C.MINUTES].iloc[1])
    assert any("1 resident points (40 residents) lie on 1 street fragments" in str(s) for s in r.skipped)


def test_hexagons_hold_every_resident_once(sample):
    """Each resident point lies inside the hexagon that counts it; sums match the points' (brute force)."""
    from analysis.hexgrid import hex_coverage
    from analysis.pipeline import run_circle

    network, facilities, demand = sample
    dem = run_circle(network, facilities, demand, minutes=5, isochrones=("facility",)).demand
    cells = hex_coverage(dem, size_m=150)
    inside = gpd.sjoin(dem[["pop", "covered", "geometry"]], cells[["hex_id", "geometry"]], predicate="within")
    assert len(inside) == len(dem) and not inside.index.duplicated().any()
    by_hand = inside.groupby("hex_id").apply(
        lambda g: pd.Series({"pop": g["pop"].sum(), "pop_covered": g.loc[g["covered"], "pop"].sum()}),
        include_groups=False,
    )
    got = cells.set_index("hex_id").loc[by_hand.index]
    np.testing.assert_allclose(got["pop"], by_hand["pop"])
    np.testing.assert_allclose(got["pop_covered"], by_hand["pop_covered"])
    assert got["pct_covered"].between(0, 100).all()
    assert cells.geometry.is_valid.all()
    union = shapely.union_all(cells.geometry.values)  # hexagons tile: no two cover the same ground
    assert union.area == pytest.approx(cells.geometry.area.sum(), rel=1e-9)


def test_the_nearest_of_all_from_the_categories_walks_is_the_one_pass_over_all(sample):
    """Issue 32: the categories' walks give the nearest of all facilities (no pass over all of them again)."""
    from analysis.coverage import category_times, nearest_of_all
    from analysis.traveltime import nearest_times
    from geo import snap_points

    network, facilities, demand = sample
    f_snap, d_snap = snap_points(facilities, network), snap_points(demand, network)
    cats = list(dict.fromkeys(facilities["category"]))
    assert len(cats) > 1  # the sample has several: their nearest are combined
    per = category_times(network, facilities, f_snap, d_snap, cats)
    combined, walked = nearest_of_all(per, facilities), nearest_times(network, f_snap, d_snap)
    np.testing.assert_array_equal(combined.point_s, walked.point_s)  # to the bit
    np.testing.assert_array_equal(combined.node_s, walked.node_s)
    # the facility named is one at that time (a tie may name another): its own walk says so
    differ = np.flatnonzero(combined.point_source != walked.point_source)
    for i in differ[:20]:
        own = nearest_times(network, f_snap.iloc[[combined.point_source[i]]], d_snap.iloc[[i]])
        assert own.point_s[0] == pytest.approx(walked.point_s[i], abs=1e-9)
    assert nearest_of_all({c: per[c] for c in cats[1:]}, facilities) is None  # some facilities in no walk
    one = facilities.assign(category="service_centre")
    alone = category_times(network, one, f_snap, d_snap, ["service_centre"])
    assert nearest_of_all(alone, one) is alone["service_centre"]
