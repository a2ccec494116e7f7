"""Tables of grid-cell centres (a 腾讯/百度 heat grid, a raster exported as points), told and read back as cells.

A table of 经度/纬度/人口 whose points all sit on one regular lattice is a
population grid, not resident points: each row's residents live across its
cell, not at its centre. The lattice is told from the coordinates as written
(before any GCJ-02/BD-09 conversion): along each axis every coordinate is a
whole number of steps from the first (within ``TOLERANCE`` of a step), the step
is at least ``MIN_CELL_M``, no two rows share a cell, and at least ``MIN_FILL``
of the lattice's cells in the table's extent have a row (resident points with
coordinates rounded to a few decimals lie on a fine lattice too, but fill a
tiny share of it). The cells are then squares around the centres, spread like
any other cells (``analysis.spread``).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

__all__ = ["MIN_CELL_M", "MIN_FILL", "TOLERANCE", "as_cells", "cells_from_centres", "lattice_of"]

#: A lattice step shorter than this (in metres; degrees taken at 111 km) is no population grid.
MIN_CELL_M = 30.0
#: At least this share of the lattice's cells within the table's extent must have a row.
MIN_FILL = 0.05
#: A coordinate this close to a whole number of steps (as a share of the step) is on the lattice.
TOLERANCE = 0.02
_METRES_PER_DEGREE = 111_000.0


def _step(values: np.ndarray) -> float | None:
    """The lattice step of one axis, or None if the values lie on none."""
    u = np.unique(values)
    if len(u) < 2:
        return None
    step = float(np.min(np.diff(u)))
    k = (u - u[0]) / step
    return step if np.all(np.abs(k - np.round(k)) <= TOLERANCE) else None


def lattice_of(x: np.ndarray, y: np.ndarray, *, geographic: bool) -> tuple[float, float] | None:
    """The ``(dx, dy)`` of the regular lattice all points sit on, or None.

    Parameters
    ----------
    x, y
        The points' coordinates as written in the table (degrees or metres).
    geographic
        Whether they are degrees (the step's least size is taken at 111 km a degree).

    Returns
    -------
    tuple of float or None
        The lattice's steps, or None when the points are not a grid's cell centres.

    Examples
    --------
    >>> xs, ys = np.meshgrid(np.arange(5) * 0.01 + 112.4, np.arange(4) * 0.01 + 34.6)
    >>> lattice_of(xs.ravel(), ys.ravel(), geographic=True)
    (0.01, 0.01)
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 4:
        return None
    dx, dy = _step(x), _step(y)
    if dx is None or dy is None:
        return None
    scale = _METRES_PER_DEGREE if geographic else 1.0
    if min(dx, dy) * scale < MIN_CELL_M:
        return None
    col, row = np.round((x - x.min()) / dx).astype(np.int64), np.round((y - y.min()) / dy).astype(np.int64)
    cells = (int(col.max()) + 1) * (int(row.max()) + 1)
    unique = len(np.unique(row * (int(col.max()) + 1) + col))
    if unique < len(x) or unique < MIN_FILL * cells:
        return None
    return (round(dx, 12), round(dy, 12))


def cells_from_centres(points: gpd.GeoDataFrame, lattice: tuple[float, float]) -> gpd.GeoDataFrame:
    """The points as the cells of ``lattice`` centred on them (same columns, same CRS).

    Parameters
    ----------
    points
        Cell centres, in the CRS the lattice was told in (WGS-84 degrees, or the table's EPSG).
    lattice
        ``(dx, dy)`` from ``lattice_of``.

    Returns
    -------
    geopandas.GeoDataFrame
        ``points`` with square cells as geometry.
    """
    dx, dy = lattice
    x, y = points.geometry.x.to_numpy(), points.geometry.y.to_numpy()
    return points.set_geometry(shapely.box(x - dx / 2, y - dy / 2, x + dx / 2, y + dy / 2), crs=points.crs)


def as_cells(points: gpd.GeoDataFrame, lattice: tuple[float, float] | None) -> gpd.GeoDataFrame:
    """The residents as read: cells when their table was a grid's centres (``lattice`` not None), else as they are."""
    return points if lattice is None else cells_from_centres(points, lattice)
