"""Issue 26, the figures' side: the datum judged on the points on the network, facility counts of what was used,
provenance by the planner's file names, whole persons.

The prefecture-wide list is the bundled Monaco network and centres moved, shape kept, into Luoyang's old town
(``test_residents.luoyang``), listed in GCJ-02 by the real forward transform, with county-town points 25-60 km
away (as a prefecture's AMap list against one city's streets).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import test_residents
from pyproj import Geod
from test_residents import LUOYANG, _loaded, _metres

from geo import prepare_network, read_facilities, read_network
from geo.chinacrs import settle_coordinate_system, wgs84_to_gcj02
from quarterhour.render.readnotes import coordinate_note

luoyang = test_residents.luoyang  # the fixture: the sample moved to Luoyang, with its WGS-84 truth
N_FAR = 60  # county towns: three in four points of the list lie beyond the city's streets


@pytest.fixture(scope="module")
def prefecture(luoyang, tmp_path_factory):
    """A prefecture's list in GCJ-02: the city's 20 centres (on its streets) and 60 county-town rooms 25-60 km off."""
    folder, truth = luoyang
    rng = np.random.default_rng(26)
    bearing, metres = rng.uniform(0, 360, N_FAR), rng.uniform(25e3, 60e3, N_FAR)
    far_lon, far_lat, _ = Geod(ellps="WGS84").fwd(
        np.full(N_FAR, LUOYANG[0]), np.full(N_FAR, LUOYANG[1]), bearing, metres
    )
    lon = np.concatenate([truth.geometry.x.to_numpy(), far_lon])
    lat = np.concatenate([truth.geometry.y.to_numpy(), far_lat])
    glon, glat = wgs84_to_gcj02(lon, lat)
    names = [*truth["name"], *(f"县城书房{i:02d}" for i in range(N_FAR))]
    rng.shuffle(order := np.arange(len(names)))  # the county towns mixed in, as a published list has them
    table = pd.DataFrame({"名称": np.array(names)[order], "经度": glon[order], "纬度": glat[order]})
    path = tmp_path_factory.mktemp("prefecture") / "城市书房.xlsx"
    table.to_excel(path, index=False)
    return folder, truth, path, [n for n in table["名称"] if n.startswith("县城书房")]


def test_a_prefecture_list_is_judged_on_its_points_on_the_network(prefecture):
    folder, truth, path, far_names = prefecture
    network = prepare_network(read_network(folder / "streets.graphml"))
    read = read_facilities(path, crs="wgs84")
    moved, choice = settle_coordinate_system(read, network, "auto", declared=False, file=path.name, role="facilities")
    assert choice.system == "gcj02" and choice.how == "judged", choice
    assert (choice.decided, choice.beyond) == (len(truth), N_FAR)
    assert list(choice.beyond_names) == far_names[: len(choice.beyond_names)] and len(choice.beyond_names) == 10
    # The points on the network land within 2 m of the truth, by name (an independent check: the WGS-84 truth).
    on = moved[~moved["name"].str.startswith("县城书房")].set_index("name").loc[truth["name"]]
    assert _metres(on.reset_index(), truth).max() < 2.0
    en, zh = coordinate_note(path.name, choice, "en"), coordinate_note(path.name, choice, "zh")
    assert f"judged on the {len(truth)} points within 3 km of the streets" in en
    assert f"{N_FAR} points lie beyond the network's area" in en and far_names[0] in en and "…" in en
    assert f"判定依据为距街道 3 千米以内的 {len(truth)} 个点位" in zh and f"另有 {N_FAR} 个点位在路网范围之外" in zh


def test_the_cli_says_how_many_points_decided_and_how_many_lie_beyond(prefecture, capsys):
    folder, truth, path, _ = prefecture
    facilities, _, args = _loaded(folder, "--facilities", str(path))
    err = capsys.readouterr().err
    assert args.facilities_crs == "gcj02"
    line = next(x for x in err.splitlines() if x.startswith(f"note: {path.name}: coordinates judged GCJ-02"))
    assert f"judged on the {len(truth)} points within 3 km" in line and f"{N_FAR} points lie beyond" in line
    on = facilities[~facilities["name"].str.startswith("县城书房")].set_index("name").loc[truth["name"]]
    assert _metres(on.reset_index(), truth).max() < 2.0


# --- item 3: facility counts of what the analysis used, the left-out ones apart --------------------------------

OFF_SNAP_M = 60.0  # the run's snapping distance: the sample's 20 centres all lie nearer their streets


@pytest.fixture(scope="module")
def with_left_out():
    """The sample's run with four centres more, placed (seeded) over 80 m from any street inside districts."""
    import geopandas as gpd
    import shapely

    from analysis.pipeline import run_circle
    from geo import load_sample, read_boundaries, sample_paths

    network, facilities, demand = load_sample()
    units = {k: v.to_crs(network.crs) for k, v in read_boundaries(sample_paths()["boundaries"]).items()}
    tree, rng, extra = shapely.STRtree(network.edges.geometry.to_numpy()), np.random.default_rng(3), []
    for code, n in (("MC-D2", 2), ("MC-D3", 1), ("MC-D4", 1)):
        poly = units["district"].set_index("code").geometry[code]
        x0, y0, x1, y1 = poly.bounds
        p = shapely.points(rng.uniform(x0, x1, 4000), rng.uniform(y0, y1, 4000))
        p = p[shapely.contains(poly, p)]
        extra += list(p[tree.query_nearest(p, return_distance=True, all_matches=False)[1] > 80][:n])
    off = gpd.GeoDataFrame(
        {"name": [f"off {i}" for i in range(len(extra))], "category": facilities["category"].iloc[0]},
        geometry=extra,
        crs=network.crs,
        index=pd.Index([f"X{i}" for i in range(len(extra))], name=facilities.index.name),
    )
    both = pd.concat([facilities, off])
    result = run_circle(network, both, demand, boundaries=units, max_snap_m=OFF_SNAP_M, isochrones=("facility",))
    return network, both, units, result


def test_levels_count_the_facilities_used_and_the_left_out_apart(with_left_out):
    import shapely

    from analysis import columns as C

    network, both, units, result = with_left_out
    s = result.summary
    assert (s.n_facilities, s.n_facilities_used) == (24, 20)
    # The independent count: nearest street by an STRtree over the edges, unit by polygon containment.
    _, dist = shapely.STRtree(network.edges.geometry.to_numpy()).query_nearest(
        both.geometry.to_numpy(), return_distance=True, all_matches=False
    )
    used = dist <= OFF_SNAP_M
    for level, table in result.levels.items():
        polys = units[level].set_index("code").geometry
        for _, row in table.iterrows():
            inside = shapely.contains(polys[row["code"]], both.geometry.to_numpy())
            assert (row[C.N_FACILITIES], row[C.N_FACILITIES_OFF]) == ((inside & used).sum(), (inside & ~used).sum())
    city = result.levels["city"].iloc[0]
    assert (city[C.N_FACILITIES], city[C.N_FACILITIES_OFF]) == (s.n_facilities_used, 4)  # as the headline says
    district = result.levels["district"].set_index("code")
    assert district.loc["MC-D2", C.N_FACILITIES_OFF] == 2


def test_the_packs_tables_show_the_left_out_in_their_own_column(with_left_out):
    from analysis import columns as C
    from analysis.units import split_by_unit
    from quarterhour.pack.tables import coverage_table, headline_rows
    from quarterhour.pack.units import _summary_row

    _, _, _, result = with_left_out
    (city,) = split_by_unit(result, "city").values()
    table = coverage_table(city, "en").set_index("code")  # the district table of the city's pack
    district = result.levels["district"].set_index("code")
    assert table["facilities"].to_dict() == district[C.N_FACILITIES].to_dict()
    assert table["facilities left out (off the network)"].to_dict() == district[C.N_FACILITIES_OFF].to_dict()
    assert table["facilities"].sum() == result.summary.n_facilities_used == 20
    for code, unit in split_by_unit(result, "district").items():
        row = _summary_row(unit, None)
        assert (row[C.N_FACILITIES], row[C.N_FACILITIES_OFF]) == tuple(
            district.loc[code, [C.N_FACILITIES, C.N_FACILITIES_OFF]]
        )
    s = result.summary
    rows = dict(headline_rows(s, n_facilities=s.n_facilities_used, n_gaps=0, run=s, group_pcts={}, lang="en",
                              n_facilities_off=s.n_facilities - s.n_facilities_used))  # fmt: skip
    assert rows["facilities"] == "20" and rows["facilities left out (off the network)"] == "4"


# --- item 6: provenance by the planner's file names, parameters as readable rows --------------------------------


def test_provenance_names_the_planners_files_and_the_networks_source_never_a_server_path(tmp_path):
    import hashlib
    import json

    from geo import sample_paths
    from geo.store import store_network
    from quarterhour.cli.args import build_parser
    from quarterhour.cli.main import _defaults, _provenance
    from quarterhour.pack.tables import provenance_rows
    from quarterhour.provenance import provenance
    from quarterhour.ui.uploads import store_upload

    data = sample_paths()["facilities"].read_bytes()
    (tmp_path / "uploads").mkdir()
    stored = store_upload("城市书房.geojson", data, folder=tmp_path / "uploads")  # kept under its hash on the server
    entry = store_network(sample_paths()["network"], cache_dir=tmp_path / "cache").path
    inputs = {"facilities": stored, "network": f"store:{entry}"}
    prov = provenance({"minutes": 15}, inputs, names={"facilities": "城市书房.geojson"})
    fac, net = prov["inputs"]["facilities"], prov["inputs"]["network"]
    assert fac["file"] == "城市书房.geojson" and fac["sha256"] == hashlib.sha256(data).hexdigest()
    network_bytes = sample_paths()["network"].read_bytes()
    assert net["file"] == "network.graphml" and net["sha256"] == hashlib.sha256(network_bytes).hexdigest()
    text = json.dumps(prov, ensure_ascii=False)
    assert str(tmp_path) not in text and stored.name not in text and entry.name not in text
    # Without the planner's name an upload is still never named by its hash.
    assert provenance({}, {"facilities": stored})["inputs"]["facilities"]["file"] == "upload.geojson"

    # The CLI's record, as the pack shows it: readable rows in the planner's language, no dict, no server path.
    args = build_parser().parse_args(["run", "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache")])
    _defaults(args)
    rows = provenance_rows(_provenance(args), "zh")
    shown = "\n".join(f"{k} | {v}" for k, v in rows)
    assert "参数：时间阈值（分钟） | 15" in shown and "参数：出行方式 | 步行" in shown, shown
    assert "输入文件：服务设施 | facilities.geojson（SHA-256 " in shown
    assert "{" not in shown and "[" not in shown and "'" not in shown, shown
    assert str(tmp_path) not in shown and "/work" not in shown and "cache_dir" not in shown
    en = dict(provenance_rows(_provenance(args), "en"))
    assert en["parameter: threshold (minutes)"] == "15" and en["parameter: travel mode"] == "walk"


def test_the_apps_downloads_name_the_planners_upload_not_its_stored_copy(tmp_path):
    """The app's provenance (every download's) names an upload as the planner named it, with its SHA-256."""
    import hashlib
    import json

    from geo import sample_paths
    from quarterhour.ui.files import app_provenance
    from quarterhour.ui.uploads import store_upload
    from quarterhour.ui.values import SAMPLE, Inputs, Params

    data = sample_paths()["facilities"].read_bytes()
    stored = store_upload("党群服务中心.geojson", data, folder=tmp_path)
    params = Params(15.0, 4.5, ("service_centre",), (), (5.0,))
    named = app_provenance(
        Inputs(facilities=str(stored), names=(("facilities", "党群服务中心.geojson"),)), SAMPLE, params
    )
    record = named["inputs"]["facilities"]
    assert record["file"] == "党群服务中心.geojson" and record["sha256"] == hashlib.sha256(data).hexdigest()
    assert stored.name not in json.dumps(named, ensure_ascii=False) and str(tmp_path) not in json.dumps(named)


# --- item 7: residents in whole persons ------------------------------------------------------------------------

CELL_POP = [870.2, 1234.56, 10.5, 99.9, 3.0]  # a population grid's cells, as WorldPop gives them


@pytest.fixture(scope="module")
def fractional_cells(sample):
    """Five 500 m cells over Monaco's streets with fractional residents, spread to points as the app and CLI do."""
    import geopandas as gpd
    import shapely

    from analysis.demand import prepare_demand

    network = sample[0]
    x0, y0, _, _ = network.nodes.total_bounds
    cells = [shapely.box(x0 + 500 * i, y0 + 500 * i, x0 + 500 * (i + 1), y0 + 500 * (i + 1)) for i in range(5)]
    layer = gpd.GeoDataFrame({"pop": CELL_POP}, geometry=cells, crs=network.crs)
    demand, _ = prepare_demand(layer, network=network)
    return layer, demand


def test_spread_cells_keep_whole_persons(fractional_cells):
    import math

    layer, demand = fractional_cells
    pop = demand["pop"].to_numpy()
    assert (pop == np.round(pop)).all() and (pop >= 0).all()  # every point whole persons: no "870.2"
    assert pop.sum() == math.floor(math.fsum(CELL_POP) + 0.5)  # the total, to the person
    # Each cell keeps its residents within one person: summed back by the cell each point lies in (independent
    # of the spreading's own bookkeeping: a spatial join of the points to the cells).
    import geopandas as gpd

    joined = gpd.sjoin(demand[["pop", "geometry"]], layer[["geometry"]], predicate="intersects", how="left")
    joined = joined[~joined.index.duplicated()]
    per_cell = joined.groupby("index_right")["pop"].sum().reindex(range(len(CELL_POP)), fill_value=0)
    assert (np.abs(per_cell.to_numpy() - np.array(CELL_POP)) < 1).all(), per_cell.tolist()


def test_scaled_residents_are_whole_persons(sample):
    from analysis.demand import scale_to_total

    _, _, demand = sample
    scaled = scale_to_total(demand, 12_345.0)
    assert scaled["pop"].sum() == 12_345 and (scaled["pop"] == np.round(scaled["pop"])).all()


def test_every_person_count_shown_is_whole(sample):
    """Points with fractional residents (as a planner's table may give them): every table shown says whole persons."""
    from analysis import columns as C
    from analysis.pipeline import run_circle
    from analysis.units import split_by_unit
    from geo import read_boundaries, sample_paths
    from quarterhour.pack.tables import coverage_table, facility_table, gap_table, headline_rows

    network, facilities, demand = sample
    odd = demand.assign(pop=demand["pop"] + 0.37)  # 870.37 residents at a point
    units = {k: v.to_crs(network.crs) for k, v in read_boundaries(sample_paths()["boundaries"]).items()}
    result = run_circle(network, facilities, odd, boundaries=units, isochrones=("facility",))
    assert not (result.levels["district"][C.POP] == np.round(result.levels["district"][C.POP])).all()  # fractions
    (city,) = split_by_unit(result, "city").values()
    district = result.levels["district"].set_index("code")
    for table in (coverage_table(city, "en"), facility_table(city, "en"), gap_table(city.gaps, "en")):
        words = ("residents", "residents covered", "residents left out", "left out in the whole zone")
        persons = [c for c in (*words, "catchment residents") if c in table]
        assert persons and all(str(table[c].dtype) == "Int64" for c in persons), table.dtypes
    shown = coverage_table(city, "en").set_index("code")["residents"]
    assert (shown - district[C.POP].reindex(shown.index)).abs().max() <= 0.5  # rounded, not cut
    s = result.summary
    rows = dict(headline_rows(s, n_facilities=s.n_facilities_used, n_gaps=0, run=s, group_pcts={}, lang="en"))
    for key in ("residents", "residents covered"):
        assert "." not in rows[key] and int(rows[key].replace(",", "")) == round(
            getattr(s, {"residents": "pop_total", "residents covered": "pop_covered"}[key])
        )
