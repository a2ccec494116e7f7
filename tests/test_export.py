"""Exports: every layer of a run in one GeoPackage, written atomically, never over a file unasked."""

from __future__ import annotations

import geopandas as gpd
import pyogrio
import pytest

from analysis.pipeline import run_circle
from geo import InputError
from quarterhour.export import gpkg_bytes, write_layers


@pytest.fixture(scope="module")
def result(sample):
    return run_circle(*sample, minutes=10)


def test_gpkg_bytes_hold_every_layer_of_the_run(result, tmp_path):
    path = tmp_path / "download.gpkg"
    path.write_bytes(gpkg_bytes(result.layers()))
    names = list(pyogrio.list_layers(path)[:, 0])
    assert names == ["facilities", "demand", "isochrones", "coverage_city", "gaps", "accessibility", "sites"]
    for name, gdf in result.layers().items():  # the isochrones layer: one per facility
        back = gpd.read_file(path, layer=name)
        assert len(back) == len(gdf), name
        assert back.crs == gdf.crs
    demand = gpd.read_file(path, layer="demand")
    assert demand.loc[demand["covered"], "pop"].sum() == result.summary["pop_covered"]


def test_write_refuses_to_overwrite(result, tmp_path):
    path = tmp_path / "c.gpkg"
    path.write_bytes(b"keep me")
    with pytest.raises(InputError, match=r"already exists.*--force"):
        write_layers(result.layers(), path)
    assert path.read_bytes() == b"keep me"
    write_layers(result.layers(), path, force=True)
    assert len(gpd.read_file(path, layer="gaps")) == len(result.gaps)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.gpkg"]
