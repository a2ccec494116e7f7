"""Issue 32 (question-cold): the snapping grid places points as GEOS's tree and line_locate_point do, to the bit.

``geo.snapgrid.SnapGrid`` replaced ``STRtree.query_nearest`` in ``geo.snap_points``. Each point's segment,
distance and metres along it are checked here against GEOS itself: the distance (``query_nearest``'s, which is
``shapely.distance``'s) and the position (``shapely.line_locate_point`` on the chosen segment's line) with
``array_equal``; the segment against every segment GEOS finds at that least distance (``all_matches=True``):
the grid takes the lowest of them, where the tree took whichever it visited first. On the sample's real
streets (lines of many vertices), on lines with repeated vertices, loops and overlaps, for points on the
lines, at their vertices, far off and beyond the grid; then the grid kept in a store entry.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo import sample_paths, snap_points
from geo.network import network_from_arrays
from geo.snapgrid import GRID_FILE, SnapGrid, grid_of, read_grid, write_grid
from geo.store import RoutingNetwork, load_entry, read_routing, store_network
from quarterhour.question import question_times


def _geos(points: np.ndarray, lines: np.ndarray, max_snap_m: float) -> tuple[list[set], np.ndarray]:
    """Every segment GEOS finds nearest to each point (within ``max_snap_m``) and that distance."""
    (pi, ei), dist = shapely.STRtree(lines).query_nearest(
        points, max_distance=max_snap_m, return_distance=True, all_matches=True
    )
    nearest = [set() for _ in points]
    least = np.full(len(points), np.nan)
    for p, e, d in zip(pi, ei, dist, strict=True):
        nearest[p].add(int(e))
        least[p] = d
    return nearest, least


def _assert_as_geos(points: np.ndarray, lines: np.ndarray, max_snap_m: float) -> pd.DataFrame:
    network = _network(lines)
    layer = gpd.GeoDataFrame(geometry=points, crs=network.crs)
    got = snap_points(layer, network, max_snap_m=max_snap_m)
    with tempfile.TemporaryDirectory() as folder:  # the grid as kept in a store (32-bit where it fits): the same
        write_grid(Path(folder) / GRID_FILE, grid_of(network), secret=b"k", digest="d")
        kept = read_grid(Path(folder) / GRID_FILE, secret=b"k", digest="d", n_edges=len(lines))
    assert kept.cell_items.dtype == np.int32
    xy = shapely.get_coordinates(points)
    for a, column in zip(
        kept.snap(xy[:, 0], xy[:, 1], max_snap_m=max_snap_m), ("edge", "offset_m", "pos_m"), strict=True
    ):
        np.testing.assert_array_equal(a, got[column].to_numpy())
    nearest, least = _geos(points, lines, max_snap_m)
    edge = got["edge"].to_numpy()
    np.testing.assert_array_equal(edge >= 0, [bool(s) for s in nearest])
    np.testing.assert_array_equal(got["offset_m"].to_numpy(), least)  # GEOS's distance, to the bit
    on = np.flatnonzero(edge >= 0)
    assert all(edge[i] == min(nearest[i]) for i in on)  # the lowest of the equally near
    foot = shapely.line_locate_point(lines[edge[on]], points[on])
    np.testing.assert_array_equal(got["pos_m"].to_numpy()[on], foot)  # GEOS's metres along, to the bit
    single = [i for i in on if len(nearest[i]) == 1]  # no tie: the very segment the tree gave
    (pi, ei) = shapely.STRtree(lines).query_nearest(points[single], max_distance=max_snap_m, all_matches=False)
    np.testing.assert_array_equal(edge[single][pi], ei)
    return got, len(on) - len(single)


def _network(lines: np.ndarray):
    """A network whose segments are ``lines`` (their ends as nodes)."""
    ends = np.concatenate([shapely.get_point(lines, 0), shapely.get_point(lines, -1)])
    xy, inverse = np.unique(shapely.get_coordinates(ends), axis=0, return_inverse=True)
    n = len(lines)
    return network_from_arrays(xy, inverse[:n], inverse[n:], lines, crs="EPSG:32632")


def test_the_grid_snaps_the_samples_points_as_geos_does(sample):
    network, fac, dem = sample
    lines = network.edges.geometry.to_numpy()
    rng = np.random.default_rng(7)
    west, south, east, north = network.edges.total_bounds
    far = shapely.points(rng.uniform([west - 600, south - 600], [east + 600, north + 600], (1500, 2)))
    vertices = shapely.points(shapely.get_coordinates(lines)[::3])  # at corners and bends: ties
    along = shapely.line_interpolate_point(lines[::2], rng.uniform(0, 1, len(lines[::2])), normalized=True)
    points = np.concatenate([fac.geometry.to_numpy(), dem.geometry.to_numpy(), far, vertices, along])
    got, ties = _assert_as_geos(points, lines, 300.0)
    assert got["on_network"].sum() > 1000 and (~got["on_network"]).sum() > 50  # near and beyond 300 m
    assert ties > 100  # points whose nearest place is a corner of several segments
    for max_snap_m in (7.5, 2_000.0):  # the cells looked at widen until the farthest snap is covered
        _assert_as_geos(points[::5], lines, max_snap_m)
    pd.testing.assert_frame_equal(snap_points(dem, network), _assert_as_geos_layer(dem, network))


def _assert_as_geos_layer(points: gpd.GeoDataFrame, network) -> pd.DataFrame:
    """``snap_points`` on a layer (index kept, ``component`` from the nodes) as checked by ``_assert_as_geos``."""
    got, _ = _assert_as_geos(points.geometry.to_numpy(), network.edges.geometry.to_numpy(), 300.0)
    got.index = points.index
    edge = got["edge"].to_numpy()
    comp = network.nodes["component"].to_numpy()[network.edges["u"].to_numpy()[np.maximum(edge, 0)]]
    got["component"] = np.where(edge >= 0, comp, -1)
    return got


def test_the_grid_takes_repeated_vertices_loops_and_overlaps_as_geos_does():
    lines = np.array(
        [
            shapely.LineString([(0, 0), (50, 0), (50, 0), (100, 0)]),  # a repeated vertex: a piece of no length
            shapely.LineString([(0, 0), (100, 0)]),  # the same street again: every point ties
            shapely.LineString([(100, 0), (130, 40), (100, 80), (70, 40), (100, 0)]),  # a loop
            shapely.LineString([(0, 0), (0, 100), (0, 100.0000001)]),
            shapely.LineString([(-20, 60), (40, 60.5), (90, 59.5), (160, 61), (161, 61)]),
        ]
    )
    x, y = np.meshgrid(np.linspace(-80, 240, 41), np.linspace(-60, 160, 31))
    points = shapely.points(np.column_stack([x.ravel(), y.ravel()]))
    points = np.concatenate([points, shapely.points(shapely.get_coordinates(lines))])
    assert _assert_as_geos(points, lines, 300.0)[1] > 100  # the same street twice: ties everywhere
    _assert_as_geos(points, lines, 12.0)


def test_missing_and_empty_points_are_off_the_network(sample):
    network, fac, _ = sample
    layer = fac.copy()
    geoms = layer.geometry.to_numpy().copy()
    geoms[0], geoms[1] = None, shapely.Point()
    layer = layer.set_geometry(gpd.GeoSeries(geoms, index=layer.index, crs=layer.crs))
    got = snap_points(layer, network)
    assert (got["edge"].iloc[:2] == -1).all() and got["pos_m"].iloc[:2].isna().all()
    pd.testing.assert_frame_equal(got.iloc[2:], snap_points(fac.iloc[2:], network))


def test_the_grid_kept_in_the_store_is_used_keyed_and_without_the_lines(tmp_path, sample):
    _, fac, dem = sample
    entry = store_network(sample_paths()["network"], cache_dir=tmp_path).path
    whole = load_entry(entry).network
    want_f, want_d = snap_points(fac, whole), snap_points(dem, whole)  # made from the lines, then kept
    assert (entry / GRID_FILE).is_file()
    routing = read_routing(entry).network
    assert isinstance(routing, RoutingNetwork)
    component = whole.nodes["component"].to_numpy()[whole.edges["u"].to_numpy()]
    kept, made = grid_of(routing), SnapGrid.from_lines(whole.edges.geometry.to_numpy(), component)
    for name in ("x", "y", "first", "component", "cell_start", "cell_items"):
        np.testing.assert_array_equal(getattr(kept, name), getattr(made, name))
    pd.testing.assert_frame_equal(snap_points(dem, routing), want_d)  # on the kept grid, no line read
    shutil.rmtree(entry / "snaps", ignore_errors=True)
    edges = entry / "edges.parquet"
    aside = edges.rename(tmp_path / "edges.parquet")
    try:  # the cold question reads neither the lines nor the nodes
        (entry / "nodes.parquet").rename(tmp_path / "nodes.parquet")
        got = question_times(entry, fac, dem)
    finally:
        aside.rename(edges)
        (tmp_path / "nodes.parquet").rename(entry / "nodes.parquet")
    from analysis.traveltime import nearest_times

    want = nearest_times(whole, want_f, want_d)
    np.testing.assert_array_equal(got.point_s, want.point_s)
    np.testing.assert_array_equal(got.point_source, want.point_source)
    data = bytearray((entry / GRID_FILE).read_bytes())  # written without the store's key: not used, made again
    data[-3] ^= 0xFF
    (entry / GRID_FILE).write_bytes(bytes(data))
    assert grid_of(read_routing(entry).network) is None
    assert not (entry / GRID_FILE).exists()
    shutil.rmtree(entry / "snaps", ignore_errors=True)
    again = question_times(entry, fac, dem)  # no grid kept: read whole once, which keeps it again
    np.testing.assert_array_equal(again.point_s, want.point_s)
    assert (entry / GRID_FILE).is_file()


@pytest.mark.parametrize("n", [0, 1])
def test_a_network_of_no_or_one_segment(n):
    lines = np.array([shapely.LineString([(0, 0), (10, 0)])] * n, dtype=object)
    grid = SnapGrid.from_lines(lines, np.zeros(n, dtype=np.int64))
    edge, offset, pos = grid.snap(np.array([3.0, 3.0]), np.array([4.0, 400.0]), max_snap_m=300)
    assert edge.tolist() == ([0, -1] if n else [-1, -1])
    assert np.isnan(offset[1]) and np.isnan(pos[1])


def test_a_kept_grid_reads_back_whole_and_only_with_its_key_and_manifest(sample, tmp_path):
    network, _, _ = sample
    lines = network.edges.geometry.to_numpy()
    grid = SnapGrid.from_lines(lines, np.arange(len(lines)) % 3)  # fragments (component > 0) kept sparsely
    file = tmp_path / GRID_FILE
    write_grid(file, grid, secret=b"key", digest="d1")
    back = read_grid(file, secret=b"key", digest="d1", n_edges=len(lines))
    for name in ("x", "y", "first", "component", "cell_start", "cell_items", "origin", "cell_m", "shape"):
        np.testing.assert_array_equal(getattr(back, name), getattr(grid, name))
    assert read_grid(file, secret=b"key", digest="d1", n_edges=len(lines) + 1) is None  # not this network's
    write_grid(file, grid, secret=b"key", digest="d1")
    assert read_grid(file, secret=b"key", digest="d2", n_edges=len(lines)) is None  # another manifest's
    write_grid(file, grid, secret=b"key", digest="d1")
    assert read_grid(file, secret=b"other", digest="d1", n_edges=len(lines)) is None  # not keyed with this key
    assert not file.exists()  # refused files are removed: the next whole read keeps the grid again


def test_a_network_just_stored_keeps_what_a_cold_question_reads(tmp_path, sample):
    _, fac, dem = sample
    stored = store_network(sample_paths()["network"], cache_dir=tmp_path)
    assert stored.built and (stored.path / "routing.bin").is_file()  # kept when prepared, not on a later read
    want = snap_points(dem, stored.network)  # its first snap keeps the grid
    assert (stored.path / GRID_FILE).is_file()
    routing = read_routing(stored.path).network
    assert isinstance(routing, RoutingNetwork)
    pd.testing.assert_frame_equal(snap_points(dem, routing), want)
    got = question_times(stored.path, fac, dem)
    from analysis.traveltime import nearest_times

    np.testing.assert_array_equal(
        got.point_s, nearest_times(stored.network, snap_points(fac, stored.network), want).point_s
    )
