"""Exports shared by the faces: written atomically, never over an existing file unless asked.

- Layers: ``write_layers`` (one GeoPackage, with provenance in its metadata),
  ``gpkg_bytes`` and ``layer_bytes`` (one layer as GeoPackage, GeoJSON in
  WGS-84, or a zipped Shapefile with a UTF-8 ``.cpg``) for download buttons.
- Tables: ``table_bytes`` (CSV with a BOM so Excel shows Chinese, or XLSX) and
  ``write_table``. Text that a spreadsheet would run as a formula (starting with
  ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) gets a leading ``'``.
- Provenance: ``provenance`` (parameters, input files with their SHA-256,
  software version, date) and ``provenance_metadata`` (the same flattened to
  the text key/values GeoPackage metadata holds), from ``quarterhour.provenance``
  and named here too.

Examples
--------
>>> import pandas as pd
>>> table_bytes(pd.DataFrame({"name": ["=1+1", "党群服务中心"]}), "csv").decode("utf-8-sig").splitlines()
['name', "'=1+1", '党群服务中心']
"""

from __future__ import annotations

import contextlib
import io
import os
import sqlite3
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from geo import InputError
from quarterhour.gis.outdir import disk_full, exists_error, settle_mode, temp_beside, write_error
from quarterhour.gis.qgisstyle import LayerStyle, styles_of
from quarterhour.gis.qgisxml import layer_styles_table
from quarterhour.gis.shapefile import fields_readme, shp_ready
from quarterhour.provenance import file_sha256, provenance, provenance_metadata, yardstick_of

__all__ = [
    "FILE_SUFFIX",
    "FORMAT_NAMES",
    "LAYER_FORMATS",
    "MIME",
    "TABLE_FORMATS",
    "atomic_write",
    "file_sha256",
    "gpkg_bytes",
    "layer_bytes",
    "neutralise",
    "provenance",
    "provenance_metadata",
    "safe_table",
    "table_bytes",
    "write_layers",
    "write_table",
]

TABLE_FORMATS = ("csv", "xlsx")
LAYER_FORMATS = ("gpkg", "geojson", "shp")
#: How each format is named to a planner (the same in both languages).
FORMAT_NAMES = {
    "gpkg": "GeoPackage",
    "geojson": "GeoJSON",
    "shp": "Shapefile (zip)",
    "csv": "CSV",
    "xlsx": "Excel XLSX",
}
#: Each format's media type, for downloads.
MIME = {
    "gpkg": "application/geopackage+sqlite3",
    "geojson": "application/geo+json",
    "shp": "application/zip",
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
#: Each format's file suffix (a Shapefile travels as a zip of its parts).
FILE_SUFFIX = {"gpkg": "gpkg", "geojson": "geojson", "shp": "zip", "csv": "csv", "xlsx": "xlsx"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def atomic_write(path: str | Path, data: bytes, *, force: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically: a temporary file in the same folder, then ``os.replace``.

    Nothing is left behind when writing fails (a failed write is an ``InputError``); the file gets
    the permissions the umask asks for, as a file made by ``open`` would.

    Parameters
    ----------
    path
        The file to write (its folder is created if missing).
    data
        The file's bytes.
    force
        Replace an existing file; without it an existing ``path`` is refused (``InputError``).

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    if path.exists() and not force:
        raise exists_error(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_beside(path)
    try:
        Path(tmp).write_bytes(data)
        settle_mode(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        raise write_error(path, exc) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


# --- layers -----------------------------------------------------------------------------------------------------


#: The geometry type an empty layer is declared with, by its style's geometry (GDAL cannot tell from no rows).
_EMPTY_GEOMETRY = {"point": "Point", "line": "MultiLineString", "polygon": "MultiPolygon"}


@contextlib.contextmanager
def _unsynced() -> Iterator[None]:
    """SQLite without a disk flush at each of GDAL's commits, while a temporary file is written (``_sync`` once).

    A flush per layer and per batch of rows was half the writing of a city's run; the file is not
    renamed into place until it is whole and flushed, so a crash still leaves the old file or the new one.
    """
    key = "OGR_SQLITE_SYNCHRONOUS"
    before = pyogrio.get_gdal_config_option(key)
    pyogrio.set_gdal_config_options({key: "OFF"})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({key: before})


def _sync(path: str) -> None:
    """Flush a written file to the disk (before it is renamed into place)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_gpkg(
    layers: Mapping[str, gpd.GeoDataFrame | pd.DataFrame],
    tmp: str,
    meta: dict[str, str] | None,
    styles: Mapping[str, LayerStyle],
) -> None:
    for i, (name, gdf) in enumerate(layers.items()):
        extra: dict[str, Any] = {}
        if meta and i == 0:
            extra["dataset_metadata"] = meta
        if meta and meta.get("yardstick"):  # each layer's description says the yardstick its figures use
            extra["layer_options"] = {"DESCRIPTION": meta["yardstick"]}
        if not isinstance(gdf, gpd.GeoDataFrame):  # a plain table (e.g. the coverage curve)
            pyogrio.write_dataframe(gdf.reset_index(drop=True), tmp, layer=name, driver="GPKG", **extra)
            continue
        kinds = set(gdf.geom_type.dropna())
        if len(kinds) > 1 and kinds <= {"Polygon", "MultiPolygon"}:
            extra["promote_to_multi"] = True
        if not kinds and name in styles:  # an empty layer: declared as its style draws it, so QGIS styles it
            extra["geometry_type"] = _EMPTY_GEOMETRY[styles[name].geometry]
        gdf.reset_index(drop=True).to_file(tmp, layer=name, driver="GPKG", engine="pyogrio", **extra)
    _write_styles(tmp, styles)


def _write_styles(tmp: str, styles: Mapping[str, LayerStyle]) -> None:
    """The ``layer_styles`` table QGIS reads each layer's default style from, in the file being written."""
    if not styles:
        return
    with contextlib.closing(sqlite3.connect(tmp)) as db:
        geometry_columns = dict(db.execute("SELECT table_name, column_name FROM gpkg_geometry_columns").fetchall())
    table = layer_styles_table(styles, geometry_columns)
    if len(table):
        pyogrio.write_dataframe(table, tmp, layer="layer_styles", driver="GPKG")


def write_layers(
    layers: Mapping[str, gpd.GeoDataFrame | pd.DataFrame],
    path: Path,
    *,
    force: bool = False,
    provenance: Mapping[str, Any] | None = None,
    lang: str = "zh",
    kinds: Mapping[str, str] | None = None,
) -> None:
    """Write layers into one GeoPackage atomically: a temporary file in the same folder, then a rename.

    Parameters
    ----------
    layers
        Layer name -> layer, in the file's order; a plain ``DataFrame`` becomes a table without geometry.
    path
        The GeoPackage to write (its folder is created if missing).
    force
        Replace an existing file; without it an existing ``path`` is refused (``InputError``).
    provenance
        ``quarterhour.gis.export.provenance``'s record, put into the GeoPackage's dataset
        metadata: ``pyogrio.read_info(path)["dataset_metadata"]`` reads it back.
    lang
        The language of the layers' styles (legend words, labels): ``"zh"`` or ``"en"``.
    kinds
        Layer name -> its kind where the name does not say it, e.g. ``{"isochrones": "nearest"}``
        (``quarterhour.gis.qgisstyle.layer_style``).

    Notes
    -----
    Every layer we know gets its default style in the file's ``layer_styles`` table (QML and
    SLD, ``quarterhour.gis.qgisstyle``), so QGIS draws it with the maps' colours and legend words
    when it is added; the table is written into the temporary file, before the rename. The
    reach bands are named by the yardstick the provenance names (metres of walk under GB 50180).
    """
    path = Path(path)
    if path.exists() and not force:
        raise exists_error(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_beside(path.with_suffix(".gpkg"))
    os.unlink(tmp)  # GDAL creates the file itself
    try:
        meta = provenance_metadata(provenance) if provenance else None
        styles = styles_of(layers, lang=lang, kinds=kinds, ys=yardstick_of(provenance))
        with _unsynced():
            _write_gpkg(layers, tmp, meta, styles)
        _sync(tmp)
        settle_mode(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        raise write_error(path, exc) from None
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        if not disk_full(tmp):  # GDAL's way of saying the disk is full; anything else is a bug
            raise
        raise write_error(path, exc) from None
    finally:
        for leftover in (tmp, f"{tmp}-journal", f"{tmp}-wal", f"{tmp}-shm"):
            if os.path.exists(leftover):
                os.unlink(leftover)


def gpkg_bytes(
    layers: Mapping[str, gpd.GeoDataFrame | pd.DataFrame],
    *,
    provenance: Mapping[str, Any] | None = None,
    lang: str = "zh",
    kinds: Mapping[str, str] | None = None,
) -> bytes:
    """The layers as the bytes of one GeoPackage file (for a download button).

    Parameters
    ----------
    layers
        Layer name -> layer, as for ``write_layers``.
    provenance
        ``quarterhour.gis.export.provenance``'s record for the dataset metadata, or None.
    lang, kinds
        The styles' language and the layers' kinds, as for ``write_layers``.

    Returns
    -------
    bytes
        The GeoPackage file, with its layers' styles.
    """
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "coverage.gpkg"
        write_layers(layers, path, provenance=provenance, lang=lang, kinds=kinds)
        return path.read_bytes()


def layer_bytes(
    gdf: gpd.GeoDataFrame,
    name: str,
    fmt: str,
    *,
    provenance: Mapping[str, Any] | None = None,
    lang: str = "zh",
) -> bytes:
    r"""One layer as the bytes of a file to download.

    Parameters
    ----------
    gdf
        The layer, in any CRS (GeoJSON is written in WGS-84).
    name
        The layer's name: the GeoPackage layer, or the Shapefile's parts.
    fmt
        ``gpkg`` (GeoPackage, with provenance metadata and the layer's style), ``geojson``
        (RFC 7946, WGS-84 longitude/latitude), or ``shp`` (a zip of ``name``.shp/.shx/.dbf/.prj/.cpg,
        text in UTF-8; field names shortened to 10 bytes, unique, as the format needs, and a
        ``README.txt`` listing them long -> short: ``quarterhour.gis.shapefile``).
    provenance
        ``quarterhour.gis.export.provenance``'s record (GeoPackage only), or None.
    lang
        The language of the GeoPackage's style and of the Shapefile's README, ``"zh"`` or ``"en"``.

    Returns
    -------
    bytes
        The file (for ``shp``, the zip).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> g = gpd.GeoDataFrame({"name": ["社区"]}, geometry=[shapely.Point(116.4, 39.9)], crs=4326)
    >>> b'"name": "\xe7\xa4\xbe\xe5\x8c\xba"' in layer_bytes(g, "points", "geojson")
    True
    """
    if fmt == "gpkg":
        return gpkg_bytes({name: gdf}, provenance=provenance, lang=lang)
    if fmt not in LAYER_FORMATS:
        raise InputError("export_unknown_layer_format_fmt", fmt=fmt, layer_formats=", ".join(LAYER_FORMATS))
    with tempfile.TemporaryDirectory() as tmp:
        if fmt == "geojson":
            path = Path(tmp) / f"{name}.geojson"
            wgs = gdf.reset_index(drop=True).to_crs(4326) if gdf.crs is not None else gdf.reset_index(drop=True)
            pyogrio.write_dataframe(wgs, path, driver="GeoJSON", layer_options={"RFC7946": "YES"})
            return path.read_bytes()
        folder = Path(tmp) / "shp"
        folder.mkdir()
        data, names = shp_ready(gdf)
        (folder / "README.txt").write_text(fields_readme(name, names, lang=lang), encoding="utf-8")
        kinds = set(data.geom_type.dropna())
        multi = len(kinds) > 1
        pyogrio.write_dataframe(
            data, folder / f"{name}.shp", driver="ESRI Shapefile", encoding="UTF-8", promote_to_multi=multi or None
        )
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for part in sorted(folder.iterdir()):
                zf.write(part, part.name)
        return buf.getvalue()


# --- tables -----------------------------------------------------------------------------------------------------


def neutralise(value: Any) -> Any:
    r"""Text a spreadsheet would run as a formula, made inert with a leading ``'``; anything else as is.

    Examples
    --------
    >>> neutralise('=HYPERLINK("http://x","y")'), neutralise("-5"), neutralise(-5), neutralise("社区")
    ('\'=HYPERLINK("http://x","y")', "'-5", -5, '社区')
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def safe_table(df: pd.DataFrame) -> pd.DataFrame:
    """A plain table for spreadsheets: no geometry, no index, formulas made inert.

    Points become ``lon``, ``lat`` in WGS-84; text cells and column names are
    neutralised (``neutralise``).
    """
    out = df
    if isinstance(df, gpd.GeoDataFrame):
        geom = df.geometry
        out = pd.DataFrame(df.drop(columns=df.geometry.name))
        if len(geom) and (geom.geom_type == "Point").all() and geom.crs is not None:
            ll = geom.to_crs(4326)
            out = out.assign(lon=ll.x.round(6).to_numpy(), lat=ll.y.round(6).to_numpy())
    out = out.reset_index(drop=True).copy()
    for i in range(out.shape[1]):  # by position: names need not be unique
        col = out.iloc[:, i]
        if col.dtype == object or pd.api.types.is_string_dtype(col):
            out.isetitem(i, col.map(neutralise))
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out


def _xlsx(sheets: Mapping[str, pd.DataFrame]) -> bytes:
    from openpyxl.utils import get_column_letter

    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        for sheet, df in sheets.items():
            name = "".join(ch for ch in str(sheet) if ch not in "[]:*?/\\")[:31] or "sheet"
            table = safe_table(df)
            table.to_excel(xw, sheet_name=name, index=False)
            ws = xw.sheets[name]
            for row in ws.iter_rows(min_row=1):
                for cell in row:  # strings stay strings, whatever they start with
                    if isinstance(cell.value, str):
                        cell.data_type = "s"
            for i, col in enumerate(table.columns, start=1):
                width = max([len(str(col)), *(len(str(v)) for v in table[col].head(200))], default=8)
                ws.column_dimensions[get_column_letter(i)].width = min(60, max(8, width + 2))
    return buf.getvalue()


def table_bytes(df: pd.DataFrame | Mapping[str, pd.DataFrame], fmt: str) -> bytes:
    """A table as the bytes of a CSV (UTF-8 with a BOM, so Excel shows Chinese) or XLSX file.

    For XLSX, a mapping of sheet name to table gives one sheet each. Text that
    would run as a formula is neutralised; geometry is dropped (points become
    ``lon``, ``lat``).
    """
    if fmt == "csv":
        if isinstance(df, Mapping):
            raise InputError("export_csv_holds_one_table")
        # CRLF rows (RFC 4180): a field holding a CR or LF is then quoted, not split into two rows
        return safe_table(df).to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")
    if fmt == "xlsx":
        return _xlsx(df if isinstance(df, Mapping) else {"table": df})
    raise InputError("export_unknown_table_format_fmt", fmt=fmt, table_formats=", ".join(TABLE_FORMATS))


def write_table(df: pd.DataFrame | Mapping[str, pd.DataFrame], path: str | Path, *, force: bool = False) -> Path:
    """Write a table as CSV or XLSX (by the file's suffix), atomically, never over a file unless ``force``.

    Parameters
    ----------
    df
        The table, or (XLSX) sheet name -> table.
    path
        The file, ending ``.csv`` or ``.xlsx``.
    force
        Replace an existing file.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in TABLE_FORMATS:
        raise InputError("export_cannot_write_table_suffix", file=path.name, suffix=path.suffix)
    return atomic_write(path, table_bytes(df, fmt), force=force)
