"""Checks the readers share: the file exists and is not too big, a zip is safe, every row is of the right kind.

Each check raises ``InputError`` naming the file, the row or column, what is
wrong and the fix (osmnx keeps its checks in ``_validate.py`` the same way).
``first_bad_row`` is the one way to say which row is wrong: the row as the
planner's file numbers it, the value found there, and how many rows are wrong.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import NamedTuple

import geopandas as gpd
import numpy as np

from geo.errors import InputError

__all__ = [
    "MAX_UNZIPPED_MB",
    "MAX_ZIP_MEMBERS",
    "POLYGONS",
    "BadRow",
    "existing",
    "first_bad_row",
    "require_kind",
    "require_unique",
    "unzip_shapefile",
]

#: A zipped Shapefile may unpack to at most this much, in at most this many files (zip bombs).
MAX_UNZIPPED_MB, MAX_ZIP_MEMBERS = 2048, 64
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
        raise InputError(f"the {what} file does not exist", file=str(path), fix="check the path")
    size_mb = path.stat().st_size / 2**20
    if size_mb > max_mb:
        raise InputError(
            f"the {what} file is {size_mb:,.0f} MB, over the {max_mb} MB this tool reads",
            file=path.name,
            fix="clip it to the study area first (e.g. ogr2ogr -clipsrc, or osmium extract for .pbf)",
        )
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
            f"{what} must be {plural}; found {bad.value}", file=path.name, row=bad.row, column="geometry", fix=fix
        )


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
            f"'{bad.value}' appears more than once",
            file=path.name,
            row=bad.row,
            column=column,
            fix=f"make '{column}' unique",
        )
