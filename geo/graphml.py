"""An osmnx GraphML file read straight into arrays, streaming: no networkx graph, memory bounded by what it holds.

``osmnx.load_graphml`` builds a networkx graph of Python dicts (at 100k nodes:
about 20 s and 2 GB); the preparation needs only the node ids and coordinates,
each edge's two ends and its geometry, and the CRS. ``read_graphml`` reads
those with expat (``xml.parsers.expat``, the standard library's C parser),
keeping only the text of those few values as the file streams by, and gives
the edges in the order networkx would list them, so
``geo.network.prepare_arrays`` keeps the same twin of each two-way segment as
``prepare_network`` on the osmnx graph: the result is identical.

A file that declares a DOCTYPE or an entity is refused as soon as the
declaration starts (a GraphML has none; a hostile file may); expat's defaults
(no external entities) stay. GraphML that is valid but unlike what osmnx
writes (undirected, several or nested graphs, hyperedges, a node or an edge
given twice, keys declared after the graph) raises ``UnusualGraphML``;
``prepare_graphml`` then reads it through osmnx as before.
"""

from __future__ import annotations

import logging
from array import array
from pathlib import Path
from xml.parsers import expat

import numpy as np
import shapely

from geo._validate import existing
from geo.errors import InputError
from geo.network import (
    GraphArrays,
    StreetNetwork,
    check_xml_file,
    entities_refused,
    parse_crs,
    prepare_arrays,
    prepare_network,
)

__all__ = ["MAX_GRAPHML_MB", "UnusualGraphML", "prepare_graphml", "read_graphml"]

log = logging.getLogger(__name__)

#: The largest GraphML read. Memory follows the nodes and edges, not the file: a 1M-node city is about 1.1 GB.
MAX_GRAPHML_MB = 2048

_NS = "http://graphml.graphdrawing.org/xmlns "  # expat's names: namespace, space, tag
_GRAPHML, _KEY, _GRAPH, _NODE, _EDGE, _DATA, _HYPEREDGE = (
    _NS + t for t in ("graphml", "key", "graph", "node", "edge", "data", "hyperedge")
)
_FIX = "give the network as osmnx saves it (ox.save_graphml), whole"
_CHUNK = 1 << 16  # edges whose WKT is turned into geometries at once
_READ = 1 << 20  # bytes fed to expat at once
_ITEM_DEPTH = 3  # <graphml> <graph> <node>
_WANTED = {_NODE: ("x", "y"), _EDGE: ("geometry", "key"), _GRAPH: ("crs",)}
_UNDECLARED = "\0undeclared"  # the value of a <data> key that no <key> declares
_CUT = {
    expat.errors.codes[expat.errors.XML_ERROR_NO_ELEMENTS],
    expat.errors.codes[expat.errors.XML_ERROR_UNCLOSED_TOKEN],
}


class UnusualGraphML(Exception):
    """Valid GraphML that osmnx does not write (undirected, several graphs, a node twice...): read it with osmnx."""


def prepare_graphml(path: str | Path, *, crs: object | None = None, source: str | None = None) -> StreetNetwork:
    """The prepared network of an osmnx GraphML file, read straight into arrays (no networkx graph).

    Equal to ``prepare_network(read_network(path))``: same nodes, segments in
    the same order, same lengths and components. GraphML unlike what osmnx
    writes is read through osmnx (``geo.io.read_network``).

    Parameters
    ----------
    path
        A ``.graphml`` file, at most ``MAX_GRAPHML_MB`` megabytes.
    crs
        The metric CRS to project to; ``None`` keeps a projected network's, else its local UTM zone.
    source
        What the planner calls the network, for the messages; ``None``: the file's name.

    Returns
    -------
    StreetNetwork
        As ``geo.network.prepare_network`` gives it.

    Raises
    ------
    InputError
        The file is missing, too large, not GraphML, broken, or its nodes or edges cannot be used.

    Examples
    --------
    >>> from geo.io import sample_paths
    >>> prepare_graphml(sample_paths()["network"]).n_nodes
    2564
    """
    source = source or Path(path).name
    try:
        arrays = read_graphml(path, source=source)
    except UnusualGraphML as exc:
        from geo.io import read_network  # geo.io imports this module

        log.info("%s: %s; reading it through osmnx", source, exc)
        return prepare_network(read_network(path), crs=crs, source=source)
    return prepare_arrays(arrays, crs=crs, source=source)


def read_graphml(path: str | Path, *, source: str | None = None) -> GraphArrays:
    """Node ids and coordinates, edge ends and geometries, and the CRS of an osmnx GraphML file, streamed.

    Nodes come in the file's order, edges in the order networkx lists them
    (by ``u`` in node order, then by ``v`` in the order ``u``'s edges first
    reach it, then in file order). The ``length`` attribute is not read: the
    preparation measures each geometry.

    Parameters
    ----------
    path
        A ``.graphml`` file, at most ``MAX_GRAPHML_MB`` megabytes.
    source
        What the planner calls the network, for the messages; ``None``: the file's name.

    Returns
    -------
    GraphArrays
        The arrays ``geo.network.prepare_arrays`` prepares; geometries are None for straight edges.

    Raises
    ------
    InputError
        The file is missing, too large, empty, truncated, not GraphML, declares a DOCTYPE or entities,
        states no CRS or one PROJ does not know, a node's x or y is not a number, an edge names a node
        that is not there, a geometry is not a line. (A node without x or y is read as NaN:
        ``prepare_arrays`` refuses it, as ``geo.network.check_nodes`` says for every network.)
    UnusualGraphML
        Valid GraphML that osmnx does not write; ``geo.io.read_network`` reads it.
    """
    path = existing(path, "network", max_mb=MAX_GRAPHML_MB)
    source = source or path.name
    check_xml_file(path, source)  # empty, or a DTD in its head: refused as geo.network.read_graph refuses them
    reader = _Reader(source)
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartDoctypeDeclHandler = parser.EntityDeclHandler = reader.doctype
    parser.StartElementHandler, parser.EndElementHandler = reader.start, reader.end
    reader.parser = parser
    try:
        with open(path, "rb") as f:
            while chunk := f.read(_READ):
                parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        cut = exc.code in _CUT
        raise InputError(
            "graphml_cannot_read_street_network",
            file=source,
            how="the GraphML ends early" if cut else "not well-formed XML",
            lineno=exc.lineno,
            offset=exc.offset,
            expat_errors_messages=expat.errors.messages[exc.code],
            a_truncated_file="; a truncated file?" if cut else "",
        ) from None
    return reader.arrays()


class _Reader:
    """One streamed read (expat handlers): the keys, the node and edge columns, the graph's CRS.

    Only the text of the ``<data>`` wanted (node x, y; edge geometry, key; the
    graph's crs) is collected; every other element is passed over as it comes.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.parser: expat.XMLParserType | None = None
        self.depth = 0
        self.keys: dict[str, str | None] = {}  # key id -> attr.name
        self.wants: dict[str, dict[str, str | None]] = {}  # owner -> key id -> the wanted value it gives, or None
        self.want: dict[str, str | None] = {}  # the wants of the element open (before the graph: none)
        self.want_depth = -1  # the depth of that element's own <data>
        self.graphs = 0
        self.crs: str | None = None
        self.item: dict[str, str | None] = {}  # the node or edge being read: its attributes and wanted data
        self.field: str | None = None  # the wanted <data> being read
        self.text: list[str] = []
        self.node_ids, self.x, self.y = array("q"), array("d"), array("d")
        self.u_ids, self.v_ids = array("q"), array("q")
        self.edge_keys: list = []
        self.wkt: list[str | None] = []
        self.geometry: list[np.ndarray] = []

    def doctype(self, *_: object) -> None:
        """A DOCTYPE or an entity declaration: refused (a GraphML has none; a hostile file may), as everywhere."""
        raise entities_refused(self.source)

    def start(self, name: str, attrs: dict[str, str]) -> None:
        """An element opens: note a node or an edge, start collecting a wanted ``<data>``'s text."""
        self.depth += 1
        if self.field is not None:  # an element inside a value: networkx reads no text there
            self.item[self.field] = None
            self._stop_text()
        if name == _DATA:
            field = self.want.get(attrs.get("key"), _UNDECLARED)
            if field is not None:
                self._data(field, attrs)
        elif name in (_NODE, _EDGE):
            if self.depth != _ITEM_DEPTH:
                raise UnusualGraphML("it has nodes or edges outside its graph")
            self.item = {"": name, **attrs}
            self.want, self.want_depth = self.wants[name], _ITEM_DEPTH + 1
        elif name == _KEY and self.depth == _ITEM_DEPTH - 1:
            if self.graphs:
                raise UnusualGraphML("it declares keys after its graph")
            self.keys[attrs.get("id")] = attrs.get("attr.name") or attrs.get("yfiles.type")
        elif name == _GRAPH:
            self._graph(attrs)
        elif name == _HYPEREDGE:
            raise UnusualGraphML("it has hyperedges")
        elif self.depth == 1 and name != _GRAPHML:
            tag = name.rpartition(" ")[2]
            raise InputError("graphml_not_graphml_file_root", file=self.source, tag=tag)

    def end(self, name: str) -> None:
        """An element closes: keep a wanted value, or add the node or edge read."""
        self.depth -= 1
        if self.field is not None:
            field = self.field
            self._stop_text()
            if self.depth == _ITEM_DEPTH - 1:  # the graph's own data
                self.crs = "".join(self.text)
            else:
                self.item[field] = "".join(self.text)
        elif name == _EDGE and self.depth == _ITEM_DEPTH - 1:
            self._edge(self.item)
            self.want, self.want_depth = self.wants[_GRAPH], _ITEM_DEPTH
        elif name == _NODE and self.depth == _ITEM_DEPTH - 1:
            self._node(self.item)
            self.want, self.want_depth = self.wants[_GRAPH], _ITEM_DEPTH

    def _graph(self, attrs: dict[str, str]) -> None:
        """The graph opens: one, directed; which of the declared keys give a wanted value of whom."""
        self.graphs += 1
        if self.graphs > 1 or self.depth != _ITEM_DEPTH - 1:
            raise UnusualGraphML("it holds several or nested graphs")
        if attrs.get("edgedefault") != "directed":
            raise UnusualGraphML("its graph is undirected")
        self.wants = {
            owner: {key: name if name in wanted else None for key, name in self.keys.items()}
            for owner, wanted in _WANTED.items()
        }
        self.want, self.want_depth = self.wants[_GRAPH], _ITEM_DEPTH

    def _data(self, field: str, attrs: dict[str, str]) -> None:
        """A wanted ``<data>`` (or one of an undeclared key: networkx refuses those) opens: collect its text."""
        if self.depth != self.want_depth:
            return  # inside another value: networkx reads none of it
        if field is _UNDECLARED:
            key = attrs.get("key")
            raise InputError("graphml_data_key_key_value", file=self.source, key_value=key)
        self.field, self.text = field, []
        self.parser.CharacterDataHandler = self.text.append

    def _stop_text(self) -> None:
        self.parser.CharacterDataHandler = None
        self.field = None

    def _node(self, item: dict[str, str | None]) -> None:
        node = item.get("id")
        try:
            self.node_ids.append(int(node))
        except (TypeError, ValueError, OverflowError):
            raise InputError("graphml_node_id_node_not", file=self.source, node=node) from None
        for axis, column in (("x", self.x), ("y", self.y)):
            value = item.get(axis)
            try:
                column.append(np.nan if value is None else float(value))  # none: geo.network.check_nodes says so
            except ValueError:
                raise InputError(
                    "graphml_node_node_has_value",
                    file=self.source,
                    node=node,
                    value=value,
                    axis=axis,
                    longitude_if_axis="longitude" if axis == "x" else "latitude",
                ) from None

    def _edge(self, item: dict[str, str | None]) -> None:
        ends = item.get("source"), item.get("target")
        try:
            self.u_ids.append(int(ends[0]))
            self.v_ids.append(int(ends[1]))
        except (TypeError, ValueError, OverflowError):
            raise InputError("graphml_edge_from_ends_0", file=self.source, ends_0=ends[0], ends_1=ends[1]) from None
        self.edge_keys.append(_edge_key(item.get("id") or item.get("key")))
        self.wkt.append(item.get("geometry"))
        if len(self.wkt) == _CHUNK:
            self._geometries()

    def _geometries(self) -> None:
        """Turn the WKT read so far into LineStrings, at once (GEOS), and let the text go."""
        try:
            lines = shapely.from_wkt(np.array(self.wkt, dtype=object))
        except shapely.errors.ShapelyError as exc:
            raise InputError("graphml_edge_geometry_not_valid", file=self.source, exc=exc) from None
        kind = shapely.get_type_id(lines)
        bad = (kind != 1) & (kind != -1)  # LineString, or None for a straight edge
        if bad.any():
            raise InputError(
                "graphml_int_bad_sum_edge",
                file=self.source,
                int_bad_sum=int(bad.sum()),
                str_lines_bad=str(lines[bad][0])[:60],
            )
        self.geometry.append(lines)
        self.wkt = []

    def arrays(self) -> GraphArrays:
        """The columns read, checked, with the edges in networkx's order."""
        if not self.graphs:
            raise InputError("graphml_graphml_holds_no_graph", file=self.source)
        crs = self.crs
        parse_crs(crs, self.source)  # stated, and one PROJ knows: as geo.network.check_graph says it
        self._geometries()
        node_ids = np.frombuffer(self.node_ids, dtype=np.int64)
        u_ids, v_ids = np.frombuffer(self.u_ids, dtype=np.int64), np.frombuffer(self.v_ids, dtype=np.int64)
        known, position = np.unique(node_ids, return_index=True)
        if len(known) < len(node_ids):
            raise UnusualGraphML("a node is given twice")
        u, v = self._positions(known, position, u_ids), self._positions(known, position, v_ids)
        geometry = np.concatenate(self.geometry) if self.geometry else np.empty(0, dtype=object)
        order = _networkx_edge_order(u, v, len(node_ids), self.edge_keys)
        xy = np.column_stack([np.frombuffer(self.x), np.frombuffer(self.y)])
        return GraphArrays(node_ids, xy, u_ids[order], v_ids[order], geometry[order], crs)

    def _positions(self, known: np.ndarray, position: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Each id's position in the file's node order (``known``: the ids sorted; ``position``: theirs)."""
        at = np.minimum(np.searchsorted(known, ids), max(len(known) - 1, 0))
        missing = known[at] != ids if len(known) else np.ones(len(ids), dtype=bool)
        if missing.any():
            n = int(missing.sum())
            raise InputError(
                "graphml_v1_edge_end_no",
                file=self.source,
                n=n,
                ids_missing_0=ids[missing][0],
            )
        return position[at]


def _edge_key(key: str | None) -> object:
    """The key networkx gives an edge: its ``id`` (a number where it is one), else its ``key`` data, else none."""
    if not key:
        return None
    try:
        return int(key)
    except ValueError:
        return key


def _networkx_edge_order(u: np.ndarray, v: np.ndarray, n: int, keys: list) -> np.ndarray:
    """The order a networkx MultiDiGraph lists edges read in file order: by ``u`` node, then ``v`` as first met.

    ``u``, ``v`` are node positions in the order the nodes were added; the
    edges of one ``(u, v)`` pair keep their file order. Two edges of one pair
    with the same key are one edge to networkx (the second updates the first):
    ``UnusualGraphML``.
    """
    _, first, pair, count = np.unique(u * np.int64(n) + v, return_index=True, return_inverse=True, return_counts=True)
    pair = pair.ravel()
    seen = set()
    for i in np.flatnonzero(count[pair] > 1):  # parallel edges (few): are two the same?
        if keys[i] is not None and (pair[i], keys[i]) in seen:
            raise UnusualGraphML("an edge is given twice (same ends and key)")
        seen.add((pair[i], keys[i]))
    return np.lexsort((np.arange(len(u)), first[pair], u))
