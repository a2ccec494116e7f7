"""Every residents source, counted fairly (issue 17, part A).

Population rasters (GeoTIFF written here with rasterio, in UTM and in degrees), coarse cells and
community polygons spread along the streets inside them (to the person), and community tables
without coordinates matched to the review units. All on the bundled Monaco sample.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from rasterio.transform import Affine, from_origin

from analysis import columns as C
from analysis.coverage import nearest_facility
from analysis.demand import prepare_demand
from analysis.spread import apportion
from geo import InputError, load_sample, read_boundaries, read_demand, snap_points
from geo.raster import MAX_WINDOW_CELLS, open_raster, read_window
from geo.unittable import match_units
from quarterhour.cli.main import main
from quarterhour.i18n import note_text

SAMPLE = Path("data/sample")
NODATA = -9999.0


@pytest.fixture(scope="module")
def sample():
    return load_sample()


def _grid(points: gpd.GeoDataFrame, size: float) -> tuple[np.ndarray, Affine]:
    """Residents summed into ``size`` cells (whole persons), north-up: (rows x cols array, transform)."""
    x, y = points.geometry.x.to_numpy(), points.geometry.y.to_numpy()
    x0, y1 = math.floor(x.min() / size) * size, math.ceil(y.max() / size) * size
    col, row = ((x - x0) // size).astype(int), ((y1 - y) // size).astype(int)
    grid = np.zeros((row.max() + 1, col.max() + 1))
    np.add.at(grid, (row, col), np.round(points[C.POP].to_numpy()))
    return grid, from_origin(x0, y1, size, size)


def _tif(path: Path, grid: np.ndarray, transform: Affine, crs: object, **profile) -> Path:
    with rasterio.open(path, "w", driver="GTiff", width=grid.shape[1], height=grid.shape[0], count=1,
                       dtype="float32", crs=crs, transform=transform, nodata=NODATA, **profile) as dst:  # fmt: skip
        dst.write(grid.astype("float32"), 1)
    return path


def _with_bad_cells(grid: np.ndarray) -> np.ndarray:
    """The grid with one nodata and one negative cell, where no one lives (the sea)."""
    grid = grid.copy()
    empty = np.argwhere(grid == 0)
    grid[tuple(empty[0])], grid[tuple(empty[1])] = NODATA, -5
    return grid


@pytest.fixture(scope="module")
def rasters(sample, tmp_path_factory):
    """The sample's residents as 250 m cells in UTM 32N and 0.003° cells in EPSG:4326, each with two bad cells."""
    _, _, demand = sample
    folder = tmp_path_factory.mktemp("rasters")
    utm, utm_t = _grid(demand, 250.0)
    ll, ll_t = _grid(demand.to_crs(4326), 0.003)
    return {
        "utm": (_tif(folder / "worldpop_utm.tif", _with_bad_cells(utm), utm_t, demand.crs), utm),
        "4326": (_tif(folder / "landscan_4326.tif", _with_bad_cells(ll), ll_t, "EPSG:4326"), ll),
    }


@pytest.mark.parametrize("kind", ["utm", "4326"])
def test_a_geotiff_is_read_whole_cells_bad_ones_counted(sample, rasters, kind):
    network, _, _ = sample
    path, grid = rasters[kind]
    cells = read_window(open_raster(path), tuple(network.nodes.total_bounds), network.crs.to_wkt())
    assert cells["pop"].sum() == grid.sum() and len(cells) == (grid > 0).sum()
    window, dropped = cells.attrs["notes"]
    assert str(window).startswith(f"{path.name}: read a window of {grid.shape[1]} x {grid.shape[0]} of its")
    assert str(dropped) == f"{path.name}: dropped 1 nodata cells and 1 negative cells (5)"
    assert note_text(dropped, "zh") == f"{path.name}：舍弃 1 个无数据栅格和 1 个负值栅格（5）"
    # Spread along the streets, every resident is kept, to the person.
    out, how = prepare_demand(cells.to_crs(network.crs), network=network)
    assert out[C.POP].sum() == grid.sum() and (out[C.POP] == np.round(out[C.POP])).all()
    assert str(how).startswith(f"{len(cells)} areas or cells with {grid.sum():,.0f} residents, spread to the person")


def test_quarterhour_run_on_a_geotiff(rasters, tmp_path, capsys):
    path, grid = rasters["utm"]
    assert main(["run", "--demand", str(path), "--out", str(tmp_path / "out"), "--isochrones", "merged"]) == 0
    got = capsys.readouterr()
    assert f"note: {path.name}: read a window of" in got.err and "dropped 1 nodata cells" in got.err
    assert "note: residents from" in got.err and "spread to the person" in got.err
    assert f"of {grid.sum():,.0f} residents" in got.out
    demand = gpd.read_file(tmp_path / "out" / "coverage.gpkg", layer="demand")
    assert demand["pop"].sum() == grid.sum() and "areas+streets" in set(demand["source"])


def test_a_national_raster_is_read_by_its_window_only(sample, tmp_path):
    """A 36,000 x 36,000 WorldPop-like raster (5 GB as float32) covering Western Europe: only the window is read."""
    _, _, demand = sample
    size = 1 / 1200  # WorldPop's 3 arc-seconds, about 90 m
    path = tmp_path / "europe_ppp.tif"
    width = height = 36_000
    transform = from_origin(-10.0, 60.0, size, size)
    with rasterio.open(path, "w", driver="GTiff", width=width, height=height, count=1, dtype="float32",
                       crs="EPSG:4326", transform=transform, nodata=NODATA, tiled=True, blockxsize=512,
                       blockysize=512, compress="deflate", sparse_ok=True) as dst:  # fmt: skip
        grid, t = _grid(demand.to_crs(4326), size)
        col0, row0 = ~transform @ (t.c, t.f)
        window = rasterio.windows.Window(round(col0), round(row0), grid.shape[1], grid.shape[0])
        dst.write(grid.astype("float32"), 1, window=window)
    assert path.stat().st_size < 50e6 and width * height * 4 > 5e9
    script = (
        "import resource, sys; from geo import load_sample; from geo.raster import open_raster, read_window; "
        "net, _, _ = load_sample(); base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; "
        f"cells = read_window(open_raster({str(path)!r}), tuple(net.nodes.total_bounds), net.crs.to_wkt()); "
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; "
        "print(cells['pop'].sum(), peak - base, peak, str(cells.attrs['notes'][0]))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=Path.cwd())
    total, grew_kb, peak_kb, window = done.stdout.split(" ", 3)
    assert float(total) == grid.sum()
    assert int(grew_kb) < 200_000, f"reading the window grew memory by {int(grew_kb) / 1e3:.0f} MB"
    cols, rows = (int(v.replace(",", "")) for v in window.split("window of ")[1].split(" of its")[0].split(" x "))
    assert cols * rows < 10_000 and "of its 36,000 x 36,000 cells" in window
    assert int(peak_kb) < 1_500_000  # the whole reading process, in KB: not the 5 GB a whole read takes


def test_rasters_refused_with_the_fix(sample, tmp_path):
    network, _, _ = sample
    grid = np.ones((3, 3))
    with pytest.raises(InputError, match=r"no coordinate system.*gdal_edit.py -a_srs EPSG:4326"):
        open_raster(_tif(tmp_path / "nocrs.tif", grid, from_origin(0, 10, 1, 1), None))
    rotated = Affine(1, 0.2, 372000, 0.1, -1, 4845000)
    with pytest.raises(InputError, match=r"rotated or flipped.*gdalwarp"):
        open_raster(_tif(tmp_path / "rotated.tif", grid, rotated, "EPSG:32632"))
    far = open_raster(_tif(tmp_path / "far.tif", grid, from_origin(100.0, 30.0, 0.01, 0.01), "EPSG:4326"))
    with pytest.raises(InputError, match=r"far.tif: the residents raster \(3 x 3 cells\) does not cover the street"):
        read_window(far, tuple(network.nodes.total_bounds), network.crs.to_wkt())
    b = network.nodes.total_bounds  # 0.5 m cells over the whole network: more cells than are read
    side = int((b[2] - b[0] + 10) / 0.5) * int((b[3] - b[1] + 10) / 0.5)
    assert side > MAX_WINDOW_CELLS
    fine = tmp_path / "fine.tif"
    with rasterio.open(fine, "w", driver="GTiff", width=8000, height=8000, count=1, dtype="float32",
                       crs="EPSG:32632", transform=from_origin(b[0] - 5, b[3] + 5, 0.5, 0.5), sparse_ok=True,
                       tiled=True) as dst:  # fmt: skip
        dst.write(np.ones((1, 1), dtype="float32"), 1, window=rasterio.windows.Window(0, 0, 1, 1))
    with pytest.raises(InputError, match=r"holds [\d,]+ cells .* more than the 16,000,000.*coarser raster"):
        read_window(open_raster(fine), tuple(b), network.crs.to_wkt())


def test_apportion_keeps_every_unit_to_the_person_in_whole_persons():
    rng = np.random.default_rng(17)
    group = np.sort(rng.integers(0, 300, 5000))
    group = np.concatenate([group, np.arange(300)])  # every unit has a piece
    weight = rng.random(len(group)) * (rng.random(len(group)) > 0.2)
    pop = np.round(rng.random(300) * 5000)
    pop[::7] += rng.random(len(pop[::7]))  # WorldPop's fractional residents on some units
    out = apportion(group, weight, pop)
    units = np.bincount(group, weights=out, minlength=300)
    assert (np.abs(units - pop) < 1).all() and (units[pop == np.round(pop)] == pop[pop == np.round(pop)]).all()
    assert math.fsum(out) == np.floor(math.fsum(pop) + 0.5)  # the total, to the person
    assert (out == np.round(out)).all() and (out >= 0).all()  # every piece whole persons (issue 26)


def _coverage(sample, demand: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    network, facilities, _ = sample
    f, d = snap_points(facilities, network), snap_points(demand, network)
    return nearest_facility(network, facilities, demand, f, d, minutes=15)


def test_a_coarse_cell_is_covered_where_its_centroid_would_not_be(sample):
    """A 1 km cell centred in Port Hercule's water: as its centre, no one is near a street; spread, most are."""
    network, _, _ = sample
    centre = shapely.points(373_960.0, 4_844_260.0)
    assert network.edges.distance(centre).min() > 300  # the centre is off the network
    cell = gpd.GeoDataFrame({C.POP: [1000.0]}, geometry=[shapely.buffer(centre, 500, cap_style="square")],
                            crs=network.crs)  # fmt: skip
    as_centre = gpd.GeoDataFrame({C.POP: [1000.0]}, geometry=[centre], crs=network.crs)
    assert not _coverage(sample, as_centre)["covered"].any()
    spread, how = prepare_demand(cell, network=network)
    assert spread[C.POP].sum() == 1000 and (spread[C.POP] == np.round(spread[C.POP])).all()
    covered = _coverage(sample, spread)
    share = covered.loc[covered["covered"], C.POP].sum() / 1000
    off = spread.loc[spread["off_network"], C.POP].sum()
    assert share > 0.5 and 0 < off < 500, (share, off)
    assert not snap_points(spread[spread["off_network"]], network)["on_network"].any()  # the off part counts off
    assert f"{off:,.0f} off the network (no street within 300 m)" in str(how)


def test_community_polygons_spread_each_community_exactly(sample):
    network, _, demand = sample
    communities = read_boundaries(SAMPLE / "boundaries.geojson")["community"].to_crs(network.crs)
    joined = gpd.sjoin(demand, communities[["code", "geometry"]], predicate="within")
    pop = np.round(joined.groupby("code")[C.POP].sum())
    areas = communities.set_index("code").loc[pop.index].reset_index().assign(pop=pop.to_numpy())
    out, how = prepare_demand(areas, network=network)
    assert out[C.POP].sum() == pop.sum()
    back = out.groupby("from_area")[C.POP].sum()
    assert (back.reindex(range(len(pop)), fill_value=0).to_numpy() == pop.to_numpy()).all()
    assert out.within(areas.geometry.iloc[out["from_area"]].buffer(1e-6), align=False).all()
    assert f"{len(pop)} areas or cells" in str(how) and "km of streets inside them" in str(how)


def _community_table(tmp_path, sample, name: str, encoding: str | None = "utf-8") -> tuple[Path, float, int]:
    network, _, demand = sample
    communities = read_boundaries(SAMPLE / "boundaries.geojson")["community"].to_crs(network.crs)
    joined = gpd.sjoin(demand, communities[["name", "geometry"]], predicate="within")
    pop = np.round(joined.groupby("name")[C.POP].sum())
    table = pd.DataFrame({"街道": "x", "社区": [f" {n}居委会" for n in pop.index], "常住人口": pop.to_numpy()})
    table = pd.concat([table, pd.DataFrame({"街道": "x", "社区": ["不存在社区", "别处社区"], "常住人口": [120, 30]})])
    path = tmp_path / name
    if path.suffix == ".xlsx":
        table.to_excel(path, index=False)
    else:
        table.to_csv(path, index=False, encoding=encoding)
    return path, float(pop.sum()), len(pop)  # the communities with residents


@pytest.mark.parametrize(("name", "encoding"), [("社区人口.csv", "gbk"), ("社区人口.xlsx", None)])
def test_a_community_table_is_matched_to_the_units_and_the_unmatched_listed(sample, tmp_path, name, encoding):
    path, total, n = _community_table(tmp_path, sample, name, encoding)
    table = read_demand(path)
    assert not isinstance(table, gpd.GeoDataFrame) and len(table) == n + 2
    areas, notes = match_units(table, read_boundaries(SAMPLE / "boundaries.geojson"))
    assert len(areas) == n and areas["pop"].sum() == total
    matched = f"{name}: {n} of {n + 2} rows matched to the community units by name: {total:,.0f} residents"
    assert str(notes[0]) == matched
    assert str(notes[1]) == f"{name}: 2 rows match no community unit and are left out (150 residents): " + (
        f"不存在社区 (row {n + 2}), 别处社区 (row {n + 3})"
    )
    zh = f"{name}：2 行未匹配到任何社区单元，未计入（150 人）：不存在社区 (row {n + 2})、别处社区 (row {n + 3})"
    assert note_text(notes[1], "zh") == zh


def test_a_community_table_with_no_match_is_refused(tmp_path):
    path = tmp_path / "社区人口.csv"
    path.write_text("社区,常住人口\n九都路社区,3000\n", encoding="gbk")
    with pytest.raises(InputError, match=r"社区人口.csv.*no row of the residents table matches a review unit by name"):
        match_units(read_demand(path), read_boundaries(SAMPLE / "boundaries.geojson"))
    luoyang = read_boundaries("luoyang")
    codes = tmp_path / "districts.csv"
    codes.write_text("区划代码,常住人口\n410302,252165\n410303.0,369165\n419999,1\n", encoding="utf-8")
    areas, notes = match_units(read_demand(codes), luoyang)
    assert areas["name"].tolist() == ["老城区", "西工区"] and areas["pop"].tolist() == [252165, 369165]
    assert note_text(notes[1], "zh") == "districts.csv：1 行未匹配到任何区单元，未计入（1 人）：419999 (row 4)"


def test_quarterhour_run_on_a_community_table(sample, tmp_path, capsys):
    path, total, n = _community_table(tmp_path, sample, "社区人口.xlsx", None)
    args = ["run", "--demand", str(path), "--out", str(tmp_path / "out"), "--isochrones", "merged"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "社区人口.xlsx: the residents table has no coordinates, only units' names or codes" in err
    assert main([*args, "--boundaries", str(SAMPLE / "boundaries.geojson")]) == 0
    got = capsys.readouterr()
    assert f"of {total:,.0f} residents" in got.out
    assert f"left out (150 residents): 不存在社区 (row {n + 2}), 别处社区 (row {n + 3})" in got.err


def test_a_projected_xy_table_reads_with_its_epsg(sample, tmp_path, capsys):
    """x/y in metres (here UTM 32N, as a CGCS2000 Gauss-Kruger table would be) with --demand-crs EPSG:code."""
    _, _, demand = sample
    table = pd.DataFrame({"x": demand.geometry.x, "y": demand.geometry.y, "户籍人口": demand[C.POP]})
    path = tmp_path / "人口_utm.csv"
    table.to_csv(path, index=False, encoding="gbk")
    assert main(["run", "--out", str(tmp_path / "geojson"), "--isochrones", "merged"]) == 0
    want = capsys.readouterr().out
    assert main(["run", "--demand", str(path), "--demand-crs", "epsg:32632", "--out", str(tmp_path / "csv"),
                 "--isochrones", "merged"]) == 0  # fmt: skip
    got = capsys.readouterr()
    assert got.out.split("; wrote")[0] == want.split("; wrote")[0]
    assert "人口_utm.csv: coordinates read as EPSG:32632, as chosen" in got.err
    assert main(["run", "--demand", str(path), "--demand-crs", "EPSG:99999999", "--out", str(tmp_path / "x")]) == 2
    assert "unknown coordinate system 'EPSG:99999999'" in capsys.readouterr().err


def test_a_table_of_grid_centres_is_read_as_cells(sample, tmp_path, capsys):
    """A heat grid exported as 经度/纬度/人口 at 0.005° cell centres: cells, spread; rounded resident points are not."""
    _, _, demand = sample
    grid, t = _grid(demand.to_crs(4326), 0.005)
    rows, cols = np.nonzero(grid)
    lon, lat = t @ (cols + 0.5, rows + 0.5)
    path = tmp_path / "热力网格.csv"
    pd.DataFrame({"经度": lon.round(6), "纬度": lat.round(6), "人口": grid[rows, cols]}).to_csv(path, index=False)
    cells = read_demand(path)
    assert cells.attrs["lattice"] == (0.005, 0.005)
    told = str(cells.attrs["notes"][-1])
    assert told.startswith(f"热力网格.csv: the {len(rows)} points lie on one regular 0.005 x 0.005 lattice")
    assert main(["run", "--demand", str(path), "--out", str(tmp_path / "out"), "--isochrones", "merged"]) == 0
    got = capsys.readouterr()
    assert f"note: residents from {len(rows)} areas or cells with {grid.sum():,.0f} residents, spread" in got.err
    assert gpd.read_file(tmp_path / "out" / "coverage.gpkg", layer="demand")["pop"].sum() == grid.sum()
    ll = demand.to_crs(4326)  # resident points written to 4 decimals sit on a 0.0001° lattice, sparsely: points
    rounded = tmp_path / "人口.csv"
    pd.DataFrame({"经度": ll.geometry.x.round(4), "纬度": ll.geometry.y.round(4), "人口": ll["pop"]}).to_csv(rounded)
    assert read_demand(rounded).attrs["lattice"] is None


def test_cells_spread_over_the_buildings_given(sample, rasters, tmp_path, capsys):
    """With footprints (a 层数 column, as 高德 exports them), cells go over them by floor area, each cell exactly."""
    network, _, demand = sample
    squares = demand.geometry.buffer(6, cap_style="square").to_numpy()
    footprints = gpd.GeoDataFrame({"层数": np.arange(len(demand)) % 6 + 1}, geometry=squares, crs=demand.crs)
    path, grid = rasters["utm"]
    cells = read_window(open_raster(path), tuple(network.nodes.total_bounds), network.crs.to_wkt())
    cells = cells.to_crs(network.crs)
    out, how = prepare_demand(cells, network=network, buildings=footprints.iloc[::2])  # half the buildings
    assert out[C.POP].sum() == grid.sum() and {"areas+buildings", "areas+streets"} <= set(out["source"])
    by_cell = out.groupby("from_area")[C.POP].sum().reindex(range(len(cells)), fill_value=0)
    assert (by_cell.to_numpy() == cells["pop"].to_numpy()).all()
    within = out[out["source"] == "areas+buildings"]
    one = within.iloc[0]
    inside = footprints.iloc[::2][footprints.iloc[::2].contains(one.geometry)]
    assert len(inside) == 1  # each building point sits in its footprint
    assert f"{within[C.POP].sum():,.0f} over building footprints" in str(how)
    footprints.to_file(tmp_path / "buildings.gpkg")
    assert main(["run", "--demand", str(path), "--buildings", str(tmp_path / "buildings.gpkg"),
                 "--out", str(tmp_path / "out"), "--isochrones", "merged"]) == 0  # fmt: skip
    assert "over building footprints" in capsys.readouterr().err


def test_a_cells_population_groups_are_spread_with_it(sample, tmp_path, capsys):
    """Community polygons with 常住人口 and 60岁以上: both spread to the person; the run reports the group's rate."""
    network, _, demand = sample
    communities = read_boundaries(SAMPLE / "boundaries.geojson")["community"].to_crs(network.crs)
    joined = gpd.sjoin(demand, communities[["code", "geometry"]], predicate="within")
    pop = np.round(joined.groupby("code")[C.POP].sum())
    areas = communities.set_index("code").loc[pop.index].reset_index()[["code", "geometry"]]
    areas = areas.assign(pop=pop.to_numpy(), **{"60岁以上": np.floor(pop.to_numpy() * 0.2)})
    out, _ = prepare_demand(areas, network=network)
    assert out[C.POP].sum() == pop.sum() and out["60岁以上"].sum() == areas["60岁以上"].sum()
    by_area = out.groupby("from_area")["60岁以上"].sum().reindex(range(len(areas)), fill_value=0)
    assert (by_area.to_numpy() == areas["60岁以上"].to_numpy()).all()
    path = tmp_path / "communities.gpkg"
    areas.to_file(path)
    assert main(["run", "--demand", str(path), "--out", str(tmp_path / "out"), "--isochrones", "merged"]) == 0
    assert "60岁以上" in capsys.readouterr().out
