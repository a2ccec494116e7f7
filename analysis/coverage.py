"""Who is covered: walking minutes from every resident point to the nearest facility."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from analysis import columns as C
from analysis.traveltime import WALK_KMH, nearest_times
from geo.network import StreetNetwork

__all__ = ["nearest_facility", "summarize"]


def nearest_facility(
    network: StreetNetwork,
    facilities: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    facility_snaps: pd.DataFrame,
    demand_snaps: pd.DataFrame,
    *,
    minutes: float = 15,
    speed_kmh: float = WALK_KMH,
) -> gpd.GeoDataFrame:
    """A copy of ``demand`` with ``minutes``, ``nearest_facility`` and ``covered``.

    ``minutes`` is NaN (and ``covered`` False) where no facility can be reached:
    the point is off the network, or no facility is on its part of it.
    """
    t = nearest_times(network, facility_snaps, demand_snaps, speed_kmh=speed_kmh)
    out = demand.copy()
    mins = t.point_s / 60
    out[C.MINUTES] = np.where(np.isfinite(mins), mins, np.nan)
    fid = facilities.index.to_numpy()
    out[C.NEAREST] = np.where(t.point_source >= 0, fid[np.maximum(t.point_source, 0)], None)
    out[C.COVERED] = (out[C.MINUTES] <= minutes).fillna(False).astype(bool)
    return out


def summarize(demand: gpd.GeoDataFrame) -> dict[str, float]:
    """Headline figures for a covered demand layer: residents total, covered, percent."""
    total = float(demand[C.POP].sum())
    covered = float(demand.loc[demand[C.COVERED], C.POP].sum())
    return {
        "pop_total": total,
        "pop_covered": covered,
        "pop_uncovered": total - covered,
        "pct_covered": 100 * covered / total if total else float("nan"),
        "pop_unreachable": float(demand.loc[demand[C.MINUTES].isna(), C.POP].sum()),
    }
