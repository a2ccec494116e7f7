"""``quarterhour batch`` on real Dask clusters: a LocalCluster of 2 worker processes, and a scheduler and workers
started as processes here; a worker killed mid-run; a resume; each unit equal to ``quarterhour run`` on it alone."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from geo import sample_paths
from quarterhour.batch.files import check_batch_dir
from quarterhour.batch.run import BatchInputs, UnitProgress, prepare_batch, read_units
from quarterhour.batch.unit import BatchOptions
from quarterhour.cli.main import main

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from synthetic_towns import synthetic_towns, write_pbf

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
DASK = str(Path(PY).with_name("dask"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def quarters(tmp_path_factory) -> Path:
    """The bundled sample's extent cut into four quarters (codes Q1..Q4)."""
    from geo.io import read_network

    folder = tmp_path_factory.mktemp("quarters")
    g = read_network(sample_paths()["network"])
    xy = np.array([(d["x"], d["y"]) for _, d in g.nodes(data=True)])
    (w, s), (e, n) = xy.min(axis=0) - 1e-3, xy.max(axis=0) + 1e-3
    mx, my = (w + e) / 2, (s + n) / 2
    boxes = [shapely.box(w, s, mx, my), shapely.box(mx, s, e, my), shapely.box(w, my, mx, n), shapely.box(mx, my, e, n)]
    units = gpd.GeoDataFrame(
        {"code": ["Q1", "Q2", "Q3", "Q4"], "name": ["西南", "东南", "西北", "东北"]}, geometry=boxes
    )
    path = folder / "quarters.geojson"
    units.set_crs(4326).to_file(path)
    return path


@pytest.fixture(scope="module")
def towns(tmp_path_factory) -> dict[str, Path]:
    """Four small synthetic towns in one .osm.pbf, their facilities and residents, and a fifth unit with nobody."""
    folder = tmp_path_factory.mktemp("towns")
    t = synthetic_towns(4, 600, n_facilities=4, n_residents=400, gap_m=3_000)
    paths = {"network": write_pbf(t, folder / "region.osm.pbf")}
    t.facilities.to_file(paths.setdefault("facilities", folder / "facilities.geojson"))
    t.demand.to_file(paths.setdefault("demand", folder / "demand.geojson"))
    _, s, e, n = t.units.total_bounds
    empty = gpd.GeoDataFrame({"code": ["T99"], "name": ["无人区"]}, geometry=[shapely.box(e + 0.05, s, e + 0.06, n)])
    units = pd.concat([t.units, empty.set_crs(4326)], ignore_index=True)
    units.to_file(paths.setdefault("units", folder / "units.geojson"))
    return paths


def _batch(units: Path, paths: dict, out: Path, *extra: str) -> list[str]:
    return [
        "batch",
        "--units",
        str(units),
        "--network",
        str(paths["network"]),
        "--facilities",
        str(paths["facilities"]),
        "--demand",
        str(paths["demand"]),
        "--out",
        str(out),
        *extra,
    ]


def _log_lines(out: Path, word: str) -> list[str]:
    return [line for line in (out / "batch.log").read_text(encoding="utf-8").splitlines() if word in line]


def _done_in_log(out: Path) -> list[str]:
    """The unit codes of the log's 'done' lines (``[k/n] CODE name … s``), one per line written."""
    return [line.split("] ", 1)[1].split()[0] for line in _log_lines(out, "] ") if "failed" not in line]


def _alone(job, network: Path, folder: Path, *extra: str) -> Path:
    """``quarterhour run`` on one unit alone: its clipped network (--clip to the same area), facilities, residents."""
    folder.mkdir(parents=True)
    area = gpd.GeoDataFrame(
        {"level": ["city"], "code": [job.code], "name": [job.name]}, geometry=[job.area_lonlat], crs=4326
    )
    area.to_file(folder / "area.gpkg")  # GeoPackage: the area's coordinates exactly
    job.facilities.to_file(folder / "facilities.gpkg")
    job.demand.to_file(folder / "demand.gpkg")
    argv = ["run", "--network", str(network), "--clip", "--boundaries", str(folder / "area.gpkg")]
    argv += ["--facilities", str(folder / "facilities.gpkg"), "--demand", str(folder / "demand.gpkg")]
    assert main([*argv, *extra, "--out", str(folder / "out"), "--quiet"]) == 0
    return folder / "out" / "coverage.gpkg"


def _same_result(batch_gpkg: Path, run_gpkg: Path) -> None:
    ours = gpd.read_file(batch_gpkg, layer="demand").set_index("demand_id").sort_index()
    theirs = gpd.read_file(run_gpkg, layer="demand").set_index("demand_id").sort_index()
    assert list(ours.index) == list(theirs.index)
    np.testing.assert_allclose(ours["minutes"].to_numpy(float), theirs["minutes"].to_numpy(float), atol=1e-6)
    assert ours["covered"].tolist() == theirs["covered"].tolist()
    assert ours["nearest_facility"].fillna("").tolist() == theirs["nearest_facility"].fillna("").tolist()


def test_units_are_read_from_a_plain_file_or_a_file_with_levels(quarters, tmp_path):
    units, upper = read_units(quarters)
    assert list(units["code"]) == ["Q1", "Q2", "Q3", "Q4"] and set(units["level"]) == {"unit"} and upper == {}
    units, upper = read_units("luoyang")
    assert len(units) == 7 and set(units["level"]) == {"district"} and list(upper) == ["city"]


def test_bad_input_fails_before_any_cluster(quarters, tmp_path, capsys):
    sample = sample_paths()
    paths = {"network": sample["network"], "facilities": sample["facilities"], "demand": sample["demand"]}
    nameless = tmp_path / "nameless.geojson"
    gpd.read_file(quarters).drop(columns="name").to_file(nameless)
    started = time.perf_counter()
    assert main(_batch(nameless, paths, tmp_path / "a")) == 2
    assert "column 'name'" in capsys.readouterr().err and not (tmp_path / "a").exists()
    bad = gpd.read_file(quarters).assign(code=["Q1", "../x", "Q3", "Q4"])
    bad.to_file(tmp_path / "escape.geojson")
    assert main(_batch(tmp_path / "escape.geojson", paths, tmp_path / "a")) == 2
    assert "cannot be a folder's name" in capsys.readouterr().err
    assert main(_batch(quarters, paths, tmp_path / "a", "--scheduler", "10.0.0.5")) == 2
    assert "not a scheduler address" in capsys.readouterr().err
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    assert main(_batch(quarters, paths, tmp_path / "taken")) == 2
    assert "holds other files" in capsys.readouterr().err
    (tmp_path / "a-file").write_text("mine")
    assert main(_batch(quarters, paths, tmp_path / "a-file")) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    other = tmp_path / "other"
    other.mkdir()
    (other / "manifest.json").write_text(json.dumps({"kind": "quarterhour batch", "units_source": "x.gpkg"}))
    assert main(_batch(quarters, paths, other)) == 2
    assert "holds the batch of other units (x.gpkg)" in capsys.readouterr().err
    assert check_batch_dir(other, "quarters.geojson", force=True) == {}  # --force: taken, every unit runs again
    # --standard, --group and --categories as `run` reads them, checked before any cluster starts
    assert main(_batch(quarters, paths, tmp_path / "c", "--standard", "gb50180", "--minutes", "7")) == 2
    assert "defines the 5, 10, 15-minute circles only, not 7 minutes" in capsys.readouterr().err
    assert main(_batch(quarters, paths, tmp_path / "c", "--group", "80岁以上")) == 2
    assert "80岁以上" in capsys.readouterr().err
    (tmp_path / "categories.csv").write_text("category,minutes\nservice_centre,soon\n", encoding="utf-8")
    assert main(_batch(quarters, paths, tmp_path / "c", "--categories", str(tmp_path / "categories.csv"))) == 2
    assert "categories.csv" in capsys.readouterr().err and not (tmp_path / "c").exists()
    port = _free_port()  # nobody listens there
    assert main(_batch(quarters, paths, tmp_path / "b", "--scheduler", f"tcp://127.0.0.1:{port}")) == 2
    err = capsys.readouterr().err
    assert "cannot reach the Dask scheduler" in err and "Traceback" not in err
    assert time.perf_counter() - started < 60


def test_local_cluster_units_equal_run_alone_and_a_rerun_resumes(quarters, tmp_path, capsys):
    sample = sample_paths()
    paths = {"network": sample["network"], "facilities": sample["facilities"], "demand": sample["demand"]}
    out = tmp_path / "batch"
    # 5-minute isochrones: a quicker test; under GB 50180 (300 m), each unit as `run --standard gb50180` measures it
    yardstick = ("--minutes", "5", "--standard", "gb50180")
    five = ("--workers", "2", *yardstick)
    assert main(_batch(quarters, paths, out, *five)) == 0
    said = capsys.readouterr()
    assert "dashboard: http://" in said.err and "[4/4]" in said.err
    assert "yardstick: GB 50180-2018 network walking distance" in said.out and "here 5 min = 300 m" in said.out
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert {c: u["status"] for c, u in manifest["units"].items()} == dict.fromkeys(["Q1", "Q2", "Q3", "Q4"], "done")
    assert sorted(_done_in_log(out)) == ["Q1", "Q2", "Q3", "Q4"]
    table = pd.read_csv(out / "coverage_units.csv", encoding="utf-8-sig")
    levels = pd.read_csv(out / "coverage_levels.csv", encoding="utf-8-sig")
    assert set(table["运行状态（run status）"]) == {"完成"}
    assert levels["居民（residents）"].iloc[-1] == table["居民（residents）"].sum() == pytest.approx(38_367)
    styled = gpd.read_file(out / "coverage_units.gpkg", layer="coverage_units")
    assert list(styled["code"]) == ["Q1", "Q2", "Q3", "Q4"] and styled["pct_covered"].between(0, 100).all()
    assert "layer_styles" in pyogrio.list_layers(out / "coverage_units.gpkg")[:, 0]
    assert set(pd.read_excel(out / "coverage.xlsx", sheet_name=None)) == {"单元", "各层级汇总"}
    assert table["尺度（yardstick）"].str.contains("本次 5 分钟 = 300 米").all()

    # each unit equals `quarterhour run` on that unit alone (same clipped inputs)
    options = BatchOptions(minutes=5, standard="gb50180")
    prepared = prepare_batch(
        BatchInputs(quarters, paths["network"], paths["facilities"], paths["demand"], options=options)
    )
    for job in prepared.jobs:
        run_gpkg = _alone(job, paths["network"], tmp_path / "alone" / job.code, *yardstick)
        _same_result(out / job.code / "coverage.gpkg", run_gpkg)
        covered = manifest["units"][job.code]["summary"]["pop_covered"]
        assert covered == pytest.approx(gpd.read_file(run_gpkg, layer="demand").query("covered")["pop"].sum())

    # the same command again: every unit skipped, nothing rewritten
    mtimes = {c: (out / c / "coverage.gpkg").stat().st_mtime_ns for c in manifest["units"]}
    assert main(_batch(quarters, paths, out, *five)) == 0
    assert "0 run now, 4 complete before" in capsys.readouterr().out
    assert len(_log_lines(out, "skipped")) == 4
    assert {c: (out / c / "coverage.gpkg").stat().st_mtime_ns for c in mtimes} == mtimes

    # one resident of Q3 moves in: Q3 runs again, the others are skipped
    demand = gpd.read_file(paths["demand"])
    q3 = next(job for job in prepared.jobs if job.code == "Q3")
    first = demand.index[demand["demand_id"] == q3.demand.index[0]][0]
    demand.loc[first, "pop"] += 7
    paths["demand"] = tmp_path / "demand-more.geojson"
    demand.to_file(paths["demand"])
    assert main(_batch(quarters, paths, out, *five)) == 0
    assert "1 run now, 3 complete before" in capsys.readouterr().out
    after = {c: (out / c / "coverage.gpkg").stat().st_mtime_ns for c in mtimes}
    assert [c for c in mtimes if after[c] != mtimes[c]] == ["Q3"]
    again = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["units"]
    assert again["Q3"]["summary"]["pop_total"] == manifest["units"]["Q3"]["summary"]["pop_total"] + 7
    assert again["Q1"] == manifest["units"]["Q1"]
    assert _done_in_log(out).count("Q3") == 2 and _done_in_log(out).count("Q1") == 1


def _start(argv: list[str], log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with log.open("wb") as f:
        return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT)


def _kill_a_busy_worker(address: str, started: float) -> str:
    """Wait until a worker is running a unit, then SIGKILL its process; the unit's key."""
    from distributed import Client

    with Client(address, timeout="30s") as client:
        pids = client.run(os.getpid)
        while time.perf_counter() - started < 90:
            for worker, tasks in client.call_stack().items():
                units = [key for key in tasks if str(key).startswith("unit-")]
                if units:
                    os.kill(pids[worker], signal.SIGKILL)
                    return units[0]
            time.sleep(0.01)
    raise AssertionError("no unit ever ran")


def test_real_scheduler_and_workers_survive_a_killed_worker(towns, tmp_path):
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [_start([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], tmp_path / "s")]
    try:
        for i in range(2):
            argv = [DASK, "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard", "--name", f"w{i}"]
            procs.append(_start(argv, tmp_path / f"w{i}.log"))
        from distributed import Client

        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=60)
        out = tmp_path / "batch"
        started = time.perf_counter()
        batch = _start(
            [PY, "-m", "quarterhour.cli", *_batch(towns["units"], towns, out, "--scheduler", address)],
            tmp_path / "batch.log",
        )
        procs.append(batch)
        killed = _kill_a_busy_worker(address, started)
        assert batch.wait(timeout=120) == 1  # T99 has nobody: it fails, the rest complete
        said = (tmp_path / "batch.log").read_text(encoding="utf-8")
        assert "Traceback" not in said
        assert "failed: T99: " in said and "no residents live in this unit" in said
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["units"]
        done = [c for c, u in manifest.items() if u["status"] == "done"]
        assert done == ["T01", "T02", "T03", "T04"] and manifest["T99"]["status"] == "failed"
        assert sorted(_done_in_log(out)) == done  # every unit exactly once, the killed worker's too
        assert killed.split("-")[1] in done
        assert len({u["worker"] for c, u in manifest.items() if c in done}) >= 1
        prepared = prepare_batch(BatchInputs(towns["units"], towns["network"], towns["facilities"], towns["demand"]))
        job = prepared.jobs[1]
        assert len(job.demand) < len(gpd.read_file(towns["demand"])) / 3  # the unit's own residents
        _same_result(out / job.code / "coverage.gpkg", _alone(job, towns["network"], tmp_path / "alone"))
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def test_options_change_every_unit_key():
    from analysis.groups import Group
    from quarterhour.batch.unit import frozen_categories

    keys = {
        BatchOptions().sha256(),
        BatchOptions(minutes=10).sha256(),
        BatchOptions(standard="gb50180").sha256(),
        BatchOptions(groups=(Group("60岁以上", 3.2),)).sha256(),
        BatchOptions(groups=(Group("60岁以上", 3.0),)).sha256(),
        BatchOptions(categories=frozen_categories({"category_minutes": {"service_centre": 10}})).sha256(),
    }
    assert len(keys) == 6  # each option its own key: changing any runs every unit again


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_and_in_the_log(tmp_path):
    lines = []
    bar = _Terminal()
    with UnitProgress(2, lines.append, stream=bar) as progress:
        progress.unit("Q1 西南", 1.25)
        progress.unit("Q2 东南", 0.5, "Q2 东南: no residents live in this unit. Fix: …")
    assert lines == [
        "[1/2] Q1 西南 … 1.2 s",
        "[2/2] Q2 东南 … 0.5 s; failed: Q2 东南: no residents live in this unit. Fix: …",
    ]
    assert "failed: Q2" in bar.getvalue() and "Q1 西南 … 1.2 s" not in bar.getvalue()  # a bar, and the failures
    plain = io.StringIO()
    with UnitProgress(1, lines.append, stream=plain) as progress:
        progress.unit("Q3", 2.0)
    assert plain.getvalue() == "[1/1] Q3 … 2.0 s\n"
