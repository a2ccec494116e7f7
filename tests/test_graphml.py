"""A GraphML streamed into arrays prepares the very network osmnx's graph does; a bad file is one clear error."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from bench_cli import write_city  # the benchmark's own GraphML writer (osmnx save_graphml)

from geo import read_network, sample_paths
from geo.errors import InputError
from geo.graphml import UnusualGraphML, prepare_graphml, read_graphml
from geo.network import StreetNetwork, _graph_arrays, prepare_network
from quarterhour.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_NET = sample_paths()["network"]


def assert_identical(got: StreetNetwork, want: StreetNetwork) -> None:
    """The same network to the bit: nodes, segments in the same order, geometries, lengths, components."""
    assert got.crs == want.crs
    assert got.nodes.index.equals(want.nodes.index)
    np.testing.assert_array_equal(got.nodes[["x", "y"]].to_numpy(), want.nodes[["x", "y"]].to_numpy())
    np.testing.assert_array_equal(got.nodes["component"].to_numpy(), want.nodes["component"].to_numpy())
    np.testing.assert_array_equal(got.edges[["u", "v"]].to_numpy(), want.edges[["u", "v"]].to_numpy())
    np.testing.assert_array_equal(got.edges["length_m"].to_numpy(), want.edges["length_m"].to_numpy())
    assert got.edges.geometry.to_wkb().equals(want.edges.geometry.to_wkb())


def osmnx_way(path: Path) -> StreetNetwork:
    return prepare_network(read_network(path), source=path.name)


def test_sample_is_identical_to_the_osmnx_way():
    streamed = prepare_graphml(SAMPLE_NET)
    assert_identical(streamed, osmnx_way(SAMPLE_NET))
    assert streamed.n_nodes == 2564 and len(streamed.edges) == 3657


def test_synthetic_city_is_identical_to_the_osmnx_way(tmp_path):
    path = write_city(tmp_path, n_nodes=2_000, n_facilities=5, n_residents=50)["network"]
    streamed = prepare_graphml(path)
    assert_identical(streamed, osmnx_way(path))
    assert streamed.n_nodes == 2_025  # a 45 x 45 grid


def shuffled(text: str, seed: int) -> str:
    """The GraphML with its nodes, and its edges, in another order (both still valid and the same graph)."""
    rng = np.random.default_rng(seed)
    head, rest = text.split("    <node ", 1)
    blocks = re.findall(r"    <(?:node|edge) .*?</(?:node|edge)>\n", "    <node " + rest, flags=re.S)
    tail = rest[rest.rindex("</edge>\n") + len("</edge>\n") :]
    nodes = [b for b in blocks if b.startswith("    <node")]
    edges = [b for b in blocks if b.startswith("    <edge")]
    return head + "".join(rng.permutation(nodes)) + "".join(rng.permutation(edges)) + tail


def test_edges_come_in_networkx_order_whatever_the_file_order(tmp_path):
    """networkx lists edges by u (in node order), then v as u first met it, then file order: so does the reader."""
    path = tmp_path / "shuffled.graphml"
    path.write_text(shuffled(SAMPLE_NET.read_text(encoding="utf-8"), seed=1), encoding="utf-8")
    graph = read_network(path)
    want, got = _graph_arrays(graph), read_graphml(path)
    np.testing.assert_array_equal(got.node_ids, want.node_ids)
    np.testing.assert_array_equal(got.xy, want.xy)
    np.testing.assert_array_equal(got.u_ids, want.u_ids)
    np.testing.assert_array_equal(got.v_ids, want.v_ids)
    geometry = np.asarray(want.geometry, dtype=object)
    assert (shapely.to_wkb(got.geometry) == shapely.to_wkb(geometry)).all()  # None (straight) where None
    assert not np.array_equal(got.u_ids, [int(m) for m in re.findall(r'<edge source="(\d+)"', path.read_text())])
    assert_identical(prepare_graphml(path), prepare_network(graph))


def test_no_osmnx_and_no_networkx_graph_on_the_way():
    code = (
        "import sys; from geo.graphml import prepare_graphml; from geo.io import sample_paths; "
        "net = prepare_graphml(sample_paths()['network']); "
        "assert net.graph is None and 'osmnx' not in sys.modules, sorted(m for m in sys.modules if 'osmnx' in m); "
        "print(net.n_nodes)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "2564"


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda t: t.replace('edgedefault="directed"', 'edgedefault="undirected"'), id="undirected"),
        pytest.param(lambda t: re.sub(r"(    <edge .*?</edge>\n)", r"\1\1", t, count=1, flags=re.S), id="edge-twice"),
    ],
)
def test_graphml_osmnx_never_writes_is_read_through_osmnx(tmp_path, change):
    """Valid GraphML unlike osmnx's (networkx reads it its own way) gives what osmnx's graph gives."""
    path = tmp_path / "unusual.graphml"
    path.write_text(change(SAMPLE_NET.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(UnusualGraphML):
        read_graphml(path)
    assert_identical(prepare_graphml(path), osmnx_way(path))


NODE = '<node id="{id}"><data key="x">{x}</data><data key="y">{y}</data></node>'
EDGE = '<edge source="{u}" target="{v}" id="0"/>'


def tiny(nodes: str, edges: str, *, prolog: str = "", crs: str = "epsg:4326") -> str:
    """A small GraphML as osmnx writes one (keys for x, y, geometry, crs)."""
    return (
        f"<?xml version='1.0' encoding='utf-8'?>\n{prolog}"
        '<graphml xmlns="http://graphml.graphdrawing.org/xmlns">'
        '<key id="x" for="node" attr.name="x" attr.type="string"/>'
        '<key id="y" for="node" attr.name="y" attr.type="string"/>'
        '<key id="g" for="edge" attr.name="geometry" attr.type="string"/>'
        '<key id="c" for="graph" attr.name="crs" attr.type="string"/>'
        f'<graph edgedefault="directed">{nodes}{edges}<data key="c">{crs}</data></graph></graphml>\n'
    )


TWO = NODE.format(id=1, x=7.42, y=43.73) + NODE.format(id=2, x=7.43, y=43.74)
LAUGHS = (
    '<!DOCTYPE graphml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>\n'
)


def test_a_tiny_network_reads(tmp_path):
    path = tmp_path / "tiny.graphml"
    path.write_text(tiny(TWO, EDGE.format(u=1, v=2) + EDGE.format(u=2, v=1)), encoding="utf-8")
    net = prepare_graphml(path)
    assert net.n_nodes == 2 and len(net.edges) == 1
    assert net.crs.to_epsg() == 32632  # Monaco's UTM zone
    assert_identical(net, osmnx_way(path))


def test_an_edge_with_an_empty_line_runs_straight(tmp_path):
    """``LINESTRING EMPTY`` on an edge (a hostile-input find): drawn straight between its nodes, as with no geometry."""
    empty = '<edge source="1" target="2" id="0"><data key="g">LINESTRING EMPTY</data></edge>'
    (tmp_path / "empty.graphml").write_text(tiny(TWO, empty), encoding="utf-8")
    (tmp_path / "none.graphml").write_text(tiny(TWO, EDGE.format(u=1, v=2)), encoding="utf-8")
    got = prepare_graphml(tmp_path / "empty.graphml")
    assert_identical(got, prepare_graphml(tmp_path / "none.graphml"))
    assert got.edges["length_m"].iloc[0] > 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the network file is empty"),
        (tiny(TWO, EDGE.format(u=1, v=2))[:-60], "cannot read the street network (the GraphML ends early at line 2"),
        (
            tiny(
                NODE.format(id=1, x=7.42, y=43.73) + '<node id="2"><data key="y">43.7</data></node>',
                EDGE.format(u=1, v=2),
            ),
            "1 node has no coordinates (x, y), the first is node 2",
        ),
        (tiny(TWO.replace("7.43", "seven"), EDGE.format(u=1, v=2)), "node 2 has 'seven' as x"),
        (
            tiny(TWO, EDGE.format(u=1, v=3)),
            "1 edge end names no node of the file, the first is node 3: an edge leads to a node",
        ),
        (tiny(TWO, EDGE.format(u=1, v="b")), "an edge from '1' to 'b' does not join two OSM node ids"),
        (tiny(TWO, '<edge source="1" target="2"><data key="g">LINESTRING (7.42 43</data></edge>'), "not valid WKT"),
        (
            tiny(TWO, '<edge source="1" target="2"><data key="g">POINT (7.42 43.73)</data></edge>'),
            "1 edge geometries are not lines",
        ),
        (
            tiny(TWO, '<edge source="1" target="2"><data key="zz">1</data></edge>'),
            'data key="zz"> uses a key that no <key> declares',
        ),
        (tiny(TWO, EDGE.format(u=1, v=2), crs=""), "states no coordinate reference system (the graph attribute 'crs')"),
        (tiny(TWO, ""), "the street network has no edges"),
        (
            tiny(TWO, EDGE.format(u=1, v=2), prolog=LAUGHS).replace("epsg:4326", "&d;"),
            "declares XML entities (<!DOCTYPE …>)",
        ),
        (
            tiny(TWO, EDGE.format(u=1, v=2), prolog='<!DOCTYPE graphml SYSTEM "file:///etc/passwd">\n'),
            "declares XML entities (<!DOCTYPE …>)",
        ),
        (
            "<?xml version='1.0'?>\n<osm version='0.6'><node id='1' lat='1' lon='2'/></osm>\n",
            "not a GraphML file (its root element is <osm>)",
        ),
        (
            "nodes,edges\n1,2\n",
            "cannot read the street network (not well-formed XML at line 1, column 0: syntax error)",
        ),
    ],
    ids=[
        "empty",
        "truncated",
        "no-x",
        "bad-x",
        "missing-node",
        "bad-end",
        "bad-wkt",
        "point",
        "undeclared-key",
        "no-crs",
        "no-edges",
        "entities",
        "external-dtd",
        "osm-xml",
        "csv",
    ],
)
def test_bad_graphml_is_one_error_naming_file_and_fix(tmp_path, capsys, text, message):
    path = tmp_path / "city.graphml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=re.escape(message)) as caught:
        prepare_graphml(path)
    assert str(caught.value).startswith("city.graphml: ") and "Fix: " in str(caught.value)
    assert main(["network", str(path), "--cache-dir", str(tmp_path / "cache")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: city.graphml: ") and message in err[-1] and "Fix: " in err[-1]
    assert "Traceback" not in "\n".join(err) and str(tmp_path) not in err[-1]
