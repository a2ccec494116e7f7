"""Issue 26, the app's side: the same inputs give the same page whatever the planner clicks; the page says what it used.

Real app (AppTest), real store of prepared networks (two cuts of the bundled sample), real readers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from streamlit.testing.v1 import AppTest

from geo import sample_paths
from geo.store import store_network

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app.py"
CHOICES = ("selectbox", "radio", "multiselect", "select_slider")


def _toy_city(path: Path, lon0: float = 112.45, lat0: float = 34.62) -> Path:
    """A 5 × 5 street grid (about 100 m blocks) in Luoyang, as GraphML: a prepared network far from Monaco."""
    import networkx as nx
    import osmnx as ox

    g = nx.MultiDiGraph(crs="EPSG:4326")
    for i in range(5):
        for j in range(5):
            g.add_node(i * 5 + j, x=lon0 + i * 0.001, y=lat0 + j * 0.001)
    for i in range(5):
        for j in range(5):
            for a, b in ((i + 1, j), (i, j + 1)):
                if a < 5 and b < 5:
                    g.add_edge(i * 5 + j, a * 5 + b, length=100.0)
                    g.add_edge(a * 5 + b, i * 5 + j, length=100.0)
    ox.save_graphml(g, path)
    return path


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A store of three prepared networks, oldest first: the sample's west half, the whole sample, a Luoyang grid."""
    folder = tmp_path_factory.mktemp("trust")
    before = os.environ.get("QUARTERHOUR_CACHE")
    os.environ["QUARTERHOUR_CACHE"] = str(folder / "cache")
    west, city = folder / "monaco-west.graphml", folder / "monaco-city.graphml"
    shutil.copy(sample_paths()["network"], west)
    shutil.copy(sample_paths()["network"], city)
    w, s, e, n = gpd.read_file(sample_paths()["boundaries"]).to_crs(4326).total_bounds
    older = store_network(west, clip_to=shapely.box(w, s, (w + e) / 2, n))
    time.sleep(0.01)
    newer = store_network(city)
    time.sleep(0.01)
    newest = store_network(_toy_city(folder / "luoyang-toy.graphml"))
    yield {"west": f"store:{older.path}", "city": f"store:{newer.path}", "luoyang": f"store:{newest.path}"}
    if before is None:
        os.environ.pop("QUARTERHOUR_CACHE", None)
    else:
        os.environ["QUARTERHOUR_CACHE"] = before


@pytest.fixture(autouse=True)
def _own_workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("QUARTERHOUR_DATABASE_URL", f"sqlite:///{tmp_path / 'workspace.sqlite'}")


def _app() -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=120).run()


def headline(app: AppTest) -> tuple[str, ...]:
    """The headline's figures (covered / all, rate, facilities, ...)."""
    return tuple(m.value for m in app.metric)


def choices(app: AppTest) -> dict[str, list[str]]:
    """Every keyed choice on the page: the option words the browser is sent."""
    found = {}
    for kind in CHOICES:
        for widget in app.get(kind):
            if widget.key is not None:
                found[widget.key] = list(widget.options)
    return found


def test_switching_the_language_keeps_the_prepared_network_and_the_headline(store):
    app = _app()
    app.radio(key="network_how").set_value("store").run()
    assert app.selectbox(key="network_store").value == store["luoyang"]  # the newest is listed first
    app.selectbox(key="network_store").set_value(store["west"]).run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    chosen = headline(app)
    zh_words = choices(app)
    app.radio(key="lang").set_value("en").run()
    en_words = choices(app)
    assert app.selectbox(key="network_store").value == store["west"]
    assert headline(app) == chosen
    app.radio(key="lang").set_value("zh").run()
    assert app.selectbox(key="network_store").value == store["west"]
    assert headline(app) == chosen
    # The browser keeps a choice by its words: no input's words may change with the language, or the
    # browser's choice is lost (it falls back to the first option) on the next run.
    assert {k: v for k, v in en_words.items() if k != "lang"} == {k: v for k, v in zh_words.items() if k != "lang"}


_READ_AFTER_WARMING = r"""
import sys, tempfile
from pathlib import Path
import pandas as pd
import app  # the page's module, as the server loads it (main() not run)
from quarterhour.ui.preload import warm_imports
warm_imports()  # what main() does first
before = set(sys.modules)
from geo import read_demand, read_facilities, sample_paths
from quarterhour.gis.export import layer_bytes, table_bytes
folder = Path(tempfile.mkdtemp())
rows = {"名称": ["甲", "乙"], "类别": ["党群服务中心"] * 2, "经度": [7.42, 7.43], "纬度": [43.73, 43.74]}
pd.DataFrame(rows).to_excel(folder / "设施.xlsx", index=False)
pd.DataFrame(rows).to_csv(folder / "设施.csv", index=False)
assert len(read_facilities(folder / "设施.xlsx")) == 2 and len(read_facilities(folder / "设施.csv")) == 2
demand = read_demand(sample_paths()["demand"])
table_bytes(pd.DataFrame(rows), "xlsx")
table_bytes(pd.DataFrame(rows), "csv")
layer_bytes(demand.head(3), "demand", "gpkg", provenance={"parameters": {}, "files": {}})
print(sorted(set(sys.modules) - before))
"""


def test_no_reader_or_writer_imports_a_module_in_a_script_thread():
    """After the page's first step, reading XLSX/CSV/GeoJSON and writing XLSX/GPKG import nothing new.

    Two sessions' threads importing one module at once got a half-made openpyxl ("partially initialized
    module 'openpyxl' has no attribute 'Workbook'"): every such import now happens once, under a lock.
    """
    run = subprocess.run(
        [sys.executable, "-c", _READ_AFTER_WARMING], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert run.returncode == 0, run.stderr[-2000:]
    imported = eval(run.stdout.strip().splitlines()[-1])
    libraries = [m for m in imported if m.split(".")[0] not in ("geo", "quarterhour", "analysis", "ui")]
    assert libraries == [], libraries


def test_streamlit_never_shows_its_exception_page():
    """``client.showErrorDetails`` hides the message, the type and the traceback in the installed Streamlit."""
    import tomllib

    from streamlit import config
    from streamlit.elements.exception import _error_detail_visibility

    value = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["client"]["showErrorDetails"]
    before = config.get_option("client.showErrorDetails")
    config.set_option("client.showErrorDetails", value)
    try:
        shown = _error_detail_visibility(apply_show_error_details=True)
    finally:
        config.set_option("client.showErrorDetails", before)
    assert not shown.show_message and not shown.show_trace and not shown.show_type


def _page_with_a_bug():
    import streamlit as st

    from quarterhour.ui.errors import page_edge

    with st.sidebar:
        st.radio("language", ["zh", "en"], key="lang")
    with page_edge("lang"):
        st.title("quarterhour")
        {}["/srv/quarterhour/cache/uploads/secret.xlsx"]  # a bug that no part of the page caught


@pytest.mark.parametrize(("lang", "words"), [("zh", "这是本工具的缺陷"), ("en", "this is a bug of the tool")])
def test_a_bug_at_the_page_edge_is_said_in_the_planners_words(lang, words):
    app = AppTest.from_function(_page_with_a_bug, default_timeout=60).run()
    if lang == "en":
        app.radio(key="lang").set_value("en").run()
    assert not app.exception  # no Streamlit exception page
    (said,) = [e.value for e in app.error]
    assert words in said and "/srv" not in said and "Traceback" not in said and "KeyError" not in said
    assert app.title[0].value == "quarterhour"  # what was drawn before the bug stays


def _upload_facilities(app: AppTest, tmp_path: Path, rows: list[tuple[str, float, float]]) -> AppTest:
    lines = ["名称,类别,经度,纬度", *(f"{name},党群服务中心,{lon},{lat}" for name, lon, lat in rows)]
    data = "\n".join(lines).encode("utf-8")
    return app.file_uploader(key="facilities_file").set_value(("我的设施.csv", data, "text/csv")).run()


def test_uploaded_points_choose_the_prepared_network_that_holds_them(store, tmp_path):
    """Monaco's points go to a Monaco network, not to the newest (a Luoyang grid); the network in use stays
    when it holds them (the bundled sample, here)."""
    monaco = [("港口中心", 7.4245, 43.7360), ("城堡中心", 7.4206, 43.7315)]
    stays = _upload_facilities(_app(), tmp_path, monaco)
    assert stays.radio(key="network_how").value == "sample" and not stays.sidebar.info
    app = _app()
    app.radio(key="network_how").set_value("store").run()  # the newest prepared network: the Luoyang grid
    assert app.selectbox(key="network_store").value == store["luoyang"]
    app = _upload_facilities(app, tmp_path, monaco)
    assert app.radio(key="network_how").value == "store"
    assert app.selectbox(key="network_store").value == store["city"]  # both Monaco cuts hold them: the newer
    said = [i.value for i in app.sidebar.info]
    assert any("monaco-city.graphml" in s and "2 个点中有 2 个" in s for s in said), said
    assert not app.exception and not app.error, [e.value for e in app.error]
    app.radio(key="lang").set_value("en").run()
    assert any("'monaco-city.graphml' is used: 2 of the 2" in i.value for i in app.sidebar.info)
    app.selectbox(key="network_store").set_value(store["west"]).run()  # the planner's own word stands
    assert app.selectbox(key="network_store").value == store["west"]
    assert not any("monaco-city.graphml" in i.value for i in app.sidebar.info)


def test_points_beyond_every_prepared_network_take_the_newest_and_say_so(store, tmp_path):
    app = _upload_facilities(_app(), tmp_path, [("天安门", 116.3975, 39.9087)])
    assert app.radio(key="network_how").value == "store"
    assert app.selectbox(key="network_store").value == store["luoyang"]
    said = " ".join(i.value for i in app.sidebar.info)
    assert "不在任何已整理路网的范围内" in said and "luoyang-toy.graphml" in said, said
    assert not app.exception


def test_the_map_credits_the_networks_source(store, sample):
    """OpenStreetMap is credited for OSM streets only; a city's own network is credited by its name."""
    from analysis.pipeline import run_circle
    from quarterhour.render.leaflet import OSM_ATTRIBUTION
    from quarterhour.render.webmap import draw_map, map_data
    from quarterhour.ui.compute import streets_credit

    assert streets_credit("sample", "zh") == OSM_ATTRIBUTION
    assert streets_credit(store["city"], "zh") == OSM_ATTRIBUTION  # a GraphML whose segments carry OSM ids
    assert streets_credit(store["luoyang"], "zh") == "路网：luoyang-toy.graphml"
    assert streets_credit(store["luoyang"], "en") == "streets: luoyang-toy.graphml"
    network, facilities, demand = sample
    result = run_circle(network, facilities, demand)
    own = draw_map(map_data(result, network, streets_credit="路网：某市规划局")).get_root().render()
    osm = draw_map(map_data(result, network)).get_root().render()
    assert json.dumps("路网：某市规划局")[1:-1] in own and "openstreetmap" not in own  # in the layer's options
    assert "openstreetmap" in osm


def test_the_chinese_page_has_no_english_choice_words_and_a_local_example(store):
    app = _app()
    assert app.multiselect(key="categories").proto.placeholder == "请选择（可多选）"
    assert app.multiselect(key="bands").proto.placeholder == "请选择（可多选）"
    sample_example = app.text_input(key="lonlat").placeholder
    lon, lat = (float(v) for v in sample_example.split(","))
    assert 7.40 < lon < 7.45 and 43.72 < lat < 43.76  # the middle of the sample's streets
    app.radio(key="network_how").set_value("store").run()
    app.selectbox(key="network_store").set_value(store["west"]).run()
    assert app.selectbox(key="network_store").proto.placeholder == "请选择"
    west = app.text_input(key="lonlat").placeholder
    lon, lat = (float(v) for v in west.split(","))
    assert west != sample_example and lon < 7.426  # the middle of the west half, not Monaco's old example
    app.button(key="run_siting").click().run()
    solver = next(m for m in app.metric if m.label == "求解")
    assert "✓" not in solver.value and any(w in solver.value for w in ("整数规划", "贪心法")), solver.value


# --- the page is a function of the inputs shown: a property over sequences of clicks -------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as hs  # noqa: E402

#: Widgets that only change the view: the headline, the tables' figures and the files for a given view stay.
VIEWS = {
    "level": ("radio", ("city", "district", "subdistrict", "community")),
    "dl_table": ("selectbox", None),  # options are the values (no words)
    "dl_tfmt": ("radio", ("csv", "xlsx")),
    "dl_layer": ("selectbox", None),
    "basemap": ("radio", ("none", "osm")),
    "click_mode": ("radio", ("browse", "add", "close")),
    "new_category": ("selectbox", ("service_centre", "neighbourhood_centre", "liaison_point", "study_room")),
}
#: The inputs: changing one changes the page as a fresh session with the same inputs shows it.
INPUTS = {"minutes": ("select_slider", (5, 10, 15)), "categories": ("multiselect", None)}

ACTIONS = hs.one_of(
    hs.tuples(hs.just("lang"), hs.sampled_from(["zh", "en"])),
    hs.tuples(hs.just("rerun"), hs.just(0)),
    hs.tuples(hs.sampled_from(sorted(VIEWS)), hs.integers(0, 5)),
    hs.tuples(hs.sampled_from(sorted(INPUTS)), hs.integers(0, 5)),
    hs.tuples(hs.just("network"), hs.sampled_from(["sample", "west"])),
)


def _widget(app: AppTest, key: str, kind: str):
    return next((w for w in app.get(kind) if w.key == key), None)


def _apply(app: AppTest, action: tuple, store: dict) -> tuple[str, object] | None:
    """Do one click; returns (key, value) set, or None when the widget is not on the page."""
    key, n = action
    if key == "rerun":
        app.run()
        return None
    if key == "lang":
        app.radio(key="lang").set_value(n).run()
        return ("lang", n)
    if key == "network":
        if n == "sample":
            app.radio(key="network_how").set_value("sample").run()
        else:
            app.radio(key="network_how").set_value("store").run()
            app.selectbox(key="network_store").set_value(store[n]).run()
        return ("network", n)
    kind, allowed = {**VIEWS, **INPUTS}[key]
    widget = _widget(app, key, kind)
    if widget is None:
        return None
    if kind == "multiselect":  # a non-empty subset of the categories, chosen by n's bits
        from geo.vocab import CATEGORIES

        cats = list(CATEGORIES)
        value = [c for i, c in enumerate(cats) if (n + 1) >> i & 1] or cats[:1]
    else:
        options = list(allowed or widget.options)
        value = options[n % len(options)]
    widget.set_value(value).run()
    return (key, value)


def fingerprint(app: AppTest, media) -> dict:
    """What the page says that must follow from the inputs: the headline, the tables' figures, the files."""
    tables = []
    for frame in app.dataframe:
        numbers = frame.value.select_dtypes("number")
        rows = numbers.round(6).to_numpy().tolist()
        tables.append(tuple(tuple(None if v != v else v for v in row) for row in rows))  # NaN: no rate (no one)
    files = {}
    for button in app.get("download_button"):
        name = button.proto.url.rsplit("/", 1)[-1]
        if button.proto.url:
            files[button.proto.label.split("（")[0], name.rsplit(".", 1)[-1]] = hash(media(button))
    return {"headline": headline(app), "tables": tables, "files": files}


@pytest.fixture
def media(monkeypatch):
    """The files AppTest's download buttons hold (as tests/test_app.py reads them)."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
    from streamlit.testing.v1 import app_test

    stores = []

    class Kept(MemoryMediaFileStorage):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            stores.append(self)

    monkeypatch.setattr(app_test, "MemoryMediaFileStorage", Kept)
    return lambda button: stores[-1].get_file(button.proto.url.rsplit("/", 1)[-1].split(".")[0]).content


@settings(
    max_examples=int(os.environ.get("QUARTERHOUR_UI_EXAMPLES", "2")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(actions=hs.lists(ACTIONS, min_size=1, max_size=4))
def test_the_page_follows_the_inputs_shown_whatever_is_clicked(store, media, actions):
    app = _app()
    said: dict[str, object] = {}
    before = fingerprint(app, media)
    assert before["headline"] and before["tables"] and len(before["files"]) == 3  # the page has what is compared
    for action in actions:
        done = _apply(app, action, store)
        assert not app.exception
        after = fingerprint(app, media)
        if done is None or done[0] in VIEWS or done[0] == "lang":  # not an input: the headline stays
            assert after["headline"] == before["headline"], (action, actions)
        if done is not None:
            said[done[0]] = done[1]
        before = after
    # A fresh session given the same inputs and views at once shows the same page.
    fresh = _app()
    for key in ("network", "lang", *INPUTS, *VIEWS):
        if key in said:
            _set(fresh, key, said[key], store)
    assert fingerprint(fresh, media) == before, (actions, said)


def _set(app: AppTest, key: str, value: object, store: dict) -> None:
    if key == "network":
        _apply(app, ("network", value), store)
    elif key == "lang":
        app.radio(key="lang").set_value(value).run()
    else:
        kind, _ = {**VIEWS, **INPUTS}[key]
        widget = _widget(app, key, kind)
        if widget is not None:
            widget.set_value(value).run()
