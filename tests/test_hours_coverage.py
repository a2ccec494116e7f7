"""Coverage by the hour: a time counts only the facilities open then, checked against runs on those facilities."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import columns as C
from analysis.hours import facility_hours, open_states, run_open, week_coverage
from analysis.pipeline import run_circle
from geo import load_sample, read_facilities, sample_paths
from geo.hours import parse_at, window_hours


@pytest.fixture(scope="module")
def hours_sample():
    """The Monaco sample with the opening hours added to it (data/sample/facilities_hours.csv)."""
    network, _, demand = load_sample()
    facilities = read_facilities(sample_paths()["facilities"].with_name("facilities_hours.csv")).to_crs(network.crs)
    weeks, _ = facility_hours(facilities)
    week = week_coverage(network, facilities, demand, weeks)
    return network, facilities, demand, weeks, week


@pytest.mark.parametrize("at", ["周三 19:00", "Sa 10:00"])
def test_coverage_at_a_time_is_a_run_on_only_the_facilities_open_then(hours_sample, at):
    network, facilities, demand, weeks, week = hours_sample
    minute = parse_at(at)
    result = run_open(network, facilities, demand, at=minute, n_sites=0)
    is_open = open_states(weeks, minute) == 1
    assert 0 < is_open.sum() < len(facilities)  # the time does leave some out
    alone = run_circle(network, facilities[is_open], demand, n_sites=0)
    assert (result.demand[C.COVERED] == alone.demand[C.COVERED]).all()
    assert result.summary.pop_covered == alone.summary.pop_covered
    # the week table, computed once per distinct set of open facilities, gives the same hour
    assert (week.covered[minute // 60] == alone.demand[C.COVERED].to_numpy()).all()
    said = [None if v is pd.NA else bool(v) for v in result.facilities["open_now"]]
    assert said == [None if s == -1 else bool(s) for s in open_states(weeks, minute)]
    assert len(result.facilities) == len(facilities)


def test_any_time_row_is_todays_coverage(hours_sample):
    network, facilities, demand, _, week = hours_sample
    today = run_circle(network, facilities, demand, n_sites=0)
    assert (week.any_time == today.demand[C.COVERED].to_numpy()).all()
    table = week.summary_table().set_index("window")
    assert table.loc["any_time", C.POP_COVERED] == today.summary.pop_covered


def test_week_table_has_168_hours_and_fewer_at_night(hours_sample):
    *_, week = hours_sample
    hourly = week.hourly_table()
    assert len(hourly) == 168 and hourly["time"].iloc[19] == "周一 19:00"
    night, day = hourly.loc[3, C.PCT_COVERED], hourly.loc[2 * 24 + 10, C.PCT_COVERED]
    assert night < day  # only the 24-hour ones at 03:00
    assert (hourly["pop_covered_if_unknown_open"] >= hourly[C.POP_COVERED]).all()
    share = week.share
    assert ((share >= 0) & (share <= 1)).all()
    evening = week.in_window("weekday-evening")
    assert (evening <= week.covered[list(window_hours("weekday-evening"))].any(axis=0)).all()


def test_window_gaps_and_sites_state_their_hours(hours_sample):
    network, facilities, demand, _, week = hours_sample
    result = run_open(network, facilities, demand, window="weekday-evening", n_sites=1)
    evening = week.in_window("weekday-evening")
    assert (result.demand[C.COVERED].to_numpy() == evening).all()
    uncovered = float(demand[C.POP].to_numpy()[~evening].sum())
    assert result.summary.pop_uncovered == pytest.approx(uncovered)
    assert result.gaps[C.POP_UNCOVERED].sum() == pytest.approx(uncovered, rel=1e-9)
    assert result.sites["hours"].tolist() == ["Mo-Fr 18:00-21:00"]
    assert result.sites[C.POP_NEW].iloc[0] > 0


def test_category_hours_fill_the_unknown(hours_sample):
    _, facilities, _, weeks, _ = hours_sample
    unknown = [i for i, w in enumerate(weeks) if not w.known]
    assert unknown  # the sample keeps one facility whose hours cannot be read
    filled, notes = facility_hours(facilities, {"study_room": "10:00-18:00"})
    assert all(filled[i].known for i in unknown) and notes[0].key == "hours_filled"
    assert np.array_equal(open_states(filled, parse_at("周三 11:00"))[unknown], np.ones(len(unknown)))


def test_cli_at_a_time_writes_the_week_and_says_the_time(hours_sample, tmp_path, capsys):
    import json

    import geopandas as gpd
    import pyogrio

    from quarterhour.cli.main import main

    *_, week = hours_sample
    path = sample_paths()["facilities"].with_name("facilities_hours.csv")
    assert main(["run", "--facilities", str(path), "--at", "周三 19:00", "--quiet", "--out", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    pct = 100 * week.pop[week.covered[2 * 24 + 19]].sum() / week.pop.sum()
    assert f"({pct:.1f}%)" in out and "at We 19:00 (6 of 20 facilities open)" in out
    assert "Espace Léo Ferré (21: 请电话预约)" in err
    layer = gpd.read_file(tmp_path / "coverage.gpkg", layer="facilities")
    assert layer["open_now"].sum() == 6 and layer["hours"].iloc[15] == "9:00-21:00（周一闭馆）"
    meta = pyogrio.read_info(tmp_path / "coverage.gpkg", layer="facilities")
    assert dict(zip(meta["fields"], meta["dtypes"], strict=True))["open_now"] == "bool"
    hourly = pd.read_csv(tmp_path / "coverage_by_hour.csv")
    assert len(hourly) == 168 and hourly.loc[2 * 24 + 19, "pct_covered"] == pytest.approx(pct)
    windows = pd.read_csv(tmp_path / "coverage_windows.csv")
    assert windows.loc[0, "pct_weekday-evening"] == pytest.approx(
        100 * week.pop[week.in_window("weekday-evening")].sum() / week.pop.sum()
    )
    meta = pyogrio.read_info(tmp_path / "coverage.gpkg", layer="facilities")["dataset_metadata"]
    assert json.loads(meta["parameters"])["at"] == "周三 19:00 / We 19:00"  # the time asked, as the planner reads it


def test_cli_refuses_a_time_it_cannot_read(tmp_path):
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "quarterhour.cli", "run", "--at", "周八 19:00", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: argument --at: '周八 19:00' is not a day and a time")
    assert "Traceback" not in done.stderr


def test_pack_has_the_week_chart_and_tables(hours_sample, tmp_path):
    import io

    from PIL import Image

    from quarterhour.cli.main import main

    *_, week = hours_sample
    path = sample_paths()["facilities"].with_name("facilities_hours.csv")
    bounds = sample_paths()["boundaries"]
    args = ["report", "--facilities", str(path), "--boundaries", str(bounds), "--level", "city", "--k", "0"]
    assert main([*args, "--when", "weekday-evening", "--quiet", "--out", str(tmp_path / "pack")]) == 0
    png = (tmp_path / "pack" / "coverage_by_hour.png").read_bytes()
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.width > 1000
    sheets = pd.read_excel(tmp_path / "pack" / "summary.xlsx", sheet_name=None)
    hourly, windows = sheets["逐时覆盖"], sheets["时段覆盖"]
    assert len(hourly) == 168 and hourly["时刻"].iloc[2 * 24 + 19] == "周三 19:00"
    expected = 100 * (week.covered * week.pop).sum(axis=1) / week.pop.sum()
    assert np.allclose(hourly["覆盖率（%）"], expected.round(1))
    evening = windows.set_index("时段").loc["工作日晚间（周一至周五 18:00-21:00）", "覆盖率（%）"]
    assert evening == pytest.approx(100 * week.pop[week.in_window("weekday-evening")].sum() / week.pop.sum(), abs=0.05)
    html = (tmp_path / "pack" / "summary.html").read_text(encoding="utf-8")
    assert "各时段开放设施覆盖率（一周）" in html


def test_geopackage_style_greys_the_facilities_not_open(hours_sample):
    from quarterhour.gis.qgisstyle import layer_style
    from quarterhour.gis.qgisxml import qml

    network, facilities, demand, *_ = hours_sample
    result = run_open(network, facilities, demand, at=parse_at("周三 19:00"), n_sites=0)
    style = layer_style("facilities", result.facilities, lang="zh")
    assert style.classes[-1].label == "此时未开放的设施" and style.classes[-1].value == "not_open"
    assert "open_now" in style.expression
    assert "not_open" in qml(style)
    plain = layer_style("facilities", facilities, lang="zh")  # no time asked: the categories alone
    assert plain.expression is None and all(c.value != "not_open" for c in plain.classes)


def test_a_new_centre_takes_its_categorys_hours(hours_sample):
    import geopandas as gpd
    import shapely

    from analysis.scenario import apply_changes
    from geo.hours import typical_hours

    network, facilities, demand, *_ = hours_sample
    where = facilities.geometry.iloc[0]
    changes = gpd.GeoDataFrame(
        {
            "action": ["add", "add"],
            "facility_id": [None, None],
            "name": ["新书房", "新中心"],
            "category": ["study_room", None],
        },
        geometry=[shapely.Point(where.x + 50, where.y), shapely.Point(where.x, where.y + 50)],
        crs=facilities.crs,
    )
    after = apply_changes(facilities, changes)
    new = after[after["change"] == "add"]
    rooms = facilities.loc[facilities["category"] == "study_room", "hours"]
    assert new["hours"].iloc[0] == typical_hours(facilities, "study_room") and new["hours"].iloc[0] in set(rooms)
    assert new["hours"].iloc[1] == typical_hours(facilities, "neighbourhood_centre")
    at = parse_at("周三 19:00")
    result = run_open(network, after, demand, at=at, n_sites=0)
    weeks, _ = facility_hours(after)
    assert result.facilities.loc[new.index, "open_now"].tolist() == [bool(s) for s in open_states(weeks, at)[-2:]]


def test_map_greys_the_facilities_closed_then_and_their_reach(hours_sample):
    from quarterhour.render.hourlayers import not_open
    from quarterhour.render.palette import CLOSED_COLOR
    from quarterhour.render.webmap import map_data

    network, facilities, demand, weeks, _ = hours_sample
    at = parse_at("周三 19:00")
    result = run_open(network, facilities, demand, at=at, n_sites=0)
    layers = {layer.name: layer for layer in map_data(result, network, lang="zh").layers}
    grey = layers["此时未开放的设施"]
    assert grey.marker["fill_color"] == CLOSED_COLOR
    assert len(grey.data["features"]) == int((open_states(weeks, at) != 1).sum()) == int(not_open(result).sum())
    assert layers["此时关闭设施的服务范围（不计入）"].style["color"] == CLOSED_COLOR
    coloured = sum(len(v.data["features"]) for k, v in layers.items() if k.startswith("服务设施:"))
    assert coloured == int((open_states(weeks, at) == 1).sum())


def test_qgis_greys_the_facilities_not_open(hours_sample, tmp_path):
    import json
    import subprocess
    from pathlib import Path

    from test_qgis import SYSTEM_PYTHON, _qgis_env, qgis_missing

    from quarterhour.cli.main import main
    from quarterhour.render.palette import CATEGORY_COLORS, CLOSED_COLOR

    reason = qgis_missing()
    if reason:
        pytest.skip(reason)
    _, facilities, _, weeks, _ = hours_sample
    path = sample_paths()["facilities"].with_name("facilities_hours.csv")
    assert main(["run", "--facilities", str(path), "--at", "周三 19:00", "--quiet", "--out", str(tmp_path)]) == 0
    script = Path(__file__).parent / "qgis" / "hours_style.py"
    proc = subprocess.run(
        [SYSTEM_PYTHON, str(script), str(tmp_path / "coverage.gpkg")],
        capture_output=True,
        text=True,
        env=_qgis_env(),
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    colors = json.loads(proc.stdout.strip().splitlines()[-1])
    states = open_states(weeks, parse_at("周三 19:00"))
    for fid, category, state in zip(facilities.index, facilities["category"], states, strict=True):
        assert colors[fid] == (CATEGORY_COLORS[category] if state == 1 else CLOSED_COLOR).lower(), fid


def test_site_for_weekday_evenings_states_the_hours_it_assumes(hours_sample, tmp_path, capsys):
    import geopandas as gpd

    from quarterhour.cli.main import main

    *_, week = hours_sample
    path = sample_paths()["facilities"].with_name("facilities_hours.csv")
    args = ["site", "--facilities", str(path), "--model", "mclp", "--k", "1", "--when", "weekday-evening"]
    assert main([*args, "--quiet", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    before = float(week.pop[week.in_window("weekday-evening")].sum())
    assert f"before {before:,.0f} of" in out
    assert "each new site assumed open Mo-Fr 18:00-21:00" in out
    sites = gpd.read_file(tmp_path / "sites.gpkg", layer="sites")
    assert sites["hours"].tolist() == ["Mo-Fr 18:00-21:00"]
