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

    The columns read per tile (the targets' segments and their ends' places, the
    candidates' snaps) are taken out of the tables once, and each tile's streets
    are cut out of the city's matrix by its rows' spans: at city scale the
    per-tile table lookups and sparse indexing cost more than the Dijkstra itself.

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
    cands = _Snaps.of(cand_snaps)
    on = np.flatnonzero(cands.edge >= 0)
    targets = _Snaps.of(target_snaps)
    t_on = np.flatnonzero(targets.edge >= 0)
    nodes_in = _Boxes(xy)  # the nodes, and each end of the targets' segments, found in a box by a sorted x
    t_ends = [_Boxes(xy[ends_of[targets.edge[t_on]]]) for ends_of in (eu, ev)]
    # Every walk from a candidate leaves by an end of its segment, and none is shorter than the straight
    # line: the nodes it reaches lie within the reach of those ends. Tiles go by the candidates' u ends.
    ends = np.stack([xy[eu[cands.edge[on]]], xy[ev[cands.edge[on]]]])
    tile = np.floor(ends[0] / tile_m).astype(np.int64)
    order = np.lexsort((tile[:, 1], tile[:, 0]))
    rows, cols, vals = [], [], []
    bounds = np.flatnonzero(np.any(np.diff(tile[order], axis=0) != 0, axis=1)) + 1
    for group in np.split(order, bounds) if len(order) else []:
        lo, hi = ends[:, group].min(axis=(0, 1)) - reach_m, ends[:, group].max(axis=(0, 1)) + reach_m
        local = nodes_in.within(lo, hi)
        # a target counts when an end of its segment is among the tile's streets (a target sharing a
        # candidate's segment is one of them: the box holds both ends of every candidate's segment)
        near = np.union1d(t_ends[0].within(lo, hi), t_ends[1].within(lo, hi))
        r, c, v = _tile_pairs(graph, local, cands, on[group], targets, t_on[near], (eu, ev, elen), speed, cutoff_s)
        rows.append(r)
        cols.append(c)
        vals.append(v)
    if not rows:
        return sp.csr_matrix((len(cand_snaps), len(target_snaps)))
    return sp.csr_matrix(
        (np.concatenate(vals) + EPS_S, (np.concatenate(rows), np.concatenate(cols))),
        shape=(len(cand_snaps), len(target_snaps)),
    )


class _Boxes:
    """Points found in an axis-aligned box (bounds included) through their x sorted once, not a scan of all."""

    def __init__(self, xy: np.ndarray) -> None:
        self.xy = xy
        self.by_x = np.argsort(xy[:, 0], kind="stable")
        self.x = xy[self.by_x, 0]

    def within(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Positions of the points with ``lo <= xy <= hi``, ascending."""
        at = self.by_x[np.searchsorted(self.x, lo[0], "left") : np.searchsorted(self.x, hi[0], "right")]
        y = self.xy[at, 1]
        return np.sort(at[(y >= lo[1]) & (y <= hi[1])])


@dataclass(frozen=True)
class _Snaps:
    """A snap table's columns as arrays (read once, not once per tile)."""

    edge: np.ndarray
    pos_m: np.ndarray
    offset_m: np.ndarray

    @classmethod
    def of(cls, snaps: pd.DataFrame) -> _Snaps:
        return cls(snaps["edge"].to_numpy(), snaps["pos_m"].to_numpy(), snaps["offset_m"].to_numpy())


def _streets_among(graph: sp.csr_matrix, local: np.ndarray, where: np.ndarray) -> tuple[np.ndarray, ...]:
    """The links of ``graph`` between the ``local`` nodes (sorted), renumbered: as ``graph[local][:, local]``.

    Each row's links are read from its span of the CSR arrays, in their stored order, with no sparse indexing.
    """
    start, stop = graph.indptr[local], graph.indptr[local + 1]
    count = stop - start
    at = np.repeat(start - np.cumsum(count) + count, count) + np.arange(count.sum())
    col = where[graph.indices[at]]
    keep = col >= 0
    return np.repeat(np.arange(len(local)), count)[keep], col[keep], graph.data[at][keep]


def _tile_pairs(graph, local, cands, c_rows, targets, t_rows, edges, speed, cutoff_s):  # noqa: PLR0913, PLR0917
    """(candidate, target, seconds) within the cutoff for one tile, on the streets near it only."""
    eu, ev, elen = edges
    n_l, m = len(local), len(c_rows)
    where = np.full(graph.shape[0], -1)
    where[local] = np.arange(n_l)
    sub_row, sub_col, sub_data = _streets_among(graph, local, where)
    ce = cands.edge[c_rows]
    cp, co = cands.pos_m[c_rows], cands.offset_m[c_rows]
    lu, lv = where[eu[ce]], where[ev[ce]]
    lv = np.where(lv == lu, -1, lv)  # a loop: one way onto it (a sparse matrix would add two up)
    virt = n_l + np.arange(m)
    src = np.concatenate([virt[lu >= 0], virt[lv >= 0]])
    dst = np.concatenate([lu[lu >= 0], lv[lv >= 0]])
    w = np.concatenate([((co + cp) / speed)[lu >= 0], ((co + elen[ce] - cp) / speed)[lv >= 0]])
    # one node more, linked to nothing: its column (n_l + m) is out of reach of every candidate, and stands
    # for a segment end outside the tile
    g = sp.csr_matrix(
        (np.concatenate([sub_data, w]), (np.concatenate([sub_row, src]), np.concatenate([sub_col, dst]))),
        shape=(n_l + m + 1, n_l + m + 1),
    )
    dist = dijkstra(g, indices=virt, limit=cutoff_s)  # (m, n_l + m + 1); parallel entries: csr sums none here
    te = targets.edge[t_rows]
    tp, to = targets.pos_m[t_rows], targets.offset_m[t_rows]
    tu, tv = where[eu[te]], where[ev[te]]
    tu, tv = np.where(tu >= 0, tu, n_l + m), np.where(tv >= 0, tv, n_l + m)
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
