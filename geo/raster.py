"""Population rasters (WorldPop, LandScan: GeoTIFF), read only around the streets.

A national raster is never loaded whole: the network's bounds are carried into
the raster's CRS (``rasterio.warp.transform_bounds``, densified, so a curved
edge is not cut), widened by one cell, and only that window is read
(``rasterio.windows.from_bounds``, clipped to the raster). Cells of nodata,
NaN or below 0 are dropped and counted; every other cell with residents becomes
a polygon with ``pop`` in the raster's CRS, spread over the streets inside it
later (``analysis.demand``). Refused with the fix: a raster with no CRS, a
rotated or sheared grid, a window of more than ``MAX_WINDOW_CELLS`` cells, a
window that misses the streets.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from rasterio.errors import RasterioError
from rasterio.warp import transform_bounds
from rasterio.windows import Window, from_bounds

from geo._validate import existing
from geo.errors import InputError, reading
from geo.notes import note

__all__ = [
    "MAX_RASTER_MB",
    "MAX_WINDOW_CELLS",
    "RASTER_SUFFIXES",
    "RasterHeader",
    "is_raster",
    "open_raster",
    "read_window",
]

#: File name endings read as population rasters.
RASTER_SUFFIXES = (".tif", ".tiff")
#: The most cells a window around the streets may hold (4,000 x 4,000: a 400 km square of WorldPop's 100 m cells,
#: 64 MB as float32); a larger one is refused rather than read.
MAX_WINDOW_CELLS = 16_000_000
#: A raster file may be this large (a national WorldPop GeoTIFF is a few GB): only a window is ever read.
MAX_RASTER_MB = 64_000

_ERRORS = (RasterioError, OSError, ValueError)


def is_raster(path: str | Path) -> bool:
    """Whether ``path`` is read as a population raster.

    Examples
    --------
    >>> is_raster("chn_ppp_2020.TIF"), is_raster("人口.csv")
    (True, False)
    """
    return Path(path).suffix.lower() in RASTER_SUFFIXES


@dataclass(frozen=True)
class RasterHeader:
    """A population raster checked before the network is read: its path, CRS (WKT), size and cell size."""

    path: Path
    crs_wkt: str
    width: int
    height: int
    cell: tuple[float, float]


def open_raster(path: str | Path) -> RasterHeader:
    """Check a population raster's header: one band or more, a CRS, a north-up grid (no rotation).

    Parameters
    ----------
    path
        A GeoTIFF of residents per cell (WorldPop, LandScan), in any CRS.

    Returns
    -------
    RasterHeader
        What ``read_window`` needs; no cell is read.

    Raises
    ------
    InputError
        The file is missing, unreadable, has no CRS or a rotated grid.
    """
    path = existing(path, "residents raster", max_mb=MAX_RASTER_MB)
    with (
        reading(path, "residents raster", fix="give a GeoTIFF (WorldPop, LandScan)", errors=_ERRORS),
        rasterio.open(path) as src,
    ):
        crs, transform, width, height = src.crs, src.transform, src.width, src.height
    if crs is None:
        raise InputError(
            "the residents raster states no coordinate system",
            file=path.name,
            fix="save it with its CRS (WorldPop and LandScan are EPSG:4326): gdal_edit.py -a_srs EPSG:4326 FILE",
        )
    if transform.b != 0 or transform.d != 0 or transform.a <= 0 or transform.e >= 0:
        raise InputError(
            "the residents raster's grid is rotated or flipped (its transform is not north-up)",
            file=path.name,
            fix="warp it to a north-up grid first: gdalwarp FILE north_up.tif",
        )
    return RasterHeader(path, crs.to_wkt(), width, height, (transform.a, -transform.e))


def read_window(
    header: RasterHeader, bounds: tuple[float, float, float, float], bounds_crs: object, *, band: int = 1
) -> gpd.GeoDataFrame:
    """The raster's cells with residents around ``bounds``, as polygons with ``pop`` in the raster's CRS.

    Parameters
    ----------
    header
        The raster, as checked by ``open_raster``.
    bounds
        ``(minx, miny, maxx, maxy)`` of the street network.
    bounds_crs
        The CRS of ``bounds`` (the network's).
    band
        The band with the residents.

    Returns
    -------
    geopandas.GeoDataFrame
        One polygon per cell with residents (more than 0), with ``pop`` (float) and ``row``/``col`` in the
        whole raster; ``attrs["notes"]`` says the window read and the cells dropped (nodata, negative).

    Raises
    ------
    InputError
        The window misses the raster, or holds more than ``MAX_WINDOW_CELLS`` cells.
    """
    path = header.path
    with (
        reading(path, "residents raster", fix="give a GeoTIFF (WorldPop, LandScan)", errors=_ERRORS),
        rasterio.open(path) as src,
    ):
        window = _window(src, header, bounds, bounds_crs)
        values = src.read(band, window=window, masked=True)
        transform = src.window_transform(window)
    data = np.ma.filled(values.astype(float), np.nan)
    nodata = ~np.isfinite(data)
    negative = np.isfinite(data) & (data < 0)
    keep = np.isfinite(data) & (data > 0)
    rows, cols = np.nonzero(keep)
    x0, y0 = transform @ (cols, rows)
    x1, y1 = transform @ (cols + 1, rows + 1)
    cells = gpd.GeoDataFrame(
        {
            "pop": data[rows, cols],
            "row": rows + int(window.row_off),
            "col": cols + int(window.col_off),
        },
        geometry=shapely.box(x0, y1, x1, y0),
        crs=header.crs_wkt,
    )
    notes = [
        note(
            "raster_window",
            file=path.name,
            cols=int(window.width),
            rows=int(window.height),
            width=header.width,
            height=header.height,
            n=len(cells),
            pop=float(cells["pop"].sum()),
        )
    ]
    if nodata.any() or negative.any():
        dropped = {"nodata": int(nodata.sum()), "negative": int(negative.sum())}
        notes.append(note("raster_dropped", file=path.name, **dropped, negative_pop=float(-data[negative].sum())))
    cells.attrs["notes"] = notes
    return cells


def _window(src: object, header: RasterHeader, bounds: tuple, bounds_crs: object) -> Window:
    """The window of ``src`` over ``bounds`` (in ``bounds_crs``), one cell wider on each side, clipped."""
    left, bottom, right, top = transform_bounds(bounds_crs, src.crs, *bounds, densify_pts=21)
    wide = from_bounds(
        left - header.cell[0], bottom - header.cell[1], right + header.cell[0], top + header.cell[1], src.transform
    )
    col0, row0 = max(int(np.floor(wide.col_off)), 0), max(int(np.floor(wide.row_off)), 0)
    col1 = min(int(np.ceil(wide.col_off + wide.width)), src.width)
    row1 = min(int(np.ceil(wide.row_off + wide.height)), src.height)
    if col1 <= col0 or row1 <= row0:
        raise InputError(
            f"the residents raster ({header.width:,} x {header.height:,} cells) does not cover the street network",
            file=header.path.name,
            fix="give the raster of the study area's country or region, or check the network",
        )
    cells = (col1 - col0) * (row1 - row0)
    if cells > MAX_WINDOW_CELLS:
        raise InputError(
            f"the window of the residents raster around the streets holds {cells:,} cells "
            f"({col1 - col0:,} x {row1 - row0:,}), more than the {MAX_WINDOW_CELLS:,} this tool reads",
            file=header.path.name,
            fix="give a coarser raster (e.g. 1 km), or a network of a smaller area",
        )
    return Window(col0, row0, col1 - col0, row1 - row0)
