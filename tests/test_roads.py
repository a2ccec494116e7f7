"""Issue 30 part 1: a network from the planner's road layer gives what the GraphML path gives.

The bundled Monaco network is exported as a line layer the way a planner's would come: unnoded (the
edges of each OSM way merged into one line, so no line is cut where another crosses it) and with its
bridges and tunnels marked from the OSM tags. Noded here, it must give every resident the travel time
the GraphML path gives; moved to Luoyang, the same in CGCS2000 Gauss–Krüger (EPSG:4547, a Shapefile
that does not say its CRS) and in GCJ-02 (an AMap export). Toy layers check the rules one by one
against networkx on the graph built.
"""

from __future__ import annotations

import re
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.coverage import nearest_facility
from geo import read_network, sample_paths, snap_points
from geo.chinacrs import wgs84_to_gcj02
from geo.errors import InputError
from geo.graphml import prepare_graphml
from geo.io import read_demand, read_facilities
from geo.network import GraphArrays, _graph_arrays, prepare_arrays
from geo.roads import RoadOptions, prepare_roads
from geo.store import store_network
from quarterhour.cli.main import main
from quarterhour.i18n import error_words

TO_LUOYANG = np.array([105.0, -9.1])  # Monaco (7.4°E, 43.7°N) moved to Luoyang (112.4°E, 34.6°N)
CGCS2000_GK_114 = "EPSG:4547"


def _flag(value: object) -> str | None:
    """An OSM bridge / tunnel tag as the layer's column: yes, or None (a merged edge may hold a list)."""
    values = value if isinstance(value, list) else [value]
    return "yes" if any(isinstance(v, str) and v != "no" for v in values) else None


def monaco_lines(graph) -> gpd.GeoDataFrame:
    """The network as a planner's line layer: one line per OSM way (its edges merged), bridges and tunnels marked."""
    import osmnx as ox

    edges = ox.graph_to_gdfs(graph, nodes=False).reset_index()
    metres = edges.to_crs(32632).length.round(2)
    lo, hi = np.minimum(edges["u"], edges["v"]), np.maximum(edges["u"], edges["v"])
    edges = edges[~pd.DataFrame({"lo": lo, "hi": hi, "m": metres}).duplicated().to_numpy()]  # one of two twins
    way = edges["osmid"].map(lambda x: tuple(sorted(x)) if isinstance(x, list) else (x,))
    bridge, tunnel = edges["bridge"].map(_flag).fillna(""), edges["tunnel"].map(_flag).fillna("")
    rows = []
    for (_, b, t), group in edges.groupby([way, bridge, tunnel], sort=True):
        highway = group["highway"].iloc[0]
        rows.append(
            {
                "highway": highway[0] if isinstance(highway, list) else highway,
                "bridge": b or None,
                "tunnel": t or None,
                "geometry": shapely.line_merge(shapely.MultiLineString(list(group.geometry))),
            }
        )
    return gpd.GeoDataFrame(rows, crs=4326)


@pytest.fixture(scope="module")
def monaco(tmp_path_factory):
    """The sample's graph, its line layer, facilities and residents."""
    graph = read_network(sample_paths()["network"])
    lines = monaco_lines(graph)
    folder = tmp_path_factory.mktemp("roads")
    lines.to_file(folder / "monaco_roads.gpkg")
    return {
        "graph": graph,
        "lines": lines,
        "path": folder / "monaco_roads.gpkg",
        "folder": folder,
        "facilities": read_facilities(sample_paths()["facilities"]),
        "demand": read_demand(sample_paths()["demand"]),
    }


def minutes(network, facilities, demand) -> np.ndarray:
    """Each resident's walk to the nearest facility (minutes), as ``quarterhour run`` computes it."""
    f, d = facilities.to_crs(network.crs), demand.to_crs(network.crs)
    return nearest_facility(network, f, d, snap_points(f, network), snap_points(d, network))["minutes"].to_numpy()


def test_monaco_line_layer_gives_the_graphml_travel_times(monaco):
    """Unnoded ways, bridges marked: every resident's time as on the GraphML, to 0.01 min (ends joined as OSM joins)."""
    roads = prepare_roads(monaco["path"], join_m=0)
    graphml = prepare_graphml(sample_paths()["network"])
    want = minutes(graphml, monaco["facilities"], monaco["demand"])
    got = minutes(roads, monaco["facilities"], monaco["demand"])
    assert np.isfinite(want).all() and len(want) == len(monaco["demand"])
    np.testing.assert_allclose(got, want, atol=0.01, rtol=0)
    report = roads.derived["road_report"].counts
    assert len(monaco["lines"]) < len(graphml.edges) / 1.5  # the layer is unnoded: a line per way, not per edge
    assert report["crossings_noded"] > 100 and report["crossings_not_noded"] > 100  # streets meet; bridges pass
    assert report["level_columns"] == "bridge, tunnel"
    assert roads.edges["length_m"].sum() == pytest.approx(graphml.edges["length_m"].sum(), rel=1e-9)


def test_without_bridges_marked_the_crossings_become_junctions(monaco, tmp_path):
    """The same layer with the bridge and tunnel columns gone: more nodes, and some walks shorter, never longer."""
    flat = monaco["lines"].drop(columns=["bridge", "tunnel"])
    flat.to_file(tmp_path / "flat.gpkg")
    marked = prepare_roads(monaco["path"], join_m=0)
    unmarked = prepare_roads(tmp_path / "flat.gpkg", join_m=0)
    counts = marked.derived["road_report"].counts
    assert unmarked.derived["road_report"].counts["crossings_not_noded"] == 0
    assert unmarked.n_nodes > marked.n_nodes
    a = minutes(marked, monaco["facilities"], monaco["demand"])
    b = minutes(unmarked, monaco["facilities"], monaco["demand"])
    assert (b <= a + 1e-9).all() and (b < a - 0.01).any()
    assert counts["crossings_not_noded"] > 0


def _moved(graph) -> GraphArrays:
    """The sample's graph as arrays, moved to Luoyang (lon/lat shifted)."""
    arrays = _graph_arrays(graph)
    geometry = [None if g is None else shapely.transform(g, lambda xy: xy + TO_LUOYANG) for g in arrays.geometry]
    return GraphArrays(arrays.node_ids, arrays.xy + TO_LUOYANG, arrays.u_ids, arrays.v_ids, geometry, arrays.crs)


def _moved_points(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gdf.set_geometry(shapely.transform(gdf.geometry.to_numpy(), lambda xy: xy + TO_LUOYANG), crs=4326)


@pytest.fixture(scope="module")
def luoyang(monaco):
    """The sample moved to Luoyang: its GraphML arrays, line layer, facilities and residents."""
    lines = monaco["lines"].copy()
    lines = lines.set_geometry(shapely.transform(lines.geometry.to_numpy(), lambda xy: xy + TO_LUOYANG), crs=4326)
    return {
        "arrays": _moved(monaco["graph"]),
        "lines": lines,
        "facilities": _moved_points(monaco["facilities"]),
        "demand": _moved_points(monaco["demand"]),
    }


def test_cgcs2000_shapefile_without_a_crs_gives_the_same(luoyang, tmp_path):
    """EPSG:4547, zipped, no .prj: --network-crs says it; the times of the GraphML worked in the same CRS."""
    folder = tmp_path / "shp"
    folder.mkdir()
    gk = luoyang["lines"].to_crs(CGCS2000_GK_114)
    with pytest.warns(UserWarning, match="crs"):  # a Shapefile with no .prj, as the planner's comes
        gk.set_crs(None, allow_override=True).to_file(folder / "道路中心线.shp", encoding="utf-8")
    assert not (folder / "道路中心线.prj").exists()
    zipped = tmp_path / "roads.zip"
    with zipfile.ZipFile(zipped, "w") as z:
        for part in folder.iterdir():
            z.write(part, part.name)
    with pytest.raises(InputError) as refused:
        prepare_roads(zipped, join_m=0)
    assert "--network-crs" in str(refused.value) and "--network-crs" in error_words(refused.value, "zh")
    roads = prepare_roads(zipped, network_crs=CGCS2000_GK_114, join_m=0)
    assert roads.crs.to_epsg() == 4547  # a projected layer in metres is worked in its own CRS
    reference = prepare_arrays(luoyang["arrays"], crs=CGCS2000_GK_114)
    want = minutes(reference, luoyang["facilities"], luoyang["demand"])
    got = minutes(roads, luoyang["facilities"], luoyang["demand"])
    assert np.isfinite(want).all()
    np.testing.assert_allclose(got, want, atol=0.01, rtol=0)


def test_gcj02_export_gives_the_same(luoyang, tmp_path):
    """An AMap export (GCJ-02 lon/lat, labelled WGS-84) with --network-crs gcj02: converted back, the same times."""

    def to_gcj(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(wgs84_to_gcj02(xy[:, 0], xy[:, 1]))

    lines = luoyang["lines"]
    shifted = lines.set_geometry(shapely.transform(lines.geometry.to_numpy(), to_gcj), crs=4326)
    shifted.to_file(tmp_path / "amap.geojson")
    offset = shapely.distance(
        shifted.to_crs(32649).geometry.iloc[0].interpolate(0), lines.to_crs(32649).geometry.iloc[0].interpolate(0)
    )
    assert offset > 100  # GCJ-02 is hundreds of metres off: unconverted, every walk would be wrong
    roads = prepare_roads(tmp_path / "amap.geojson", network_crs="gcj02", join_m=0)
    lines.to_crs(CGCS2000_GK_114).to_file(tmp_path / "gk.geojson")  # metres in a GeoJSON without a crs member
    text = (tmp_path / "gk.geojson").read_text(encoding="utf-8")
    (tmp_path / "gk.geojson").write_text(re.sub(r'"crs": \{.*?\} \},', "", text), encoding="utf-8")
    assert '"crs"' not in (tmp_path / "gk.geojson").read_text(encoding="utf-8")
    gk = prepare_roads(tmp_path / "gk.geojson", network_crs=CGCS2000_GK_114, join_m=0)
    assert gk.crs.to_epsg() == 4547 and gk.edges["length_m"].sum() > 0.99 * roads.edges["length_m"].sum()
    reference = prepare_arrays(luoyang["arrays"])
    assert roads.crs == reference.crs  # both in the local UTM zone
    want = minutes(reference, luoyang["facilities"], luoyang["demand"])
    got = minutes(roads, luoyang["facilities"], luoyang["demand"])
    np.testing.assert_allclose(got, want, atol=0.01, rtol=0)


# --- toy layers: each rule against networkx on the graph built --------------------------------------------

X0, Y0 = 358_000.0, 3_834_000.0  # metres in EPSG:4547, in Luoyang


def toy(tmp_path: Path, rows: list[dict], name: str = "toy.gpkg") -> Path:
    """A layer of lines given in metres from (X0, Y0), in EPSG:4547."""
    frame = gpd.GeoDataFrame(
        [{**{k: v for k, v in r.items() if k != "xy"}, "geometry": _line(r["xy"])} for r in rows], crs=CGCS2000_GK_114
    )
    path = tmp_path / name
    frame.to_file(path)
    return path


def _line(xy: list) -> shapely.Geometry:
    if isinstance(xy[0][0], list | tuple):
        return shapely.MultiLineString([[(X0 + x, Y0 + y) for x, y in part] for part in xy])
    return shapely.LineString([(X0 + x, Y0 + y) for x, y in xy])


def graph_of(network) -> nx.Graph:
    g = nx.Graph()
    g.add_nodes_from(range(network.n_nodes))
    for u, v, m in network.edges[["u", "v", "length_m"]].itertuples(index=False):
        g.add_edge(int(u), int(v), weight=m)
    return g


def node_at(network, x: float, y: float) -> int:
    xy = network.nodes[["x", "y"]].to_numpy()
    return int(np.argmin(np.hypot(xy[:, 0] - (X0 + x), xy[:, 1] - (Y0 + y))))


def walk(network, a: tuple, b: tuple) -> float:
    """Metres from the node at ``a`` to the node at ``b`` on the built graph (networkx); inf if none."""
    try:
        return nx.shortest_path_length(graph_of(network), node_at(network, *a), node_at(network, *b), weight="weight")
    except nx.NetworkXNoPath:
        return np.inf


STREET = {"xy": [(0, 0), (200, 0)], "highway": "residential"}


@pytest.mark.parametrize(
    ("over", "junction"),
    [
        ({"bridge": "yes"}, False),
        ({"桥梁": "是"}, False),
        ({"tunnel": "building_passage"}, False),
        ({"layer": 1}, False),
        ({"bridge": "no"}, True),
        ({}, True),
    ],
)
def test_a_bridge_over_a_street_is_not_a_junction(tmp_path, over, junction):
    """A line crossing the street: a junction there unless a bridge / tunnel / layer column says it passes over."""
    crossing = {"xy": [(100, -100), (100, 100)], "highway": "footway", **over}
    street = {**STREET, **dict.fromkeys(over, None)} if over else STREET
    if "layer" in over:
        street["layer"] = 0
    net = prepare_roads(toy(tmp_path, [street, crossing]))
    counts = net.derived["road_report"].counts
    assert (counts["crossings_noded"], counts["crossings_not_noded"]) == ((1, 0) if junction else (0, 1))
    assert net.n_nodes == (5 if junction else 4)
    want = 200.0 if junction else np.inf  # (0, 0) to (100, 100): along the street, then up the crossing line
    assert walk(net, (0, 0), (100, 100)) == pytest.approx(want)
    assert counts["fragments"] == (0 if junction else 1)


def test_a_road_ending_on_a_bridge_joins_it(tmp_path):
    """A line's end on another line is a junction, whatever the levels: a ramp reaches the bridge it ends on."""
    bridge = {"xy": [(100, -100), (100, 100)], "highway": "footway", "bridge": "yes"}
    ramp = {"xy": [(0, 50), (100, 50)], "highway": "footway", "bridge": None}
    net = prepare_roads(toy(tmp_path, [{**STREET, "bridge": None}, bridge, ramp]))
    assert walk(net, (0, 50), (100, 100)) == pytest.approx(150.0)
    assert walk(net, (0, 0), (100, 100)) == np.inf  # the street below still passes under


def test_ends_within_the_tolerance_are_joined(tmp_path):
    """A line 0.6 m short of another's end, one 0.8 m short of a street's side: joined at 1 m, not at 0.5 m."""
    rows = [
        STREET,
        {"xy": [(200.6, 0), (300, 0)], "highway": "residential"},  # a gap between ends
        {"xy": [(50, 100), (50, 0.8)], "highway": "footway"},  # an undershoot onto the street's side
    ]
    path = toy(tmp_path, rows)
    joined = prepare_roads(path)
    counts = joined.derived["road_report"].counts
    assert counts["joined"] == 2 and counts["fragments"] == 0
    assert walk(joined, (0, 0), (300, 0)) == pytest.approx(300.0, abs=0.7)
    assert walk(joined, (50, 100), (0, 0)) == pytest.approx(150.0, abs=1.0)
    apart = prepare_roads(path, join_m=0.5)
    assert apart.derived["road_report"].counts["joined"] == 0
    assert walk(apart, (0, 0), (300, 0)) == np.inf and walk(apart, (50, 100), (0, 0)) == np.inf
    assert apart.derived["road_report"].counts["fragments"] == 2


def test_duplicates_and_zero_length_segments_are_dropped(tmp_path):
    """A street drawn twice, one overlapping half of it, a point-like line: dropped and counted; lengths whole."""
    rows = [
        STREET,
        STREET,
        {"xy": [(100, 0), (200, 0)], "highway": "residential"},
        {"xy": [(20, 20), (20, 20)], "highway": "footway"},
        {"xy": [[(0, 0), (0, 50)], [(0, 50), (0, 80)]], "highway": "footway"},  # a MultiLineString
    ]
    net = prepare_roads(toy(tmp_path, rows))
    counts = net.derived["road_report"].counts
    assert counts["zero_length"] == 1
    assert counts["duplicates"] == 3  # the second street's two pieces and the overlapping half
    assert net.edges["length_m"].sum() == pytest.approx(280.0)
    kinds = net.derived["road_report"].issues["kind"].value_counts()
    assert kinds["duplicate"] == 3 and kinds["zero_length"] == 1 and kinds["dangle"] == counts["dangles"] == 2


def test_road_classes_and_the_walk_column(tmp_path):
    """Expressways and ramps are left out by default; walk = no leaves a road out; --walkable overrides a class."""
    rows = [
        {"xy": STREET["xy"], "道路等级": "支路", "walk": None},
        {"xy": [(0, 10), (200, 10)], "道路等级": "快速路", "walk": None},
        {"xy": [(0, 20), (200, 20)], "道路等级": "快速路匝道", "walk": "是"},  # walk says yes: kept
        {"xy": [(0, 30), (200, 30)], "道路等级": "次干路", "walk": "no"},
    ]
    path = toy(tmp_path, rows)
    net = prepare_roads(path)
    counts = net.derived["road_report"].counts
    assert counts["class_column"] == "道路等级" and counts["not_walkable"] == 2
    assert net.edges["length_m"].sum() == pytest.approx(400.0)
    mapping = tmp_path / "walkable.csv"
    mapping.write_text("道路等级,可步行\n快速路,是\n支路,否\n", encoding="utf-8")
    net = prepare_roads(path, walkable=dict(RoadOptions.of(walkable=mapping).walkable))
    assert net.derived["road_report"].counts["not_walkable"] == 2  # 支路 now out, 快速路 in, 次干路 still walk = no
    ys = sorted({round(y - Y0) for y in net.nodes["y"]})
    assert ys == [10, 20]


# --- the CLI: the network command, run's GeoPackage, bad files ---------------------------------------------


def test_cli_network_command_stores_a_road_layer_and_says_what_it_found(monaco, capsys, tmp_path):
    code = main(["network", str(monaco["path"]), "--join-ends-m", "0", "--cache-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    counts = prepare_roads(monaco["path"], join_m=0).derived["road_report"].counts
    assert f"{counts['nodes']:,} nodes, {counts['segments']:,} segments" in out
    assert f"{counts['crossings_not_noded']:,} not noded (they pass over each other: bridge, tunnel)" in err
    assert main(["network", str(monaco["path"]), "--join-ends-m", "0", "--cache-dir", str(tmp_path)]) == 0
    assert "read from the store" in capsys.readouterr().out
    stored = store_network(monaco["path"], cache_dir=tmp_path, roads=RoadOptions(join_m=0.0))
    assert not stored.built and stored.network.derived["road_report"].counts == counts


def test_cli_run_writes_network_issues(tmp_path, capsys):
    """A toy city in Luoyang: coverage.gpkg holds the network_issues layer (points and lines) beside the results."""
    roads = toy(
        tmp_path,
        [
            STREET,
            STREET,  # a duplicate: a line in the issues
            {"xy": [(100, -100), (100, 100)], "highway": "footway", "bridge": "yes"},
            {"xy": [(0, 0), (0, 150)], "highway": "footway", "bridge": None},
        ],
        name="roads.shp",
    )
    lonlat = gpd.GeoSeries(shapely.points([(X0 + 10, Y0 + 1), (X0 + 190, Y0 + 1), (X0 + 1, Y0 + 140)]), crs=4547)
    lonlat = lonlat.to_crs(4326)
    gpd.GeoDataFrame({"name": ["站点"], "category": ["service_centre"]}, geometry=lonlat[:1].values, crs=4326).to_file(
        tmp_path / "fac.geojson"
    )
    gpd.GeoDataFrame({"pop": [10, 20]}, geometry=lonlat[1:].values, crs=4326).to_file(tmp_path / "dem.geojson")
    args = ["run", "--network", str(roads), "--facilities", str(tmp_path / "fac.geojson")]
    args += ["--demand", str(tmp_path / "dem.geojson"), "--out", str(tmp_path / "out"), "--quiet"]
    assert main([*args, "--cache-dir", str(tmp_path / "cache")]) == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    assert "roads.shp: a road layer of 4 features" in err and "1 duplicates" in err
    gpkg = tmp_path / "out" / "coverage.gpkg"
    assert "network_issues" in list(pyogrio.list_layers(gpkg)[:, 0])
    issues = gpd.read_file(gpkg, layer="network_issues")
    assert {"duplicate", "crossing_not_noded", "dangle"} <= set(issues["kind"])
    assert set(issues.geom_type) == {"Point", "LineString"}
    demand = gpd.read_file(gpkg, layer="demand")
    assert len(demand) == 2


@pytest.mark.parametrize(
    "case",
    [
        ("points", [], ("道路图层须为线要素", "must be lines")),
        ("no_crs", [], ("未说明坐标系", "--network-crs")),
        ("lines", ["--network-crs", "EPSG:999999"], ("不是 PROJ 认识的坐标系", "EPSG:999999")),
        ("bad_walk", [], ("不是“是”或“否”", "'maybe' is not yes or no")),
        ("all_motorway", [], ("没有可步行的道路", "no walkable road")),
        ("zero", [], ("长度都为零", "has zero length (1 in all)")),
        ("lines", ["--network-crs", "EPSG:4326"], ("文件所述坐标系为 EPSG:4547", "--network-crs says EPSG:4326")),
        ("lines", ["--walkable", "MAPPING"], ("道路等级,是", "'perhaps' is not yes or no")),
    ],
)
def test_bad_road_layers_exit_2_with_a_clear_message(tmp_path, capsys, monkeypatch, case):
    """Each bad file or option: exit 2, one error line naming the file and the fix, in Chinese (and in English)."""
    make, extra, words = case
    line = shapely.LineString([(X0, Y0), (X0 + 100, Y0)])
    frames = {
        "points": gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(X0, Y0)], crs=4547),
        "no_crs": gpd.GeoDataFrame({"a": [1]}, geometry=[line]),
        "lines": gpd.GeoDataFrame({"highway": ["residential"]}, geometry=[line], crs=4547),
        "bad_walk": gpd.GeoDataFrame({"walk": ["yes", "maybe"]}, geometry=[line, line], crs=4547),
        "all_motorway": gpd.GeoDataFrame({"fclass": ["motorway"]}, geometry=[line], crs=4547),
        "zero": gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.LineString([(X0, Y0), (X0, Y0)])], crs=4547),
    }
    path = tmp_path / "roads.shp"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the layer with no CRS: GDAL says so
        frames[make].to_file(path)
    mapping = tmp_path / "walkable.csv"
    mapping.write_text("class,walkable\nmotorway,perhaps\n", encoding="utf-8")
    extra = [str(mapping) if e == "MAPPING" else e for e in extra]
    for lang, word in zip(("zh", "en"), words, strict=True):
        monkeypatch.setenv("QUARTERHOUR_LANG", lang)
        code = main(["network", str(path), "--cache-dir", str(tmp_path / "cache"), *extra])
        err = capsys.readouterr().err.strip()
        assert code == 2 and err.startswith("error:") and len(err.splitlines()) == 1, err
        assert word in err and "Traceback" not in err and str(tmp_path) not in err


def test_batch_prepares_a_road_layer_once_with_its_check(monaco):
    """``batch --network roads.gpkg``: the regional network is the road layer's, its check among the batch's notes."""
    from quarterhour.batch.run import BatchInputs, prepare_batch

    paths = sample_paths()
    inputs = BatchInputs(
        str(paths["boundaries"]), monaco["path"], paths["facilities"], paths["demand"], roads=RoadOptions(join_m=0.0)
    )
    prepared = prepare_batch(inputs)
    assert any("monaco_roads.gpkg: a road layer of" in n for n in prepared.notes)
    assert any("not noded (they pass over each other: bridge, tunnel)" in n for n in prepared.notes)
    stored = store_network(monaco["path"], roads=RoadOptions(join_m=0.0))
    assert str(stored.path.resolve()) == prepared.entry and not stored.built
    assert sum(len(job.demand) for job in prepared.jobs) >= len(monaco["demand"])


@pytest.mark.slow
def test_the_app_reads_an_uploaded_road_layer(monaco, tmp_path, monkeypatch):
    """The network uploader takes the line layer: the sample's headline, and the network check in what was read."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("QUARTERHOUR_DATABASE_URL", f"sqlite:///{tmp_path / 'workspace.sqlite'}")
    monkeypatch.setenv("QUARTERHOUR_CACHE", str(tmp_path / "cache"))
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=180).run()
    graphml = at.metric[0].value
    at.radio(key="network_how").set_value("file").run()
    uploader = at.file_uploader(key="network_file")
    assert {"zip", "gpkg", "geojson"} <= {t.lstrip(".") for t in uploader.allowed_type}
    uploader.set_value(("道路中心线.gpkg", monaco["path"].read_bytes(), "application/geopackage+sqlite3")).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.metric[0].value == graphml  # the same residents covered as on the GraphML
    said = " ".join(str(e.value) for e in at.caption)
    assert "道路中心线.gpkg：道路图层 2,201 条要素" in said and "交叉处打断" in said, said[:3000]


# --- any layer: noding agrees with GEOS's own (shapely.union_all), and the network is whole ----------------


@st.composite
def segment_layers(draw: st.DrawFn) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Straight two-point lines on a small lattice: crossings, T-junctions, shared ends, overlaps, duplicates."""
    point = st.tuples(st.integers(0, 6), st.integers(0, 6))
    lines = draw(st.lists(st.tuples(point, point).filter(lambda ab: ab[0] != ab[1]), min_size=1, max_size=12))
    return lines


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=segment_layers())
def test_noding_agrees_with_geos_union(tmp_path, lines):
    """At grade, joined only where ends coincide: the segments and junctions GEOS's union makes, the length kept."""
    rows = [{"xy": [(10 * a[0], 10 * a[1]), (10 * b[0], 10 * b[1])], "highway": "footway"} for a, b in lines]
    path = toy(tmp_path, rows, name=f"lattice{abs(hash(tuple(lines)))}.gpkg")
    net = prepare_roads(path, join_m=0)
    union = shapely.get_parts(shapely.union_all([_line(r["xy"]) for r in rows]))
    ends = np.unique(np.round(shapely.get_coordinates(shapely.boundary(union)), 6), axis=0)
    assert net.edges["length_m"].sum() == pytest.approx(shapely.length(union).sum(), rel=1e-9)
    assert len(net.edges) == len(union)
    assert net.n_nodes == len(np.unique(np.round(net.nodes[["x", "y"]].to_numpy(), 6), axis=0)) == len(ends)
    xy = net.nodes[["x", "y"]].to_numpy()
    start = shapely.get_coordinates(shapely.get_point(net.edges.geometry.to_numpy(), 0))
    end = shapely.get_coordinates(shapely.get_point(net.edges.geometry.to_numpy(), -1))
    assert np.allclose(start, xy[net.edges["u"]]) and np.allclose(end, xy[net.edges["v"]])


def test_the_apps_gcj02_choice_reads_the_layer_as_the_cli_does(luoyang, tmp_path):
    """The app keeps a GCJ-02 road layer as a WGS-84 copy (ui.roads): the network ``--network-crs gcj02`` gives."""
    from quarterhour.ui.roads import _read_as

    def to_gcj(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(wgs84_to_gcj02(xy[:, 0], xy[:, 1]))

    lines = luoyang["lines"].iloc[:300]
    lines.set_geometry(shapely.transform(lines.geometry.to_numpy(), to_gcj), crs=4326).to_file(tmp_path / "amap.gpkg")
    copy = _read_as(str(tmp_path / "amap.gpkg"), "gcj02", "amap.gpkg")
    cli = prepare_roads(tmp_path / "amap.gpkg", network_crs="gcj02")
    app = prepare_roads(copy)
    assert app.n_nodes == cli.n_nodes and len(app.edges) == len(cli.edges)
    assert app.edges["length_m"].sum() == pytest.approx(cli.edges["length_m"].sum(), rel=1e-9)


@pytest.mark.slow
def test_a_review_pack_holds_the_network_issues_around_its_unit(monaco):
    """``report`` on a road layer: each unit's layers.gpkg has the network_issues inside its frame."""
    import io

    from analysis.pipeline import run_circle
    from geo import read_boundaries
    from quarterhour.gis.export import provenance
    from quarterhour.pack.report import PackOptions, build_pack

    net = prepare_roads(monaco["path"], join_m=0)
    units = {k: v.to_crs(net.crs) for k, v in read_boundaries(sample_paths()["boundaries"]).items()}
    facilities, demand = monaco["facilities"].to_crs(net.crs), monaco["demand"].to_crs(net.crs)
    result = run_circle(net, facilities, demand, boundaries=units, isochrones=("facility",))
    prov = provenance({"minutes": 15}, {"network": monaco["path"]})
    data = build_pack(result, net, PackOptions(level="district", k=1, lang="en"), code="MC-D2", provenance=prov)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        name = next(n for n in zf.namelist() if n.endswith("layers.gpkg"))
        gpkg = monaco["folder"] / "pack_layers.gpkg"
        gpkg.write_bytes(zf.read(name))
    issues = gpd.read_file(gpkg, layer="network_issues")
    every = net.derived["road_report"].issues
    x0, y0, x1, y1 = units["district"].set_index("code").loc["MC-D2"].geometry.bounds
    assert 0 < len(issues) < len(every)
    box = issues.bounds
    assert (box["maxx"] >= x0 - 200).all() and (box["minx"] <= x1 + 200).all()
    assert (box["maxy"] >= y0 - 200).all() and (box["miny"] <= y1 + 200).all()
    assert set(issues["kind"]) <= set(every["kind"])
