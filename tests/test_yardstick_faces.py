"""The yardstick and population groups as the faces say them: the CLI, the layers' metadata, the pack, the app."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from streamlit.testing.v1 import AppTest

from geo import sample_paths

APP = Path(__file__).resolve().parent.parent / "app.py"
OLD = "60岁以上"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "quarterhour.cli", *args], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def grouped_demand(tmp_path_factory) -> Path:
    """The sample's residents with a column of residents over 60 (a fifth of each point, rounded)."""
    demand = gpd.read_file(sample_paths()["demand"])
    demand[OLD] = (demand["pop"] * 0.2).round()
    path = tmp_path_factory.mktemp("groups") / "residents.geojson"
    demand.to_file(path)
    return path


@pytest.fixture(scope="module")
def gb_run(tmp_path_factory, grouped_demand) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path_factory.mktemp("gb")
    args = ["run", "--standard", "gb50180", "--demand", str(grouped_demand), "--group", f"{OLD}=older"]
    return run_cli(*args, "--out", str(out), "--quiet"), out


def test_cli_prints_the_yardstick_and_each_group(gb_run):
    proc, _ = gb_run
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0].startswith("covered 37,") and "within 1,000 m walk; wrote" in lines[0]
    assert lines[1] == (
        "yardstick: GB 50180-2018 network walking distance: the 5/10/15-minute circles = 300/500/1,000 m; "
        "here 15 min = 1,000 m (by distance: the speed does not matter)"
    )
    assert lines[2].startswith(f"group: residents {OLD}: ")
    assert lines[2].endswith("within 1,000 m (by distance: the speed does not matter)")


def test_every_layer_names_the_yardstick(gb_run):
    _, out = gb_run
    gpkg = out / "coverage.gpkg"
    meta = pyogrio.read_info(gpkg, layer="demand")["dataset_metadata"]
    assert meta["yardstick"].startswith("GB 50180-2018 路网步行距离：5/10/15 分钟生活圈 = 300/500/1,000 米")
    record = json.loads(meta["parameters"])["yardstick"]
    assert record["name"] == "gb50180" and record["speed_kmh"] is None
    assert record["circles_m"] == {"5": 300.0, "10": 500.0, "15": 1000.0}
    with contextlib.closing(sqlite3.connect(gpkg)) as db:
        described = dict(db.execute("SELECT table_name, description FROM gpkg_contents").fetchall())
    layers = set(pyogrio.list_layers(gpkg)[:, 0]) - {"layer_styles"}
    assert layers <= set(described)
    assert all(described[name] == meta["yardstick"] for name in layers), described
    city = gpd.read_file(gpkg, layer="coverage_city")
    assert {f"pop_{OLD}", f"pct_covered_{OLD}"} <= set(city.columns)  # the group's rate beside the total
    demand = gpd.read_file(gpkg, layer="demand")
    assert (demand.loc[demand["covered"], "walk_m"] <= 1000).all()
    assert (demand.loc[~demand["covered"] & demand["walk_m"].notna(), "walk_m"] > 1000).all()


def test_a_group_at_its_own_speed_is_said(tmp_path, grouped_demand):
    proc = run_cli("run", "--demand", str(grouped_demand), "--group", f"{OLD}=3.2", "--out", str(tmp_path), "--quiet")
    assert proc.returncode == 0, proc.stderr
    group = proc.stdout.strip().splitlines()[2]
    assert group.startswith(f"group: residents {OLD}: ") and group.endswith("within 15 minutes at 3.2 km/h")


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--standard", "gb50180", "--minutes", "20"], "the gb50180 yardstick defines the 5, 10, 15-minute circles"),
        (["--group", "老人"], "the residents have no column '老人'"),
        (["--group", f"{OLD}=fast"], "'fast' is not a number"),
    ],
)
def test_bad_yardstick_or_group_is_refused(tmp_path, args, said):
    proc = run_cli("run", *args, "--out", str(tmp_path / "out"), "--quiet")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: ")
    assert said in proc.stderr


def test_the_pack_names_the_yardstick(tmp_path):
    out = tmp_path / "pack"
    proc = run_cli("report", "--standard", "gb50180-strict", "--k", "0", "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "yardstick: GB 50180-2018 network walking distance, strict" in proc.stdout
    summary = (out / "summary.html").read_text(encoding="utf-8")
    assert "尺度（yardstick）" in summary and "本次 15 分钟 = 800 米" in summary
    unit = next(p for p in out.iterdir() if p.is_dir())
    report = next(unit.glob("*.html")).read_text(encoding="utf-8")
    assert "15 min = 800 m" in report and "GB 50180-2018 路网步行距离（严格）" in report
    sheet = pd.read_excel(out / "summary.xlsx", sheet_name="provenance")
    assert "gb50180-strict" in " ".join(sheet["value"].astype(str))


def test_the_app_headline_names_the_yardstick(tmp_path, monkeypatch):
    monkeypatch.setenv("QUARTERHOUR_DATABASE_URL", f"sqlite:///{tmp_path / 'workspace.sqlite'}")
    at = AppTest.from_file(str(APP), default_timeout=180).run()
    captions = [c.value for c in at.caption]
    assert "尺度：按分钟：15 分钟，速度 4.5 km/h（约 1,125 米）" in captions  # the default, named
    at.radio(key="standard").set_value("gb50180").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.metric[0].label == "1,000 米步行覆盖居民"
    assert at.metric[0].value == "37,178 / 38,367"
    assert any(c.value.startswith("尺度：GB 50180-2018 路网步行距离") for c in at.caption)
    at.radio(key="lang").set_value("en").run()
    assert at.metric[0].label == "residents within a 1,000 m walk"


def _headline_page(demand: str) -> None:
    """The app's headline on residents with an over-60s column walking at 3.2 km/h (an upload's path)."""
    from geo.vocab import CATEGORIES, CATEGORY_MINUTES
    from quarterhour.ui.compute import compute
    from quarterhour.ui.tabs import headline_ui, levels_ui
    from quarterhour.ui.values import Inputs, Params

    minutes = tuple((c, CATEGORY_MINUTES[c]) for c in CATEGORIES)
    params = Params(15.0, 4.5, CATEGORIES, minutes, (5.0, 10.0), "minutes", (("60岁以上", 3.2),))
    result = compute(Inputs(demand=demand), "sample", params)
    headline_ui(result, (), "en")
    levels_ui(result, "en")


def test_the_app_headline_gives_each_group_at_its_speed(tmp_path, monkeypatch, grouped_demand):
    monkeypatch.setenv("QUARTERHOUR_DATABASE_URL", f"sqlite:///{tmp_path / 'workspace.sqlite'}")
    at = AppTest.from_function(_headline_page, args=(str(grouped_demand),), default_timeout=180).run()
    assert not at.exception, at.exception
    captions = [c.value for c in at.caption]
    assert "yardstick: minutes at a speed: 15 min at 4.5 km/h (about 1,125 m)" in captions
    group = next(c for c in captions if c.startswith(f"residents {OLD}: "))
    assert group.endswith("within 15 minutes at 3.2 km/h")
    assert f"coverage rate % · {OLD} (3.2 km/h)" in at.dataframe[0].value.columns  # the levels table, beside the total
