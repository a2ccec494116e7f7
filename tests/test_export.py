"""Exports: every layer of a run in one GeoPackage, written atomically, never over a file unasked."""

from __future__ import annotations

import csv as csv_module
import datetime as dt
import hashlib
import io
import json
import zipfile

import geopandas as gpd
import openpyxl
import pandas as pd
import pyogrio
import pytest

from analysis.pipeline import run_circle
from geo import InputError, sample_paths
from quarterhour import __version__
from quarterhour.gis.export import gpkg_bytes, layer_bytes, provenance, table_bytes, write_layers, write_table


@pytest.fixture(scope="module")
def result(sample):
    return run_circle(*sample, minutes=10)


def test_gpkg_bytes_hold_every_layer_of_the_run(result, tmp_path):
    path = tmp_path / "download.gpkg"
    path.write_bytes(gpkg_bytes(result.layers()))
    names = list(pyogrio.list_layers(path)[:, 0])
    layers = ["facilities", "demand", "isochrones", "coverage_city", "gaps", "accessibility", "sites"]
    assert names == [*layers, "layer_styles"]  # each layer's default style (tests/test_qgis.py)
    for name, gdf in result.layers().items():  # the isochrones layer: one per facility
        back = gpd.read_file(path, layer=name)
        assert len(back) == len(gdf), name
        assert back.crs == gdf.crs
    demand = gpd.read_file(path, layer="demand")
    assert demand.loc[demand["covered"], "pop"].sum() == result.summary.pop_covered


def test_write_refuses_to_overwrite(result, tmp_path):
    path = tmp_path / "c.gpkg"
    path.write_bytes(b"keep me")
    with pytest.raises(InputError, match=r"already exists.*--force"):
        write_layers(result.layers(), path)
    assert path.read_bytes() == b"keep me"
    write_layers(result.layers(), path, force=True)
    assert len(gpd.read_file(path, layer="gaps")) == len(result.gaps)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.gpkg"]


def test_provenance_goes_into_the_geopackage_metadata(result, tmp_path):
    prov = provenance({"minutes": 10}, sample_paths())
    path = tmp_path / "p.gpkg"
    write_layers(result.layers(), path, provenance=prov)
    meta = pyogrio.read_info(path, layer="gaps")["dataset_metadata"]
    assert meta["software"] == f"quarterhour {__version__}"
    assert json.loads(meta["parameters"]) == {"minutes": 10}
    sha = hashlib.sha256(sample_paths()["network"].read_bytes()).hexdigest()
    assert meta["input.network"] == f"network.graphml sha256:{sha}"
    assert json.loads(meta["provenance"])["inputs"]["demand"]["file"] == "demand.geojson"
    assert dt.datetime.fromisoformat(meta["created"]).tzinfo is not None
    (tmp_path / "d.gpkg").write_bytes(gpkg_bytes({"gaps": result.gaps}, provenance=prov))
    assert pyogrio.read_info(tmp_path / "d.gpkg", layer="gaps")["dataset_metadata"]["software"].startswith("quarter")


def test_layer_bytes_in_every_format(result, tmp_path):
    for fmt in ("gpkg", "geojson", "shp"):
        for name in ("facilities", "isochrones", "gaps", "coverage_city"):
            gdf = result.layers()[name]
            path = tmp_path / f"{name}.{fmt}{'.zip' if fmt == 'shp' else ''}"
            path.write_bytes(layer_bytes(gdf, name, fmt))
            back = gpd.read_file(path, layer=name if fmt == "gpkg" else None)  # a GeoPackage holds its style too
            assert len(back) == len(gdf), (name, fmt)
            if fmt == "geojson":
                assert back.crs.to_epsg() == 4326
                assert back.total_bounds[0] == pytest.approx(7.4, abs=0.1)  # Monaco's longitude
            if fmt == "shp":
                zf = zipfile.ZipFile(path)
                assert zf.read(f"{name}.cpg") == b"UTF-8"
                assert {f"{name}.{ext}" for ext in ("shp", "shx", "dbf", "prj")} <= set(zf.namelist())
    names = gpd.read_file(tmp_path / "facilities.shp.zip")["name"]
    assert list(names) == list(result.facilities["name"])  # text survives in UTF-8
    with pytest.raises(InputError, match="unknown layer format 'kml'"):
        layer_bytes(result.gaps, "gaps", "kml")


EVIL = ['=HYPERLINK("http://x","y")', "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def test_tables_neutralise_formulas(tmp_path):
    df = pd.DataFrame({"name": [*EVIL, "党群服务中心"], "pop": range(len(EVIL) + 1)})
    csv = table_bytes(df, "csv")
    assert csv.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for Chinese
    rows = list(csv_module.reader(io.StringIO(csv.decode("utf-8-sig"), newline="")))
    assert [row[0] for row in rows[1:]] == [f"'{v}" for v in EVIL] + ["党群服务中心"]
    path = write_table({"设施": df}, tmp_path / "t.xlsx")
    ws = openpyxl.load_workbook(path)["设施"]
    cells = [ws.cell(row=r, column=1) for r in range(2, len(EVIL) + 3)]
    assert all(c.data_type == "s" for c in cells)
    # (XML keeps a carriage return as a line feed)
    assert [c.value for c in cells] == [f"'{v}".replace("\r", "\n") for v in EVIL] + ["党群服务中心"]
    assert ws.cell(row=2, column=2).value == 0  # numbers stay numbers
    with pytest.raises(InputError, match="already exists"):
        write_table(df, path)
    write_table(df, path, force=True)
    write_table(df, tmp_path / "t.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv", "t.xlsx"]  # no temporary file left
    with pytest.raises(InputError, match=r"use \.csv or \.xlsx"):
        write_table(df, tmp_path / "t.ods")
