"""A street network from the planner's own road layer (issue 30): lines in, noded, the engine's network out.

A planning bureau's road centre lines (Shapefile, GeoPackage, GeoJSON, a zipped
Shapefile; CGCS2000 Gauss–Krüger, WGS-84, or an AMap export in GCJ-02) are read
as LineString / MultiLineString features and turned into the very form the
GraphML path gives (``geo.network.network_from_arrays``: projected nodes and
undirected segments, lengths in metres), so the engine needs no change.

What a network dataset build does, done the way a planner's layer needs it:

- **Road classes.** A class column (``highway``, ``fclass``, ``道路等级``, ``等级`` …)
  says which roads can be walked: expressways and their ramps cannot by default
  (``NOT_WALKABLE``); a ``--walkable`` CSV (class, walkable) overrides; a ``walk``
  (yes/no) column, where present, says it per road and wins.
- **End points joined.** Line ends within ``join_m`` (1 m by default) of each
  other become one node; a dangling end within ``join_m`` of another line on
  its level is moved onto it (an undershoot).
- **Noding.** Lines that cross get a node there, unless a level column
  (``layer``, ``z_level``) or a bridge / tunnel column (``bridge``, ``tunnel``,
  ``桥梁``, ``隧道``) says they pass over each other; a line's end on another line
  is always a junction, and so is a vertex both lines share unless their z-levels
  differ (OSM's way of drawing a junction).
- **Dropped.** Duplicate segments (the same two nodes, the same length: a road
  drawn twice, overlapping lines) and zero-length ones.

Everything is vectorised (shapely 2, one STRtree per step, numpy), so memory
follows the number of lines. The topology report (``RoadReport``: dangles,
fragments and the share of the length in the largest, end points joined,
crossings noded and not noded, segments dropped) rides with the network in
``network.derived["road_report"]`` and is kept by the store.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError
from scipy.sparse.csgraph import connected_components

from geo._validate import existing
from geo._vector import VECTOR_SUFFIXES, read_vector
from geo.chinacrs import geometries_to_wgs84
from geo.errors import InputError
from geo.io import MAX_INPUT_MB
from geo.network import StreetNetwork, _is_metric, _utm_zone, network_from_arrays
from geo.notes import Note, note

__all__ = [
    "BRIDGE_COLUMNS",
    "CLASS_COLUMNS",
    "DEFAULT_JOIN_M",
    "LEVEL_COLUMNS",
    "NOT_WALKABLE",
    "ROAD_SUFFIXES",
    "TUNNEL_COLUMNS",
    "WALK_COLUMNS",
    "RoadOptions",
    "RoadReport",
    "is_road_layer",
    "parse_network_crs",
    "prepare_roads",
    "read_road_layer",
    "read_walkable",
    "road_notes",
]

log = logging.getLogger(__name__)

#: File endings read as a road layer (the vector files every reader takes).
ROAD_SUFFIXES = tuple(sorted(VECTOR_SUFFIXES))
#: End points closer than this (metres) are joined, by default.
DEFAULT_JOIN_M = 1.0
#: The columns that may give a road's class, in the order looked for (matched without case or spaces).
CLASS_COLUMNS = ("highway", "fclass", "道路等级", "等级", "道路类型", "road_class", "roadclass", "class", "kind")
#: The columns that may say a road can be walked (yes/no), over its class.
WALK_COLUMNS = ("walk", "walkable", "步行", "可步行")
#: The columns giving a road's vertical level (a number; 0 at grade).
LEVEL_COLUMNS = ("layer", "z_level", "zlevel", "层", "层级")
#: The columns saying a road is a bridge / a tunnel (any value but no / 0 / 否 / blank).
BRIDGE_COLUMNS = ("bridge", "桥梁", "是否桥梁", "桥")
TUNNEL_COLUMNS = ("tunnel", "隧道", "是否隧道")
#: Road classes nobody walks on, by default: motorways / expressways and their ramps (OSM, Geofabrik, Chinese).
NOT_WALKABLE = frozenset(
    {
        "motorway",
        "motorway_link",
        "expressway",
        "expressway_link",
        "高速公路",
        "高速",
        "快速路",
        "城市快速路",
        "快速路匝道",
        "高速公路匝道",
        "高速匝道",
        "匝道",
    }
)
_YES = {"yes", "y", "true", "t", "1", "是", "可", "可以", "有"}
_NO = {"no", "n", "false", "f", "0", "否", "不", "不可", "无", "none", ""}
_NODE_TOL = 1e-3  # metres: split points this close are one node (floating error of computed crossings)
_AT_END = 1e-6  # metres: a crossing this close to a line's end is at that end


@dataclass(frozen=True)
class RoadOptions:
    """How a road layer is read (``--network-crs``, ``--join-ends-m``, ``--walkable``): part of its store key.

    Attributes
    ----------
    network_crs
        ``parse_network_crs``'s answer: gcj02, bd09, wgs84, a CRS, or None (the file's own).
    join_m
        Line ends closer than this many metres are joined.
    walkable
        Road class -> walkable pairs over the defaults (``read_walkable``), sorted.
    """

    network_crs: str | None = None
    join_m: float = DEFAULT_JOIN_M
    walkable: tuple[tuple[str, bool], ...] = ()

    @classmethod
    def of(cls, network_crs: str | None = None, join_m: float | None = None, walkable: object = None) -> RoadOptions:
        """Options as the faces give them: a CRS text, a tolerance (None: the default), a mapping file or dict."""
        mapping = walkable if isinstance(walkable, dict) else read_walkable(walkable)
        return cls(
            parse_network_crs(network_crs),
            DEFAULT_JOIN_M if join_m is None else float(join_m),
            tuple(sorted(mapping.items())),
        )

    def record(self) -> dict:
        """The options as JSON (the store's key and manifest)."""
        return {"network_crs": self.network_crs, "join_m": self.join_m, "walkable": [list(p) for p in self.walkable]}

    @classmethod
    def from_record(cls, record: dict) -> RoadOptions:
        """Options back from ``record``."""
        pairs = tuple((str(c), bool(w)) for c, w in record.get("walkable", []))
        return cls(record.get("network_crs"), float(record.get("join_m", DEFAULT_JOIN_M)), pairs)


@dataclass(frozen=True)
class RoadReport:
    """What building a network from a road layer found, as a network dataset build reports it.

    Attributes
    ----------
    counts
        ``features``, ``not_walkable`` (features left out by class or ``walk``), ``class_column``,
        ``walk_column``, ``level_columns``, ``joined`` (end points moved to join another),
        ``crossings_noded``, ``crossings_not_noded``, ``zero_length`` and ``duplicates`` (segments
        dropped), ``dangles``, ``fragments`` (parts cut off from the largest), ``largest_share``
        (the largest part's share of the length), ``nodes``, ``segments``, ``km``, ``crs``.
    issues
        Points and lines the planner can inspect (``kind``: ``dangle``, ``joined``, ``crossing_noded``,
        ``crossing_not_noded``, ``zero_length``, ``duplicate``, ``fragment``), in the network's CRS.
    """

    counts: dict
    issues: gpd.GeoDataFrame = field(repr=False)


def is_road_layer(path: str | Path) -> bool:
    """A network file given as a road layer (a vector file of lines), not GraphML / OSM."""
    return Path(path).suffix.lower() in ROAD_SUFFIXES


def parse_network_crs(text: str | None) -> str | None:
    """``--network-crs`` checked: ``gcj02``, ``bd09``, ``wgs84`` or a CRS PROJ knows (``EPSG:4547``); None if not given.

    Raises
    ------
    InputError
        A CRS PROJ does not know.
    """
    if text is None or not str(text).strip():
        return None
    value = str(text).strip()
    if value.lower() in ("gcj02", "bd09", "wgs84"):
        return value.lower()
    try:
        crs = CRS.from_user_input(value)
    except CRSError:
        raise InputError(
            "roads_bad_crs",
            column="--network-crs",
            value=value[:60],
        ) from None
    return crs.to_string()


def read_walkable(path: str | Path | None) -> dict[str, bool]:
    """A ``--walkable`` mapping file: a CSV of road class, walkable (yes/no) -> {class: walkable}.

    The first column is the class as the layer writes it, the second yes/no (是/否, 1/0,
    true/false); a header row is allowed. Classes not listed keep the default (``NOT_WALKABLE``).

    Raises
    ------
    InputError
        The file is missing, or a row does not say yes or no.
    """
    if path is None:
        return {}
    path = existing(path, "walkable mapping", max_mb=16)
    mapping: dict[str, bool] = {}
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gbk"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InputError("roads_walkable_encoding", file=path.name)
    for number, row in enumerate(csv.reader(text.splitlines()), start=1):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if len(cells) < 2:
            raise InputError(
                "roads_walkable_missing",
                file=path.name,
                row=number,
            )
        answer = cells[1].lower()
        if answer in _YES or answer in _NO - {""}:
            mapping[_norm(cells[0])] = answer in _YES
        elif number == 1:
            continue  # a header row
        else:
            raise InputError(
                "roads_walkable_value",
                file=path.name,
                row=number,
                value=cells[1],
            )
    if not mapping:
        raise InputError("roads_walkable_empty", file=path.name)
    return mapping


def prepare_roads(
    path: str | Path,
    *,
    crs: object | None = None,
    network_crs: str | None = None,
    join_m: float = DEFAULT_JOIN_M,
    walkable: dict[str, bool] | None = None,
    source: str | None = None,
    clip_to: shapely.Geometry | None = None,
) -> StreetNetwork:
    """The prepared network of a road layer, noded; its ``RoadReport`` in ``network.derived["road_report"]``.

    Parameters
    ----------
    path
        A Shapefile (or a zip of one), GeoPackage or GeoJSON of LineString / MultiLineString features.
    crs
        The metric CRS to work in; ``None`` keeps a projected layer's (in metres), else its local UTM zone.
    network_crs
        The system of a layer's coordinates when the file does not say it, or says WGS-84 for GCJ-02 / BD-09
        lon/lat (an AMap / Baidu export): ``gcj02``, ``bd09``, ``wgs84`` or an EPSG code (``parse_network_crs``).
    join_m
        Line ends closer than this many metres are joined into one node.
    walkable
        Road class -> walkable, over the defaults (``read_walkable``).
    source
        What the planner calls the network, for the messages; ``None``: the file's name.
    clip_to
        A polygon in lon/lat: only the roads reaching into it are kept; ``None`` keeps all.

    Returns
    -------
    StreetNetwork
        As ``geo.network.network_from_arrays`` gives it (nodes numbered 0..n-1).

    Raises
    ------
    InputError
        The file cannot be read, holds other geometries than lines, states no CRS and none is given,
        or no walkable road is left.
    """
    path = existing(path, "network", max_mb=MAX_INPUT_MB)
    source = source or path.name
    if not np.isfinite(join_m) or join_m < 0:
        raise InputError("roads_join_not_distance", join_m=join_m)
    layer = _read_layer(path, network_crs, source)
    if clip_to is not None:
        area = gpd.GeoSeries([clip_to], crs=4326).to_crs(layer.crs).iloc[0]
        layer = layer[layer.intersects(area)].reset_index(drop=True)
        if layer.empty:
            raise InputError("roads_none_in_clip", file=source)
    counts: dict = {"features": len(layer)}
    keep, walk_counts = _walkable(layer, walkable or {}, source)
    counts.update(walk_counts)
    layer = layer[keep]
    if layer.empty:
        raise InputError(
            "roads_none_walkable",
            file=source,
            column=walk_counts.get("class_column") or None,
        )
    level, flagged, z_level, counts["level_columns"] = _levels(layer)
    target = crs if crs is not None else (layer.crs if _is_metric(layer.crs) else None)
    if target is None:
        target = _utm_zone(shapely.get_coordinates(layer.geometry.to_numpy())[::97], layer.crs, source)
    layer = layer.to_crs(target)
    lines, part_of = shapely.get_parts(layer.geometry.to_numpy(), return_index=True)
    lines = shapely.force_2d(lines)
    level, flagged, z_level = level[part_of], flagged[part_of], z_level[part_of]
    issues: list[tuple[str, np.ndarray]] = []  # (kind, its points or lines), as arrays
    # zero-length lines (and parts with fewer than 2 distinct points) dropped
    short = shapely.length(lines) < _NODE_TOL
    counts["zero_length"] = int(short.sum())
    issues.append(("zero_length", shapely.get_point(lines[short], 0)))
    lines, level, flagged, z_level = lines[~short], level[~short], flagged[~short], z_level[~short]
    if not len(lines):
        raise InputError(
            "roads_all_zero",
            file=source,
            n=counts["zero_length"],
        )
    lines, splits, joined = _join_ends(lines, level, join_m)
    counts["joined"] = len(joined)
    issues.append(("joined", _points(joined)))
    cross_splits, noded, not_noded = _crossings(lines, level, flagged, z_level)
    counts["crossings_noded"], counts["crossings_not_noded"] = len(noded), len(not_noded)
    issues += [("crossing_noded", _points(noded)), ("crossing_not_noded", _points(not_noded))]
    split_line = np.concatenate([splits[0], cross_splits[0]])
    split_xy = np.concatenate([splits[1], cross_splits[1]])
    pieces = _cut(lines, split_line, split_xy)
    cluster_m = max(join_m, _NODE_TOL)  # a cluster tolerance: junctions within join_m are one, as ends are
    xy, u, v, pieces = _nodes(pieces, cluster_m)
    # duplicates (the same two nodes, the same length) and pieces shorter than a node's tolerance dropped
    length = shapely.length(pieces)
    tiny = (length < _NODE_TOL) | ((u == v) & (length < 2 * cluster_m))  # and a piece the joining closed up
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    frame = pd.DataFrame({"lo": lo, "hi": hi, "len": np.round(length, 2)})
    twin = frame.duplicated().to_numpy() & ~tiny
    counts["duplicates"] = int(twin.sum())
    issues.append(("duplicate", pieces[twin]))
    keep = ~tiny & ~twin
    u, v, pieces = u[keep], v[keep], pieces[keep]
    used = np.unique(np.concatenate([u, v]))
    renumber = np.full(len(xy), -1, dtype=np.int64)
    renumber[used] = np.arange(len(used))
    xy, u, v = xy[used], renumber[u], renumber[v]
    network = network_from_arrays(xy, u, v, pieces, crs=target)
    counts.update(_topology(network, issues))
    counts["crs"] = network.crs.to_string()
    report = RoadReport(counts, _issues_frame(issues, network.crs))
    network.derived["road_report"] = report
    log.info("%s: %s", source, counts)
    return network


def read_road_layer(path: str | Path, network_crs: str | None = None, source: str | None = None) -> gpd.GeoDataFrame:
    """A road layer's line features as read, in a stated CRS (GCJ-02 / BD-09 lon/lat moved to WGS-84), not noded.

    Raises
    ------
    InputError
        As ``prepare_roads`` says of the file: unreadable, not lines, no CRS and none given.
    """
    path = existing(path, "network", max_mb=MAX_INPUT_MB)
    return _read_layer(path, network_crs, source or path.name)


def _read_layer(path: Path, network_crs: str | None, source: str) -> gpd.GeoDataFrame:
    """The layer's line features in a stated CRS (GCJ-02 / BD-09 lon/lat moved to WGS-84)."""
    system = parse_network_crs(network_crs)
    assume = "EPSG:4326" if system in ("gcj02", "bd09", "wgs84") else system
    try:
        layer = read_vector(path, what="roads", assume_crs=assume)
    except InputError as exc:
        if "has no coordinate reference system" not in exc.problem:
            raise
        raise InputError(
            "roads_no_crs",
            file=source,
        ) from None
    kinds = layer.geom_type.to_numpy()
    bad = np.flatnonzero(~np.isin(kinds, ("LineString", "MultiLineString")))
    if len(bad):
        raise InputError(
            "roads_not_lines",
            file=source,
            row=int(bad[0]) + 1,
            column="geometry",
            kind=kinds[bad[0]],
            n=len(bad),
        )
    if (
        system not in (None, "gcj02", "bd09", "wgs84")
        and not layer.attrs.get("crs_assumed")
        and _differ(layer.crs, system)
    ):
        raise InputError(
            "roads_crs_differs",
            file=source,
            stated=layer.crs.to_string(),
            system=system,
        )
    if system in ("gcj02", "bd09"):
        if not layer.crs.is_geographic:
            raise InputError(
                "roads_gcj_projected",
                file=source,
                system=system,
                crs=layer.crs.to_string(),
            )
        layer = geometries_to_wgs84(layer, system)
    layer.attrs["system"] = system
    return layer.reset_index(drop=True)


def _differ(stated: CRS, said_crs: str) -> bool:
    """Whether a file's CRS is another than the one the planner said (an ESRI .prj of the same one is not)."""
    other = CRS(said_crs)
    if stated.equals(other, ignore_axis_order=True):
        return False
    code = other.to_epsg()
    return code is None or stated.to_epsg(min_confidence=70) != code


def _norm(text: object) -> str:
    return str(text).strip().lower().replace(" ", "").replace("_", "")


def _column(layer: gpd.GeoDataFrame, names: tuple[str, ...]) -> str | None:
    """The layer's first column named one of ``names`` (without case, spaces or underscores)."""
    headers = {_norm(c): c for c in layer.columns if c != layer.geometry.name}
    return next((headers[_norm(n)] for n in names if _norm(n) in headers), None)


def _answers(values: pd.Series) -> np.ndarray:
    """Per row: yes (1), no (0) or not said (-1)."""
    text = values.astype(object).where(values.notna(), "").map(lambda x: str(x).strip().lower())
    return np.where(text.isin(_YES), 1, np.where(text.isin(_NO - {""}), 0, -1))


def _walkable(layer: gpd.GeoDataFrame, mapping: dict[str, bool], source: str) -> tuple[np.ndarray, dict]:
    """Which features can be walked: the ``walk`` column where it says, else the class (``mapping`` over defaults)."""
    keep = np.ones(len(layer), dtype=bool)
    class_column, walk_column = _column(layer, CLASS_COLUMNS), _column(layer, WALK_COLUMNS)
    if class_column is not None:
        classes = layer[class_column].astype(object).where(layer[class_column].notna(), "").map(_norm)
        default = {_norm(c): False for c in NOT_WALKABLE}
        rule = {**default, **mapping}
        keep = classes.map(lambda c: rule.get(c, True)).to_numpy(dtype=bool)
    if walk_column is not None:
        answer = _answers(layer[walk_column])
        odd = np.flatnonzero((answer < 0) & layer[walk_column].notna().to_numpy())
        odd = [i for i in odd if str(layer[walk_column].iloc[i]).strip()]
        if odd:
            raise InputError(
                "roads_walk_value",
                file=source,
                row=int(odd[0]) + 1,
                column=walk_column,
                value=str(layer[walk_column].iloc[odd[0]])[:60],
                n=len(odd),
            )
        keep = np.where(answer >= 0, answer == 1, keep)
    counts = {
        "class_column": class_column or "",
        "walk_column": walk_column or "",
        "not_walkable": int((~keep).sum()),
    }
    return keep, counts


def _levels(layer: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """Each feature's level (bridges +1, tunnels -1 where no level is given), whether it is over/under, its z-level.

    The z-level is the level column's value (0 where none is given): it alone decides at a shared vertex.
    """
    n = len(layer)
    level = np.zeros(n)
    flagged = np.zeros(n, dtype=bool)
    used = []
    bridge, tunnel = _column(layer, BRIDGE_COLUMNS), _column(layer, TUNNEL_COLUMNS)
    for column, sign in ((bridge, 1.0), (tunnel, -1.0)):
        if column is None:
            continue
        answer = _answers(layer[column])
        text = layer[column].astype(object).where(layer[column].notna(), "").map(lambda x: str(x).strip())
        on = (answer == 1) | ((answer < 0) & (text != "")).to_numpy()  # any value but no: viaduct, building_passage …
        flagged |= on
        level = np.where(on, sign, level)
        used.append(column)
    column = _column(layer, LEVEL_COLUMNS)
    if column is not None:
        given = pd.to_numeric(layer[column], errors="coerce").to_numpy(dtype=float)
        level = np.where(np.isfinite(given), given, level)
        flagged |= np.isfinite(given) & (given != 0)
        used.append(column)
        return level, flagged, np.where(np.isfinite(given), given, 0.0), ", ".join(used)
    return level, flagged, np.zeros(n), ", ".join(used)


def _ends(lines: np.ndarray) -> np.ndarray:
    """Each line's first and last point: shape (n, 2, 2)."""
    counts = shapely.get_num_coordinates(lines)
    coords = shapely.get_coordinates(lines)
    last = np.cumsum(counts) - 1
    return np.stack([coords[last - counts + 1], coords[last]], axis=1)


def _set_ends(lines: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The lines with their first and last points set to ``ends`` (n, 2, 2)."""
    counts = shapely.get_num_coordinates(lines)
    coords = shapely.get_coordinates(lines)
    last = np.cumsum(counts) - 1
    coords[last - counts + 1], coords[last] = ends[:, 0], ends[:, 1]
    return shapely.set_coordinates(lines.copy(), coords)


def _clusters(xy: np.ndarray, tolerance: float) -> np.ndarray:
    """A cluster label per point: points within ``tolerance`` of each other (chained) share one, the first's."""
    tree = shapely.STRtree(shapely.points(xy))
    a, b = tree.query(shapely.points(xy), predicate="dwithin", distance=tolerance)
    graph = sp.coo_matrix((np.ones(len(a)), (a, b)), shape=(len(xy), len(xy)))
    _, label = connected_components(graph, directed=False)
    first = np.full(label.max() + 1, len(xy))
    np.minimum.at(first, label, np.arange(len(xy)))
    return first[label]


def _join_ends(lines: np.ndarray, level: np.ndarray, join_m: float) -> tuple[np.ndarray, tuple, np.ndarray]:
    """End points within ``join_m`` made one; a dangling end within ``join_m`` of a line on its level moved onto it.

    Returns the lines, the splits that puts on other lines (line, xy) and the places where ends were joined.
    """
    ends = _ends(lines).reshape(-1, 2)
    unique, inverse = np.unique(ends, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    joined = [np.empty((0, 2))]
    if join_m > 0 and len(unique) > 1:
        label = _clusters(unique, join_m)
        moved = np.flatnonzero(label != np.arange(len(unique)))
        joined.append(unique[np.unique(label[moved])])
        unique = unique[label]
    ends = unique[inverse]
    # dangling ends: one line end at that place (it may still touch another line: then it is left)
    _, at, count = np.unique(ends, axis=0, return_inverse=True, return_counts=True)
    lonely = count[at.ravel()] == 1
    split_line, split_xy = np.empty(0, dtype=np.int64), np.empty((0, 2))
    if join_m > 0 and lonely.any():
        which = np.flatnonzero(lonely)
        owner = which // 2
        tree = shapely.STRtree(lines)
        pts = shapely.points(ends[which])
        p, line = tree.query(pts, predicate="dwithin", distance=join_m)
        other = (line != owner[p]) & (level[line] == level[owner[p]])
        p, line = p[other], line[other]
        dist = shapely.distance(pts[p], lines[line])
        touching = np.zeros(len(pts), dtype=bool)
        touching[p[dist < _AT_END]] = True
        near = pd.DataFrame({"p": p, "line": line, "dist": dist}).sort_values(["p", "dist", "line"])
        near = near[~touching[near["p"].to_numpy()]].drop_duplicates("p")
        if len(near):
            pi, li = near["p"].to_numpy(), near["line"].to_numpy()
            onto = shapely.line_interpolate_point(lines[li], shapely.line_locate_point(lines[li], pts[pi]))
            onto_xy = shapely.get_coordinates(onto)
            ends[which[pi]] = onto_xy
            split_line, split_xy = li.astype(np.int64), onto_xy
            joined.append(onto_xy)
    lines = _set_ends(lines, ends.reshape(-1, 2, 2))
    return lines, (split_line, split_xy), np.concatenate(joined)


def _crossings(
    lines: np.ndarray, level: np.ndarray, flagged: np.ndarray, z_level: np.ndarray
) -> tuple[tuple, np.ndarray, np.ndarray]:
    """Where lines meet: (splits (line, xy) to make, crossings noded, crossings passed over).

    A meeting at either line's end is a junction; so is a vertex both lines share, unless their z-levels
    (``layer``, ``z_level``) differ; a crossing of two lines' insides is noded when both are on one level
    and neither is a bridge or a tunnel.
    """
    tree = shapely.STRtree(lines)
    a, b = tree.query(lines, predicate="intersects")
    pair = a < b
    a, b = a[pair], b[pair]
    if not len(a):
        return (np.empty(0, dtype=np.int64), np.empty((0, 2))), np.empty((0, 2)), np.empty((0, 2))
    meet = shapely.intersection(lines[a], lines[b])
    coords, which = shapely.get_coordinates(meet, return_index=True)  # crossing points; an overlap's vertices
    a, b = a[which], b[which]
    ends = _ends(lines)
    at_end = np.zeros(len(coords), dtype=bool)
    for line in (a, b):
        for k in (0, 1):
            at_end |= np.hypot(*(coords - ends[line, k]).T) < _AT_END
    # a vertex both lines share is a junction (OSM, a network drawn with snapping) unless their z-levels differ
    shared = _is_vertex(lines, a, coords) & _is_vertex(lines, b, coords) & (z_level[a] == z_level[b])
    same = (level[a] == level[b]) & ~flagged[a] & ~flagged[b]
    node = at_end | shared | same
    inside = ~at_end
    noded = _distinct(coords[inside & node])
    passed = _distinct(coords[inside & ~node])
    split_line = np.concatenate([a[node], b[node]])
    split_xy = np.concatenate([coords[node], coords[node]])
    return (split_line, split_xy), noded, passed


def _is_vertex(lines: np.ndarray, line: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Whether each point ``xy`` is (exactly) a vertex of its line ``line``."""
    coords, owner = shapely.get_coordinates(lines[np.unique(line)], return_index=True)
    owner = np.unique(line)[owner]
    vertices = pd.MultiIndex.from_arrays([owner, coords[:, 0], coords[:, 1]])
    return pd.MultiIndex.from_arrays([line, xy[:, 0], xy[:, 1]]).isin(vertices)


def _distinct(xy: np.ndarray) -> np.ndarray:
    """Places, one per cluster of points within a node's tolerance."""
    if not len(xy):
        return np.empty((0, 2))
    label = _clusters(xy, _NODE_TOL)
    return xy[np.unique(label)]


def _cut(lines: np.ndarray, split_line: np.ndarray, split_xy: np.ndarray) -> np.ndarray:
    """Each line cut at its split points (vectorised): the pieces, in line order."""
    coords, vline = shapely.get_coordinates(lines, return_index=True)
    step = np.hypot(*np.diff(coords, axis=0).T)
    step = np.concatenate([[0.0], np.where(vline[1:] == vline[:-1], step, 0.0)])
    along = np.cumsum(step)
    start = np.zeros(len(lines))
    first = np.flatnonzero(np.concatenate([[True], vline[1:] != vline[:-1]]))
    start[vline[first]] = along[first]
    vdist = along - start[vline]
    sdist = shapely.line_locate_point(lines[split_line], shapely.points(split_xy)) if len(split_line) else np.empty(0)
    length = shapely.length(lines)
    inner = (sdist > _AT_END) & (sdist < length[split_line] - _AT_END)
    split_line, split_xy, sdist = split_line[inner], split_xy[inner], sdist[inner]
    rows_line = np.concatenate([vline, split_line])
    rows_dist = np.concatenate([vdist, sdist])
    rows_xy = np.concatenate([coords, split_xy])
    rows_split = np.concatenate([np.zeros(len(vline), dtype=bool), np.ones(len(split_line), dtype=bool)])
    order = np.lexsort((rows_split, rows_dist, rows_line))
    rows_line, rows_xy, rows_split = rows_line[order], rows_xy[order], rows_split[order]
    new_line = np.concatenate([[1], (rows_line[1:] != rows_line[:-1]).astype(np.int64)])
    piece = np.cumsum(new_line) - 1 + (np.cumsum(rows_split) - rows_split)
    # a split row ends one piece and starts the next: given twice
    dup = np.flatnonzero(rows_split)
    all_xy = np.concatenate([rows_xy, rows_xy[dup]])
    all_piece = np.concatenate([piece, piece[dup] + 1])
    rank = np.concatenate([2 * np.arange(len(piece)), 2 * dup + 1])  # the repeated split point starts its piece
    order = np.lexsort((rank, all_piece))
    all_xy, all_piece = all_xy[order], all_piece[order]
    n_coords = np.bincount(all_piece)
    if (n_coords < 2).any():  # cannot happen: a piece runs between two rows; kept safe
        keep = np.isin(all_piece, np.flatnonzero(n_coords >= 2))
        all_xy, all_piece = all_xy[keep], np.unique(all_piece[keep], return_inverse=True)[1].ravel()
    return shapely.linestrings(all_xy, indices=all_piece)


def _nodes(pieces: np.ndarray, tolerance: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Node coordinates and each piece's two nodes (ends within a node's tolerance are one), ends set to them."""
    ends = _ends(pieces).reshape(-1, 2)
    unique, inverse = np.unique(ends, axis=0, return_inverse=True)
    label = _clusters(unique, tolerance)
    keep, node_of = np.unique(label, return_inverse=True)
    xy = unique[keep]
    node = node_of.ravel()[inverse.ravel()].reshape(-1, 2)
    pieces = _set_ends(pieces, xy[node])
    return xy, node[:, 0], node[:, 1], pieces


def _topology(network: StreetNetwork, issues: list) -> dict:
    """Dangles, fragments and the largest part's share of the length; their issues added."""
    u, v = network.edges["u"].to_numpy(), network.edges["v"].to_numpy()
    degree = np.bincount(np.concatenate([u, v]), minlength=network.n_nodes)
    dangles = np.flatnonzero(degree == 1)
    issues.append(("dangle", network.nodes.geometry.to_numpy()[dangles]))
    component = network.nodes["component"].to_numpy()[u]
    length = network.edges["length_m"].to_numpy()
    total = float(length.sum())
    main = float(length[component == 0].sum())
    off = component > 0
    issues.append(("fragment", network.edges.geometry.to_numpy()[off]))
    return {
        "dangles": len(dangles),
        "fragments": int(network.nodes["component"].max()),
        "fragment_km": round((total - main) / 1000, 3),
        "largest_share": round(main / total, 4) if total else 0.0,
        "nodes": network.n_nodes,
        "segments": len(network.edges),
        "km": round(total / 1000, 3),
    }


def _issues_frame(issues: list, crs: CRS) -> gpd.GeoDataFrame:
    """The issues as one layer: ``kind`` and a point or a line."""
    kinds = np.concatenate([np.full(len(g), k, dtype=object) for k, g in issues])
    geometry = np.concatenate([np.asarray(g, dtype=object) for _, g in issues])
    return gpd.GeoDataFrame({"kind": pd.Series(kinds, dtype=object)}, geometry=geometry, crs=crs)


def _points(xy: list) -> np.ndarray:
    """Points of (x, y) pairs, at once."""
    return shapely.points(np.asarray(xy, dtype=float).reshape(-1, 2))


def road_notes(report: RoadReport, source: str) -> list[Note]:
    """What was read, as notes: the layer, the classes left out, the topology."""
    c = report.counts
    notes = [
        note(
            "roads_read",
            file=source,
            n=c["features"],
            nodes=c["nodes"],
            segments=c["segments"],
            km=c["km"],
            crs=c["crs"],
        )
    ]
    if c.get("not_walkable"):
        column = c.get("class_column") or c["walk_column"]
        notes.append(note("roads_not_walkable", n=c["not_walkable"], column=column, option="--walkable"))
    notes.append(
        note(
            "roads_topology",
            joined=c["joined"],
            noded=c["crossings_noded"],
            not_noded=c["crossings_not_noded"],
            levels=c.get("level_columns") or "-",
            zero=c["zero_length"],
            duplicates=c["duplicates"],
            dangles=c["dangles"],
            fragments=c["fragments"],
            share=c["largest_share"] * 100,
            layer="network_issues",
        )
    )
    return notes
