"""Coordinates judged by themselves (``auto``, the default), and residents read from CSV/XLSX tables.

GCJ-02 only differs from WGS-84 inside China, so Monaco's real streets, centres and
residents are moved, shape kept, into Luoyang's old town (UTM 32N metres read as UTM
49N metres, shifted): the real OSM street pattern, at Luoyang's GCJ-02 offset (~500 m).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import osmnx as ox
import pandas as pd
import pytest
import shapely
import test_browser
from pyproj import Transformer

from analysis.pipeline import STEPS
from geo import InputError, read_demand, read_facilities
from geo.chinacrs import settle_coordinate_system, to_wgs84, wgs84_to_gcj02
from quarterhour.cli.args import build_parser
from quarterhour.cli.main import _load, main
from quarterhour.cli.progress import Steps
from quarterhour.render.readnotes import coordinate_note

SAMPLE = "data/sample"
LUOYANG = (112.4690, 34.6830)  # 老城区: where Monaco's centre is put
_AS = {"file": "f.xlsx", "role": "facilities"}  # what a refusal would name


def _mover():
    """(lon, lat) in Monaco -> the same place, by metres, in Luoyang's old town."""
    to_utm32 = Transformer.from_crs(4326, 32632, always_xy=True)
    from_utm49 = Transformer.from_crs(32649, 4326, always_xy=True)
    cx, cy = to_utm32.transform(7.4206, 43.7384)
    tx, ty = Transformer.from_crs(4326, 32649, always_xy=True).transform(*LUOYANG)

    def move(lon, lat):
        x, y = to_utm32.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        return from_utm49.transform(np.asarray(x) - cx + tx, np.asarray(y) - cy + ty)

    return move


def _moved_layer(gdf: gpd.GeoDataFrame, move) -> gpd.GeoDataFrame:
    def shift(xy):
        return np.column_stack(move(xy[:, 0], xy[:, 1]))

    gdf = gdf.to_crs(4326)
    return gdf.set_geometry(shapely.transform(gdf.geometry.to_numpy(), shift), crs=4326)


@pytest.fixture(scope="module")
def luoyang(tmp_path_factory):
    """The sample moved to Luoyang: network, facilities (WGS-84 truth) and residents; the centres as 高德 lists them."""
    folder = tmp_path_factory.mktemp("luoyang")
    move = _mover()
    graph = ox.load_graphml(f"{SAMPLE}/network.graphml")
    for _, data in graph.nodes(data=True):
        lon, lat = move(data["x"], data["y"])
        data["x"], data["y"] = float(lon), float(lat)
    for _, _, data in graph.edges(data=True):
        if data.get("geometry") is not None:
            data["geometry"] = shapely.transform(data["geometry"], lambda xy: np.column_stack(move(xy[:, 0], xy[:, 1])))
    ox.save_graphml(graph, folder / "streets.graphml")
    truth = _moved_layer(gpd.read_file(f"{SAMPLE}/facilities.geojson"), move)
    truth.to_file(folder / "facilities.geojson")
    _moved_layer(gpd.read_file(f"{SAMPLE}/demand.geojson"), move).to_file(folder / "demand.geojson")
    glon, glat = wgs84_to_gcj02(truth.geometry.x.to_numpy(), truth.geometry.y.to_numpy())
    table = pd.DataFrame({"名称": truth["name"], "类别": truth["category"], "经度": glon, "纬度": glat})
    table.to_excel(folder / "党群服务中心.xlsx", index=False)
    table.to_csv(folder / "党群服务中心.csv", index=False, encoding="gb18030")  # GBK and the é of Monaco's names
    return folder, truth


def _run(folder, out, *extra):
    return main(["run", "--network", str(folder / "streets.graphml"), "--demand", str(folder / "demand.geojson"),
                 "--out", str(out), "--isochrones", "merged", *extra])  # fmt: skip


def _metres(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> np.ndarray:
    utm = a.estimate_utm_crs()
    return a.to_crs(utm).geometry.distance(b.to_crs(utm).geometry, align=False).to_numpy()


def test_a_gcj02_spreadsheet_lands_on_its_streets_by_default(luoyang, tmp_path, capsys):
    folder, truth = luoyang
    assert _run(folder, tmp_path / "truth", "--facilities", str(folder / "facilities.geojson")) == 0
    want = capsys.readouterr().out
    assert _run(folder, tmp_path / "xlsx", "--facilities", str(folder / "党群服务中心.xlsx")) == 0
    got = capsys.readouterr()
    assert got.out.split("; wrote")[0] == want.split("; wrote")[0]  # the same residents covered
    assert "note: 党群服务中心.xlsx: coordinates judged GCJ-02 (AMap, Tencent) against the streets: 90%" in got.err
    read = gpd.read_file(tmp_path / "xlsx" / "coverage.gpkg", layer="facilities")
    assert _metres(read, truth).max() < 2.0  # back where the WGS-84 truth is, within the 1 m inverse


def _loaded(folder, *extra):
    """The CLI's inputs as ``quarterhour run`` reads them (no run): (facilities in WGS-84, demand)."""
    args = build_parser().parse_args(["run", "--network", str(folder / "streets.graphml"), "--demand",
                                      str(folder / "demand.geojson"), "--out", "unused", *extra])  # fmt: skip
    with Steps(STEPS, quiet=True) as step:
        _, facilities, demand, _, _, _ = _load(args, step)
    return facilities.to_crs(4326), demand, args


def test_a_gbk_csv_too_and_the_planners_choice_wins(luoyang, capsys):
    folder, truth = luoyang
    facilities, _, args = _loaded(folder, "--facilities", str(folder / "党群服务中心.csv"))
    assert _metres(facilities, truth).max() < 2.0 and args.facilities_crs == "gcj02"
    assert "党群服务中心.csv: coordinates judged GCJ-02" in capsys.readouterr().err
    # The planner's own choice still wins: read as WGS-84, every centre sits 300-700 m off its street.
    facilities, _, args = _loaded(folder, "--facilities", str(folder / "党群服务中心.csv"), "--facilities-crs", "wgs84")
    assert "党群服务中心.csv: coordinates read as WGS-84 (GPS, Tianditu, OSM), as chosen" in capsys.readouterr().err
    off = _metres(facilities, truth)
    assert (off > 300).all() and (off < 700).all() and args.facilities_crs == "wgs84"
    # The residents' own option: the moved residents are WGS-84, judged so; told GCJ-02, they move.
    _, demand, _ = _loaded(folder, "--facilities", str(folder / "facilities.geojson"))
    err = capsys.readouterr().err
    assert "demand.geojson: coordinates read in the file's own CRS" in err
    _, moved, _ = _loaded(folder, "--facilities", str(folder / "facilities.geojson"), "--demand-crs", "gcj02")
    shift = demand.geometry.distance(moved.geometry, align=False)
    assert 300 < shift.median() < 700


def test_the_judgement_is_told_in_both_languages(luoyang):
    from geo import prepare_network, read_network

    folder, truth = luoyang
    network = prepare_network(read_network(folder / "streets.graphml"))
    table = read_facilities(folder / "党群服务中心.xlsx", crs="wgs84")
    moved, choice = settle_coordinate_system(table, network, "auto", declared=False, **_AS)
    assert choice.system == "gcj02" and choice.how == "judged"
    assert choice.metres["gcj02"] < 0.5 * choice.metres["wgs84"], choice.metres
    assert _metres(moved, truth).max() < 2.0
    zh = coordinate_note("党群服务中心.xlsx", choice, "zh")
    assert zh.startswith("党群服务中心.xlsx：按路网判定坐标为 GCJ-02（高德、腾讯）：九成点位距街道")
    # A GeoJSON states its CRS and is kept; a GCJ-02 one is flagged, for the planner to choose by hand.
    gcj = truth.set_geometry(shapely.points(*wgs84_to_gcj02(truth.geometry.x, truth.geometry.y)), crs=4326)
    kept, told = settle_coordinate_system(gcj, network, "auto", declared=True, **_AS)
    assert told.how == "declared" and told.looks == "gcj02" and kept.geometry.equals(gcj.geometry)
    assert "choose GCJ-02 by hand" in coordinate_note("f.geojson", told, "en")
    # The truth itself is judged WGS-84.
    same, right = settle_coordinate_system(truth, network, "auto", declared=False, **_AS)
    assert right.system == "wgs84" and right.how == "judged" and same is truth


def test_points_outside_china_are_wgs84_without_fuss():
    from geo import load_sample

    network, facilities, demand = load_sample()
    for points in (facilities, demand):
        kept, choice = settle_coordinate_system(points, network, "auto", declared=False, **_AS)
        assert choice.system == "wgs84" and choice.how == "outside" and kept is points
    assert coordinate_note("f.csv", choice, "zh") == "f.csv：各点均在中国境外，坐标按 WGS-84 读取"


def _residents_table(tmp_path, name, pop_header="人口", encoding="utf-8"):
    dem = gpd.read_file(f"{SAMPLE}/demand.geojson").to_crs(4326)
    table = pd.DataFrame({"经度": dem.geometry.x, "纬度": dem.geometry.y, pop_header: dem["pop"]})
    path = tmp_path / name
    if path.suffix == ".xlsx":
        table.to_excel(path, index=False)
    else:
        table.to_csv(path, index=False, encoding=encoding)
    return path, dem


@pytest.mark.parametrize(
    ("name", "header", "encoding"),
    [("人口.csv", "人口", "utf-8"), ("常住人口.csv", "常住人口", "gbk"), ("户籍人口.xlsx", "户籍人口", None)],
)
def test_residents_table_reads_as_the_geojson(tmp_path, name, header, encoding):
    path, dem = _residents_table(tmp_path, name, header, encoding)
    gdf = read_demand(path)
    assert len(gdf) == len(dem) and gdf["pop"].tolist() == pytest.approx(dem["pop"].tolist())
    assert _metres(gdf, dem).max() < 1e-6
    assert str(gdf.attrs["notes"][0]).startswith(f"read {len(dem)} rows from {name}")


def test_quarterhour_run_on_a_residents_csv_gives_the_sample_figures(tmp_path, capsys):
    path, _ = _residents_table(tmp_path, "人口.csv", "常住人口", "gbk")
    assert main(["run", "--out", str(tmp_path / "geojson"), "--isochrones", "merged"]) == 0
    want = capsys.readouterr().out
    assert main(["run", "--demand", str(path), "--out", str(tmp_path / "csv"), "--isochrones", "merged"]) == 0
    got = capsys.readouterr()
    assert "covered 38,245 of 38,367" in want
    assert got.out.split("; wrote")[0] == want.split("; wrote")[0]
    assert "note: 人口.csv: every point lies outside China: read as WGS-84" in got.err
    a = gpd.read_file(tmp_path / "geojson" / "coverage.gpkg", layer="demand")
    b = gpd.read_file(tmp_path / "csv" / "coverage.gpkg", layer="demand")
    assert (a["covered"] == b["covered"]).all() and np.allclose(a["minutes"].fillna(-1), b["minutes"].fillna(-1))


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("经度,纬度,人口\n7.42,43.73,120\n7.42,43.73,-5\n", r"row 3, column '人口'.*found '-5'"),
        ("经度,纬度,人口\n7.42,43.73,约百人\n", r"row 2, column '人口'.*found '约百人'"),
        ("经度,纬度,地址\n7.42,43.73,中州中路\n", r"no column with the residents.*常住人口"),
        ("经度,纬度,常住人口,户籍人口\n7.42,43.73,1,2\n", r"'常住人口', '户籍人口' could all be the pop column"),
        ("经度,纬度,人口\n7.42,abc,1\n", r"row 2, column '纬度'.*'abc' is not a number"),
    ],
)
def test_bad_residents_rows_are_named(tmp_path, rows, message):
    path = tmp_path / "人口.csv"
    path.write_text(rows, encoding="gbk")
    with pytest.raises(InputError, match=message):
        read_demand(path)


def test_a_gcj02_residents_table_outside_china_is_refused_with_the_option(tmp_path):
    path = tmp_path / "人口.csv"
    path.write_text("经度,纬度,人口\n7.42,43.73,120\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"outside China.*--demand-crs"):
        read_demand(path, crs="gcj02")
    lon, lat = to_wgs84(np.array([7.42]), np.array([43.73]), "gcj02")
    assert (lon[0], lat[0]) == (7.42, 43.73)


@pytest.mark.browser
@pytest.mark.skipif(test_browser.CHROMIUM is None, reason="Debian chromium is not installed (apt-get install chromium)")
def test_app_reads_an_uploaded_residents_csv(browser, app_url, tmp_path):
    """In the real app (headless chromium): a GBK residents CSV with 常住人口 gives the sample's headline."""
    sync_api = pytest.importorskip("playwright.sync_api")
    path, dem = _residents_table(tmp_path, "人口.csv", "常住人口", "gbk")
    errors = []
    page = browser.new_page(viewport={"width": 1600, "height": 1100})
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(app_url, wait_until="domcontentloaded")
    page.get_by_text("38,245 / 38,367").first.wait_for(timeout=60_000)
    page.get_by_text("数据", exact=True).click()
    uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text="居民")
    uploader.locator('input[type="file"]').set_input_files(str(path))
    # the note, in the page's language, sits in the "what was read" expander; the run after the upload may draw
    # that expander anew (closed), so wait for the note to exist, then open the expander it is in
    note = page.get_by_text(f"人口.csv：{len(dem):,} 个居民点")
    note.wait_for(state="attached", timeout=90_000)
    if not note.is_visible():
        page.get_by_text("读取了什么").click()
    note.wait_for(timeout=30_000)
    page.get_by_text("人口.csv：各点均在中国境外，坐标按 WGS-84 读取").wait_for(timeout=30_000)
    sync_api.expect(page.get_by_text("38,245 / 38,367").first).to_be_visible()
    assert not page.locator('[data-testid="stException"]').count()
    page.close()
    assert errors == []


def test_the_app_judges_a_gcj02_spreadsheet_and_says_so(luoyang):
    """The app's reading (``ui.compute.load_points``, default ``auto``) puts the centres on their streets."""
    from quarterhour.ui.compute import load_points
    from quarterhour.ui.values import Inputs

    folder, truth = luoyang
    inputs = Inputs(
        str(folder / "streets.graphml"), str(folder / "党群服务中心.xlsx"), demand=str(folder / "demand.geojson")
    )
    assert inputs.facilities_crs == "auto" and inputs.demand_crs == "auto"
    points = load_points(inputs)
    (fac_name, fac_choice), (dem_name, dem_choice) = points.crs_choices
    assert fac_choice.system == "gcj02" and fac_choice.how == "judged"
    assert _metres(points.facilities.to_crs(4326), truth).max() < 2.0
    assert coordinate_note(fac_name, fac_choice, "zh").startswith("党群服务中心.xlsx：按路网判定坐标为 GCJ-02")
    assert dem_name == "demand.geojson" and dem_choice.how == "declared" and dem_choice.looks is None


def _residents_in(folder, tmp_path, system: str):
    """The moved residents as a table whose lon/lat are in ``system`` (as 高德 or 百度 list them)."""
    from geo.chinacrs import gcj02_to_bd09

    truth = gpd.read_file(folder / "demand.geojson").to_crs(4326)
    lon, lat = truth.geometry.x.to_numpy(), truth.geometry.y.to_numpy()
    if system != "wgs84":
        lon, lat = wgs84_to_gcj02(lon, lat)
    if system == "bd09":
        lon, lat = gcj02_to_bd09(lon, lat)
    path = tmp_path / f"居民_{system}.xlsx"
    pd.DataFrame({"经度": lon, "纬度": lat, "常住人口": truth["pop"]}).to_excel(path, index=False)
    return path


@pytest.mark.parametrize(
    ("system", "option"), [("bd09", "bd09"), ("gcj02", "gcj02"), ("wgs84", "auto"), ("gcj02", "auto"), ("bd09", "auto")]
)
def test_a_chinese_residents_table_lands_on_its_streets(luoyang, tmp_path, capsys, system, option):
    """Residents as 百度 (BD-09) or 高德 (GCJ-02) list them, chosen or judged: the figures of the WGS-84 truth.

    Judged (``auto``), a GCJ-02 table was once read as WGS-84 (its median distance to a street, 12 m,
    did not beat BD-09's 18 m by half: "unclear"), and 70 % covered instead of 99.7 %.
    """
    folder, _ = luoyang
    path = _residents_in(folder, tmp_path, system)
    facilities = ["--facilities", str(folder / "facilities.geojson")]
    assert _run(folder, tmp_path / "truth", *facilities) == 0
    want = capsys.readouterr().out
    assert "(99.7%)" in want
    assert main(["run", "--network", str(folder / "streets.graphml"), *facilities, "--demand", str(path),
                 "--demand-crs", option, "--out", str(tmp_path / system), "--isochrones", "merged"]) == 0  # fmt: skip
    got = capsys.readouterr()
    assert got.out.split("; wrote")[0] == want.split("; wrote")[0], got.err
    name = {"wgs84": "WGS-84 (GPS, Tianditu, OSM)", "gcj02": "GCJ-02 (AMap, Tencent)", "bd09": "BD-09 (Baidu)"}[system]
    said = f"read as {name}, as chosen" if option != "auto" else f"judged {name} against the streets: 90% within"
    assert f"居民_{system}.xlsx: coordinates {said}" in got.err


def test_residents_the_streets_cannot_place_are_refused_with_the_option(luoyang, tmp_path, capsys):
    """No reading clearly fits (points scattered over 2 km around the streets): refused, never read as WGS-84."""
    folder, _ = luoyang
    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(112.46, 112.48, 400), rng.uniform(34.67, 34.69, 400)
    path = tmp_path / "居民.csv"
    pd.DataFrame({"经度": lon, "纬度": lat, "常住人口": 10}).to_csv(path, index=False)
    network = ["--network", str(folder / "streets.graphml")]
    code = main(["run", *network, "--facilities", str(folder / "facilities.geojson"), "--demand", str(path),
                 "--out", str(tmp_path / "out")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and not (tmp_path / "out").exists()
    line = next(x for x in err.splitlines() if x.startswith("error: "))
    assert line.startswith("error: 居民.csv: the streets do not tell which coordinate system its lon/lat are in: 90%")
    assert "Fix: choose it: --demand-crs gcj02 (AMap, Tencent), wgs84 (GPS, Tianditu, OSM) or bd09 (Baidu)" in line
    assert "Traceback" not in err and str(tmp_path) not in err
    # The facilities' table is held to the same rule, and names its own option.
    table = tmp_path / "设施.csv"
    pd.DataFrame({"名称": [f"c{i}" for i in range(40)], "经度": lon[:40], "纬度": lat[:40]}).to_csv(table, index=False)
    code = main(["run", *network, "--facilities", str(table),
                 "--demand", str(folder / "demand.geojson"), "--out", str(tmp_path / "out")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "设施.csv: the streets do not tell" in err and "Fix: choose it: --facilities-crs gcj02" in err


_JUDGED_ALONE = """
import json, sys
from quarterhour.study import StudySpec, load_study
folder = sys.argv[1]
study = load_study(StudySpec(network=folder + "/streets.graphml", facilities=folder + "/党群服务中心.xlsx",
                             demand=folder + "/demand.geojson", cache_dir=folder + "/cache"))
print(json.dumps({"system": study.choices[0][1].system, "kdtree": "scipy.spatial" in sys.modules}))
"""


def test_judging_a_spreadsheets_system_loads_no_kd_tree(luoyang):
    """Issue 32: the points near the streets are found with a grid, so a run in China does not import scipy.spatial."""
    import json
    import subprocess
    import sys

    folder, _ = luoyang
    proc = subprocess.run(
        [sys.executable, "-c", _JUDGED_ALONE, str(folder)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1]) == {"system": "gcj02", "kdtree": False}
