"""Isochrones follow the streets: bands nest, geometries are valid, rivers are not crossed."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import shapely

from analysis.isochrones import facility_isochrones, merge_isochrones, nearest_isochrones
from geo import snap_points
from tests.conftest import points, toy_network


def test_river_with_one_bridge_is_crossed_only_at_the_bridge():
    # North bank street y=0 and south bank street y=-120 from x=-1000 to 1000, one bridge at x=1000.
    xs = range(-1000, 1001, 100)
    nodes = {i: (x, 0.0) for i, x in enumerate(xs)} | {100 + i: (x, -120.0) for i, x in enumerate(xs)}
    n = len(xs)
    edges = [(i, i + 1) for i in range(n - 1)] + [(100 + i, 101 + i) for i in range(n - 1)] + [(n - 1, 100 + n - 1)]
    net = toy_network(nodes, edges)
    fac = points([(0, 10)])
    iso = facility_isochrones(net, fac, snap_points(fac, net), minutes=(5, 10, 15), street_side_m=50)
    south_bank = shapely.LineString([(-1000, -120), (500, -120)])
    for poly in iso.geometry:
        assert poly.is_valid
        assert not poly.intersects(south_bank)  # 120 m away across the water, 1,000 m+ by the bridge
    # 15 min at 4.5 km/h = 1125 m: the walker reaches the bridge (1000 m + 10 m) and 115 m onto it.
    fifteen = iso.loc[iso["minutes"] == 15].geometry.iloc[0]
    assert fifteen.intersects(shapely.Point(1000, -60))
    assert not fifteen.intersects(shapely.LineString([(-1000, -120), (940, -120)]))  # bridge foot + 50 m side
    # A convex hull of the reached streets would cover the south bank.
    assert shapely.convex_hull(fifteen).intersects(south_bank)


def test_bands_nest_and_merge(sample):
    network, facilities, _ = sample
    fac = facilities.iloc[:4]
    iso = facility_isochrones(network, fac, snap_points(fac, network), minutes=(5, 10, 15))
    assert iso.is_valid.all() and len(iso) == 12
    for _, group in iso.groupby("facility_id"):
        polys = group.sort_values("minutes").geometry.to_list()
        for inner, outer in itertools.pairwise(polys):
            assert inner.difference(outer).area < 1.0  # m²: nested up to float noise
            assert inner.area < outer.area
    merged = merge_isochrones(iso)
    assert list(merged["minutes"]) == [5, 10, 15]
    assert merged.is_valid.all()
    for band, geom in zip(merged["minutes"], merged.geometry, strict=True):
        parts = iso.loc[iso["minutes"] == band].geometry
        assert abs(geom.area - shapely.union_all(parts.values).area) < 1.0


def test_reach_is_not_a_convex_hull(sample):
    """Monaco's harbour is water: the 5-minute reach of a quayside facility keeps a hole or a bay there."""
    network, facilities, _ = sample
    iso = facility_isochrones(network, facilities, snap_points(facilities, network), minutes=(15,))
    merged = merge_isochrones(iso).geometry.iloc[0]
    assert merged.area < 0.9 * shapely.convex_hull(merged).area


def test_real_holes_stay_and_slivers_go():
    """A 400 m block ringed by streets: walkers reach every side, but the middle stays a hole."""
    net = toy_network({0: (0, 0), 1: (400, 0), 2: (400, 400), 3: (0, 400)}, [(0, 1), (1, 2), (2, 3), (3, 0)])
    fac = points([(200, -5)])
    iso = facility_isochrones(net, fac, snap_points(fac, net), minutes=(30,), street_side_m=50)
    poly = iso.geometry.iloc[0]
    assert poly.is_valid and len(poly.interiors) == 1
    assert shapely.Polygon(poly.interiors[0]).area == pytest.approx(300 * 300, rel=0.01)
    assert not poly.contains(shapely.Point(200, 200))
    all_holes = [h for p in iso.geometry for h in getattr(p, "interiors", [])]
    assert all(shapely.Polygon(h).area >= 1.0 for h in all_holes)


def test_drop_slivers_keeps_shells_and_big_holes_part_by_part():
    """``_drop_slivers`` on arrays: small holes go from every part, big ones stay, parts and order kept."""
    from analysis.isochrones import MIN_HOLE_M2, _drop_slivers

    def square(x, y, side):
        return [(x, y), (x + side, y), (x + side, y + side), (x, y + side), (x, y)]

    tiny = MIN_HOLE_M2 / 4  # a hole of a quarter of the limit: a sliver
    holed = shapely.Polygon(square(0, 0, 100), [square(10, 10, tiny**0.5), square(50, 50, 20), square(80, 10, 1e-3)])
    only_sliver = shapely.Polygon(square(200, 0, 50), [square(210, 10, tiny**0.5)])
    clean = shapely.Polygon(square(400, 0, 10))
    geoms = np.array([shapely.MultiPolygon([holed, only_sliver]), only_sliver, clean, holed], dtype=object)
    out = _drop_slivers(geoms)
    want_holed = shapely.Polygon(square(0, 0, 100), [square(50, 50, 20)])
    want_plain = shapely.Polygon(square(200, 0, 50))
    assert out[0].geom_type == "MultiPolygon" and out[0].equals_exact(shapely.MultiPolygon([want_holed, want_plain]), 0)
    assert out[1].geom_type == "Polygon" and out[1].equals_exact(want_plain, 0)
    assert out[2] is geoms[2]  # untouched
    assert out[3].equals_exact(want_holed, 0)
    assert geoms[3] is holed and len(holed.interiors) == 3  # the input is not changed


def test_split_to_nearest_facility_partitions_the_reach(sample):
    network, facilities, _ = sample
    snaps = snap_points(facilities, network)
    split = nearest_isochrones(network, facilities, snaps, minutes=(5, 15))
    merged = merge_isochrones(facility_isochrones(network, facilities, snaps, minutes=(5, 15)))
    assert split.is_valid.all()
    for band, group in split.groupby("minutes"):
        whole = merged.loc[merged["minutes"] == band].geometry.iloc[0]
        union = shapely.union_all(group.geometry.values)
        assert group.area.sum() == pytest.approx(union.area, rel=1e-9)  # no overlaps
        assert union.symmetric_difference(whole).area < 1e-4 * whole.area  # nothing lost, nothing added
        for fid, geom in zip(group["facility_id"], group.geometry, strict=True):
            assert geom.buffer(1).contains(facilities.geometry.loc[fid])  # each keeps its own doorstep


def test_split_follows_walking_times():
    """Two centres on one street: the street splits where their walking times meet, not halfway."""
    net = toy_network({i: (i * 100.0, 0.0) for i in range(11)}, [(i, i + 1) for i in range(10)])
    fac = points([(0, 0), (1000, -40)])  # the second is 40 m off the street: it loses 20 m of street
    split = nearest_isochrones(net, fac, snap_points(fac, net), minutes=(30,), street_side_m=10)
    first = split.loc[split["facility_id"] == "P0"].geometry.iloc[0]
    assert first.contains(shapely.Point(515, 0)) and not first.contains(shapely.Point(525, 0))
