"""Issue 26, the app's side: the same inputs give the same page whatever the planner clicks; the page says what it used.

Real app (AppTest), real store of prepared networks (two cuts of the bundled sample), real readers.
"""

from __future__ import annotations

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


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A store of two prepared networks: the sample's west half (older) and the whole sample (newer, listed first)."""
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
    yield {"west": f"store:{older.path}", "city": f"store:{newer.path}"}
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
    assert app.selectbox(key="network_store").value == store["city"]  # the newest is listed first
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
from ui.preload import warm_imports
warm_imports()  # what main() does first
before = set(sys.modules)
from geo import read_demand, read_facilities, sample_paths
from quarterhour.export import layer_bytes, table_bytes
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

    from ui.errors import page_edge

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
