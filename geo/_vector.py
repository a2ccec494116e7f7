"""Vector files in, checked: one layer, rows, a CRS, a geometry on every row (a zipped Shapefile unpacked safely).

The readers of ``geo.io`` use these for every GeoJSON, GeoPackage and Shapefile a planner gives.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import geopandas as gpd
import pyogrio
import shapely

from geo._validate import (
    check_coordinates,
    check_rows,
    first_bad_row,
    max_rows,
    repair_polygons,
    require_kind,
    unzip_shapefile,
)
from geo.errors import InputError, reading

__all__ = ["VECTOR_ERRORS", "VECTOR_SUFFIXES", "read_points", "read_vector"]

#: File endings read as vector data.
VECTOR_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".zip"}
#: What GDAL (pyogrio) and shapely raise on a bad vector file; its text names the server's path, never shown.
VECTOR_ERRORS = (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError, shapely.errors.ShapelyError)


def read_points(path: Path, *, what: str) -> gpd.GeoDataFrame:
    """A vector file of points (GeoJSON, GeoPackage, zipped Shapefile), checked as ``read_vector`` does."""
    if path.suffix.lower() not in VECTOR_SUFFIXES:
        raise InputError(
            f"unsupported {what} format '{path.suffix}'",
            file=path.name,
            fix="give a GeoJSON, GeoPackage, (zipped) Shapefile, CSV or XLSX of points",
        )
    gdf = read_vector(path, what=what)
    require_kind(gdf, ("Point",), path, what=what, fix="convert polygons to points (e.g. their centroids) first")
    return gdf


def read_vector(path: Path, *, what: str, layer: str | None = None) -> gpd.GeoDataFrame:
    """Any vector file (one layer; a zipped Shapefile too), checked: rows, a CRS, a geometry on every row.

    Coordinates must be a place on Earth (``check_coordinates``); invalid polygons are repaired, said in
    ``gdf.attrs["notes"]`` (``repair_polygons``). A layer of more rows than read for ``what`` is refused
    before it is read whole (``check_rows``).
    """
    if path.suffix.lower() == ".zip":
        with tempfile.TemporaryDirectory() as tmp:
            inner = unzip_shapefile(path, Path(tmp), what=what)
            gdf = read_vector(inner, what=what, layer=layer)
        return gdf
    with reading(path, f"{what} file", fix="check that it is a valid GeoJSON / GeoPackage", errors=VECTOR_ERRORS):
        gdf = gpd.read_file(path, engine="pyogrio", layer=layer, max_features=max_rows(what) + 1)
    check_rows(len(gdf), what, path.name)
    if gdf.empty:
        raise InputError(f"the {what} file has no rows", file=path.name, fix="check that the right file was given")
    if gdf.crs is None:
        raise InputError(
            f"the {what} file has no coordinate reference system",
            file=path.name,
            fix="save it with a CRS (e.g. EPSG:4326)",
        )
    missing = first_bad_row(gdf.geometry.isna() | gdf.geometry.is_empty)
    if missing:
        raise InputError(
            f"{missing.count} rows have no geometry",
            file=path.name,
            row=missing.row,
            column="geometry",
            fix="give every row a location, or remove the row",
        )
    check_coordinates(gdf.bounds.to_numpy(), geographic=gdf.crs.is_geographic, file=path.name)
    gdf, notes = repair_polygons(gdf, path, what=what)
    gdf.attrs["notes"] = notes
    return gdf
