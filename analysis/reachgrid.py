"""The merged reach of many facilities, traced from a grid: one walk-time pass and no polygon union.

``merge_isochrones`` unites every facility's polygon, and each polygon is itself a
union of buffered street pieces: at city scale (800 facilities, 100k corners) that
takes tens of seconds. Here the walk to the *nearest* facility (one multi-source
Dijkstra) is sampled along every street, every half grid cell; a cell takes the
nearest band of the samples in it; each cell then takes the nearest band within
``street_side_m`` (a disk of cells: separable maximum filters, one per row of the
disk); the bands are traced back to polygons (marching squares), each on its share of every
block of 2 x 2 cells (``TRACE_CELLS``): a smooth line instead of the cells' staircase, from a
quarter of the memory (a 100k city's grid is 25M cells; its first trace took 3.5 s of CPU, now 2.2 s)
and with fewer points to draw.

A place is reached by some facility within a band exactly when it lies within
``street_side_m`` of a street point whose nearest-facility walk is within the band,
so this is the same set as the union of the facilities' isochrones (tested on the sample). The
grid moves its outline by a few metres: the traced reach holds every place within
``street_side_m`` less two cells of such a street and nothing beyond ``street_side_m`` and a
cell and a half, and its area is within 5 % of the exact union's at 10 m cells
(``tests/test_reachgrid.py``). Used where the merged reach is drawn at city scale (the app's map).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from analysis import columns as C
from analysis.isochrones import STREET_SIDE_M
from analysis.traveltime import WALK_KMH, nearest_times, speed_ms
from geo.network import StreetNetwork

if TYPE_CHECKING:
    import contourpy

__all__ = ["GRID_M", "TRACE_CELLS", "reach_grid", "street_samples"]

GRID_M = 10.0  #: about the grid's cell (metres): the traced outline moves a few metres, two cells at most
#: the outline is traced on the mean of blocks of this many cells a side: a smooth line within about a cell of
#: the cells' own outline, from a quarter of the memory (a 100k city's grid is 25M cells) and half the points
TRACE_CELLS = 2


def _along(lines: np.ndarray, spacing_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points at most ``spacing_m`` apart along each line: (xy, line of each, metres from its start)."""
    xy, idx = shapely.get_coordinates(shapely.segmentize(lines, spacing_m), return_index=True)
    if not len(idx):  # no street reached (e.g. no facility near these streets)
        return xy, idx, np.zeros(0)
    step = np.hypot(*np.diff(xy, axis=0).T)
    same = idx[1:] == idx[:-1]
    cum = np.concatenate([[0.0], np.cumsum(np.where(same, step, 0.0))])
    first = np.concatenate([[0], np.flatnonzero(~same) + 1])
    cum -= np.repeat(cum[first], np.diff(np.append(first, len(idx))))
    return xy, idx, cum


def street_samples(
    network: StreetNetwork,
    node_s: np.ndarray,
    snaps: pd.DataFrame,
    points: np.ndarray,
    *,
    speed: float,
    spacing_m: float,
    limit_s: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The walk in seconds at points every ``spacing_m`` along the streets reached within ``limit_s``.

    Parameters
    ----------
    network
        The street network.
    node_s
        Seconds from the nearest facility at every node (``nearest_times``).
    snaps, points
        The facilities' snaps (``geo.snap_points``) and their points: a facility's own
        street is walked straight from it, and so is its walk to the street.
    speed
        Metres per second.
    spacing_m
        The most metres between samples along a street.
    limit_s
        The longest walk looked at (samples beyond it are left out).

    Returns
    -------
    tuple of numpy.ndarray
        The samples' coordinates (n x 2) and their seconds.
    """
    e = network.edges
    u, v, length = e["u"].to_numpy(), e["v"].to_numpy(), e["length_m"].to_numpy()
    tu, tv = node_s[u], node_s[v]
    hit = np.flatnonzero(np.minimum(tu, tv) <= limit_s)
    xy, idx, cum = _along(e.geometry.to_numpy()[hit], spacing_m)
    edge = hit[idx]
    secs = np.minimum(tu[edge] + cum / speed, tv[edge] + (length[edge] - cum) / speed)
    on = np.flatnonzero(snaps["edge"].to_numpy() >= 0)
    own_edge, pos = snaps["edge"].to_numpy()[on], snaps["pos_m"].to_numpy()[on]
    off = snaps["offset_m"].to_numpy()[on]
    oxy, oidx, ocum = _along(e.geometry.to_numpy()[own_edge], spacing_m)  # each facility's own street
    own_s = (off[oidx] + np.abs(ocum - pos[oidx])) / speed
    at_street = shapely.line_interpolate_point(e.geometry.to_numpy()[own_edge], pos)
    access = shapely.linestrings(np.stack([shapely.get_coordinates(points[on]), shapely.get_coordinates(at_street)], 1))
    axy, _, acum = _along(access, spacing_m)  # the walk from each facility to its street
    xy = np.concatenate([xy, oxy, axy])
    secs = np.concatenate([secs, own_s, acum / speed])
    keep = secs <= limit_s
    return xy[keep], secs[keep]


def _shifted_max(out: np.ndarray, grid: np.ndarray, shift: int, axis: int) -> None:
    """``out`` = max(``out``, ``grid`` moved ``shift`` cells both ways along ``axis``), in place."""
    a, b = [slice(None)] * 2, [slice(None)] * 2
    a[axis], b[axis] = slice(shift, None), slice(None, -shift)
    np.maximum(out[tuple(a)], grid[tuple(b)], out=out[tuple(a)])
    np.maximum(out[tuple(b)], grid[tuple(a)], out=out[tuple(b)])


def _disk_max(grid: np.ndarray, radius: int) -> np.ndarray:
    """Each cell's largest value within ``radius`` cells (the lattice points of a disk).

    The disk is a stack of rows: row ``dy`` spans ``w(dy) = floor(sqrt(radius² - dy²))`` cells
    either side. Each row width is one more shift of the last, and each row is then moved
    up and down by its ``dy``: elementwise maxima of shifted views, no filter.
    """
    widths = [int(np.floor(np.sqrt(radius * radius - dy * dy))) for dy in range(radius + 1)]
    rows, wide = {0: grid}, grid.copy()
    for w in range(1, widths[0] + 1):
        _shifted_max(wide, grid, w, axis=1)
        rows[w] = wide.copy()
    out = rows[widths[0]].copy()
    for dy in range(1, radius + 1):
        _shifted_max(out, rows[widths[dy]], dy, axis=0)
    return out


def _corners(xy: np.ndarray, ring: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closed rings (concatenated) without their closing points and the points on straight runs.

    Marching squares puts a point on every cell edge crossed; in grid units those sit on half
    cells, so collinearity is exact and dropping them leaves the same shape with far fewer points.
    """
    closing = np.append(ring[1:] != ring[:-1], True)
    xy, ring = xy[~closing], ring[~closing]
    first = np.flatnonzero(np.append(True, ring[1:] != ring[:-1]))
    count = np.diff(np.append(first, len(ring)))
    pos, base, n = np.arange(len(ring)), np.repeat(first, count), np.repeat(count, count)
    a = xy - xy[base + (pos - base - 1) % n]
    b = xy[base + (pos - base + 1) % n] - xy
    turn = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0] != 0
    return xy[turn], ring[turn]


def _polygons(gen: contourpy.ContourGenerator, level: float, origin: np.ndarray, cell_m: float) -> shapely.Geometry:
    """The cells at or above ``level`` as one (multi)polygon with its holes, in metres."""
    pts, offsets = gen.filled(level, 1e9)
    if not pts:
        return shapely.Polygon()
    ring_len = np.concatenate([np.diff(o) for o in offsets])
    xy, ring = _corners(np.concatenate(pts), np.repeat(np.arange(len(ring_len)), ring_len))
    poly_of_ring = np.repeat(np.arange(len(offsets)), [len(o) - 1 for o in offsets])
    # A ring of blocks' means can be a slit, all on one line: gone with its points (a shell, with its holes).
    whole = np.bincount(ring, minlength=len(ring_len)) >= 3
    shell = np.append(0, np.cumsum([len(o) - 1 for o in offsets])[:-1])
    whole &= whole[shell][poly_of_ring]
    if not whole.any():
        return shapely.Polygon()
    kept = whole[ring]
    rings = shapely.linearrings(origin + xy[kept] * cell_m, indices=np.unique(ring[kept], return_inverse=True)[1])
    polys = shapely.polygons(rings, indices=np.unique(poly_of_ring[whole], return_inverse=True)[1])
    return polys[0] if len(polys) == 1 else shapely.multipolygons(polys)


def _blocks(grid: np.ndarray, n: int) -> np.ndarray:
    """The mean of each ``n`` x ``n`` block of cells (the grid padded with zeros to whole blocks), as float64."""
    if n == 1:
        return grid.astype(np.float64)
    ny, nx = -(-grid.shape[0] // n) * n, -(-grid.shape[1] // n) * n
    padded = np.zeros((ny, nx), dtype=np.uint16)
    padded[: grid.shape[0], : grid.shape[1]] = grid
    return padded.reshape(ny // n, n, nx // n, n).sum(axis=(1, 3), dtype=np.float64) / (n * n)


def _traced(grid: np.ndarray, n_bands: int, corner: np.ndarray, cell_m: float, trace_cells: int) -> list:
    """Each band's polygon, nearest first, from the grid of band ranks (``corner``: its lower left, metres)."""
    import contourpy  # lazy: only a traced reach needs it (issue 32)

    step = cell_m * trace_cells
    origin = corner + step / 2  # the generator's (column, row) to metres at cell (block) centres
    if trace_cells == 1:  # the cells' own outline: one generator, a level between each band's rank
        gen = contourpy.contour_generator(z=grid.astype(np.float64), fill_type="OuterOffset")
        return [_polygons(gen, n_bands - k - 0.5, origin, step) for k in range(n_bands)]
    # Each band's share of every block, traced at just under a half (never on a block's own value).
    shares = (_blocks(grid >= n_bands - k, trace_cells) for k in range(n_bands))
    return [
        _polygons(contourpy.contour_generator(z=z, fill_type="OuterOffset"), 0.5 - 1e-3, origin, step) for z in shares
    ]


def reach_grid(
    network: StreetNetwork,
    facilities: gpd.GeoDataFrame,
    snaps: pd.DataFrame,
    *,
    minutes: Sequence[float] = (15,),
    speed_kmh: float = WALK_KMH,
    street_side_m: float = STREET_SIDE_M,
    cell_m: float = GRID_M,
    trace_cells: int = TRACE_CELLS,
) -> gpd.GeoDataFrame:
    """The combined reach of all facilities, one polygon per band, traced from a grid of ``cell_m``.

    The same set as ``merge_isochrones(facility_isochrones(...))``, its outline moved by a few
    metres (two cells at most); seconds where that takes tens of seconds at city scale.

    Parameters
    ----------
    network
        The street network.
    facilities
        Facility points in ``network.crs``.
    snaps
        ``geo.snap_points(facilities, network)``.
    minutes
        Thresholds in minutes; bands nest.
    speed_kmh
        Walking speed in km/h.
    street_side_m
        How far in metres either side of a reached street the reach goes.
    cell_m
        About the grid's cell in metres: the cell is made a little smaller so that
        ``street_side_m`` is a whole number of cells and a half (a street's cells reach half a
        cell either side of it), which keeps the traced reach as wide as the exact one.
    trace_cells
        Trace the outline on the mean of blocks of this many cells a side (1: the cells' own staircase);
        the line is smoother and moves about a cell more (``tests/test_reachgrid.py`` states by how much).

    Returns
    -------
    geopandas.GeoDataFrame
        ``band_min`` and geometry, one row per band, ascending.
    """
    bands = sorted(float(m) for m in minutes)
    speed, limit_s = speed_ms(speed_kmh), bands[-1] * 60
    radius = max(1, round(street_side_m / cell_m))
    cell_m = street_side_m / (radius + 0.5)
    nearest = nearest_times(network, snaps, snaps.iloc[:0], speed_kmh=speed_kmh, limit_s=limit_s)
    points = facilities.geometry.to_numpy()
    xy, secs = street_samples(
        network, nearest.node_s, snaps, points, speed=speed, spacing_m=cell_m / 2, limit_s=limit_s
    )
    geoms = [shapely.Polygon()] * len(bands)
    if len(xy):
        pad = street_side_m + 2 * cell_m
        x0, y0 = xy.min(axis=0) - pad
        nx, ny = (np.ceil((xy.max(axis=0) + pad - (x0, y0)) / cell_m).astype(int) + 1).tolist()
        # Band rank: len(bands) for the nearest band, 1 for the widest, 0 unreached.
        rank = len(bands) - np.searchsorted(np.asarray(bands) * 60, secs, side="left")
        grid = np.zeros((ny, nx), dtype=np.uint8)
        i, j = ((xy[:, 1] - y0) / cell_m).astype(np.int64), ((xy[:, 0] - x0) / cell_m).astype(np.int64)
        for r in range(1, len(bands) + 1):  # ascending, so a cell keeps its nearest band
            grid[i[rank >= r], j[rank >= r]] = r
        geoms = _traced(_disk_max(grid, radius), len(bands), np.array([x0, y0]), cell_m, trace_cells)
    return gpd.GeoDataFrame({C.BAND_MIN: bands}, geometry=geoms, crs=network.crs)
