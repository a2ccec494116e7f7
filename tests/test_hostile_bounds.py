"""Hostile inputs, third round (issue 27, items 1-6): names that become paths, raster bombs, big scenario files.

Each test is one finding of the probe, made in ``tmp_path``, run through the real command or reader.
Memory is the peak RSS of a fresh child process (``/usr/bin/time -f %M``, as in ``test_inputs_bounds``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.crs import CRS
from rasterio.transform import from_origin

from geo import InputError, load_sample, read_demand, sample_paths
from geo._validate import MAX_RESIDENTS
from geo.raster import MAX_POPULATED_CELLS, open_raster, read_window
from quarterhour.batch.run import read_units
from quarterhour.cli.main import main
from quarterhour.gis.outdir import MAX_NAME_BYTES, inside, safe_part
from quarterhour.pack.report import safe_name, unit_folders

LON, LAT = 7.4200, 43.7350
CLI = "import sys; from quarterhour.cli.main import main; sys.exit(main(sys.argv[1:]))"


def measured(code: str, *args: str) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """Run ``python -c code args`` in a fresh child: (the process, its peak RSS in MB, seconds taken)."""
    start = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "%M", sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300
    )
    seconds = time.perf_counter() - start
    peak_mb = int(proc.stderr.strip().splitlines()[-1]) / 1024
    print(f"peak RSS {peak_mb:,.0f} MB, {seconds:.1f} s")  # the figure, with pytest -s
    return proc, peak_mb, seconds


def error_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    assert lines and "Traceback" not in proc.stderr, proc.stderr
    return lines[-1]


def _units(path: Path, codes: list[str], *, level: str | None = "district", names: list[str] | None = None) -> Path:
    boxes = [shapely.box(LON + i * 1e-3, LAT, LON + (i + 1) * 1e-3, LAT + 1e-3) for i in range(len(codes))]
    cols = {"code": codes, "name": names or [f"n{i}" for i in range(len(codes))]}
    if level:
        cols["level"] = [level] * len(codes)
    gpd.GeoDataFrame(cols, geometry=boxes, crs=4326).to_file(path)
    return path


# 1. Names from data never leave their folder -------------------------------------------------------------------


@pytest.mark.parametrize("code", ["../victim", "/tmp/abs", "../../x", "..", "a/b", "a\\b", "Q" * 300])
@pytest.mark.parametrize("level", ["district", None])
def test_batch_unit_codes_that_are_not_plain_names_are_refused(tmp_path, code, level):
    path = _units(tmp_path / "u.geojson", ["Q1", code], level=level)
    with pytest.raises(InputError, match="cannot be a folder's name") as info:
        read_units(path)
    assert "Fix:" in str(info.value) or "fix" in str(info.value).lower()
    assert len(str(info.value)) < 600  # a 300-character code is cut in the message


def test_batch_unit_code_with_a_control_character_is_cleaned_at_reading(tmp_path):
    units, _ = read_units(_units(tmp_path / "u.geojson", ["Q1", "Q\x012"]))
    assert units["code"].tolist() == ["Q1", "Q2"]


def test_batch_with_an_escaping_level_code_writes_nothing_outside(tmp_path, capsys):
    sample = sample_paths()
    units = _units(tmp_path / "levels.geojson", ["D1", "../victim"])
    (tmp_path / "victim").mkdir()
    out = tmp_path / "batch" / "out"
    args = ["batch", "--units", str(units), "--network", str(sample["network"]), "--facilities"]
    args += [str(sample["facilities"]), "--demand", str(sample["demand"]), "--out", str(out), "--quiet"]
    assert main(args) == 2
    assert "cannot be a folder's name" in capsys.readouterr().err
    assert not any((tmp_path / "victim").iterdir()) and not out.exists()


def test_every_name_from_data_is_one_plain_name_of_bounded_bytes():
    for text in ["../victim", "/etc/passwd", "../../x", "..", ".", "", "a\x00b\x01c", "𝔘" * 300, "C:\\x", "~/x"]:
        name = safe_part(text)
        assert name and "/" not in name and "\\" not in name and not name.startswith(".")
        assert len(name.encode("utf-8")) <= MAX_NAME_BYTES
        assert inside("parent", name).parent == Path("parent")
    for bad in ["../x", "/abs", "a/b", "..", "", "x" * (MAX_NAME_BYTES + 1)]:
        with pytest.raises(InputError, match="cannot be a file or folder name"):
            inside("parent", bad)
    # the pack's unit folders go through the same function: 4-byte characters are cut by bytes, not characters
    assert len(safe_name("C1", "𝔘" * 200).encode("utf-8")) <= MAX_NAME_BYTES
    folders = unit_folders({"../a": "𝔘" * 200, "/a": "𝔘" * 200})
    assert len(set(folders.values())) == 2
    assert all(len(f.encode("utf-8")) <= MAX_NAME_BYTES + 9 and "/" not in f for f in folders.values())


# 2. An empty --out ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["run"], ["report", "--level", "district"], ["batch", "--units", "luoyang"]])
def test_empty_out_is_refused(tmp_path, monkeypatch, capsys, command):
    monkeypatch.chdir(tmp_path)
    sample = sample_paths()
    args = [*command, "--network", str(sample["network"]), "--facilities", str(sample["facilities"])]
    with pytest.raises(SystemExit) as info:
        main([*args, "--demand", str(sample["demand"]), "--out", "", "--quiet"])
    assert info.value.code == 2
    assert "argument --out: is empty" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


# 4. Rasters: memory bounded by the budget, residents that are a count -------------------------------------------


@pytest.fixture(scope="module")
def sample():
    return load_sample()


def _raster(path: Path, network, side: int, value: float, *, crs: object = None, nodata: float = -1.0) -> Path:
    """A deflated, tiled GeoTIFF of ``side`` x ``side`` cells of ``value`` over the sample's streets."""
    b = network.nodes.total_bounds
    sx, sy = (b[2] - b[0] + 20) / side, (b[3] - b[1] + 20) / side
    with rasterio.open(path, "w", driver="GTiff", width=side, height=side, count=1, dtype="float32",
                       crs=crs or network.crs, transform=from_origin(b[0] - 10, b[3] + 10, sx, sy),
                       compress="deflate", tiled=True, nodata=nodata) as dst:  # fmt: skip
        dst.write(np.full((1, side, side), value, dtype="float32"))
    return path


def _run_args(demand: Path, out: Path) -> list[str]:
    sample = sample_paths()
    return ["run", "--network", str(sample["network"]), "--facilities", str(sample["facilities"]),
            "--demand", str(demand), "--out", str(out), "--quiet"]  # fmt: skip


def test_raster_deflate_bomb_is_refused_in_little_memory(sample, tmp_path):
    network, _, _ = sample
    bomb = _raster(tmp_path / "bomb.tif", network, 3500, 1.0)  # 12 million populated cells in under 100 kB
    assert bomb.stat().st_size < 100_000
    proc, peak_mb, seconds = measured(CLI, *_run_args(bomb, tmp_path / "o"))
    assert proc.returncode == 2
    line = error_line(proc)
    assert f"more than {MAX_POPULATED_CELLS:,} cells with residents" in line and "memory budget" in line
    assert "coarser raster" in line
    assert peak_mb < 600 and seconds < 60, (peak_mb, seconds)
    assert not (tmp_path / "o").exists()


def test_raster_within_the_budget_is_read_by_blocks_and_summed_right(sample, tmp_path, monkeypatch):
    """Blocks of a few rows give the cells one read gives (cross-checked with rasterio's whole read)."""
    import geo.raster

    network, _, _ = sample
    path = _raster(tmp_path / "ok.tif", network, 200, 2.5)
    with rasterio.open(path, "r+") as dst:  # some nodata and a negative cell
        dst.write(np.full((1, 5, 7), -1.0, dtype="float32"), window=rasterio.windows.Window(3, 4, 7, 5))
        dst.write(np.full((1, 1, 1), -3.0, dtype="float32"), window=rasterio.windows.Window(100, 100, 1, 1))
    monkeypatch.setattr(geo.raster, "BLOCK_CELLS", 1000)  # 5 rows a block
    cells = read_window(open_raster(path), tuple(network.nodes.total_bounds), network.crs.to_wkt())
    with rasterio.open(path) as src:
        whole = src.read(1, masked=True).filled(np.nan)
    keep = np.isfinite(whole) & (whole > 0)
    assert len(cells) == keep.sum() and cells["pop"].sum() == pytest.approx(whole[keep].sum())
    assert sorted(zip(cells["row"], cells["col"], strict=True)) == sorted(zip(*np.nonzero(keep), strict=True))
    assert "dropped 35 nodata cells and 1 negative cells" in " ".join(map(str, cells.attrs["notes"]))


@pytest.mark.parametrize(
    ("value", "said"),
    [
        (-1.0, "no cell with residents around the streets"),  # all nodata
        (0.0, "no cell with residents around the streets"),  # all 0
        (1e-30, "less than one person"),
        (3e38, "more than 10,000,000,000"),
    ],
)
def test_raster_without_a_count_of_residents_is_refused(sample, tmp_path, capsys, value, said):
    network, _, _ = sample
    path = _raster(tmp_path / "odd.tif", network, 50, value)  # nodata -1
    assert main(_run_args(path, tmp_path / "o")) == 2
    err = capsys.readouterr().err
    assert said in err and "Fix:" in err and "nan%" not in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_raster_in_a_local_engineering_crs_is_refused_with_a_fix(sample, tmp_path, capsys):
    network, _, _ = sample
    local = CRS.from_wkt('LOCAL_CS["site grid",LOCAL_DATUM["x",0],UNIT["metre",1],AXIS["X",EAST],AXIS["Y",NORTH]]')
    path = _raster(tmp_path / "site.tif", network, 20, 5.0, crs=local)
    assert main(_run_args(path, tmp_path / "o")) == 2
    err = capsys.readouterr().err
    assert "site.tif: the residents raster's coordinate system is a local (engineering) one" in err
    assert "gdalwarp -t_srs EPSG:4326" in err and "internal error" not in err


def test_residents_of_implausible_size_are_refused(tmp_path):
    two = [
        {"type": "Feature", "properties": {"pop": 1.7e308}, "geometry": {"type": "Point", "coordinates": [LON, LAT]}}
    ]
    path = tmp_path / "huge.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": two * 2}), encoding="utf-8")
    with pytest.raises(InputError, match=r"huge.geojson.*row 1.*more than 10,000,000,000"):
        read_demand(path)
    half = MAX_RESIDENTS * 0.6  # each plausible, their sum not
    features = [{**two[0], "properties": {"pop": half}}] * 2
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    with pytest.raises(InputError, match=r"in all, more than 10,000,000,000"):
        read_demand(path)


# 5. Scenario files: rows limited, many additions evaluated at once ----------------------------------------------


def _scenario(path: Path, n: int, *, seed: int = 5) -> Path:
    """``n`` new centres scattered over the sample's streets, as a scenario GeoJSON."""
    rng = np.random.default_rng(seed)
    lon, lat = 7.41 + 0.02 * rng.random(n), 43.725 + 0.02 * rng.random(n)
    features = [
        {
            "type": "Feature",
            "properties": {"action": "add", "facility_id": None, "name": f"新中心 {i}", "category": "study_room"},
            "geometry": {"type": "Point", "coordinates": [float(x), float(y)]},
        }
        for i, (x, y) in enumerate(zip(lon, lat, strict=True))
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), "utf-8")
    return path


def test_scenario_file_with_too_many_changes_is_refused_before_reading(tmp_path):
    from geo.scenario import MAX_CHANGES, read_scenario

    assert len(read_scenario(_scenario(tmp_path / "ok.geojson", 50))) == 50
    big = _scenario(tmp_path / "big.geojson", 20_000)
    proc, peak_mb, seconds = measured(CLI, "scenarios", "import", str(big))
    line = error_line(proc)
    assert proc.returncode == 2
    assert f"big.geojson: the scenario holds 20,000 changes, more than the {MAX_CHANGES:,}" in line
    assert "split it into scenarios" in line
    assert peak_mb < 500 and seconds < 30, (peak_mb, seconds)


def test_many_new_centres_reach_in_one_pass_as_their_own_reaches_would(sample):
    """The merged reach (one multi-source pass) against the union of each centre's own isochrone."""
    from analysis.pipeline import changed_reach
    from analysis.yardstick import yardstick
    from geo import snap_points

    network, _, _ = sample
    rng = np.random.default_rng(27)
    nodes = network.nodes.sample(25, random_state=27).geometry
    centres = gpd.GeoDataFrame(
        {"facility_id": [f"N{i}" for i in range(25)], "name": "n", "category": "study_room"},
        geometry=shapely.points(nodes.x + rng.normal(0, 5, 25), nodes.y + rng.normal(0, 5, 25)),
        crs=network.crs,
    ).set_index("facility_id", drop=False)
    snaps = snap_points(centres, network)
    ys = yardstick("minutes")
    each = changed_reach(network, centres, snaps, circle=5.0, ys=ys, each_max=len(centres))
    merged = changed_reach(network, centres, snaps, circle=5.0, ys=ys, each_max=len(centres) - 1)
    assert len(each) == 25 and len(merged) == 1 and set(merged["minutes"]) == set(each["minutes"]) == {5.0}
    union = shapely.union_all(each.geometry.to_numpy())
    assert merged.geometry.iloc[0].area == pytest.approx(union.area, rel=0.05)
    assert shapely.symmetric_difference(merged.geometry.iloc[0], union).area < 0.05 * union.area


def test_two_thousand_new_centres_in_seconds_and_bounded_memory(tmp_path):
    """The app's scenario step (``quarterhour.ui.compute.scenario``'s body) on 2,000 added centres, in a fresh child."""
    path = _scenario(tmp_path / "two_thousand.geojson", 2000)
    code = (
        "import sys; from geo import load_sample, snap_points; from geo.scenario import read_scenario; "
        "from analysis.scenario import baseline, evaluate; from analysis.pipeline import changed_reach; "
        "from analysis.yardstick import yardstick; net, fac, dem = load_sample(); ds = snap_points(dem, net); "
        "r = evaluate(net, fac, dem, ds, read_scenario(sys.argv[1]), base=baseline(net, fac, dem, ds)); "
        "moved = r.facilities[r.facilities['change'] != '']; "
        "reach = changed_reach(net, moved, snap_points(moved, net), circle=15.0, ys=yardstick('minutes')); "
        "print(len(moved), len(reach), r.summary.pop_covered, r.summary.pop_total)"
    )
    proc, peak_mb, seconds = measured(code, str(path))
    assert proc.returncode == 0, proc.stderr
    moved, polygons, covered, total = proc.stdout.split()
    assert (int(moved), int(polygons)) == (2000, 1) and 0 < float(covered) <= float(total)
    assert seconds < 60 and peak_mb < 800, (seconds, peak_mb)


# 6. A session's uploads have a quota ----------------------------------------------------------------------------


def _uploads_page(sizes: list[int], lang: str) -> None:
    """A page that keeps uploads of these sizes as the sidebar does (the first one twice); what was kept."""
    import streamlit as st
    from streamlit.proto.Common_pb2 import FileURLs
    from streamlit.runtime.uploaded_file_manager import UploadedFile, UploadedFileRec

    from quarterhour.ui.sidebar import save_upload

    kept = []
    for i, size in enumerate([sizes[0], *sizes]):
        data = (b"%d," % (i and i - 1)).ljust(size, b"x")  # the first two are the same bytes
        upload = UploadedFile(UploadedFileRec(f"id{i}", f"设施{i}.csv", "text/csv", data), FileURLs())
        kept.append(save_upload(upload, lang))
    st.session_state["kept"] = kept


@pytest.mark.parametrize(
    ("lang", "said"), [("zh", "每次会话最多 30 个文件、300 MB"), ("en", "at most 30 files and 300 MB")]
)
def test_a_session_uploads_within_its_quota(tmp_path, monkeypatch, lang, said):
    from streamlit.testing.v1 import AppTest

    from quarterhour.ui.uploads import SESSION_FILES, SESSION_MB

    monkeypatch.setenv("QUARTERHOUR_CACHE", str(tmp_path / "cache"))
    at = AppTest.from_function(_uploads_page, args=([10] * (SESSION_FILES + 1), lang), default_timeout=60).run()
    assert not at.exception
    kept = at.session_state["kept"]
    assert kept[0] == kept[1] and all(kept[:-1]) and kept[-1] is None  # the same bytes again are not counted
    assert len(list((tmp_path / "cache" / "uploads").iterdir())) == SESSION_FILES
    assert len(at.error) == 1 and said in at.error[0].value and f"设施{SESSION_FILES + 1}.csv" in at.error[0].value
    mb = 2**20
    at = AppTest.from_function(_uploads_page, args=([90 * mb] * 4, lang), default_timeout=60).run()
    assert [p is not None for p in at.session_state["kept"]] == [True, True, True, True, False]  # 270 MB, then 360
    assert 3 * 90 <= SESSION_MB < 4 * 90


# 3. Control characters and over-long names, cleaned once at reading ---------------------------------------------

CONTROL = "\x01\x1b[31m\x7f\x9b"


def _dirty_inputs(folder: Path) -> dict[str, Path]:
    """The sample with control characters in a facility's name and in a file's name, and a unit named in 4-byte
    characters longer than a file system's name."""
    sample = sample_paths()
    fac = json.loads(Path(sample["facilities"]).read_text(encoding="utf-8"))
    fac["features"][0]["properties"]["name"] = f"bad{CONTROL}name\ttab"
    facilities = folder / f"fac{CONTROL[:2]}ilities.geojson"
    facilities.write_text(json.dumps(fac), encoding="utf-8")
    units = gpd.read_file(sample["boundaries"])
    district = units.index[units["level"] == "district"]
    units.loc[district[0], "name"] = "𝔘" * 120  # 480 bytes of UTF-8
    units.loc[district[1], "name"] = f"东北{CONTROL}区"
    boundaries = folder / "units.geojson"
    units.to_file(boundaries)
    return {
        "network": sample["network"],
        "facilities": facilities,
        "demand": sample["demand"],
        "boundaries": boundaries,
    }


def test_names_are_cleaned_at_reading_and_said(tmp_path):
    from geo import read_boundaries, read_facilities
    from geo.scenario import read_scenario

    paths = _dirty_inputs(tmp_path)
    fac = read_facilities(paths["facilities"])
    assert fac["name"].iloc[0] == "bad[31mname tab"
    assert all(s.isprintable() for s in fac["name"])
    said = [str(n) for n in fac.attrs["notes"]]
    assert any("removed 4 control characters" in s and "column name" in s and "row 1" in s for s in said), said
    units = read_boundaries(paths["boundaries"])["district"]
    assert "东北[31m区" in set(units["name"]) and all(s.isprintable() for s in units["name"])
    scenario = tmp_path / "s.geojson"
    scenario.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"action": "add", "name": "新\x02中心\x01"},
         "geometry": {"type": "Point", "coordinates": [LON, LAT]}}]}), encoding="utf-8")  # fmt: skip
    assert read_scenario(scenario)["name"].tolist() == ["新中心"]


def test_report_with_control_characters_and_long_names_writes_a_clean_pack(tmp_path, capsys):
    import xml.etree.ElementTree as ET

    paths = _dirty_inputs(tmp_path)
    out = tmp_path / "pack"
    args = ["report", "--level", "district", "--quiet"]
    for role, path in paths.items():
        args += [f"--{role}", str(path)]
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # as a planner's command runs: a glyph missing from the fonts is said
        assert main([*args, "--out", str(out)]) == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    assert "removed 4 control characters" in err and "Traceback" not in err
    folders = [p for p in out.iterdir() if p.is_dir()]
    assert len(folders) == 4
    assert all(len(p.name.encode("utf-8")) <= MAX_NAME_BYTES and p.name.isprintable() for p in folders)
    for project in out.glob("*/project.qgs"):
        ET.parse(project)  # well-formed XML
        assert not any(c in project.read_text(encoding="utf-8") for c in "\x01\x1b\x7f")
    import openpyxl

    book = openpyxl.load_workbook(out / "summary.xlsx", read_only=True)
    cells = [str(v) for sheet in book for row in sheet.iter_rows(values_only=True) for v in row if v is not None]
    assert any("ilities.geojson" in c for c in cells) and all(c.isprintable() or "\n" in c for c in cells)


def test_batch_units_are_cleaned_at_reading(tmp_path):
    path = _units(tmp_path / "u.geojson", ["A1", "A2"], level=None, names=[f"北{CONTROL}", "𝔘" * 120])
    units, _ = read_units(path)
    assert units["name"].tolist()[0] == "北[31m" and all(s.isprintable() for s in units["name"])


def test_write_error_of_a_name_too_long_says_so_not_disk_space(tmp_path):
    from quarterhour.gis.outdir import write_error

    try:
        (tmp_path / ("𝔘" * 100)).write_bytes(b"x")
    except OSError as exc:
        message = str(write_error(tmp_path / ("𝔘" * 100), exc))
    else:
        pytest.skip("this file system takes 400-byte names")
    assert "shorten the codes and names" in message and "free some disk space" not in message
