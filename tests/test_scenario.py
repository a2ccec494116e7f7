"""Scenarios: each change gives what a fresh run on the changed facilities gives; files round-trip."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from analysis import columns as C
from analysis.coverage import coverage_by_level, nearest_facility
from analysis.gaps import gap_zones
from analysis.scenario import apply_changes, baseline, compare, empty_changes, evaluate
from geo import InputError, read_boundaries, sample_paths, snap_points
from geo.scenario import read_scenario, scenario_geojson

MINUTES = 5


@pytest.fixture(scope="module")
def base(sample):
    network, facilities, demand = sample
    d_snap = snap_points(demand, network)
    before = nearest_facility(network, facilities, demand, snap_points(facilities, network), d_snap, minutes=MINUTES)
    return network, facilities, demand, d_snap, before, gap_zones(before)


def fresh(network, facilities, demand, d_snap):
    """The independent answer: a plain run on the facilities as they would be."""
    return nearest_facility(network, facilities, demand, snap_points(facilities, network), d_snap, minutes=MINUTES)


def changes(rows, crs):
    return gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=["action", "facility_id", "name", "category", "geometry"]), crs=crs
    )


def test_no_change_is_the_current_state(base):
    network, facilities, demand, d_snap, before, gaps = base
    after = evaluate(network, facilities, demand, d_snap, empty_changes(network.crs), minutes=MINUTES)
    assert after.summary.pop_covered == before.loc[before[C.COVERED], C.POP].sum()
    figures, _ = compare(before, gaps, {}, after)
    assert figures["pop_gained"] == figures["pop_lost"] == figures["gaps_closed"] == 0


def test_add_move_close_equal_a_fresh_run(base):
    network, facilities, demand, d_snap, before, gaps = base
    spot = gaps.geometry.iloc[0].representative_point()
    moved_to = shapely.Point(facilities.geometry["F002"].x + 250, facilities.geometry["F002"].y)
    ch = changes(
        [
            ("add", None, "新中心", "neighbourhood_centre", spot),
            ("close", "F001", None, None, facilities.geometry["F001"]),
            ("move", "F002", None, None, moved_to),
        ],
        network.crs,
    )
    after = evaluate(network, facilities, demand, d_snap, ch, minutes=MINUTES)
    by_hand = facilities.drop(index="F001").copy()
    by_hand.loc["F002", "geometry"] = moved_to
    added = gpd.GeoDataFrame(
        {"facility_id": ["X"], "name": ["新中心"], "category": ["neighbourhood_centre"]},
        geometry=[spot],
        crs=network.crs,
        index=["X"],
    )
    expected = fresh(network, pd.concat([by_hand, added]), demand, d_snap)
    np.testing.assert_allclose(after.demand[C.MINUTES], expected[C.MINUTES], rtol=0, atol=1e-9)
    assert (after.demand[C.COVERED] == expected[C.COVERED]).all()
    assert list(after.facilities.index[-1:]) == ["NEW1"] and "F001" not in after.facilities.index
    assert after.facilities.loc["F002", "change"] == "move"

    figures, _ = compare(before, gaps, {}, after)
    was, now, pop = before[C.COVERED], after.demand[C.COVERED], demand[C.POP]
    assert figures["pop_gained"] == pop[now & ~was].sum() > 0
    assert figures["pop_lost"] == pop[was & ~now].sum()
    assert figures["pop_covered_after"] - figures["pop_covered_before"] == pytest.approx(figures["pop_net"])
    # A gap zone is closed when every resident point in it is now covered.
    inside = gpd.sjoin(before.loc[~was, ["geometry"]], gaps[["gap_id", "geometry"]], predicate="within")
    closed = sum(now.loc[idx].all() for _, idx in inside.groupby("gap_id").groups.items())
    assert figures["gaps_closed"] == closed


def test_levels_before_and_after(base):
    network, facilities, demand, d_snap, before, gaps = base
    sample_boundaries = {k: v.to_crs(network.crs) for k, v in read_boundaries(sample_paths()["boundaries"]).items()}
    levels, _ = coverage_by_level(before, facilities, sample_boundaries)
    spot = gaps.geometry.iloc[0].representative_point()
    ch = changes([("add", None, "n", "liaison_point", spot)], network.crs)
    after = evaluate(network, facilities, demand, d_snap, ch, minutes=MINUTES, boundaries=sample_boundaries)
    _, tables = compare(before, gaps, levels, after)
    district = tables["district"]
    assert set(district.columns) >= {"code", "name", "pct_before", "pct_after", "pct_change"}
    assert (district["pct_change"] >= -1e-9).all() and district["pct_change"].iloc[0] > 0  # biggest gain first


def test_unknown_facility_or_action_is_named(base):
    network, facilities, *_ = base
    with pytest.raises(InputError, match="F999"):
        apply_changes(facilities, changes([("close", "F999", None, None, shapely.Point(0, 0))], network.crs))
    with pytest.raises(InputError, match="unknown scenario action"):
        apply_changes(facilities, changes([("build", None, "x", None, shapely.Point(0, 0))], network.crs))


def test_scenario_file_round_trip(tmp_path, base):
    network, facilities, *_ = base
    ch = changes(
        [
            ("add", None, '=HYPERLINK("x") 新中心', "neighbourhood_centre", shapely.Point(7.42, 43.73)),
            ("close", "F001", "Mairie", "service_centre", shapely.Point(7.41, 43.73)),
        ],
        4326,
    )
    path = tmp_path / "scenario.geojson"
    path.write_bytes(scenario_geojson(ch))
    back = read_scenario(path)
    assert back["action"].tolist() == ["add", "close"]
    assert back["name"].iloc[0] == '=HYPERLINK("x") 新中心'  # kept as data; only spreadsheets neutralise
    assert back["facility_id"].iloc[1] == "F001"
    assert back.geometry.iloc[0].equals_exact(shapely.Point(7.42, 43.73), 1e-7)
    # and the read scenario applies to the facilities it was made for
    assert "F001" not in apply_changes(facilities, back.to_crs(network.crs)).index


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"action": "build", "facility_id": None}, "row 1.*unknown action 'build'"),
        ({"action": "close", "facility_id": None}, "row 1.*needs the id"),
        ({"action": "add", "category": "school"}, "unknown category 'school'"),
        ({"name": "x"}, "no 'action' column"),
    ],
)
def test_bad_scenario_files_are_named(tmp_path, props, message):
    path = tmp_path / "bad.geojson"
    feature = {"type": "Feature", "properties": props, "geometry": {"type": "Point", "coordinates": [7.42, 43.73]}}
    path.write_text('{"type": "FeatureCollection", "features": [' + json.dumps(feature) + "]}", encoding="utf-8")
    with pytest.raises(InputError, match=message) as err:
        read_scenario(path)
    assert "bad.geojson" in str(err.value)


@pytest.mark.parametrize(
    "what",
    ["add", "close", "move", "add_close_move", "close_all_but_two", "add_twice_same_place", "close_then_readd"],
)
def test_incremental_scenario_equals_a_fresh_run(base, what):
    """Evaluated from the current state (a Baseline), a scenario gives what a fresh evaluation gives."""
    network, facilities, demand, d_snap, before, gaps = base
    sample_boundaries = {k: v.to_crs(network.crs) for k, v in read_boundaries(sample_paths()["boundaries"]).items()}
    spot = gaps.geometry.iloc[0].representative_point()
    far = gaps.geometry.iloc[-1].representative_point()
    f = facilities.geometry
    rows = {
        "add": [("add", None, "a", "service_centre", spot)],
        "close": [("close", "F003", None, None, f["F003"])],
        "move": [("move", "F004", None, None, far)],
        "add_close_move": [
            ("add", None, "a", "liaison_point", spot),
            ("close", "F001", None, None, f["F001"]),
            ("move", "F002", None, None, far),
        ],
        "close_all_but_two": [("close", i, None, None, f[i]) for i in facilities.index[2:]],
        "add_twice_same_place": [("add", None, "a", "study_room", spot), ("add", None, "b", "study_room", spot)],
        "close_then_readd": [
            ("close", "F005", None, None, f["F005"]),
            ("add", None, "back", "service_centre", shapely.Point(f["F005"].x + 120, f["F005"].y)),
        ],
    }[what]
    ch = changes(rows, network.crs)
    options = {"minutes": MINUTES, "boundaries": sample_boundaries}
    b = baseline(network, facilities, demand, d_snap, **options)
    quick = evaluate(network, facilities, demand, d_snap, ch, base=b, **options)
    slow = evaluate(network, facilities, demand, d_snap, ch, **options)
    assert (slow.demand[C.MINUTES].fillna(-1) != before[C.MINUTES].fillna(-1)).any()  # the change changes walks
    np.testing.assert_allclose(quick.demand[C.MINUTES], slow.demand[C.MINUTES], rtol=0, atol=1e-9)
    assert (quick.demand[C.COVERED] == slow.demand[C.COVERED]).all()
    # The nearest centre is the same wherever it is not a tie (two centres equally near).
    assert (quick.demand[C.NEAREST] == slow.demand[C.NEAREST]).mean() > 0.99
    assert quick.summary == slow.summary
    for level, table in slow.levels.items():
        pd.testing.assert_frame_equal(quick.levels[level], table)
    pd.testing.assert_frame_equal(quick.gaps, slow.gaps)
    pd.testing.assert_frame_equal(quick.facilities.drop(columns="geometry"), slow.facilities.drop(columns="geometry"))
