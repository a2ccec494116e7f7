"""China's coordinate systems: published reference points, round trips within 1 m, no offset abroad."""

from __future__ import annotations

import numpy as np
import pytest

from geo.chinacrs import bd09_to_gcj02, gcj02_to_bd09, gcj02_to_wgs84, to_wgs84, wgs84_to_gcj02

# (wgs lon, wgs lat, gcj lon, gcj lat): the test points of the eviltransform project
REFERENCE = [
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),  # Shanghai
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),  # Shenzhen
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),  # Beijing
]


def metres(lon1, lat1, lon2, lat2):
    return np.hypot((lon1 - lon2) * np.cos(np.radians(lat1)), lat1 - lat2) * 111_320


def test_forward_matches_reference_points():
    w_lon, w_lat, g_lon, g_lat = map(np.array, zip(*REFERENCE, strict=True))
    lon, lat = wgs84_to_gcj02(w_lon, w_lat)
    assert metres(lon, lat, g_lon, g_lat).max() < 0.01


def test_inverse_within_one_metre_everywhere_in_china():
    rng = np.random.default_rng(0)
    lon, lat = rng.uniform(75, 135, 5000), rng.uniform(18, 53, 5000)
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert metres(*back, lon, lat).max() < 1.0
    w_lon, w_lat, g_lon, g_lat = map(np.array, zip(*REFERENCE, strict=True))
    assert metres(*gcj02_to_wgs84(g_lon, g_lat), w_lon, w_lat).max() < 1.0


def test_bd09_reference_and_round_trip():
    # gcoord's test: GCJ-02 (123, 45) is BD-09 (123.00636499, 45.00636899)
    lon, lat = gcj02_to_bd09(np.array([123.0]), np.array([45.0]))
    assert lon[0] == pytest.approx(123.00636499, abs=1e-7) and lat[0] == pytest.approx(45.00636899, abs=1e-7)
    # eviltransform's test puts BD-09 (120.019809, 29.199786) at WGS-84 (120.00877901, 29.19613161), with
    # its one-step approximate inverse; ours is exact (forward again lands on the input) and 10.6 m from it.
    w_lon, w_lat = to_wgs84(np.array([120.019809]), np.array([29.199786]), "bd09")
    assert metres(*gcj02_to_bd09(*wgs84_to_gcj02(w_lon, w_lat)), 120.019809, 29.199786)[0] < 0.1
    assert metres(w_lon, w_lat, 120.00877901149691, 29.196131605295484)[0] < 15
    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(100, 125, 1000), rng.uniform(20, 45, 1000)
    assert metres(*bd09_to_gcj02(*gcj02_to_bd09(lon, lat)), lon, lat).max() < 1.0


def test_luoyang_offset_and_no_offset_abroad():
    lon, lat = wgs84_to_gcj02(np.array([112.4540, 7.42]), np.array([34.6197, 43.73]))  # Luoyang; Monaco
    offset = metres(lon, lat, np.array([112.4540, 7.42]), np.array([34.6197, 43.73]))
    assert 300 < offset[0] < 700
    assert offset[1] == 0
    with pytest.raises(ValueError, match="unknown coordinate system"):
        to_wgs84(lon, lat, "utm")


def test_system_detected_against_the_streets():
    """Centres listed in GCJ-02 fall 300-700 m off a WGS-84 street grid in Luoyang; read as GCJ-02 they sit on it."""
    import geopandas as gpd
    import networkx as nx
    import shapely

    from geo import prepare_network
    from geo.chinacrs import detect_coordinate_system

    g = nx.MultiDiGraph(crs="EPSG:4326")
    lons, lats = np.arange(112.40, 112.52, 0.002), np.arange(34.62, 34.70, 0.002)  # ~200 m blocks
    for i, lon in enumerate(lons):
        for j, lat in enumerate(lats):
            g.add_node((i, j), x=lon, y=lat)
    for i in range(len(lons)):
        for j in range(len(lats)):
            for di, dj in ((1, 0), (0, 1)):
                if i + di < len(lons) and j + dj < len(lats):
                    g.add_edge((i, j), (i + di, j + dj), length=200.0)
                    g.add_edge((i + di, j + dj), (i, j), length=200.0)
    net = prepare_network(nx.convert_node_labels_to_integers(g))
    rng = np.random.default_rng(3)
    on_street = np.column_stack([rng.choice(lons[5:-5], 30), rng.uniform(34.64, 34.68, 30)])  # on N-S streets
    for system, move in (("gcj02", wgs84_to_gcj02), ("bd09", lambda x, y: gcj02_to_bd09(*wgs84_to_gcj02(x, y)))):
        lon, lat = move(on_street[:, 0], on_street[:, 1])
        pts = gpd.GeoDataFrame(geometry=shapely.points(lon, lat), crs=4326)
        found, metres = detect_coordinate_system(pts, net)
        assert found == system, metres
        assert metres[system] < 1.0 and metres["wgs84"] > 10  # (a 200 m grid caps any miss at 100 m)
    exact = gpd.GeoDataFrame(geometry=shapely.points(on_street[:, 0], on_street[:, 1]), crs=4326)
    assert detect_coordinate_system(exact, net)[0] == "wgs84"


def test_share_a_cell_is_sure_against_the_distances():
    """Issue 32: the grid test that replaced the KD-tree says near only what is near (brute force cross-check)."""
    from geo.chinacrs import _share_a_cell

    rng = np.random.default_rng(32)
    corners = rng.uniform(0, 20_000, size=(300, 2))
    points = np.vstack([rng.uniform(-5_000, 25_000, size=(2_000, 2)), corners + 1.0])
    near = _share_a_cell(points, corners, 3_000.0)
    nearest = np.sqrt(((points[:, None, :] - corners[None, :, :]) ** 2).sum(axis=2)).min(axis=1)
    assert (nearest[near] <= 3_000.0).all()
    assert near[-len(corners) :].all()  # a point beside a corner shares its cell (all but on a cell's edge)
    assert near.sum() > 0.5 * (nearest <= 3_000.0).sum()  # and most of the near ones are found without measuring
    assert not _share_a_cell(points, corners[:0], 3_000.0).any()
