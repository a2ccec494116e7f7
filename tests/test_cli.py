"""The CLI contract: quarterhour run ... --out DIR."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest

from quarterhour.cli.main import main


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "quarterhour.cli", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path_factory.mktemp("run")
    return run_cli("run", "--out", str(out)), out


def test_run_on_sample_writes_the_contract(sample_run):
    proc, out = sample_run
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("covered 38,245 of 38,367 residents (99.7%) within 15 min walk at 4.5 km/h")
    assert lines[1] == "yardstick: minutes at a speed: 15 min at 4.5 km/h (about 1,125 m)"  # the default, named
    # no temporary file left behind (checked before reading: GDAL may write a .aux.xml sidecar for the metadata)
    assert [p.name for p in out.iterdir()] == ["coverage.gpkg"]
    gpkg = out / "coverage.gpkg"
    assert pyogrio.read_info(gpkg, layer="demand")["dataset_metadata"]["input.demand"].startswith("demand.geojson sha")
    layers = set(pyogrio.list_layers(gpkg)[:, 0])
    assert {"facilities", "demand", "isochrones"} <= layers
    demand = gpd.read_file(gpkg, layer="demand")
    assert demand["covered"].dtype == bool
    assert demand["minutes"].dtype == float
    assert demand["pop"].sum() == 38_367
    assert demand.loc[demand["covered"], "pop"].sum() == 38_245
    assert (demand.loc[demand["covered"], "minutes"] <= 15).all()
    assert len(gpd.read_file(gpkg, layer="facilities")) == 20
    iso = gpd.read_file(gpkg, layer="isochrones")
    assert len(iso) == 20 and iso.is_valid.all()


def test_existing_output_is_not_overwritten(sample_run):
    _, out = sample_run
    before = (out / "coverage.gpkg").stat().st_mtime_ns
    proc = run_cli("run", "--out", str(out))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "--force" in proc.stderr
    assert (out / "coverage.gpkg").stat().st_mtime_ns == before


def test_minutes_and_speed_change_the_result(tmp_path, capsys):
    assert main(["run", "--out", str(tmp_path), "--minutes", "5", "--speed-kmh", "4"]) == 0
    line = capsys.readouterr().out.strip()
    assert "within 5 min walk at 4 km/h" in line
    covered = gpd.read_file(tmp_path / "coverage.gpkg", layer="demand")
    assert (covered.loc[covered["covered"], "minutes"] <= 5).all()
    assert (covered.loc[~covered["covered"], "minutes"].dropna() > 5).all()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--minutes", "0"], "--minutes: must be more than 0"),
        (["--bands", "5,x"], "not a list of minutes"),
        (["--isochrones", "hull"], "invalid choice: 'hull'"),
        (["--speed-kmh", "fast"], "'fast' is not a number"),
        (["--network", "nowhere.graphml"], "nowhere.graphml: the network file does not exist"),
        (["--demand", "data/sample/facilities.geojson"], "no 'pop' column"),
        (["--facilities", "data/sample/demand.geojson"], "no 'name' column"),
    ],
)
def test_bad_input_is_one_error_line(tmp_path, args, message):
    proc = run_cli("run", "--out", str(tmp_path / "o"), *args)
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if not line.startswith("note:")]
    assert len(errors) == 1 and errors[0].startswith("error: ")
    assert message in errors[0]
    assert "Traceback" not in proc.stderr


def test_bad_rows_are_named(tmp_path):
    bad = gpd.read_file("data/sample/demand.geojson")
    bad.loc[3, "pop"] = -5
    path = tmp_path / "demand.geojson"
    bad.to_file(path)
    proc = run_cli("run", "--out", str(tmp_path / "o"), "--demand", str(path))
    assert proc.returncode == 2
    assert "demand.geojson, row 4, column 'pop'" in proc.stderr


def test_unknown_category_is_refused(tmp_path):
    fac = gpd.read_file("data/sample/facilities.geojson")
    fac.loc[0, "category"] = "bank"
    path = tmp_path / "f.geojson"
    fac.to_file(path)
    proc = run_cli("run", "--out", str(tmp_path / "o"), "--facilities", str(path))
    assert proc.returncode == 2
    assert "unknown category 'bank'" in proc.stderr and "row 1" in proc.stderr


def test_own_files_in_another_crs(tmp_path):
    """Inputs in any CRS are reprojected onto the network's metric CRS."""
    fac = gpd.read_file("data/sample/facilities.geojson").to_crs(3857)
    dem = gpd.read_file("data/sample/demand.geojson").to_crs(3857)
    fac.to_file(tmp_path / "f.gpkg")
    dem.to_file(tmp_path / "d.gpkg")
    proc = run_cli(
        "run",
        "--out",
        str(tmp_path / "o"),
        "--facilities",
        str(tmp_path / "f.gpkg"),
        "--demand",
        str(tmp_path / "d.gpkg"),
    )
    assert proc.returncode == 0, proc.stderr
    assert "covered 38,245 of 38,367" in proc.stdout
    assert pd.isna(gpd.read_file(tmp_path / "o" / "coverage.gpkg", layer="demand")["minutes"]).sum() == 0


def test_bike_mode_reaches_further(tmp_path, capsys):
    assert main(["run", "--out", str(tmp_path), "--minutes", "2", "--mode", "bike"]) == 0
    line = capsys.readouterr().out.strip()
    assert "within 2 min by bike at 15 km/h" in line
    bike = gpd.read_file(tmp_path / "coverage.gpkg", layer="demand")
    assert (bike.loc[bike["covered"], "minutes"] <= 2).all()
    # 2 minutes at 15 km/h is 500 m, as far as 6.7 minutes of walking at 4.5 km/h.
    assert main(["run", "--out", str(tmp_path / "w"), "--minutes", str(2 * 15 / 4.5)]) == 0
    walk = gpd.read_file(tmp_path / "w" / "coverage.gpkg", layer="demand")
    assert bike["covered"].tolist() == walk["covered"].tolist()


def test_bands_and_the_three_isochrone_kinds(tmp_path):
    layers = {}
    for kind in ("facility", "merged", "nearest"):
        out = tmp_path / kind
        assert main(["run", "--out", str(out), "--bands", "5,10", "--isochrones", kind]) == 0
        layers[kind] = gpd.read_file(out / "coverage.gpkg", layer="isochrones")
        assert list(layers[kind].columns) == ["facility_id", "minutes", "geometry"]
    assert sorted(layers["facility"]["minutes"].unique()) == [5, 10, 15]
    assert len(layers["facility"]) == 60
    merged = layers["merged"].set_index("minutes")
    assert len(merged) == 3 and merged["facility_id"].isna().all()
    assert merged.area.is_monotonic_increasing
    for band, group in layers["nearest"].groupby("minutes"):
        assert group.area.sum() == pytest.approx(merged.area.loc[band], rel=1e-3)
        assert group["facility_id"].is_unique


def test_levels_categories_and_totals_on_the_sample(tmp_path, capsys):
    cats = tmp_path / "categories.csv"
    cats.write_text("category,minutes,capacity\nservice_centre,10,900\nliaison_point,5,\n", encoding="utf-8")
    assert (
        main(
            [
                "run",
                "--out",
                str(tmp_path / "o"),
                "--categories",
                str(cats),
                "--demand-total",
                "40000",
                "--decay",
                "stepped",
                "--load-norm",
                "20",
            ]
        )
        == 0
    )
    gpkg = tmp_path / "o" / "coverage.gpkg"
    layers = set(pyogrio.list_layers(gpkg)[:, 0])
    assert {
        "coverage_city",
        "coverage_district",
        "coverage_subdistrict",
        "coverage_community",
        "gaps",
        "accessibility",
    } <= layers
    city = gpd.read_file(gpkg, layer="coverage_city").iloc[0]
    assert city["pop"] == pytest.approx(40_000)
    district = gpd.read_file(gpkg, layer="coverage_district")
    assert district["pop"].sum() == pytest.approx(40_000) and len(district) == 4
    demand = gpd.read_file(gpkg, layer="demand")
    assert ((demand["minutes_service_centre"] <= 10) == demand["covered_service_centre"]).all()
    gaps = gpd.read_file(gpkg, layer="gaps")
    assert gaps["pop_uncovered"].sum() == pytest.approx(city["pop_uncovered"])
    fac = gpd.read_file(gpkg, layer="facilities")
    assert (fac.loc[fac["category"] == "service_centre", "supply"] == 900).all()
    assert "overloaded" in fac


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("category,minutes\nbank,10\n", "unknown category 'bank'"),
        ("category,minutes\nservice_centre,-3\n", "row 2, column 'minutes'"),  # the spreadsheet's row
        ("kind,minutes\nservice_centre,3\n", "no 'category' column"),
    ],
)
def test_bad_categories_file(tmp_path, content, message):
    path = tmp_path / "c.csv"
    path.write_text(content, encoding="utf-8")
    proc = run_cli("run", "--out", str(tmp_path / "o"), "--categories", str(path))
    assert proc.returncode == 2 and message in proc.stderr


def test_bad_boundaries_file(tmp_path):
    b = gpd.read_file("data/sample/boundaries.geojson").drop(columns="level")
    b.to_file(tmp_path / "b.geojson")
    proc = run_cli("run", "--out", str(tmp_path / "o"), "--boundaries", str(tmp_path / "b.geojson"))
    assert proc.returncode == 2 and "no layer named after a level and no 'level' column" in proc.stderr


def test_site_command_writes_sites_and_curve(tmp_path):
    proc = run_cli("site", "--model", "mclp", "--k", "2", "--minutes", "5", "--curve", "3", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    line = proc.stdout.strip()
    assert line.startswith("residents covered within 5 min: before 21,502 of 38,367 (56.0%), after ")
    assert "with 2 new centres [mclp" in line and ", optimal]" in line  # greedy proven by the LP bound, or HiGHS
    sites = gpd.read_file(tmp_path / "sites.gpkg", layer="sites")
    curve = pyogrio.read_dataframe(tmp_path / "sites.gpkg", layer="curve")
    assert len(sites) == 2 and list(curve["k"]) == [1, 2, 3]
    after = 21_502 + sites["pop_new"].sum()
    assert f"after {after:,.0f}" in line
    for row in sites.itertuples():  # each site in a line: whom it serves, covers anew, and the walk it saves
        assert f"  {row.site_id}: serves {row.pop_served:,.0f} residents ({row.pop_new:,.0f} newly covered), " in line
    assert sites[["pop_served", "minutes", "minutes_saved", "pop_minutes_saved"]].notna().all().all()
    assert curve.loc[1, "pop_covered"] == pytest.approx(after)
    assert {"community", "subdistrict", "district"} <= set(sites.columns)
    assert len(gpd.read_file(tmp_path / "sites.gpkg", layer="isochrones")) == 2
    meta = pyogrio.read_info(tmp_path / "sites.gpkg", layer="sites")["dataset_metadata"]
    assert json.loads(meta["parameters"])["model"] == "mclp" and json.loads(meta["parameters"])["k"] == 2


def test_site_infeasible_target_exits_2(tmp_path):
    # at 2 minutes some residents are farther than any street corner reaches (at 5, the completed grid reaches all)
    proc = run_cli("site", "--model", "lscp", "--target", "1.0", "--minutes", "2", "--out", str(tmp_path))
    assert proc.returncode == 2
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: 100% coverage cannot be reached") and "can reach at most" in last


def test_site_closing_a_centre_and_excluding_areas(tmp_path, capsys):
    box = gpd.read_file("data/sample/boundaries.geojson")
    box[box["level"] == "district"].iloc[[0]].to_file(tmp_path / "no.geojson")
    args = ["site", "--model", "mclp", "--k", "1", "--minutes", "5", "--curve", "0"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert (
        main([*args, "--close", "F004", "--exclude", str(tmp_path / "no.geojson"), "--out", str(tmp_path / "b")]) == 0
    )
    out = [line for line in capsys.readouterr().out.splitlines() if line.startswith("residents covered")]
    before_a = int(out[0].split("before ")[1].split(" of")[0].replace(",", ""))
    before_b = int(out[1].split("before ")[1].split(" of")[0].replace(",", ""))
    assert before_a - before_b == 3009  # La Poste (F004) closed: 3,009 residents lose their only centre
    site = gpd.read_file(tmp_path / "b" / "sites.gpkg", layer="sites").to_crs(4326)
    assert not site.intersects(gpd.read_file(tmp_path / "no.geojson").geometry.iloc[0]).any()
    proc = run_cli("site", "--model", "mclp", "--close", "F999", "--out", str(tmp_path / "c"))
    assert proc.returncode == 2 and "no facility with id F999" in proc.stderr


def test_facilities_from_a_gcj02_spreadsheet(tmp_path):
    """The sample's facilities as a Chinese CSV in GCJ-02 are refused: Monaco lies outside China."""
    fac = gpd.read_file("data/sample/facilities.geojson")
    table = pd.DataFrame({"名称": fac["name"], "经度": fac.geometry.x, "纬度": fac.geometry.y})
    table.to_csv(tmp_path / "f.csv", index=False, encoding="gb18030")
    proc = run_cli(
        "run", "--out", str(tmp_path / "a"), "--facilities", str(tmp_path / "f.csv"), "--facilities-crs", "gcj02"
    )
    assert proc.returncode == 2 and "outside China, where GCJ02 is not used" in proc.stderr
    proc = run_cli("run", "--out", str(tmp_path / "b"), "--facilities", str(tmp_path / "f.csv"))
    assert proc.returncode == 0, proc.stderr
    assert "covered 38,245 of 38,367" in proc.stdout  # same places as the GeoJSON (all service centres now)
    assert "note: read 20 rows from f.csv (gb18030)" in proc.stderr


def test_network_from_pbf_clipped_to_boundaries(tmp_path, capsys):
    assert (
        main(
            [
                "run",
                "--out",
                str(tmp_path),
                "--network",
                "data/source/monaco.osm.pbf",
                "--clip",
                "--boundaries",
                "data/sample/boundaries.geojson",
            ]
        )
        == 0
    )
    line = capsys.readouterr().out
    assert "of 38,367 residents" in line
    proc = run_cli("run", "--out", str(tmp_path / "x"), "--place", "Monaco", "--network", "n.graphml")
    assert proc.returncode == 2 and "give --network or --place/--bbox, not both" in proc.stderr


# issue 13 (task-cli): --suggest, fail fast, progress


def test_run_suggests_sites_only_when_asked(sample_run, tmp_path, capsys):
    _, out = sample_run
    sites = gpd.read_file(out / "coverage.gpkg", layer="sites")
    assert len(sites) == 0 and {"site_id", "pop_new", "minutes"} <= set(sites.columns)
    assert main(["run", "--out", str(tmp_path), "--minutes", "5", "--suggest", "1", "--quiet"]) == 0
    suggested = gpd.read_file(tmp_path / "coverage.gpkg", layer="sites")
    assert len(suggested) == 1 and list(suggested.columns) == list(sites.columns)
    assert "[" not in capsys.readouterr().err  # --quiet: no step lines
    proc = run_cli("run", "--out", str(tmp_path / "o"), "--suggest", "-1")
    assert proc.returncode == 2 and "--suggest: must be 0 or more" in proc.stderr


def test_steps_are_told_one_line_each_off_a_terminal(sample_run):
    proc, _ = sample_run
    steps = [line for line in proc.stderr.splitlines() if line.startswith("[")]
    names = [line.split("] ", 1)[1].split(" … ")[0] for line in steps]
    assert names == ["reading", "preparing the network", "travel times", "isochrones", "coverage", "writing"]
    assert all(line.startswith(f"[{i}/6] ") and line.endswith(" s") for i, line in enumerate(steps, 1))


def test_run_circle_tells_its_steps(sample):
    from analysis.pipeline import STEPS, run_circle

    told: list[str] = []
    run_circle(*sample, minutes=5, isochrones=("facility",), n_sites=1, progress=told.append)
    assert told == ["travel_times", "isochrones", "coverage", "siting"]
    assert set(told) <= set(STEPS)


def test_progress_bar_on_a_terminal():
    import io

    from quarterhour.cli.progress import Steps

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    with Steps(["reading", "writing"], stream=screen) as step:
        step("reading")
        step("writing")
    shown = screen.getvalue()
    assert "reading" in shown and "writing" in shown and "1/2" in shown  # tqdm's bar, naming the step under way
    assert "[1/2]" not in shown  # no plain lines on a terminal
    quiet = Terminal()
    with Steps(["reading"], stream=quiet, quiet=True) as step:
        step("reading")
    assert quiet.getvalue() == ""


@pytest.mark.parametrize(
    ("option", "content", "message"),
    [
        ("--demand", "pop\n1\n", "residents.txt: unsupported demand format '.txt'"),
        ("--facilities", "", "residents.txt: the facilities file does not exist"),
        ("--categories", "kind,minutes\nservice_centre,3\n", "no 'category' column"),
        ("--boundaries", "", "residents.txt: the boundaries"),
    ],
)
def test_inputs_are_checked_before_the_network_is_downloaded(tmp_path, capsys, option, content, message):
    """With --place, a network download would fail here (no internet) with another error, after it was tried."""
    bad = tmp_path / "residents.txt"
    if content:
        bad.write_text(content, encoding="utf-8")
    start = time.perf_counter()
    code = main(["run", "--out", str(tmp_path / "o"), "--place", "洛阳市老城区", option, str(bad)])
    took = time.perf_counter() - start
    err = capsys.readouterr().err
    assert code == 2, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], err
    assert "preparing" not in err and took < 3, (took, err)


def test_site_inputs_are_checked_before_the_network_is_read(tmp_path, capsys):
    """The network is the slow read: a bad candidates file is refused first (the network file being unreadable)."""
    network = tmp_path / "big.graphml"
    network.write_text("<not graphml", encoding="utf-8")  # read only after every other input
    candidates = tmp_path / "rooms.docx"
    candidates.write_text("x", encoding="utf-8")
    args = ["site", "--model", "mclp", "--out", str(tmp_path / "o"), "--network", str(network)]
    assert main([*args, "--candidates", str(candidates)]) == 2
    assert "rooms.docx: unsupported candidates format" in capsys.readouterr().err
    assert main([*args, "--exclude", str(tmp_path / "nowhere.gpkg")]) == 2
    assert "nowhere.gpkg: the exclusion areas file does not exist" in capsys.readouterr().err
    assert main(["run", "--out", str(tmp_path / "o"), "--network", "data/sample/demand.geojson"]) == 2
    assert "demand.geojson" in (err := capsys.readouterr().err) and "found Point (976 rows)" in err  # issue 30
    assert main(["run", "--out", str(tmp_path / "o"), "--network", "data/sample/facilities_hours.csv"]) == 2
    assert "facilities_hours.csv: unsupported network format '.csv'" in capsys.readouterr().err
