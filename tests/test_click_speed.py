"""Issue 29: a click's scenario is computed from the current state (units, level tables, gap zones kept)
and gives exactly what a fresh evaluation gives, for a planner's sequence of add, move, close and undo;
the walks equal networkx Dijkstra on the changed facilities."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from analysis import columns as C
from analysis.coverage import coverage_by_level, demand_units, unit_parents, unit_rows, update_levels
from analysis.gaps import gap_zones, zone_shapes
from analysis.scenario import apply_changes, baseline, compare, evaluate, gap_members
from analysis.traveltime import speed_ms
from geo import read_boundaries, sample_paths, snap_points
from tests.test_traveltime import _split_graph

MINUTES = 5


def _boxes(demand: gpd.GeoDataFrame, level: str, n: int) -> gpd.GeoDataFrame:
    west, south, east, north = demand.total_bounds
    xs, ys = np.linspace(west - 1, east + 1, n + 1), np.linspace(south - 1, north + 1, n + 1)
    boxes = [shapely.box(xs[i], ys[j], xs[i + 1], ys[j + 1]) for i in range(n) for j in range(n)]
    codes = [f"{level[0].upper()}{k:03d}" for k in range(len(boxes))]
    return gpd.GeoDataFrame({"code": codes, "name": codes}, geometry=boxes, crs=demand.crs)


@pytest.fixture(scope="module")
def city(sample):
    """The sample with its own units and a grid (网格) level of 12 x 12 boxes under them (status counts)."""
    network, facilities, demand = sample
    bounds = {k: v.to_crs(network.crs) for k, v in read_boundaries(sample_paths()["boundaries"]).items()}
    bounds["grid"] = _boxes(demand, "grid", 12)
    d_snap = snap_points(demand, network)
    return (
        network,
        facilities,
        demand,
        d_snap,
        bounds,
        baseline(network, facilities, demand, d_snap, minutes=MINUTES, boundaries=bounds),
    )


def _frame(rows, crs) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=["action", "facility_id", "name", "category", "geometry"]), crs=crs
    )


def _same(quick, slow) -> None:
    np.testing.assert_allclose(quick.demand[C.MINUTES], slow.demand[C.MINUTES], rtol=0, atol=1e-9)
    assert (quick.demand[C.COVERED] == slow.demand[C.COVERED]).all()
    assert quick.summary == slow.summary
    assert list(quick.levels) == list(slow.levels)
    for level, table in slow.levels.items():
        pd.testing.assert_frame_equal(quick.levels[level], table, check_exact=True)
    pd.testing.assert_frame_equal(quick.gaps, slow.gaps, check_exact=True)


def test_a_planners_clicks_and_undos_equal_fresh_runs_and_networkx(city):
    """add, add, move, close, then undo twice: every state as a fresh evaluation and as networkx gives it."""
    network, facilities, demand, d_snap, bounds, base = city
    gaps = gap_zones(base.demand, boundaries=bounds)
    spots = [g.representative_point() for g in gaps.geometry.iloc[:2]]
    f = facilities.geometry
    moved_to = shapely.Point(f["F002"].x + 300, f["F002"].y + 150)
    clicks = [
        ("add", None, "新中心 1", "service_centre", spots[0]),
        ("add", None, "新中心 2", "liaison_point", spots[1]),
        ("move", "F002", None, None, moved_to),
        ("close", "F004", None, None, f["F004"]),
    ]
    sequence = [clicks[:n] for n in range(1, len(clicks) + 1)] + [clicks[:3], clicks[:2]]  # then undo, undo
    # networkx: one graph with every place a centre stands in some state, each point a node on its street
    places = gpd.GeoDataFrame(
        geometry=[*facilities.geometry, spots[0], spots[1], moved_to],
        index=[*facilities.index, "NEW1", "NEW2", "F002@moved"],
        crs=network.crs,
    )
    snaps = snap_points(pd.concat([places, demand[["geometry"]]]), network)
    graph = _split_graph(network, snaps, speed_ms(4.5))
    seen = set()
    for rows in sequence:
        changes = _frame(rows, network.crs)
        options = {"minutes": MINUTES, "boundaries": bounds}
        quick = evaluate(network, facilities, demand, d_snap, changes, base=base, **options)
        slow = evaluate(network, facilities, demand, d_snap, changes, **options)
        _same(quick, slow)
        seen.add(float(quick.summary.pop_covered))
        moved = {"F002": "F002@moved"} if any(r[0] == "move" for r in rows) else {}
        sources = [moved.get(k, k) for k in apply_changes(facilities, changes).index]
        ref = nx.multi_source_dijkstra_path_length(
            graph, {("p", k) for k in sources if snaps.loc[k, "on_network"]}, weight="s"
        )
        ref_min = np.array([ref.get(("p", k), np.inf) for k in demand.index]) / 60
        np.testing.assert_allclose(quick.demand[C.MINUTES].fillna(np.inf), ref_min, rtol=0, atol=1e-6)
    assert len(seen) >= 4  # the clicks change who is covered
    assert any(t["grids_partly"].sum() for t in quick.levels.values() if "grids_partly" in t)


def test_update_levels_equals_coverage_by_level_for_any_change(city):
    """Whoever's ``covered`` flips (seeded draws), the kept tables updated equal tables made afresh."""
    network, facilities, demand, _, bounds, base = city
    units_of = demand_units(demand, bounds)
    used = snap_points(facilities, network)["on_network"]
    rng = np.random.default_rng(29)
    for share in (0.0, 0.01, 0.3, 1.0):
        flip = rng.random(len(demand)) < share
        after = base.demand.assign(**{C.COVERED: base.demand[C.COVERED].to_numpy() ^ flip})
        fresh, _ = coverage_by_level(after, facilities, bounds, units_of=units_of, used=used)
        quick = update_levels(
            base.levels,
            base.demand,
            after,
            facilities,
            rows_of=unit_rows(base.levels, units_of),
            facility_units_of=base.facility_units_of,
            parents_of=unit_parents({"city": base.levels["city"], **bounds}, demand.crs),
            used=used,
        )
        for level, table in fresh.items():
            pd.testing.assert_frame_equal(quick[level], table, check_exact=True)


def test_kept_gap_polygons_and_members_give_the_same_answers(city):
    network, facilities, demand, d_snap, bounds, base = city
    before_gaps = gap_zones(base.demand, boundaries=bounds)
    shapes = zone_shapes(base.demand)
    assert len(shapes) == len(before_gaps)
    pd.testing.assert_frame_equal(gap_zones(base.demand, boundaries=bounds, shapes=shapes), before_gaps)
    other_size = zone_shapes(base.demand, cell_m=50)  # another cell size is never taken for this one
    pd.testing.assert_frame_equal(gap_zones(base.demand, boundaries=bounds, shapes=other_size), before_gaps)
    members = gap_members(base.demand, before_gaps)
    levels, _ = coverage_by_level(base.demand, facilities, bounds)
    closed = 0
    for spot in before_gaps.geometry.iloc[-3:]:  # small gaps: a centre there closes one
        changes = _frame([("add", None, "n", "service_centre", spot.representative_point())], network.crs)
        after = evaluate(network, facilities, demand, d_snap, changes, minutes=MINUTES, boundaries=bounds, base=base)
        plain = compare(base.demand, before_gaps, levels, after)
        kept = compare(base.demand, before_gaps, levels, after, members=members)
        assert plain[0] == kept[0]
        for level, table in plain[1].items():
            pd.testing.assert_frame_equal(kept[1][level], table)
        closed += plain[0]["gaps_closed"]
    assert closed >= 1


@pytest.mark.slow  # an AppTest with a second run of the sample (about 15 s alone, less in a whole suite)
def test_a_redrawn_map_tells_the_planner_that_clicks_on_the_old_one_were_not_taken(tmp_path, monkeypatch):
    """A page run that replaces the base map (new data or settings) says so; a click on this map is taken."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from quarterhour.i18n import t

    monkeypatch.setenv("QUARTERHOUR_DATABASE_URL", f"sqlite:///{tmp_path / 'workspace.sqlite'}")
    app = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=180).run()
    told = t("map_redrawn_kept", "zh")  # issue 29 (lost-input): such a click is now taken, and it says so
    assert not app.exception and told not in [i.value for i in app.caption]  # the first map replaces none
    app.select_slider(key="minutes").set_value(5).run()  # as tests/test_app.py's: the run is cached in a whole suite
    assert told in [i.value for i in app.caption]
    app.radio(key="click_mode").set_value("add").run()
    app.session_state["map"] = {"last_clicked": {"lat": 43.7335, "lng": 7.4190}}
    app.run()
    assert not app.exception and told not in [i.value for i in app.caption]
    table = next(df.value for df in app.dataframe if "变化" in df.value.columns)
    assert table["变化"].tolist() == ["新增"]
