"""Lean siting at city scale: who is still left out, which candidates can reach them, and the coverage matrix.

Walking is symmetric on the prepared network (every segment both ways at the
same time, a point joined to both ends of its segment by the same walk), so the
candidates that reach some resident left out are found by one bounded,
multi-source Dijkstra *from* those residents (``nearest_times``): a candidate
farther than the cutoff from every one of them can never count, and is dropped
before any origin-destination work. The coverage of the candidates that remain
is measured in chunks (``od_table`` per chunk), each chunk going straight into
a ``scipy.sparse`` block: no city-wide long table is ever built.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from analysis import columns as C
from analysis.traveltime import WALK_KMH, _graph, nearest_times, speed_ms
from geo.network import StreetNetwork

__all__ = ["EPS_S", "LeftOut", "coverage_matrix", "left_out", "nearest_corners", "reaching"]

#: Added to every stored time, so a walk of 0 s stays a stored entry of a sparse matrix.
EPS_S = 1e-9


@dataclass(frozen=True)
class LeftOut:
    """The residents still left out, as the siting sees them."""

    rows: np.ndarray  #: their positions in the demand table
    snaps: pd.DataFrame  #: their snap table rows (``geo.snap_points``)
    pop: np.ndarray  #: residents per point
    cutoff_s: float  #: the walk that counts as covered, seconds
    speed_kmh: float  #: walking speed


def left_out(
    demand: gpd.GeoDataFrame, demand_snaps: pd.DataFrame, *, minutes: float, speed_kmh: float = WALK_KMH
) -> LeftOut:
    """The resident points not covered (and with someone living there).

    Parameters
    ----------
    demand
        Resident points with ``pop`` and ``covered``.
    demand_snaps
        ``geo.snap_points(demand, network)``.
    minutes
        The walk in minutes that counts as covered.
    speed_kmh
        Walking speed in km/h.

    Returns
    -------
    LeftOut
        Their positions, snaps and residents, with the cutoff and the speed.
    """
    pop = demand[C.POP].to_numpy(dtype=float)
    rows = np.flatnonzero(~demand[C.COVERED].to_numpy(dtype=bool) & (pop > 0))
    return LeftOut(rows, demand_snaps.iloc[rows], pop[rows], float(minutes) * 60, float(speed_kmh))


def _within(seconds: np.ndarray, limit_s: float) -> np.ndarray:
    """Within the limit, with room for the rounding of a walk summed the other way round."""
    return seconds <= limit_s * (1 + 1e-9) + 1e-9


def reaching(network: StreetNetwork, cand_snaps: pd.DataFrame, left: LeftOut, *, limit_s: float) -> np.ndarray:
    """Which candidates reach at least one resident left out within ``limit_s`` (one multi-source Dijkstra).

    Parameters
    ----------
    network
        The street network.
    cand_snaps
        The candidates' snap table.
    left
        The residents left out.
    limit_s
        The longest walk in seconds.

    Returns
    -------
    numpy.ndarray
        A boolean mask over the candidates.
    """
    if len(left.rows) == 0 or len(cand_snaps) == 0:
        return np.zeros(len(cand_snaps), dtype=bool)
    t = nearest_times(network, left.snaps, cand_snaps, speed_kmh=left.speed_kmh, limit_s=limit_s)
    return _within(t.point_s, limit_s)


def coverage_matrix(
    network: StreetNetwork,
    cand_snaps: pd.DataFrame,
    target_snaps: pd.DataFrame,
    *,
    cutoff_s: float,
    speed_kmh: float = WALK_KMH,
) -> sp.csr_matrix:
    """Seconds from each candidate to each target within ``cutoff_s``, as a sparse candidates x targets matrix.

    Exact, as ``od_table`` (through the ends of the target's segment, or along
    it when a candidate shares it), but local: the candidates go tile by tile
    (square tiles of twice the reach), and each tile's Dijkstra runs on the
    streets within the reach of the tile only (no walk is shorter than the
    straight line, so nothing farther can be reached in time). Each tile's
    pairs go straight into its sparse block. A stored entry is the walk plus
    ``EPS_S`` (so 0 s is kept); an absent entry is out of reach.

    Parameters
    ----------
    network
        The street network.
    cand_snaps, target_snaps
        Snap tables of the candidates (rows) and the targets (columns).
    cutoff_s
        The longest walk in seconds kept.
    speed_kmh
        Walking speed in km/h.

    Returns
    -------
    scipy.sparse.csr_matrix
        Seconds + ``EPS_S`` where in reach.
    """
    speed = speed_ms(speed_kmh)
    reach_m = cutoff_s * speed
    tile_m = max(2 * reach_m, 500.0)
    e = network.edges
    eu, ev, elen = e["u"].to_numpy(), e["v"].to_numpy(), e["length_m"].to_numpy()
    xy = network.nodes[["x", "y"]].to_numpy()
    graph = _graph(network, cand_snaps.iloc[:0], speed).tocsr()
    c_edge = cand_snaps["edge"].to_numpy()
    on = np.flatnonzero(c_edge >= 0)
    t_on = np.flatnonzero(target_snaps["edge"].to_numpy() >= 0)
    # Every walk from a candidate leaves by an end of its segment, and none is shorter than the straight
    # line: the nodes it reaches lie within the reach of those ends. Tiles go by the candidates' u ends.
    ends = np.stack([xy[eu[c_edge[on]]], xy[ev[c_edge[on]]]])
    tile = np.floor(ends[0] / tile_m).astype(np.int64)
    order = np.lexsort((tile[:, 1], tile[:, 0]))
    rows, cols, vals = [], [], []
    bounds = np.flatnonzero(np.any(np.diff(tile[order], axis=0) != 0, axis=1)) + 1
    for group in np.split(order, bounds) if len(order) else []:
        lo, hi = ends[:, group].min(axis=(0, 1)) - reach_m, ends[:, group].max(axis=(0, 1)) + reach_m
        local = np.flatnonzero(np.all((xy >= lo) & (xy <= hi), axis=1))
        r, c, v = _tile_pairs(graph, local, cand_snaps, on[group], target_snaps, t_on, (eu, ev, elen), speed, cutoff_s)
        rows.append(r)
        cols.append(c)
        vals.append(v)
    if not rows:
        return sp.csr_matrix((len(cand_snaps), len(target_snaps)))
    return sp.csr_matrix(
        (np.concatenate(vals) + EPS_S, (np.concatenate(rows), np.concatenate(cols))),
        shape=(len(cand_snaps), len(target_snaps)),
    )


def _tile_pairs(graph, local, cands, c_rows, targets, t_rows, edges, speed, cutoff_s):  # noqa: PLR0913, PLR0917
    """(candidate, target, seconds) within the cutoff for one tile, on the streets near it only."""
    eu, ev, elen = edges
    n_l, m = len(local), len(c_rows)
    where = np.full(graph.shape[0], -1)
    where[local] = np.arange(n_l)
    sub = graph[local][:, local].tocoo()
    ce = cands["edge"].to_numpy()[c_rows]
    cp, co = cands["pos_m"].to_numpy()[c_rows], cands["offset_m"].to_numpy()[c_rows]
    lu, lv = where[eu[ce]], where[ev[ce]]
    lv = np.where(lv == lu, -1, lv)  # a loop: one way onto it (a sparse matrix would add two up)
    virt = n_l + np.arange(m)
    src = np.concatenate([virt[lu >= 0], virt[lv >= 0]])
    dst = np.concatenate([lu[lu >= 0], lv[lv >= 0]])
    w = np.concatenate([((co + cp) / speed)[lu >= 0], ((co + elen[ce] - cp) / speed)[lv >= 0]])
    g = sp.csr_matrix(
        (np.concatenate([sub.data, w]), (np.concatenate([sub.row, src]), np.concatenate([sub.col, dst]))),
        shape=(n_l + m, n_l + m),
    )
    dist = dijkstra(g, indices=virt, limit=cutoff_s)  # (m, n_l + m); parallel entries: csr sums none here
    dist = np.hstack([dist[:, :n_l], np.full((m, 1), np.inf)])  # column n_l: a segment end outside the tile
    te_all = targets["edge"].to_numpy()[t_rows]
    near = (where[eu[te_all]] >= 0) | (where[ev[te_all]] >= 0) | np.isin(te_all, ce)
    t_rows, te = t_rows[near], te_all[near]
    tp, to = targets["pos_m"].to_numpy()[t_rows], targets["offset_m"].to_numpy()[t_rows]
    tu, tv = where[eu[te]], where[ev[te]]
    tu, tv = np.where(tu >= 0, tu, n_l), np.where(tv >= 0, tv, n_l)
    secs = np.minimum(dist[:, tu] + tp / speed, dist[:, tv] + (elen[te] - tp) / speed) + to / speed
    same = ce[:, None] == te[None, :]
    if same.any():
        direct = (np.abs(cp[:, None] - tp[None, :]) + co[:, None] + to[None, :]) / speed
        secs = np.where(same, np.minimum(secs, direct), secs)
    r, c = np.nonzero(secs <= cutoff_s)
    return c_rows[r], t_rows[c], secs[r, c]


def nearest_corners(network: StreetNetwork, left: LeftOut, missed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each missed resident, the street corner (node) nearest it along its street, when within the cutoff.

    A resident's walk to any node passes an end of its own segment, so when
    neither end is within the cutoff no street corner covers it.

    Parameters
    ----------
    network
        The street network.
    left
        The residents left out.
    missed
        Positions (in ``left``) of the residents no candidate reaches.

    Returns
    -------
    tuple of numpy.ndarray
        The nodes (positions in ``network.nodes``, unique), and a mask over ``missed``:
        reachable by some street corner.
    """
    snaps = left.snaps.iloc[missed]
    edge = snaps["edge"].to_numpy()
    on = edge >= 0
    e = network.edges
    speed = speed_ms(left.speed_kmh)
    pos, off = snaps["pos_m"].to_numpy()[on], snaps["offset_m"].to_numpy()[on]
    length = e["length_m"].to_numpy()[edge[on]]
    t_u, t_v = (off + pos) / speed, (off + length - pos) / speed
    node = np.where(t_u <= t_v, e["u"].to_numpy()[edge[on]], e["v"].to_numpy()[edge[on]])
    near = np.minimum(t_u, t_v) <= left.cutoff_s - 1e-6
    reachable = np.zeros(len(missed), dtype=bool)
    reachable[np.flatnonzero(on)[near]] = True
    return np.unique(node[near]), reachable
