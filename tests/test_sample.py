"""The bundled sample: real, small, complete, and rebuilt byte for byte by its script."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest

from geo import CATEGORIES, sample_paths

DATA = Path(__file__).resolve().parent.parent / "data"


def test_sample_layers(sample):
    network, facilities, demand = sample
    assert network.n_nodes == 2564 and len(network.edges) == 3657
    assert network.crs.to_epsg() == 32632  # UTM 32N, chosen by osmnx for Monaco
    assert len(facilities) == 20 and set(facilities["category"]) == set(CATEGORIES)
    assert demand["pop"].sum() == 38_367
    assert len(demand) == 976
    boundaries = gpd.read_file(sample_paths()["boundaries"])
    assert boundaries["level"].value_counts().to_dict() == {"community": 32, "subdistrict": 9, "district": 4, "city": 1}
    size = sum(p.stat().st_size for folder in ("sample", "source") for p in (DATA / folder).iterdir())
    assert size < 10_000_000


@pytest.mark.slow
def test_rebuild_is_byte_identical(tmp_path):
    pytest.importorskip("osmium")
    proc = subprocess.run(
        [sys.executable, str(DATA / "build_sample.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    for name in (
        "network.graphml",
        "facilities.geojson",
        "demand.geojson",
        "boundaries.geojson",
        "boundaries_grid.geojson",
    ):
        built = hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
        bundled = hashlib.sha256((DATA / "sample" / name).read_bytes()).hexdigest()
        assert built == bundled, name
