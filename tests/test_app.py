"""The real Streamlit app, run headless with streamlit.testing.v1.AppTest."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from streamlit.testing.v1 import AppTest

from geo.scenario import read_scenario

APP = Path(__file__).resolve().parent.parent / "app.py"


@pytest.fixture(autouse=True)
def _own_workspace(tmp_path, monkeypatch):
    """Each test's sessions save into their own workspace: a scenario of one test never reopens in another."""
    monkeypatch.setenv("QUARTERHOUR_DATABASE_URL", f"sqlite:///{tmp_path / 'workspace.sqlite'}")


@pytest.fixture
def app() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    return at.run()


def test_opens_on_the_sample_with_the_headline(app):
    assert not app.exception
    assert not app.error, [e.value for e in app.error]  # each part's failure shows as an error: none here
    assert app.title[0].value == "一刻钟党建服务圈"
    headline = app.metric[0]
    assert headline.label == "15 分钟步行覆盖居民"
    assert headline.value == "38,245 / 38,367"
    assert app.metric[1].label == "覆盖率" and app.metric[1].value == "99.7%"
    assert app.metric[2].value == "122"
    assert app.metric[3].value == "20"
    page = app.get("iframe")[0].proto.srcdoc if app.get("iframe") else None
    assert page is None or "leaflet" in page.lower()


def test_english_and_a_shorter_walk(app):
    app.radio(key="lang").set_value("en").run()
    app.select_slider(key="minutes").set_value(5).run()
    assert not app.exception
    assert app.title[0].value == "15-minute party-service circle"
    assert app.metric[0].label == "residents within a 5-minute walk"
    covered = int(app.metric[0].value.split(" / ")[0].replace(",", ""))
    assert 0 < covered < 38_245


def test_no_category_is_explained(app):
    app.multiselect(key="categories").set_value([]).run()
    assert not app.exception
    assert app.info[0].value == "没有选中的设施类别。"


def test_only_service_centres_counts_fewer_residents(app):
    app.multiselect(key="categories").set_value(["service_centre"]).run()
    assert not app.exception
    assert app.metric[3].value == "5"
    covered = int(app.metric[0].value.split(" / ")[0].replace(",", ""))
    assert covered < 38_245
    assert len(app.dataframe) == 3  # ranked gaps, the suggested site, the level table


@pytest.fixture
def media(monkeypatch):
    """The files AppTest's download buttons hold: each run's in-memory media storage, kept to read from."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
    from streamlit.testing.v1 import app_test

    stores = []

    class Kept(MemoryMediaFileStorage):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            stores.append(self)

    monkeypatch.setattr(app_test, "MemoryMediaFileStorage", Kept)

    def content(button) -> bytes:
        file_id = button.proto.url.rsplit("/", 1)[-1].split(".")[0]
        return stores[-1].get_file(file_id).content

    return content


def download(app, label, content, tmp_path, name):
    button = next(b for b in app.get("download_button") if b.proto.label == label)
    path = tmp_path / name
    path.write_bytes(content(button))
    return path


def test_downloads_every_layer_and_table(media, tmp_path):
    app = AppTest.from_file(str(APP), default_timeout=120).run()
    labels = [b.proto.label for b in app.get("download_button")]
    assert labels == ["下载全部图层（GeoPackage）", "下载", "下载"]
    everything = download(app, "下载全部图层（GeoPackage）", media, tmp_path, "all.gpkg")
    layers = set(pyogrio.list_layers(everything)[:, 0])
    assert {"facilities", "demand", "isochrones", "coverage_city", "coverage_community", "gaps", "sites"} <= layers
    meta = pyogrio.read_info(everything, layer="facilities")["dataset_metadata"]
    assert "facilities.geojson sha256:" in meta["input.facilities"] and '"minutes": 15.0' in meta["parameters"]
    app.selectbox(key="dl_layer").set_value("gaps").run()
    app.radio(key="dl_fmt").set_value("shp").run()
    app.selectbox(key="dl_table").set_value("coverage_district").run()
    app.radio(key="dl_tfmt").set_value("xlsx").run()
    shp = next(b for b in app.get("download_button") if b.proto.url.endswith(".zip"))
    (tmp_path / "gaps.zip").write_bytes(media(shp))
    gaps = gpd.read_file(tmp_path / "gaps.zip")
    assert len(gaps) >= 1 and gaps["pop_uncove"].sum() == 122  # Shapefile names are cut to 10 letters
    xlsx = next(b for b in app.get("download_button") if b.proto.url.endswith(".xlsx"))
    (tmp_path / "district.xlsx").write_bytes(media(xlsx))
    table = pd.read_excel(tmp_path / "district.xlsx")
    assert len(table) == 4 and table["pop"].sum() == 38_367


def test_level_tables(app):
    assert app.radio(key="level").value == "district"
    table = app.dataframe[2].value
    assert len(table) == 4 and table["居民"].sum() == 38_367
    assert str(table["居民"].dtype) == "Int64" and table["未纳入的设施（离路网）"].sum() == 0  # issue 26: whole persons
    assert table["服务设施"].sum() == 20  # the facilities the analysis used, the left-out ones in their own column
    app.radio(key="level").set_value("community").run()
    assert not app.exception
    assert len(app.dataframe[2].value) == 32


def test_luoyang_units_with_the_monaco_sample_say_what_is_outside(app):
    app.radio(key="units").set_value("luoyang").run()
    assert not app.exception
    assert app.radio(key="level").options == ["市 city", "区 district"]
    assert any("不在任何市边界内" in w.value for w in app.warning)  # notes follow the UI language (issue 14)


def test_siting_panel_runs_a_model_and_draws_the_curve(app):
    app.select_slider(key="minutes").set_value(5).run()
    app.number_input(key="k").set_value(2).run()
    app.button(key="run_siting").click().run()
    assert not app.exception
    labels = [m.label for m in app.metric]
    before = app.metric[labels.index("现状覆盖居民")].value
    after = app.metric[labels.index("新增后覆盖居民")].value
    assert before.startswith("21,502 (56.0%)") and after != before
    assert any(len(df.value) == 2 and "新增覆盖居民" in df.value.columns for df in app.dataframe)  # two sites
    app.selectbox(key="model").set_value("lscp").run()
    app.slider(key="target").set_value(1.0).run()
    app.button(key="run_siting").click().run()
    assert not app.exception
    # Every resident left out at 5 minutes is within reach of a street corner, and the grid, completed with the
    # corner nearest each pocket it misses, reaches them all: 100% is reachable (it was refused while the 200 m
    # grid missed 153 residents between its nodes). The refusal itself: tests/test_siting.py.
    labels = [m.label for m in app.metric]
    assert app.metric[labels.index("新增后覆盖居民")].value.startswith("38,367 (100.0%)")


def test_siting_panel_offers_the_spacing_and_never_suggests_a_site_adding_no_one(app):
    """Monaco at 15 minutes: two sites cover everyone left out; a third is not suggested, and the panel says why."""
    app.number_input(key="k").set_value(3).run()
    app.number_input(key="spacing_m").set_value(150).run()
    app.button(key="run_siting").click().run()
    assert not app.exception
    sites = [df.value for df in app.dataframe if "新增覆盖居民" in df.value.columns]
    assert sites and len(sites[-1]) == 2 and (sites[-1]["新增覆盖居民"] > 0).all()
    assert any("只有 2 个新中心能新增覆盖居民" in i.value for i in app.info)
    assert not any("nothing left" in i.value for i in app.info)
    # p-median: a site chosen for shorter walks of residents already covered says whom it serves and what it saves
    app.selectbox(key="model").set_value("pmedian").run()
    app.button(key="run_siting").click().run()
    assert not app.exception
    table = [df.value for df in app.dataframe if "服务居民（开放后以其为最近）" in df.value.columns][-1]
    shown = ["服务居民（开放后以其为最近）", "新增覆盖居民", "步行分钟", "人均节省步行分钟", "共节省步行（人·分钟）"]
    assert len(table) == 3 and table[shown].notna().all().all() and (table["新增覆盖居民"] == 0).any()


def _biggest_gap_lonlat(sample, minutes=15):
    from analysis.pipeline import run_circle

    network, facilities, demand = sample
    p = run_circle(network, facilities, demand, minutes=minutes).gaps.to_crs(4326).geometry.iloc[0]
    p = p.representative_point()
    return p.x, p.y


def test_add_a_centre_by_coordinates_compare_and_save(media, tmp_path, sample):
    app = AppTest.from_file(str(APP), default_timeout=120).run()
    lon, lat = _biggest_gap_lonlat(sample)
    app.text_input(key="lonlat").set_value(f"{lon:.6f}, {lat:.6f}")
    next(b for b in app.button if b.label == "新增").click().run()
    assert not app.exception
    labels = [m.label for m in app.metric]
    now, then = app.metric[labels.index("现状")], app.metric[labels.index("方案")]
    assert now.value == "38,245"
    gained = int(then.value.replace(",", "")) - 38_245
    assert gained > 0 and then.delta == f"+{gained:,}"
    assert any("新增覆盖" in c.value for c in app.caption)
    saved = read_scenario(download(app, "保存方案（GeoJSON）", media, tmp_path, "scenario.geojson"))
    assert saved["action"].tolist() == ["add"] and saved["name"].tolist() == ["新中心 1"]
    assert saved.geometry.iloc[0].distance(shapely.Point(lon, lat)) < 1e-6
    assert "下载方案结果（GeoPackage）" not in [b.proto.label for b in app.get("download_button")]  # not on a click
    app.button(key="prepare_scenario").click().run()
    after = download(app, "下载方案结果（GeoPackage）", media, tmp_path, "scenario.gpkg")
    facilities = gpd.read_file(after, layer="facilities")
    assert len(facilities) == 21 and facilities["change"].tolist().count("add") == 1
    demand = gpd.read_file(after, layer="demand")
    assert demand.loc[demand["covered"], "pop"].sum() == 38_245 + gained
    # undo brings the current state back
    app.button(key="undo").click().run()
    assert not app.exception and "现状" not in [m.label for m in app.metric]


def test_a_click_closes_the_facility_under_it(app, sample):
    facilities = sample[1]
    where = facilities.to_crs(4326).geometry["F001"]
    app.radio(key="click_mode").set_value("close").run()
    app.session_state["map"] = {"last_clicked": {"lat": where.y + 0.0001, "lng": where.x}}
    app.run()
    assert not app.exception
    table = next(df.value for df in app.dataframe if "变化" in df.value.columns)
    assert table["变化"].tolist() == ["关闭"] and table["ID"].tolist() == ["F001"]
    labels = [m.label for m in app.metric]
    assert int(app.metric[labels.index("方案")].value.replace(",", "")) <= 38_245


def test_a_bad_coordinate_is_explained(app):
    app.text_input(key="lonlat").set_value("43.7, abc")
    next(b for b in app.button if b.label == "新增").click().run()
    assert not app.exception
    assert any("不是“经度, 纬度”" in e.value for e in app.error)


def test_two_clicks_draw_the_download_box(app):
    app.radio(key="click_mode").set_value("box").run()
    app.session_state["map"] = {"last_clicked": {"lat": 43.73, "lng": 7.41}}
    app.run()
    assert any("再点击对角" in i.value for i in app.info)
    app.session_state["map"] = {"last_clicked": {"lat": 43.75, "lng": 7.44}}
    app.run()
    assert not app.exception
    assert app.session_state["osm_bbox"] == (7.41, 43.73, 7.44, 43.75)
    assert any("已框定约 5.3 平方千米" in i.value for i in app.info)
    app.session_state["map"] = {"last_clicked": {"lat": 43.0, "lng": 7.0}}
    app.run()
    app.session_state["map"] = {"last_clicked": {"lat": 44.0, "lng": 8.0}}
    app.run()
    assert any("超过 400 平方千米" in i.value for i in app.info)


def test_two_planners_keep_their_own_scenarios(sample):
    """Two sessions on one server share the cached analysis, never each other's changes."""
    first = AppTest.from_file(str(APP), default_timeout=120).run()
    second = AppTest.from_file(str(APP), default_timeout=120).run()
    lon, lat = _biggest_gap_lonlat(sample)
    first.text_input(key="lonlat").set_value(f"{lon}, {lat}")
    next(b for b in first.button if b.label == "新增").click().run()
    assert "方案" in [m.label for m in first.metric]
    second.run()
    assert not second.exception
    assert "方案" not in [m.label for m in second.metric]
    assert second.metric[0].value == "38,245 / 38,367"  # the shared result was not changed by the first
    assert second.session_state["changes"] == []


def test_review_pack_for_the_unit_on_screen(media, tmp_path):
    import zipfile

    app = AppTest.from_file(str(APP), default_timeout=180).run()
    assert app.selectbox(key="pack_district").value == "MC-D1"
    app.selectbox(key="pack_district").set_value("MC-D3").run()
    app.button(key="pack_make").click().run()
    assert not app.exception
    pack = download(app, "下载“西南区 (made-up district)”评审材料（zip）", media, tmp_path, "pack.zip")
    with zipfile.ZipFile(pack) as zf:
        names = [Path(n).name for n in zf.namelist()]
        assert {"layers.gpkg", "project.qgs", "map.png", "tables.xlsx", "report.html", "report.pdf"} <= set(names)
        html = zf.read(next(n for n in zf.namelist() if n.endswith("report.html"))).decode()
    assert "西南区" in html and "facilities.geojson（SHA-256 " in html  # the input by its name, with its hash


def test_the_run_shows_its_steps_and_a_cached_run_replays_cleanly(app):
    """issue 13 (task-cli): the run reports its steps to a bar outside the cache; a cache hit must not replay it."""
    again = AppTest.from_file(str(APP), default_timeout=120).run()  # same inputs: the cached run
    assert not app.exception and not again.exception
    assert not again.error, [e.value for e in again.error]
    assert again.metric[0].value == app.metric[0].value == "38,245 / 38,367"
    assert not again.get("progress")  # the bar is gone once the run is done
    again.select_slider(key="minutes").set_value(7).run()  # a new run, told step by step
    assert not again.exception and not again.error
