"""Readers: files in, clean GeoDataFrames and graphs out, or an InputError that says why.

Issue 7 widens these readers (CSV/XLSX with Chinese column names, GCJ-02/BD-09,
zipped Shapefiles, .osm.pbf); the contract stays: a clean frame in a known CRS,
or ``InputError`` naming the file, row or column, what is wrong and the fix.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
import pyogrio

from geo.errors import InputError
from geo.network import StreetNetwork, prepare_network

__all__ = [
    "CATEGORIES",
    "SAMPLE_DIR",
    "load_sample",
    "read_demand",
    "read_facilities",
    "read_network",
    "sample_paths",
]

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "data" / "sample"

#: Facility category codes, with the planners' words (Chinese, English).
CATEGORIES: dict[str, tuple[str, str]] = {
    "service_centre": ("党群服务中心", "party-mass service centre"),
    "neighbourhood_centre": ("邻里中心", "neighbourhood centre"),
    "liaison_point": ("党群联络点", "liaison point"),
    "study_room": ("城市书房", "city study room"),
}

_VECTOR_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp"}


def sample_paths() -> dict[str, Path]:
    """Paths of the bundled Monaco sample (see ``data/README.md``)."""
    return {
        "network": SAMPLE_DIR / "network.graphml",
        "facilities": SAMPLE_DIR / "facilities.geojson",
        "demand": SAMPLE_DIR / "demand.geojson",
        "boundaries": SAMPLE_DIR / "boundaries.geojson",
    }


def read_network(path: str | Path) -> nx.MultiDiGraph:
    """Read a street network from GraphML (osmnx) or OSM XML (``.osm``).

    OSM XML is read with every way two-way, as walking is; filter it to
    walkable ways first (``geo.osm.is_walkable_way``).
    """
    path = _existing(path, "network")
    suffix = path.suffix.lower()
    try:
        if suffix == ".graphml":
            return ox.load_graphml(path)
        if suffix == ".osm":
            return ox.graph_from_xml(path, bidirectional=True, retain_all=False)
    except (OSError, ValueError, KeyError, nx.NetworkXException) as exc:
        raise InputError(
            f"cannot read the street network ({exc})",
            file=path.name,
            fix="give an osmnx GraphML file or an OSM XML (.osm) extract",
        ) from exc
    raise InputError(
        f"unsupported network format '{suffix}'", file=path.name, fix="give a .graphml (osmnx) or .osm file"
    )


def read_facilities(path: str | Path) -> gpd.GeoDataFrame:
    """Read facility points: a ``name`` and a ``category`` column (codes in ``CATEGORIES``).

    A missing ``category`` means every facility is a service centre; a missing
    ``facility_id`` is made from the row order.
    """
    path = _existing(path, "facilities")
    gdf = _read_points(path, what="facilities")
    if "name" not in gdf.columns:
        raise InputError(
            "no 'name' column", file=path.name, column="name", fix="add a column 'name' with each facility's name"
        )
    if "category" not in gdf.columns:
        gdf["category"] = "service_centre"
    unknown = ~gdf["category"].isin(CATEGORIES)
    if unknown.any():
        row = int(np.flatnonzero(unknown)[0]) + 1
        raise InputError(
            f"unknown category '{gdf['category'][unknown].iloc[0]}' ({int(unknown.sum())} rows)",
            file=path.name,
            row=row,
            column="category",
            fix=f"use one of {', '.join(CATEGORIES)}",
        )
    if "facility_id" not in gdf.columns:
        gdf.insert(0, "facility_id", [f"F{i + 1:03d}" for i in range(len(gdf))])
    gdf["facility_id"] = gdf["facility_id"].astype(str)
    _require_unique(gdf, "facility_id", path)
    return gdf.set_index("facility_id", drop=False).rename_axis(None)


def read_demand(path: str | Path) -> gpd.GeoDataFrame:
    """Read resident points with a resident count column ``pop`` (numbers, not negative)."""
    path = _existing(path, "demand")
    gdf = _read_points(path, what="demand")
    if "pop" not in gdf.columns:
        raise InputError(
            "no 'pop' column with the residents at each point",
            file=path.name,
            column="pop",
            fix="add a column 'pop' (residents per point)",
        )
    pop = pd.to_numeric(gdf["pop"], errors="coerce")
    bad = pop.isna() | (pop < 0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0]) + 1
        raise InputError(
            f"'pop' must be a number of residents, 0 or more; found '{gdf['pop'].iloc[row - 1]}'"
            f" ({int(bad.sum())} rows)",
            file=path.name,
            row=row,
            column="pop",
            fix="put a resident count in every row",
        )
    gdf["pop"] = pop.astype(float)
    if "demand_id" not in gdf.columns:
        gdf.insert(0, "demand_id", [f"R{i + 1:05d}" for i in range(len(gdf))])
    gdf["demand_id"] = gdf["demand_id"].astype(str)
    _require_unique(gdf, "demand_id", path)
    return gdf.set_index("demand_id", drop=False).rename_axis(None)


def load_sample() -> tuple[StreetNetwork, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The bundled sample, projected: (network, facilities, demand)."""
    paths = sample_paths()
    network = prepare_network(read_network(paths["network"]), source=paths["network"].name)
    facilities = read_facilities(paths["facilities"]).to_crs(network.crs)
    demand = read_demand(paths["demand"]).to_crs(network.crs)
    return network, facilities, demand


def _existing(path: str | Path, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"the {what} file does not exist", file=str(path), fix="check the path")
    return path


def _read_points(path: Path, *, what: str) -> gpd.GeoDataFrame:
    if path.suffix.lower() not in _VECTOR_SUFFIXES:
        raise InputError(
            f"unsupported {what} format '{path.suffix}'",
            file=path.name,
            fix="give a GeoJSON, GeoPackage or Shapefile of points",
        )
    try:
        gdf = gpd.read_file(path, engine="pyogrio")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError) as exc:
        raise InputError(
            f"cannot read the {what} file ({exc})", file=path.name, fix="check that it is a valid GeoJSON / GeoPackage"
        ) from exc
    if gdf.empty:
        raise InputError(f"the {what} file has no rows", file=path.name, fix="check that the right file was given")
    if gdf.crs is None:
        raise InputError(
            f"the {what} file has no coordinate reference system",
            file=path.name,
            fix="save it with a CRS (e.g. EPSG:4326)",
        )
    missing = gdf.geometry.isna() | gdf.geometry.is_empty
    if missing.any():
        raise InputError(
            f"{int(missing.sum())} rows have no geometry",
            file=path.name,
            row=int(np.flatnonzero(missing)[0]) + 1,
            column="geometry",
            fix="give every row a point location, or remove the row",
        )
    not_point = gdf.geom_type != "Point"
    if not_point.any():
        raise InputError(
            f"{what} must be points; found {gdf.geom_type[not_point].iloc[0]}",
            file=path.name,
            row=int(np.flatnonzero(not_point)[0]) + 1,
            column="geometry",
            fix="convert polygons to points (e.g. their centroids) first",
        )
    return gdf


def _require_unique(gdf: gpd.GeoDataFrame, column: str, path: Path) -> None:
    dup = gdf[column].duplicated()
    if dup.any():
        raise InputError(
            f"'{gdf[column][dup].iloc[0]}' appears more than once",
            file=path.name,
            row=int(np.flatnonzero(dup)[0]) + 1,
            column=column,
            fix=f"make '{column}' unique",
        )
