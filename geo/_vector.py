"""Vector files in, checked: one layer, rows, a CRS, a geometry on every row (a zipped Shapefile unpacked safely).

The readers of ``geo.io`` use these for every GeoJSON, GeoPackage and Shapefile a planner gives.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import geopandas as gpd
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from geo._validate import (
    check_coordinates,
    check_rows,
    clean_columns,
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
        raise InputError("vector_unsupported_what_format_suffix", file=path.name, what=what, suffix=path.suffix)
    gdf = read_vector(path, what=what)
    require_kind(gdf, ("Point",), path, what=what, fix="points_not_polygons")
    return gdf


#: How much of a GeoJSON is looked at for its (2008-style) ``crs`` member: it comes before the features.
_CRS_HEAD_BYTES = 1 << 20
_CRS_MEMBER = re.compile(
    rb'"crs"\s*:\s*\{\s*"type"\s*:\s*"(?:name|EPSG)"\s*,\s*"properties"\s*:\s*\{\s*"(?:name|code)"\s*:\s*"?([^"}]+?)"?\s*\}'
)


def stated_geojson_crs(path: Path) -> str | None:
    """The CRS a GeoJSON's top-level ``crs`` member names (e.g. ``urn:ogc:def:crs:EPSG::3857``), or None."""
    if path.suffix.lower() not in {".geojson", ".json"}:
        return None
    with path.open("rb") as f:
        head = f.read(_CRS_HEAD_BYTES)
    found = _CRS_MEMBER.search(head)
    if found is None:
        return None
    name = found.group(1).decode("utf-8", "replace").strip()
    return f"EPSG:{name}" if name.isdigit() else name


def _check_stated_crs(path: Path, read: CRS, what: str) -> None:
    """A GeoJSON's ``crs`` member that PROJ does not know is refused: GDAL would read it as WGS-84 in silence."""
    stated = stated_geojson_crs(path)
    if stated is None:
        return
    shown = stated if len(stated) <= 60 else stated[:59] + "…"
    try:
        crs = CRS.from_user_input(stated)
    except CRSError:
        crs = None
    if crs is None:
        raise InputError("vector_what_file_states_coordinate", file=path.name, column="crs", what=what, shown=shown)
    if not crs.equals(read, ignore_axis_order=True):
        raise InputError(
            "vector_what_file_states_coordinate_2",
            file=path.name,
            column="crs",
            what=what,
            shown=shown,
            read_to_string=read.to_string(),
        )


#: Tables a GeoPackage holds beside its data: the layers' styles (written by QGIS, and by us).
_NOT_DATA = {"layer_styles"}


def _data_layer(path: Path) -> str | None:
    """A GeoPackage's one data layer when it holds styles beside it (so it is read without a warning), else None."""
    if path.suffix.lower() != ".gpkg":
        return None
    names = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
    data = [n for n in names if n not in _NOT_DATA]
    return data[0] if len(data) == 1 and len(names) > 1 else None


def read_vector(path: Path, *, what: str, layer: str | None = None, assume_crs: str | None = None) -> gpd.GeoDataFrame:
    """Any vector file (one layer; a zipped Shapefile too), checked: rows, a CRS, a geometry on every row.

    Coordinates must be a place on Earth (``check_coordinates``); invalid polygons are repaired, said in
    ``gdf.attrs["notes"]`` (``repair_polygons``). A layer of more rows than read for ``what`` is refused
    before it is read whole (``check_rows``). ``assume_crs``: the CRS of a file that states none (issue 30:
    ``--network-crs``); without it such a file is refused.
    """
    if path.suffix.lower() == ".zip":
        with tempfile.TemporaryDirectory() as tmp:
            inner = unzip_shapefile(path, Path(tmp), what=what)
            gdf = read_vector(inner, what=what, layer=layer, assume_crs=assume_crs)
        return gdf
    with reading(path, f"{what} file", fix="valid_vector", errors=VECTOR_ERRORS):
        layer = layer if layer is not None else _data_layer(path)
        gdf = gpd.read_file(path, engine="pyogrio", layer=layer, max_features=max_rows(what) + 1)
    check_rows(len(gdf), what, path.name)
    cleaned = clean_columns(gdf, path.name)  # names cleaned once, here: control characters never go further
    if gdf.empty:
        raise InputError("vector_what_file_has_no", file=path.name, what=what)
    geojson = path.suffix.lower() in {".geojson", ".json"}  # GDAL reads one with no crs member as WGS-84
    if assume_crs is not None and (gdf.crs is None or (geojson and stated_geojson_crs(path) is None)):
        gdf = gdf.set_crs(assume_crs, allow_override=True)
        gdf.attrs["crs_assumed"] = True
    if gdf.crs is None and what == "roads":  # issue 30: a road layer may say its system with --network-crs
        raise InputError("vector_roads_no_crs", file=path.name)
    if gdf.crs is None:
        raise InputError("vector_what_file_has_no_2", file=path.name, what=what)
    _check_stated_crs(path, gdf.crs, what)
    missing = first_bad_row(gdf.geometry.isna() | gdf.geometry.is_empty)
    if missing:
        raise InputError(
            "vector_count_rows_have_no", file=path.name, row=missing.row, column="geometry", count=missing.count
        )
    check_coordinates(gdf.bounds.to_numpy(), geographic=gdf.crs.is_geographic, file=path.name)
    gdf, notes = repair_polygons(gdf, path, what=what)
    gdf.attrs["notes"] = [*cleaned, *notes]
    return gdf
