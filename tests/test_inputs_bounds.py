"""Hostile and careless inputs (issue 15, parts 2 and 3): memory bounded, nothing silently wrong.

Each test is one finding of the probe: the input that did harm, made in ``tmp_path``, and what the
CLI (or the reader it calls) does with it now. Memory is the peak RSS of a fresh child process
(``/usr/bin/time -f %M``), so the figure is the input's, not the test session's.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from analysis.demand import MAX_AREA_TO_NETWORK
from geo import InputError, read_boundaries, read_demand, read_facilities
from geo._validate import MAX_FACILITY_ROWS, MAX_ZIP_RATIO
from quarterhour.cli.args import MAX_BANDS
from quarterhour.cli.main import main
from quarterhour.pack.documents import Block, html_document, pdf_document
from quarterhour.render.staticmap import MAP_TITLE_COLS, figure_png, overview_map

SAMPLE = Path("data/sample")
#: Monaco, where the sample's streets are.
LON, LAT = 7.4200, 43.7350


def measured(code: str, *args: str) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """Run ``python -c code args`` in a fresh child: (the process, its peak RSS in MB, seconds taken)."""
    start = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "%M", sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    seconds = time.perf_counter() - start
    peak_mb = int(proc.stderr.strip().splitlines()[-1]) / 1024
    print(f"peak RSS {peak_mb:,.0f} MB, {seconds:.1f} s")  # the figure, with pytest -s
    return proc, peak_mb, seconds


CLI = "import sys; from quarterhour.cli.main import main; sys.exit(main(sys.argv[1:]))"


def error_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    assert lines, proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[-1]


def geojson(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


def point(lon: object, lat: object, **props: object) -> dict:
    return {"type": "Feature", "properties": props, "geometry": {"type": "Point", "coordinates": [lon, lat]}}


def polygon(ring: list[tuple[float, float]], **props: object) -> dict:
    return {"type": "Feature", "properties": props, "geometry": {"type": "Polygon", "coordinates": [ring]}}


def run(tmp_path: Path, capsys, *args: str) -> tuple[int, str, str]:
    """``quarterhour run`` in this process: (status, stdout, stderr)."""
    status = main(["run", "--quiet", "--out", str(tmp_path / "out"), *args])
    got = capsys.readouterr()
    return status, got.out, got.err


# 2. Memory bounded by what the input really holds ---------------------------------------------------------------


def _bomb(path: Path, mb: int) -> Path:
    """A zipped 'Shapefile' whose .dbf is ``mb`` MB of zeros: a few hundred kB on disk."""
    shp = gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.Point(LON, LAT)], crs=4326)
    shp.to_file(path.with_suffix(".shp"))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for suffix in (".shp", ".shx", ".prj"):
            z.write(path.with_suffix(suffix), "f" + suffix)
        with z.open("f.dbf", "w", force_zip64=True) as member:
            block = bytes(2**20)
            for _ in range(mb):
                member.write(block)
    return path


def test_zip_bomb_is_refused_in_little_memory(tmp_path):
    bomb = _bomb(tmp_path / "bomb.zip", 1200)  # 1.2 GB of zeros in about 1 MB
    assert bomb.stat().st_size < 5 * 2**20
    proc, peak_mb, seconds = measured(CLI, "run", "--facilities", str(bomb), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2
    assert f"more than {MAX_ZIP_RATIO} times its size" in error_line(proc)
    assert peak_mb < 500 and seconds < 20, (peak_mb, seconds)
    assert not (tmp_path / "o").exists()


def _lying(path: Path, real_mb: int, declared: int) -> Path:
    """A zip whose member says (in the central directory, which readers trust) it unpacks to ``declared`` bytes."""
    _bomb(path, real_mb)
    data = bytearray(path.read_bytes())
    central = data.find(b"PK\x01\x02")
    while central != -1:
        name_len = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46 : central + 46 + name_len] == b"f.dbf":
            struct.pack_into("<I", data, central + 24, declared)  # the unpacked size
        central = data.find(b"PK\x01\x02", central + 4)
    path.write_bytes(bytes(data))
    return path


def test_zip_that_lies_about_its_sizes_is_counted_not_trusted(tmp_path):
    lying = _lying(tmp_path / "lying.zip", 400, declared=1000)
    with zipfile.ZipFile(lying) as z:
        assert z.getinfo("f.dbf").file_size == 1000  # what the zip says
    proc, peak_mb, _ = measured(CLI, "run", "--facilities", str(lying), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2
    assert "lying.zip: 'f.dbf'" in error_line(proc)
    assert peak_mb < 500


def test_zip_with_a_bad_checksum_is_bad_input(tmp_path, capsys):
    fac = gpd.read_file(SAMPLE / "facilities.geojson")
    fac[["name", "category", "geometry"]].to_file(tmp_path / "f.shp")
    with zipfile.ZipFile(tmp_path / "f.zip", "w", zipfile.ZIP_STORED) as z:
        for suffix in (".shp", ".shx", ".dbf", ".prj"):
            z.write(tmp_path / f"f{suffix}", f"f{suffix}")
        offset = z.getinfo("f.dbf").header_offset
    data = bytearray((tmp_path / "f.zip").read_bytes())
    data[offset + 30 + len("f.dbf") + 100] ^= 0xFF  # one byte of the stored .dbf changed: its CRC no longer holds
    (tmp_path / "f.zip").write_bytes(bytes(data))
    status, _, err = run(tmp_path, capsys, "--facilities", str(tmp_path / "f.zip"))
    assert status == 2
    assert "f.zip: 'f.dbf' in the zip cannot be unpacked (Bad CRC-32" in err
    assert "zip the Shapefile's files again" in err


def _same_names(path: Path, n: int) -> Path:
    rng = np.random.default_rng(15)
    table = pd.DataFrame(
        {
            "name": "党群服务中心",
            "lon": LON + rng.uniform(-0.01, 0.01, n),
            "lat": LAT + rng.uniform(-0.01, 0.01, n),
        }
    )
    table.to_csv(path, index=False)
    return path


def test_twenty_thousand_facilities_of_one_name_read_in_little_memory(tmp_path):
    """The duplicate check used an n x n distance matrix: past 4 GB in 25 s. Now a spatial index."""
    table = _same_names(tmp_path / "same.csv", 20_000)
    code = (
        "import sys; from geo.io import read_facilities; "
        "g = read_facilities(sys.argv[1]); print(len(g)); print(*g.attrs['notes'], sep='\\n')"
    )
    proc, peak_mb, seconds = measured(code, str(table))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "20000"
    dup = [ln for ln in lines if ln.startswith("possible duplicates")]
    assert len(dup) == 1 and dup[0].startswith("possible duplicates: '党群服务中心' on rows 2, 3, ")
    assert "(20,000 rows)" in dup[0] or "rows) lie within 50 m" in dup[0]
    assert peak_mb < 500 and seconds < 20, (peak_mb, seconds)


def test_duplicates_name_only_the_rows_close_together(tmp_path):
    table = pd.DataFrame(
        {
            "name": ["A", "A", "A", "B", "B"],
            "lon": [LON, LON + 0.0001, LON + 0.01, LON, LON + 0.02],  # 0.0001° is 8 m, 0.01° is 800 m
            "lat": [LAT] * 5,
        }
    )
    table.to_csv(tmp_path / "f.csv", index=False)
    notes = [str(n) for n in read_facilities(tmp_path / "f.csv").attrs["notes"]]
    assert "possible duplicates: 'A' on rows 2, 3 lie within 50 m" in notes
    assert not any("'B'" in n for n in notes)


def test_a_million_facilities_are_refused_with_the_limit(tmp_path):
    n = 1_000_000
    table = tmp_path / "million.csv"
    rng = np.random.default_rng(1)
    pd.DataFrame(
        {"name": np.arange(n).astype(str), "lon": LON + rng.uniform(0, 0.01, n), "lat": LAT + rng.uniform(0, 0.01, n)}
    ).to_csv(table, index=False, float_format="%.6f")
    proc, peak_mb, seconds = measured(CLI, "run", "--facilities", str(table), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2
    assert f"million.csv: the facilities file has more than {MAX_FACILITY_ROWS:,} rows" in error_line(proc)
    assert peak_mb < 500 and seconds < 20, (peak_mb, seconds)


def test_too_many_bands_are_refused(tmp_path, capsys):
    bands = ",".join(str(i) for i in range(1, 201))
    with pytest.raises(SystemExit) as stop:
        main(["run", "--out", str(tmp_path), "--bands", bands])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert f"200 bands; at most {MAX_BANDS} are drawn" in err
    assert not (tmp_path / "coverage.gpkg").exists()


def test_long_names_are_cut_in_titles_not_in_tables(sample):
    network, _, _ = sample
    name = "长" * 10_000
    boundaries = read_boundaries(SAMPLE / "boundaries.geojson")["district"].to_crs(network.crs)
    table = boundaries.assign(pct_covered=50.0, code=["X" * 1000, *boundaries["code"][1:]])
    png = figure_png(overview_map(network, table, title=name, lang="zh"), lang="zh")
    width, height = struct.unpack(">II", png[16:24])
    assert width < 2500 and height < 2500, (width, height)
    blocks = [Block("h1", name), Block("table", table=pd.DataFrame({"name": [name]}))]
    page = html_document(blocks, title=name, lang="zh")
    assert f"<h1>{'长' * (MAP_TITLE_COLS // 2)}" in page and "<title>" + "长" * 59 + "…</title>" in page
    assert f"<td>{name}</td>" in page  # the table keeps it whole
    assert pdf_document(blocks, title=name, lang="zh").startswith(b"%PDF")


def test_residents_area_spanning_the_world_is_refused(tmp_path, capsys):
    world = [(-170, -80), (170, -80), (170, 80), (-170, 80), (-170, -80)]
    demand = geojson(tmp_path / "world.geojson", [polygon(world, pop=1000)])
    status, _, err = run(tmp_path, capsys, "--demand", str(demand))
    assert status == 2
    assert "times the street network's extent" in err and "row 1" in err
    assert str(MAX_AREA_TO_NETWORK) in err


# 3. Nothing silently wrong ---------------------------------------------------------------------------------------


def test_utf8_table_with_one_gbk_row_is_refused_naming_the_row(tmp_path, capsys):
    rows = [f"党群服务中心{i},{LON + i / 1000},{LAT}\n".encode() for i in range(20)]
    rows[6] = f"社区卫生服务站,{LON},{LAT + 0.001}\n".encode("gbk")  # pasted in from a GBK file
    (tmp_path / "f.csv").write_bytes(b"name,lon,lat\n" + b"".join(rows))
    status, _, err = run(tmp_path, capsys, "--facilities", str(tmp_path / "f.csv"))
    assert status == 2
    assert "f.csv, row 8: the facilities table is UTF-8 but this row is not (1 such rows" in err


def test_a_gbk_table_is_still_read_as_gbk(tmp_path):
    names = ["党群服务中心", "社区卫生服务站", "老年人日间照料中心", "综合文化活动室", "幼儿园", "菜市场"] * 10
    table = pd.DataFrame({"名称": names, "经度": LON + np.arange(60) / 1000, "纬度": LAT})
    table.to_csv(tmp_path / "f.csv", index=False, encoding="gbk")
    gdf = read_facilities(tmp_path / "f.csv")
    assert list(gdf["name"]) == names
    assert "(gb18030)" in str(gdf.attrs["notes"][0])


@pytest.mark.parametrize("value", ["Infinity", "-1", "NaN", "inf"])
def test_population_must_be_finite_and_not_negative(tmp_path, value):
    demand = geojson(tmp_path / "d.geojson", [point(LON, LAT, pop="10"), point(LON, LAT + 0.001, pop=value)])
    with pytest.raises(InputError, match=rf"d.geojson, row 2, column 'pop': .*0 or more; found '{value}'"):
        read_demand(demand)
    (tmp_path / "d.csv").write_text(f"lon,lat,pop\n{LON},{LAT},10\n{LON},{LAT},{value}\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"d.csv, row 3, column 'pop'"):
        read_demand(tmp_path / "d.csv")


BAD_COORDINATES = [(400, 100), (1e300, 1e300), (LON, float("inf"))]


@pytest.mark.parametrize(
    ("kind", "xy"),
    [  # a GeoPackage or Shapefile cannot hold infinity: GDAL refuses to write it
        (kind, xy)
        for kind in ("geojson", "gpkg", "zip")
        for xy in BAD_COORDINATES
        if kind == "geojson" or xy[1] < 1e301
    ],
)
def test_coordinates_off_the_earth_are_refused_by_every_reader(tmp_path, capsys, kind, xy):
    pts = gpd.GeoDataFrame(
        {"name": ["a", "b"], "pop": [1, 2]}, geometry=[shapely.Point(LON, LAT), shapely.Point(*xy)], crs=4326
    )
    path = tmp_path / f"f.{kind}"
    if kind == "zip":
        pts.to_file(tmp_path / "f.shp")
        with zipfile.ZipFile(path, "w") as z:
            for suffix in (".shp", ".shx", ".dbf", ".prj"):
                z.write(tmp_path / f"f{suffix}", f"f{suffix}")
    elif kind == "geojson":  # written by hand: JSON's Infinity as Python writes it
        path.write_text(json.dumps({"type": "FeatureCollection", "features": [point(LON, LAT), point(*xy)]}))
    else:
        pts.to_file(path)
    status, _, err = run(tmp_path, capsys, "--facilities", str(path))
    assert status == 2, err
    assert f"f.{'shp' if kind == 'zip' else kind}, row 2, column 'geometry': coordinates (" in err
    assert "are not longitude/latitude degrees" in err
    with pytest.raises(InputError, match="not longitude/latitude degrees"):
        read_demand(path)


def test_coordinates_off_the_earth_in_metres_are_refused(tmp_path):
    pts = gpd.GeoDataFrame({"pop": [1, 2]}, geometry=[shapely.Point(0, 0), shapely.Point(1e300, 0)], crs=32632)
    pts.to_file(tmp_path / "d.gpkg")
    with pytest.raises(InputError, match=r"d.gpkg, row 2, column 'geometry': coordinates \(1e\+300, 0\) are no place"):
        read_demand(tmp_path / "d.gpkg")


def _bowtie(x: float, y: float, d: float) -> list[tuple[float, float]]:
    return [(x, y), (x + d, y + d), (x + d, y), (x, y + d), (x, y)]


def test_self_intersecting_residents_polygon_is_repaired_and_said(tmp_path, capsys):
    demand = geojson(tmp_path / "d.geojson", [polygon(_bowtie(7.415, 43.730, 0.01), pop=5000)])
    status, out, err = run(tmp_path, capsys, "--demand", str(demand))
    assert status == 0, err
    assert "note: d.geojson: polygons repaired (make_valid) as they were invalid: 1, the first on row 1 " in err
    assert "Self-intersection" in err
    assert "of 5,000 residents" in out


def test_self_intersecting_boundary_is_repaired_and_said(tmp_path):
    districts = [polygon(_bowtie(7.41, 43.72, 0.02), level="district", code="D1", name="Bow")]
    levels = read_boundaries(geojson(tmp_path / "b.geojson", districts))
    district = levels["district"]
    assert district.is_valid.all() and district.to_crs(3857).area.iloc[0] > 0
    assert str(district.attrs["notes"][0]).startswith("b.geojson: polygons repaired (make_valid)")


def test_polygon_with_no_area_is_refused_naming_it(tmp_path):
    line = [(LON, LAT), (LON + 0.01, LAT), (LON, LAT)]  # a ring folded onto itself: no area at all
    demand = geojson(tmp_path / "d.geojson", [polygon(_bowtie(LON, LAT, 0.01), pop=1), polygon(line, pop=1)])
    with pytest.raises(InputError, match=r"d.geojson, row 2, column 'geometry': a demand polygon has no area"):
        read_demand(demand)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--minutes", "inf"], "argument --minutes: must be a finite number, got inf"),
        (["run", "--speed-kmh", "nan"], "argument --speed-kmh: must be more than 0, got nan"),
        (["run", "--bands", "5,inf"], "give minutes more than 0"),
        (["site", "--model", "mclp", "--k", "-3"], "argument --k: must be 0 or more, got -3"),
        (["report", "--k", "-3"], "argument --k: must be 0 or more, got -3"),
    ],
)
def test_impossible_numbers_are_refused(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as stop:
        main([*args, "--out", str(tmp_path / "o")])
    assert stop.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_closing_every_facility_is_refused(tmp_path, capsys):
    ids = ",".join(gpd.read_file(SAMPLE / "facilities.geojson")["facility_id"])
    status = main(["site", "--quiet", "--model", "mclp", "--close", ids, "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 2
    assert "error: --close closes all 20 facilities" in err
    assert not (tmp_path / "sites.gpkg").exists()


def _sample_demand(tmp_path: Path, name: str, *, swap: bool = False, crs: object = 4326) -> Path:
    dem = gpd.read_file(SAMPLE / "demand.geojson")
    x, y = dem.geometry.x, dem.geometry.y
    dem = dem.set_geometry(gpd.points_from_xy(y, x) if swap else gpd.points_from_xy(x, y), crs=crs)
    dem.to_file(tmp_path / name)
    return tmp_path / name


def test_every_resident_off_the_network_swapped_is_said_loudly(tmp_path, capsys):
    demand = _sample_demand(tmp_path, "swapped.geojson", swap=True)  # lat 7.4, lon 43.7: both under 90
    status, out, err = run(tmp_path, capsys, "--demand", str(demand))
    assert status == 0
    assert out.startswith("covered 0 of 38,367 residents (0.0%)")
    warning = [ln for ln in err.splitlines() if ln.startswith("warning: ")]
    assert len(warning) == 1, err
    assert "none of the 976 resident points" in warning[0] and "every resident counts as not covered" in warning[0]
    assert "Likely cause: longitude and latitude are swapped" in warning[0]


def test_every_resident_off_the_network_degrees_as_3857_is_said_loudly(tmp_path, capsys):
    demand = _sample_demand(tmp_path, "metres.gpkg", crs=3857)  # degrees, declared as Web Mercator metres
    status, _, err = run(tmp_path, capsys, "--demand", str(demand))
    assert status == 0
    warning = [ln for ln in err.splitlines() if ln.startswith("warning: ")]
    assert len(warning) == 1, err
    assert "the coordinates are degrees but the file declares a CRS in metres (such as EPSG:3857)" in warning[0]


def test_report_of_a_unit_with_a_very_long_name(tmp_path):
    """A 10,000-character name went past 4 GB in the report, and map.png grew 27,221 px wide."""
    boundaries = gpd.read_file(SAMPLE / "boundaries.geojson")
    name = "很长的名字" * 2_000
    boundaries.loc[boundaries["level"] == "district", "name"] = [
        name,
        *boundaries["name"][boundaries["level"] == "district"][1:],
    ]
    boundaries.to_file(tmp_path / "b.geojson")
    out = tmp_path / "pack"
    args = ("report", "--quiet", "--k", "0", "--lang", "zh", "--boundaries", str(tmp_path / "b.geojson"))
    proc, peak_mb, _ = measured(CLI, *args, "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    maps = list(out.rglob("map.png"))
    assert maps
    for png in maps:
        width, height = struct.unpack(">II", png.read_bytes()[16:24])
        assert width < 3000 and height < 3000, (png, width, height)
    html = next(p for p in out.rglob("*.html") if name[:20] in p.read_text(encoding="utf-8"))
    page = html.read_text(encoding="utf-8")
    assert name not in page.split("<table")[0]  # cut in the title and headings
    summary = pd.read_excel(out / "summary.xlsx", sheet_name=None)
    assert any((sheet == name).any().any() for sheet in summary.values())  # the table keeps it whole
    assert peak_mb < 1500, peak_mb


def _fixed_csv(columns: list[tuple[np.ndarray, int, int]]) -> bytes:
    """CSV rows of decimal columns of a fixed width, each (values, digits before the point, decimals), by arrays."""
    parts = []
    for k, (values, whole, decimals) in enumerate(columns):
        scaled = np.rint(values * 10**decimals).astype(np.int64)
        width = whole + decimals
        assert ((scaled >= 10 ** (width - 1)) & (scaled < 10**width)).all()  # exactly `whole` digits before the point
        digits = (scaled[:, None] // 10 ** np.arange(width - 1, -1, -1)) % 10 + ord("0")
        if decimals:
            digits = np.insert(digits, whole, ord("."), axis=1)
        parts += [digits.astype(np.uint8), np.full((len(values), 1), ord(",\n"[k == len(columns) - 1]), np.uint8)]
    return np.hstack(parts).tobytes()


@pytest.mark.slow
def test_a_city_of_resident_points_runs_within_4_gib(tmp_path):
    """1.3 million resident points (the probe's 214 MB file went past 8 GB in the siting OD): run stays under 4 GiB."""
    rng = np.random.default_rng(0)
    n = 1_300_000
    table = np.column_stack([rng.uniform(7.409, 7.439, n), rng.uniform(43.725, 43.751, n), rng.integers(1, 5, n)])
    csv = tmp_path / "residents.csv"
    with csv.open("wb") as f:  # the bytes np.savetxt(fmt=["%.7f", "%.7f", "%d"]) writes, 6x faster
        f.write(b"lon,lat,pop\n")
        f.write(_fixed_csv([(table[:, 0], 1, 7), (table[:, 1], 2, 7), (table[:, 2], 1, 0)]))
    start = time.perf_counter()
    proc = subprocess.run(
        [
            "/usr/bin/time",
            "-f",
            "%M",
            sys.executable,
            "-c",
            CLI,
            "run",
            "--quiet",
            "--demand",
            csv,
            "--out",
            tmp_path / "o",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    peak_mb = int(proc.stderr.strip().splitlines()[-1]) / 1024
    print(f"1.3M resident points: peak RSS {peak_mb:,.0f} MB, {time.perf_counter() - start:.0f} s")
    assert proc.returncode == 0, proc.stderr
    assert "of " in proc.stdout and f"{int(table[:, 2].sum()):,}" in proc.stdout  # every resident counted
    assert peak_mb < 4096
