"""Issue 32: the question path (store entry -> every resident's nearest time) without lines or trees, to the bit.

``quarterhour.question.question_times`` reads the entry's routing arrays as columns once its check is on
record (``geo.store.read_routing``) and takes the snaps kept in the entry (``geo.snapstore``); every answer
here is compared with today's path (``load_entry`` + ``snap_points`` + ``nearest_times``) with
``array_equal``, and that path with networkx on the sample.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import shapely

from analysis import traveltime
from analysis.traveltime import _same_segment, _shortest, nearest_times, speed_ms
from geo import InputError, sample_paths, snap_points
from geo.network import network_from_arrays
from geo.snapstore import find_kept, kept_snap
from geo.store import STORE_ENTRY, RoutingNetwork, load_entry, read_routing, store_network
from quarterhour.question import question_times
from tests.test_traveltime import _split_graph

FIELDS = ("point_s", "point_source", "node_s", "node_source")


@pytest.fixture(scope="module")
def stored(tmp_path_factory, sample):
    """The sample network in a store of its own, and today's answer on it (read whole, snapped now)."""
    cache = tmp_path_factory.mktemp("question-cache")
    entry = store_network(sample_paths()["network"], cache_dir=cache).path
    network = load_entry(entry).network
    _, fac, dem = sample
    f_snap, d_snap = snap_points(fac, network), snap_points(dem, network)
    shutil.rmtree(entry / "snaps", ignore_errors=True)  # nothing kept yet: the first question snaps
    return entry, nearest_times(network, f_snap, d_snap), (f_snap, d_snap)


def _assert_same(got, want) -> None:
    for f in FIELDS:
        np.testing.assert_array_equal(getattr(got, f), getattr(want, f), err_msg=f)


def test_question_cold_then_warm_gives_todays_seconds_to_the_bit(stored, sample):
    entry, want, (f_snap, d_snap) = stored
    _, fac, dem = sample
    _assert_same(question_times(entry, fac, dem), want)  # cold: read whole, snapped, kept
    assert len(list((entry / "snaps").iterdir())) == 2
    routing = read_routing(entry).network
    assert isinstance(routing, RoutingNetwork)  # warm: no lines read
    assert not hasattr(routing.edges, "geometry") and routing.n_nodes == want.node_s.size
    pd.testing.assert_frame_equal(find_kept(dem, routing), d_snap)  # the very table snap_points gave
    pd.testing.assert_frame_equal(find_kept(fac, routing), f_snap)
    _assert_same(question_times(entry, fac, dem), want)
    _assert_same(question_times(read_routing(entry), fac, dem), want)


def test_question_equals_networkx_on_the_sample(stored, sample):
    entry, _, _ = stored
    network, fac, dem = sample
    ours = question_times(entry, fac, dem)
    snaps = snap_points(pd.concat([fac[["geometry"]], dem[["geometry"]]]), network)
    g = _split_graph(network, snaps, speed_ms(4.5))
    ref = nx.multi_source_dijkstra_path_length(g, {("p", k) for k in fac.index}, weight="s")
    np.testing.assert_allclose(ours.point_s, [ref.get(("p", k), np.inf) for k in dem.index], rtol=0, atol=1e-6)


def test_kept_snaps_follow_the_points_and_the_options(stored, sample):
    entry, _, _ = stored
    network = load_entry(entry).network
    _, fac, dem = sample
    moved = dem.copy()
    first = moved.geometry.iloc[0]
    moved.loc[moved.index[0], "geometry"] = shapely.Point(first.x + 35, first.y)  # one resident moves
    pd.testing.assert_frame_equal(kept_snap(moved, network), snap_points(moved, network))
    assert find_kept(moved, network) is not None and find_kept(moved.iloc[1:], network) is None
    assert find_kept(dem, network, max_snap_m=50) is None  # another option: not the same question
    pd.testing.assert_frame_equal(kept_snap(dem, network, max_snap_m=50), snap_points(dem, network, max_snap_m=50))
    flagged = dem.assign(off_network=np.r_[True, np.zeros(len(dem) - 1, dtype=bool)])
    assert find_kept(flagged, network) is None
    assert not kept_snap(flagged, network)["on_network"].iloc[0]
    want = nearest_times(network, snap_points(fac, network), snap_points(moved, network))
    _assert_same(question_times(entry, fac, moved), want)


def test_a_rewritten_entry_or_a_forged_snap_is_not_used(stored, sample, tmp_path):
    entry, want, _ = stored
    _, fac, dem = sample
    question_times(entry, fac, dem)
    for kept in (entry / "snaps").iterdir():  # written without the store's key: refused, the points snapped again
        data = bytearray(kept.read_bytes())
        data[-20] ^= 0xFF
        kept.write_bytes(bytes(data))
    network = load_entry(entry).network
    assert find_kept(dem, network) is None and find_kept(fac, network) is None
    _assert_same(question_times(entry, fac, dem), want)
    # the same network stored again elsewhere: another manifest, so the snaps kept here are not its
    other = store_network(sample_paths()["network"], cache_dir=tmp_path).network
    assert other.derived[STORE_ENTRY][1] != network.derived[STORE_ENTRY][1]
    assert find_kept(dem, other) is None


def test_routing_read_needs_its_keyed_arrays_and_whole_files(stored, sample):
    entry, want, _ = stored
    _, fac, dem = sample
    routing_file = entry / "routing.bin"
    load_entry(entry)
    assert routing_file.is_file()
    routing = read_routing(entry).network
    assert isinstance(routing, RoutingNetwork)
    whole = load_entry(entry).network
    pd.testing.assert_frame_equal(
        routing.nodes, pd.DataFrame(whole.nodes[["x", "y", "component"]]).reset_index(drop=True)
    )
    data = bytearray(routing_file.read_bytes())
    data[-8:] = np.float64(1.0).tobytes()  # one link made 1 m long: the key no longer fits
    routing_file.write_bytes(bytes(data))
    again = read_routing(entry).network  # not keyed: read whole (lines checked), the file written again
    assert not isinstance(again, RoutingNetwork) and again.edges.geometry.notna().all()
    assert isinstance(read_routing(entry).network, RoutingNetwork)
    _assert_same(question_times(entry, fac, dem), want)
    routing_file.unlink()  # an entry written before issue 32: read whole the first time
    assert not isinstance(read_routing(entry).network, RoutingNetwork)
    _assert_same(question_times(entry, fac, dem), want)
    nodes = entry / "nodes.parquet"  # the nodes' file is checked when the nodes are read
    kept = nodes.read_bytes()
    nodes.write_bytes(kept[:-100] + b"\0" * 100)
    with pytest.raises(InputError, match=r"nodes\.parquet does not match"):
        _ = read_routing(entry).network.nodes
    nodes.write_bytes(kept)
    edges = entry / "edges.parquet"  # a damaged file: the entry is prepared again
    edges.write_bytes(edges.read_bytes()[:-100] + b"\0" * 100)
    again = load_entry(entry)
    assert again.built
    _assert_same(question_times(entry, fac, dem), want)


def _links_as_before(network, speed):
    """The street links as built before issue 32: a three-key sort (``_shortest``), then COO to CSR."""
    e = network.edges
    u, v, sec = e["u"].to_numpy(), e["v"].to_numpy(), e["length_m"].to_numpy() / speed
    rows, cols, w = _shortest(np.r_[u, v], np.r_[v, u], np.r_[sec, sec])
    return sp.csr_matrix((w, (rows, cols)), shape=(network.n_nodes, network.n_nodes))


def test_street_links_are_the_three_key_sorts_arrays_with_parallel_segments_and_loops(sample, diamond):
    xy = np.array([[0.0, 0], [100, 0], [100, 100], [0, 100]])
    u = np.array([0, 1, 2, 0, 1, 3, 2])
    v = np.array([1, 2, 3, 1, 0, 3, 3])  # (0,1) three times (one curved, one reversed); a loop at 3; (2,3) twice
    geom = shapely.linestrings(np.stack([xy[u], xy[v]], axis=1))
    geom[3] = shapely.LineString([(0, 0), (50, 20), (100, 0)])
    geom[5] = shapely.LineString([(0, 100), (10, 110), (0, 120), (0, 100)])
    geom[6] = shapely.LineString([(100, 100), (50, 90), (0, 100)])
    looped = network_from_arrays(xy, u, v, geom, crs="EPSG:32632")
    speed = speed_ms(4.5)
    assert _links_as_before(looped, speed).nnz == 7  # 0-1, 1-2, 2-3 both ways, the loop once
    for network in (looped, diamond, sample[0]):  # parallel links and loops; none (scipy's conversion alone)
        want = _links_as_before(network, speed)
        indptr, indices, data = traveltime._street_links(network, speed)
        np.testing.assert_array_equal(indptr, want.indptr)
        np.testing.assert_array_equal(indices, want.indices)
        np.testing.assert_array_equal(data, want.data)


def test_same_segment_pairs_are_the_merges(sample):
    network, fac, dem = sample
    f_snap, d_snap = snap_points(fac, network), snap_points(dem, network)
    for sources, targets in ((f_snap, d_snap), (d_snap, d_snap), (d_snap, f_snap)):
        s_on, t_on = np.flatnonzero(sources["edge"] >= 0), np.flatnonzero(targets["edge"] >= 0)
        s_tab = sources.iloc[s_on][["edge", "pos_m", "offset_m"]].assign(source=s_on)
        t_tab = targets.iloc[t_on][["edge", "pos_m", "offset_m"]].assign(target=t_on)
        pairs = t_tab.merge(s_tab, on="edge", suffixes=("_t", "_s"))  # as it was found before issue 32
        walk_m = np.abs(pairs["pos_m_t"] - pairs["pos_m_s"]) + pairs["offset_m_t"] + pairs["offset_m_s"]
        want = pd.DataFrame({"source": pairs["source"].to_numpy(), "target": pairs["target"].to_numpy()})
        want["seconds"] = walk_m.to_numpy() / 1.25
        got = _same_segment(sources, targets, 1.25)
        assert len(got) > 0
        pd.testing.assert_frame_equal(got, want)


def test_a_runs_snapping_stage_keeps_and_reuses_the_snaps(stored, sample):
    """The CLI's and the app's runs snap in ``snap_circle``: the second run on the same inputs takes the kept tables."""
    from analysis import stages
    from analysis.options import CircleOptions

    entry, _, (f_snap, d_snap) = stored
    _, fac, dem = sample
    shutil.rmtree(entry / "snaps", ignore_errors=True)
    network = load_entry(entry).network
    first = stages.snap_circle(network, fac, dem, CircleOptions())
    assert find_kept(dem, network) is not None and find_kept(fac, network) is not None
    again = stages.snap_circle(load_entry(entry).network, fac, dem, CircleOptions())
    for got in (first, again):
        pd.testing.assert_frame_equal(got.f_snap, f_snap)
        pd.testing.assert_frame_equal(got.d_snap, d_snap)


def test_the_site_command_keeps_and_reuses_the_snaps(tmp_path, sample):
    """``quarterhour site`` snaps as ``run`` does (``kept_snap``): the second site on the same inputs reads them."""
    import pyogrio

    from geo.store import list_networks
    from quarterhour.cli.main import main

    cache = tmp_path / "cache"
    args = ["site", "--model", "mclp", "--k", "1", "--minutes", "5", "--curve", "0", "--cache-dir", str(cache)]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    (entry,) = [Path(m["path"]) for m in list_networks(cache)]
    kept = sorted((entry / "snaps").iterdir())
    assert len(kept) == 2  # the facilities staying open and the residents
    network = load_entry(entry).network
    _, _, dem = sample
    pd.testing.assert_frame_equal(find_kept(dem, network), snap_points(dem, network))
    stamps = [p.stat().st_mtime_ns for p in kept]
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    assert sorted((entry / "snaps").iterdir()) == kept  # read, not made again (their use touches them)
    assert [p.stat().st_mtime_ns for p in kept] >= stamps
    a, b = (pyogrio.read_dataframe(tmp_path / x / "sites.gpkg", layer="sites") for x in ("a", "b"))
    pd.testing.assert_frame_equal(a, b)  # the same sites, to the bit
    a, b = (pyogrio.read_dataframe(tmp_path / x / "sites.gpkg", layer="isochrones") for x in ("a", "b"))
    assert shapely.equals_exact(a.geometry.to_numpy(), b.geometry.to_numpy(), tolerance=1e-6).all()
