"""Coverage gaps: contiguous areas of uncovered residents, ranked by the residents left out.

Uncovered resident points fall into cells of a square grid; cells that touch
(sides or corners) join into one gap zone; each zone is the union of its cells,
so it follows where people live. Every uncovered resident (unreachable ones
included) is in exactly one zone, so zone residents add up to the uncovered
total exactly.
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components

from analysis import columns as C
from analysis.coverage import known_units
from analysis.defaults import CELL_M  # issue 32: read by analysis.options without geopandas
from geo.crs import require_projected

__all__ = ["CELL_M", "gap_zones", "zone_shapes"]


def gap_zones(
    demand: gpd.GeoDataFrame,
    *,
    cell_m: float = CELL_M,
    boundaries: Mapping[str, gpd.GeoDataFrame] | None = None,
    units_of: Mapping[str, pd.Series] | None = None,
    shapes: Mapping[bytes, shapely.Geometry] | None = None,
) -> gpd.GeoDataFrame:
    """Gap zones, most residents left out first.

    Parameters
    ----------
    demand
        Resident points with ``pop``, ``covered`` and ``minutes``, in a metric CRS.
    cell_m
        Side in metres of the grid cells that zones are built from.
    boundaries
        Admin units per level (polygons with ``code``); each zone lists the units it touches.
    units_of
        The unit code of every resident point per level (``analysis.coverage.demand_units``),
        when already known; ``None``: found here.
    shapes
        Zone polygons already drawn, by their cells (``zone_shapes``): a zone made of the same cells
        takes its polygon from here (issue 29: a scenario's click redraws only the zones it changes).

    Returns
    -------
    geopandas.GeoDataFrame
        ``gap_id``, ``rank``, ``pop_uncovered``, ``n_points``, ``minutes``
        (resident-weighted mean walk to the nearest facility; NaN when none is
        reachable), ``n_cells``, one column per boundary level listing the codes
        of the units the zone touches, and the zone polygon.
    """
    require_projected(demand.crs, what="demand")
    out = demand.loc[~demand[C.COVERED]]
    levels = [lvl for lvl in (boundaries or {}) if lvl != "city"]
    columns = [C.GAP_ID, C.RANK, C.POP_UNCOVERED, "n_points", C.MINUTES, "n_cells", *levels, "geometry"]
    if out.empty:
        return gpd.GeoDataFrame(columns=columns, geometry="geometry", crs=demand.crs)
    cells, cell_of, zone_of_cell = _zone_cells(out, cell_m)
    zone = zone_of_cell[cell_of]
    pop = out[C.POP].to_numpy(dtype=float)
    mins = out[C.MINUTES].to_numpy(dtype=float)
    finite = np.isfinite(mins)
    n_zones = zone_of_cell.max() + 1
    pop_z = np.bincount(zone, weights=pop, minlength=n_zones)
    wp = np.bincount(zone, weights=np.where(finite, pop, 0.0), minlength=n_zones)
    wm = np.bincount(zone, weights=np.where(finite, pop * mins, 0.0), minlength=n_zones)
    polys = [shape for _, shape in _zone_polygons(cells, zone_of_cell, cell_m, shapes or {})]
    with np.errstate(invalid="ignore", divide="ignore"):
        zmins = np.where(wp > 0, wm / np.where(wp > 0, wp, 1), np.nan)
    table = pd.DataFrame(
        {
            C.POP_UNCOVERED: pop_z,
            "n_points": np.bincount(zone, minlength=n_zones),
            C.MINUTES: zmins,
            "n_cells": np.bincount(zone_of_cell, minlength=n_zones),
        }
    )
    gdf = gpd.GeoDataFrame(table, geometry=polys, crs=demand.crs)
    for level in levels:  # the units its residents live in, as counted in the level tables
        code = known_units(out, boundaries[level], (units_of or {}).get(level)).to_numpy()
        gdf[level] = _codes_per_zone(zone, code, n_zones)
    gdf = (
        gdf[gdf[C.POP_UNCOVERED] > 0]
        .sort_values(C.POP_UNCOVERED, ascending=False, kind="stable")
        .reset_index(drop=True)
    )
    gdf.insert(0, C.RANK, np.arange(1, len(gdf) + 1))
    gdf.insert(0, C.GAP_ID, [f"G{r:03d}" for r in gdf[C.RANK]])
    return gdf[columns]


def _zone_cells(out: gpd.GeoDataFrame, cell_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The grid cells of the points of ``out`` (sorted, unique), each point's cell, and each cell's zone."""
    xy = shapely.get_coordinates(out.geometry.values)
    ij = np.floor(xy / cell_m).astype(np.int64)
    cells, cell_of = np.unique(ij, axis=0, return_inverse=True)
    return cells, cell_of.ravel(), _touching(cells)


def _zone_polygons(
    cells: np.ndarray, zone_of_cell: np.ndarray, cell_m: float, shapes: Mapping[bytes, shapely.Geometry]
) -> list[tuple[bytes, shapely.Geometry]]:
    """Per zone, the key of its cells and its polygon (the union of its cells, or ``shapes``' of the same key)."""
    order = np.argsort(zone_of_cell, kind="stable")
    firsts = np.searchsorted(zone_of_cell[order], np.arange(zone_of_cell.max() + 1))[1:]
    size = np.float64(cell_m).tobytes()  # the cells' size is part of the key
    groups = np.split(cells[order], firsts)
    keys = [size + g.tobytes() for g in groups]
    found = [shapes.get(k) for k in keys]
    todo = [i for i, f in enumerate(found) if f is None]
    if todo:  # the zones not drawn before: the union of their cells' squares
        ij = np.concatenate([groups[i] for i in todo])
        united = _cell_unions(ij, cell_m, np.array([len(groups[i]) for i in todo]))
        for i, shape in zip(todo, united, strict=True):
            found[i] = shape
    return list(zip(keys, found, strict=True))


def _cell_unions(ij: np.ndarray, cell_m: float, sizes: np.ndarray) -> np.ndarray:
    """The union of the squares of each run of ``sizes`` cells ``ij``: GEOS's along rows, zones of like size together.

    The same coverage union of the same squares in the same order as one zone at a time (issue 32: iso-margin;
    at 1M corners, tens of thousands of zones took 1.4 s in a Python loop): the rows are padded with None
    (skipped) to a power of two, so no more than twice the squares are held. A zone of one cell is its square
    as that union gives it back (clockwise from its lower left corner), made without it.
    """
    boxes = shapely.box(ij[:, 0] * cell_m, ij[:, 1] * cell_m, (ij[:, 0] + 1) * cell_m, (ij[:, 1] + 1) * cell_m)
    out = np.empty(len(sizes), dtype=object)
    start = np.cumsum(sizes) - sizes
    one = np.flatnonzero(sizes == 1)
    x, y = ij[start[one], 0], ij[start[one], 1]
    out[one] = shapely.box(x * cell_m, y * cell_m, (x + 1) * cell_m, (y + 1) * cell_m, ccw=False)
    width = 1 << np.ceil(np.log2(np.maximum(sizes, 1))).astype(np.int64)
    for w in np.unique(width[sizes > 1]):
        zones = np.flatnonzero((width == w) & (sizes > 1))
        rows = np.full((len(zones), w), None, dtype=object)
        count = sizes[zones]
        row = np.repeat(np.arange(len(zones)), count)
        col = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
        rows[row, col] = boxes[np.repeat(start[zones], count) + col]
        out[zones] = shapely.coverage_union_all(rows, axis=1)
    return out


def zone_shapes(demand: gpd.GeoDataFrame, *, cell_m: float = CELL_M) -> dict[bytes, shapely.Geometry]:
    """The polygons of ``demand``'s gap zones by their cells, for ``gap_zones(..., shapes=)`` to reuse.

    Parameters
    ----------
    demand
        Resident points with ``covered``, in a metric CRS (the current state).
    cell_m
        As for ``gap_zones``.

    Returns
    -------
    dict of bytes to shapely geometry
        Each zone's polygon, keyed by its cells.
    """
    out = demand.loc[~demand[C.COVERED]]
    if out.empty:
        return {}
    cells, _, zone_of_cell = _zone_cells(out, cell_m)
    return dict(_zone_polygons(cells, zone_of_cell, cell_m, {}))


def _codes_per_zone(zone: np.ndarray, code: np.ndarray, n_zones: int) -> list[str]:
    """Per zone, the distinct unit codes of its points, sorted and joined by commas ("" for none)."""
    idx, names = pd.factorize(pd.Series(code, dtype=object), sort=True)  # NaN: -1
    has = idx >= 0
    pairs = np.unique(zone[has].astype(np.int64) * len(names) + idx[has])  # by zone, then by code
    out: list[list[str]] = [[] for _ in range(n_zones)]
    names = names.astype(str).to_numpy()
    for z, c in zip((pairs // len(names)).tolist(), (pairs % len(names)).tolist(), strict=True):
        out[z].append(names[c])
    return [",".join(codes) for codes in out]


def _touching(cells: np.ndarray) -> np.ndarray:
    """Zone label per grid cell: cells sharing a side or a corner are one zone.

    The rows of ``cells`` are unique (i, j) cell indices, sorted.
    """
    span = int(cells[:, 1].max() - cells[:, 1].min()) + 3
    key = (cells[:, 0] - cells[:, 0].min() + 1) * span + (cells[:, 1] - cells[:, 1].min() + 1)
    rows, cols = [], []
    for di, dj in ((0, 1), (1, -1), (1, 0), (1, 1)):  # the other four offsets are these, reversed
        want = key + di * span + dj
        at = np.minimum(np.searchsorted(key, want), len(key) - 1)
        hit = key[at] == want
        rows.append(np.flatnonzero(hit))
        cols.append(at[hit])
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    adj = sp.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(cells), len(cells)))
    return connected_components(adj, directed=False)[1]
