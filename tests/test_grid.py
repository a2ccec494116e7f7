"""The grid (网格, issue 30): the fifth review level below the community, from boundaries to tables, tree and pack.

The sample's ``boundaries_grid.geojson`` holds the four levels and 98 made-up grids whose codes name their
community (``MC-S01-1-G3`` lies in ``MC-S01-1``): the codes are the independent answer to which community a
grid belongs to; containment by shapely, with the residents' covered flags, is the independent count.
"""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from analysis import columns as C
from analysis.coverage import coverage_by_level
from analysis.pipeline import run_circle
from analysis.units import split_by_unit
from analysis.unittree import unit_parents, unit_shapes
from geo import read_boundaries
from geo.errors import InputError
from geo.io import SAMPLE_DIR
from geo.vocab import LEVELS, level_code, levels_below
from quarterhour.batch.files import summary_tables
from quarterhour.batch.run import read_units
from quarterhour.gis.export import provenance
from quarterhour.i18n import level_both, note_text
from quarterhour.pack.report import PackOptions, unit_pack
from quarterhour.pack.tables import coverage_table
from quarterhour.workspace.access import Actor, lineage

GRIDS = SAMPLE_DIR / "boundaries_grid.geojson"
DATA = Path(__file__).resolve().parent.parent / "data"
METRIC = "EPSG:32632"


def community_of(grid_code: str) -> str:
    return grid_code.rsplit("-G", 1)[0]


@pytest.fixture(scope="module")
def levels():
    return read_boundaries(GRIDS)


@pytest.fixture(scope="module")
def run(sample, levels):
    net, fac, dem = sample
    units = {k: v.to_crs(net.crs) for k, v in levels.items()}
    return run_circle(net, fac, dem, boundaries=units, isochrones=("facility",), n_sites=0)


def test_the_words_for_the_grid_level():
    assert LEVELS[-1] == "grid" and levels_below("community") == ("grid",)
    assert [level_code(w) for w in ("网格", "网格党支部", "Grid", "社区网格")] == ["grid"] * 4
    assert level_both("grid") == "网格 grid"


def test_the_sample_grids_lie_in_their_communities_and_rebuild_byte_for_byte(levels, tmp_path):
    assert list(levels) == ["city", "district", "subdistrict", "community", "grid"]
    assert len(levels["grid"]) == 98 and levels["city"].attrs["notes"] == []  # no grid straddles, none is outside
    parents = unit_parents(levels)
    assert {g: parents[g] for g in levels["grid"]["code"]} == {g: community_of(g) for g in levels["grid"]["code"]}
    assert set(levels["community"]["code"]) == {community_of(g) for g in levels["grid"]["code"]}  # each has grids
    # the grids tile their community: their areas add up to it
    metric = {k: v.to_crs(METRIC) for k, v in levels.items()}
    grid_area = metric["grid"].assign(c=metric["grid"]["code"].map(community_of)).dissolve("c").area
    comm_area = metric["community"].set_index("code").area
    assert np.allclose(grid_area.reindex(comm_area.index), comm_area, rtol=1e-4)
    # the bundled file is what data/build_grids.py makes from the bundled boundaries
    (tmp_path / "boundaries.geojson").write_bytes((SAMPLE_DIR / "boundaries.geojson").read_bytes())
    spec = importlib.util.spec_from_file_location("build_grids", DATA / "build_grids.py")
    build_grids = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_grids)  # in this process: no second interpreter to start
    build_grids.build(tmp_path)
    assert (tmp_path / "boundaries_grid.geojson").read_bytes() == GRIDS.read_bytes()


@pytest.mark.slow  # the module's run of the sample with grids: about 6 s, shared
def test_coverage_per_grid_equals_an_independent_count(run):
    grid = run.levels["grid"].set_index("code")
    dem = run.demand
    x, y = dem.geometry.x.to_numpy(), dem.geometry.y.to_numpy()
    pop, covered = dem[C.POP].to_numpy(), dem[C.COVERED].to_numpy(bool)
    taken = np.zeros(len(dem), bool)  # a point on a shared edge counts once, in the first grid by code
    for code in sorted(grid.index):
        inside = shapely.intersects_xy(grid.loc[code, "geometry"], x, y) & ~taken
        taken |= inside
        assert grid.loc[code, C.POP] == pytest.approx(pop[inside].sum(), abs=1e-6), code
        assert grid.loc[code, C.POP_COVERED] == pytest.approx(pop[inside & covered].sum(), abs=1e-6), code
        if pop[inside].sum() > 0:
            want = 100 * pop[inside & covered].sum() / pop[inside].sum()
            assert grid.loc[code, C.PCT_COVERED] == pytest.approx(want), code
    assert grid[C.POP].sum() == pytest.approx(pop[taken].sum())
    # the facilities the analysis used, counted by containment too
    fac = run.facilities[run.facilities["on_network"]]
    fx, fy = fac.geometry.x.to_numpy(), fac.geometry.y.to_numpy()
    counted = {c: int(shapely.intersects_xy(grid.loc[c, "geometry"], fx, fy).sum()) for c in grid.index}
    assert grid[C.N_FACILITIES].to_dict() == counted
    # a grid's status, and each community's grids by status, from the grid codes
    want_status = np.select(
        [grid[C.POP] <= 0, grid[C.POP_UNCOVERED] <= 1e-9, grid[C.POP_COVERED] <= 1e-9],
        ["empty", "full", "none"],
        "partly",
    )
    assert list(grid[C.STATUS]) == list(want_status)
    comm = run.levels["community"].set_index("code")
    by_status = pd.crosstab(grid.index.map(community_of), grid[C.STATUS])
    for s in ("full", "partly", "none"):
        want = by_status[s] if s in by_status else pd.Series(0, index=comm.index)
        assert comm[f"grids_{s}"].to_dict() == want.reindex(comm.index).fillna(0).astype(int).to_dict()


@pytest.mark.slow  # the module's run of the sample with grids: about 6 s, shared
def test_each_community_page_has_its_grid_table(run, sample, tmp_path):
    units = split_by_unit(run, "community")
    assert len(units) == 32
    for code, unit in units.items():
        assert unit.sub_level == "grid"
        table = coverage_table(unit, "en")
        assert sorted(table["code"]) == sorted(g for g in run.levels["grid"]["code"] if community_of(g) == code)
    # one community's pack in full: the tables and the report hold the grid table
    net = sample[0]
    opts = PackOptions(level="community", k=0, lang="en")
    prov = provenance({}, {"boundaries": GRIDS})
    for code in ("MC-S05-2",):
        files = unit_pack(run, net, opts, code=code, provenance=prov)
        sheet = pd.read_excel(io.BytesIO(files["tables.xlsx"]), sheet_name=None)
        coverage = next(t for name, t in sheet.items() if name.lower().startswith("coverage"))
        grids = sorted(g for g in run.levels["grid"]["code"] if community_of(g) == code)
        assert sorted(coverage["code"]) == grids
        html = files["report.html"].decode()
        assert all(g in html for g in grids) and "Coverage by unit · grid" in html  # the table names its level
        (tmp_path / f"{code}.gpkg").write_bytes(files["layers.gpkg"])
        layers = gpd.list_layers(tmp_path / f"{code}.gpkg")["name"].tolist()
        assert {"coverage_community", "coverage_grid"} <= set(layers)


@pytest.mark.slow  # uses the module's run (above)
def test_the_app_map_outlines_the_grids_hidden(run):
    from quarterhour.render.maplayers import unit_layers

    (grid,) = [layer for layer in unit_layers(run, "zh") if layer.name == "网格边界"]
    assert not grid.show  # drawn on demand (a multi-part grid may come as several features)
    assert {f["properties"]["name"] for f in grid.data["features"]} == set(run.levels["grid"]["name"])


def test_a_planner_of_a_community_plans_its_grids_and_a_grid_planner_only_the_grid(levels):
    parents = unit_parents(levels)
    grid, sibling, other = "MC-S01-1-G1", "MC-S01-1-G2", "MC-S05-2-G1"
    assert lineage(grid, parents)[:3] == (grid, "MC-S01-1", "MC-S01")
    community = Actor("li", "planner", ("MC-S01-1",))
    assert community.may_write(grid, parents) and community.may_write(sibling, parents)
    assert not community.may_write(other, parents)
    gridder = Actor("zhao", "planner", (grid,))
    assert gridder.may_write(grid, parents)
    assert not gridder.may_write(sibling, parents) and not gridder.may_write("MC-S01-1", parents)
    shapes = unit_shapes(levels)  # the place rule: a grid's own polygon, inside its community's
    assert shapes[grid].area > 0 and shapes["MC-S01-1"].buffer(1e-7).covers(shapes[grid])


def test_the_store_keeps_a_grid_planner_to_the_grid(tmp_path):
    from quarterhour.cli.scenarios import _unit_tree
    from quarterhour.workspace import NotAllowed, ProjectKey, Store

    store = Store(f"sqlite:///{tmp_path / 'workspace.sqlite'}")
    project = store.project(ProjectKey("net", "fac", "res", "sample-grid"))
    parents, shapes = _unit_tree("sample_grid")  # as `quarterhour scenarios import --boundaries sample_grid` does
    store.set_units(project, parents, shapes)
    inside = {c: shapes[c].representative_point() for c in ("MC-S01-1-G1", "MC-S01-1-G2")}
    add = {c: ("add", None, f"新中心 {c}", "liaison_point", p.x, p.y) for c, p in inside.items()}
    gridder = Actor("zhao", "planner", ("MC-S01-1-G1",))
    community = Actor("li", "planner", ("MC-S01-1",))
    store.create(project, "网格方案", "MC-S01-1-G1", gridder, changes=[add["MC-S01-1-G1"]])
    with pytest.raises(NotAllowed, match="outside zhao's units"):  # the sibling grid's ground is not the planner's
        store.create(project, "邻网格", "MC-S01-1-G1", gridder, changes=[add["MC-S01-1-G2"]])
    with pytest.raises(NotAllowed):
        store.create(project, "社区方案", "MC-S01-1", gridder)
    store.create(project, "社区的网格方案", "MC-S01-1-G2", community, changes=[add["MC-S01-1-G2"]])
    assert {s.name for s in store.scenarios(project, community)} == {"网格方案", "社区的网格方案"}
    assert {s.name for s in store.scenarios(project, gridder)} == {"网格方案"}
    store.engine.dispose()


def _toy(tmp_path: Path, rows: list[tuple[str, str, shapely.Geometry]], name: str = "b.geojson") -> Path:
    gdf = gpd.GeoDataFrame(
        {"level": [r[0] for r in rows], "code": [r[1] for r in rows], "name": [r[1] for r in rows]},
        geometry=[r[2] for r in rows],
        crs=METRIC,
    )
    gdf.to_file(tmp_path / name, driver="GeoJSON")
    return tmp_path / name


def test_a_grid_straddling_two_communities_belongs_to_the_one_holding_its_inside_point(tmp_path):
    path = _toy(
        tmp_path,
        [
            ("街道", "S1", shapely.box(0, 0, 400, 200)),
            ("社区", "A", shapely.box(0, 0, 200, 200)),
            ("社区", "B", shapely.box(200, 0, 400, 200)),
            ("网格", "G1", shapely.box(0, 0, 60, 200)),  # inside A
            ("网格", "G2", shapely.box(60, 0, 260, 200)),  # 70% in A, 30% in B
            ("网格", "G3", shapely.box(400, 0, 500, 200)),  # in no community, nor in the sub-district
        ],
    )
    levels = read_boundaries(path)
    assert list(levels) == ["subdistrict", "community", "grid"]
    parents = unit_parents(levels)
    assert parents["G1"] == "A" and parents["G2"] == "A" and "G3" not in parents
    said = {n.key: n for n in levels["subdistrict"].attrs["notes"]}
    assert set(said) == {"grids_straddle", "grids_outside_community"}
    assert "G2" in str(said["grids_straddle"]) and "G1" not in str(said["grids_straddle"])
    assert "G3" in str(said["grids_outside_community"])
    assert "网格" in note_text(said["grids_straddle"], "zh")
    # each grid counts the residents inside its own polygon: a point in B and G2 counts in G2 and in B
    dem = gpd.GeoDataFrame(
        {C.POP: [10.0, 7.0, 20.0, 5.0], C.COVERED: [True, False, False, True]},
        geometry=[shapely.Point(30, 100), shapely.Point(100, 100), shapely.Point(230, 100), shapely.Point(450, 100)],
        crs=METRIC,
    )
    fac = gpd.GeoDataFrame(geometry=[shapely.Point(50, 50)], crs=METRIC)
    tables, notes = coverage_by_level(dem, fac, levels)
    grid = tables["grid"].set_index("code")
    assert grid[C.POP].to_dict() == {"G1": 10.0, "G2": 27.0, "G3": 5.0}
    assert grid[C.STATUS].to_dict() == {"G1": "full", "G2": "none", "G3": "full"}
    community = tables["community"].set_index("code")
    assert community[C.POP].to_dict() == {"A": 17.0, "B": 20.0}
    assert community["grids_none"].to_dict() == {"A": 1, "B": 0}  # G2 counts in A, though 20 of its residents live in B
    assert community["grids_full"].to_dict() == {"A": 1, "B": 0}  # G3 is in no community
    assert any(n.key == "outside_level" for n in notes)  # the point at x=450 lies in no community


def test_grids_without_communities_are_read_and_said(tmp_path):
    path = _toy(
        tmp_path,
        [
            ("district", "D1", shapely.box(0, 0, 400, 200)),
            ("grid", "G1", shapely.box(0, 0, 200, 200)),
            ("grid", "G2", shapely.box(200, 0, 400, 200)),
        ],
    )
    levels = read_boundaries(path)
    assert list(levels) == ["district", "grid"]
    (said,) = levels["district"].attrs["notes"]
    assert said.key == "grids_no_community" and "no community boundaries" in str(said)
    assert note_text(said, "zh").startswith("b.geojson：有 2 个网格，但没有社区边界")
    assert unit_parents(levels) == {"G1": "D1", "G2": "D1"}  # the nearest level above that holds them
    dem = gpd.GeoDataFrame({C.POP: [4.0, 6.0], C.COVERED: [True, False]},
                           geometry=[shapely.Point(100, 100), shapely.Point(300, 100)], crs=METRIC)  # fmt: skip
    tables, _ = coverage_by_level(dem, gpd.GeoDataFrame(geometry=[], crs=METRIC), levels)
    assert tables["grid"].set_index("code")[C.PCT_COVERED].to_dict() == {"G1": 100.0, "G2": 0.0}
    assert "grids_full" not in tables["district"]  # counted per community only


def test_layers_named_in_chinese_and_two_layers_for_one_level(tmp_path):
    gpkg = tmp_path / "units.gpkg"
    comm = gpd.GeoDataFrame({"code": ["A"], "name": ["甲社区"]}, geometry=[shapely.box(0, 0, 200, 200)], crs=METRIC)
    grids = gpd.GeoDataFrame(
        {"code": ["A-1", "A-2"], "name": ["一网格", "二网格"]},
        geometry=[shapely.box(0, 0, 100, 200), shapely.box(100, 0, 200, 200)],
        crs=METRIC,
    )
    comm.to_file(gpkg, layer="社区")
    grids.to_file(gpkg, layer="网格")
    levels = read_boundaries(gpkg)
    assert list(levels) == ["community", "grid"] and unit_parents(levels) == {"A-1": "A", "A-2": "A"}
    # batch: the grids are the units, the communities sum them
    units, upper = read_units(gpkg)
    assert list(units["level"]) == ["grid", "grid"] and list(upper) == ["community"]
    records = {"A-1": {"status": "done", "summary": {"pop_total": 10, "pop_covered": 10}},
               "A-2": {"status": "done", "summary": {"pop_total": 30, "pop_covered": 15}}}  # fmt: skip
    _, per_level = summary_tables(units, records, upper)
    row = per_level[per_level["level"] == "community"].iloc[0]
    assert (row["code"], row["units_done"], row["pop_total"], row[C.PCT_COVERED]) == ("A", 2, 40, 62.5)
    grids.to_file(gpkg, layer="grid")
    with pytest.raises(InputError, match="layers '网格' and 'grid' both name the grid level"):
        read_boundaries(gpkg)


@pytest.mark.slow  # the real app on the sample with grids, drilled down in two runs of the page
def test_the_app_drills_down_to_the_grids_of_a_community(levels, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("QUARTERHOUR_DATABASE_URL", f"sqlite:///{tmp_path / 'workspace.sqlite'}")
    app = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=180)
    app.session_state["units"] = "sample_grid"  # the bundled sample with grids, chosen before the first run
    app.session_state["level"] = "grid"
    app.session_state["within_grid"] = "MC-S01-1"
    app.run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert app.radio(key="units").value == "sample_grid"
    level = app.radio(key="level")
    assert level.options == ["市 city", "区 district", "街道 sub-district", "社区 community", "网格 grid"]
    assert level.value == "grid" and app.selectbox(key="within_grid").value == "MC-S01-1"
    table = next(d.value for d in app.dataframe if "全覆盖网格" not in d.value and "覆盖状态" in d.value)
    grids = levels["grid"]
    want = sorted(n for c, n in zip(grids["code"], grids["name"], strict=True) if community_of(c) == "MC-S01-1")
    assert sorted(table["名称"]) == want and len(want) > 1
    app.radio(key="level").set_value("community").run()
    assert not app.exception
    communities = next(d.value for d in app.dataframe if "全覆盖网格" in d.value)
    counts = communities[["全覆盖网格", "部分覆盖网格", "未覆盖网格"]].to_numpy()
    assert len(communities) == 32 and 0 < counts.sum() <= 98  # a grid with no residents is "empty", not counted
