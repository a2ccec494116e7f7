"""Desktop GIS: the styles inside our GeoPackages, the review pack's QGIS project, Shapefile field names.

Read back from real files: ``layer_styles`` with sqlite3 (one default style per layer, QML and
SLD that parse, the palette's colours), ``project.qgs`` as XML (every layer by a relative path
to a layer that exists). Where Debian's ``python3-qgis`` is installed, QGIS itself opens the
project headless and renders its print layout (``tests/qgis/open_project.py``).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest

from analysis.pipeline import run_circle
from geo import load_sample, read_boundaries, sample_paths
from geo.vocab import CATEGORIES
from quarterhour.cli.main import main
from quarterhour.gis.export import layer_bytes, provenance, write_layers
from quarterhour.gis.qgisxml import rgba
from quarterhour.gis.shapefile import MAX_BYTES, short_names
from quarterhour.i18n import category_name, t
from quarterhour.pack.report import PACK_FILES, PackOptions, unit_pack
from quarterhour.render.palette import (
    CATEGORY_COLORS,
    COVERED_COLOR,
    GAP_RAMP,
    RATE_STOPS,
    REACH_BAND_COLORS,
    SITE_COLOR,
    UNCOVERED_COLOR,
)

HERE = Path(__file__).resolve().parent
SHOTS = HERE.parent / "out" / "qgis"  # PNGs to look at (git-ignored)
SE, OGC = "{http://www.opengis.net/se}", "{http://www.opengis.net/ogc}"


def styles(path: Path) -> dict[str, dict]:
    """The ``layer_styles`` rows of a GeoPackage, by layer."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.row_factory = sqlite3.Row
        rows = [dict(r) for r in db.execute("SELECT * FROM layer_styles")]
    by_layer = {r["f_table_name"]: r for r in rows}
    assert len(by_layer) == len(rows), "one style per layer"
    return by_layer


def qml_classes(qml: str) -> list[tuple[str, str]]:
    """(legend label, fill colour r,g,b,a) per class of a QML document."""
    root = ET.fromstring(qml)
    renderer = root.find("renderer-v2")
    colors = {
        s.get("name"): s.find("layer/Option/Option[@name='color']").get("value") for s in renderer.find("symbols")
    }
    entries = renderer.findall("categories/category") + renderer.findall("ranges/range")
    if not entries:  # a single symbol
        return [("", colors["0"])]
    return [(e.get("label"), colors[e.get("symbol")]) for e in entries]


def sld_fills(sld: str) -> list[str]:
    """The fill colour of each class's symbol (not the labels') in an SLD document."""
    root = ET.fromstring(sld)
    symbolizers = [s for s in root.iter() if s.tag in (f"{SE}PointSymbolizer", f"{SE}PolygonSymbolizer")]
    return [p.text for s in symbolizers for p in s.iter(f"{SE}SvgParameter") if p.get("name") == "fill"]


@pytest.fixture(scope="module")
def run_gpkg(tmp_path_factory):
    """``quarterhour run`` on the sample with 5- and 10-minute bands and one suggested site."""
    out = tmp_path_factory.mktemp("run")
    assert main(["run", "--out", str(out), "--minutes", "10", "--bands", "5", "--suggest", "1", "--quiet"]) == 0
    return out / "coverage.gpkg"


def test_every_layer_of_a_run_has_one_default_style_in_the_palettes_colours(run_gpkg):
    rows = styles(run_gpkg)
    spatial = {str(n) for n, geom in pyogrio.list_layers(run_gpkg) if geom}
    assert set(rows) == spatial - {"layer_styles"}
    with contextlib.closing(sqlite3.connect(run_gpkg)) as db:  # a GeoPackage attributes table, as QGIS writes it
        assert db.execute("SELECT data_type FROM gpkg_contents WHERE table_name='layer_styles'").fetchone() == (
            "attributes",
        )
    for name, row in rows.items():
        assert row["useAsDefault"] == 1, name
        assert row["f_geometry_column"] == "geom"
        assert row["f_table_schema"] == "" and row["styleName"] == name
        ET.fromstring(row["styleQML"].split("\n", 1)[1])  # after the DOCTYPE line: valid XML
        ET.fromstring(row["styleSLD"].encode())
    fac = qml_classes(rows["facilities"]["styleQML"])
    assert fac == [(category_name(c, "zh"), rgba(CATEGORY_COLORS[c])) for c in CATEGORIES]
    assert sld_fills(rows["facilities"]["styleSLD"]) == [CATEGORY_COLORS[c] for c in CATEGORIES]
    assert qml_classes(rows["isochrones"]["styleQML"]) == [
        (t("reach", "zh", minutes=5), rgba(REACH_BAND_COLORS[0])),
        (t("reach", "zh", minutes=10), rgba(REACH_BAND_COLORS[1])),
    ]
    coverage = qml_classes(rows["coverage_city"]["styleQML"])
    assert [c for _, c in coverage] == [rgba(c, 0.3) for _, c in sorted(RATE_STOPS, reverse=True)]
    assert sld_fills(rows["coverage_city"]["styleSLD"]) == [c for _, c in sorted(RATE_STOPS, reverse=True)]
    demand = qml_classes(rows["demand"]["styleQML"])
    assert [c.rsplit(",", 1)[0] for _, c in demand] == [rgba(UNCOVERED_COLOR)[:-4], rgba(COVERED_COLOR)[:-4]]
    assert {c for _, c in qml_classes(rows["gaps"]["styleQML"])} <= {rgba(c, 0.6) for c in GAP_RAMP}
    assert qml_classes(rows["sites"]["styleQML"]) == [("", rgba(SITE_COLOR))]
    qml = ET.fromstring(rows["facilities"]["styleQML"].split("\n", 1)[1])
    assert qml.get("labelsEnabled") == "1"
    assert qml.find("labeling/settings/text-style").get("fontFamily") == "Noto Sans CJK SC"
    assert qml.find("labeling/settings/text-style").get("fieldName") == "name"


def test_coverage_classes_take_their_lower_bound_as_the_maps_do(run_gpkg):
    """First range that holds a value wins (QGIS): top down, so 90 % is yellow and 50 % orange, as rate_color."""
    root = ET.fromstring(styles(run_gpkg)["coverage_city"]["styleQML"].split("\n", 1)[1])
    ranges = [(float(r.get("lower")), float(r.get("upper"))) for r in root.iter("range")]
    assert ranges == [(100, 100), (90, 100), (50, 90), (0, 50)]
    sld = ET.fromstring(styles(run_gpkg)["coverage_city"]["styleSLD"].encode())
    ops = [[op.tag.removeprefix(OGC) for op in f.iter() if op.tag.startswith(OGC + "PropertyIs")] for f in sld.iter()]
    assert ["PropertyIsGreaterThanOrEqualTo", "PropertyIsLessThan"] in ops  # 90 <= rate < 100, ...


def test_styles_in_english_and_catchments_by_facility(tmp_path):
    net, fac, dem = load_sample()
    result = run_circle(net, fac, dem, minutes=10, isochrones=("nearest",))
    path = tmp_path / "c.gpkg"
    write_layers(result.layers("nearest"), path, lang="en", kinds={"isochrones": "nearest"})
    rows = styles(path)
    labels = [label for label, _ in qml_classes(rows["facilities"]["styleQML"])]
    assert labels == [category_name(c, "en") for c in CATEGORIES]
    assert rows["isochrones"]["description"] == t("catchments", "en")
    ids = {label for label, _ in qml_classes(rows["isochrones"]["styleQML"])}
    assert ids == set(result.catchments["facility_id"].dropna().astype(str))


def test_site_gpkg_styles_the_new_sites_and_their_reach(tmp_path):
    assert main(["site", "--model", "mclp", "--out", str(tmp_path), "--k", "1", "--minutes", "5", "--quiet"]) == 0
    rows = styles(tmp_path / "sites.gpkg")
    assert set(rows) == {"sites", "isochrones"}  # the curve is a table: no style
    assert rows["isochrones"]["description"].startswith("新增布点")
    assert ET.fromstring(rows["isochrones"]["styleSLD"].encode()).find(f".//{SE}Fill") is None  # outline only


def test_a_layer_download_is_styled_and_an_empty_layer_keeps_its_geometry_type(tmp_path):
    net, fac, dem = load_sample()
    result = run_circle(net, fac, dem, minutes=10)
    empty = result.sites.iloc[:0]
    path = tmp_path / "sites.gpkg"
    path.write_bytes(layer_bytes(empty, "sites", "gpkg", lang="en"))
    assert pyogrio.read_info(path, layer="sites")["geometry_type"] == "Point"  # so QGIS draws it with its style
    assert styles(path)["sites"]["description"] == t("sites", "en")


# --- the review pack's project ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def unit_folder(tmp_path_factory):
    """District MC-D3's pack (the one with facilities, gaps and a new site), written as the CLI writes it."""
    net, fac, dem = load_sample()
    units = {k: v.to_crs(net.crs) for k, v in read_boundaries(sample_paths()["boundaries"]).items()}
    result = run_circle(net, fac, dem, boundaries=units, isochrones=("facility",))
    files = unit_pack(
        result, net, PackOptions(level="district", k=1), code="MC-D3", provenance=provenance({}, sample_paths())
    )
    assert list(files) == list(PACK_FILES)
    folder = tmp_path_factory.mktemp("pack") / "MC-D3 西南区"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def test_the_project_opens_every_layer_of_the_gpkg_by_a_relative_path(unit_folder):
    root = ET.parse(unit_folder / "project.qgs").getroot()
    in_gpkg = {str(n) for n, geom in pyogrio.list_layers(unit_folder / "layers.gpkg") if geom}
    sources = {}
    for layer in root.iter("maplayer"):
        provider, source = layer.findtext("provider"), layer.findtext("datasource")
        if provider == "ogr":
            path, _, name = source.partition("|layername=")
            assert path == "./layers.gpkg", source  # relative: the folder can move
            assert (unit_folder / path).is_file()
            sources[name] = layer.findtext("id")
        else:
            assert provider == "wms" and "type=xyz" in source and "openstreetmap.org" in source
    assert set(sources) == in_gpkg - {"layer_styles"}  # every layer, each one that exists
    assert root.find("properties/Paths/Absolute").text == "false"
    tree = {n.get("source"): n.get("checked") for n in root.iter("layer-tree-layer")}
    assert [v for k, v in tree.items() if "type=xyz" in k] == ["Qt::Unchecked"]  # offline: the basemap is off
    assert tree["./layers.gpkg|layername=coverage_community"] == "Qt::Unchecked"
    assert tree["./layers.gpkg|layername=facilities"] == "Qt::Checked"
    order = [n.get("source").rsplit("=", 1)[-1] for n in root.find("layer-tree-group").iter("layer-tree-layer")]
    assert order[:2] == ["sites", "facilities"] and order.index("streets") < order.index("coverage_district")
    assert root.find("projectCrs/spatialrefsys/authid").text == "EPSG:32632"


def test_the_projects_view_and_layout_frame_the_unit(unit_folder):
    root = ET.parse(unit_folder / "project.qgs").getroot()
    unit = gpd.read_file(unit_folder / "layers.gpkg", layer="coverage_district")
    x0, y0, x1, y1 = unit.total_bounds
    ext = root.find("mapcanvas/extent")
    box = [float(ext.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax")]
    assert box[0] <= x0 and box[1] <= y0 and box[2] >= x1 and box[3] >= y1
    assert (box[2] - box[0]) < 2 * (x1 - x0) + 200  # the unit, not the city
    layout = root.find("Layouts/Layout")
    kinds = sorted(int(item.get("type")) for item in layout.iter("LayoutItem"))
    assert kinds == [65638, 65639, 65640, 65641, 65641, 65642, 65646]  # page, map, north, 2 labels, legend, scale
    texts = [item.get("labelText") for item in layout.iter("LayoutItem") if item.get("labelText")]
    assert texts[0].startswith("区 · 西南区") and "SHA-256" in texts[1]  # title, provenance
    legend = next(item for item in layout.iter("LayoutItem") if item.get("type") == "65642")
    assert legend.get("title") == "图例"


# --- Shapefiles -------------------------------------------------------------------------------------------------


def test_shapefile_field_names_are_unique_within_ten_bytes_with_a_readme(tmp_path):
    net, fac, dem = load_sample()
    result = run_circle(net, fac, dem, minutes=10)
    for name in ("demand", "facilities", "coverage_city"):
        data = layer_bytes(result.layers()[name], name, "shp", lang="zh")
        zf = zipfile.ZipFile(io.BytesIO(data))
        readme = zf.read("README.txt").decode("utf-8")
        (tmp_path / f"{name}.zip").write_bytes(data)
        fields = [str(f) for f in pyogrio.read_info(tmp_path / f"{name}.zip")["fields"]]
        assert all(len(f.encode()) <= MAX_BYTES for f in fields), fields
        assert len({f.casefold() for f in fields}) == len(fields)
        long = [c for c in result.layers()[name].columns if c != "geometry"]
        assert len(fields) == len(long)
        for short, full in zip(fields, long, strict=True):
            assert f"{short:<10}  {full}" in readme.splitlines() or full == short
        assert "Shapefile" in readme and "字段名" in readme
    names = short_names(["pct_covered_service_centre", "pct_covered_study_room", "pct_csc", "PCT_CSC", "x" * 30])
    assert list(names.values()) == ["pct_csc", "pct_csr", "pct_csc1", "PCT_CSC2", "x" * 10]
    assert short_names(["minutes_service_centre"]) == {"minutes_service_centre": "minutes_sc"}


# --- QGIS itself ------------------------------------------------------------------------------------------------

SYSTEM_PYTHON = "/usr/bin/python3"


def qgis_missing() -> str | None:
    """Why QGIS cannot be run here, or None."""
    if not os.path.exists(SYSTEM_PYTHON):
        return "no system python3"
    probe = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True, env=_qgis_env(), timeout=120, check=False
    )
    if probe.returncode:
        return "QGIS's Python bindings are not installed (Debian: apt-get install python3-qgis)"
    return None


def _qgis_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    return {**env, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": env.get("XDG_RUNTIME_DIR", "/tmp")}


def test_qgis_opens_the_project_with_every_layer_and_renders_the_layout(unit_folder, tmp_path):
    reason = qgis_missing()
    if reason:
        pytest.skip(reason)
    moved = tmp_path / "moved elsewhere 评审"  # relative paths: a copied folder opens as well
    shutil.copytree(unit_folder, moved)
    png = tmp_path / "layout.png"
    proc = subprocess.run(
        [SYSTEM_PYTHON, str(HERE / "qgis" / "open_project.py"), str(moved / "project.qgs"), str(png)],
        capture_output=True,
        text=True,
        env=_qgis_env(),
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    assert info["read"] and info["crs"] == "EPSG:32632" and info["absolute"] is False
    assert all(layer["valid"] for layer in info["layers"]), info["layers"]  # no missing-layer dialog
    by_source = {layer["source"].rsplit("=", 1)[-1]: layer for layer in info["layers"] if layer["provider"] == "ogr"}
    assert all(str(moved) in layer["source"] for layer in by_source.values())
    assert by_source["facilities"]["renderer"] == "categorizedSymbol"
    assert by_source["facilities"]["colors"] == [CATEGORY_COLORS[c] for c in CATEGORIES]
    assert by_source["facilities"]["font"] == "Noto Sans CJK SC"
    assert by_source["coverage_district"]["renderer"] == "graduatedSymbol"
    assert by_source["sites"]["features"] == 1
    basemap = [layer for layer in info["layers"] if layer["provider"] == "wms"]
    assert len(basemap) == 1 and not basemap[0]["visible"]
    assert info["items"].count("QgsLayoutItemLabel") == 2
    assert {"QgsLayoutItemMap", "QgsLayoutItemLegend", "QgsLayoutItemScaleBar", "QgsLayoutItemPicture"} <= set(
        info["items"]
    )
    assert info["rendered"] == 0  # QgsLayoutExporter.Success
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 100_000
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(png, SHOTS / "layout.png")


def test_a_styled_download_reads_back_as_an_input_without_a_warning(tmp_path):
    """The styles table sits beside the layer: our readers take the one data layer (warnings are errors here)."""
    from geo import read_facilities

    path = tmp_path / "facilities.gpkg"
    path.write_bytes(layer_bytes(gpd.read_file(sample_paths()["facilities"]), "facilities", "gpkg"))
    assert len(pyogrio.list_layers(path)) == 2
    assert len(read_facilities(path)) == len(gpd.read_file(sample_paths()["facilities"]))
