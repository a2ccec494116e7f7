"""Exports shared by the faces: written atomically, never over an existing file unless asked."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from geo import InputError

__all__ = ["gpkg_bytes", "write_layers"]


def write_layers(layers: dict[str, gpd.GeoDataFrame | pd.DataFrame], path: Path, *, force: bool = False) -> None:
    """Write layers into one GeoPackage atomically: a temporary file in the same folder, then a rename.

    Refuses to replace an existing file unless ``force``.
    """
    if path.exists() and not force:
        raise InputError(
            "the output file already exists",
            file=str(path),
            fix="choose another --out folder, or pass --force to replace it",
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".gpkg", dir=path.parent)
    os.close(fd)
    os.unlink(tmp)  # GDAL creates the file itself
    try:
        for name, gdf in layers.items():
            if not isinstance(gdf, gpd.GeoDataFrame):  # a plain table (e.g. the coverage curve)
                pyogrio.write_dataframe(gdf.reset_index(drop=True), tmp, layer=name, driver="GPKG")
                continue
            kinds = set(gdf.geom_type.dropna())
            multi = {"promote_to_multi": True} if len(kinds) > 1 and kinds <= {"Polygon", "MultiPolygon"} else {}
            gdf.reset_index(drop=True).to_file(tmp, layer=name, driver="GPKG", engine="pyogrio", **multi)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def gpkg_bytes(layers: dict[str, gpd.GeoDataFrame]) -> bytes:
    """The layers as the bytes of one GeoPackage file (for a download button)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "coverage.gpkg"
        write_layers(layers, path)
        return path.read_bytes()
