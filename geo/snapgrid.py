"""A grid of the streets' pieces: every point's nearest segment found at once, with GEOS's own arithmetic (issue 32).

``geo.snap_points`` placed points with a GEOS STRtree (``query_nearest``): about 10 µs a point, most of a
cold question's second at 100,000 nodes, and the tree built anew in each process. ``SnapGrid`` holds each
segment's line as a row of vertices and a uniform grid of square cells, each listing the straight pieces
(two consecutive vertices) whose bounding box meets it. A point is looked up in the cells around its own,
``k`` cells each way: a piece closer than ``k`` cells' width has its box in one of them, so the nearest
found is the nearest there is once it is that close; the few points farther from every street look again
with ``k`` doubled, until ``max_snap_m`` is covered.

The distance and the position along the line are computed as GEOS computes them, operation for operation
(``geos::algorithm::Distance::pointToSegment`` for ``GEOSDistance`` of a point and a line: the least over its
pieces; ``geos::linearref::LengthIndexOfPoint`` for ``GEOSProject``, i.e. ``shapely.line_locate_point``: the
first piece at that least distance, the lengths of the pieces before it added in order), in IEEE double
arithmetic with no fused operations, so the metres are GEOS's to the bit (``tests/test_snapgrid.py``). Where
several segments are at the very same least distance (a point whose nearest place is a corner shared by
them), the tree returned whichever it visited first; the grid takes the lowest segment position: the same
place and distance, a rule that no longer depends on the tree's build.

The grid is made once per network (``SnapGrid.from_lines``: about 0.04 s per 100,000 segments) and kept in a
store entry beside its routing arrays (``geo.store``: ``snapgrid.bin``, keyed), so a cold question on a
stored network reads it instead of the lines.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely

from geo.keyedfile import peek_header, read_keyed, write_keyed

__all__ = [
    "GRID_FILE",
    "SNAP_GRID",
    "SNAP_GRID_READER",
    "GridReader",
    "SnapGrid",
    "grid_of",
    "points_only",
    "read_grid",
    "write_grid",
]

log = logging.getLogger(__name__)

#: Pieces per cell aimed at when the cell's width is chosen (from the pieces' count and their extent).
_PER_CELL = 0.5
#: Cells per piece at most (a network spread thin over a large extent: wider cells, fewer of them).
_MAX_CELLS_PER_PIECE = 4
#: A point counts as settled when its nearest piece is nearer than the looked-at cells' reach by this much
#: (far above the rounding of a cell number: coordinates of 10^7 m round at 2e-9 m).
_MARGIN_M = 1e-6
#: ``StreetNetwork.derived`` keys: the network's grid, and what reads it from its store entry (``geo.store``).
SNAP_GRID = "snap_grid"
SNAP_GRID_READER = "snap_grid_reader"
#: Pieces placed in cells at a time when the grid is made.
_BUILD_CHUNK = 1 << 20
#: Points looked up at a time.
_CHUNK = 2048


@dataclass(frozen=True, eq=False)
class SnapGrid:
    """Every segment's vertices and a grid of cells listing the pieces that meet each cell.

    Attributes
    ----------
    x, y
        All segments' vertices in a row: segment ``e``'s are ``x[first[e]:first[e + 1]]`` (and ``y``'s).
    first
        Where each segment's vertices start (int64, one more than the segments).
    component
        Each segment's connected part (its ``u`` node's ``component``), int64.
    origin
        The grid's lower-left corner (x, y).
    cell_m
        The cells' width in metres.
    shape
        The number of cells along x and along y.
    cell_start
        Where each cell's pieces start in ``cell_items`` (cell ``i * shape[1] + j``), int64.
    cell_items
        The pieces of every cell, each named by its first vertex's position in ``x``, int64.
    """

    x: np.ndarray
    y: np.ndarray
    first: np.ndarray
    component: np.ndarray
    origin: tuple[float, float]
    cell_m: float
    shape: tuple[int, int]
    cell_start: np.ndarray
    cell_items: np.ndarray

    @classmethod
    def from_lines(cls, lines: np.ndarray, component: np.ndarray) -> SnapGrid:
        """The grid of these segments' lines (LineStrings in a projected CRS).

        Examples
        --------
        >>> import shapely
        >>> grid = SnapGrid.from_lines(np.array([shapely.LineString([(0, 0), (10, 0)])]), np.zeros(1, int))
        >>> grid.snap(np.array([3.0]), np.array([4.0]), max_snap_m=300)
        (array([0]), array([4.]), array([3.]))
        """
        counts = shapely.get_num_coordinates(lines).astype(np.int64)
        xy = shapely.get_coordinates(lines)
        x, y = np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1])
        del xy
        first = np.zeros(len(lines) + 1, dtype=np.int64)
        np.cumsum(counts, out=first[1:])
        is_piece = np.ones(len(x), dtype=bool)
        is_piece[first[1:][counts > 0] - 1] = False  # each line's last vertex starts no piece
        piece = np.flatnonzero(is_piece)
        if len(piece):
            origin = np.array([x.min(), y.min()])
            extent = np.maximum(np.array([x.max(), y.max()]) - origin, 1.0)
        else:
            origin, extent = np.zeros(2), np.ones(2)
        n = max(len(piece), 1)
        cell_m = float(np.sqrt(extent[0] * extent[1] * _PER_CELL / n))
        cell_m = max(cell_m, float(np.sqrt(extent[0] * extent[1] / (_MAX_CELLS_PER_PIECE * n))), 1.0)
        top = origin + extent
        shape = (int(_cell(top[0], origin[0], cell_m)) + 1, int(_cell(top[1], origin[1], cell_m)) + 1)
        n_cells = shape[0] * shape[1]
        cell_type = np.int32 if n_cells < 1 << 31 else np.int64  # a quicker sort, half the memory
        item_type = np.int32 if len(x) < 1 << 31 else np.int64
        cells, items = [], []
        for at in range(0, len(piece), _BUILD_CHUNK):  # the pieces' cells a million at a time: a lower peak
            p = piece[at : at + _BUILD_CHUNK]
            ax, ay, bx, by = x[p], y[p], x[p + 1], y[p + 1]
            i0, i1 = _cell(np.minimum(ax, bx), origin[0], cell_m), _cell(np.maximum(ax, bx), origin[0], cell_m)
            j0, j1 = _cell(np.minimum(ay, by), origin[1], cell_m), _cell(np.maximum(ay, by), origin[1], cell_m)
            h = j1 - j0 + 1
            per = (i1 - i0 + 1) * h
            rep = np.repeat(np.arange(len(p)), per)
            local = np.arange(len(rep)) - np.repeat(np.cumsum(per) - per, per)
            cells.append(((i0[rep] + local // h[rep]) * shape[1] + (j0[rep] + local % h[rep])).astype(cell_type))
            items.append(p[rep].astype(item_type))
        cells = np.concatenate(cells) if cells else np.zeros(0, dtype=cell_type)
        items = np.concatenate(items) if items else np.zeros(0, dtype=item_type)
        cell_start = np.zeros(n_cells + 1, dtype=np.int64)
        np.cumsum(np.bincount(cells, minlength=n_cells), out=cell_start[1:])
        return cls(
            x=x,
            y=y,
            first=first,
            component=np.asarray(component, dtype=np.int64),
            origin=(float(origin[0]), float(origin[1])),
            cell_m=cell_m,
            shape=shape,
            cell_start=cell_start,
            cell_items=items[np.argsort(cells)],  # by cell; the order within a cell does not matter
        )

    def snap(self, x: np.ndarray, y: np.ndarray, *, max_snap_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each point's nearest segment (-1 beyond ``max_snap_m``), its distance and the metres along it.

        Parameters
        ----------
        x, y
            The points' coordinates (float).
        max_snap_m
            The farthest a point may be from its segment.

        Returns
        -------
        tuple of numpy.ndarray
            ``(edge, offset_m, pos_m)``: as ``STRtree.query_nearest(..., max_distance=max_snap_m)``'s segment and
            distance (the lowest segment where several are equally near) and ``shapely.line_locate_point``;
            -1 and NaN for a point beyond ``max_snap_m``.
        """
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        n = len(x)
        best_d, best_piece = np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
        ci, cj = _cell(x, self.origin[0], self.cell_m), _cell(y, self.origin[1], self.cell_m)
        todo = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
        todo = todo[np.argsort(ci[todo] * self.shape[1] + cj[todo], kind="stable")]  # by cell: near in memory too
        k = 1
        while len(todo):
            i, j, px, py = ci[todo], cj[todo], x[todo], y[todo]
            d, piece = np.empty(len(todo)), np.empty(len(todo), dtype=np.int64)
            for at in range(0, len(todo), _CHUNK):  # a few thousand points at a time: the temporaries stay in cache
                part = slice(at, at + _CHUNK)
                d[part], piece[part] = self._nearest(px[part], py[part], i[part], j[part], max(1, k))
            best_d[todo], best_piece[todo] = d, piece
            # how far every piece not looked at is at least: the block of cells' edge nearest the point
            (x0, y0), c = self.origin, self.cell_m
            reach = np.minimum(
                np.minimum(px - (x0 + (i - k) * c), (x0 + (i + k + 1) * c) - px),
                np.minimum(py - (y0 + (j - k) * c), (y0 + (j + k + 1) * c) - py),
            )
            whole = (i - k <= 0) & (i + k >= self.shape[0] - 1) & (j - k <= 0) & (j + k >= self.shape[1] - 1)
            settled = (d <= reach - _MARGIN_M) | whole | (reach - _MARGIN_M >= max_snap_m)
            todo = todo[~settled]
            k *= 2
        found = best_d <= max_snap_m
        edge = np.full(n, -1, dtype=np.int64)
        # the queries in the array's own type: else numpy converts the whole array (1.8M at 1M nodes) each time
        edge[found] = np.searchsorted(self.first, best_piece[found].astype(self.first.dtype), side="right") - 1
        offset = np.where(found, best_d, np.nan)
        pos = np.full(n, np.nan)
        pos[found] = self._measure(x[found], y[found], best_piece[found], edge[found])
        return edge, offset, pos

    def _nearest(
        self, x: np.ndarray, y: np.ndarray, ci: np.ndarray, cj: np.ndarray, k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """The least distance to a piece in the cells up to ``k`` from each point's, and the lowest such piece.

        A rough distance (the foot clamped to the piece) first; GEOS's exact one for the pieces within a
        micrometre of each point's rough least only.
        """
        nx, ny = self.shape
        width = min(2 * k + 1, nx)  # the block's rows of cells (each a run in cell_items), those in the grid
        rows = np.clip(ci - k, 0, nx - width)[:, None] + np.arange(width)[None, :]
        valid = (rows >= (ci - k)[:, None]) & (rows <= (ci + k)[:, None]) & ((cj + k >= 0) & (cj - k < ny))[:, None]
        base = rows * ny
        start = self.cell_start[base + np.clip(cj - k, 0, ny - 1)[:, None]]
        count = np.where(valid, self.cell_start[base + np.clip(cj + k, 0, ny - 1)[:, None] + 1] - start, 0)
        per_point = count.sum(axis=1)
        count, start = count.ravel(), start.ravel()
        total = int(per_point.sum())
        best_d, best_piece = np.full(len(x), np.inf), np.full(len(x), -1, dtype=np.int64)
        if not total:
            return best_d, best_piece
        at = np.repeat(start - (np.cumsum(count) - count), count) + np.arange(total)
        piece = self.cell_items[at]
        owner = np.repeat(np.arange(len(x)), per_point)
        vx, vy = self.x, self.y
        ax, ay, bx, by = vx[piece], vy[piece], vx[piece + 1], vy[piece + 1]
        qx, qy = np.repeat(x, per_point), np.repeat(y, per_point)
        ex, ey = bx - ax, by - ay
        px, py = qx - ax, qy - ay
        len2 = ex * ex + ey * ey
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.clip((px * ex + py * ey) / len2, 0.0, 1.0)
        t[len2 == 0] = 0.0
        fx, fy = px - t * ex, py - t * ey
        rough = np.sqrt(fx * fx + fy * fy)
        has = per_point > 0
        starts = (np.cumsum(per_point) - per_point)[has]
        least = np.repeat(np.minimum.reduceat(rough, starts), per_point[has])
        near = np.flatnonzero(rough <= least + _MARGIN_M)
        piece, owner = piece[near], owner[near]
        d = _point_to_segment(qx[near], qy[near], (ax[near], ay[near], bx[near], by[near]))
        first = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
        exact = np.minimum.reduceat(d, first)
        sizes = np.diff(np.r_[first, len(owner)])
        tie = np.where(d == np.repeat(exact, sizes), piece, np.iinfo(piece.dtype).max)  # int32 where kept so
        best_d[owner[first]], best_piece[owner[first]] = exact, np.minimum.reduceat(tie, first)
        return best_d, best_piece

    def _measure(self, x: np.ndarray, y: np.ndarray, piece: np.ndarray, edge: np.ndarray) -> np.ndarray:
        """Metres along each segment's line to the foot of the point on ``piece``, as GEOS's ``LengthIndexOfPoint``."""
        vx, vy = self.x, self.y
        ax, ay, bx, by = vx[piece], vy[piece], vx[piece + 1], vy[piece + 1]
        length = _length(ax, ay, bx, by)
        start = np.zeros(len(piece))  # the pieces before, added one by one from the line's first vertex
        before = piece - self.first[edge]
        for step in range(int(before.max()) if len(before) else 0):
            more = np.flatnonzero(before > step)
            v = self.first[edge[more]] + step
            start[more] = start[more] + _length(vx[v], vy[v], vx[v + 1], vy[v + 1])
        dx, dy = bx - ax, by - ay
        with np.errstate(invalid="ignore", divide="ignore"):
            r = ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)
        at_a = ((x == ax) & (y == ay)) | ((ax == bx) & (ay == by))
        at_b = (x == bx) & (y == by) & ~((x == ax) & (y == ay))
        r = np.where(at_a, 0.0, np.where(at_b, 1.0, r))
        return np.where(r <= 0.0, start, np.where(r <= 1.0, start + r * length, start + length))


def _cell(v: np.ndarray, origin: float, cell_m: float) -> np.ndarray:
    """The cell number along one axis (may fall outside the grid for points beyond it)."""
    with np.errstate(invalid="ignore"):
        return np.floor((v - origin) / cell_m).astype(np.int64)


def _length(ax: np.ndarray, ay: np.ndarray, bx: np.ndarray, by: np.ndarray) -> np.ndarray:
    """``LineSegment::getLength``: ``sqrt(dx * dx + dy * dy)``."""
    dx, dy = ax - bx, ay - by
    return np.sqrt(dx * dx + dy * dy)


def _point_to_segment(x: np.ndarray, y: np.ndarray, a: tuple[np.ndarray, ...]) -> np.ndarray:
    """``geos::algorithm::Distance::pointToSegment``, operation for operation (``a``: the pieces' ax, ay, bx, by)."""
    ax, ay, bx, by = a
    ex, ey = bx - ax, by - ay
    len2 = ex * ex + ey * ey
    px, py = x - ax, y - ay
    to_a = np.sqrt(px * px + py * py)
    qx, qy = x - bx, y - by
    to_b = np.sqrt(qx * qx + qy * qy)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (px * ex + py * ey) / len2
        s = ((ay - y) * ex - (ax - x) * ey) / len2
        across = np.abs(s) * np.sqrt(len2)
    point = (ax == bx) & (ay == by)
    return np.where(point | (r <= 0.0), to_a, np.where(r >= 1.0, to_b, across))


def grid_of(network: object) -> SnapGrid | None:
    """The network's grid: made once (kept in ``network.derived``), read from its store entry where kept there.

    None for a network without lines (``geo.store.RoutingNetwork``) whose entry keeps no grid. A grid made
    from the lines of a network read from the store is kept in its entry (``GridReader.keep``).

    Examples
    --------
    >>> from geo.io import load_sample
    >>> net, _, _ = load_sample()
    >>> grid_of(net) is grid_of(net)
    True
    """
    grid = network.derived.get(SNAP_GRID)
    if grid is None:
        reader = network.derived.get(SNAP_GRID_READER)
        grid = reader() if reader is not None else None
        if grid is None:
            edges = network.edges
            if "geometry" not in edges:
                return None
            component = network.nodes["component"].to_numpy()[edges["u"].to_numpy()]
            grid = SnapGrid.from_lines(edges.geometry.to_numpy(), component)
            if reader is not None:  # a network read whole from the store: kept for the next cold question
                reader.keep(grid)
        network.derived[SNAP_GRID] = grid
    return grid


def points_only(geoms: np.ndarray) -> bool:
    """True if every geometry is a point (or missing): what the grid snaps (others go to GEOS's tree)."""
    kinds = shapely.get_type_id(geoms)
    return bool(((kinds == 0) | (kinds == -1)).all())


# --- kept in a store entry (``geo.store``): ``snapgrid.bin``, keyed like the entry's routing arrays ---

#: The grid file in a store entry's folder.
GRID_FILE = "snapgrid.bin"
_GRID_VERSION = 1
_LABEL = b"snapgrid\0"
#: The file's arrays, in order: (name, dtype when the counts fit 32 bits, dtype otherwise).
_ARRAYS = (
    ("x", "<f8", "<f8"),
    ("y", "<f8", "<f8"),
    ("first", "<i4", "<i8"),
    ("fragment_edge", "<i4", "<i8"),  # the segments off the main network (component > 0) ...
    ("fragment", "<i4", "<i8"),  # ... and their components (most segments are on it: 0)
    ("cell_start", "<i4", "<i8"),
    ("cell_items", "<i4", "<i8"),
)


def write_grid(file: Path, grid: SnapGrid, *, secret: bytes, digest: str) -> None:
    """Keep ``grid`` in ``file`` (atomically), keyed with ``secret`` for the manifest ``digest``. Never fails.

    Left as it is if the file there is already this manifest's (by its header).
    """
    if peek_header(file).get("digest") == digest:
        return
    wide = max(len(grid.x), len(grid.cell_items), int(grid.component.max(initial=0)) + 1) >= 1 << 31
    fragment_edge = np.flatnonzero(grid.component != 0)
    values = {"fragment_edge": fragment_edge, "fragment": grid.component[fragment_edge]}
    arrays = [
        (name, np.asarray(values[name] if name in values else getattr(grid, name), dtype=wide64 if wide else narrow))
        for name, narrow, wide64 in _ARRAYS
    ]
    header = {
        "version": _GRID_VERSION,
        "digest": digest,
        "segments": len(grid.first) - 1,
        "origin": list(grid.origin),
        "cell_m": grid.cell_m,
        "shape": list(grid.shape),
    }
    try:
        write_keyed(file, _LABEL, secret, header, arrays)
    except OSError as exc:  # a read-only store: the grid is made from the lines each time
        log.info("the snapping grid %s is not kept (%s)", file, exc)


def read_grid(file: Path, *, secret: bytes, digest: str, n_edges: int) -> SnapGrid | None:
    """The grid kept in ``file`` for the manifest ``digest``, its key checked; None (and the file removed) if not."""
    try:
        data = np.fromfile(file, dtype=np.uint8)  # one copy, writable (memory-mapped pages would be read by the key)
    except (OSError, ValueError):
        return None
    try:
        arrays, header = read_keyed(data, _LABEL, secret)
        if header.get("version") != _GRID_VERSION or [a[0] for a in header["arrays"]] != [a[0] for a in _ARRAYS]:
            raise ValueError("of another version")
        if header.get("digest") != digest or header.get("segments") != n_edges:
            raise ValueError("another manifest's")
        shape = (int(header["shape"][0]), int(header["shape"][1]))
        x, first, start, items = arrays["x"], arrays["first"], arrays["cell_start"], arrays["cell_items"]
        if (  # keyed, so written here: the sizes are checked, not every value
            len(first) != n_edges + 1
            or len(arrays["y"]) != len(x)
            or len(start) != shape[0] * shape[1] + 1
            or int(first[-1]) != len(x)
            or int(start[-1]) != len(items)
        ):
            raise ValueError("its arrays do not fit together")
        component = np.zeros(n_edges, dtype=np.int64)
        component[arrays["fragment_edge"]] = arrays["fragment"]
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        log.info("the snapping grid %s is not used (%s)", file, exc)
        file.unlink(missing_ok=True)
        return None
    return SnapGrid(
        x=x,
        y=arrays["y"],
        first=first,
        component=component,
        origin=(float(header["origin"][0]), float(header["origin"][1])),
        cell_m=float(header["cell_m"]),
        shape=shape,
        cell_start=start,
        cell_items=items,
    )


@dataclass(frozen=True)
class GridReader:
    """What reads a store entry's kept grid when first asked (picklable; the store's key is looked up then).

    Attributes
    ----------
    entry
        The entry's folder.
    digest
        Its manifest's digest (``geo.store.manifest_digest``).
    n_edges
        Its segments' count.
    """

    entry: Path
    digest: str
    n_edges: int

    def __call__(self) -> SnapGrid | None:
        """The kept grid, or None (not kept, not keyed with this computer's key, another manifest's)."""
        from geo.errors import InputError
        from geo.store import store_secret

        try:
            secret = store_secret(self.entry.parent.parent)
        except InputError:
            return None
        return read_grid(self.entry / GRID_FILE, secret=secret, digest=self.digest, n_edges=self.n_edges)

    def keep(self, grid: SnapGrid) -> None:
        """Keep ``grid`` (made from the entry's lines) in the entry, if this computer holds the store's key."""
        from geo.errors import InputError
        from geo.store import store_secret

        try:
            secret = store_secret(self.entry.parent.parent)
        except InputError:
            return
        write_grid(self.entry / GRID_FILE, grid, secret=secret, digest=self.digest)
