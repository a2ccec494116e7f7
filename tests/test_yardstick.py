"""Yardsticks (minutes at a speed, GB 50180 walking distance) and population groups: by hand and on the sample."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from analysis import columns as C
from analysis.coverage import nearest_facility
from analysis.groups import Group, find_groups
from analysis.isochrones import facility_isochrones
from analysis.pipeline import run_circle
from analysis.yardstick import GB50180_M, yardstick
from geo import snap_points
from geo.errors import InputError
from tests.conftest import TOY_CRS, points, toy_network

OLD = "60岁以上"
YOUNG = "0-6岁"


def _covered(result) -> set:
    return set(result.demand.index[result.demand[C.COVERED]])


@pytest.mark.parametrize("standard", list(GB50180_M))
def test_gb50180_is_minutes_at_the_equivalent_speed_on_the_sample(sample, standard):
    """Each circle's covered residents are exactly those of minutes at its own speed (300/500/1,000 m: 3.6/3.0/4.0)."""
    network, facilities, demand = sample
    for minutes, metres in GB50180_M[standard].items():
        speed = metres / (minutes * 60) * 3.6
        by_distance = run_circle(
            network, facilities, demand, minutes=minutes, standard=standard, isochrones=(), n_sites=0
        )
        by_time = run_circle(network, facilities, demand, minutes=minutes, speed_kmh=speed, isochrones=(), n_sites=0)
        assert _covered(by_distance) == _covered(by_time), (standard, minutes)
        assert 0 < len(_covered(by_distance)) < len(demand)
        assert by_distance.summary.walk_m == metres
        np.testing.assert_allclose(by_distance.demand[C.WALK_M], by_time.demand[C.WALK_M], rtol=1e-12)


def test_each_category_and_band_keeps_its_own_distance(sample):
    """Under GB 50180 a neighbourhood centre (10 min) is judged at 500 m and the 5-minute band drawn at 300 m."""
    network, facilities, demand = sample
    r = run_circle(network, facilities, demand, standard="gb50180", bands=[5, 10], isochrones=("facility",), n_sites=0)
    for category, minutes in (("neighbourhood_centre", 10), ("liaison_point", 5), ("service_centre", 15)):
        speed = GB50180_M["gb50180"][minutes] / (minutes * 60) * 3.6
        t = run_circle(
            network, facilities, demand, speed_kmh=speed, category_minutes={category: minutes}, isochrones=(), n_sites=0
        )
        assert r.demand[C.covered_by(category)].equals(t.demand[C.covered_by(category)]), category
    assert sorted(r.isochrones[C.BAND_MIN].unique()) == [5.0, 10.0, 15.0]
    snaps = snap_points(facilities, network)
    for minutes, metres in GB50180_M["gb50180"].items():
        drawn = r.isochrones[r.isochrones[C.BAND_MIN] == minutes].area.sum()
        at_speed = facility_isochrones(
            network, facilities, snaps, minutes=[minutes], speed_kmh=metres / minutes / 60 * 3.6
        )
        # the same streets reached; a band also holds the smaller bands' polygons (nesting), a few m² in km²
        assert drawn == pytest.approx(at_speed.area.sum(), rel=1e-5), minutes


def test_a_distance_yardstick_refuses_a_circle_it_does_not_define(sample):
    with pytest.raises(InputError, match="5, 10, 15-minute circles only, not 20 minutes"):
        run_circle(*sample, minutes=20, standard="gb50180", isochrones=(), n_sites=0)
    with pytest.raises(InputError, match="unknown yardstick 'gb'"):
        yardstick("gb")


@pytest.fixture
def street():
    """A 2 km straight street, a centre at x=0, four resident points on it with groups (hand-countable)."""
    net = toy_network({i: (i * 100.0, 0.0) for i in range(21)}, [(i, i + 1) for i in range(20)])
    fac = points([(0, 0)], name=["centre"], category=["service_centre"])
    dem = points(
        [(300, 0), (700, 0), (950, 0), (1300, 0)],
        pop=[100.0, 200.0, 300.0, 400.0],
        **{OLD: [10, 20, 30, 40], YOUNG: [5, 6, 7, 8], "name": ["a", "b", "c", "d"]},
    )
    west = shapely.box(-50, -50, 500, 50)
    units = gpd.GeoDataFrame(
        {"code": ["W", "E"], "name": ["west", "east"]}, geometry=[west, shapely.box(500, -50, 2100, 50)], crs=TOY_CRS
    )
    return net, fac, dem, {"community": units}


def test_group_rates_by_hand(street):
    """15 min at 4.5 km/h is 1,125 m: x = 300, 700, 950 covered; over-60s at 3.2 km/h: 800 m, x = 300, 700."""
    net, fac, dem, units = street
    groups = find_groups(dem, [Group(OLD, 3.2)])
    assert groups == (Group(OLD, 3.2), Group(YOUNG))  # 0-6岁 recognised by its header, at the run's speed
    r = run_circle(net, fac, dem, minutes=15, speed_kmh=4.5, groups=groups, boundaries=units, n_sites=0)
    assert r.summary.pct_covered == pytest.approx(100 * 600 / 1000)
    old, young = r.summary.groups
    assert (old.group, old.speed_kmh, old.pop, old.pop_covered) == (OLD, 3.2, 100, 30)
    assert old.pct_covered == pytest.approx(30.0)
    assert (young.speed_kmh, young.pop, young.pop_covered) == (4.5, 26, 18)
    community = r.levels["community"].set_index("code")
    assert community.loc["W", C.pct_covered_by(OLD)] == pytest.approx(100.0)  # x=300: 10 of 10
    assert community.loc["E", C.pct_covered_by(OLD)] == pytest.approx(100 * 20 / 90)  # x=700 only
    assert community.loc["E", C.pop_of(OLD)] == 90
    assert community.loc["E", C.pct_covered_by(YOUNG)] == pytest.approx(100 * 13 / 21)  # x=700, 950
    assert r.levels["city"].iloc[0][C.pct_covered_by(OLD)] == pytest.approx(30.0)


@pytest.mark.parametrize(("standard", "covered_old"), [("gb50180", 60), ("gb50180-strict", 30)])
def test_under_gb50180_the_speed_does_not_matter(street, standard, covered_old):
    """1,000 m covers x = 300, 700, 950 (800 m: 300, 700), for every group whatever its speed."""
    net, fac, dem, _ = street
    r = run_circle(net, fac, dem, standard=standard, groups=[Group(OLD, 3.2)], speed_kmh=2.0, n_sites=0)
    (old,) = r.summary.groups
    assert old.speed_kmh is None
    assert old.pop_covered == covered_old
    assert r.summary.pop_covered == {60: 600, 30: 300}[covered_old]


def test_a_group_at_its_speed_is_the_engine_at_that_speed(sample):
    """The scaled times of a group equal the travel-time engine run afresh at the group's speed."""
    network, facilities, demand = sample
    dem = demand.assign(**{OLD: (demand[C.POP] * 0.2).round()})
    r = run_circle(network, facilities, dem, minutes=10, groups=[Group(OLD, 3.2)], isochrones=(), n_sites=0)
    fresh = nearest_facility(
        network, facilities, dem, snap_points(facilities, network), snap_points(dem, network), minutes=10, speed_kmh=3.2
    )
    assert r.demand[C.covered_by(OLD)].equals(fresh[C.COVERED])
    assert r.summary.groups[0].pct_covered < r.summary.pct_covered


def test_group_columns_are_checked():
    dem = points([(0, 0), (1, 0)], pop=[1.0, 2.0], **{OLD: [1, "many"]})
    with pytest.raises(InputError, match="'60岁以上' must be a number of residents"):
        find_groups(dem)
    with pytest.raises(InputError, match="no column '老人'"):
        find_groups(dem.drop(columns=OLD), [Group("老人")])
