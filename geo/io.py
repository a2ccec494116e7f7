"""Readers: files in, clean GeoDataFrames and graphs out, or an InputError that says why.

Issue 7 widens these readers (CSV/XLSX with Chinese column names, GCJ-02/BD-09,
zipped Shapefiles, .osm.pbf); the contract stays: a clean frame in a known CRS,
or ``InputError`` naming the file, row or column, what is wrong and the fix.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from geo._validate import (
    MAX_RESIDENTS,
    POLYGONS,
    existing,
    first_bad_row,
    require_columns,
    require_kind,
    require_unique,
)
from geo._vector import VECTOR_ERRORS, VECTOR_SUFFIXES, read_points, read_vector
from geo.chinacrs import geometries_to_wgs84, points_to_wgs84
from geo.errors import InputError, reading
from geo.graphml import prepare_graphml
from geo.gridtable import lattice_of
from geo.hours import category_hours, hours_notes
from geo.network import StreetNetwork, read_graph
from geo.notes import Note, note
from geo.tables import DEMAND_COLUMN_NAMES, FIRST_ROW, find_columns, is_table, read_point_table, read_table
from geo.unittable import is_unit_table, unit_table
from geo.vocab import (
    CATEGORIES,
    CATEGORY_MINUTES,
    CATEGORY_SYNONYMS,
    HOURS_COLUMN_NAMES,
    LEVELS,
    category_code,
    level_code,
)

if TYPE_CHECKING:  # networkx is imported where a graph is read, not by every command
    import networkx as nx

__all__ = [
    "BUNDLED_BOUNDARIES",
    "MAX_INPUT_MB",
    "SAMPLE_DIR",
    "grid_notes",
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
BUNDLED_BOUNDARIES = {
    "luoyang": SAMPLE_DIR.parent / "luoyang" / "boundaries.geojson",
    "sample_grid": SAMPLE_DIR / "boundaries_grid.geojson",  # issue 30: the sample's levels and made-up grids (网格)
}

#: Inputs larger than this are refused before reading (a city's layers are far smaller).
MAX_INPUT_MB = 512


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
    walkable ways first (``geo.osm.is_walkable_way``). The store prepares a
    ``.graphml`` by streaming it instead (``geo.graphml.prepare_graphml``); both
    refuse a bad network with the same checks and words (``geo.network``).

    Parameters
    ----------
    path
        A ``.graphml``, ``.osm`` or ``.osm.pbf`` file, at most ``MAX_INPUT_MB`` megabytes.

    Returns
    -------
    networkx.MultiDiGraph
        The osmnx graph, unprojected; ``geo.prepare_network`` projects and indexes it.

    Raises
    ------
    InputError
        The file is missing, too large, of another format, or cannot be read.
    """
    return read_graph(existing(path, "network", max_mb=MAX_INPUT_MB))


def read_facilities(path: str | Path, *, crs: str = "wgs84", what: str = "facilities") -> gpd.GeoDataFrame:
    """Read facility points: a ``name`` and a ``category`` column (codes in ``CATEGORIES``, or their Chinese names).

    GeoJSON, GeoPackage and Shapefile, or CSV/XLSX with lon/lat columns
    (``geo.tables``: Chinese headers, GBK). ``crs`` says which system the
    coordinates are in: "wgs84", "gcj02" (高德/腾讯) or "bd09" (百度); they come
    back in WGS-84. A missing ``category`` means every facility is a service
    centre; a missing ``facility_id`` is made from the row order. What was
    done (encoding, conversion, possible duplicates) is in ``gdf.attrs["notes"]``.

    Parameters
    ----------
    path
        A GeoJSON, GeoPackage, (zipped) Shapefile, CSV or XLSX of points.
    crs
        The coordinate system of a table's lon/lat, or of a vector file's points:
        ``wgs84``, ``gcj02`` or ``bd09``.
    what
        What the points are, for the messages (``facilities``; ``candidates`` may have no ``name``).

    Returns
    -------
    geopandas.GeoDataFrame
        Points in WGS-84 (a vector file in another CRS keeps it) with ``facility_id``
        (also the index), ``name`` and ``category`` codes.

    Raises
    ------
    InputError
        Naming the file, row and column: no ``name``, an unknown category, a duplicate ``facility_id``, ...
    """
    path = existing(path, what, max_mb=MAX_INPUT_MB)
    notes: list[Note] = []
    tabular = is_table(path)
    first_row = FIRST_ROW if tabular else 1  # error rows as the planner's file numbers them
    if tabular:
        gdf, notes = read_point_table(path, what=what, crs=crs)
    else:
        gdf = read_points(path, what=what)
        notes = list(gdf.attrs.get("notes", []))  # names cleaned at reading (control characters), said
        if crs in ("gcj02", "bd09"):
            gdf = points_to_wgs84(gdf, crs)
            notes.append(note("converted", n=len(gdf), crs=crs.upper()))
    if "name" not in gdf.columns and what == "candidates":
        gdf["name"] = [f"{what} {i + 1}" for i in range(len(gdf))]
    if "name" not in gdf.columns:
        raise InputError("io_no_name_column", file=path.name, column="name")
    if "hours" not in gdf.columns:  # a vector file's own header for the opening hours (开放时间, opening_hours)
        found = find_columns(gdf, path, {"hours": HOURS_COLUMN_NAMES})
        gdf = gdf.rename(columns={found["hours"]: "hours"}) if found else gdf
    if "hours" in gdf.columns:
        notes += hours_notes(gdf, path.name, first_row=first_row)
    if "category" not in gdf.columns:
        gdf["category"] = "service_centre"
    gdf["category"] = [category_code(c) or c for c in gdf["category"]]
    bad = first_bad_row(~gdf["category"].isin(CATEGORIES), gdf["category"], first_row=first_row)
    if bad:
        raise InputError(
            "io_unknown_category_value_count",
            file=path.name,
            row=bad.row,
            column="category",
            value=bad.value,
            count=bad.count,
            categories=", ".join(CATEGORIES),
            category_synonyms=", ".join(CATEGORY_SYNONYMS),
        )
    if "facility_id" not in gdf.columns:
        gdf.insert(0, "facility_id", [f"F{i + 1:03d}" for i in range(len(gdf))])
    gdf["facility_id"] = gdf["facility_id"].astype(str)
    require_unique(gdf, "facility_id", path, first_row=first_row)
    gdf = gdf.set_index("facility_id", drop=False).rename_axis(None)
    gdf.attrs["notes"] = notes
    return gdf


def read_demand(path: str | Path, *, crs: str = "wgs84") -> gpd.GeoDataFrame | pd.DataFrame:
    """Read demand: resident points with a resident count column ``pop`` (numbers, not negative), or polygons.

    Polygons are areas with ``pop`` (communities, grid cells) or building
    footprints without it; ``analysis.demand.prepare_demand`` turns them into
    resident points. A CSV/XLSX table gives points from its lon/lat columns and
    residents from a ``pop`` column, Chinese headers recognised (经度/纬度,
    人口/常住人口/户籍人口; ``geo.tables.DEMAND_COLUMN_NAMES``), UTF-8 or GBK.
    A table whose points all sit on one regular lattice is a population grid's
    cell centres: ``attrs["lattice"]`` holds its steps (``geo.gridtable``), to be
    read back as cells. A table with no lon/lat but a unit's code or name (社区, 区划代码) comes back
    as a plain ``pandas.DataFrame`` (``geo.unittable.unit_table``), to be matched
    to the review units (``geo.unittable.match_units``). Population rasters are
    read by ``geo.raster``, around the network.

    Parameters
    ----------
    path
        A GeoJSON, GeoPackage or (zipped) Shapefile, all points or all polygons; or a CSV/XLSX table of points.
    crs
        The coordinate system of a table's lon/lat (``wgs84``, ``gcj02`` or ``bd09``), converted to WGS-84;
        or ``EPSG:code`` for a table's x/y in that CRS (kept in it).

    Returns
    -------
    geopandas.GeoDataFrame or pandas.DataFrame
        In the file's CRS (a table: WGS-84, or its EPSG). Points and areas get ``pop`` as float residents and a unique
        ``demand_id`` (also the index); building footprints without ``pop`` come back as read. What was
        done with a table (encoding, conversion) is in ``gdf.attrs["notes"]``.

    Raises
    ------
    InputError
        Mixed geometries, no ``pop`` on points, a ``pop`` that is not a count of residents, a duplicate id.
    """
    path = existing(path, "demand", max_mb=MAX_INPUT_MB)
    tabular = is_table(path)
    if not tabular and path.suffix.lower() not in VECTOR_SUFFIXES:
        raise InputError("io_unsupported_demand_format_suffix", file=path.name, suffix=path.suffix)
    if tabular:
        frame, encoding = read_table(path, "residents")
        if is_unit_table(frame, path):
            return unit_table(frame, path, encoding)  # matched to the review units once they are read
        gdf, notes = read_point_table(
            path, what="residents", crs=crs, columns=DEMAND_COLUMN_NAMES, table=(frame, encoding)
        )
        lattice = _table_lattice(frame, gdf.attrs["headers"], geographic=gdf.crs.is_geographic)
        headers = gdf.attrs.get("headers", {})
        if "pop" not in gdf.columns:
            raise InputError(
                "io_no_column_with_residents",
                file=path.name,
                column="pop",
                join_demand_column=", ".join(DEMAND_COLUMN_NAMES["pop"]),
            )
        gdf = _checked_demand(gdf, path, first_row=FIRST_ROW, pop_column=headers.get("pop", "pop"))
        if lattice is not None:
            notes.append(note("grid_cells", file=path.name, n=len(gdf), dx=lattice[0], dy=lattice[1]))
        gdf.attrs["notes"], gdf.attrs["lattice"] = notes, lattice
        return gdf
    gdf = read_vector(path, what="demand")
    notes = gdf.attrs["notes"]
    if crs in ("gcj02", "bd09"):
        gdf = geometries_to_wgs84(gdf, crs)
    kinds = set(gdf.geom_type.replace({"MultiPolygon": "Polygon"}))
    if kinds - {"Point", "Polygon"} or len(kinds) > 1:
        raise InputError(
            "io_demand_must_all_points",
            file=path.name,
            column="geometry",
            join_sorted_set=", ".join(sorted(set(gdf.geom_type))),
        )
    if kinds == {"Polygon"} and "pop" not in gdf.columns:
        gdf.attrs["notes"] = notes
        return gdf  # building footprints: residents come from floor area
    if "pop" not in gdf.columns:
        raise InputError("io_no_pop_column_with", file=path.name, column="pop")
    gdf = _checked_demand(gdf, path)
    gdf.attrs["notes"] = notes
    return gdf


def _table_lattice(frame: pd.DataFrame, headers: dict[str, str], *, geographic: bool) -> tuple[float, float] | None:
    """The lattice a residents table's points sit on as written (a grid's cell centres), or None."""
    x, y = (pd.to_numeric(frame[headers[c]]).to_numpy(dtype=float) for c in ("lon", "lat"))
    return lattice_of(x, y, geographic=geographic)


def _checked_demand(
    gdf: gpd.GeoDataFrame, path: Path, *, first_row: int = 1, pop_column: str = "pop"
) -> gpd.GeoDataFrame:
    """``pop`` as float residents (not a finite number 0 or more: refused with its row); a unique ``demand_id``."""
    pop = pd.to_numeric(gdf["pop"], errors="coerce").astype(float)
    bad = first_bad_row(~np.isfinite(pop) | (pop < 0), gdf["pop"], first_row=first_row)
    if bad:
        raise InputError(
            "io_pop_column_must_number",
            file=path.name,
            row=bad.row,
            column=pop_column,
            pop_column=pop_column,
            value=bad.value,
            count=bad.count,
        )
    bad = first_bad_row(pop > MAX_RESIDENTS, gdf["pop"], first_row=first_row)
    if bad or math.fsum(pop) > MAX_RESIDENTS:
        where = {"row": bad.row} if bad else {}
        raise InputError(
            "io_pop_too_many" if bad else "io_pop_too_many_in_all",
            file=path.name,
            column=pop_column,
            pop_column=pop_column,
            value=bad.value if bad else f"{math.fsum(pop):.3g}",
            max_residents=MAX_RESIDENTS,
            **where,
        )
    gdf["pop"] = pop.astype(float)
    if "demand_id" not in gdf.columns:
        gdf.insert(0, "demand_id", [f"R{i + 1:05d}" for i in range(len(gdf))])
    gdf["demand_id"] = gdf["demand_id"].astype(str)
    require_unique(gdf, "demand_id", path, first_row=first_row)
    return gdf.set_index("demand_id", drop=False).rename_axis(None)


def read_boundaries(path: str | Path) -> dict[str, gpd.GeoDataFrame]:
    """Read admin boundaries: level name -> polygons with ``code`` and ``name`` (and ``pop`` if given).

    Either a GeoPackage whose layers are named after levels (``city``,
    ``district``, ``subdistrict``, ``community``), or one layer with a
    ``level`` column holding those names; or the name of a bundled set
    (``"luoyang"``: Luoyang's city and 7 districts, WGS-84, census residents).

    Parameters
    ----------
    path
        A GeoPackage or GeoJSON (or zipped Shapefile), or a key of ``BUNDLED_BOUNDARIES``.

    Returns
    -------
    dict of str to geopandas.GeoDataFrame
        Levels from the top down (``geo.vocab.LEVELS`` order), each with a unique
        ``code``, a ``name`` and valid polygons, in the file's CRS. Polygons repaired
        (``geo._validate.repair_polygons``) are said in the top level's ``attrs["notes"]``.

    Raises
    ------
    InputError
        No level can be told, an unknown level, geometries that are not polygons, a duplicate code.
    """
    path = existing(BUNDLED_BOUNDARIES.get(str(path), path), "boundaries", max_mb=MAX_INPUT_MB)
    if path.suffix.lower() not in VECTOR_SUFFIXES:
        raise InputError("io_unsupported_boundaries_format_suffix", file=path.name, suffix=path.suffix)
    names = _boundary_layer_names(path)
    by_layer = _level_layers(names, path)  # issue 30: a layer's name may be a level's word (网格, 社区)
    if by_layer:
        frames = {lvl: read_vector(path, what=f"boundaries layer '{n}'", layer=n) for lvl, n in by_layer.items()}
        notes = [n for gdf in frames.values() for n in gdf.attrs["notes"]]
    else:
        frames, notes = _levels_by_column(path)
    out = {level: _tidy_level(gdf, level, path) for level, gdf in frames.items()}
    levels = {lvl: out[lvl] for lvl in LEVELS if lvl in out}
    notes = [*notes, *grid_notes(levels, path.name)]  # issue 30
    for i, gdf in enumerate(levels.values()):
        gdf.attrs["notes"] = notes if i == 0 else []  # said once, with the top level
    return levels


def _boundary_layer_names(path: Path) -> list[str]:
    """List the layers of a boundaries file.

    Parameters
    ----------
    path
        An existing boundaries file with a vector suffix.

    Returns
    -------
    list of str
        The layers' names; none for a zipped Shapefile (one layer, no names to tell levels by).

    Raises
    ------
    InputError
        The file cannot be read as vector data.
    """
    with reading(path, "boundaries file", fix="valid_boundaries", errors=VECTOR_ERRORS):
        return [] if path.suffix.lower() == ".zip" else [str(n) for n in pyogrio.list_layers(path)[:, 0]]


def _levels_by_column(path: Path) -> tuple[dict[str, gpd.GeoDataFrame], list[Note]]:
    """Split one boundaries layer into levels by its ``level`` column.

    Parameters
    ----------
    path
        A boundaries file none of whose layers is named after a level.

    Returns
    -------
    frames : dict of str to geopandas.GeoDataFrame
        Level code -> its rows (index reset), in ``geo.vocab.LEVELS`` order, levels with no rows left out.
    notes : list of Note
        What reading the layer noted (e.g. polygons repaired).

    Raises
    ------
    InputError
        No ``level`` column, or a value in it that is no level (by its code or a word for it).
    """
    gdf = read_vector(path, what="boundaries")
    notes = gdf.attrs["notes"]
    if "level" not in gdf.columns:
        raise InputError("io_no_layer_named_after", file=path.name, column="level", levels=", ".join(LEVELS))
    gdf["level"] = [level_code(v) or v for v in gdf["level"]]  # issue 30: the level's words (网格, grid)
    bad = first_bad_row(~gdf["level"].isin(LEVELS), gdf["level"])
    if bad:
        raise InputError(
            "io_unknown_level_value",
            file=path.name,
            row=bad.row,
            column="level",
            value=bad.value,
            levels=", ".join(LEVELS),
        )
    frames = {lvl: gdf[gdf["level"] == lvl].reset_index(drop=True) for lvl in LEVELS if (gdf["level"] == lvl).any()}
    return frames, notes


def _tidy_level(gdf: gpd.GeoDataFrame, level: str, path: Path) -> gpd.GeoDataFrame:
    """Check one level's polygons and give each a unique string ``code`` and a ``name``.

    Parameters
    ----------
    gdf
        The level's units, changed in place.
    level
        The level's code (``geo.vocab.LEVELS``); its first three letters make missing codes (``DIS001``).
    path
        The boundaries file, named in errors.

    Returns
    -------
    geopandas.GeoDataFrame
        ``gdf``, with ``code`` as strings and ``name`` (the code where none is given).

    Raises
    ------
    InputError
        Geometries that are not polygons, or a duplicate code.
    """
    require_kind(gdf, POLYGONS, path, what=f"{level} boundaries", fix="areas_polygons")
    if "code" not in gdf.columns:
        gdf["code"] = [f"{level[:3].upper()}{i + 1:03d}" for i in range(len(gdf))]
    gdf["code"] = gdf["code"].astype(str)
    if "name" not in gdf.columns:
        gdf["name"] = gdf["code"]
    require_unique(gdf, "code", path)
    return gdf


# --- issue 30: i30-grid ---
#: A grid reaching more than this share of its area (percent) out of its community is said in a note.
GRID_STRADDLE_PCT = 10.0


def _level_layers(names: list[str], path: Path) -> dict[str, str]:
    """Level code -> the layer read for it: layers named after a level, by its code or a word for it (网格, 社区)."""
    found: dict[str, str] = {}
    for name in names:
        level = level_code(name)
        if level is None:
            continue
        if level in found:
            raise InputError(
                "io_two_layers_one_level", file=path.name, found_level=found[level], name=name, level=level
            )
        found[level] = name
    return {lvl: found[lvl] for lvl in LEVELS if lvl in found}


def grid_notes(levels: dict[str, gpd.GeoDataFrame], file: str) -> list[Note]:
    """What the planner should know of the grids (网格): no community level, grids in none, grids straddling two.

    A grid belongs to the community holding its inside point (``representative_point``), as every unit
    belongs to the unit above it (``analysis.unittree``); a grid in no community, or given without
    communities, belongs to the nearest level above that holds that point.

    Examples
    --------
    >>> from geo import read_boundaries
    >>> from geo.io import SAMPLE_DIR
    >>> grid_notes(read_boundaries(SAMPLE_DIR / "boundaries_grid.geojson"), "boundaries_grid.geojson")
    []
    """
    grids = levels.get("grid")
    if grids is None or not len(grids):
        return []
    names = [f"{c} {n}" for c, n in zip(grids["code"], grids["name"], strict=True)]
    community = levels.get("community")
    if community is None or not len(community):
        return [note("grids_no_community", file=file, n=len(grids))]
    community = (community.to_crs(grids.crs) if community.crs != grids.crs else community).reset_index(drop=True)
    inside = gpd.GeoDataFrame(geometry=grids.representative_point().values, crs=grids.crs)
    hit = gpd.sjoin(inside, community[["geometry"]], predicate="intersects", how="left")
    hit = hit[~hit.index.duplicated(keep="first")]["index_right"].reindex(inside.index)
    out = []
    lost = hit.isna().to_numpy()
    if lost.any():
        shown = [names[i] for i in np.flatnonzero(lost)[:10]]
        out.append(note("grids_outside_community", file=file, n=int(lost.sum()), names=shown))
    placed = np.flatnonzero(~lost)
    if len(placed):
        own = community.geometry.to_numpy()[hit.to_numpy()[placed].astype(int)]
        shapes = grids.geometry.to_numpy()[placed]
        metric = grids.crs is None or grids.crs.is_projected
        if not metric:  # areas in square metres, in the grids' UTM zone
            lonlat = gpd.GeoSeries(shapes, crs=grids.crs)
            to = lonlat.estimate_utm_crs()
            shapes, own = lonlat.to_crs(to).to_numpy(), gpd.GeoSeries(own, crs=grids.crs).to_crs(to).to_numpy()
        area = shapely.area(shapes)
        with np.errstate(invalid="ignore", divide="ignore"):
            out_pct = 100 * (area - shapely.area(shapely.intersection(shapes, own))) / area
        far = placed[np.nan_to_num(out_pct) > GRID_STRADDLE_PCT]
        if len(far):
            out.append(
                note("grids_straddle", file=file, n=len(far), pct=GRID_STRADDLE_PCT, names=[names[i] for i in far[:10]])
            )
    return out


def read_categories(path: str | Path) -> pd.DataFrame:
    """Read category settings from CSV or XLSX: ``category``, ``minutes``, optional ``capacity`` and ``speed_kmh``.

    ``capacity`` is the default capacity of a facility of that category (floor
    area in m², or staff) where the facility has none of its own. ``speed_kmh`` is
    the walking speed the category's threshold is judged at (e.g. 3.2 for a centre
    older residents walk to), over the run's; a distance yardstick (GB 50180) does
    not use it. Categories not listed keep their defaults (``CATEGORY_MINUTES``).

    Parameters
    ----------
    path
        A CSV (UTF-8 or GBK) or XLSX file; categories as codes or their Chinese names.

    Returns
    -------
    pandas.DataFrame
        One row per category code (index ``category``): ``minutes`` (the threshold, in minutes),
        ``capacity`` and ``speed_kmh`` (NaN where not given).

    Raises
    ------
    InputError
        A missing column, an unknown category, minutes, a capacity or a speed that is not a positive number.
    """
    path = existing(path, "categories", max_mb=MAX_INPUT_MB)
    table, _ = read_table(path, "categories")  # CSV in UTF-8 or GBK, or XLSX
    if "category" in table:
        table["category"] = [category_code(c) or str(c).strip() for c in table["category"]]
    require_columns(table, ("category", "minutes"), path, fix="categories_columns")
    bad = first_bad_row(~table["category"].isin(CATEGORIES), table["category"], first_row=FIRST_ROW)
    if bad:
        raise InputError(
            "io_unknown_category_value",
            file=path.name,
            row=bad.row,
            column="category",
            value=bad.value,
            categories=", ".join(CATEGORIES),
        )
    for col in ("minutes", "capacity", "speed_kmh"):
        if col in table.columns:
            values = pd.to_numeric(table[col], errors="coerce")
            given = table[col].notna() & (table[col].astype(str).str.strip() != "")  # a blank cell keeps the default
            bad = first_bad_row(
                values.isna() | (values <= 0) if col == "minutes" else given & ~(values > 0),
                first_row=FIRST_ROW,
            )
            if bad:
                raise InputError("io_col_must_number_more", file=path.name, row=bad.row, column=col, col=col)
            table[col] = values
    merged = pd.DataFrame({"minutes": pd.Series(CATEGORY_MINUTES), "capacity": np.nan, "speed_kmh": np.nan})
    for col in ("minutes", "capacity", "speed_kmh"):
        if col in table.columns:
            merged.loc[table["category"], col] = table[col].to_numpy()
    merged["hours"] = category_hours(table, path)
    return merged.rename_axis("category")


def read_polygons(path: str | Path, *, what: str = "areas") -> gpd.GeoDataFrame:
    """Read a layer of polygons (e.g. areas no candidate site may fall in).

    Parameters
    ----------
    path
        A GeoJSON, GeoPackage or (zipped) Shapefile of polygons.
    what
        What the areas are, for the messages.

    Returns
    -------
    geopandas.GeoDataFrame
        The polygons as read, in the file's CRS.
    """
    path = existing(path, what, max_mb=MAX_INPUT_MB)
    gdf = read_vector(path, what=what)
    require_kind(gdf, POLYGONS, path, what=what, fix="areas_polygons_2")
    return gdf


def load_sample() -> tuple[StreetNetwork, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The bundled sample, projected: (network, facilities, demand).

    Returns
    -------
    tuple of StreetNetwork, GeoDataFrame, GeoDataFrame
        The Monaco sample's network, facilities and resident points, all in the network's UTM zone.
    """
    paths = sample_paths()
    network = prepare_graphml(paths["network"])
    facilities = read_facilities(paths["facilities"]).to_crs(network.crs)
    demand = read_demand(paths["demand"]).to_crs(network.crs)
    return network, facilities, demand
