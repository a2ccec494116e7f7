"""Coverage per hexagon: a whole city's residents in a few thousand cells instead of tens of thousands of points."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from analysis import columns as C
from geo.crs import require_projected

__all__ = ["HEX_M", "hex_coverage"]

HEX_M = 250.0  #: default hexagon size: centre to corner, metres (a cell about 500 m across, a 5-minute walk)


def _cube_round(q: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest hexagon in axial coordinates (round in cube coordinates, fix the largest error)."""
    s = -q - r
    rq, rr, rs = np.round(q), np.round(r), np.round(s)
    dq, dr, ds = np.abs(rq - q), np.abs(rr - r), np.abs(rs - s)
    fix_q = (dq > dr) & (dq > ds)
    fix_r = ~fix_q & (dr > ds)
    rq = np.where(fix_q, -rr - rs, rq)
    rr = np.where(fix_r, -rq - rs, rr)
    return rq.astype(np.int64), rr.astype(np.int64)


def hex_coverage(demand: gpd.GeoDataFrame, *, size_m: float = HEX_M) -> gpd.GeoDataFrame:
    """Residents and coverage summed over pointy-top hexagons of ``size_m`` (centre to corner).

    Returns ``hex_id``, ``pop``, ``pop_covered``, ``pop_uncovered``,
    ``pct_covered``, ``minutes`` (resident-weighted mean walk to the nearest
    facility, where reachable) and the hexagon, one row per cell with residents.

    Parameters
    ----------
    demand
        Resident points with ``pop``, ``covered`` and ``minutes``, in a metric CRS.
    size_m
        Hexagon size in metres, centre to corner.

    Examples
    --------
    >>> import shapely
    >>> d = gpd.GeoDataFrame({"pop": [10.0, 30.0, 5.0], "covered": [True, False, True], "minutes": [3.0, 20.0, 4.0]},
    ...                      geometry=shapely.points([(0, 0), (10, 10), (2000, 0)]), crs=3857)
    >>> hex_coverage(d)[["pop", "pop_covered", "pct_covered"]].to_dict("list")
    {'pop': [40.0, 5.0], 'pop_covered': [10.0, 5.0], 'pct_covered': [25.0, 100.0]}
    """
    require_projected(demand.crs, what="demand")
    columns = ["hex_id", C.POP, C.POP_COVERED, C.POP_UNCOVERED, C.PCT_COVERED, C.MINUTES, "geometry"]
    if demand.empty:
        return gpd.GeoDataFrame(columns=columns, geometry="geometry", crs=demand.crs)
    xy = shapely.get_coordinates(demand.geometry.values)
    q, r = _cube_round((np.sqrt(3) / 3 * xy[:, 0] - xy[:, 1] / 3) / size_m, (2 / 3 * xy[:, 1]) / size_m)
    pop = demand[C.POP].to_numpy(dtype=float)
    mins = demand[C.MINUTES].to_numpy(dtype=float)
    reach = np.isfinite(mins)
    frame = pd.DataFrame(
        {
            "q": q,
            "r": r,
            C.POP: pop,
            C.POP_COVERED: np.where(demand[C.COVERED].to_numpy(dtype=bool), pop, 0.0),
            "w": np.where(reach, pop, 0.0),
            "wm": np.where(reach, pop * np.where(reach, mins, 0.0), 0.0),
        }
    )
    cells = frame.groupby(["q", "r"], sort=True).sum().reset_index()
    cells = cells[cells[C.POP] > 0]
    cq, cr = cells["q"].to_numpy(dtype=float), cells["r"].to_numpy(dtype=float)
    cx, cy = size_m * np.sqrt(3) * (cq + cr / 2), size_m * 1.5 * cr
    angles = np.radians(30 + 60 * np.arange(6))
    rings = np.stack([cx[:, None] + size_m * np.cos(angles), cy[:, None] + size_m * np.sin(angles)], axis=-1)
    hexes = shapely.polygons(np.concatenate([rings, rings[:, :1]], axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        minutes = np.where(cells["w"] > 0, cells["wm"] / cells["w"].where(cells["w"] > 0, 1), np.nan)
    out = gpd.GeoDataFrame(
        {
            "hex_id": [f"H{a}_{b}" for a, b in zip(cells["q"], cells["r"], strict=True)],
            C.POP: cells[C.POP].to_numpy(),
            C.POP_COVERED: cells[C.POP_COVERED].to_numpy(),
            C.POP_UNCOVERED: (cells[C.POP] - cells[C.POP_COVERED]).to_numpy(),
            C.PCT_COVERED: 100 * cells[C.POP_COVERED].to_numpy() / cells[C.POP].to_numpy(),
            C.MINUTES: minutes,
        },
        geometry=hexes,
        crs=demand.crs,
    )
    return out[columns].reset_index(drop=True)
