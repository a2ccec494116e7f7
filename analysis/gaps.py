"""Coverage gaps: uncovered residents grouped on a square grid and ranked."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from analysis import columns as C
from geo.crs import require_projected

__all__ = ["gap_cells"]

CELL_M = 200.0


def gap_cells(demand: gpd.GeoDataFrame, *, cell_m: float = CELL_M) -> gpd.GeoDataFrame:
    """Grid cells holding uncovered residents, most residents left out first.

    Every uncovered resident point (unreachable ones included) falls in exactly
    one cell, so ``pop_uncovered`` adds up to the uncovered total.

    Returns
    -------
    geopandas.GeoDataFrame
        ``gap_id``, ``rank``, ``pop_uncovered``, ``n_points``, ``minutes``
        (resident-weighted mean walk to the nearest facility, NaN if none is
        reachable) and the cell square.
    """
    require_projected(demand.crs, what="demand")
    out = demand.loc[~demand[C.COVERED]]
    x, y = out.geometry.x.to_numpy(), out.geometry.y.to_numpy()
    ix, iy = np.floor(x / cell_m).astype(np.int64), np.floor(y / cell_m).astype(np.int64)
    mins = out[C.MINUTES].to_numpy()
    finite = np.isfinite(mins)
    frame = pd.DataFrame(
        {
            "ix": ix,
            "iy": iy,
            C.POP_UNCOVERED: out[C.POP].to_numpy(),
            "wm": np.where(finite, mins * out[C.POP].to_numpy(), 0.0),
            "wp": np.where(finite, out[C.POP].to_numpy(), 0.0),
        }
    )
    g = (
        frame.groupby(["ix", "iy"], sort=True)
        .agg(
            pop_uncovered=(C.POP_UNCOVERED, "sum"),
            n_points=(C.POP_UNCOVERED, "size"),
            wm=("wm", "sum"),
            wp=("wp", "sum"),
        )
        .reset_index()
    )
    g[C.MINUTES] = np.where(g["wp"] > 0, g["wm"] / g["wp"].where(g["wp"] > 0, 1), np.nan)
    g = g.sort_values([C.POP_UNCOVERED, "ix", "iy"], ascending=[False, True, True], kind="stable")
    g = g[g[C.POP_UNCOVERED] > 0].reset_index(drop=True)
    geoms = shapely.box(g["ix"] * cell_m, g["iy"] * cell_m, (g["ix"] + 1) * cell_m, (g["iy"] + 1) * cell_m)
    g.insert(0, C.RANK, np.arange(1, len(g) + 1))
    g.insert(0, C.GAP_ID, [f"G{r:03d}" for r in g[C.RANK]])
    return gpd.GeoDataFrame(g.drop(columns=["ix", "iy", "wm", "wp"]), geometry=geoms, crs=demand.crs)
