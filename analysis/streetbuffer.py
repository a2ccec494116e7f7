"""The land within a distance of a set of street lines, built from the blocks they enclose.

The plain way, one buffer per line united in GEOS, spends most of its time noding
hundreds of overlapping buffers. Here the lines are noded once and polygonized:
every block they enclose (a face) is wholly reached, and inside a block the
nearest reached street is on its own edge, so the block's unreached core is its
inward buffer. The reach is then the outward buffer of the blocks' union, less
the cores, plus the buffer of the lines that enclose nothing (dead ends, the
cut ends of the walk). About twice as fast as uniting the lines' buffers, and
the same land: both polygons inscribe the same circles (``quad_segs``), so they
differ by at most that approximation (tests: the Monaco sample, within 4 m).
Every result is checked (no edge may come nearer the lines than a round join's
chords); one that does, from a GEOS buffer slip on a curving street, is made the
plain way instead.
"""

from __future__ import annotations

import weakref

import numpy as np
import shapely

from geo.faces import NetworkFaces

__all__ = [
    "blocks_from_faces",
    "face_index",
    "street_buffer",
    "street_buffer_of_blocks",
    "street_buffers_of_blocks",
]

_POLYGON = 3
#: Leeway in metres for the check of a result's edges: GEOS simplifies a buffer's input by 1/100 of the distance.
_SLACK_M = 1.0
_COLLECTION = 7


def street_buffer(lines: np.ndarray, distance_m: float, *, quad_segs: int) -> shapely.Geometry:
    """Everything within ``distance_m`` of ``lines``: a (Multi)Polygon, empty when there are no lines.

    Parameters
    ----------
    lines
        LineStrings (street segments or pieces of them, in metres).
    distance_m
        The buffer distance.
    quad_segs
        Segments per quarter circle of the round ends and corners.

    Returns
    -------
    shapely.Geometry
        The union of the lines' buffers.

    Examples
    --------
    >>> square = shapely.LineString([(0, 0), (300, 0), (300, 300), (0, 300), (0, 0)])
    >>> reach = street_buffer(np.array([square]), 50, quad_segs=2)
    >>> len(reach.interiors), round(shapely.Polygon(reach.interiors[0]).area)
    (1, 40000)
    """
    lines = np.asarray(lines, dtype=object)
    if len(lines) == 0:
        return shapely.Polygon()
    noded = shapely.union_all(lines)  # crossings become nodes, shared and repeated pieces merge
    fast = _by_blocks(noded, distance_m, quad_segs)
    if _honest(fast, noded, distance_m, quad_segs):
        return fast
    return shapely.union_all(shapely.buffer(lines, distance_m, quad_segs=quad_segs))


def _by_blocks(noded: shapely.Geometry, distance_m: float, quad_segs: int) -> shapely.Geometry:
    """The buffer of noded lines: the blocks' outward buffer, less their cores, plus the loose lines' buffer.

    The loose lines' buffer is united with the outward buffer before the cores are taken out, as holes (no
    overlay): that union then meets only the outline, not every core's ring. A core that a loose line's buffer
    reaches into (a dead end or the walk from the facility inside a block) is taken out before, by an overlay.
    """
    faces, cuts, dangles, invalid = shapely.polygonize_full([noded])
    blocks = shapely.get_parts(faces)
    loose = shapely.get_parts(np.array([cuts, dangles, invalid], dtype=object))
    return _assemble(blocks, shapely.buffer(blocks, -distance_m, quad_segs=quad_segs), loose, distance_m, quad_segs)


def _assemble(
    blocks: np.ndarray, cores: np.ndarray, loose: np.ndarray, distance_m: float, quad_segs: int
) -> shapely.Geometry:
    """The blocks' outward buffer, less their ``cores`` (their inward buffers), plus the ``loose`` lines' buffer.

    One walk (``street_buffer``); ``_assemble_many`` makes many at once, the frontier in clusters.
    """
    out = shapely.buffer(shapely.coverage_union_all(blocks), distance_m, quad_segs=quad_segs)
    cores = shapely.get_parts(cores[~shapely.is_empty(cores)])
    if not len(loose):
        return _polygonal(_less_cores(out, cores)) if len(cores) else out
    # one buffer each, then united: buffering them as one MultiLineString is 4x slower on curving streets; the
    # frontier's buffers fall in clusters that do not touch, each united on its own
    reach = shapely.buffer(loose, distance_m, quad_segs=quad_segs)
    if len(cores):  # the cores lie inside their blocks: they never overlap
        near = _reached_into(cores, np.zeros(len(cores), np.int64), reach, np.zeros(len(reach), np.int64))
        if near.any():
            out = shapely.difference(out, shapely.multipolygons(cores[near]))
            cores = cores[~near]
    out = _polygonal(shapely.union(out, shapely.disjoint_subset_union_all(reach)))
    return _polygonal(_less_cores(out, cores)) if len(cores) else out


def _assemble_many(
    blocks: tuple[np.ndarray, np.ndarray],
    cores: tuple[np.ndarray, np.ndarray],
    loose: tuple[np.ndarray, np.ndarray],
    *,
    n: int,
    distance_m: float,
    quad_segs: int,
) -> np.ndarray:
    """``_assemble`` for ``n`` walks at once: one polygon per walk.

    ``blocks``, ``cores`` and ``loose``: each (geometries, the walk of each, ascending).

    Each GEOS operation called once over all the walks (issue 32: iso-margin), not a dozen calls from Python per
    walk; the frontier's loose lines united per cluster (``_cluster_buffers``) where ``_assemble`` unites their
    buffers: the same land to float noise (tests/test_faces.py: 1e-9 of the area, 1e-6 m).
    """
    (blocks, block_of), (cores, core_of), (loose, loose_of) = blocks, cores, loose
    out = shapely.buffer(
        shapely.coverage_union_all(_rows(blocks, block_of, n), axis=1), distance_m, quad_segs=quad_segs
    )
    keep = ~shapely.is_empty(cores)
    cores, at = shapely.get_parts(cores[keep], return_index=True)
    core_of = core_of[keep][at]
    with_loose = np.flatnonzero(np.bincount(loose_of, minlength=n) > 0)
    if len(with_loose):
        # the frontier's buffers fall in clusters that do not touch, each united on its own (one MultiLineString
        # of all the lines was 4x slower on curving streets)
        reach, reach_of = _cluster_buffers(loose, loose_of, distance_m, quad_segs)
        if len(cores):  # the cores lie inside their blocks: they never overlap
            near = _reached_into(cores, core_of, reach, reach_of)
            if near.any():
                walks, of = np.unique(core_of[near], return_inverse=True)
                out[walks] = shapely.difference(out[walks], shapely.multipolygons(cores[near], indices=of))
                cores, core_of = cores[~near], core_of[~near]
        parts, part_of = shapely.get_parts(reach, return_index=True)
        frontier = shapely.multipolygons(parts, indices=np.searchsorted(with_loose, reach_of[part_of]))
        out[with_loose] = _polygonal_each(shapely.union(out[with_loose], frontier))
    if len(cores):
        walks = np.unique(core_of)
        out[walks] = _polygonal_each(_less_cores_many(out[walks], cores, np.searchsorted(walks, core_of)))
    return out


def _cluster_buffers(
    lines: np.ndarray, line_of: np.ndarray, distance_m: float, quad_segs: int
) -> tuple[np.ndarray, np.ndarray]:
    """The union of ``lines``' buffers, per cluster of a walk's lines nearer each other than twice ``distance_m``.

    Returns each cluster's buffer and its walk (ascending). Two clusters' buffers never share land: each lies
    within ``distance_m`` of its lines. A cluster of straight lines (two points each, as a grid city's) is
    buffered as one MultiLineString: each line's own offset curve, the curves noded together, their union at a
    third less than a buffer each and their union. Curving lines keep a buffer each and their union: GEOS may
    simplify or snap a MultiLineString's curves otherwise, and the land would depend on how the lines are cut.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    a, b = shapely.STRtree(lines).query(lines, predicate="dwithin", distance=2 * distance_m)
    same = line_of[a] == line_of[b]
    graph = coo_matrix((np.ones(same.sum()), (a[same], b[same])), shape=(len(lines), len(lines)))
    n, label = connected_components(graph, directed=False)  # numbered by their first line: walks ascending
    order = np.argsort(label, kind="stable")
    lines, label = lines[order], label[order]
    walk = line_of[order][np.searchsorted(label, np.arange(n))]
    straight = np.bincount(label, weights=shapely.get_num_coordinates(lines) != 2, minlength=n) == 0
    out = np.empty(n, dtype=object)
    flat = straight[label]
    if flat.any():
        ids, of = np.unique(label[flat], return_inverse=True)
        out[ids] = shapely.buffer(shapely.multilinestrings(lines[flat], indices=of), distance_m, quad_segs=quad_segs)
    if not flat.all():
        ids, of = np.unique(label[~flat], return_inverse=True)
        reach = shapely.buffer(lines[~flat], distance_m, quad_segs=quad_segs)
        out[ids] = shapely.union_all(_rows(reach, of, len(ids)), axis=1)
    return out, walk


def _rows(geoms: np.ndarray, of: np.ndarray, n: int) -> np.ndarray:
    """``geoms`` (their walks ``of``, ascending) as ``n`` rows, padded with None: for GEOS's unions along axis 1."""
    count = np.bincount(of, minlength=n)
    rows = np.full((n, max(int(count.max(initial=0)), 1)), None, dtype=object)
    rows[of, np.arange(len(of)) - np.repeat(np.cumsum(count) - count, count)] = geoms
    return rows


def _polygonal_each(geoms: np.ndarray) -> np.ndarray:
    """``_polygonal`` of each: only the collections (an overlay's rare collapsed line) looked at one by one."""
    geoms = np.asarray(geoms, dtype=object)
    for i in np.flatnonzero(shapely.get_type_id(geoms) == _COLLECTION):
        geoms[i] = _polygonal(geoms[i])
    return geoms


def _less_cores_many(outs: np.ndarray, cores: np.ndarray, of: np.ndarray) -> np.ndarray:
    """``_less_cores`` of each of ``outs`` with its ``cores`` (``of``: which, ascending; each has one or more).

    The usual case on arrays: a Polygon whose cores have no holes takes their shells as more holes, after its
    own. The others (several parts, a core round an island) one by one, as before.
    """
    outs = np.asarray(outs, dtype=object).copy()
    n = len(outs)
    holed = np.bincount(of, weights=shapely.get_num_interior_rings(cores) > 0, minlength=n) > 0
    simple = (shapely.get_type_id(outs) == _POLYGON) & ~shapely.is_empty(outs) & ~holed
    first = np.searchsorted(of, np.arange(n + 1))
    for i in np.flatnonzero(~simple):
        outs[i] = _less_cores(outs[i], cores[first[i] : first[i + 1]])
    at = np.flatnonzero(simple)
    if len(at):
        rings, ring_of = shapely.get_rings(outs[at], return_index=True)  # each shell, then its own holes
        mine = simple[of]
        walk_of = np.searchsorted(at, of[mine])
        ring_of = np.concatenate([ring_of, walk_of])
        order = np.argsort(ring_of, kind="stable")  # the shell first, its holes, then the cores' shells
        rings = np.concatenate([rings, shapely.get_exterior_ring(cores[mine])])[order]
        outs[at] = shapely.polygons(rings, indices=ring_of[order])
    return outs


def _reached_into(cores: np.ndarray, core_of: np.ndarray, reach: np.ndarray, reach_of: np.ndarray) -> np.ndarray:
    """Whether each core shares land with one of its walk's ``reach`` polygons (touching is not sharing)."""
    core_at, reach_at = shapely.STRtree(reach).query(cores, predicate="intersects")
    same = core_of[core_at] == reach_of[reach_at]
    core_at, reach_at = core_at[same], reach_at[same]
    shared = shapely.relate_pattern(cores[core_at], reach[reach_at], "T********")
    near = np.zeros(len(cores), dtype=bool)
    near[core_at[shared]] = True
    return near


def _less_cores(out: shapely.Geometry, cores: np.ndarray) -> shapely.Geometry:
    """``out`` less the blocks' cores, each made a hole of the part around it (no overlay).

    A core lies inside its block, at least ``distance_m`` from its edge, so at least that far from every other
    core and from ``out``'s own holes (land farther than ``distance_m`` from the blocks): a new hole that touches
    nothing. A core with a hole of its own (a block around an island block) would leave an island: the overlay then.
    """
    if shapely.get_num_interior_rings(cores).any():
        return shapely.difference(out, shapely.multipolygons(cores))
    if shapely.get_type_id(out) == _POLYGON:  # the usual case: every block, so every core, lies inside it
        return _with_holes(out, shapely.get_exterior_ring(cores))
    parts = shapely.get_parts(out)
    owner = shapely.STRtree(parts).query(shapely.point_on_surface(cores), predicate="within")
    if len(np.unique(owner[0])) != len(cores):  # a core outside every part: not expected, the overlay decides
        return shapely.difference(out, shapely.multipolygons(cores))
    of = np.full(len(cores), -1)
    of[owner[0]] = owner[1]
    holed = [_with_holes(part, shapely.get_exterior_ring(cores[of == i])) for i, part in enumerate(parts)]
    return holed[0] if len(holed) == 1 else shapely.multipolygons(holed)


def _with_holes(polygon: shapely.Geometry, rings: np.ndarray) -> shapely.Geometry:
    """``polygon`` with ``rings`` (inside it, touching nothing) as more holes."""
    if not len(rings):
        return polygon
    own = shapely.get_interior_ring(polygon, np.arange(shapely.get_num_interior_rings(polygon)))
    return shapely.polygons(shapely.get_exterior_ring(polygon), np.concatenate([own, rings]))


def _honest(reach: shapely.Geometry, noded: shapely.Geometry, distance_m: float, quad_segs: int) -> bool:
    """Whether no edge of ``reach`` comes nearer the lines than a buffer's edge can.

    GEOS's buffer of long, curving lines can leave a false hole or notch (seen with
    ``quad_segs=2`` on the Monaco sample: a hole 28 m from a street); its edge lies
    nearer the lines than any chord of a round join, and such a result is refused.
    A chord spans at most 1.5 times ``90° / quad_segs`` (GEOS rounds the count), so
    it stays ``distance_m * cos(3π / (8 quad_segs))`` away (41.6 m for 50 m and 2).
    """
    edges = shapely.boundary(reach)
    if shapely.is_empty(edges):
        return False
    shapely.prepare(edges)
    inner = distance_m * np.cos(3 * np.pi / (8 * quad_segs)) - _SLACK_M
    return not shapely.dwithin(edges, noded, inner)


def _honest_many(reach: np.ndarray, noded: np.ndarray, distance_m: float, quad_segs: int) -> np.ndarray:
    """``_honest`` of each of ``reach`` against its lines ``noded``, on arrays."""
    edges = shapely.boundary(reach)
    shapely.prepare(edges)
    inner = distance_m * np.cos(3 * np.pi / (8 * quad_segs)) - _SLACK_M
    return ~shapely.is_empty(edges) & ~shapely.dwithin(edges, noded, inner)


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """Only the polygons of an overlay's result (it may carry a collapsed line)."""
    if shapely.get_type_id(geom) != _COLLECTION:
        return geom
    parts = shapely.get_parts(geom)
    parts = parts[shapely.get_type_id(parts) == _POLYGON]
    if len(parts) == 0:
        return shapely.Polygon()
    return parts[0] if len(parts) == 1 else shapely.multipolygons(parts)


# --- issue 32: iso-faces --- the blocks looked up among the network's kept faces


def blocks_from_faces(
    faces: NetworkFaces,
    lines: np.ndarray,
    source: np.ndarray,
    *,
    edge: np.ndarray,
    start_m: np.ndarray,
    end_m: np.ndarray,
) -> tuple[list[list[np.ndarray]], np.ndarray, np.ndarray]:
    """For many walks at once, the blocks each encloses, among the network's ``faces``, and its loose lines.

    A walk's pieces ``lines`` (of walk ``source``) lie on segment ``edge`` from ``start_m`` to ``end_m`` along it
    (``edge`` -1: on none, e.g. the walk from a facility to its street). A noded piece of the network is
    covered when one walked piece spans it; the faces a walk encloses are its faces with every edge covered,
    and faces joined across a piece not covered (the two ends of a street walked, its middle not) make one
    block when no such path leads out: the faces of the walk's own noded pieces, as ``polygonize`` finds them.
    The loose lines are the walked pieces, or their parts, that bound none of its blocks.

    Returns
    -------
    tuple
        Per walk (``0..source.max()``), a list of its blocks, each an array of face numbers; the loose lines
        and the walk of each.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from analysis.isochrones import substrings  # it imports this module

    n_pieces, n_faces = len(faces.piece_faces), faces.n_faces
    source = source.astype(np.int64)
    # the noded pieces each walked piece spans
    order, row_edge, f_ptr, f_piece = face_index(faces)
    on = np.flatnonzero(edge >= 0)
    lo_ptr = np.searchsorted(row_edge, edge[on], side="left")
    count = np.searchsorted(row_edge, edge[on], side="right") - lo_ptr
    span = np.repeat(on, count)  # the walked piece
    row = order[np.repeat(lo_ptr, count) + np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)]
    s0, s1 = faces.piece_s0[row], faces.piece_s1[row]
    lo, hi = start_m[span], end_m[span]
    spans = (s0 >= lo - _EPS_M) & (s1 <= hi + _EPS_M)
    covered = np.unique(source[span[spans]] * n_pieces + faces.piece[row[spans]])
    # the faces of covered pieces: each walk's candidates
    cov_src, cov_piece = covered // n_pieces, covered % n_pieces
    side = faces.piece_faces[cov_piece]
    cand = np.unique(
        np.concatenate([cov_src * n_faces + side[:, 0], cov_src * n_faces + side[:, 1]])[side.T.ravel() >= 0]
    )
    n_src = int(source.max()) + 1 if len(source) else 0
    if not len(cand):  # no walk goes round a face (a network of trees): every piece is loose
        return [[] for _ in range(n_src)], np.asarray(lines, dtype=object), source
    # each candidate's pieces not covered join it to the face beyond (outside when not a candidate)
    c_src, c_face = cand // n_faces, cand % n_faces
    count = f_ptr[c_face + 1] - f_ptr[c_face]
    of = np.repeat(np.arange(len(cand)), count)
    piece = f_piece[
        np.repeat(f_ptr[c_face], count) + np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    ]
    src = c_src[of]
    open_ = ~_member(src * n_pieces + piece, covered)
    of, piece, src = of[open_], piece[open_], src[open_]
    two = faces.piece_faces[piece]
    beyond = np.where(two[:, 0] == c_face[of], two[:, 1], two[:, 0])
    key = src * n_faces + beyond
    at = np.minimum(np.searchsorted(cand, key), max(len(cand) - 1, 0))
    outside = len(cand)
    other = np.where((beyond >= 0) & (len(cand) > 0) & (cand[at] == key), at, outside)
    graph = coo_matrix((np.ones(len(of)), (of, other)), shape=(outside + 1, outside + 1))
    _, label = connected_components(graph, directed=False)
    block = label[:outside] != label[outside]
    # walked pieces that bound a block: their noded pieces all have a block on one side only
    group = np.where(block, label[:outside], -1)

    def group_of(src_: np.ndarray, face_: np.ndarray) -> np.ndarray:
        k = src_ * n_faces + face_
        i = np.minimum(np.searchsorted(cand, k), max(len(cand) - 1, 0))
        return np.where((face_ >= 0) & (len(cand) > 0) & (cand[i] == k), group[i], -1)

    over = (s1 > lo + _EPS_M) & (s0 < hi - _EPS_M)
    span_o, row_o = span[over], row[over]
    two = faces.piece_faces[faces.piece[row_o]]
    ga, gb = group_of(source[span_o], two[:, 0]), group_of(source[span_o], two[:, 1])
    bounds = (ga != gb) & (np.maximum(ga, gb) >= 0)
    n_over = np.bincount(span_o, minlength=len(lines))
    n_bounds = np.bincount(span_o, weights=bounds, minlength=len(lines)).astype(np.int64)
    whole = (n_over == 0) | (n_bounds == 0)  # loose all along
    # a piece partly on a block's edge (its segment crosses another): the parts that bound none
    part = ~whole[span_o] & ~bounds
    at = span_o[part]
    a = np.maximum(s0[over][part], lo[over][part]) - lo[over][part]
    b = np.minimum(s1[over][part], hi[over][part]) - lo[over][part]
    keep = b > a
    parts = substrings(lines[at[keep]], a[keep], b[keep])
    loose_lines = np.concatenate([lines[whole], parts])
    loose_source = np.concatenate([source[whole], source[at[keep]]])
    # each walk's blocks: its candidates' faces by group
    blocks: list[list[np.ndarray]] = [[] for _ in range(n_src)]
    bsrc, bface, bgroup = c_src[block], c_face[block], group[block]
    order = np.lexsort((bface, bgroup, bsrc))
    bsrc, bface, bgroup = bsrc[order], bface[order], bgroup[order]
    cut = np.flatnonzero(np.diff(bgroup)) + 1
    for faces_of in np.split(np.arange(len(bgroup)), cut):
        if len(faces_of):
            blocks[bsrc[faces_of[0]]].append(bface[faces_of])
    return blocks, loose_lines, loose_source


_EPS_M = 1e-7


def _member(keys: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Whether each of ``keys`` is in the sorted ``table``."""
    if not len(table):
        return np.zeros(len(keys), dtype=bool)
    at = np.minimum(np.searchsorted(table, keys), len(table) - 1)
    return table[at] == keys


#: ``face_index`` of each ``NetworkFaces`` in use
_FACE_INDEX: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def face_index(faces: NetworkFaces) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The lookups ``blocks_from_faces`` makes of the whole network, made once per ``faces`` (issue 32: iso-margin).

    The piece rows in the order of their segments and those segments; each face's pieces (``_face_pieces``).
    """
    index = _FACE_INDEX.get(faces)
    if index is None:
        order = np.argsort(faces.piece_edge, kind="stable")
        index = (order, faces.piece_edge[order], *_face_pieces(faces))
        _FACE_INDEX[faces] = index
    return index


def _face_pieces(faces: NetworkFaces) -> tuple[np.ndarray, np.ndarray]:
    """Each face's pieces, as offsets into one array (CSR)."""
    face = faces.piece_faces.ravel()
    piece = np.repeat(np.arange(len(faces.piece_faces)), 2)
    keep = face >= 0
    face, piece = face[keep], piece[keep]
    order = np.argsort(face, kind="stable")
    ptr = np.searchsorted(face[order], np.arange(faces.n_faces + 1))
    return ptr, piece[order]


def street_buffer_of_blocks(
    faces: NetworkFaces,
    blocks: list[np.ndarray],
    lines: np.ndarray,
    loose: np.ndarray,
    distance_m: float,
    *,
    quad_segs: int,
) -> shapely.Geometry:
    """``street_buffer(lines, ...)`` given the blocks the lines enclose (face numbers, ``blocks_from_faces``).

    ``loose``: the lines, or their parts, that bound no block. The same land as ``street_buffer``: the blocks
    are the faces its ``polygonize`` finds, their cores the kept ones when made for ``distance_m`` and
    ``quad_segs``.
    """
    lines, loose = np.asarray(lines, dtype=object), np.asarray(loose, dtype=object)
    line_of, loose_of = np.zeros(len(lines), dtype=np.int64), np.zeros(len(loose), dtype=np.int64)
    walks = (lines, line_of), (loose, loose_of)
    return street_buffers_of_blocks(faces, [blocks], walks[0], walks[1], distance_m, quad_segs=quad_segs)[0]


def street_buffers_of_blocks(
    faces: NetworkFaces,
    blocks: list[list[np.ndarray]],
    lines: tuple[np.ndarray, np.ndarray],
    loose: tuple[np.ndarray, np.ndarray],
    distance_m: float,
    *,
    quad_segs: int,
) -> np.ndarray:
    """``street_buffer_of_blocks`` for many walks at once (issue 32: iso-margin): one polygon per walk.

    Walk ``i``'s blocks are ``blocks[i]``; ``lines`` and ``loose``: (lines, the walk of each, ascending). Each
    walk's polygon is ``street_buffer``'s land for its lines (``_assemble_many``), the calls made once over all.
    """
    (lines, line_of), (loose, loose_of), n = lines, loose, len(blocks)
    out = np.array([shapely.Polygon()] * n, dtype=object)
    if not len(lines):
        return out
    kept = faces.core_m == distance_m and faces.core_quad_segs == quad_segs
    groups = [group for walk in blocks for group in walk]
    block_of = np.repeat(np.arange(n), [len(walk) for walk in blocks])
    single = np.array([len(group) == 1 for group in groups], dtype=bool)
    polys = np.empty(len(groups), dtype=object)
    cores = np.empty(len(groups), dtype=object)
    if single.any():  # each face parsed once, however many walks enclose it
        one, of = np.unique(np.array([group[0] for group in groups], dtype=np.int64)[single], return_inverse=True)
        polys[single] = faces.polygons(one)[of]
        if kept:
            cores[single] = faces.cores(one)[of]
    for i in np.flatnonzero(~single):  # a block of several faces
        polys[i] = shapely.coverage_union_all(faces.polygons(groups[i]))
    made = np.flatnonzero(shapely.is_missing(cores))
    if len(made):  # a block of several faces, or cores kept for another street side
        cores[made] = shapely.buffer(polys[made], -distance_m, quad_segs=quad_segs)
    # each walk's loose lines noded (united), as one walk's were
    count = np.bincount(loose_of, minlength=n)
    many = np.flatnonzero(count > 1)
    noded = shapely.union_all(_rows(loose, loose_of, n)[many], axis=1)
    parts, part_of = shapely.get_parts(noded, return_index=True)
    alone = count[loose_of] == 1
    free = np.concatenate([loose[alone], parts])
    free_of = np.concatenate([loose_of[alone], many[part_of]])
    order = np.argsort(free_of, kind="stable")
    free, free_of = free[order], free_of[order]
    fast = _assemble_many(
        (polys, block_of), (cores, block_of), (free, free_of), n=n, distance_m=distance_m, quad_segs=quad_segs
    )
    walked = np.flatnonzero(np.bincount(line_of, minlength=n) > 0)
    honest = _honest_many(
        fast[walked], shapely.multilinestrings(lines, indices=np.searchsorted(walked, line_of)), distance_m, quad_segs
    )
    out[walked] = fast[walked]
    first = np.searchsorted(line_of, np.arange(n + 1))
    for i in walked[~honest]:
        out[i] = shapely.union_all(shapely.buffer(lines[first[i] : first[i + 1]], distance_m, quad_segs=quad_segs))
    return out
