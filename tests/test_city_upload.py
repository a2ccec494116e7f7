"""Issue 29 (city-upload): a city's residents upload → map, lighter, its stages shown.

The Monaco sample stands for the city here: with ``SMALL_NETWORK_NODES`` at 0 the app runs it as it runs a
100k-node city (the merged reach traced from a grid, no facility's own reach, no automatic site), so the
city's path is exercised in seconds: the layer files made on the press, the reach kept apart from the
residents (and begun ahead), the stages shown in the page's box.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from analysis import run_circle
from geo import sample_paths
from quarterhour.ui import compute as qc
from quarterhour.ui.values import Inputs

APP = Path(__file__).resolve().parent.parent / "app.py"


def _fresh_caches() -> None:
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture(scope="module")
def city_app(tmp_path_factory):
    """The app on the sample run as a city, from cold caches (and the caches cleared after: no city-run leaks)."""
    from streamlit.runtime.media_file_manager import MediaFileManager
    from streamlit.testing.v1 import app_test

    managers = []  # each run's media files (AppTest's runtime is gone after the run: the press is made on these)

    class Kept(MediaFileManager):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            managers.append(self)

    db = tmp_path_factory.mktemp("ws") / "workspace.sqlite"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("QUARTERHOUR_DATABASE_URL", f"sqlite:///{db}")
        mp.setattr(qc, "SMALL_NETWORK_NODES", 0)
        mp.setattr(app_test, "MediaFileManager", Kept)
        _fresh_caches()
        qc._AHEAD.clear()
        app = AppTest.from_file(str(APP), default_timeout=180).run()
        yield app, managers
    _fresh_caches()
    qc._AHEAD.clear()


def test_a_city_runs_and_shows_its_stages_in_order(city_app):
    app, _ = city_app
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert app.metric[0].value == "38,245 / 38,367"  # the same figure as the sample's own run
    told = app.session_state["qh_stages_told"]
    # reading and snapping the residents, the run's steps, the map (and the autosave): in the order the page does
    assert told[:3] == ["reading", "snapping", "analysis"]
    assert told[-1] == "map"
    assert {"step_travel_times", "step_isochrones", "step_coverage"} <= set(told)
    # the box is gone once the page is shown: no status left on the page
    assert not [e for e in app.main if type(e).__name__ == "Status"]


def test_a_page_that_computes_nothing_shows_no_stages(city_app):
    app, _ = city_app
    app.session_state["qh_stages_told"] = []
    app.run()  # every computation is cached now
    assert not app.exception
    assert app.session_state["qh_stages_told"] == []


def test_a_citys_layer_files_are_made_on_the_press(city_app, tmp_path):
    app, managers = city_app
    buttons = {b.proto.label: b.proto for b in app.get("download_button")}
    everything = buttons["下载全部图层（GeoPackage）"]
    assert everything.deferred_file_id and not everything.url  # not made on the page's run
    tables = [b.proto for b in app.get("download_button") if b.proto.url.endswith((".csv", ".xlsx"))]
    assert tables  # a table is made at once (the run has it)
    manager = next(m for m in reversed(managers) if everything.deferred_file_id in m._deferred_callables)
    url = manager.execute_deferred(everything.deferred_file_id)  # the press
    path = tmp_path / "all.gpkg"
    path.write_bytes(manager._storage.get_file(url.rsplit("/", 1)[-1].split(".")[0]).content)
    layers = set(pyogrio.list_layers(path)[:, 0])
    assert {"facilities", "demand", "isochrones", "gaps"} <= layers
    iso = gpd.read_file(path, layer="isochrones")
    assert len(iso) and iso["facility_id"].nunique() > 1  # each facility's own reach, made on the press


def test_the_reach_kept_is_the_reach_drawn_and_not_the_residents(tmp_path):
    """``facilities_reach`` is ``circle_reach`` of the facilities; the residents are not in its key."""
    network, points = qc.network_of(Inputs()), qc.load_points(Inputs())
    facilities, demand = points.facilities, points.demand
    params = qc.Params(15.0, 4.5, tuple(sorted(facilities["category"].unique())), (), (5.0, 10.0))
    options = qc._run_options(network, points, params).replace(isochrones=("merged",), reach_cell_m=50.0)
    other = tmp_path / "demand.geojson"  # the same residents under another name: another Inputs
    shutil.copy(sample_paths()["demand"], other)
    kept = qc.facilities_reach(Inputs(), facilities, options)
    assert qc.facilities_reach(Inputs(demand=str(other)), facilities, options) is kept
    fresh = run_circle(network, facilities, demand, options)  # drawn afresh: the same shapes
    assert fresh.reach.geometry.normalize().geom_equals_exact(kept.reach.geometry.normalize(), 1e-9).all()
    given = run_circle(network, facilities, demand, options, reach=kept)
    assert given.summary == fresh.summary
    assert given.gaps.drop(columns="geometry").equals(fresh.gaps.drop(columns="geometry"))
    moved = facilities.iloc[:-1]  # another set of facilities: another reach
    assert qc.facilities_reach(Inputs(), moved, options) is not kept


def test_a_citys_reach_is_begun_ahead_once(monkeypatch):
    monkeypatch.setattr(qc, "SMALL_NETWORK_NODES", 0)
    qc._AHEAD.clear()
    try:
        params = qc.Params(15.0, 4.5, ("service_centre", "study_room"), (), (5.0, 10.0))
        assert qc.reach_ahead(Inputs(), params) is True
        assert qc.reach_ahead(Inputs(), params) is False  # begun already
        small = qc.Params(15.0, 4.5, ("service_centre", "study_room"), (), (5.0, 10.0), at=3 * 1440 + 19 * 60)
        assert qc.reach_ahead(Inputs(), small) is False  # a time of the week: the run's own facilities
    finally:
        qc._AHEAD.clear()
        _fresh_caches()
