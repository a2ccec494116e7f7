"""Walking times on a street network with ``scipy.sparse.csgraph``.

Points (facilities, residents) sit on street segments, not on nodes: a point at
``pos_m`` along segment (u, v) of length L, ``offset_m`` from the street, reaches
node u in ``(offset + pos) / speed`` and node v in ``(offset + L - pos) / speed``.
Sources enter the graph as extra nodes joined to both ends of their segment, so
one Dijkstra pass gives exact times; targets read their time off the two ends of
their segment, or straight along it when a source shares the segment.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import dijkstra

from analysis.defaults import MODE_SPEEDS_KMH, WALK_KMH  # issue 32: read by the parsers without scipy
from geo.links import street_links_m
from geo.network import StreetNetwork

__all__ = [
    "MODE_SPEEDS_KMH",
    "WALK_KMH",
    "NearestTimes",
    "nearest_times",
    "node_seconds_from",
    "od_table",
    "point_seconds",
    "reach_table",
    "reached_pairs",
    "reached_segments",
    "speed_ms",
]


def speed_ms(speed_kmh: float) -> float:
    """Metres per second from km/h; refuses speeds that are not positive."""
    if not speed_kmh > 0:
        raise ValueError(f"speed must be positive, got {speed_kmh} km/h")
    return speed_kmh / 3.6


@dataclass(frozen=True)
class NearestTimes:
    """Seconds to the nearest source, for every node and every target point."""

    node_s: np.ndarray  #: per node; inf where unreachable
    node_source: np.ndarray  #: per node, position of the nearest source; -1 where unreachable
    point_s: np.ndarray  #: per target point; inf where unreachable or off-network
    point_source: np.ndarray  #: per target point, position of the nearest source; -1 if none


def _shortest(rows: np.ndarray, cols: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parallel links kept once, the shortest (a CSR matrix would add them up), in (row, column) order.

    One sort of a single (row, column) key, then the least weight of each run: 3.6x less CPU than sorting by
    the three arrays at once (7.2 million links at 1M corners), the same arrays to the bit.
    """
    if not len(rows):
        return rows, cols, w
    key = rows.astype(np.int64) * (int(max(rows.max(), cols.max())) + 1) + cols
    order = np.argsort(key, kind="stable")
    key = key[order]
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    starts = np.flatnonzero(first)
    return rows[order[starts]], cols[order[starts]], np.minimum.reduceat(w[order], starts)


def _segment_arrays(network: StreetNetwork) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The segments' ``u``, ``v`` and ``length_m`` as arrays, once per network (a column lookup costs)."""
    if "segment_arrays" not in network.derived:
        e = network.edges
        network.derived["segment_arrays"] = (e["u"].to_numpy(), e["v"].to_numpy(), e["length_m"].to_numpy())
    return network.derived["segment_arrays"]


def _street_links(network: StreetNetwork, speed: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Both directions of every segment in seconds, parallel ones shortest, as CSR arrays: once per network and speed.

    ``(indptr, indices, seconds)`` over the network's nodes: each node's links sorted by the node they go to,
    one per pair, the shortest. The very arrays ``_shortest`` then a COO to CSR conversion give (issue 32:
    the links in metres, ``geo.links.street_links_m``, made once per network or kept in its store entry,
    divided by the speed; not a sort of all links by three keys per speed: 1.2 s at a million nodes).
    """
    key = ("street_links", speed)
    if key not in network.derived:
        if "street_links_m" not in network.derived:
            network.derived["street_links_m"] = street_links_m(*_segment_arrays(network), network.n_nodes)
        indptr, indices, metres = network.derived["street_links_m"]
        network.derived[key] = (indptr, indices, metres / speed)
    return network.derived[key]


def _graph(network: StreetNetwork, sources: pd.DataFrame, speed: float) -> sp.csr_matrix:
    """CSR matrix of the network in seconds, with one extra node per source point (its links after the streets')."""
    n, m = network.n_nodes, len(sources)
    u, v, length = _segment_arrays(network)
    virt = n + np.flatnonzero(sources["edge"].to_numpy() >= 0)
    se = sources["edge"].to_numpy()[virt - n].astype(np.int64)
    pos, off = sources["pos_m"].to_numpy()[virt - n], sources["offset_m"].to_numpy()[virt - n]
    length = length[se]
    vrows, vcols, vw = _shortest(
        np.concatenate([virt, virt]),
        np.concatenate([u[se], v[se]]),
        np.concatenate([(off + pos) / speed, (off + length - pos) / speed]),
    )
    indptr, indices, w = _street_links(network, speed)
    vptr = indptr[-1] + np.cumsum(np.bincount(vrows - n, minlength=m))
    return sp.csr_matrix(
        (np.concatenate([w, vw]), np.concatenate([indices, vcols]), np.concatenate([indptr, vptr])),
        shape=(n + m, n + m),
    )


def node_seconds_from(
    network: StreetNetwork,
    sources: pd.DataFrame,
    *,
    speed_kmh: float = WALK_KMH,
    limit_s: float = np.inf,
) -> np.ndarray:
    """Seconds from each source point to every node: an array (sources x nodes), inf beyond ``limit_s``.

    Parameters
    ----------
    network
        The street network.
    sources
        A snap table (``geo.snap_points``); rows off the network get inf everywhere.
    speed_kmh
        Walking speed in km/h.
    limit_s
        The longest walk in seconds looked at.

    Returns
    -------
    numpy.ndarray
        Seconds, shape (sources, nodes).
    """
    speed = speed_ms(speed_kmh)
    graph = _graph(network, sources, speed)
    on = np.flatnonzero(sources["edge"].to_numpy() >= 0)
    out = np.full((len(sources), network.n_nodes), np.inf)
    if len(on):
        out[on] = dijkstra(graph, indices=network.n_nodes + on, limit=limit_s)[:, : network.n_nodes]
    return out


def _through_ends(
    network: StreetNetwork, node_s: np.ndarray, targets: pd.DataFrame, speed: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(targets on the network, their segments, seconds via the u end, via the v end), walk to the street included."""
    edge = targets["edge"].to_numpy()
    on = np.flatnonzero(edge >= 0)
    te = edge[on]
    u, v, length = _segment_arrays(network)
    pos, off = targets["pos_m"].to_numpy()[on], targets["offset_m"].to_numpy()[on]
    via_u = node_s[..., u[te]] + (pos + off) / speed
    via_v = node_s[..., v[te]] + (length[te] - pos + off) / speed
    return on, te, via_u, via_v


def _same_segment(sources: pd.DataFrame, targets: pd.DataFrame, speed: float) -> pd.DataFrame:
    """Every (source, target) pair on the same segment, and the seconds straight along it.

    The walk from the source to its street, along the segment to the target's
    foot, and off the street to the target, with no node in between. Columns
    ``source``, ``target`` (row positions in the snap tables) and ``seconds``,
    in the order of the targets.
    """
    # issue 32: the pairs as an inner merge on ``edge`` lists them (each target in order, its segment's
    # sources in order), found by counting the sources per segment instead of pandas' merge (5 ms of 40 at 100k)
    s_edge, t_edge = sources["edge"].to_numpy(), targets["edge"].to_numpy()
    s_on, t_on = np.flatnonzero(s_edge >= 0), np.flatnonzero(t_edge >= 0)
    by_edge = s_on[np.argsort(s_edge[s_on], kind="stable")]
    size = int(max(s_edge.max(initial=-1), t_edge.max(initial=-1))) + 1
    per_edge = np.bincount(s_edge[s_on], minlength=size)
    first = (np.cumsum(per_edge) - per_edge)[t_edge[t_on]]
    count = per_edge[t_edge[t_on]]
    target = np.repeat(t_on, count)
    within = np.arange(len(target)) - np.repeat(np.cumsum(count) - count, count)
    source = by_edge[np.repeat(first, count) + within]
    s_pos, s_off = sources["pos_m"].to_numpy(), sources["offset_m"].to_numpy()
    t_pos, t_off = targets["pos_m"].to_numpy(), targets["offset_m"].to_numpy()
    walk_m = np.abs(t_pos[target] - s_pos[source]) + t_off[target] + s_off[source]
    return pd.DataFrame({"source": source, "target": target, "seconds": walk_m / speed})


def point_seconds(
    network: StreetNetwork,
    node_s: np.ndarray,
    targets: pd.DataFrame,
    *,
    speed_kmh: float = WALK_KMH,
) -> np.ndarray:
    """Seconds to each target point given seconds at every node (last axis = nodes).

    ``node_s`` may be one row (nodes,) or many (sources, nodes); the result has
    the same leading shape with targets on the last axis. Targets off the
    network get inf. Sources sharing a target's segment are not handled here
    (see ``nearest_times``).

    Parameters
    ----------
    network
        The street network.
    node_s
        Seconds at every node, shape (nodes,) or (sources, nodes).
    targets
        A snap table (``geo.snap_points``).
    speed_kmh
        Walking speed in km/h.

    Returns
    -------
    numpy.ndarray
        Seconds, shape (..., targets).
    """
    on, _, via_u, via_v = _through_ends(network, node_s, targets, speed_ms(speed_kmh))
    out = np.full((*node_s.shape[:-1], len(targets)), np.inf)
    out[..., on] = np.minimum(via_u, via_v)
    return out


def nearest_times(
    network: StreetNetwork,
    sources: pd.DataFrame,
    targets: pd.DataFrame,
    *,
    speed_kmh: float = WALK_KMH,
    limit_s: float = np.inf,
) -> NearestTimes:
    """Seconds from the nearest source to every node and every target, in one multi-source pass.

    Parameters
    ----------
    network
        The street network.
    sources, targets
        Snap tables from ``geo.snap_points``.
    speed_kmh
        Walking speed in km/h.
    limit_s
        The longest walk in seconds looked at; beyond it times are inf.

    Returns
    -------
    NearestTimes
        Seconds and the nearest source, per node and per target.

    Examples
    --------
    >>> from geo import load_sample, snap_points
    >>> net, fac, dem = load_sample()
    >>> t = nearest_times(net, snap_points(fac, net), snap_points(dem, net))
    >>> bool((t.point_s < 15 * 60).mean() > 0.5)
    True
    """
    if "only" in sources and (sources["only"].fillna(-1).to_numpy() >= 0).any():  # issue 30: compound-only
        return _nearest_with_compound_only(network, sources, targets, speed_kmh=speed_kmh, limit_s=limit_s)
    speed = speed_ms(speed_kmh)
    n = network.n_nodes
    graph = _graph(network, sources, speed)
    on = np.flatnonzero(sources["edge"].to_numpy() >= 0)
    if len(on) == 0:
        return NearestTimes(
            np.full(n, np.inf), np.full(n, -1), np.full(len(targets), np.inf), np.full(len(targets), -1)
        )
    dist, _, src = dijkstra(graph, indices=n + on, min_only=True, limit=limit_s, return_predecessors=True)
    node_s, node_source = dist[:n], np.where(src[:n] >= 0, src[:n] - n, -1)
    t_on, te, via_u, via_v = _through_ends(network, node_s, targets, speed)
    point_s = np.full(len(targets), np.inf)
    point_s[t_on] = np.minimum(via_u, via_v)
    # Which end of the segment the time came through tells the source.
    u, v, _ = _segment_arrays(network)
    end = np.where(via_u <= via_v, u[te], v[te])
    point_source = np.full(len(targets), -1)
    point_source[t_on] = node_source[end]
    # A source on the same segment reaches the target straight along it.
    pairs = _same_segment(sources, targets, speed)
    if len(pairs):
        pairs = pairs.sort_values(["target", "seconds"]).drop_duplicates("target")
        tgt, d = pairs["target"].to_numpy(), pairs["seconds"].to_numpy()
        better = (d < point_s[tgt]) & (d <= limit_s)
        point_s[tgt[better]] = d[better]
        point_source[tgt[better]] = pairs["source"].to_numpy()[better]
    point_source[~np.isfinite(point_s)] = -1
    return NearestTimes(node_s=node_s, node_source=node_source, point_s=point_s, point_source=point_source)


def _nearest_with_compound_only(
    network: StreetNetwork, sources: pd.DataFrame, targets: pd.DataFrame, *, speed_kmh: float, limit_s: float
) -> NearestTimes:
    """``nearest_times`` where some sources serve their own compound's residents only (``only`` >= 0).

    The others run as usual; each such compound's own sources then run once more for the targets in it,
    and the nearer wins. Node times (isochrones, reach) are the others' only.
    """
    only = sources["only"].fillna(-1).to_numpy()
    general = sources.assign(edge=np.where(only >= 0, -1, sources["edge"].to_numpy()))
    best = nearest_times(network, general.drop(columns="only"), targets, speed_kmh=speed_kmh, limit_s=limit_s)
    point_s, point_source = best.point_s.copy(), best.point_source.copy()
    t_compound = targets["compound"].to_numpy() if "compound" in targets else np.full(len(targets), -1)
    for c in np.unique(only[only >= 0]):
        mine = np.flatnonzero(t_compound == c)
        if not len(mine):
            continue
        own = sources.assign(edge=np.where(only == c, sources["edge"].to_numpy(), -1)).drop(columns="only")
        t = nearest_times(network, own, targets.iloc[mine], speed_kmh=speed_kmh, limit_s=limit_s)
        better = t.point_s < point_s[mine]
        point_s[mine[better]], point_source[mine[better]] = t.point_s[better], t.point_source[better]
    return NearestTimes(node_s=best.node_s, node_source=best.node_source, point_s=point_s, point_source=point_source)


def reach_table(
    network: StreetNetwork,
    sources: pd.DataFrame,
    *,
    cutoff_s: float,
    speed_kmh: float = WALK_KMH,
    max_cells: int = 2_000_000,
) -> pd.DataFrame:
    """Every node each source reaches within ``cutoff_s``, as a long table.

    Columns ``source`` (row position in ``sources``), ``node`` (node position)
    and ``seconds``, sorted by source then node. Sources run through Dijkstra in
    chunks of at most ``max_cells`` matrix cells, so memory stays bounded
    however many sources there are (small chunks are also faster: the dense
    block is reused instead of faulting in fresh pages).

    Parameters
    ----------
    network
        The street network.
    sources
        A snap table (``geo.snap_points``).
    cutoff_s
        The longest walk in seconds.
    speed_kmh
        Walking speed in km/h.
    max_cells
        The most matrix cells (sources x nodes) in one Dijkstra chunk.

    Returns
    -------
    pandas.DataFrame
        ``source``, ``node``, ``seconds``.

    Examples
    --------
    >>> from geo import load_sample, snap_points
    >>> net, fac, _ = load_sample()
    >>> tab = reach_table(net, snap_points(fac, net), cutoff_s=300)
    >>> list(tab.columns), bool(tab["seconds"].max() <= 300)
    (['source', 'node', 'seconds'], True)
    """
    speed = speed_ms(speed_kmh)
    graph = _graph(network, sources, speed)
    on = np.flatnonzero(sources["edge"].to_numpy() >= 0)
    parts = []
    for rows, nodes, sub, starts in _local_graphs(network, graph, sources, on, cutoff_s * speed):
        chunk = max(1, max_cells // sub.shape[0])
        for start in range(0, len(rows), chunk):
            some = np.arange(start, min(start + chunk, len(rows)))
            dist = dijkstra(sub, indices=starts[some], limit=cutoff_s)[:, : len(nodes)]
            r, c = np.nonzero(dist <= cutoff_s)
            parts.append((rows[some][r], nodes[c], dist[r, c]))
    if not parts:
        return pd.DataFrame({"source": np.empty(0, np.int64), "node": np.empty(0, np.int64), "seconds": []})
    src, node, secs = (np.concatenate(part) for part in zip(*parts, strict=True))
    order = np.lexsort((node, src))
    return pd.DataFrame({"source": src[order], "node": node[order], "seconds": secs[order]})


def _node_xy(network: StreetNetwork) -> np.ndarray:
    """The nodes' coordinates (n, 2), once per network."""
    if "node_xy" not in network.derived:
        nodes = network.nodes
        xy = nodes[["x", "y"]].to_numpy(dtype=float) if {"x", "y"} <= set(nodes.columns) else None
        network.derived["node_xy"] = xy if xy is not None else shapely.get_coordinates(nodes.geometry.to_numpy())
    return network.derived["node_xy"]


def _stretch(network: StreetNetwork) -> float:
    """How much farther apart a segment's two nodes can be than its length (1 when none is; inf if unknown).

    A walk of ``d`` metres then stays within ``d`` times this of where it began, as the crow flies.
    """
    if "stretch" not in network.derived:
        e, xy = network.edges, _node_xy(network)
        u, v, length = e["u"].to_numpy(), e["v"].to_numpy(), e["length_m"].to_numpy(dtype=float)
        apart = np.hypot(*(xy[u] - xy[v]).T)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(apart > 0, apart / length, 1.0)
        network.derived["stretch"] = (
            float(max(1.0, np.nanmax(ratio, initial=1.0))) if np.isfinite(ratio).all() else np.inf
        )
    return network.derived["stretch"]


#: Sources are walked in tiles of this many reaches a side: each tile on the part of the network it can reach.
_TILE_REACHES = 2.0
#: Networks smaller than this are walked whole (a town's tiles would save nothing).
_LOCAL_FROM_NODES = 20_000


def _local_graphs(
    network: StreetNetwork, graph: sp.csr_matrix, sources: pd.DataFrame, on: np.ndarray, reach_m: float
) -> list[tuple[np.ndarray, np.ndarray, sp.csr_matrix, np.ndarray]]:
    """The sources ``on`` in tiles, each with the nodes it can reach and their graph.

    Each tile is (its sources, its nodes, their graph, the sources' rows in that graph).

    A walk of ``reach_m`` from a source on segment (u, v) goes through u or v and stays within ``reach_m``
    (times ``_stretch``) of it as the crow flies, as does every walk on the way: so the shortest walks
    within ``reach_m`` are all inside the box around the tile's segments' ends grown by that much, and
    Dijkstra on that box's graph gives the very same seconds (issue 32: not a city's million nodes per
    facility). The graph holds the box's nodes, then the tile's sources (as ``_graph`` adds them).
    """
    n = network.n_nodes
    if not len(on):
        return []
    stretch = _stretch(network)
    if not np.isfinite(stretch) or not np.isfinite(reach_m) or n < _LOCAL_FROM_NODES:  # the whole network
        return [(on, np.arange(n), graph, n + on)]
    grow = reach_m * stretch * (1 + 1e-9) + 1.0
    xy = _node_xy(network)
    e = network.edges
    se = sources["edge"].to_numpy()[on].astype(np.int64)
    ends = np.stack([xy[e["u"].to_numpy()[se]], xy[e["v"].to_numpy()[se]]])  # (2, sources, 2)
    lo, hi = ends.min(axis=0), ends.max(axis=0)
    side = _TILE_REACHES * grow
    origin = np.nanmin(xy, axis=0)
    tile = np.floor((lo - origin) / side).astype(np.int64)
    key = tile[:, 0] * (1 << 32) + tile[:, 1]
    order = np.argsort(key, kind="stable")
    cuts = np.flatnonzero(np.diff(key[order])) + 1
    # The nodes in cells of ``grow`` a side, to find a box's nodes without looking at every node.
    finite = np.isfinite(xy).all(axis=1)[:, None]
    cell = np.where(finite, np.floor((np.where(finite, xy, origin) - origin) / grow), -1).astype(np.int64)
    ncols, top = int(cell[:, 0].max(initial=0)) + 1, int(cell[:, 1].max(initial=0))
    ckey = np.where((cell >= 0).all(axis=1), cell[:, 1] * ncols + cell[:, 0], -1)
    by_cell = np.argsort(ckey, kind="stable")
    sorted_key = ckey[by_cell]
    indptr, indices, data = graph.indptr, graph.indices, graph.data
    local = np.full(graph.shape[0], -1, dtype=np.int64)
    out = []
    for group in np.split(order, cuts):
        rows = on[group]
        box_lo, box_hi = lo[group].min(axis=0) - grow, hi[group].max(axis=0) + grow
        c0 = np.maximum(np.floor((box_lo - origin) / grow).astype(np.int64), 0)
        c1 = np.minimum(np.floor((box_hi - origin) / grow).astype(np.int64), [ncols - 1, top])
        found = [
            by_cell[
                np.searchsorted(sorted_key, y * ncols + c0[0]) : np.searchsorted(sorted_key, y * ncols + c1[0], "right")
            ]
            for y in range(c0[1], c1[1] + 1)
        ]
        cand = np.concatenate(found) if found else np.empty(0, np.int64)
        p = xy[cand]
        nodes = np.sort(cand[((p >= box_lo) & (p <= box_hi)).all(axis=1)])
        keep = np.r_[nodes, n + rows]
        local[keep] = np.arange(len(keep))
        starts, stops = indptr[keep], indptr[keep + 1]
        count = stops - starts
        at = np.repeat(starts - np.cumsum(count) + count, count) + np.arange(count.sum())
        col = local[indices[at]]
        inside = col >= 0
        row = np.repeat(np.arange(len(keep)), count)[inside]
        sub = sp.csr_matrix((data[at][inside], (row, col[inside])), shape=(len(keep), len(keep)))
        local[keep] = -1
        out.append((rows, nodes, sub, len(nodes) + np.arange(len(rows))))
    return out


def _node_edges(network: StreetNetwork) -> tuple[np.ndarray, np.ndarray]:
    """Node -> incident segments as CSR arrays (pointer per node, segment ids)."""
    e = network.edges
    ends = np.concatenate([e["u"].to_numpy(), e["v"].to_numpy()])
    seg = np.concatenate([np.arange(len(e)), np.arange(len(e))])
    order = np.argsort(ends, kind="stable")
    ptr = np.zeros(network.n_nodes + 1, dtype=np.int64)
    np.add.at(ptr, ends + 1, 1)
    return np.cumsum(ptr), seg[order]


def reached_segments(network: StreetNetwork, reach: pd.DataFrame) -> pd.DataFrame:
    """(source, edge, tu, tv): every segment with a reached end, and the seconds at both its ends.

    ``reach`` is a ``reach_table``; ``tu``/``tv`` are inf at an end not reached.
    """
    ptr, seg = _node_edges(network)
    src, node = reach["source"].to_numpy(), reach["node"].to_numpy()
    count = ptr[node + 1] - ptr[node]
    pair_src = np.repeat(src, count)
    offsets = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    pair_edge = seg[np.repeat(ptr[node], count) + offsets]
    n_edges = len(network.edges)
    key = np.unique(pair_src.astype(np.int64) * n_edges + pair_edge)
    pair_src, pair_edge = key // n_edges, key % n_edges
    # Seconds at each end: look (source, node) up in the reach table.
    n = network.n_nodes
    table = src.astype(np.int64) * n + node
    order = np.argsort(table)
    table, secs = table[order], reach["seconds"].to_numpy()[order]

    def lookup(nodes: np.ndarray) -> np.ndarray:
        want = pair_src * n + nodes
        at = np.minimum(np.searchsorted(table, want), len(table) - 1)
        return np.where(table[at] == want, secs[at], np.inf)

    e = network.edges
    return pd.DataFrame(
        {
            "source": pair_src,
            "edge": pair_edge,
            "tu": lookup(e["u"].to_numpy()[pair_edge]),
            "tv": lookup(e["v"].to_numpy()[pair_edge]),
        }
    )


#: The last ``reached_pairs`` answer: (the network, weakly; the question; the pairs). ``run`` asks it twice.
_LAST_PAIRS: tuple = (None, None, None)
_LAST_LOCK = threading.Lock()


def reached_pairs(
    network: StreetNetwork, sources: pd.DataFrame, *, cutoff_s: float, speed_kmh: float = WALK_KMH
) -> pd.DataFrame:
    """``reached_segments`` of ``reach_table``: the segments each source reaches, with the seconds at both ends.

    The last answer is kept: a run's OD table (``od_table``) and its isochrones
    (``analysis.isochrones.facility_isochrones``) ask the same question of the
    same facilities, and the walks from 800 of them over a city cost a second.
    The question is known by the network object and the snap table's content.

    Parameters
    ----------
    network
        The street network.
    sources
        A snap table (``geo.snap_points``).
    cutoff_s
        The longest walk in seconds.
    speed_kmh
        Walking speed in km/h.

    Returns
    -------
    pandas.DataFrame
        ``source``, ``edge``, ``tu``, ``tv`` (see ``reached_segments``); shared with the next caller
        asking the same (pandas copies on write, so a caller's changes stay its own).
    """
    global _LAST_PAIRS
    cols = ["edge", "pos_m", "offset_m", *(["only"] if "only" in sources else [])]  # issue 30: compound-only
    snap = sources[cols].to_numpy(dtype=float)
    question = (float(cutoff_s), float(speed_kmh), snap.shape, hashlib.blake2b(snap.tobytes()).hexdigest())
    with _LAST_LOCK:
        ref, asked, pairs = _LAST_PAIRS
        if ref is not None and ref() is network and asked == question:
            return pairs
    pairs = reached_segments(network, reach_table(network, sources, cutoff_s=cutoff_s, speed_kmh=speed_kmh))
    if "only" in sources and "compounds" in network.derived:  # issue 30: a compound-only facility reaches its own
        pairs = _own_compound(network, sources, pairs)
    with _LAST_LOCK:
        _LAST_PAIRS = (weakref.ref(network), question, pairs)
    return pairs


def _own_compound(network: StreetNetwork, sources: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """``pairs`` of compound-only sources kept on their compound's segments and the streets its gates open on."""
    walls = network.derived["compounds"]
    only = sources["only"].fillna(-1).to_numpy()[pairs["source"].to_numpy()]
    edge = pairs["edge"].to_numpy()
    own = network.edges["compound"].to_numpy()[edge] == only
    gate_edges = walls.gate_snap["edge"].to_numpy()
    for c in np.unique(only[only >= 0]):  # a compound with no street inside is reached through its gates
        streets = gate_edges[(walls.gates["compound"].to_numpy() == c) & (gate_edges >= 0)]
        own |= (only == c) & np.isin(edge, streets)
    return pairs[(only < 0) | own].reset_index(drop=True)


def od_table(
    network: StreetNetwork,
    sources: pd.DataFrame,
    targets: pd.DataFrame,
    *,
    cutoff_s: float,
    speed_kmh: float = WALK_KMH,
) -> pd.DataFrame:
    """Every (source, target) pair within ``cutoff_s``, as a long table: ``source``, ``target``, ``seconds``.

    Sources and targets are snap tables (positions index the rows). Exact, like
    ``nearest_times``: through the ends of the target's segment, or straight
    along it when the source shares the segment. Sparse by construction: only
    segments some source reaches are looked at.

    Parameters
    ----------
    network
        The street network.
    sources, targets
        Snap tables (``geo.snap_points``); rows off the network take part in no pair.
    cutoff_s
        The longest walk in seconds kept.
    speed_kmh
        Walking speed in km/h.

    Returns
    -------
    pandas.DataFrame
        ``source`` and ``target`` (row positions in the snap tables) and ``seconds``,
        one row per pair, sorted by source then target.

    Examples
    --------
    >>> from geo import load_sample, snap_points
    >>> net, fac, dem = load_sample()
    >>> od = od_table(net, snap_points(fac, net), snap_points(dem, net), cutoff_s=300)
    >>> list(od.columns), bool(od["seconds"].max() <= 300)
    (['source', 'target', 'seconds'], True)
    """
    speed = speed_ms(speed_kmh)
    pairs = reached_pairs(network, sources, cutoff_s=cutoff_s, speed_kmh=speed_kmh)
    t_edge = targets["edge"].to_numpy()
    t_on = np.flatnonzero(t_edge >= 0)
    by_edge = pd.DataFrame(
        {
            "edge": t_edge[t_on],
            "target": t_on,
            "pos": targets["pos_m"].to_numpy()[t_on],
            "off": targets["offset_m"].to_numpy()[t_on],
        }
    )
    via = pairs.merge(by_edge, on="edge")
    length = network.edges["length_m"].to_numpy()[via["edge"].to_numpy()]
    pos, off = via["pos"].to_numpy(), via["off"].to_numpy()
    secs = np.minimum(via["tu"].to_numpy() + pos / speed, via["tv"].to_numpy() + (length - pos) / speed) + off / speed
    parts = [pd.DataFrame({"source": via["source"].to_numpy(), "target": via["target"].to_numpy(), "seconds": secs})]
    same = _same_segment(sources, targets, speed)
    if len(same):
        parts.append(same)
    od = pd.concat(parts, ignore_index=True)
    od = od[od["seconds"] <= cutoff_s]
    if "only" in sources:  # issue 30: a compound-only facility serves its own compound's residents only
        only = sources["only"].fillna(-1).to_numpy()[od["source"].to_numpy()]  # NaN: a corner candidate
        home = targets["compound"].to_numpy()[od["target"].to_numpy()] if "compound" in targets else -1
        od = od[(only < 0) | (only == home)]
    od = od.sort_values(["source", "target", "seconds"]).drop_duplicates(["source", "target"])
    return od.reset_index(drop=True)
