"""Facility lists as planners keep them: CSV or XLSX with lon/lat columns, often in Chinese, often from 高德/百度.

Column names are recognised in Chinese and English (经度/纬度, 名称, 类别, 面积 …);
when two columns could be the same thing the reader stops and asks which, by
name. CSV files may be UTF-8 or GBK (GB18030). Coordinates in GCJ-02 or BD-09
are converted to WGS-84 (``geo.chinacrs``); latitude and longitude swapped, a
non-number, or a GCJ-02/BD-09 point outside China are refused with the row.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from geo._validate import check_coordinates, check_rows, clean_columns, declares_entities, first_bad_row, max_rows
from geo.chinacrs import SYSTEMS, in_china, to_wgs84
from geo.errors import InputError, plain_text, reading
from geo.notes import Note, note
from geo.vocab import HOURS_COLUMN_NAMES

__all__ = [
    "COLUMN_NAMES",
    "DEMAND_COLUMN_NAMES",
    "FIRST_ROW",
    "TABLE_SUFFIXES",
    "epsg_crs",
    "find_columns",
    "is_table",
    "read_point_table",
    "read_table",
]

#: File name endings read as tables of lon/lat (no CRS of their own).
TABLE_SUFFIXES = (".csv", ".xlsx", ".xls")


def is_table(path: str | Path) -> bool:
    """Whether ``path`` is read as a table of lon/lat (so its coordinates state no CRS of their own).

    Examples
    --------
    >>> is_table("党群服务中心.XLSX"), is_table("centres.geojson")
    (True, False)
    """
    return Path(path).suffix.lower() in TABLE_SUFFIXES


#: Our column -> the header names that mean it (compared without case or spaces).
COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "lon": ("lon", "lng", "long", "longitude", "经度", "x"),
    "lat": ("lat", "latitude", "纬度", "y"),
    "name": ("name", "名称", "设施名称", "站点名称", "名字"),
    "category": ("category", "type", "类别", "类型", "设施类别", "设施类型"),
    "capacity": ("capacity", "area", "area_m2", "面积", "建筑面积", "使用面积", "面积(㎡)", "面积(m2)"),
    "facility_id": ("facility_id", "id", "编号", "编码"),
    "hours": HOURS_COLUMN_NAMES,
}

#: The same for residents tables: lon/lat and the residents at each point.
DEMAND_COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "lon": COLUMN_NAMES["lon"],
    "lat": COLUMN_NAMES["lat"],
    "pop": ("pop", "population", "人口", "常住人口", "户籍人口", "人口数", "居民人数", "人数"),
    "demand_id": ("demand_id", "id", "编号", "编码"),
}

#: Row number of the first data row in a spreadsheet: the header is row 1.
FIRST_ROW = 2
#: Points of the same name closer than this, in metres, are said to be possible duplicates.
DUPLICATE_M = 50.0


def _norm(text: object) -> str:
    return str(text).strip().lower().replace(" ", "").replace("（", "(").replace("）", ")")


def read_table(path: Path, what: str) -> tuple[pd.DataFrame, str]:
    """A CSV (UTF-8 or GBK) or XLSX table as text columns, and the encoding it was read with.

    At most ``max_rows(what)`` rows are read; a longer table is refused (``check_rows``). A UTF-8
    file with rows in another encoding is refused naming the first such row (``_mixed_encoding``).
    """
    suffix = path.suffix.lower()
    limit = max_rows(what) + 1  # one more than read: a longer table is refused, not cut
    if suffix in (".xlsx", ".xls"):
        if suffix == ".xlsx":
            _check_workbook(path, what)
        with reading(path, f"{what} spreadsheet", fix="xlsx", errors=_XLSX_ERRORS):
            frame, encoding = pd.read_excel(path, dtype=object, nrows=limit), "xlsx"
    else:
        frame, encoding = _read_csv(path, what, limit)
    check_rows(len(frame), what, path.name)
    frame.attrs["cleaned"] = clean_columns(frame, path.name, first_row=FIRST_ROW)  # names cleaned once, here
    return frame, encoding


def _read_csv(path: Path, what: str, nrows: int) -> tuple[pd.DataFrame, str]:
    """A CSV in UTF-8, else GBK (GB18030), as text columns; a file mixing the two is refused."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return pd.read_csv(path, dtype=object, encoding=encoding, nrows=nrows), encoding
        except UnicodeDecodeError:
            if encoding == "utf-8-sig":
                _mixed_encoding(path, what)
            continue
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise InputError("tables_cannot_read_what_table", file=path.name, what=what, exc=plain_text(exc)) from exc
    raise InputError("tables_what_table_neither_utf", file=path.name, what=what)


def _mixed_encoding(path: Path, what: str) -> None:
    """Refuse a file that is not UTF-8 throughout but mostly is: rows pasted in from a GBK file.

    Of the lines with non-ASCII text, those that are UTF-8 outnumber those that are not: the file
    is UTF-8, and reading it all as GBK would garble every name. A GBK file is seldom valid UTF-8
    on a line, so it is not mistaken for one.
    """
    utf8, first_bad, n_bad = 0, 0, 0
    with path.open("rb") as lines:
        for number, line in enumerate(lines, start=1):
            if line.isascii():
                continue
            try:
                line.decode("utf-8")
                utf8 += 1
            except UnicodeDecodeError:
                n_bad += 1
                first_bad = first_bad or number
    if first_bad and utf8 > n_bad:
        raise InputError("tables_what_table_utf_8", file=path.name, row=first_bad, what=what, n_bad=n_bad)


# What reading a spreadsheet raises on a bad file (openpyxl and pandas): a missing part (KeyError), bad XML
# (ParseError is a SyntaxError), a broken zip, a value of the wrong kind, a number too large (OverflowError).
_XLSX_ERRORS = (
    *(ValueError, OSError, ImportError, KeyError, SyntaxError, zipfile.BadZipFile, TypeError, IndexError),
    *(OverflowError, zlib.error, EOFError, NotImplementedError),
)
_XML_PART_HEAD = 4096  # a DTD comes before the first element: each part's head is enough to find it


def _check_workbook(path: Path, what: str) -> None:
    """Refuse an .xlsx that is no workbook (not a zip, or a zip of other files) or declares XML entities."""
    fix = "xlsx_again"
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError("tables_xlsx_not_zip", file=path.name, fix=fix, what=what) from exc
    with archive:
        names = archive.namelist()
        if "xl/workbook.xml" not in names:
            found = ", ".join(names[:3]) + (" …" if len(names) > 3 else "") or "nothing"
            raise InputError("tables_xlsx_other_zip", file=path.name, fix=fix, what=what, found=found)
        for name in names:
            if name.endswith((".xml", ".rels")) and declares_entities(_part_head(archive, name, path, what)):
                raise InputError("tables_xlsx_entities", file=path.name, fix=fix, what=what, name=name)


def _part_head(archive: zipfile.ZipFile, name: str, path: Path, what: str) -> bytes:
    """The first bytes of one part of a workbook (a broken, encrypted or oddly compressed part refused)."""
    try:
        with archive.open(name) as part:
            return part.read(_XML_PART_HEAD)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, EOFError, zlib.error) as exc:
        raise InputError(
            "tables_what_workbook_s_part", file=path.name, what=what, name=name, exc=plain_text(exc)
        ) from exc


def find_columns(frame: pd.DataFrame, path: Path, names_of: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Our column name -> the file's header, for every column recognised."""
    found: dict[str, str] = {}
    headers = {_norm(c): c for c in frame.columns}
    for ours, names in names_of.items():
        hits = [headers[n] for n in map(_norm, names) if n in headers]
        if ours in ("lon", "lat"):  # x/y only when no lon/lat-named column exists
            named = [h for h in hits if _norm(h) not in ("x", "y")]
            hits = named or hits
        hits = list(dict.fromkeys(hits))
        if len(hits) > 1:
            raise InputError(
                "tables_columns_join_repr_h", file=path.name, join_repr_h=", ".join(repr(h) for h in hits), ours=ours
            )
        if hits:
            found[ours] = hits[0]
    return found


def read_point_table(
    path: str | Path,
    *,
    what: str = "facilities",
    crs: str = "wgs84",
    columns: dict[str, tuple[str, ...]] | None = None,
    table: tuple[pd.DataFrame, str] | None = None,
) -> tuple[gpd.GeoDataFrame, list[Note]]:
    """Read a CSV/XLSX of points: (a WGS-84 GeoDataFrame with our column names, notes on what was done).

    ``crs`` is the coordinate system of the lon/lat columns: "wgs84" (GPS, OSM,
    天地图/CGCS2000), "gcj02" (高德, 腾讯) or "bd09" (百度); or ``EPSG:code`` for
    x/y in a CRS of its own (e.g. EPSG:4547, CGCS2000 3-degree Gauss-Kruger), kept in that CRS.

    Parameters
    ----------
    path
        A CSV (UTF-8 or GBK) or XLSX file with lon/lat columns (Chinese headers too).
    what
        What the points are, for the messages.
    crs
        The coordinate system of the lon/lat columns.
    columns
        Our column -> the headers that mean it (``COLUMN_NAMES`` for facilities,
        ``DEMAND_COLUMN_NAMES`` for residents); ``lon`` and ``lat`` are needed.
    table
        The table and its encoding, when already read (``read_table``).

    Returns
    -------
    (geopandas.GeoDataFrame, list of str)
        The points in WGS-84, and notes on what was done (encoding, conversion, duplicates).
        ``gdf.attrs["headers"]`` maps our column names to the file's headers, for messages.
    """
    path = Path(path)
    epsg = epsg_crs(crs)
    if epsg is None and crs not in (*SYSTEMS, "cgcs2000"):
        raise InputError("tables_unknown_coordinate_system_crs", crs=crs, systems=", ".join(SYSTEMS))
    frame, encoding = table if table is not None else read_table(path, what)
    if frame.empty:
        raise InputError("tables_what_table_has_no", file=path.name, what=what)
    names_of = COLUMN_NAMES if columns is None else columns
    cols = find_columns(frame, path, names_of)
    for need in ("lon", "lat"):
        if need not in cols:
            raise InputError(
                "tables_no_longitude_if_need",
                file=path.name,
                column=need,
                longitude_if_need="longitude" if need == "lon" else "latitude",
                join_names_of=", ".join(names_of[need]),
            )
    values = {}
    for ours in ("lon", "lat"):
        number = pd.to_numeric(frame[cols[ours]], errors="coerce")
        bad = first_bad_row(number.isna(), frame[cols[ours]], first_row=FIRST_ROW)  # as the spreadsheet numbers it
        if bad:
            raise InputError("tables_value_not_number", file=path.name, row=bad.row, column=cols[ours], value=bad.value)
        values[ours] = number.to_numpy(dtype=float)
    lon, lat = values["lon"], values["lat"]
    if epsg is not None and not epsg.is_geographic:
        return _projected_points(frame, cols, path, epsg, xy=(lon, lat), encoding=encoding)
    swapped = first_bad_row((np.abs(lat) > 90) & (np.abs(lon) <= 90), lat, first_row=FIRST_ROW)
    if swapped:
        raise InputError(
            "tables_latitude_value_beyond_90",
            file=path.name,
            row=swapped.row,
            column=cols["lat"],
            value=swapped.value,
            cols_lon=cols["lon"],
            cols_lat=cols["lat"],
        )
    check_coordinates(
        np.column_stack([lon, lat, lon, lat]), geographic=True, file=path.name, first_row=FIRST_ROW, column=cols["lon"]
    )
    notes = [note("read_rows", n=len(frame), file=path.name, encoding=encoding), *frame.attrs.get("cleaned", [])]
    if crs in ("gcj02", "bd09"):
        option = "--demand-crs" if what in ("demand", "residents") else "--facilities-crs"  # a flag, not translated
        outside = first_bad_row(~in_china(lon, lat), np.column_stack([lon, lat]), first_row=FIRST_ROW)
        if outside:
            raise InputError(
                "tables_outside_value_0_outside",
                file=path.name,
                row=outside.row,
                column=cols["lon"],
                outside_value_0=outside.value[0],
                outside_value_1=outside.value[1],
                crs_upper=crs.upper(),
                option=option,
            )
        lon, lat = to_wgs84(lon, lat, crs)
        notes.append(note("converted", n=len(lon), crs=crs.upper()))
    table = _renamed(frame, cols)
    if "capacity" in table:
        table["capacity"] = pd.to_numeric(table["capacity"], errors="coerce")
    gdf = gpd.GeoDataFrame(table, geometry=shapely.points(lon, lat), crs=epsg or "EPSG:4326")
    notes += _duplicates(gdf)
    gdf.attrs["headers"] = dict(cols)
    return gdf, notes


def _renamed(frame: pd.DataFrame, cols: dict[str, str]) -> pd.DataFrame:
    """The table with our column names (the coordinates' columns left as they are)."""
    return frame.rename(columns={v: k for k, v in cols.items() if k not in ("lon", "lat")})


def epsg_crs(text: str) -> CRS | None:
    """The CRS of ``EPSG:code`` (any case), None for anything else; an unknown code is refused.

    Examples
    --------
    >>> epsg_crs("epsg:4547").name, epsg_crs("gcj02")
    ('CGCS2000 / 3-degree Gauss-Kruger CM 114E', None)
    """
    if not str(text).upper().startswith("EPSG:"):
        return None
    try:
        return CRS.from_user_input(str(text).upper())
    except CRSError as exc:
        raise InputError("tables_unknown_coordinate_system_text", text=text) from exc


def _projected_points(
    frame: pd.DataFrame, cols: dict[str, str], path: Path, crs: CRS, *, xy: tuple[np.ndarray, np.ndarray], encoding: str
) -> tuple[gpd.GeoDataFrame, list[Note]]:
    """A table's x/y in the projected ``crs`` (metres) as points in that CRS, checked to be on Earth."""
    x, y = xy
    check_coordinates(np.column_stack([x, y, x, y]), geographic=False, file=path.name, first_row=FIRST_ROW,
                      column=cols["lon"])  # fmt: skip
    gdf = gpd.GeoDataFrame(_renamed(frame, cols), geometry=shapely.points(x, y), crs=crs)
    gdf.attrs["headers"] = dict(cols)
    return gdf, [note("read_rows", n=len(frame), file=path.name, encoding=encoding)]


def _duplicates(gdf: gpd.GeoDataFrame) -> list[Note]:
    """Same name within 50 m: reported, kept (the planner decides).

    Pairs within 50 m are found with a spatial index (``STRtree``), so the check costs about the
    number of such pairs, not the square of the rows: 20,000 facilities of one name are checked in
    well under a second.
    """
    if "name" not in gdf or len(gdf) < 2:
        return []
    metric = gdf.geometry.to_crs(gdf.estimate_utm_crs()).to_numpy()
    left, right = shapely.STRtree(metric).query(metric, predicate="dwithin", distance=DUPLICATE_M)
    names = gdf["name"].astype(str).to_numpy()
    same = (left < right) & (names[left] == names[right])
    rows = np.unique(np.concatenate([left[same], right[same]]))  # every row with a namesake within 50 m
    notes = []
    for name, group in pd.Series(rows + FIRST_ROW).groupby(names[rows], sort=False):  # in the file's order
        shown = ", ".join(map(str, group[:10])) + (f" … ({len(group):,} rows)" if len(group) > 10 else "")
        notes.append(note("duplicates", name=str(name), rows=shown))
    return notes
