"""Maps, legends and QGIS styles name the reach by its yardstick: metres of walk under GB 50180, minutes otherwise.

Read back from real files: the run's and the site command's GeoPackage ``layer_styles`` (sqlite3), the review
pack's QGIS project, the web map's HTML and the static map's legend.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.pipeline import run_circle
from analysis.units import split_by_unit
from analysis.yardstick import yardstick
from geo import read_boundaries, sample_paths
from quarterhour.render.staticmap import unit_map
from quarterhour.render.webmap import build_map, map_html


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "quarterhour.cli", *args], capture_output=True, text=True, timeout=600)


def style_labels(gpkg: Path, layer: str) -> str:
    """The QML and SLD of ``layer``'s default style, as one text."""
    with contextlib.closing(sqlite3.connect(gpkg)) as db:
        qml, sld = db.execute("SELECT styleQML, styleSLD FROM layer_styles WHERE f_table_name=?", (layer,)).fetchone()
    return qml + sld


def shows(page: str, text: str) -> bool:
    """Text in the page as HTML, or inside the JSON that folium writes for layer names."""
    return text in page or json.dumps(text)[1:-1] in page


@pytest.mark.parametrize(
    ("standard", "named", "not_named"),
    [
        (
            "gb50180",
            ["5 分钟圈（步行 300 米）", "10 分钟圈（步行 500 米）", "15 分钟圈（步行 1,000 米）"],
            "分钟等时圈",
        ),
        ("minutes", ["5 分钟等时圈", "10 分钟等时圈", "15 分钟等时圈"], "步行"),
    ],
)
def test_the_runs_qgis_styles_name_the_bands_by_the_yardstick(tmp_path, standard, named, not_named):
    args = ["run", "--standard", standard, "--bands", "5,10", "--isochrones", "merged"]
    proc = run_cli(*args, "--out", str(tmp_path), "--quiet")
    assert proc.returncode == 0, proc.stderr
    styles = style_labels(tmp_path / "coverage.gpkg", "isochrones")
    for label in named:
        assert f'label="{label}"' in styles and f"<se:Title>{label}</se:Title>" in styles, label
    assert not_named not in styles


def test_the_site_commands_reach_is_named_in_metres(tmp_path):
    proc = run_cli("site", "--standard", "gb50180", "--model", "mclp", "--k", "1", "--out", str(tmp_path), "--quiet")
    assert proc.returncode == 0, proc.stderr
    styles = style_labels(next(tmp_path.glob("*.gpkg")), "isochrones")
    assert "新增布点 15 分钟圈（步行 1,000 米）" in styles and "等时圈" not in styles


def test_the_packs_project_and_layers_name_the_strict_circle(tmp_path):
    out = tmp_path / "pack"
    proc = run_cli("report", "--standard", "gb50180-strict", "--k", "0", "--lang", "en", "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    for unit in (p for p in out.iterdir() if p.is_dir()):
        assert "15-minute circle (800 m walk)" in (unit / "project.qgs").read_text(encoding="utf-8")
        styles = style_labels(unit / "layers.gpkg", "isochrones")
        assert "15-minute circle (800 m walk)" in styles and "reach" not in styles.replace("reach of each", "")


@pytest.fixture(scope="module")
def gb_result(sample):
    network, facilities, demand = sample
    units = {k: v.to_crs(network.crs) for k, v in read_boundaries(sample_paths()["boundaries"]).items()}
    return run_circle(network, facilities, demand, bands=(5, 10), standard="gb50180", boundaries=units)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_web_maps_layers_and_legend_name_metres(sample, gb_result, lang):
    page = map_html(build_map(gb_result, sample[0], lang=lang))
    labels = {
        "zh": ("5 分钟圈（步行 300 米）", "10 分钟圈（步行 500 米）", "15 分钟圈（步行 1,000 米）"),
        "en": ("5-minute circle (300 m walk)", "10-minute circle (500 m walk)", "15-minute circle (1,000 m walk)"),
    }[lang]
    for label in labels:
        assert page.count(label) + page.count(json.dumps(label)[1:-1]) >= 2, label  # the layer and the legend
    assert not shows(page, "分钟等时圈") and not shows(page, "-minute reach")


def test_the_static_maps_legend_names_metres(sample, gb_result):
    unit = next(iter(split_by_unit(gb_result, "district").values()))
    fig = unit_map(sample[0], unit, minutes=15, lang="en", ys=gb_result.summary.yardstick)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "15-minute circle (1,000 m walk)" in labels
    default = unit_map(sample[0], unit, minutes=15, lang="en", ys=yardstick("minutes"))
    assert "15-minute reach" in [t.get_text() for t in default.axes[0].get_legend().get_texts()]
