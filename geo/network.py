"""The street network in the form analysis needs: projected, undirected segments.

Walking is two-way on every street, so the osmnx graph is reduced to its
undirected street segments, each with a geometry that runs from its ``u`` node
to its ``v`` node and a length measured on that geometry in metres.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from scipy.sparse.csgraph import connected_components

from geo._validate import declares_entities, off_earth
from geo.errors import InputError, reading

if TYPE_CHECKING:  # networkx is imported where a graph is read or built, not by every command
    import networkx as nx

__all__ = [
    "NETWORK_SUFFIXES",
    "GraphArrays",
    "StreetNetwork",
    "check_graph",
    "check_nodes",
    "check_xml_file",
    "entities_refused",
    "network_from_arrays",
    "parse_crs",
    "prepare_arrays",
    "prepare_network",
    "read_graph",
]

#: The network files read, by ending (``.osm.pbf`` ends in ``.pbf``).
NETWORK_SUFFIXES = (".graphml", ".osm", ".pbf")
# What the GraphML / OSM XML parsers raise on a bad file: XML errors (ParseError is a SyntaxError), a value of
# the wrong type (ValueError, TypeError, a list nested too deep: RecursionError), a bad WKT geometry (shapely).
_GRAPH_ERRORS = (OSError, ValueError, KeyError, TypeError, SyntaxError, RecursionError)  # and networkx's (read_graph)
_XML_HEAD = 1 << 20  # a DTD comes before the first element: the head of the file is enough to find it
_INT64 = (-(2**63), 2**63 - 1)


@dataclass(frozen=True, eq=False)
class GraphArrays:
    """A street graph as arrays, in the order an osmnx graph lists its nodes and edges (``prepare_arrays``).

    Attributes
    ----------
    node_ids
        The node ids (OSM ids), int64.
    xy
        Node coordinates, shape (n, 2), in ``crs``; NaN where a node has none.
    u_ids, v_ids
        Each directed edge's start and end node ids.
    geometry
        Each edge's LineString from ``u`` to ``v`` in ``crs``, or None where it runs straight.
    crs
        The CRS of the coordinates (an osmnx graph's ``crs`` attribute).
    """

    node_ids: np.ndarray
    xy: np.ndarray
    u_ids: np.ndarray
    v_ids: np.ndarray
    geometry: np.ndarray | list
    crs: object


@dataclass(frozen=True, eq=False)
class StreetNetwork:
    """A projected walking network.

    Attributes
    ----------
    graph
        The projected osmnx graph (the model; networkx is the reference in
        tests), or None for a network built from arrays (``network_from_arrays``).
    nodes
        One row per node, in position order ``0..n-1``; index is the OSM node id;
        ``component`` numbers the connected parts by size (0 is the largest:
        the main network; others are fragments cut off from it).
    edges
        One row per street segment: ``u``, ``v`` (node positions), ``length_m``
        and a LineString from node ``u`` to node ``v``.
    crs
        The metric CRS all analysis runs in.
    derived
        What the analysis derives from the segments and reuses (e.g. the routing
        arrays per speed), filled on first use; the network itself never changes.
    """

    graph: nx.MultiDiGraph | None
    nodes: gpd.GeoDataFrame
    edges: gpd.GeoDataFrame
    crs: CRS
    derived: dict = field(default_factory=dict, repr=False)

    @property
    def n_nodes(self) -> int:
        """The number of nodes."""
        return len(self.nodes)


def read_graph(path: Path) -> nx.MultiDiGraph:
    """A network file as an osmnx graph, checked: GraphML (osmnx), OSM XML (``.osm``) or an ``.osm.pbf`` extract.

    A ``.pbf`` is filtered to the walking network (``geo.osm.walk_graph_from_pbf``);
    OSM XML is read with every way two-way, as walking is. A file with a DTD
    (entities: XXE, billion laughs) is refused before it is parsed; whatever the
    parsers find wrong is said once, as an ``InputError``; the graph is then
    checked as ``check_graph`` does.

    Parameters
    ----------
    path
        An existing ``.graphml``, ``.osm`` or ``.osm.pbf`` file (size already checked: ``geo.io.read_network``).

    Returns
    -------
    networkx.MultiDiGraph
        The osmnx graph, unprojected.

    Raises
    ------
    InputError
        Another format, a file the parsers cannot read, or a graph ``check_graph`` refuses.
    """
    import networkx as nx
    import osmnx as ox  # imported when used: it costs most of a command's start-up (sklearn, matplotlib)

    from geo.osm import walk_graph_from_pbf

    suffix = path.suffix.lower()
    if suffix not in NETWORK_SUFFIXES:
        raise InputError("network_unsupported_network_format_suffix", file=path.name, suffix=suffix)
    if suffix == ".pbf":
        graph = walk_graph_from_pbf(path)  # its own messages (osmium)
    else:
        check_xml_file(path, path.name)
        errors = (*_GRAPH_ERRORS, nx.NetworkXException, shapely.errors.ShapelyError)
        with reading(path, "street network", fix="network_file", errors=errors):
            try:
                if suffix == ".graphml":
                    graph = ox.load_graphml(path)
                else:
                    graph = ox.graph_from_xml(path, bidirectional=True, retain_all=False)
            except ox._errors.InsufficientResponseError as exc:  # osmnx's words for an OSM file with no ways
                raise InputError("network_osm_file_holds_no", file=path.name) from exc
    check_graph(graph, path.name)
    return graph


def entities_refused(source: str) -> InputError:
    """The one refusal of a network file with a DTD (entities: XXE, billion laughs), on every path that reads one."""
    return InputError("network_entities", file=source)


def check_xml_file(path: Path, source: str) -> None:
    """Refuse an empty network file, or one with a DTD in its head, before any XML parser sees it.

    ``read_graph`` calls it before osmnx parses a file; the streamed GraphML reader
    (``geo.graphml``) too, and refuses a DTD anywhere as expat meets it.
    """
    with path.open("rb") as f:
        head = f.read(_XML_HEAD)
    if not head.strip():
        raise InputError("network_network_file_empty", file=source)
    if declares_entities(head):
        raise entities_refused(source)


def check_graph(graph: nx.MultiDiGraph, source: str) -> None:
    """Refuse a graph ``prepare_network`` cannot use, saying which node or attribute is wrong.

    A graph needs a ``crs`` PROJ knows (a geographic or projected one), integer
    node ids, and on every node an ``x`` and ``y`` that lie on the Earth in that
    CRS (a node only an edge names has none).

    Parameters
    ----------
    graph
        An osmnx graph as read.
    source
        Where it came from (a file name), for the messages.

    Raises
    ------
    InputError
        No ``crs``, one PROJ does not know, a node id that is not an integer, a node without coordinates,
        or coordinates off the Earth.
    """
    crs = parse_crs(graph.graph.get("crs"), source)
    ids = list(graph.nodes)
    odd = next((n for n in ids if not isinstance(n, int) or not _INT64[0] <= n <= _INT64[1]), None)
    if odd is not None:
        raise InputError("network_node_id_odd_not", file=source, odd=odd)
    xy = np.array([(_number(d.get("x")), _number(d.get("y"))) for _, d in graph.nodes(data=True)], dtype=float)
    check_nodes(ids, xy.reshape(-1, 2), crs, source)


def check_nodes(ids: object, xy: np.ndarray, crs: CRS, source: str) -> None:
    """Refuse nodes without coordinates, or off the Earth in ``crs``: the rule of every network path.

    Parameters
    ----------
    ids
        The node ids, in the order of ``xy`` (for the messages).
    xy
        Node coordinates, shape (n, 2), in ``crs``; NaN where a node has none.
    crs
        The network's CRS (``parse_crs``).
    source
        Where the network came from (a file name), for the messages.

    Raises
    ------
    InputError
        A node without x or y (or an edge to a node not given), or one that lies off the Earth
        (``geo._validate.off_earth``: the range rule of every reader, applied in lon/lat).
    """
    where = np.flatnonzero(np.isnan(xy).any(axis=1))
    if len(where):
        raise InputError(
            "network_nodes_len_where_no",
            file=source,
            n=len(where),
            ids_where_0=ids[where[0]],
        )
    lon, lat = Transformer.from_crs(crs, 4326, always_xy=True).transform(xy[:, 0], xy[:, 1], errcheck=False)
    off = np.flatnonzero(off_earth(np.column_stack([lon, lat, lon, lat]), geographic=True))
    if len(off):
        x, y = xy[off[0]]
        raise InputError(
            "network_nodes_len_off_off",
            file=source,
            n=len(off),
            crs_to_string=crs.to_string(),
            ids_off_0=ids[off[0]],
            x=x,
            y=y,
        )


def _number(value: object) -> float:
    """A coordinate as a float; NaN when missing or not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan


def parse_crs(stated: object, source: str) -> CRS:
    """A network's ``crs`` (the graph attribute) as a pyproj CRS: geographic or projected, one PROJ knows.

    Raises
    ------
    InputError
        None stated, one PROJ does not know, or one that is not a map's.
    """
    if stated is None or (isinstance(stated, str) and not stated.strip()):
        raise InputError("network_network_states_no_coordinate", file=source)
    if isinstance(stated, CRS):
        return stated
    text = str(stated)
    shown = text if len(text) <= 60 else text[:59] + "…"
    try:
        crs = CRS.from_user_input(stated)
    except CRSError as exc:
        raise InputError("network_network_s_coordinate_reference_2", file=source, shown=shown) from exc
    if not (crs.is_geographic or crs.is_projected):
        raise InputError("network_network_s_coordinate_reference", file=source, shown=shown)
    return crs


def prepare_network(
    graph: nx.MultiDiGraph,
    *,
    crs: object | None = None,
    source: str = "network",
    clip_to: shapely.Geometry | None = None,
    consolidate_m: float | None = None,
) -> StreetNetwork:
    """Project an osmnx graph to its local UTM zone and index its segments.

    A graph already in a projected CRS keeps it; ``crs`` forces another.
    ``clip_to`` (a polygon in lon/lat) keeps the streets inside it;
    ``consolidate_m`` merges the nodes of a complex intersection lying within
    that many metres of each other into one (osmnx ``consolidate_intersections``).

    Parameters
    ----------
    graph
        An osmnx graph (``geo.read_network``, ``geo.osm.download_walk_network``).
    crs
        The metric CRS to project to; ``None`` keeps a projected graph's, else its local UTM zone.
    source
        Where the graph came from (a file name), for the messages.
    clip_to
        A polygon in lon/lat: only the streets inside it are kept; ``None`` keeps all.
    consolidate_m
        Tolerance in metres for merging the nodes of one intersection; ``None`` merges none.

    Returns
    -------
    StreetNetwork
        Undirected segments with lengths in metres, nodes numbered by connected part.

    Raises
    ------
    InputError
        The graph has no edges, or none inside ``clip_to``.

    Examples
    --------
    >>> from geo.io import read_network, sample_paths
    >>> net = prepare_network(read_network(sample_paths()["network"]))
    >>> net.crs.to_epsg(), net.n_nodes
    (32632, 2564)
    """
    import osmnx as ox  # imported when used: it costs most of a command's start-up (sklearn, matplotlib)

    _require_edges(graph.number_of_edges(), source)
    crs = _target_crs(graph.graph.get("crs"), crs, source)
    if clip_to is not None:
        try:
            graph = ox.truncate.truncate_graph_polygon(graph, clip_to, truncate_by_edge=True)
        except ValueError as exc:
            raise InputError("network_no_street_network_lies", file=source, exc=exc) from exc
    if consolidate_m:  # merging intersections needs osmnx's projected graph
        projected = ox.project_graph(graph, to_crs=crs)
        projected = ox.consolidate_intersections(
            projected, tolerance=consolidate_m, rebuild_graph=True, dead_ends=True, reconnect_edges=True
        )
        return _segments(_graph_arrays(projected), source=source)
    return prepare_arrays(_graph_arrays(graph), crs=crs, source=source)


def prepare_arrays(arrays: GraphArrays, *, crs: object | None = None, source: str = "network") -> StreetNetwork:
    """Project a network given as arrays (as an osmnx graph lists it) and index its segments, with no graph.

    ``prepare_network`` without clipping or consolidation is this on
    ``GraphArrays`` taken from the graph; ``geo.graphml.read_graphml`` gives
    them straight from a GraphML file.

    Parameters
    ----------
    arrays
        Nodes and edges in the osmnx graph's order, in ``arrays.crs``.
    crs
        The metric CRS to project to; ``None`` keeps a projected network's, else its local UTM zone.
    source
        Where the network came from (a file name), for the messages.

    Returns
    -------
    StreetNetwork
        Undirected segments with lengths in metres, nodes numbered by connected part.

    Raises
    ------
    InputError
        The network has no edges, or a node has no coordinates.
    """
    _require_edges(len(arrays.u_ids), source)
    stated = parse_crs(arrays.crs, source)
    check_nodes(arrays.node_ids, arrays.xy, stated, source)
    target = _target_crs(stated, crs, source)
    xy, geom, crs = _project(arrays.xy, arrays.geometry, from_crs=stated, to_crs=target, source=source)
    u_ids, v_ids, geom = _osmnx_edge_order(arrays.u_ids, arrays.v_ids, geom)
    return _segments(GraphArrays(arrays.node_ids, xy, u_ids, v_ids, geom, crs), source=source)


def _require_edges(n_edges: int, source: str) -> None:
    if n_edges == 0:
        raise InputError("network_street_network_has_no", file=source)


def _target_crs(graph_crs: object, crs: object | None, source: str) -> object | None:
    """The CRS to project to: ``crs`` if given, else the graph's own when metric, else None (its UTM zone).

    A projected CRS in feet is not kept: the network goes to its UTM zone, in metres (``_is_metric``).
    """
    stated = parse_crs(graph_crs, source)
    if crs is None and _is_metric(stated):
        return graph_crs  # already metric: keep it
    return crs


def _segments(arrays: GraphArrays, *, source: str) -> StreetNetwork:
    """The network of projected arrays: nodes in id order, each two-way segment once, oriented from u to v."""
    node_ids, xy, geom = arrays.node_ids, arrays.xy, arrays.geometry
    order = np.argsort(node_ids, kind="stable")  # nodes in id order, as osmnx's frames sorted
    node_ids, xy = node_ids[order], xy[order]
    u, v = np.searchsorted(node_ids, arrays.u_ids), np.searchsorted(node_ids, arrays.v_ids)
    missing = np.isnan(xy[:, 0])
    if missing.any():
        raise InputError("network_int_missing_sum_nodes", file=source, int_missing_sum=int(missing.sum()))
    geom = np.asarray(geom, dtype=object)
    # An edge without a line (none, or an empty one) runs straight between its nodes (osmnx fill_edge_geometry).
    straight = shapely.get_num_points(geom) < 2
    if straight.any():
        geom[straight] = shapely.linestrings(np.stack([xy[u[straight]], xy[v[straight]]], axis=1))
    # Keep each street segment once: a reverse twin (v, u) with the same geometry is dropped.
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    length = np.round(shapely.length(geom), 6)
    first = ~pd.DataFrame({"lo": lo, "hi": hi, "length": length}).duplicated().to_numpy()
    u, v, geom = u[first], v[first], geom[first]
    # Orient each geometry from u to v.
    start = shapely.get_coordinates(shapely.get_point(geom, 0))
    flip = np.hypot(*(start - xy[u]).T) > np.hypot(*(start - xy[v]).T)
    geom[flip] = shapely.reverse(geom[flip])
    return network_from_arrays(xy, u, v, geom, crs=arrays.crs, node_ids=node_ids)


def _graph_arrays(graph: nx.MultiDiGraph) -> GraphArrays:
    """Node ids and coordinates, and each edge's end ids and geometry (None where it runs straight)."""
    ids = np.fromiter(graph.nodes, dtype=np.int64, count=graph.number_of_nodes())
    xy = np.array([(d.get("x", np.nan), d.get("y", np.nan)) for _, d in graph.nodes(data=True)], dtype=float)
    xy = xy.reshape(-1, 2)
    ends = np.array([(a, b) for a, b in graph.edges()], dtype=np.int64).reshape(-1, 2)
    geom = [d.get("geometry") for _, _, d in graph.edges(data=True)]
    return GraphArrays(ids, xy, ends[:, 0], ends[:, 1], geom, graph.graph["crs"])


def _osmnx_edge_order(u_ids: np.ndarray, v_ids: np.ndarray, geom: list) -> tuple[np.ndarray, np.ndarray, list]:
    """The edges in the order osmnx's projected graph lists them, so the same twin of each segment is kept.

    ``ox.project_graph`` rebuilds the graph edge by edge: its nodes come in the
    order they first appear as an edge's end, and its edges by their ``u`` node
    in that order (each node's own edges keep their order).
    """
    ends = np.column_stack([u_ids, v_ids]).ravel()
    ids, first = np.unique(ends, return_index=True)
    rank = np.empty(len(ids), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(ids))
    order = np.argsort(rank[np.searchsorted(ids, u_ids)], kind="stable")
    return u_ids[order], v_ids[order], [geom[i] for i in order]


def _is_metric(crs: CRS) -> bool:
    """A projected CRS in metres (a projected one in feet is projected again, to UTM)."""
    return crs.is_projected and crs.axis_info[0].unit_name in ("metre", "meter")


def _project(xy: np.ndarray, geom: list, *, from_crs: object, to_crs: object | None, source: str = "network") -> tuple:
    """Node coordinates and edge geometries projected as arrays (pyproj), to ``to_crs`` or the local UTM zone."""
    stated = CRS.from_user_input(from_crs)
    if to_crs is None:  # the UTM zone of the nodes' centre, as osmnx chooses it
        to_crs = _utm_zone(xy, stated, source)
    target = CRS.from_user_input(to_crs)
    if target == stated:
        return xy, geom, target
    transformer = Transformer.from_crs(stated, target, always_xy=True)
    x, y = transformer.transform(xy[:, 0], xy[:, 1])
    curved = np.array([g is not None for g in geom], dtype=bool)
    geom = np.asarray(geom, dtype=object)
    if curved.any():
        lines = geom[curved]
        coords = shapely.get_coordinates(lines)
        cx, cy = transformer.transform(coords[:, 0], coords[:, 1])
        geom[curved] = shapely.set_coordinates(lines.copy(), np.column_stack([cx, cy]))
    return np.column_stack([x, y]), list(geom), target


def _utm_zone(xy: np.ndarray, crs: CRS, source: str) -> CRS:
    """The UTM zone of the nodes' centre; a network where UTM is not defined (near the poles) is refused."""
    try:
        return gpd.GeoSeries(shapely.points(xy), crs=crs).estimate_utm_crs()
    except RuntimeError as exc:  # pyproj: "Unable to determine UTM CRS"
        west, south, east, north = gpd.GeoSeries(shapely.points(xy), crs=crs).to_crs(4326).total_bounds
        raise InputError(
            "network_no_utm_zone_covers", file=source, west=west, east=east, south=south, north=north
        ) from exc


def network_from_arrays(
    xy: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    geometry: np.ndarray | None = None,
    *,
    crs: object,
    node_ids: np.ndarray | None = None,
    graph: nx.MultiDiGraph | None = None,
) -> StreetNetwork:
    """A StreetNetwork from node coordinates and undirected segments, with no networkx graph needed.

    ``u``, ``v`` are node positions (rows of ``xy``); ``geometry`` runs from u to v
    (straight lines when omitted). Used by ``prepare_network`` and for large
    generated networks (the benchmark city).

    Parameters
    ----------
    xy
        Node coordinates, shape (n, 2), in metres of ``crs``.
    u, v
        The two end nodes of each segment, as row positions in ``xy``.
    geometry
        One LineString per segment from ``u`` to ``v``; ``None`` for straight lines.
    crs
        The metric CRS of ``xy``.
    node_ids
        The node ids (e.g. OSM ids) for the nodes' index; ``None`` numbers them 0..n-1.
    graph
        The networkx graph the arrays came from, kept as ``StreetNetwork.graph``.

    Returns
    -------
    StreetNetwork
        Segment lengths in metres measured on ``geometry``.
    """
    u, v = np.asarray(u, dtype=np.int64), np.asarray(v, dtype=np.int64)
    if geometry is None:
        geometry = shapely.linestrings(np.stack([xy[u], xy[v]], axis=1))
    index = pd.Index(node_ids if node_ids is not None else np.arange(len(xy)), name="osmid")
    nodes = gpd.GeoDataFrame({"x": xy[:, 0], "y": xy[:, 1]}, geometry=shapely.points(xy), crs=crs, index=index)
    nodes["component"] = _components_by_size(len(nodes), u, v)
    edges = gpd.GeoDataFrame({"u": u, "v": v, "length_m": shapely.length(geometry)}, geometry=geometry, crs=crs)
    return StreetNetwork(graph=graph, nodes=nodes, edges=edges, crs=CRS.from_user_input(crs))


def _components_by_size(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Connected-part label per node, 0 for the largest part, then by falling size (ties: first node)."""
    adjacency = sp.coo_matrix((np.ones(len(u)), (u, v)), shape=(n, n))
    _, labels = connected_components(adjacency, directed=False)
    sizes = np.bincount(labels)
    first = np.full(len(sizes), n)
    np.minimum.at(first, labels, np.arange(n))
    order = np.lexsort((first, -sizes))
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[labels]
