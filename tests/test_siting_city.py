"""Siting at city scale (issue 29, city-siting): the faster paths give the same answers as the plain ones."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis._siting_reach import EPS_S, _Boxes, coverage_matrix
from analysis.coverage import nearest_facility
from analysis.siting import candidate_sites, plan_sites, siting_coverage, snap_candidates
from analysis.traveltime import od_table
from geo import snap_points

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from synthetic_city import synthetic_city


@pytest.fixture(scope="module")
def fifteen(sample):
    from geo import read_boundaries, sample_paths

    network, facilities, demand = sample
    f, d = snap_points(facilities, network), snap_points(demand, network)
    boundaries = {lv: u.to_crs(network.crs) for lv, u in read_boundaries(sample_paths()["boundaries"]).items()}
    return network, nearest_facility(network, facilities, demand, f, d, minutes=15), d, boundaries


def _same(a, b):
    assert a.sites.equals(b.sites) and a.curve.equals(b.curve) and a.isochrones.equals(b.isochrones)
    assert (a.before, a.after, a.total, a.unreached, a.no_corner, a.useful_k) == (
        b.before,
        b.after,
        b.total,
        b.unreached,
        b.no_corner,
        b.useful_k,
    )
    assert a.solution.objective == b.solution.objective and a.solution.chosen.tolist() == b.solution.chosen.tolist()
    assert [str(n) for n in a.notes] == [str(n) for n in b.notes]


@pytest.mark.parametrize(("model", "ks"), [("mclp", (3, 1, 4)), ("lscp", (1,)), ("pmedian", (2,))])
def test_a_kept_coverage_answers_each_k_as_a_fresh_run(fifteen, model, ks):
    """The app keeps the coverage while the planner tries k after k: each answer is the fresh run's."""
    network, covered, d, boundaries = fifteen
    opts = {"model": model, "minutes": 15, "spacing_m": 150, "boundaries": boundaries}
    kept = siting_coverage(network, covered, d, **opts)
    for k in ks:
        run = {**opts, "k": k, "target": 0.8, "curve_k": 3, "time_limit_s": 20}
        _same(plan_sites(network, covered, d, coverage=kept, **run), plan_sites(network, covered, d, **run))
    assert kept.reduced() is kept.reduced()  # the reduced model is made once
    with pytest.raises(ValueError, match="another model"):
        plan_sites(network, covered, d, model="mclp" if model != "mclp" else "pmedian", coverage=kept, minutes=15)


def test_boxes_find_what_a_scan_finds():
    rng = np.random.default_rng(29)
    xy = rng.integers(0, 50, (2000, 2)).astype(float)  # many points on a box's very edge
    boxes = _Boxes(xy)
    for _ in range(200):
        lo = rng.integers(-5, 50, 2).astype(float)
        hi = lo + rng.integers(0, 30, 2)
        scan = np.flatnonzero(np.all((xy >= lo) & (xy <= hi), axis=1))
        assert np.array_equal(boxes.within(lo, hi), scan)


def test_tiled_coverage_matrix_equals_od_table_over_many_tiles():
    """A small synthetic city, 5 minutes (tiles of 750 m): grid corners and planner points off the streets."""
    network, facilities, demand = synthetic_city(2500, n_facilities=40, n_residents=1500, seed=5)
    d = snap_points(demand, network)
    grid = candidate_sites(network, spacing_m=250)
    cands = pd.concat([snap_candidates(grid, network), snap_points(facilities, network)], ignore_index=True)
    m = coverage_matrix(network, cands, d, cutoff_s=300).tocoo()
    od = od_table(network, cands, d, cutoff_s=300)
    ours = dict(zip(zip(m.row.tolist(), m.col.tolist(), strict=True), (m.data - EPS_S).tolist(), strict=True))
    theirs = dict(zip(zip(od["source"], od["target"], strict=True), od["seconds"], strict=True))
    xy = network.nodes[["x", "y"]].to_numpy()
    assert np.ptp(xy, axis=0).min() > 4 * 750  # many tiles
    assert ours.keys() == theirs.keys() and len(ours) > 1000
    assert np.allclose([ours[p] for p in theirs], list(theirs.values()), atol=1e-6)


def test_the_sites_added_to_a_kept_map_equal_a_map_made_with_them(sample):
    """The app adds the siting's sites to the map it keeps: the same layers as a map made with them."""
    from analysis.pipeline import run_circle
    from quarterhour.render.webmap import map_data, with_sites

    network, facilities, demand = sample
    result = run_circle(network, facilities, demand, minutes=5)
    assert len(result.sites)  # the run's own suggested site is replaced
    r = plan_sites(network, result.demand, snap_points(demand, network), k=2, minutes=5)
    plain = map_data(result, network, lang="zh")
    made = map_data(result, network, lang="zh", sites=r.sites, site_reach=r.isochrones)
    added = with_sites(plain, result, r.sites, r.isochrones, lang="zh")
    assert added.layers == made.layers and added.token != plain.token
    assert (added.bounds, added.legend, added.street_image) == (made.bounds, made.legend, made.street_image)
