"""Issue 29 (city-click): a city's click costs only its scenario, the first one too; the siting panel's press finds
its coverage made.

- A click's scenario is kept as made (``st.cache_resource``), not pickled and unpickled: the autosave's figures and
  the comparison read the same object (a city's 50k residents and 7k gap zones from WKB cost 0.4-0.7 s a click).
- What a first click used to make (the gap zone of each resident left out, the network's kept faces, PROJ's first
  transformation) is made after the map is sent (``scenario_ready``); the click then makes none of it.
- The siting's coverage, the reduced model and the curve are begun when the planner sets the panel
  (``siting_ahead``): the press solves on them, with the same sites and objective as a run that makes its own.

The Monaco sample stands for the city (``SMALL_NETWORK_NODES`` at 0 where the city's path differs).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import streamlit as st

from analysis import columns as C
from analysis import scenario as scenario_module
from analysis.scenario import compare, evaluate
from analysis.siting import plan_sites
from geo.scenario import changes_frame
from quarterhour.ui import compute as qc
from quarterhour.ui.values import Change, Inputs

UNITS = "sample"


def _fresh() -> None:
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture(scope="module")
def state():
    """The sample's run as the app makes it: params of every category, and two clicks in its biggest gaps."""
    _fresh()
    facilities = qc.load_points(Inputs()).facilities
    params = qc.Params(15.0, 4.5, tuple(sorted(facilities["category"].unique())), (), (5.0, 10.0))
    result = qc.compute(Inputs(), UNITS, params)
    spots = gpd.GeoSeries([g.representative_point() for g in result.gaps.geometry.iloc[:2]], crs=result.gaps.crs)
    lonlat = spots.to_crs(4326)
    clicks = tuple(
        Change("add", None, f"新中心 {n}", "service_centre", float(p.x), float(p.y))
        for n, p in enumerate(lonlat, start=1)
    )
    yield params, result, clicks
    _fresh()


def test_a_clicks_scenario_is_kept_as_made_and_exact(state):
    """The same view for the comparison and the autosave (not a copy), equal to a fresh evaluation's answer."""
    params, result, clicks = state
    view = qc.scenario(Inputs(), UNITS, params, clicks)
    assert qc.scenario(Inputs(), UNITS, params, clicks) is view  # the autosave's figures: no unpickling
    assert view.figures["pop_gained"] > 0
    points = qc.load_points(Inputs())
    chosen = qc._chosen(Inputs(), params)
    fresh = evaluate(  # without the kept baseline: every resident, unit and gap zone afresh
        qc.network_of(Inputs()),
        chosen,
        points.demand,
        points.demand_snap,
        changes_frame(clicks),
        minutes=params.cutoff_min,
        speed_kmh=params.engine_kmh,
        boundaries=qc.load_boundaries(Inputs().network, UNITS),
        gap_cell_m=qc.GAP_CELL_M,
    )
    np.testing.assert_allclose(view.after.demand[C.MINUTES], fresh.demand[C.MINUTES], rtol=0, atol=1e-9)
    assert view.after.summary == fresh.summary
    for level, table in fresh.levels.items():
        pd.testing.assert_frame_equal(view.after.levels[level], table, check_exact=True)
    pd.testing.assert_frame_equal(view.after.gaps, fresh.gaps, check_exact=True)
    figures, tables = compare(result.demand, result.gaps, result.levels, fresh)
    assert view.figures == figures
    for level, table in tables.items():
        pd.testing.assert_frame_equal(view.tables[level], table, check_exact=True)


def test_the_first_click_makes_nothing_the_map_run_made(state, monkeypatch):
    """After ``scenario_ready`` (the map's run), a first click builds no base, no gap members and reads no faces."""
    params, _, clicks = state
    for cached in (qc.scenario_base, qc._gap_members, qc.scenario):
        cached.clear()
    made = {"baseline": 0, "gap_members": 0, "faces": 0}

    def counted(name, fn):
        def wrapper(*args, **kwargs):
            made[name] += 1
            return fn(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(qc, "baseline", counted("baseline", qc.baseline))
    monkeypatch.setattr(qc, "gap_members", counted("gap_members", qc.gap_members))
    monkeypatch.setattr(scenario_module, "gap_members", counted("gap_members", scenario_module.gap_members))
    network = qc.network_of(Inputs())
    held = network.derived.get("faces", None)
    # the faces as a store entry keeps them: read on first use (the sample's entry keeps none: nothing to read)
    network.derived["faces"] = counted("faces", lambda: held)
    try:
        base = qc.scenario_ready(Inputs(), UNITS, params)
        assert made == {"baseline": 1, "gap_members": 1, "faces": 1}
        assert not callable(network.derived["faces"])  # read: a click's reach finds it
        assert base is qc.scenario_base(Inputs(), UNITS, params)
        qc.scenario(Inputs(), UNITS, params, clicks[:1])  # the first click
        qc.scenario(Inputs(), UNITS, params, clicks)  # and the next
        assert made == {"baseline": 1, "gap_members": 1, "faces": 1}
    finally:
        network.derived["faces"] = held


def test_the_siting_press_solves_on_what_was_begun_ahead(state, monkeypatch):
    """``siting_ahead`` makes the coverage, the reduced model and the curve once; the press's sites and objective
    are those of ``plan_sites`` making its own coverage (the path before)."""
    params, result, _ = state
    monkeypatch.setattr(qc, "SMALL_NETWORK_NODES", 0)
    qc._SITING_AHEAD.clear()
    measured = []
    monkeypatch.setattr(qc, "siting_coverage", lambda *a, **k: measured.append(1) or plan_coverage(*a, **k))
    plan = qc.Plan("mclp", 3, 0.95, 200.0)
    try:
        thread = qc.siting_ahead(Inputs(), UNITS, params, None, model=plan.model, spacing_m=plan.spacing_m)
        assert thread is not None
        assert qc.siting_ahead(Inputs(), UNITS, params, None, model=plan.model, spacing_m=plan.spacing_m) is None
        thread.join(120)
        cover = qc.siting_cover(Inputs(), UNITS, params, None, model=plan.model, spacing_m=plan.spacing_m)
        assert measured == [1]  # the press finds it: not measured again
        assert cover._reduced is not None and (qc.SITING_CURVE_K, qc.SITING_LIMIT_S) in cover._curves
        pressed = qc.siting(Inputs(), UNITS, params, None, plan)
        assert measured == [1]
        points = qc.load_points(Inputs())
        before = plan_sites(  # the path without a kept coverage
            qc.network_of(Inputs()),
            result.demand,
            points.demand_snap,
            model=plan.model,
            k=plan.k,
            minutes=params.cutoff_min,
            speed_kmh=params.engine_kmh,
            curve_k=qc.SITING_CURVE_K,
            time_limit_s=qc.SITING_LIMIT_S,
            boundaries=qc.load_boundaries(Inputs().network, UNITS),
        )
        assert list(pressed.sites.index) == list(before.sites.index)
        assert (pressed.before, pressed.after, pressed.total) == (before.before, before.after, before.total)
        pd.testing.assert_frame_equal(pressed.curve, before.curve)
        assert pressed.after > pressed.before
        monkeypatch.setattr(qc, "SMALL_NETWORK_NODES", 10**9)  # a small network: nothing begun ahead
        assert qc.siting_ahead(Inputs(), UNITS, params, None, model="lscp", spacing_m=100.0) is None
    finally:
        qc._SITING_AHEAD.clear()


plan_coverage = qc.siting_coverage
