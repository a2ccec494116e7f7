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

Memory is bounded by what the window holds, not by what the file declares (issue 27 §4): the
window is read in blocks of at most ``BLOCK_CELLS`` cells with GDAL's block cache held to
``GDAL_CACHE_MB``, and only the cells with residents are kept; a window with more of them than
``MAX_POPULATED_CELLS`` (what ``MEMORY_BUDGET_MB`` allows, at ``CELL_BYTES`` each through the
analysis) is refused as soon as the count passes it, so a deflate bomb (a 69 kB file of 11 million
populated cells) is refused in a few MB. A window with no residents (all nodata or 0), or whose
cells sum to less than one resident or to more than ``geo._validate.MAX_RESIDENTS``, is refused
too; so is a raster in a local (engineering) CRS, which cannot be placed on the earth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import shapely

from geo._validate import MAX_RESIDENTS, existing
from geo.errors import InputError, reading
from geo.notes import note

if TYPE_CHECKING:  # rasterio is imported where a raster is read: a run without one does not pay for it (issue 32)
    from rasterio.windows import Window

__all__ = [
    "BLOCK_CELLS",
    "CELL_BYTES",
    "MAX_POPULATED_CELLS",
    "MAX_RASTER_MB",
    "MAX_WINDOW_CELLS",
    "MEMORY_BUDGET_MB",
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

#: The memory the cells with residents may take through reading and spreading them over the streets.
MEMORY_BUDGET_MB = 1024
#: What one cell with residents costs on the way (its polygon, its pieces on the streets): measured, about 1.3 kB
#: (a run on the sample with 490,000 populated cells peaked 530 MB above one with 90,000).
CELL_BYTES = 1500
#: The most cells with residents a window may hold: what ``MEMORY_BUDGET_MB`` allows (about 715,000; a city
#: region of 7,000 km² fully built up at WorldPop's 100 m).
MAX_POPULATED_CELLS = MEMORY_BUDGET_MB * 2**20 // CELL_BYTES
#: A window is read this many cells at a time (whole rows; 8 MB as float64).
BLOCK_CELLS = 1_000_000
#: GDAL's cache of decoded blocks while reading (its default is 5 % of the machine's memory).
GDAL_CACHE_MB = 64


def _errors() -> tuple[type[BaseException], ...]:
    """The errors of reading a raster (rasterio's own, imported only when a raster is read)."""
    from rasterio.errors import RasterioError  # lazy: 1 s of a run's start-up (issue 32)

    return (RasterioError, OSError, ValueError)


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
    import rasterio  # lazy (issue 32)

    with (
        reading(path, "residents raster", fix="geotiff", errors=_errors()),
        rasterio.open(path) as src,
    ):
        crs, transform, width, height = src.crs, src.transform, src.width, src.height
        placed = crs is not None and (crs.is_geographic or crs.is_projected)
    if crs is not None and not placed:
        raise InputError("raster_residents_raster_s_coordinate", file=path.name)
    if crs is None:
        raise InputError("raster_residents_raster_states_no", file=path.name)
    if transform.b != 0 or transform.d != 0 or transform.a <= 0 or transform.e >= 0:
        raise InputError("raster_residents_raster_s_grid", file=path.name)
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
    import rasterio  # lazy (issue 32)

    with (
        reading(path, "residents raster", fix="geotiff", errors=_errors()),
        rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB),
        rasterio.open(path) as src,
    ):
        window = _window(src, header, bounds, bounds_crs)
        rows, cols, pop, dropped = _populated(src, band, window, header)
        transform = src.window_transform(window)
    total = math.fsum(pop)
    _check_total(total, len(pop), int(window.width) * int(window.height), dropped, path)
    x0, y0 = transform @ (cols, rows)
    x1, y1 = transform @ (cols + 1, rows + 1)
    cells = gpd.GeoDataFrame(
        {
            "pop": pop,
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
            pop=total,
        )
    ]
    if dropped["nodata"] or dropped["negative"]:
        notes.append(note("raster_dropped", file=path.name, **dropped))
    cells.attrs["notes"] = notes
    return cells


def _populated(src: object, band: int, window: Window, header: RasterHeader) -> tuple:
    """The window's cells with residents, read ``BLOCK_CELLS`` at a time: rows, cols (in the window), pop, drops.

    Refused as soon as more than ``MAX_POPULATED_CELLS`` have residents: the file is never held whole.
    """
    from rasterio.windows import Window  # lazy (issue 32)

    width, height = int(window.width), int(window.height)
    step = max(1, BLOCK_CELLS // width)
    rows, cols, pops = [], [], []
    nodata = negative = kept = 0
    negative_pop = 0.0
    for top in range(0, height, step):
        part = Window(window.col_off, window.row_off + top, width, min(step, height - top))
        values = src.read(band, window=part, masked=True)
        data = np.ma.filled(values.astype(float), np.nan)
        finite = np.isfinite(data)
        nodata += int((~finite).sum())
        below = finite & (data < 0)
        negative += int(below.sum())
        negative_pop -= math.fsum(data[below])
        r, c = np.nonzero(finite & (data > 0))
        kept += len(r)
        if kept > MAX_POPULATED_CELLS:
            raise InputError(
                "raster_residents_raster_holds_more",
                file=header.path.name,
                max_populated_cells=MAX_POPULATED_CELLS,
                top_int_part=top + int(part.height),
                height=height,
                path=_size(header.path),
                memory_budget_mb=MEMORY_BUDGET_MB,
            )
        rows.append(r + top)
        cols.append(c)
        pops.append(data[r, c])
    joined = (np.concatenate(a) if a else np.zeros(0) for a in (rows, cols, pops))
    rows_a, cols_a, pop = joined
    dropped = {"nodata": nodata, "negative": negative, "negative_pop": negative_pop}
    return rows_a.astype(np.int64), cols_a.astype(np.int64), pop.astype(float), dropped


def _size(path: Path) -> str:
    """A file's size for a message: ``69 kB``, ``3.2 GB``."""
    size = path.stat().st_size
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit in ("B", "kB") else f"{size:,.1f} {unit}"
        size /= 1000
    return ""


def _check_total(total: float, n: int, cells: int, dropped: dict, path: Path) -> None:
    """Refuse a window whose residents are none, less than one person, or not a plausible number."""
    if n == 0:
        raise InputError(
            "raster_residents_raster_has_no",
            file=path.name,
            cells=cells,
            dropped_nodata=dropped["nodata"],
            dropped_negative=dropped["negative"],
        )
    if total < 1:
        raise InputError("raster_residents_raster_s_n", file=path.name, n=n, total=total)
    if not math.isfinite(total) or total > MAX_RESIDENTS:
        raise InputError("raster_residents_raster_s_cells", file=path.name, total=total, max_residents=MAX_RESIDENTS)


def _window(src: object, header: RasterHeader, bounds: tuple, bounds_crs: object) -> Window:
    """The window of ``src`` over ``bounds`` (in ``bounds_crs``), one cell wider on each side, clipped."""
    from rasterio.warp import transform_bounds  # lazy (issue 32)
    from rasterio.windows import Window, from_bounds

    left, bottom, right, top = transform_bounds(bounds_crs, src.crs, *bounds, densify_pts=21)
    wide = from_bounds(
        left - header.cell[0], bottom - header.cell[1], right + header.cell[0], top + header.cell[1], src.transform
    )
    col0, row0 = max(int(np.floor(wide.col_off)), 0), max(int(np.floor(wide.row_off)), 0)
    col1 = min(int(np.ceil(wide.col_off + wide.width)), src.width)
    row1 = min(int(np.ceil(wide.row_off + wide.height)), src.height)
    if col1 <= col0 or row1 <= row0:
        raise InputError(
            "raster_residents_raster_width_x", file=header.path.name, width=header.width, height=header.height
        )
    cells = (col1 - col0) * (row1 - row0)
    if cells > MAX_WINDOW_CELLS:
        raise InputError(
            "raster_window_residents_raster_around",
            file=header.path.name,
            cells=cells,
            col1_col0=col1 - col0,
            row1_row0=row1 - row0,
            max_window_cells=MAX_WINDOW_CELLS,
        )
    return Window(col0, row0, col1 - col0, row1 - row0)
