"""Siting: where the next centre adds the most residents.

A core on a coverage matrix (candidates x resident points) and a thin adapter
that builds the matrix on the street network. Issue 5 adds the exact models
(LSCP, MCLP, p-median with ``scipy.optimize.milp``); here the greedy maximal
coverage heuristic picks ``k`` sites, each the one that adds most residents
not yet covered.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp

from analysis import columns as C
from analysis.traveltime import WALK_KMH, node_seconds_from_nodes, point_seconds
from geo.network import StreetNetwork

__all__ = ["greedy_max_coverage", "grid_candidates", "suggest_sites"]

SPACING_M = 100.0


def greedy_max_coverage(cover: sp.csr_matrix, weight: np.ndarray, k: int) -> list[tuple[int, float]]:
    """Pick up to ``k`` rows of a boolean candidates x points matrix, each adding the most weight.

    Returns ``[(candidate row, weight added), ...]``; stops early when no
    candidate adds anything. Ties go to the lowest row, so runs are repeatable.

    Examples
    --------
    >>> cover = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 1], [0, 0, 1]], dtype=bool))
    >>> greedy_max_coverage(cover, np.array([5.0, 1.0, 4.0]), 2)
    [(0, 6.0), (1, 4.0)]
    """
    cover = sp.csr_matrix(cover, dtype=float)
    left = np.asarray(weight, dtype=float).copy()
    picked: list[tuple[int, float]] = []
    for _ in range(k):
        gain = cover @ left
        best = int(np.argmax(gain))
        if gain[best] <= 0:
            break
        picked.append((best, float(gain[best])))
        left[cover[best].indices] = 0.0
    return picked


def grid_candidates(network: StreetNetwork, *, spacing_m: float = SPACING_M) -> np.ndarray:
    """One network node per ``spacing_m`` grid cell (the one nearest the cell centre), as positions."""
    xy = network.nodes[["x", "y"]].to_numpy()
    cell = np.floor(xy / spacing_m)
    dist = np.hypot(*(xy - (cell + 0.5) * spacing_m).T)
    frame = pd.DataFrame({"cx": cell[:, 0], "cy": cell[:, 1], "d": dist, "node": np.arange(len(xy))})
    return frame.sort_values(["cx", "cy", "d", "node"]).drop_duplicates(["cx", "cy"])["node"].to_numpy()


def suggest_sites(
    network: StreetNetwork,
    demand: gpd.GeoDataFrame,
    demand_snaps: pd.DataFrame,
    *,
    minutes: float = 15,
    speed_kmh: float = WALK_KMH,
    k: int = 1,
    spacing_m: float = SPACING_M,
) -> gpd.GeoDataFrame:
    """Up to ``k`` new sites on network nodes that cover the most residents left out.

    ``demand`` carries ``covered`` (from ``coverage.nearest_facility``). Returns
    one row per site: ``site_id``, ``node`` (OSM id), ``pop_new`` (residents it
    newly covers), ``minutes`` (their resident-weighted mean walk to it) and the
    point.
    """
    columns = ["site_id", "node", C.POP_NEW, C.MINUTES, "geometry"]
    left = ~demand[C.COVERED].to_numpy() & (demand_snaps["edge"].to_numpy() >= 0)
    empty = gpd.GeoDataFrame(columns=columns, geometry="geometry", crs=network.crs)
    if not left.any():
        return empty
    cands = grid_candidates(network, spacing_m=spacing_m)
    cutoff_s = minutes * 60
    node_s = node_seconds_from_nodes(network, cands, speed_kmh=speed_kmh, limit_s=cutoff_s)
    secs = point_seconds(network, node_s, demand_snaps.loc[left], speed_kmh=speed_kmh)
    cover = sp.csr_matrix(secs <= cutoff_s)
    pop = demand.loc[left, C.POP].to_numpy(dtype=float)
    rows, taken = [], np.zeros(len(pop), dtype=bool)
    for i, (c, gain) in enumerate(greedy_max_coverage(cover, pop, k), start=1):
        new = (secs[c] <= cutoff_s) & ~taken
        taken |= new
        node = network.nodes.index[cands[c]]
        rows.append(
            {
                "site_id": f"S{i:02d}",
                "node": node,
                C.POP_NEW: gain,
                C.MINUTES: float(np.average(secs[c][new], weights=pop[new]) / 60) if pop[new].sum() else np.nan,
                "geometry": network.nodes.geometry.iloc[cands[c]],
            }
        )
    return gpd.GeoDataFrame(rows, columns=columns, geometry="geometry", crs=network.crs) if rows else empty
