"""Coverage per admin level, 2SFCA and gap zones, checked by hand on a toy town."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from analysis import columns as C
from analysis.accessibility import decay_weights, two_step_fca
from analysis.coverage import assign_units
from analysis.gaps import gap_zones
from analysis.pipeline import run_circle
from tests.conftest import TOY_CRS, points, toy_network


def boxes(level: str, rows: list[tuple[str, tuple[float, float, float, float]]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": [c for c, _ in rows], "name": [f"{level} {c}" for c, _ in rows]},
        geometry=[shapely.box(*b) for _, b in rows],
        crs=TOY_CRS,
    )


@pytest.fixture
def town():
    """A 2 km street along y=0 with a service centre at x=0 (area 100 m²) and a liaison point at x=2000 (50 m²).

    Two districts split at x=1000; four communities, 500 m wide. At 3.6 km/h seconds are metres.
    """
    net = toy_network({i: (i * 100.0, 0.0) for i in range(21)}, [(i, i + 1) for i in range(20)])
    fac = points(
        [(0, 0), (2000, 0)],
        name=["centre", "point"],
        category=["service_centre", "liaison_point"],
        capacity=[100.0, 50.0],
    )
    dem = points(
        [(100, 0), (400, 0), (1000, 0), (1200, 0), (1900, 0)],  # (1000, 0) lies on the district boundary
        pop=[10.0, 20.0, 30.0, 40.0, 50.0],
    )
    boundaries = {
        "district": boxes("district", [("D1", (-100, -100, 1000, 100)), ("D2", (1000, -100, 2100, 100))]),
        "community": boxes(
            "community",
            [
                ("C1", (-100, -100, 500, 100)),
                ("C2", (500, -100, 1000, 100)),
                ("C3", (1000, -100, 1500, 100)),
                ("C4", (1500, -100, 2100, 100)),
            ],
        ),
    }
    return net, fac, dem, boundaries


def test_level_rates_by_hand(town):
    net, fac, dem, boundaries = town
    # 10 minutes = 600 m covers x <= 600 from the centre and x >= 1400 from the liaison point.
    r = run_circle(
        net,
        fac,
        dem,
        minutes=10,
        speed_kmh=3.6,
        boundaries=boundaries,
        category_minutes={"service_centre": 10, "liaison_point": 5},
    )
    assert r.demand[C.COVERED].tolist() == [True, True, False, False, True]
    # Per category: the liaison point's own threshold is 5 min = 300 m: only x=1900 (100 m away).
    assert r.demand[C.covered_by("liaison_point")].tolist() == [False, False, False, False, True]
    np.testing.assert_allclose(
        r.demand[C.minutes_of("service_centre")], [100 / 60, 400 / 60, 1000 / 60, 1200 / 60, 1900 / 60]
    )
    city = r.levels["city"].iloc[0]
    assert (city[C.POP], city[C.POP_COVERED], city[C.N_FACILITIES]) == (150, 80, 2)
    assert city[C.PCT_COVERED] == pytest.approx(80 / 150 * 100)
    assert city[C.pct_covered_by("liaison_point")] == pytest.approx(50 / 150 * 100)
    d = r.levels["district"].set_index("code")
    # The point on the boundary (x=1000) counts once, in the first district by code.
    assert d[C.POP].to_dict() == {"D1": 60, "D2": 90}
    assert d[C.POP_COVERED].to_dict() == {"D1": 30, "D2": 50}
    assert d[C.PCT_COVERED].round(6).to_dict() == {"D1": 50.0, "D2": round(50 / 90 * 100, 6)}
    assert d[C.N_FACILITIES].to_dict() == {"D1": 1, "D2": 1}
    c = r.levels["community"].set_index("code")
    assert c[C.POP].to_dict() == {"C1": 30, "C2": 30, "C3": 40, "C4": 50}
    assert c[C.STATUS].to_dict() == {"C1": "full", "C2": "none", "C3": "none", "C4": "full"}
    assert d[["communities_full", "communities_partly", "communities_none"]].to_dict("list") == {
        "communities_full": [1, 1],
        "communities_partly": [0, 0],
        "communities_none": [1, 1],
    }
    # Gap zones: x=1000 and x=1200 are 200 m apart: with 100 m cells they are two zones.
    assert r.gaps[C.POP_UNCOVERED].tolist() == [40, 30]
    assert r.gaps[C.POP_UNCOVERED].sum() == r.summary.pop_uncovered == 70
    assert r.gaps["district"].tolist() == ["D2", "D1"]  # as in the tables: the boundary point is D1's
    assert r.gaps["community"].tolist() == ["C3", "C2"]


def test_two_step_fca_by_hand(town):
    net, fac, dem, _ = town
    r = run_circle(
        net, fac, dem, minutes=10, speed_kmh=3.6, category_minutes={"service_centre": 10, "liaison_point": 10}
    )
    # Catchments of 600 m: the centre reaches x=100, 400 (10 + 20 residents); the point reaches x=1900 (50).
    # R = 100 / 30 and 50 / 50; A = R at each point reached; supply per 1,000 residents = 1000 * A.
    expected = [100 / 30, 100 / 30, 0, 0, 1.0]
    np.testing.assert_allclose(r.demand[C.ACCESS], np.array(expected) * 1000)
    np.testing.assert_allclose(r.facilities["catchment_pop"], [30, 50])
    np.testing.assert_allclose(r.facilities[C.LOAD], [0.3, 1.0])
    flagged = run_circle(
        net,
        fac,
        dem,
        minutes=10,
        speed_kmh=3.6,
        load_norm=0.5,
        category_minutes={"service_centre": 10, "liaison_point": 10},
    )
    assert flagged.facilities[C.OVERLOADED].tolist() == [False, True]


def test_e2sfca_steps_and_gaussian_by_hand():
    od = pd.DataFrame({"source": [0, 0], "target": [0, 1], "seconds": [100.0, 500.0]})
    access, served = two_step_fca(od, np.array([60.0]), np.array([10.0, 10.0]), cutoff_s=900, decay="stepped")
    # weights 1.0 (first third) and 0.68 (second third): served = 10 + 6.8; R = 60 / 16.8
    assert served.tolist() == pytest.approx([16.8])
    np.testing.assert_allclose(access, [60 / 16.8, 0.68 * 60 / 16.8])
    g = decay_weights(np.array([0.0, 450.0, 900.0]), 900, "gaussian")
    np.testing.assert_allclose(g, [1.0, (np.exp(-0.125) - np.exp(-0.5)) / (1 - np.exp(-0.5)), 0.0], atol=1e-12)


def test_point_on_a_boundary_counts_once():
    units = boxes("community", [("B", (0, 0, 10, 10)), ("A", (10, 0, 20, 10))])
    pts = points([(10, 5), (5, 5), (25, 5)])
    code = assign_units(pts, units)
    assert code.iloc[:2].tolist() == ["A", "B"]  # (10, 5) is on the A|B line: A, first by code, only
    assert pd.isna(code.iloc[2])  # outside both


def test_gap_zones_join_touching_cells_and_keep_totals():
    dem = points([(5, 5), (105, 5), (205, 105), (905, 905), (50, 50)], pop=[1.0, 2.0, 3.0, 4.0, 5.0])
    dem[C.COVERED] = [False, False, False, False, True]
    dem[C.MINUTES] = [20.0, 30.0, np.nan, 25.0, 5.0]
    z = gap_zones(dem, cell_m=100)
    # (5,5), (105,5) share a side; (205,105) touches (105,5)'s cell at a corner: one zone of 6 residents.
    assert z[C.POP_UNCOVERED].tolist() == [6.0, 4.0]
    assert z["n_cells"].tolist() == [3, 1]
    assert z[C.MINUTES].iloc[0] == pytest.approx((1 * 20 + 2 * 30) / 3)  # the unreachable point has no minutes
    assert z[C.POP_UNCOVERED].sum() == dem.loc[~dem[C.COVERED], C.POP].sum()
    assert z.geometry.iloc[0].area == pytest.approx(3 * 100 * 100)


def test_sample_levels_add_up(sample):
    from geo import read_boundaries, sample_paths

    network, facilities, demand = sample
    b = {k: v.to_crs(network.crs) for k, v in read_boundaries(sample_paths()["boundaries"]).items()}
    r = run_circle(network, facilities, demand, minutes=5, boundaries=b)
    assert list(r.levels) == ["city", "district", "subdistrict", "community"]
    for level, table in r.levels.items():
        assert table[C.POP].sum() == pytest.approx(38_367), level  # every resident in exactly one unit
        assert table[C.POP_COVERED].sum() == pytest.approx(r.summary.pop_covered), level
    assert r.gaps[C.POP_UNCOVERED].sum() == pytest.approx(r.summary.pop_uncovered, abs=1e-9)
    statuses = r.levels["community"][C.STATUS].value_counts()
    city = r.levels["city"].iloc[0]
    assert city["communities_full"] == statuses.get("full", 0)
    assert city["communities_none"] == statuses.get("none", 0)
