"""Checks the readers share: the file exists and is not too big, a zip is safe, every row is of the right kind.

Each check raises ``InputError`` naming the file, the row or column, what is
wrong and the fix (osmnx keeps its checks in ``_validate.py`` the same way).
``first_bad_row`` is the one way to say which row is wrong: the row as the
planner's file numbers it, the value found there, and how many rows are wrong.
"""

from __future__ import annotations

import contextlib
import re
import zipfile
import zlib
from pathlib import Path
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import InputError, plain_text
from geo.notes import Note, note

__all__ = [
    "MAX_FACILITY_ROWS",
    "MAX_PROJECTED_M",
    "MAX_RESIDENTS",
    "MAX_ROWS",
    "MAX_UNZIPPED_MB",
    "MAX_ZIP_MEMBERS",
    "MAX_ZIP_RATIO",
    "POLYGONS",
    "BadRow",
    "check_coordinates",
    "check_rows",
    "clean_columns",
    "clean_text",
    "declares_entities",
    "existing",
    "first_bad_row",
    "max_rows",
    "off_earth",
    "repair_polygons",
    "require_kind",
    "require_unique",
    "unzip_shapefile",
]

#: A zipped Shapefile may unpack to at most this much, in at most this many files (zip bombs).
MAX_UNZIPPED_MB, MAX_ZIP_MEMBERS = 2048, 64
#: ... and to at most this many times its packed size (a Shapefile packs 2-10 times; a bomb, 1000 times).
MAX_ZIP_RATIO = 100
#: The most residents an input may hold, in one row or in all (about the world's population): more is not a count
#: of residents (a raster's densities, a spreadsheet's overflow, 1.7e308 summing to infinity).
MAX_RESIDENTS = 1e10
#: The most rows read from a layer of facilities (or candidates), and from any other layer: far more than a city
#: holds (some thousands of facilities, a million resident points or buildings); above them a file is refused
#: before it is read whole.
MAX_FACILITY_ROWS, MAX_ROWS = 100_000, 2_000_000
#: No projected coordinate on Earth is farther than this from its origin, in metres (false eastings included).
MAX_PROJECTED_M = 1e8
_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
#: The geometry kinds of an area layer.
POLYGONS = ("Polygon", "MultiPolygon")


class BadRow(NamedTuple):
    """The first row that fails a check."""

    row: int  #: the row as the planner's file numbers it
    value: object  #: the value found there (None when no values were given)
    count: int  #: how many rows fail the check


def first_bad_row(bad: object, values: object = None, *, first_row: int = 1) -> BadRow | None:
    """The first row where ``bad`` is true, or None when no row is.

    Parameters
    ----------
    bad
        One boolean per row (array or Series; compared by position, not label).
    values
        The column checked (array or Series, by position), to report the value found in the bad row.
    first_row
        The number the file gives its first data row: 1 for a vector layer, 2 for a spreadsheet under its header.

    Returns
    -------
    BadRow or None
        ``(row, value, count)``.

    Examples
    --------
    >>> first_bad_row([False, True, True], ["a", "b", "c"], first_row=2)
    BadRow(row=3, value='b', count=2)
    >>> first_bad_row([False, False]) is None
    True
    """
    mask = np.asarray(bad, dtype=bool)
    if not mask.any():
        return None
    pos = int(np.flatnonzero(mask)[0])
    value = None if values is None else (values.iloc[pos] if hasattr(values, "iloc") else values[pos])
    return BadRow(row=pos + first_row, value=value, count=int(mask.sum()))


def max_rows(what: str) -> int:
    """The most rows read from a layer of ``what`` (``MAX_FACILITY_ROWS`` for facilities and candidates)."""
    return MAX_FACILITY_ROWS if what in ("facilities", "candidates") else MAX_ROWS


def check_rows(n: int, what: str, file: str) -> None:
    """Refuse a layer of ``what`` with more than ``max_rows(what)`` rows (``n``: rows found, or read so far)."""
    limit = max_rows(what)
    if n > limit:
        raise InputError("validate_what_file_has_more", file=file, what=what, limit=limit)


def existing(path: str | Path, what: str, *, max_mb: float) -> Path:
    """``path`` as a Path if it is a file of at most ``max_mb`` MB, else raise InputError.

    Parameters
    ----------
    path
        The file the planner gave.
    what
        What the file holds ("facilities"), for the message.
    max_mb
        The largest file read, in MB (``geo.io.MAX_INPUT_MB``).

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("validate_what_file_does_not", file=str(path), what=what)
    size_mb = path.stat().st_size / 2**20
    if size_mb > max_mb:
        raise InputError("validate_what_file_size_mb", file=path.name, what=what, size_mb=size_mb, max_mb=max_mb)
    return path


def unzip_shapefile(path: Path, into: Path, *, what: str) -> Path:
    """The one Shapefile (or GeoPackage/GeoJSON) inside a zip, unpacked safely into ``into``; refuse anything odd.

    Parameters
    ----------
    path
        The zip file.
    into
        An empty folder to unpack into (flattened: no folders are created).
    what
        What the layer holds, for the message.

    Returns
    -------
    pathlib.Path
        The unpacked layer file.
    """
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise InputError("validate_not_readable_zip_exc", file=path.name, exc=plain_text(exc)) from exc
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        for m in members:
            parts = Path(m.filename.replace("\\", "/")).parts
            if m.filename.startswith(("/", "\\")) or ".." in parts or (len(parts) and ":" in parts[0]):
                raise InputError("validate_zip_holds_unsafe_path", file=path.name, filename=m.filename)
            if (m.external_attr >> 16) & 0o170000 == 0o120000:
                raise InputError("validate_zip_holds_link_filename", file=path.name, filename=m.filename)
        _refuse_oversized(members, path)
        layers = [m for m in members if Path(m.filename).suffix.lower() in (".shp", ".gpkg", ".geojson")]
        if len(layers) != 1:
            found = ", ".join(m.filename for m in layers) or "none"
            raise InputError("validate_zip_must_hold_exactly", file=path.name, found=found, what=what)
        budget = [MAX_UNZIPPED_MB * 2**20]  # bytes left to unpack, counted as they come, not as declared
        for m in members:
            _extract(archive, m, into / Path(m.filename).name, path, budget)  # flattened: no folders are created
        return into / Path(layers[0].filename).name


def _refuse_oversized(members: list[zipfile.ZipInfo], path: Path) -> None:
    """Refuse a zip whose members, as declared, are too many, too large, or packed too tightly (a zip bomb)."""
    declared = sum(m.file_size for m in members)
    packed = sum(m.compress_size for m in members)
    if len(members) > MAX_ZIP_MEMBERS or declared > MAX_UNZIPPED_MB * 2**20:
        raise InputError(
            "validate_zip_unpacks_members_files", file=path.name, members=len(members), declared_2_20=declared / 2**20
        )
    if declared > MAX_ZIP_RATIO * max(packed, 2**20):
        raise InputError(
            "validate_zip_unpacks_declared_2",
            file=path.name,
            declared_2_20=declared / 2**20,
            packed_2_20=packed / 2**20,
            max_zip_ratio=MAX_ZIP_RATIO,
        )


def _extract(archive: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path, path: Path, budget: list[int]) -> None:
    """Copy one member to ``target`` in chunks, counting the bytes really unpacked (a zip's sizes may lie).

    ``budget`` holds the bytes the whole zip may still unpack to; one member may also unpack to at
    most ``MAX_ZIP_RATIO`` times its packed size. A bad checksum or a broken member is bad input.
    """
    ratio_left = MAX_ZIP_RATIO * max(member.compress_size, 2**20)
    try:
        with archive.open(member) as src, target.open("wb") as dst:
            while data := src.read(2**20):
                budget[0] -= len(data)
                ratio_left -= len(data)
                if budget[0] < 0 or ratio_left < 0:
                    raise InputError(
                        "validate_filename_unpacks_more_than",
                        file=path.name,
                        filename=member.filename,
                        max_zip_ratio=MAX_ZIP_RATIO,
                        max_unzipped_mb=MAX_UNZIPPED_MB,
                    )
                dst.write(data)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, NotImplementedError, zlib.error) as exc:
        raise InputError(
            "validate_filename_zip_cannot_unpacked", file=path.name, filename=member.filename, exc=plain_text(exc)
        ) from exc


def require_kind(gdf: gpd.GeoDataFrame, kinds: tuple[str, ...], path: Path, *, what: str, fix: str) -> None:
    """Refuse a layer with a geometry of another kind than ``kinds``, naming the first such row.

    Parameters
    ----------
    gdf
        The layer as read.
    kinds
        The geometry types allowed: ``("Point",)`` or ``POLYGONS``.
    path
        The file it came from.
    what
        What the layer holds, for the message.
    fix
        How to mend it.
    """
    bad = first_bad_row(~gdf.geom_type.isin(kinds), gdf.geom_type)
    if bad:
        plural = "points" if kinds == ("Point",) else "polygons"
        raise InputError(
            "validate_kind",
            file=path.name,
            row=bad.row,
            column="geometry",
            fix=fix,
            what=what,
            plural=plural,
            found=bad.value,
        )


def require_columns(table: pd.DataFrame, columns: tuple[str, ...], path: Path, *, fix: str) -> None:
    """Refuse a table without one of ``columns``, naming the first one missing.

    Parameters
    ----------
    table
        The table or layer as read.
    columns
        The columns it must have.
    path
        The file it came from.
    fix
        How to mend it.
    """
    for column in columns:
        if column not in table.columns:
            raise InputError("validate_no_column", file=path.name, column=column, fix=fix, column_name=column)


def require_unique(gdf: gpd.GeoDataFrame, column: str, path: Path, *, first_row: int = 1) -> None:
    """Refuse a layer where a value of ``column`` appears twice, naming the first repeat.

    Parameters
    ----------
    gdf
        The layer as read.
    column
        The id column.
    path
        The file it came from.
    first_row
        The number the file gives its first data row (see ``first_bad_row``).
    """
    bad = first_bad_row(gdf[column].duplicated(), gdf[column], first_row=first_row)
    if bad:
        raise InputError(
            "validate_value_appears_more_than",
            file=path.name,
            row=bad.row,
            column=column,
            value=bad.value,
            column_value=column,
        )


def check_coordinates(
    bounds: np.ndarray, *, geographic: bool, file: str, first_row: int = 1, column: str = "geometry"
) -> None:
    """Refuse coordinates that are no place on Earth, naming the first row: the one range rule of every reader.

    Parameters
    ----------
    bounds
        One ``(minx, miny, maxx, maxy)`` per row (``GeoDataFrame.bounds``; a point repeats its x and y).
    geographic
        Whether the coordinates are degrees (longitude in [-180, 180], latitude in [-90, 90]);
        else metres, each within ``MAX_PROJECTED_M``. Infinity and NaN are never a place.
    file
        The file's name, for the message.
    first_row
        The number the file gives its first data row (see ``first_bad_row``).
    column
        The column named in the message.

    Examples
    --------
    >>> check_coordinates(np.array([[400.0, 100.0, 400.0, 100.0]]), geographic=True, file="a.geojson")
    Traceback (most recent call last):
    ...
    geo.errors.InputError: a.geojson, row 1, column 'geometry': coordinates (400, 100) are not longitude/latitude \
degrees (1 rows). Fix: give longitude within -180..180 and latitude within -90..90 (or the file's true CRS)
    """
    b = np.asarray(bounds, dtype=float).reshape(-1, 4)
    bad = first_bad_row(off_earth(b, geographic=geographic), b, first_row=first_row)
    if bad:
        x, y = (bad.value[0], bad.value[1]) if np.isfinite(bad.value[:2]).all() else (bad.value[2], bad.value[3])
        raise InputError(
            "validate_not_degrees" if geographic else "validate_no_place",
            file=file,
            row=bad.row,
            column=column,
            x=x,
            y=y,
            count=bad.count,
        )


def declares_entities(head: bytes) -> bool:
    """Whether the head of an XML file (or of an .xlsx part) declares a DTD or entities (XXE, billion laughs).

    A DTD comes before the first element, so the head of the file is enough to find it. No street
    network and no workbook Excel writes has one.

    Examples
    --------
    >>> declares_entities(b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]><r/>')
    True
    >>> declares_entities(b'<?xml version="1.0"?><graphml/>')
    False
    """
    return _DTD.search(head) is not None


def off_earth(bounds: np.ndarray, *, geographic: bool) -> np.ndarray:
    """Which rows of ``(minx, miny, maxx, maxy)`` are no place on Earth: the range rule ``check_coordinates`` says.

    Degrees: longitude outside [-180, 180] or latitude outside [-90, 90]; metres: farther than
    ``MAX_PROJECTED_M``. Infinity and NaN are never a place. ``geo.network.check_nodes`` applies it
    to a network's nodes in lon/lat.

    Examples
    --------
    >>> off_earth(np.array([[7.4, 43.7, 7.4, 43.7], [400.0, 1.0, 400.0, 1.0], [np.inf, 0, np.inf, 0]]), geographic=True)
    array([False,  True,  True])
    """
    b = np.asarray(bounds, dtype=float).reshape(-1, 4)
    with np.errstate(invalid="ignore"):
        if geographic:
            ok = (b[:, 0] >= -180) & (b[:, 2] <= 180) & (b[:, 1] >= -90) & (b[:, 3] <= 90)
        else:
            ok = (np.abs(b) <= MAX_PROJECTED_M).all(axis=1)  # NaN compares false: refused too
    return ~ok


def repair_polygons(gdf: gpd.GeoDataFrame, path: Path, *, what: str) -> tuple[gpd.GeoDataFrame, list[Note]]:
    """Invalid polygons (self-intersecting, a bow-tie) repaired with ``make_valid``, and a note saying so.

    A polygon whose repair leaves no area (it was a line drawn as a polygon) is refused, naming its row.

    Parameters
    ----------
    gdf
        A layer as read; rows that are not polygons are left as they are.
    path
        The file it came from.
    what
        What the layer holds, for the note and the message.

    Returns
    -------
    (geopandas.GeoDataFrame, list of Note)
        The layer with its polygons valid, and a ``repaired`` note (none when nothing was repaired).
    """
    geoms = gdf.geometry.to_numpy()
    broken = np.asarray(gdf.geom_type.isin(POLYGONS)) & ~shapely.is_valid(geoms)
    if not broken.any():
        return gdf, []
    fixed = geoms.copy()
    fixed[broken] = [_polygonal(g) for g in shapely.make_valid(geoms[broken])]
    empty = first_bad_row(broken & shapely.is_empty(fixed))
    if empty:
        raise InputError("validate_what_polygon_has_no", file=path.name, row=empty.row, column="geometry", what=what)
    first = first_bad_row(broken)
    reason = shapely.is_valid_reason(geoms[first.row - 1]).replace("[", " at (").replace("]", ")")  # GEOS's words
    notes = [note("repaired", file=path.name, n=first.count, row=first.row, reason=reason)]
    return gdf.set_geometry(gpd.GeoSeries(fixed, index=gdf.index, crs=gdf.crs)), notes


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygon parts of a repaired geometry (a repair may leave lines or points beside them)."""
    if geom.geom_type in POLYGONS:
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in POLYGONS]
    return shapely.union_all(parts) if parts else shapely.Polygon()


# --- text: names cleaned once, at reading (issue 27 §3) ---------------------------------------------------------

#: Control characters (C0, DEL, C1) and lone surrogates (bytes a file name or argument held that were not UTF-8):
#: they break spreadsheets (openpyxl refuses them), XML (a QGIS project) and terminals.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_SPACES = re.compile("[\t\n\r]+")


def clean_text(text: str) -> str:
    r"""``text`` with tabs and line breaks as one space, control characters removed, stray bytes as GBK or U+FFFD.

    Examples
    --------
    >>> clean_text("党群\x01服务\t中心\udcb5"), clean_text("plain"), clean_text("\udcd6\udcd0\udcce\udcc4")
    ('党群服务 中心�', 'plain', '中文')
    """
    if not isinstance(text, str) or text.isprintable():
        return text
    text = _SPACES.sub(" ", text)
    if re.search("[\udc80-\udcff]", text):  # bytes that were not UTF-8 (a GBK argument or file name): read as GBK
        with contextlib.suppress(UnicodeError):
            text = text.encode("utf-8", "surrogateescape").decode("gb18030")
    text = re.sub("[\ud800-\udfff]", "\ufffd", text)
    return _UNPRINTABLE.sub("", text)


def clean_columns(frame: pd.DataFrame, file: str, *, first_row: int = 1) -> list[Note]:
    """Clean every text cell of ``frame`` in place (``clean_text``); a note of what was removed, if anything.

    The names (of units, facilities, categories) are cleaned once, here at reading: everything
    downstream (tables, spreadsheets, QGIS projects, folder names, the map) meets plain text.
    """
    removed, columns, first = 0, [], None
    for column in frame.columns:
        kind = frame[column].dtype
        text = pd.api.types.is_object_dtype(kind) or pd.api.types.is_string_dtype(kind)
        if isinstance(frame[column], gpd.GeoSeries) or not text:
            continue
        values = frame[column]
        dirty = values.map(lambda v: isinstance(v, str) and not v.isprintable() and clean_text(v) != v)
        if not dirty.any():
            continue
        before = values[dirty]
        after = before.map(clean_text)
        removed += int(sum(len(a) - len(b) for a, b in zip(before, after, strict=True))) or int(dirty.sum())
        frame.loc[dirty, column] = after
        columns.append(str(column))
        row = int(np.flatnonzero(dirty.to_numpy())[0]) + first_row
        first = row if first is None else min(first, row)
    if not columns:
        return []
    return [note("names_cleaned", file=clean_text(file), n=removed, columns=", ".join(columns), row=first)]
