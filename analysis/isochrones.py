"""Isochrones from the street segments actually reached, never a convex hull.

Each segment is taken whole when walkers reach all of it in time, cut at the
cutoff when they reach only part of it (from one end or both), then buffered by
a street-side distance and dissolved. Land that no street reaches in time
(across a river, behind a rail line) stays out.

Everything runs on arrays for all facilities at once: the reach table
(facility, node, seconds) is joined to the segments at the reached nodes, the
partial segments are cut in one vectorized pass, and each facility's pieces
become one polygon (``analysis.streetbuffer``: the blocks they enclose, less
their unreached cores, and the buffer of the loose ends).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from analysis import columns as C
from analysis.defaults import STREET_SIDE_M  # issue 32: read by analysis.options without geopandas
from analysis.streetbuffer import blocks_from_faces, face_index, street_buffer, street_buffers_of_blocks
from analysis.traveltime import WALK_KMH, nearest_times, reached_pairs, reached_segments, speed_ms
from geo.faces import NetworkFaces
from geo.network import StreetNetwork

__all__ = ["facility_isochrones", "kept_faces", "merge_isochrones", "nearest_isochrones", "reached_lines", "substrings"]

MIN_HOLE_M2 = 1.0  # holes smaller than this are float noise between buffers
#: Segments per quarter circle in buffers. 2 keeps a 50 m street side within 3.8 m of a true
#: circle (50 x (1 - cos 22.5°)) and makes the unions about 25% faster than 4.
QUAD_SEGS = 2


def substrings(lines: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """The part of each LineString between ``start`` and ``end`` metres along it, all in one pass.

    A vectorized ``shapely.ops.substring`` for ``0 <= start < end <= length``.

    Examples
    --------
    >>> line = shapely.LineString([(0, 0), (10, 0), (10, 10)])
    >>> substrings(np.array([line, line]), np.array([5.0, 0.0]), np.array([15.0, 2.0])).tolist()
    [<LINESTRING (5 0, 10 0, 10 5)>, <LINESTRING (0 0, 2 0)>]
    """
    lines = np.asarray(lines, dtype=object)
    n = len(lines)
    if n == 0:
        return np.empty(0, dtype=object)
    coords, idx = shapely.get_coordinates(lines, return_index=True)
    step = np.hypot(*np.diff(coords, axis=0).T)
    same = idx[1:] == idx[:-1]
    cum = np.concatenate([[0.0], np.cumsum(np.where(same, step, 0.0))])
    first = np.concatenate([[0], np.flatnonzero(~same) + 1])
    cum -= np.repeat(cum[first], np.diff(np.append(first, len(idx))))
    inner = (cum > start[idx]) & (cum < end[idx])
    p0 = shapely.get_coordinates(shapely.line_interpolate_point(lines, start))
    p1 = shapely.get_coordinates(shapely.line_interpolate_point(lines, end))
    line_of = np.concatenate([np.arange(n), idx[inner], np.arange(n)])
    pos = np.concatenate([start, cum[inner], end])
    tie = np.concatenate([np.zeros(n), np.ones(inner.sum()), np.full(n, 2.0)])
    order = np.lexsort((tie, pos, line_of))
    xy = np.concatenate([p0, coords[inner], p1])[order]
    return shapely.linestrings(xy, indices=line_of[order])


def _cut(
    network: StreetNetwork,
    pairs: pd.DataFrame | dict[str, np.ndarray],
    cutoff_s: float,
    speed: float,
    *,
    spans: bool = False,
) -> tuple[np.ndarray, ...]:
    """Pieces of segments reached within ``cutoff_s`` from their ends: (geometries, source of each).

    ``spans``: also each piece's segment and where it starts and ends along it (metres).
    """
    edge = np.asarray(pairs["edge"])  # a DataFrame, or its columns' arrays (``_buffer_by_faces``)
    tu, tv, src = np.asarray(pairs["tu"]), np.asarray(pairs["tv"]), np.asarray(pairs["source"])
    length = network.edges["length_m"].to_numpy()[edge]
    geoms = network.edges.geometry.to_numpy()[edge]
    a = np.clip((cutoff_s - tu) * speed, 0, length)  # metres walked in from u
    b = np.clip((cutoff_s - tv) * speed, 0, length)  # metres walked in from v
    full = ((tu <= cutoff_s) | (tv <= cutoff_s)) & (a + b >= length)
    head = ~full & (a > 0)
    tail = ~full & (b > 0)
    pieces = np.concatenate(
        [
            geoms[full],
            substrings(geoms[head], np.zeros(head.sum()), a[head]),
            substrings(geoms[tail], length[tail] - b[tail], length[tail]),
        ]
    )
    sources = np.concatenate([src[full], src[head], src[tail]])
    if not spans:
        return pieces, sources
    start = np.concatenate([np.zeros(full.sum()), np.zeros(head.sum()), length[tail] - b[tail]])
    end = np.concatenate([length[full], a[head], length[tail]])
    return pieces, sources, np.concatenate([edge[full], edge[head], edge[tail]]), start, end


def _own_pieces(
    network: StreetNetwork,
    points: np.ndarray,
    snaps: pd.DataFrame,
    cutoff_s: float,
    speed: float,
    *,
    spans: bool = False,
) -> tuple[np.ndarray, ...]:
    """The walk from each facility to its street, and along its own segment both ways.

    ``spans``: also each piece's segment (-1 for the walk to the street) and where it starts and ends along it.
    """
    on = np.flatnonzero(snaps["edge"].to_numpy() >= 0)
    edge = snaps["edge"].to_numpy()[on]
    pos, off = snaps["pos_m"].to_numpy()[on], snaps["offset_m"].to_numpy()[on]
    lines = network.edges.geometry.to_numpy()[edge]
    length = network.edges["length_m"].to_numpy()[edge]
    reach_m = cutoff_s * speed
    at_street = shapely.line_interpolate_point(lines, pos)
    access = shapely.linestrings(
        np.stack([shapely.get_coordinates(points[on]), shapely.get_coordinates(at_street)], axis=1)
    )
    walk = np.minimum(off, reach_m)
    has_access = walk > 0
    r = reach_m - off
    along = r > 0
    own = substrings(
        lines[along], np.maximum(0.0, pos[along] - r[along]), np.minimum(length[along], pos[along] + r[along])
    )
    acc = substrings(access[has_access], np.zeros(has_access.sum()), walk[has_access])
    sources = np.concatenate([on[has_access], on[along]])
    if not spans:
        return np.concatenate([acc, own]), sources
    n_acc = int(has_access.sum())
    start = np.concatenate([np.zeros(n_acc), np.maximum(0.0, pos[along] - r[along])])
    end = np.concatenate([walk[has_access], np.minimum(length[along], pos[along] + r[along])])
    return np.concatenate([acc, own]), sources, np.concatenate([np.full(n_acc, -1), edge[along]]), start, end


def _drop_slivers(geoms: np.ndarray) -> np.ndarray:
    """Remove holes smaller than MIN_HOLE_M2; real holes (unreached blocks, water) stay.

    On arrays: every ring of the geometries that have a sliver, the small holes left out, the polygons built
    again from the rings kept (a shell first, then its holes) and grouped back into their geometries.
    """
    out = np.asarray(geoms, dtype=object).copy()
    fix = _with_slivers(out)
    if len(fix) == 0:
        return out
    parts, of_fix = shapely.get_parts(out[fix], return_index=True)
    solid = (shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)  # polygons, as before
    parts, of_fix = parts[solid], of_fix[solid]
    rings, of_part = shapely.get_rings(parts, return_index=True)  # each part's shell, then its holes
    keep = _shells(of_part) | (shapely.area(shapely.polygons(rings)) >= MIN_HOLE_M2)
    polys = shapely.polygons(rings[keep], indices=of_part[keep])
    counts = np.bincount(of_fix, minlength=len(fix))
    multi = shapely.multipolygons(polys, indices=of_fix)
    out[fix] = np.where(counts > 1, multi, polys[np.searchsorted(of_fix, np.arange(len(fix)))])
    return out


def _with_slivers(geoms: np.ndarray) -> np.ndarray:
    """Indices of the geometries with a hole smaller than MIN_HOLE_M2 (found on arrays, no Python loop)."""
    if len(geoms) == 0:
        return np.empty(0, dtype=np.int64)
    parts, of_geom = shapely.get_parts(geoms, return_index=True)
    holed = np.flatnonzero(shapely.get_num_interior_rings(parts) > 0)
    if len(holed) == 0:
        return np.empty(0, dtype=np.int64)
    rings, of_holed = shapely.get_rings(parts[holed], return_index=True)  # each part's shell, then its holes
    small = ~_shells(of_holed) & (shapely.area(shapely.polygons(rings)) < MIN_HOLE_M2)
    return np.unique(of_geom[holed[of_holed[small]]])


def _shells(of_part: np.ndarray) -> np.ndarray:
    """Which of ``shapely.get_rings``' rings are shells: the first ring of each part."""
    shell = np.ones(len(of_part), dtype=bool)
    shell[1:] = of_part[1:] != of_part[:-1]
    return shell


def _threads() -> int:
    """Threads for GEOS work: ``OMP_NUM_THREADS`` when set, else every core.

    A dask worker's nanny sets it to 1: the machine's cores are shared with the other workers (``batch``).
    """
    try:
        return max(1, int(os.environ["OMP_NUM_THREADS"]))
    except (KeyError, ValueError):
        return os.cpu_count() or 1


def _buffer(lines: np.ndarray, street_side_m: float) -> np.ndarray:
    """Buffer many lines, split over all cores (GEOS releases the GIL)."""
    workers = _threads()
    if workers <= 1 or len(lines) < 10_000:
        return shapely.buffer(lines, street_side_m, quad_segs=QUAD_SEGS)
    with ThreadPoolExecutor(workers) as pool:
        parts = pool.map(
            lambda a: shapely.buffer(a, street_side_m, quad_segs=QUAD_SEGS), np.array_split(lines, workers)
        )
        return np.concatenate(list(parts))


def _each(work: Callable[[np.ndarray], shapely.Geometry], groups: list[np.ndarray]) -> list[shapely.Geometry]:
    """``work`` on each group, on all cores (GEOS releases the GIL)."""
    workers = min(len(groups), _threads())
    if workers <= 1:
        return [work(g) for g in groups]
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(work, groups))


def _union(geoms: np.ndarray) -> shapely.Geometry:
    """The union of many polygons: spatially sorted chunks united in parallel, then together."""
    geoms = np.asarray(geoms, dtype=object)
    chunks = _threads()
    if chunks <= 1 or len(geoms) < 4 * chunks:
        return shapely.union_all(geoms)
    order = np.argsort(shapely.get_x(shapely.centroid(geoms)), kind="stable")
    return shapely.union_all(np.asarray(_each(shapely.union_all, np.array_split(geoms[order], chunks)), dtype=object))


def _buffer_by_source(pieces: np.ndarray, source: np.ndarray, n_sources: int, street_side_m: float) -> np.ndarray:
    """One polygon per source: the land within ``street_side_m`` of its pieces (``street_buffer``)."""
    out = np.array([shapely.Polygon()] * n_sources, dtype=object)
    if len(pieces) == 0:
        return out
    order = np.argsort(source, kind="stable")
    present, first = np.unique(source[order], return_index=True)
    groups = np.split(pieces[order], first[1:])
    out[present] = _each(lambda lines: street_buffer(lines, street_side_m, quad_segs=QUAD_SEGS), groups)
    return _drop_slivers(out)


def _buffer_by_faces(
    network: StreetNetwork,
    faces: NetworkFaces,
    pairs: pd.DataFrame,
    own: tuple[np.ndarray, ...],
    *,
    cutoff_s: float,
    speed: float,
    n_sources: int,
    street_side_m: float,
) -> np.ndarray:
    """``_buffer_by_source`` with the blocks looked up among the network's kept ``faces`` (issue 32: iso-faces).

    ``pairs``: the segments reached (``reached_pairs``), cut at ``cutoff_s`` here; ``own``: each facility's walk to
    its street and along it (``_own_pieces``, ``spans``). The walks are made in runs of ``FACES_RUN`` on all
    threads, each run cut, looked up and assembled on arrays (issue 32: iso-margin).
    """
    out = np.array([shapely.Polygon()] * n_sources, dtype=object)
    src = pairs["source"].to_numpy()
    present = np.unique(np.concatenate([src, own[1]]))
    if not len(present):
        return out
    pair_order = np.argsort(src, kind="stable")
    pair_src = src[pair_order]
    own_order = np.argsort(own[1], kind="stable")
    own_src = own[1][own_order]
    columns = {k: pairs[k].to_numpy() for k in ("edge", "tu", "tv", "source")}
    face_index(faces)  # made once, before the threads share it

    def work(walks: np.ndarray) -> np.ndarray:  # a run of walks, all at once
        ends = [walks[0], walks[-1] + 1]
        rows = np.sort(pair_order[slice(*np.searchsorted(pair_src, ends))])
        mine = np.sort(own_order[slice(*np.searchsorted(own_src, ends))])
        cut = _cut(network, {k: v[rows] for k, v in columns.items()}, cutoff_s, speed, spans=True)
        pieces, source, edge, start, end = (np.concatenate([a, b[mine]]) for a, b in zip(cut, own, strict=True))
        blocks, loose, loose_source = blocks_from_faces(faces, pieces, source, edge=edge, start_m=start, end_m=end)
        order = np.argsort(source, kind="stable")
        loose_order = np.argsort(loose_source, kind="stable")
        polys = street_buffers_of_blocks(
            faces,
            [blocks[w] for w in walks],
            (pieces[order], np.searchsorted(walks, source[order])),
            (loose[loose_order], np.searchsorted(walks, loose_source[loose_order])),
            street_side_m,
            quad_segs=QUAD_SEGS,
        )
        return _drop_slivers(polys)

    runs = np.array_split(present, min(len(present), max(_threads(), -(-len(present) // FACES_RUN))))
    out[present] = np.concatenate(_each(work, runs))
    return out


#: Walks made at once by ``_buffer_by_faces``: runs of this many split over the threads (small: a thread the
#: machine holds back leaves the others less to wait for at the end; 16 cost no more CPU than 50 or 100).
FACES_RUN = 16


def kept_faces(network: StreetNetwork) -> NetworkFaces | None:
    """The network's faces kept in its store entry (read on first use), or None: an entry written before."""
    faces = network.derived.get("faces")
    if callable(faces):
        faces = faces()
        network.derived["faces"] = faces
    if faces is not None and faces.n_edges != len(network.edges):  # not this network's: never expected
        return None
    return faces


def reached_lines(
    network: StreetNetwork,
    node_s: np.ndarray,
    cutoff_s: float,
    *,
    speed_kmh: float = WALK_KMH,
) -> np.ndarray:
    """The parts of street segments reached within ``cutoff_s`` given seconds at every node.

    Parameters
    ----------
    network
        The street network.
    node_s
        Seconds at every node (inf where not reached).
    cutoff_s
        The walk in seconds.
    speed_kmh
        Walking speed in km/h.

    Returns
    -------
    numpy.ndarray
        LineStrings: whole segments, and the reached ends of segments only partly walked in time.
    """
    reached = np.flatnonzero(np.isfinite(node_s))
    reach = pd.DataFrame({"source": np.zeros(len(reached), np.int64), "node": reached, "seconds": node_s[reached]})
    pieces, _ = _cut(network, reached_segments(network, reach), cutoff_s, speed_ms(speed_kmh))
    return pieces


def facility_isochrones(
    network: StreetNetwork,
    facilities: gpd.GeoDataFrame,
    snaps: pd.DataFrame,
    *,
    minutes: Sequence[float] = (15,),
    speed_kmh: float = WALK_KMH,
    street_side_m: float = STREET_SIDE_M,
    use_faces: bool = True,
) -> gpd.GeoDataFrame:
    """One isochrone polygon per facility and threshold.

    Parameters
    ----------
    network
        The street network.
    facilities
        Facility points in ``network.crs``.
    snaps
        ``geo.snap_points(facilities, network)``.
    minutes
        Thresholds in minutes; bands nest (the 10-minute polygon lies inside the 15-minute one).
    speed_kmh
        Walking speed in km/h.
    street_side_m
        How far in metres either side of a reached street the polygon reaches.
    use_faces
        Look each walk's blocks up among the network's faces where its store entry keeps them (``kept_faces``);
        False: find them per facility (the same land; the tests compare the two).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``facility_id``, ``band_min``, ``geometry``, sorted by band then
        facility; facilities off the network get no rows.
    """
    speed = speed_ms(speed_kmh)
    bands = sorted(float(m) for m in minutes)
    pairs = reached_pairs(network, snaps, cutoff_s=bands[-1] * 60, speed_kmh=speed_kmh)
    points = facilities.geometry.to_numpy()
    on = np.flatnonzero(snaps["edge"].to_numpy() >= 0)
    faces = kept_faces(network) if use_faces else None
    frames, prev = [], None
    for band in bands:
        cutoff_s = band * 60
        if faces is not None:  # issue 32: the blocks among the network's kept faces
            own = _own_pieces(network, points, snaps, cutoff_s, speed, spans=True)
            polys = _buffer_by_faces(
                network,
                faces,
                pairs,
                own,
                cutoff_s=cutoff_s,
                speed=speed,
                n_sources=len(snaps),
                street_side_m=street_side_m,
            )
        else:
            pieces, source = _cut(network, pairs, cutoff_s, speed)
            own, own_source = _own_pieces(network, points, snaps, cutoff_s, speed)
            polys = _buffer_by_source(
                np.concatenate([pieces, own]), np.concatenate([source, own_source]), len(snaps), street_side_m
            )
        if prev is not None:  # buffers are polygons inscribed in circles: make the nesting exact
            polys = shapely.union(polys, prev)
        prev = polys
        frames.append(pd.DataFrame({C.FACILITY_ID: snaps.index[on], C.BAND_MIN: band, "geometry": polys[on]}))
    rows = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=[C.FACILITY_ID, C.BAND_MIN, "geometry"])
    )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=network.crs)


def merge_isochrones(isochrones: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The combined reach of all facilities, one polygon per threshold."""
    bands = sorted(isochrones[C.BAND_MIN].unique())
    merged = [_union(isochrones.loc[isochrones[C.BAND_MIN] == b].geometry.values) for b in bands]
    return gpd.GeoDataFrame(
        {C.BAND_MIN: bands}, geometry=_drop_slivers(np.asarray(merged, dtype=object)), crs=isochrones.crs
    )


def _split_cut(
    network: StreetNetwork, node_s: np.ndarray, node_source: np.ndarray, cutoff_s: float, speed: float
) -> tuple[np.ndarray, np.ndarray]:
    """Pieces reached within ``cutoff_s``, each given to the facility that reaches it first.

    Where two facilities reach a segment from its two ends, it splits where their
    times meet.
    """
    e = network.edges
    u, v, length = e["u"].to_numpy(), e["v"].to_numpy(), e["length_m"].to_numpy()
    tu, tv, su, sv = node_s[u], node_s[v], node_source[u], node_source[v]
    with np.errstate(invalid="ignore"):
        a = np.nan_to_num(np.clip((cutoff_s - tu) * speed, 0, length), nan=0.0)
        b = np.nan_to_num(np.clip((cutoff_s - tv) * speed, 0, length), nan=0.0)
        meet = np.clip((length + (tv - tu) * speed) / 2, 0, length)
    both = (tu <= cutoff_s) & (tv <= cutoff_s)
    shared = both & (su == sv) & (a + b >= length)
    split = both & (su != sv)
    head_end = np.where(split, np.minimum(a, meet), a)
    tail_start = np.where(split, np.maximum(length - b, meet), length - b)
    head = ~shared & (head_end > 0)
    tail = ~shared & (tail_start < length) & (tv <= cutoff_s)
    geoms = e.geometry.to_numpy()
    pieces = np.concatenate(
        [
            geoms[shared],
            substrings(geoms[head], np.zeros(head.sum()), head_end[head]),
            substrings(geoms[tail], tail_start[tail], length[tail]),
        ]
    )
    return pieces, np.concatenate([su[shared], su[head], sv[tail]])


def _partition(region: shapely.Geometry, pieces: np.ndarray, source: np.ndarray, spacing_m: float) -> dict:
    """Split ``region`` among sources: each place goes to the source whose street pieces are nearest.

    Points every ``spacing_m`` along the pieces seed a Voronoi diagram; the
    cells are dissolved by source (a coverage union) and clipped to the region.
    """
    dense = shapely.segmentize(pieces, spacing_m)
    xy, idx = shapely.get_coordinates(dense, return_index=True)
    xy, first = np.unique(np.round(xy, 3), axis=0, return_index=True)  # shared ends: first piece wins
    label = source[idx[first]]
    if len(xy) < 2 or len(np.unique(label)) == 1:
        return {int(label[0]): region} if len(label) else {}
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=region, ordered=True))
    out = {}
    for src in np.unique(label):
        part = shapely.intersection(shapely.coverage_union_all(cells[label == src]), region)
        out[int(src)] = shapely.make_valid(part)
    return out


def nearest_isochrones(
    network: StreetNetwork,
    facilities: gpd.GeoDataFrame,
    snaps: pd.DataFrame,
    *,
    minutes: Sequence[float] = (15,),
    speed_kmh: float = WALK_KMH,
    street_side_m: float = STREET_SIDE_M,
) -> gpd.GeoDataFrame:
    """The combined reach split among facilities: each place belongs to the facility that reaches it first.

    Per threshold, the polygons do not overlap and together make up the merged
    reach of ``merge_isochrones``. Along the streets the split is exact (where
    walking times from two facilities meet); off the street, within the
    street-side buffer, a place goes to the facility of the nearest reached street.

    Parameters
    ----------
    network
        The street network.
    facilities
        Facility points in ``network.crs``.
    snaps
        ``geo.snap_points(facilities, network)``.
    minutes
        Thresholds in minutes.
    speed_kmh
        Walking speed in km/h.
    street_side_m
        How far in metres either side of a reached street the polygons reach.

    Returns
    -------
    geopandas.GeoDataFrame
        ``facility_id``, ``band_min``, ``geometry``; a facility reached first
        nowhere (another one sits closer everywhere it reaches) gets no row.
    """
    speed = speed_ms(speed_kmh)
    bands = sorted(float(m) for m in minutes)
    empty = snaps.iloc[:0]
    nearest = nearest_times(network, snaps, empty, speed_kmh=speed_kmh, limit_s=bands[-1] * 60)
    points = facilities.geometry.to_numpy()
    rows, prev_region = [], None
    for band in bands:
        cutoff_s = band * 60
        pieces, source = _split_cut(network, nearest.node_s, nearest.node_source, cutoff_s, speed)
        own, own_source = _own_pieces(network, points, snaps, cutoff_s, speed)
        pieces, source = np.concatenate([own, pieces]), np.concatenate([own_source, source])
        keep = shapely.length(pieces) > 0
        pieces, source = pieces[keep], source[keep]
        if not len(pieces):
            continue
        region = _drop_slivers(np.array([_union(_buffer(pieces, street_side_m))]))[0]
        if prev_region is not None:
            region = shapely.union(region, prev_region)
        prev_region = region
        for src, geom in _partition(region, pieces, source, street_side_m / 2).items():
            if not geom.is_empty:
                rows.append({C.FACILITY_ID: snaps.index[src], C.BAND_MIN: band, "geometry": geom})
    return gpd.GeoDataFrame(rows, columns=[C.FACILITY_ID, C.BAND_MIN, "geometry"], geometry="geometry", crs=network.crs)
