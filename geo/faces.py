"""A network's faces: the blocks its street segments enclose, made once and kept with it (issue 32: iso-faces).

Each facility's isochrone is built from the blocks its walk encloses (``analysis.streetbuffer``). Noding and
polygonizing every facility's pieces again costs more than a third of that; a block a walk encloses is one
of the network's own faces whenever the walk covers all of the face's edges. So the network is noded and
polygonized once, and kept: the faces, their unreached cores (the inward buffer, for the street side the
isochrones use), and the noded pieces, each with the segment it lies on (metres ``s0``–``s1`` along it) and
the faces on its two sides. The store writes them beside the network (``geo.store``); an entry written
before keeps none, and its isochrones are made the per-facility way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow
import shapely

__all__ = ["CORE_M", "CORE_QUAD_SEGS", "FACE_FILES", "NetworkFaces", "network_faces", "read_faces", "write_faces"]

#: The street side and the buffers' segments per quarter circle the kept cores are made for: the isochrones'
#: own (``analysis.isochrones.STREET_SIDE_M`` and ``QUAD_SEGS``; a test holds them equal).
CORE_M = 50.0
CORE_QUAD_SEGS = 2
#: The files ``write_faces`` writes.
FACE_FILES = ("faces.parquet", "face_pieces.parquet")
#: How near (m) a noded piece's middle must lie to a segment, or a face's edge, to be on it.
_ON_M = 1e-6


@dataclass(frozen=True, eq=False)
class NetworkFaces:
    """The faces of a noded street network and the noded pieces that bound them.

    Attributes
    ----------
    polygons_wkb
        One Polygon per face (a face may have holes: an island of streets inside it), as WKB: parsed when asked
        (``polygons``), a walk's few at a time; 100k corners' 80,000 faces and cores held as GEOS geometries
        took 150 MB.
    cores_wkb
        Each face's inward buffer by ``core_m`` (``core_quad_segs``), empty where the face is narrower (WKB).
    core_m, core_quad_segs
        What the cores were made for.
    piece_edge, piece_s0, piece_s1
        One row per (noded piece, segment it lies on): the piece's number (``piece``), the segment's, and where
        the piece starts and ends along it, in metres.
    piece_faces
        One row per noded piece: the faces on its two sides (-1: outside every face; a piece that bounds no
        face, a dead end, has -1 on both).
    n_edges
        The number of segments of the network they were made of (a check that they belong to it).
    """

    polygons_wkb: np.ndarray
    cores_wkb: np.ndarray
    core_m: float
    core_quad_segs: int
    piece: np.ndarray
    piece_edge: np.ndarray
    piece_s0: np.ndarray
    piece_s1: np.ndarray
    piece_faces: np.ndarray
    n_edges: int

    @property
    def n_faces(self) -> int:
        """The number of faces."""
        return len(self.polygons_wkb)

    def polygons(self, faces: np.ndarray | slice = slice(None)) -> np.ndarray:
        """The polygons of ``faces`` (numbers; all by default)."""
        return shapely.from_wkb(self.polygons_wkb[faces])

    def cores(self, faces: np.ndarray | slice = slice(None)) -> np.ndarray:
        """The cores of ``faces`` (numbers; all by default)."""
        return shapely.from_wkb(self.cores_wkb[faces])


def network_faces(lines: np.ndarray, *, core_m: float = CORE_M, core_quad_segs: int = CORE_QUAD_SEGS) -> NetworkFaces:
    """The faces of the street segments ``lines`` (LineStrings in metres), and how their pieces bound them.

    Examples
    --------
    >>> square = [((0, 0), (300, 0)), ((300, 0), (300, 300)), ((300, 300), (0, 300)), ((0, 300), (0, 0))]
    >>> faces = network_faces(shapely.linestrings(square))
    >>> faces.n_faces, round(faces.polygons()[0].area), round(faces.cores()[0].area)
    (1, 90000, 40000)
    >>> faces.piece_faces.tolist()
    [[0, -1], [0, -1], [0, -1], [0, -1]]
    """
    lines = np.asarray(lines, dtype=object)
    noded = shapely.get_parts(shapely.node(shapely.multilinestrings(lines))) if len(lines) else lines
    # shared and repeated pieces: one each (``node`` keeps both of two segments drawn over each other)
    _, first = np.unique(shapely.to_wkb(shapely.normalize(noded)), return_index=True)
    noded = noded[np.sort(first)]
    polygons = shapely.get_parts(shapely.polygonize(noded)) if len(noded) else np.empty(0, dtype=object)
    cores = shapely.buffer(polygons, -core_m, quad_segs=core_quad_segs)
    middle = shapely.line_interpolate_point(noded, 0.5, normalized=True)
    # the segment(s) each piece lies on (more than one where two are drawn over each other), and where along it:
    # by its middle (a piece's ends may be one point, a loop's), which only a segment it lies on comes near
    piece, edge = shapely.STRtree(lines).query(middle, predicate="dwithin", distance=_ON_M)
    at = shapely.line_locate_point(lines[edge], middle[piece])
    half = shapely.length(noded[piece]) / 2
    s_a, s_b = at - half, at + half
    # the faces each piece bounds: its middle lies on their edges
    sides = np.full((len(noded), 2), -1, dtype=np.int64)
    if len(polygons):
        at, face = shapely.STRtree(shapely.boundary(polygons)).query(middle, predicate="dwithin", distance=_ON_M)
        order = np.lexsort((face, at))
        at, face = at[order], face[order]
        nth = np.arange(len(at)) - np.searchsorted(at, at)
        keep = nth < 2
        sides[at[keep], nth[keep]] = face[keep]
    return NetworkFaces(
        polygons_wkb=shapely.to_wkb(polygons),
        cores_wkb=shapely.to_wkb(cores),
        core_m=float(core_m),
        core_quad_segs=int(core_quad_segs),
        piece=piece.astype(np.int64),
        piece_edge=edge.astype(np.int64),
        piece_s0=s_a,
        piece_s1=s_b,
        piece_faces=sides,
        n_edges=len(lines),
    )


def write_faces(faces: NetworkFaces, folder: Path) -> tuple[str, str]:
    """Write ``faces`` into ``folder`` as two Parquet files; returns their names.

    ``faces.parquet``: each face's polygon and core (WKB); ``face_pieces.parquet``: one row per (piece, segment),
    a piece on no segment with ``edge`` -1, and the faces on the piece's two sides.
    """
    names = FACE_FILES
    polys = pd.DataFrame({"polygon": faces.polygons_wkb, "core": faces.cores_wkb})
    polys.to_parquet(folder / names[0], index=False)
    loose = np.setdiff1d(np.arange(len(faces.piece_faces)), faces.piece)  # on no segment: kept for its sides
    piece = np.concatenate([faces.piece, loose])
    table = pd.DataFrame(
        {
            "piece": piece,
            "edge": np.concatenate([faces.piece_edge, np.full(len(loose), -1)]),
            "s0": np.concatenate([faces.piece_s0, np.zeros(len(loose))]),
            "s1": np.concatenate([faces.piece_s1, np.zeros(len(loose))]),
            "face_a": faces.piece_faces[piece, 0],
            "face_b": faces.piece_faces[piece, 1],
        }
    )
    table.to_parquet(folder / names[1], index=False)
    return names


def read_faces(folder: Path, *, core_m: float, core_quad_segs: int, n_edges: int) -> NetworkFaces:
    """The faces ``write_faces`` wrote into ``folder`` (``core_m``, ``core_quad_segs``, ``n_edges``: as made)."""
    polys = pd.read_parquet(folder / "faces.parquet")
    table = pd.read_parquet(folder / "face_pieces.parquet")
    piece = table["piece"].to_numpy(np.int64)
    n_pieces = int(piece.max()) + 1 if len(piece) else 0
    sides = np.full((n_pieces, 2), -1, dtype=np.int64)
    sides[piece] = table[["face_a", "face_b"]].to_numpy(np.int64)
    edge = table["edge"].to_numpy(np.int64)
    on = edge >= 0
    pyarrow.default_memory_pool().release_unused()  # what reading took and holds no more: 30 MB at 100k corners
    return NetworkFaces(
        polygons_wkb=polys["polygon"].to_numpy(),
        cores_wkb=polys["core"].to_numpy(),
        core_m=float(core_m),
        core_quad_segs=int(core_quad_segs),
        piece=piece[on],
        piece_edge=edge[on],
        piece_s0=table["s0"].to_numpy(float)[on],
        piece_s1=table["s1"].to_numpy(float)[on],
        piece_faces=sides,
        n_edges=int(n_edges),
    )
