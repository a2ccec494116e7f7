"""Walking times: exact on a toy network, equal to networkx Dijkstra on the real sample."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from analysis.isochrones import reached_lines
from analysis.traveltime import (
    nearest_times,
    node_seconds_from,
    od_table,
    reach_table,
    reached_pairs,
    reached_segments,
    speed_ms,
)
from geo import snap_points
from tests.conftest import points

ONE_MS = 3.6  # km/h: one metre per second


def test_toy_times_are_exact(diamond):
    fac = points([(50, 10)])
    res = points([(150, -5), (0, -20), (20, 3), (100, 100)])
    t = nearest_times(diamond, snap_points(fac, diamond), snap_points(res, diamond), speed_kmh=ONE_MS)
    # nodes: A, B = 10 (to the street) + 50; C = 60 + 100; D = 60 + 100
    np.testing.assert_allclose(t.node_s, [60, 60, 160, 160], atol=1e-9)
    # (150,-5): 5 m off BC at 50 m from B; (0,-20): A end of AB, 20 m off;
    # (20,3): same segment as the facility, straight along it; (100,100): at D.
    np.testing.assert_allclose(t.point_s, [115, 80, 43, 160], atol=1e-9)
    assert list(t.point_source) == [0, 0, 0, 0]


def test_nearest_source_is_named(diamond):
    fac = points([(0, -5), (200, -5)])
    res = points([(40, 0), (160, 0)])
    t = nearest_times(diamond, snap_points(fac, diamond), snap_points(res, diamond), speed_kmh=ONE_MS)
    assert list(t.point_source) == [0, 1]
    np.testing.assert_allclose(t.point_s, [45, 45])


def test_partial_segment_is_cut_at_the_cutoff(diamond):
    fac = points([(50, 10)])
    node_s = node_seconds_from(diamond, snap_points(fac, diamond), speed_kmh=ONE_MS)[0]
    lines = reached_lines(diamond, node_s, 100, speed_kmh=ONE_MS)
    reached = shapely.union_all(lines)
    # B is reached at 60 s: 40 m further along BC and BD; AB is reached from both ends (40 + 40 m).
    assert reached.length == pytest.approx(40 + 40 + 40 + 40)
    assert reached.covers(shapely.LineString([(100, 0), (140, 0)]))
    assert not reached.intersects(shapely.Point(141, 0))


def test_speed_must_be_positive():
    with pytest.raises(ValueError, match="speed must be positive"):
        speed_ms(0)


def _split_graph(network, snaps: pd.DataFrame, speed: float) -> nx.DiGraph:
    """An independent reference: every snapped point becomes a node on its segment, joined by its offset."""
    g = nx.DiGraph()

    def join(a, b, seconds):
        for x, y in ((a, b), (b, a)):
            if not g.has_edge(x, y) or g[x][y]["s"] > seconds:
                g.add_edge(x, y, s=seconds)

    e = network.edges
    on = snaps[snaps["edge"] >= 0]
    by_edge = on.groupby("edge")
    for i, (u, v, length) in enumerate(zip(e["u"], e["v"], e["length_m"], strict=True)):
        stops = [(0.0, ("n", u))]
        if i in by_edge.groups:
            grp = by_edge.get_group(i)
            stops += [(p, ("s", k)) for k, p in zip(grp.index, grp["pos_m"], strict=True)]
        stops.append((length, ("n", v)))
        stops.sort(key=lambda s: s[0])
        for (p1, a), (p2, b) in itertools.pairwise(stops):
            join(a, b, (p2 - p1) / speed)
    for k, off in on["offset_m"].items():
        join(("s", k), ("p", k), off / speed)
    return g


def test_sample_times_equal_networkx(sample):
    network, facilities, demand = sample
    snaps = snap_points(pd.concat([facilities[["geometry"]], demand[["geometry"]]]), network)
    f_snap, d_snap = snaps.iloc[: len(facilities)], snaps.iloc[len(facilities) :]
    ours = nearest_times(network, f_snap, d_snap)
    speed = speed_ms(4.5)
    g = _split_graph(network, snaps, speed)
    ref = nx.multi_source_dijkstra_path_length(g, {("p", k) for k in facilities.index}, weight="s")
    ref_nodes = np.array([ref.get(("n", i), np.inf) for i in range(network.n_nodes)])
    ref_points = np.array([ref.get(("p", k), np.inf) for k in demand.index])
    assert np.isfinite(ref_nodes).all()
    np.testing.assert_allclose(ours.node_s, ref_nodes, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours.point_s, ref_points, rtol=0, atol=1e-6)


def test_reach_table_matches_dense_times(sample):
    network, facilities, _ = sample
    snaps = snap_points(facilities, network)
    dense = node_seconds_from(network, snaps, limit_s=600)
    tab = reach_table(network, snaps, cutoff_s=600, max_cells=30_000)  # forces several chunks
    rebuilt = np.full_like(dense, np.inf)
    rebuilt[tab["source"], tab["node"]] = tab["seconds"]
    np.testing.assert_array_equal(rebuilt, np.where(dense <= 600, dense, np.inf))
    assert tab["seconds"].max() <= 600


def test_point_far_from_any_street_is_off_network(diamond):
    snaps = snap_points(points([(50, 600), (50, 250)]), diamond)
    assert snaps["on_network"].tolist() == [False, True]  # 500 m and 150 m from the nearest street
    assert snaps["edge"].iloc[0] == -1 and np.isnan(snaps["offset_m"].iloc[0])
    assert snap_points(points([(50, 250)]), diamond, max_snap_m=100)["on_network"].tolist() == [False]


def test_od_table_equals_dense_times(sample):
    network, facilities, demand = sample
    f_snap, d_snap = snap_points(facilities, network), snap_points(demand, network)
    od = od_table(network, f_snap, d_snap, cutoff_s=600)
    dense = np.full((len(facilities), len(demand)), np.inf)
    for i in range(len(facilities)):  # one facility at a time: nearest_times handles shared segments
        dense[i] = nearest_times(network, f_snap.iloc[[i]], d_snap).point_s
    got = np.full_like(dense, np.inf)
    got[od["source"], od["target"]] = od["seconds"]
    np.testing.assert_allclose(got, np.where(dense <= 600, dense, np.inf), rtol=0, atol=1e-9)
    assert not od.duplicated(["source", "target"]).any()


def test_reached_pairs_are_kept_for_the_same_question_only(sample):
    """A run's OD table and isochrones share one set of walks (issue 13); another question is walked afresh."""
    network, facilities, _ = sample
    snaps = snap_points(facilities, network)
    first = reached_pairs(network, snaps, cutoff_s=600)
    pd.testing.assert_frame_equal(first, reached_segments(network, reach_table(network, snaps, cutoff_s=600)))
    assert reached_pairs(network, snaps.copy(), cutoff_s=600) is first  # the same content, another frame
    assert reached_pairs(network, snaps, cutoff_s=300) is not first
    assert reached_pairs(network, snaps.iloc[1:], cutoff_s=300)["source"].max() < len(snaps) - 1
    moved = snaps.assign(pos_m=snaps["pos_m"] + 1.0)
    assert not reached_pairs(network, moved, cutoff_s=300).equals(reached_pairs(network, snaps, cutoff_s=300))


@pytest.mark.parametrize("cutoff_s", [120, 600])
def test_reach_table_in_tiles_is_the_whole_networks(sample, monkeypatch, cutoff_s):
    """Issue 32: each tile of facilities walked on the part of the network it can reach gives the same seconds."""
    from analysis import traveltime

    network, facilities, _ = sample
    snaps = snap_points(facilities, network)
    whole = reach_table(network, snaps, cutoff_s=cutoff_s)
    monkeypatch.setattr(traveltime, "_LOCAL_FROM_NODES", 0)  # the sample is a town: tile it anyway
    tiles = traveltime._local_graphs(
        network, traveltime._graph(network, snaps, speed_ms(4.5)), snaps, np.arange(len(snaps)), cutoff_s * 1.25
    )
    assert len(tiles) > 1 and max(len(nodes) for _, nodes, _, _ in tiles) < network.n_nodes
    pd.testing.assert_frame_equal(reach_table(network, snaps, cutoff_s=cutoff_s), whole)  # to the last bit
    dense = node_seconds_from(network, snaps, limit_s=cutoff_s)
    assert len(whole) == int(np.isfinite(dense).sum())
