"""The app's residents uploader takes a population GeoTIFF, read as the CLI reads it (a window around the streets).

A tiny GeoTIFF of the sample's residents in 250 m cells (written here with rasterio, with a nodata and a
negative cell) is uploaded through the real uploader; the headline must show the coverage ``quarterhour run``
gives on the same file.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from streamlit.testing.v1 import AppTest

from analysis import columns as C

APP = Path(__file__).resolve().parent.parent / "app.py"
NODATA = -9999.0


@pytest.fixture(scope="module")
def tif(sample, tmp_path_factory) -> Path:
    """The sample's residents summed into 250 m cells (UTM, north-up), one nodata and one negative cell at sea."""
    demand, size = sample[2], 250.0
    x, y = demand.geometry.x.to_numpy(), demand.geometry.y.to_numpy()
    x0, y1 = math.floor(x.min() / size) * size, math.ceil(y.max() / size) * size
    col, row = ((x - x0) // size).astype(int), ((y1 - y) // size).astype(int)
    grid = np.zeros((row.max() + 1, col.max() + 1))
    np.add.at(grid, (row, col), np.round(demand[C.POP].to_numpy()))
    empty = np.argwhere(grid == 0)
    grid[tuple(empty[0])], grid[tuple(empty[1])] = NODATA, -5
    path = tmp_path_factory.mktemp("tif") / "人口 250m.tif"
    with rasterio.open(path, "w", driver="GTiff", width=grid.shape[1], height=grid.shape[0], count=1,
                       dtype="float32", crs=demand.crs, transform=from_origin(x0, y1, size, size),
                       nodata=NODATA) as dst:  # fmt: skip
        dst.write(grid.astype("float32"), 1)
    return path


def test_the_app_shows_the_coverage_of_an_uploaded_geotiff(tif, tmp_path, monkeypatch):
    proc = subprocess.run(
        [sys.executable, "-m", "quarterhour.cli", "run", "--demand", str(tif), "--out", str(tmp_path / "cli")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    covered, total = re.match(r"covered ([\d,]+) of ([\d,]+) residents", proc.stdout).groups()

    monkeypatch.setenv("QUARTERHOUR_DATABASE_URL", f"sqlite:///{tmp_path / 'workspace.sqlite'}")
    monkeypatch.setenv("QUARTERHOUR_CACHE", str(tmp_path / "cache"))
    at = AppTest.from_file(str(APP), default_timeout=180).run()
    uploader = at.file_uploader(key="demand_file")
    assert {"tif", "tiff"} <= {t.lstrip(".") for t in uploader.allowed_type}
    uploader.set_value((tif.name, tif.read_bytes(), "image/tiff")).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.metric[0].value == f"{covered} / {total}"  # as the CLI counts the same file
    assert covered != "37,178"  # not the sample's points (37,178 covered): the raster's cells, spread on the streets
    said = " ".join(str(e.value) for e in [*at.caption, *at.markdown, *at.info])
    assert "人口 250m.tif" in said or tif.name in said, said[:2000]
