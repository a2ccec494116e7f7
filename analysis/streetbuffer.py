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

import numpy as np
import shapely

from geo.faces import NetworkFaces

__all__ = ["blocks_from_faces", "street_buffer", "street_buffer_of_blocks"]

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
    """The blocks' outward buffer, less their ``cores`` (their inward buffers), plus the ``loose`` lines' buffer."""
    out = shapely.buffer(shapely.coverage_union_all(blocks), distance_m, quad_segs=quad_segs)
    cores = shapely.get_parts(cores[~shapely.is_empty(cores)])
    if not len(loose):
        return _polygonal(_less_cores(out, cores)) if len(cores) else out
    # one buffer each, then united: buffering them as one MultiLineString is 4x slower on curving streets; the
    # frontier's buffers fall in clusters that do not touch, each united on its own
    reach = shapely.buffer(loose, distance_m, quad_segs=quad_segs)
    if len(cores):  # the cores lie inside their blocks: they never overlap
        near = _reached_into(cores, reach)
        if near.any():
            out = shapely.difference(out, shapely.multipolygons(cores[near]))
            cores = cores[~near]
    out = _polygonal(shapely.union(out, shapely.disjoint_subset_union_all(reach)))
    return _polygonal(_less_cores(out, cores)) if len(cores) else out


def _reached_into(cores: np.ndarray, reach: np.ndarray) -> np.ndarray:
    """Whether each core shares land with one of the ``reach`` polygons (touching is not sharing)."""
    core_of, reach_of = shapely.STRtree(reach).query(cores, predicate="intersects")
    shared = shapely.relate_pattern(cores[core_of], reach[reach_of], "T********")
    return np.isin(np.arange(len(cores)), core_of[shared])


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
    order = np.argsort(faces.piece_edge, kind="stable")
    row_edge = faces.piece_edge[order]
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
    f_ptr, f_piece = _face_pieces(faces)
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
    lines = np.asarray(lines, dtype=object)
    if len(lines) == 0:
        return shapely.Polygon()
    kept = faces.core_m == distance_m and faces.core_quad_segs == quad_segs
    single = np.array([len(group) == 1 for group in blocks], dtype=bool)
    one = np.array([group[0] for group in blocks], dtype=np.int64)[single] if len(blocks) else np.empty(0, np.int64)
    polys = np.empty(len(blocks), dtype=object)
    cores = np.empty(len(blocks), dtype=object)
    polys[single] = faces.polygons(one)
    if kept:
        cores[single] = faces.cores(one)
    for i in np.flatnonzero(~single):  # a block of several faces
        polys[i] = shapely.coverage_union_all(faces.polygons(blocks[i]))
    made = np.flatnonzero(shapely.is_missing(cores))
    if len(made):  # a block of several faces, or cores kept for another street side
        cores[made] = shapely.buffer(polys[made], -distance_m, quad_segs=quad_segs)
    free = shapely.get_parts(shapely.union_all(loose)) if len(loose) > 1 else np.asarray(loose, dtype=object)
    fast = _assemble(polys, cores, free, distance_m, quad_segs)
    if _honest(fast, shapely.multilinestrings(lines), distance_m, quad_segs):
        return fast
    return shapely.union_all(shapely.buffer(lines, distance_m, quad_segs=quad_segs))
