"""Planners' spreadsheets: Chinese headers, GBK, 高德/百度 coordinates, and the mistakes they contain."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo import InputError, read_facilities
from geo.chinacrs import gcj02_to_bd09, wgs84_to_gcj02

# Three places in Luoyang's old town (WGS-84), as a 高德 export would list them (GCJ-02).
WGS = np.array([[112.4680, 34.6800], [112.4720, 34.6830], [112.4750, 34.6790]])


def gcj_rows():
    lon, lat = wgs84_to_gcj02(WGS[:, 0], WGS[:, 1])
    return pd.DataFrame(
        {
            "名称": ["西大街社区党群服务中心", "老城邻里中心", "城市书房（丽景门）"],
            "类别": ["党群服务中心", "邻里中心", "城市书房"],
            "经度": lon,
            "纬度": lat,
            "面积": [913, 400, 150],
        }
    )


def metres(gdf, xy):
    return np.hypot((gdf.geometry.x - xy[:, 0]) * np.cos(np.radians(xy[:, 1])), gdf.geometry.y - xy[:, 1]) * 111_320


def test_gbk_csv_with_chinese_headers_in_gcj02(tmp_path):
    path = tmp_path / "设施.csv"
    gcj_rows().to_csv(path, index=False, encoding="gbk")
    gdf = read_facilities(path, crs="gcj02")
    assert gdf["category"].tolist() == ["service_centre", "neighbourhood_centre", "study_room"]
    assert gdf["name"].iloc[0] == "西大街社区党群服务中心"
    assert gdf["capacity"].tolist() == [913, 400, 150]
    assert metres(gdf, WGS).max() < 1.0  # back on WGS-84 within a metre
    assert any("gb18030" in str(n) for n in gdf.attrs["notes"])
    assert any("converted 3 points from GCJ02" in str(n) for n in gdf.attrs["notes"])
    raw = read_facilities(path)  # taken as WGS-84, the points sit 300-700 m off
    assert metres(raw, WGS).min() > 300 and metres(raw, WGS).max() < 700


def test_xlsx_in_bd09(tmp_path):
    rows = gcj_rows()
    rows["经度"], rows["纬度"] = gcj02_to_bd09(rows["经度"].to_numpy(), rows["纬度"].to_numpy())
    path = tmp_path / "百度.xlsx"
    rows.to_excel(path, index=False)
    assert metres(read_facilities(path, crs="bd09"), WGS).max() < 1.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.rename(columns={"经度": "纬度", "纬度": "经度"}), r"row 2, column '纬度'.*look swapped"),
        (lambda d: d.assign(lng=d["经度"]), r"columns 'lng', '经度' could all be the lon column"),
        (lambda d: d.drop(columns="纬度"), r"no latitude column"),
        (
            lambda d: d.assign(经度=["112.46", "东经112度", "112.47"]),
            r"row 3, column '经度': '东经112度' is not a number",
        ),
        (
            lambda d: d.assign(类别=["党群服务中心", "银行", "城市书房"]),
            r"row 3, column 'category': unknown category '银行'",
        ),
    ],
)
def test_mistakes_are_named(tmp_path, change, message):
    path = tmp_path / "f.csv"
    change(gcj_rows()).to_csv(path, index=False)
    with pytest.raises(InputError, match=message):
        read_facilities(path, crs="gcj02")


def test_gcj02_outside_china_and_duplicates(tmp_path):
    path = tmp_path / "f.csv"
    gcj_rows().assign(经度=[7.42, 7.43, 7.44], 纬度=[43.73, 43.74, 43.73]).to_csv(path, index=False)
    with pytest.raises(InputError, match=r"row 2.*outside China, where GCJ02 is not used"):
        read_facilities(path, crs="gcj02")
    dup = pd.concat([gcj_rows(), gcj_rows().iloc[[0]]], ignore_index=True)
    dup.to_csv(path, index=False)
    notes = read_facilities(path, crs="gcj02").attrs["notes"]
    assert any("possible duplicates: '西大街社区党群服务中心' on rows 2, 5" in str(n) for n in notes)


def test_categories_table_in_gbk_with_chinese_names(tmp_path):
    from geo import read_categories

    path = tmp_path / "类别.csv"
    pd.DataFrame({"category": ["党群服务中心", "邻里中心"], "minutes": [10, 8], "capacity": [900, None]}).to_csv(
        path, index=False, encoding="gbk"
    )
    table = read_categories(path)
    assert table.loc["service_centre", "minutes"] == 10 and table.loc["neighbourhood_centre", "minutes"] == 8
    assert table.loc["service_centre", "capacity"] == 900 and table.loc["liaison_point", "minutes"] == 5
