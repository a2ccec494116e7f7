"""The network store: what it gives back equals a fresh preparation; damage is rebuilt; races leave one entry."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import osmnx as ox
import pandas as pd
import pytest
import shapely
from streamlit.testing.v1 import AppTest

from geo import read_network, sample_paths
from geo.faces import FACE_FILES
from geo.network import StreetNetwork, network_from_arrays, prepare_network
from geo.store import FORMAT_VERSION, list_networks, load_entry, store_network

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_NET = sample_paths()["network"]


def osmnx_prepare(graph) -> StreetNetwork:
    """The preparation as it was before it was vectorised (osmnx project_graph + graph_to_gdfs): the reference."""
    projected = ox.project_graph(graph)
    nodes_gdf, edges_gdf = ox.convert.graph_to_gdfs(projected, fill_edge_geometry=True)
    nodes_gdf = nodes_gdf.sort_index()
    position = pd.Series(np.arange(len(nodes_gdf)), index=nodes_gdf.index)
    edges_gdf = edges_gdf.reset_index()
    u = position.loc[edges_gdf["u"]].to_numpy()
    v = position.loc[edges_gdf["v"]].to_numpy()
    geom = edges_gdf.geometry.to_numpy()
    length = np.round(shapely.length(geom), 6)
    first = ~pd.DataFrame({"lo": np.minimum(u, v), "hi": np.maximum(u, v), "length": length}).duplicated().to_numpy()
    u, v, geom = u[first], v[first], geom[first]
    xy = nodes_gdf[["x", "y"]].to_numpy()
    start = shapely.get_coordinates(shapely.get_point(geom, 0))
    flip = np.hypot(*(start - xy[u]).T) > np.hypot(*(start - xy[v]).T)
    geom[flip] = shapely.reverse(geom[flip])
    return network_from_arrays(xy, u, v, geom, crs=projected.graph["crs"], node_ids=nodes_gdf.index.to_numpy())


def assert_same_network(got: StreetNetwork, want: StreetNetwork) -> None:
    assert got.crs == want.crs
    assert got.nodes.index.equals(want.nodes.index)
    np.testing.assert_allclose(got.nodes[["x", "y"]].to_numpy(), want.nodes[["x", "y"]].to_numpy(), atol=1e-6, rtol=0)
    np.testing.assert_array_equal(got.nodes["component"].to_numpy(), want.nodes["component"].to_numpy())
    np.testing.assert_array_equal(got.edges[["u", "v"]].to_numpy(), want.edges[["u", "v"]].to_numpy())
    np.testing.assert_allclose(got.edges["length_m"].to_numpy(), want.edges["length_m"].to_numpy(), atol=1e-6, rtol=0)
    assert shapely.equals_exact(got.edges.geometry.values, want.edges.geometry.values, 1e-6).all()


@pytest.fixture(scope="module")
def fresh() -> StreetNetwork:
    return prepare_network(read_network(SAMPLE_NET), source=SAMPLE_NET.name)


def test_vectorised_preparation_equals_osmnx_way(fresh):
    reference = osmnx_prepare(read_network(SAMPLE_NET))
    assert fresh.n_nodes == 2564 and len(fresh.edges) == 3657
    assert_same_network(fresh, reference)


def test_store_gives_back_the_fresh_network(tmp_path, fresh):
    first = store_network(SAMPLE_NET, cache_dir=tmp_path)
    assert first.built and first.path.parent == tmp_path / "prepared"
    second = store_network(SAMPLE_NET, cache_dir=tmp_path)
    assert not second.built and second.path == first.path
    assert second.network.graph is None
    assert_same_network(second.network, fresh)
    m = second.manifest
    assert (m["format"], m["nodes"], m["segments"]) == (FORMAT_VERSION, 2564, 3657)
    assert m["source"]["name"] == "network.graphml"
    west, south, east, north = m["extent_lonlat"]
    assert 7.40 < west < east < 7.45 and 43.72 < south < north < 43.76  # Monaco
    assert {f: d["bytes"] for f, d in m["files"].items()} == {
        f: (first.path / f).stat().st_size for f in ("nodes.parquet", "edges.parquet", *FACE_FILES)
    }  # issue 32: iso-faces, the network's faces kept beside it


def test_the_nodes_points_made_from_x_y_are_the_stored_ones(tmp_path, fresh):
    """Issue 32: the store makes the nodes' points from x, y (no WKB parsed): the very points the file holds."""
    import geopandas as gpd

    entry = store_network(SAMPLE_NET, cache_dir=tmp_path).path
    again = store_network(SAMPLE_NET, cache_dir=tmp_path)
    assert not again.built
    stored = gpd.read_parquet(entry / "nodes.parquet")
    assert shapely.equals_exact(again.network.nodes.geometry.values, stored.geometry.values, 0).all()
    assert again.network.nodes.crs == stored.crs == fresh.crs
    pd.testing.assert_frame_equal(
        pd.DataFrame(again.network.nodes.drop(columns="geometry")), pd.DataFrame(stored.drop(columns="geometry"))
    )


def test_other_options_are_another_entry(tmp_path):
    plain = store_network(SAMPLE_NET, cache_dir=tmp_path)
    merged = store_network(SAMPLE_NET, cache_dir=tmp_path, consolidate_m=10)
    assert merged.built and merged.path != plain.path
    assert merged.network.n_nodes < plain.network.n_nodes
    assert len(list_networks(tmp_path)) == 2


def _truncate(entry: Path) -> None:
    data = (entry / "edges.parquet").read_bytes()
    (entry / "edges.parquet").write_bytes(data[: len(data) // 2])


def _flip_byte(entry: Path) -> None:
    data = bytearray((entry / "nodes.parquet").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (entry / "nodes.parquet").write_bytes(bytes(data))


def _old_format(entry: Path) -> None:
    manifest = json.loads((entry / "manifest.json").read_text())
    manifest["format"] = FORMAT_VERSION - 1
    (entry / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("damage", [_truncate, _flip_byte, _old_format])
def test_a_damaged_entry_is_rebuilt_not_used(tmp_path, fresh, damage, caplog):
    entry = store_network(SAMPLE_NET, cache_dir=tmp_path).path
    damage(entry)
    again = store_network(SAMPLE_NET, cache_dir=tmp_path)
    assert again.built and again.path == entry
    assert "preparing it again" in caplog.text
    assert_same_network(again.network, fresh)
    after = store_network(SAMPLE_NET, cache_dir=tmp_path)
    assert not after.built
    assert_same_network(after.network, fresh)
    assert sorted(p.name for p in entry.parent.iterdir()) == [entry.name]  # nothing left aside


def test_a_damaged_entry_opened_by_its_folder_is_rebuilt_from_its_source(tmp_path, fresh):
    source = tmp_path / "monaco.graphml"
    shutil.copy(SAMPLE_NET, source)
    entry = store_network(source, cache_dir=tmp_path / "cache").path
    _flip_byte(entry)
    again = load_entry(entry)
    assert again.built
    assert_same_network(again.network, fresh)


_RACER = """
import sys, time
from pathlib import Path
from geo.store import store_network
ready, go = Path(sys.argv[1]), Path(sys.argv[2])
ready.touch()
while not go.exists():
    time.sleep(0.005)
stored = store_network(sys.argv[3], cache_dir=sys.argv[4])
print(stored.built, stored.network.n_nodes, len(stored.network.edges))
"""


def test_two_processes_preparing_at_once_leave_one_valid_entry(tmp_path, fresh):
    cache, go = tmp_path / "cache", tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, str(tmp_path / f"ready{i}"), str(go), str(SAMPLE_NET), str(cache)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"ready{i}").exists() for i in range(2)) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()  # both start preparing together
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outs]
    assert [out.split()[1:] for out, _ in outs] == [["2564", "3657"]] * 2
    entries = list((cache / "prepared").iterdir())
    assert len(entries) == 1, entries  # no temporary folder left behind
    stored = store_network(SAMPLE_NET, cache_dir=cache)
    assert not stored.built
    assert_same_network(stored.network, fresh)


def test_network_command_says_what_it_holds(tmp_path):
    def network(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "quarterhour.cli", "network", *args]
        return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)

    first = network(str(SAMPLE_NET), "--cache-dir", str(tmp_path))
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0].startswith("network.graphml: 2,564 nodes, 3,657 segments")
    assert "0 fragments" in lines[0] and "EPSG:32632" in lines[0]
    assert lines[1].startswith("extent (lon/lat): west 7.4")
    assert lines[2].startswith("prepared now and stored")
    entry = Path(lines[2].rsplit(": ", 1)[1])
    assert entry.parent == tmp_path / "prepared" and (entry / "manifest.json").is_file()
    second = network(str(SAMPLE_NET), "--cache-dir", str(tmp_path))
    assert second.stdout.splitlines()[2] == f"read from the store (0.8 MB): {entry}"
    missing = network(str(tmp_path / "nowhere.graphml"), "--cache-dir", str(tmp_path))
    assert missing.returncode == 2 and missing.stderr.startswith("error:") and "nowhere.graphml" in missing.stderr


def test_the_app_opens_a_stored_network(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("QUARTERHOUR_CACHE", str(cache))
    city = tmp_path / "monaco-city.graphml"
    shutil.copy(SAMPLE_NET, city)
    entry = store_network(city).path  # the store the app sees (QUARTERHOUR_CACHE)
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    app.radio(key="network_how").set_value("store").run()
    choice = app.selectbox(key="network_store")
    assert choice.options == [  # the same words in both languages (issue 26)
        "monaco-city.graphml（2,564 个节点 nodes，0.8 MB，经 lon 7.408–7.443，纬 lat 43.723–43.752）"
    ]
    assert choice.value == f"store:{entry}"
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert app.metric[0].value == "38,245 / 38,367"  # the sample's facilities and residents on the stored network
