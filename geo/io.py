"""Readers: files in, clean GeoDataFrames and graphs out, or an InputError that says why.

Issue 7 widens these readers (CSV/XLSX with Chinese column names, GCJ-02/BD-09,
zipped Shapefiles, .osm.pbf); the contract stays: a clean frame in a known CRS,
or ``InputError`` naming the file, row or column, what is wrong and the fix.
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
import pyogrio
import shapely

from geo.chinacrs import to_wgs84
from geo.errors import InputError
from geo.network import StreetNetwork, prepare_network
from geo.osm import walk_graph_from_pbf
from geo.tables import CATEGORY_NAMES, FIRST_ROW, read_point_table, read_table

__all__ = [
    "BUNDLED_BOUNDARIES",
    "CATEGORIES",
    "CATEGORY_MINUTES",
    "LEVELS",
    "SAMPLE_DIR",
    "load_sample",
    "points_to_wgs84",
    "read_boundaries",
    "read_categories",
    "read_demand",
    "read_facilities",
    "read_network",
    "read_polygons",
    "sample_paths",
]

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "data" / "sample"
#: Review units bundled by name, usable as ``--boundaries NAME`` (see ``data/luoyang/README.md``).
BUNDLED_BOUNDARIES = {"luoyang": SAMPLE_DIR.parent / "luoyang" / "boundaries.geojson"}

#: Facility category codes, with the planners' words (Chinese, English).
CATEGORIES: dict[str, tuple[str, str]] = {
    "service_centre": ("党群服务中心", "party-mass service centre"),
    "neighbourhood_centre": ("邻里中心", "neighbourhood centre"),
    "liaison_point": ("党群联络点", "liaison point"),
    "study_room": ("城市书房", "city study room"),
}

#: Default walking threshold per category (minutes), after GB 50180-2018's life circles.
CATEGORY_MINUTES: dict[str, float] = {
    "service_centre": 15.0,
    "neighbourhood_centre": 10.0,
    "liaison_point": 5.0,
    "study_room": 15.0,
}

#: Administrative levels, top down (四级: 市, 区, 街道, 社区).
LEVELS: dict[str, tuple[str, str]] = {
    "city": ("市", "city"),
    "district": ("区", "district"),
    "subdistrict": ("街道", "sub-district"),
    "community": ("社区", "community"),
}

_VECTOR_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".zip"}
#: Inputs larger than this are refused before reading (a city's layers are far smaller).
MAX_INPUT_MB = 512
#: A zipped Shapefile may unpack to at most this much, in at most this many files (zip bombs).
MAX_UNZIPPED_MB, MAX_ZIP_MEMBERS = 2048, 64


def sample_paths() -> dict[str, Path]:
    """Paths of the bundled Monaco sample (see ``data/README.md``)."""
    return {
        "network": SAMPLE_DIR / "network.graphml",
        "facilities": SAMPLE_DIR / "facilities.geojson",
        "demand": SAMPLE_DIR / "demand.geojson",
        "boundaries": SAMPLE_DIR / "boundaries.geojson",
    }


def read_network(path: str | Path) -> nx.MultiDiGraph:
    """Read a street network from GraphML (osmnx), OSM XML (``.osm``) or an OSM extract (``.osm.pbf``).

    A ``.pbf`` is filtered to the walking network (``geo.osm.walk_graph_from_pbf``);
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
        if suffix == ".pbf":
            return walk_graph_from_pbf(path)
    except (OSError, ValueError, KeyError, nx.NetworkXException) as exc:
        raise InputError(
            f"cannot read the street network ({exc})",
            file=path.name,
            fix="give an osmnx GraphML file or an OSM XML (.osm) extract",
        ) from exc
    raise InputError(
        f"unsupported network format '{suffix}'", file=path.name, fix="give a .graphml (osmnx), .osm or .osm.pbf file"
    )


def read_facilities(path: str | Path, *, crs: str = "wgs84", what: str = "facilities") -> gpd.GeoDataFrame:
    """Read facility points: a ``name`` and a ``category`` column (codes in ``CATEGORIES``, or their Chinese names).

    GeoJSON, GeoPackage and Shapefile, or CSV/XLSX with lon/lat columns
    (``geo.tables``: Chinese headers, GBK). ``crs`` says which system the
    coordinates are in: "wgs84", "gcj02" (高德/腾讯) or "bd09" (百度); they come
    back in WGS-84. A missing ``category`` means every facility is a service
    centre; a missing ``facility_id`` is made from the row order. What was
    done (encoding, conversion, possible duplicates) is in ``gdf.attrs["notes"]``.
    """
    path = _existing(path, what)
    notes: list[str] = []
    tabular = path.suffix.lower() in (".csv", ".xlsx", ".xls")
    first_row = FIRST_ROW if tabular else 1  # error rows as the planner's file numbers them
    if tabular:
        gdf, notes = read_point_table(path, what=what, crs=crs)
    else:
        gdf = _read_points(path, what=what)
        if crs in ("gcj02", "bd09"):
            gdf = points_to_wgs84(gdf, crs)
            notes.append(f"converted {len(gdf)} points from {crs.upper()} to WGS-84")
    if "name" not in gdf.columns and what == "candidates":
        gdf["name"] = [f"{what} {i + 1}" for i in range(len(gdf))]
    if "name" not in gdf.columns:
        raise InputError(
            "no 'name' column",
            file=path.name,
            column="name",
            fix="add a column 'name' (名称) with each facility's name",
        )
    if "category" not in gdf.columns:
        gdf["category"] = "service_centre"
    gdf["category"] = [CATEGORY_NAMES.get(str(c).strip(), c) for c in gdf["category"]]
    unknown = ~gdf["category"].isin(CATEGORIES)
    if unknown.any():
        row = int(np.flatnonzero(unknown)[0]) + first_row
        raise InputError(
            f"unknown category '{gdf['category'][unknown].iloc[0]}' ({int(unknown.sum())} rows)",
            file=path.name,
            row=row,
            column="category",
            fix=f"use one of {', '.join(CATEGORIES)} or {', '.join(CATEGORY_NAMES)}",
        )
    if "facility_id" not in gdf.columns:
        gdf.insert(0, "facility_id", [f"F{i + 1:03d}" for i in range(len(gdf))])
    gdf["facility_id"] = gdf["facility_id"].astype(str)
    _require_unique(gdf, "facility_id", path, first_row=first_row)
    gdf = gdf.set_index("facility_id", drop=False).rename_axis(None)
    gdf.attrs["notes"] = notes
    return gdf


def points_to_wgs84(gdf: gpd.GeoDataFrame, system: str) -> gpd.GeoDataFrame:
    """Points whose lon/lat are in ``system`` (wgs84, gcj02, bd09) moved to WGS-84 (EPSG:4326)."""
    ll = gdf.to_crs(4326)
    lon, lat = to_wgs84(ll.geometry.x.to_numpy(), ll.geometry.y.to_numpy(), system)
    return ll.set_geometry(shapely.points(lon, lat))


def read_demand(path: str | Path) -> gpd.GeoDataFrame:
    """Read demand: resident points with a resident count column ``pop`` (numbers, not negative), or polygons.

    Polygons are areas with ``pop`` (communities, grid cells) or building
    footprints without it; ``analysis.demand.prepare_demand`` turns them into
    resident points.
    """
    path = _existing(path, "demand")
    if path.suffix.lower() not in _VECTOR_SUFFIXES:
        raise InputError(
            f"unsupported demand format '{path.suffix}'",
            file=path.name,
            fix="give a GeoJSON, GeoPackage or Shapefile of points or polygons",
        )
    gdf = _read_vector(path, what="demand")
    kinds = set(gdf.geom_type.replace({"MultiPolygon": "Polygon"}))
    if kinds - {"Point", "Polygon"} or len(kinds) > 1:
        raise InputError(
            f"demand must be all points or all polygons; found {', '.join(sorted(set(gdf.geom_type)))}",
            file=path.name,
            column="geometry",
            fix="split the file, or give one kind only",
        )
    if kinds == {"Polygon"} and "pop" not in gdf.columns:
        return gdf  # building footprints: residents come from floor area
    if "pop" not in gdf.columns:
        raise InputError(
            "no 'pop' column with the residents at each point",
            file=path.name,
            column="pop",
            fix="add a column 'pop' (residents per point), or give building footprints as polygons",
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


def read_boundaries(path: str | Path) -> dict[str, gpd.GeoDataFrame]:
    """Read admin boundaries: level name -> polygons with ``code`` and ``name`` (and ``pop`` if given).

    Either a GeoPackage whose layers are named after levels (``city``,
    ``district``, ``subdistrict``, ``community``), or one layer with a
    ``level`` column holding those names; or the name of a bundled set
    (``"luoyang"``: Luoyang's city and 7 districts, WGS-84, census residents).
    """
    path = _existing(BUNDLED_BOUNDARIES.get(str(path), path), "boundaries")
    if path.suffix.lower() not in _VECTOR_SUFFIXES:
        raise InputError(
            f"unsupported boundaries format '{path.suffix}'",
            file=path.name,
            fix="give a GeoPackage (one layer per level) or a GeoJSON with a 'level' column",
        )
    try:
        names = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
    except pyogrio.errors.DataSourceError as exc:
        raise InputError(
            f"cannot read the boundaries file ({exc})",
            file=path.name,
            fix="check that it is a valid GeoPackage / GeoJSON",
        ) from exc
    by_layer = [n for n in names if n in LEVELS]
    if by_layer:
        frames = {n: _read_vector(path, what=f"boundaries layer '{n}'", layer=n) for n in by_layer}
    else:
        gdf = _read_vector(path, what="boundaries")
        if "level" not in gdf.columns:
            raise InputError(
                "no layer named after a level and no 'level' column",
                file=path.name,
                column="level",
                fix=f"name the layers {', '.join(LEVELS)}, or add a column 'level' with one of them",
            )
        unknown = ~gdf["level"].isin(LEVELS)
        if unknown.any():
            raise InputError(
                f"unknown level '{gdf['level'][unknown].iloc[0]}'",
                file=path.name,
                row=int(np.flatnonzero(unknown)[0]) + 1,
                column="level",
                fix=f"use one of {', '.join(LEVELS)}",
            )
        frames = {lvl: gdf[gdf["level"] == lvl].reset_index(drop=True) for lvl in LEVELS if (gdf["level"] == lvl).any()}
    out = {}
    for level, gdf in frames.items():
        _require_kind(gdf, _POLYGONS, path, what=f"{level} boundaries", fix="give the areas as polygons")
        if "code" not in gdf.columns:
            gdf["code"] = [f"{level[:3].upper()}{i + 1:03d}" for i in range(len(gdf))]
        gdf["code"] = gdf["code"].astype(str)
        if "name" not in gdf.columns:
            gdf["name"] = gdf["code"]
        _require_unique(gdf, "code", path)
        out[level] = gdf.assign(geometry=gdf.geometry.make_valid())
    return {lvl: out[lvl] for lvl in LEVELS if lvl in out}


def read_categories(path: str | Path) -> pd.DataFrame:
    """Read category settings from CSV or XLSX: ``category``, ``minutes`` (threshold) and optional ``capacity``.

    ``capacity`` is the default capacity of a facility of that category (floor
    area in m², or staff) where the facility has none of its own. Categories not
    listed keep their defaults (``CATEGORY_MINUTES``).
    """
    path = _existing(path, "categories")
    table, _ = read_table(path, "categories")  # CSV in UTF-8 or GBK, or XLSX
    if "category" in table:
        table["category"] = [CATEGORY_NAMES.get(str(c).strip(), str(c).strip()) for c in table["category"]]
    for col in ("category", "minutes"):
        if col not in table.columns:
            raise InputError(
                f"no '{col}' column", file=path.name, column=col, fix="give columns category, minutes[, capacity]"
            )
    unknown = ~table["category"].isin(CATEGORIES)
    if unknown.any():
        raise InputError(
            f"unknown category '{table['category'][unknown].iloc[0]}'",
            file=path.name,
            row=int(np.flatnonzero(unknown)[0]) + FIRST_ROW,
            column="category",
            fix=f"use one of {', '.join(CATEGORIES)}",
        )
    for col in ("minutes", "capacity"):
        if col in table.columns:
            values = pd.to_numeric(table[col], errors="coerce")
            bad = values.isna() | (values <= 0) if col == "minutes" else values.notna() & (values <= 0)
            if bad.any():
                raise InputError(
                    f"'{col}' must be a number more than 0",
                    file=path.name,
                    row=int(np.flatnonzero(bad)[0]) + FIRST_ROW,
                    column=col,
                    fix=f"put a positive {col} there",
                )
            table[col] = values
    merged = pd.DataFrame({"minutes": pd.Series(CATEGORY_MINUTES), "capacity": np.nan})
    merged.loc[table["category"], "minutes"] = table["minutes"].to_numpy()
    if "capacity" in table.columns:
        merged.loc[table["category"], "capacity"] = table["capacity"].to_numpy()
    return merged.rename_axis("category")


def read_polygons(path: str | Path, *, what: str = "areas") -> gpd.GeoDataFrame:
    """Read a layer of polygons (e.g. areas no candidate site may fall in)."""
    path = _existing(path, what)
    gdf = _read_vector(path, what=what)
    _require_kind(gdf, _POLYGONS, path, what=what, fix="give areas as polygons")
    return gdf


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
    size_mb = path.stat().st_size / 2**20
    if size_mb > MAX_INPUT_MB:
        raise InputError(
            f"the {what} file is {size_mb:,.0f} MB, over the {MAX_INPUT_MB} MB this tool reads",
            file=path.name,
            fix="clip it to the study area first (e.g. ogr2ogr -clipsrc, or osmium extract for .pbf)",
        )
    return path


def _unzip_shapefile(path: Path, into: Path, *, what: str) -> Path:
    """The one Shapefile (or GeoPackage/GeoJSON) inside a zip, unpacked safely; refuse anything odd."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise InputError(f"not a readable zip ({exc})", file=path.name, fix="zip the Shapefile's files again") from exc
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        for m in members:
            parts = Path(m.filename.replace("\\", "/")).parts
            if m.filename.startswith(("/", "\\")) or ".." in parts or (len(parts) and ":" in parts[0]):
                raise InputError(
                    f"the zip holds an unsafe path '{m.filename}'",
                    file=path.name,
                    fix="zip only the Shapefile's files, with plain names",
                )
            if (m.external_attr >> 16) & 0o170000 == 0o120000:
                raise InputError(f"the zip holds a link '{m.filename}'", file=path.name, fix="zip plain files only")
        if len(members) > MAX_ZIP_MEMBERS or sum(m.file_size for m in members) > MAX_UNZIPPED_MB * 2**20:
            raise InputError(
                f"the zip unpacks to {len(members)} files, "
                f"{sum(m.file_size for m in members) / 2**20:,.0f} MB: more than a Shapefile",
                file=path.name,
                fix="zip only the one layer (.shp, .shx, .dbf, .prj, .cpg)",
            )
        layers = [m for m in members if Path(m.filename).suffix.lower() in (".shp", ".gpkg", ".geojson")]
        if len(layers) != 1:
            found = ", ".join(m.filename for m in layers) or "none"
            raise InputError(
                f"the zip must hold exactly one .shp (or .gpkg/.geojson) layer; found {found}",
                file=path.name,
                fix=f"zip one {what} layer per file",
            )
        for m in members:
            target = into / Path(m.filename).name  # flattened: no folders are created
            target.write_bytes(archive.read(m))
        return into / Path(layers[0].filename).name


def _read_points(path: Path, *, what: str) -> gpd.GeoDataFrame:
    if path.suffix.lower() not in _VECTOR_SUFFIXES:
        raise InputError(
            f"unsupported {what} format '{path.suffix}'",
            file=path.name,
            fix="give a GeoJSON, GeoPackage, (zipped) Shapefile, CSV or XLSX of points",
        )
    gdf = _read_vector(path, what=what)
    _require_kind(gdf, ("Point",), path, what=what, fix="convert polygons to points (e.g. their centroids) first")
    return gdf


_POLYGONS = ("Polygon", "MultiPolygon")


def _require_kind(gdf: gpd.GeoDataFrame, kinds: tuple[str, ...], path: Path, *, what: str, fix: str) -> None:
    """Refuse a layer with a geometry of another kind, naming the first such row."""
    bad = ~gdf.geom_type.isin(kinds)
    if bad.any():
        plural = "points" if kinds == ("Point",) else "polygons"
        raise InputError(
            f"{what} must be {plural}; found {gdf.geom_type[bad].iloc[0]}",
            file=path.name,
            row=int(np.flatnonzero(bad)[0]) + 1,
            column="geometry",
            fix=fix,
        )


def _read_vector(path: Path, *, what: str, layer: str | None = None) -> gpd.GeoDataFrame:
    """Any vector file (one layer; a zipped Shapefile too), checked: rows, a CRS, a geometry on every row."""
    if path.suffix.lower() == ".zip":
        with tempfile.TemporaryDirectory() as tmp:
            inner = _unzip_shapefile(path, Path(tmp), what=what)
            gdf = _read_vector(inner, what=what, layer=layer)
        return gdf
    try:
        gdf = gpd.read_file(path, engine="pyogrio", layer=layer)
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
            fix="give every row a location, or remove the row",
        )
    return gdf


def _require_unique(gdf: gpd.GeoDataFrame, column: str, path: Path, *, first_row: int = 1) -> None:
    dup = gdf[column].duplicated()
    if dup.any():
        raise InputError(
            f"'{gdf[column][dup].iloc[0]}' appears more than once",
            file=path.name,
            row=int(np.flatnonzero(dup)[0]) + first_row,
            column=column,
            fix=f"make '{column}' unique",
        )
