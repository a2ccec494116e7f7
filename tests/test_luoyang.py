"""Luoyang's bundled review units, and a 高德 (GCJ-02) spreadsheet of centres placed in the right districts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from analysis.coverage import assign_units
from geo import read_boundaries, read_facilities
from geo.chinacrs import gcj02_to_wgs84, wgs84_to_gcj02

DIVISIONS = Path(__file__).resolve().parent.parent / "data" / "luoyang" / "divisions.csv"
CENSUS = {
    "410302": 252_165,
    "410303": 369_165,
    "410304": 222_833,
    "410305": 718_807,
    "410307": 545_632,
    "410308": 485_987,
    "410311": 918_358,
}


@pytest.fixture(scope="module")
def luoyang():
    return read_boundaries("luoyang")


def test_city_and_districts_with_census_residents(luoyang):
    assert list(luoyang) == ["city", "district"]
    d = luoyang["district"].set_index("code")
    assert d["pop"].astype(int).to_dict() == CENSUS
    assert d.is_valid.all() and luoyang["city"].is_valid.all()
    metric = luoyang["district"].to_crs(luoyang["district"].estimate_utm_crs())
    city = luoyang["city"].to_crs(metric.crs).geometry.iloc[0]
    assert (metric.intersection(city).area / metric.area > 0.99).all()  # the districts lie in the city
    area = metric.set_index("code").area / 1e6
    assert 40 < area["410302"] < 80  # 老城区, about 57 km²
    assert area["410311"] > area["410302"]


def test_boundaries_were_moved_from_gcj02(luoyang):
    """The bundled WGS-84 vertices, moved forward to GCJ-02, are where AMap draws them (within 1 m both ways)."""
    xy = shapely.get_coordinates(luoyang["district"].geometry.values)
    g_lon, g_lat = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
    offset = np.hypot((g_lon - xy[:, 0]) * np.cos(np.radians(xy[:, 1])), g_lat - xy[:, 1]) * 111_320
    assert offset.min() > 300 and offset.max() < 700
    back = gcj02_to_wgs84(g_lon, g_lat)
    assert np.hypot(*(np.column_stack(back) - xy).T).max() * 111_320 < 1.0


def test_gcj02_spreadsheet_of_centres_lands_in_the_right_districts(luoyang, tmp_path):
    districts = luoyang["district"]
    inside = districts.geometry.map(lambda g: g.buffer(-0.005).representative_point())  # well inside
    lon, lat = wgs84_to_gcj02(inside.x.to_numpy(), inside.y.to_numpy())
    sheet = pd.DataFrame(
        {
            "名称": [f"{n}党群服务中心" for n in districts["name"]],
            "类别": "党群服务中心",
            "经度": lon.round(6),
            "纬度": lat.round(6),
        }
    )
    sheet.to_csv(tmp_path / "高德.csv", index=False, encoding="gbk")
    placed = read_facilities(tmp_path / "高德.csv", crs="gcj02")
    assert assign_units(placed, districts).tolist() == districts["code"].tolist()
    err = (
        np.hypot(
            (placed.geometry.x.to_numpy() - inside.x.to_numpy()) * np.cos(np.radians(34.6)),
            placed.geometry.y.to_numpy() - inside.y.to_numpy(),
        )
        * 111_320
    )
    assert err.max() < 1.0


def test_divisions_have_official_codes():
    d = pd.read_csv(DIVISIONS, dtype=str)
    streets = d[d["level"] == "subdistrict"]
    assert (streets["kind"] == "街道").sum() == 58  # the case's 58 sub-districts
    assert streets["parent_code"].isin(CENSUS).all() and streets["code"].str.len().eq(9).all()
    communities = d[d["level"] == "community"]
    assert communities["parent_code"].isin(streets["code"]).all() and communities["code"].str.len().eq(12).all()
    assert (communities["kind"] == "社区居委会").sum() >= 330
