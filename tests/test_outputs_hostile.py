"""No result is ever lost or mixed (issue 15 §1): the --out folder under collisions, kills, races and full disks.

Every test runs the real CLI in a subprocess: real files, real locks, real ``kill -9``. The
small and read-only disks are real tmpfs mounts (skipped where mounting is not allowed).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import geopandas as gpd
import openpyxl
import pyogrio
import pytest

from geo import sample_paths
from quarterhour.pack.report import PACK_FILES, SUMMARY_FILES, unit_folders

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_UNITS = 4  # the sample's districts


def start(*args: object, umask: int | None = None) -> subprocess.Popen[str]:
    """The CLI in a child process (its own code: the worktree's, from the cwd)."""
    return subprocess.Popen(
        [sys.executable, "-m", "quarterhour.cli", *map(str, args)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=(lambda: os.umask(umask)) if umask is not None else None,
    )


def cli(*args: object, umask: int | None = None) -> subprocess.CompletedProcess[str]:
    proc = start(*args, umask=umask)
    out, err = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def report(out: Path, *extra: object, lang: str = "en", umask: int | None = None) -> subprocess.Popen[str]:
    return start("report", "--out", out, "--level", "district", "--lang", lang, "--quiet", *extra, umask=umask)


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (hidden ones too) -> its SHA-256."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def whole_pack(out: Path, lang: str, units: int = SAMPLE_UNITS) -> bool:
    """``out`` holds one complete pack, every page of it in ``lang``, and nothing else."""
    folders = [p for p in out.iterdir() if p.is_dir()]
    files = sorted(p.name for p in out.iterdir() if p.is_file())
    if len(folders) != units or files != sorted(SUMMARY_FILES):
        return False
    if any(sorted(f.name for f in d.iterdir()) != sorted(PACK_FILES) for d in folders):
        return False
    pages = [out / "summary.html", *(d / "report.html" for d in folders)]
    html_lang = "zh-CN" if lang == "zh" else "en"
    return all(f'<html lang="{html_lang}">' in p.read_text(encoding="utf-8") for p in pages)


def hidden(folder: Path) -> list[str]:
    """Hidden entries in ``folder`` and below."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob(".*"))


def wait_for(found: Callable[[], object], proc: subprocess.Popen[str], timeout: float = 240) -> object:
    """Poll until ``found()`` gives something; fail if the process ends first."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        hit = found()
        if hit:
            return hit
        assert proc.poll() is None, f"the command ended before the moment to kill it: {proc.communicate()}"
        time.sleep(0.005)
    raise AssertionError("timed out")


def caught(found: Callable[[], object], proc: subprocess.Popen[str], timeout: float = 240) -> bool:
    """Poll until ``found()`` gives something (True), or the process ends first (False)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if found():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.005)
    raise AssertionError("timed out")


def kill9(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL


@contextlib.contextmanager
def tmpfs(folder: Path, *options: str) -> Iterator[Path]:
    """A real small (or read-only) file system mounted at ``folder``; skipped where mounting is not allowed."""
    folder.mkdir(parents=True, exist_ok=True)
    opts = ",".join(options)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(folder)], capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def error_line(proc: subprocess.CompletedProcess[str] | subprocess.Popen[str], err: str | None = None) -> str:
    """The one ``error:`` line of a refused command (exit 2, no traceback)."""
    err = proc.stderr if err is None else err
    assert proc.returncode == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines[-1].startswith("error: ")
    return lines[-1]


@pytest.fixture(scope="module")
def english_pack(tmp_path_factory) -> Path:
    """The sample's district pack in English, made once (tests copy it before touching it)."""
    out = tmp_path_factory.mktemp("english") / "pack"
    proc = report(out)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert whole_pack(out, "en")
    return out


# --- 1. every unit has a folder of its own ---------------------------------------------------------------------


def test_unit_folders_are_unique_even_where_names_clean_to_one():
    long = "A" * 90
    codes = {"X/1": "same", "X_1": "same", "X?1": "same", "..": "", "": "", f"{long}1": "n", f"{long}2": "n"}
    codes |= {"ab": "Name", "AB": "name", "MC-D1": "西北区"}
    folders = unit_folders(codes)
    assert len({f.casefold() for f in folders.values()}) == len(codes)  # also on macOS and Windows
    assert folders["MC-D1"] == "MC-D1_西北区"  # no collision: the plain name
    assert folders["X/1"].startswith("X_1_same-") and folders[".."].startswith("unit-")
    assert all(len(f) <= 80 for f in folders.values())
    assert unit_folders({"X/1": "same", "X_1": "same"}) == {c: folders[c] for c in ("X/1", "X_1")}  # stable


@pytest.mark.slow
def test_colliding_codes_give_one_folder_each_and_the_summary_points_at_it(tmp_path):
    bounds = gpd.read_file(sample_paths()["boundaries"])
    bounds = bounds[bounds["level"].isin(["city", "district"])].copy()
    hostile = {"MC-D1": ("X/1", "same"), "MC-D2": ("X_1", "same"), "MC-D3": ("X?1", "same"), "MC-D4": ("..", "x")}
    for old, (code, name) in hostile.items():
        bounds.loc[bounds["code"] == old, ["code", "name"]] = [code, name]
    bounds.to_file(tmp_path / "units.geojson", driver="GeoJSON")
    out = tmp_path / "pack"
    proc = cli("report", "--out", out, "--level", "district", "--lang", "en", "--k", "1", "--quiet", "--boundaries",
               tmp_path / "units.geojson", umask=0o002)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    folders = sorted(p for p in out.iterdir() if p.is_dir())
    assert len(folders) == 4
    assert f"for {len(folders)} district units ({4 * len(PACK_FILES) + len(SUMMARY_FILES)} files)" in proc.stdout
    assert whole_pack(out, "en")
    sheet = openpyxl.load_workbook(out / "summary.xlsx").worksheets[0]
    head = [c.value for c in sheet[1]]
    rows = [dict(zip(head, (c.value for c in r), strict=True)) for r in sheet.iter_rows(min_row=2)]
    code_col, folder_col = (next(h for h in head if h.lower().startswith(w)) for w in ("code", "folder"))
    assert sorted(r[folder_col] for r in rows) == sorted(p.name for p in folders)  # one row, one folder
    for r in rows:  # each row's folder holds that unit's report
        page = (out / r[folder_col] / "report.html").read_text(encoding="utf-8")
        assert f"({r[code_col]})" in page
    # 5. the umask is honoured: group-writable here, as the planner's shell asked
    assert {oct(p.stat().st_mode & 0o777) for p in out.rglob("*") if p.is_file()} == {"0o664"}
    assert {oct(p.stat().st_mode & 0o777) for p in [out, *folders]} == {"0o775"}


# --- 2. a pack is swapped in whole -------------------------------------------------------------------------------


@pytest.mark.slow
def test_killed_report_leaves_the_old_pack_or_the_new_never_a_mix(english_pack, tmp_path):
    out = tmp_path / "pack"
    shutil.copytree(english_pack, out)
    old = snapshot(out)
    moments = {  # kill -9 while a unit is being written, and once the summary is being written (the swap is next)
        "a unit": lambda: next(tmp_path.glob(".pack.pack-*/*/*"), None),
        "the summary": lambda: next(tmp_path.glob(".pack.pack-*/summary.*"), None),
    }
    killed = []
    for moment, found in moments.items():
        proc = report(out, "--force", lang="zh")
        killed.append(caught(found, proc))
        if killed[-1]:
            kill9(proc)
        else:  # the summary and the swap took less than one look (a fast machine): it finished whole,
            proc.communicate()  # and removed the build folder an earlier kill left
        assert snapshot(out) == old or whole_pack(out, "zh"), f"a mix after a kill while writing {moment}"
    assert killed[0], "a unit takes long enough to be killed while it is written"
    if killed[-1]:
        assert list(tmp_path.glob(".pack.pack-*")), "the kill left the build folder (the next run removes it)"
    proc = report(out, "--force", lang="zh")  # the kernel dropped the lock: not blocked
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert whole_pack(out, "zh")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pack"]  # the leftover build folder is gone
    assert hidden(out) == []


@pytest.mark.slow
def test_full_disk_leaves_the_old_pack_and_a_rerun_works(english_pack, tmp_path):
    size_kb = sum(p.stat().st_size for p in english_pack.rglob("*") if p.is_file()) // 1024
    with tmpfs(tmp_path / "disk", f"size={size_kb + 2048}k") as disk:  # the old pack and 2 MB: no room for a new one
        out = disk / "pack"
        shutil.copytree(english_pack, out)
        old = snapshot(out)
        proc = report(out, "--force", lang="zh")
        _, err = proc.communicate(timeout=300)
        line = error_line(proc, err)
        # the pack asked in Chinese (--lang zh): the planner is told in Chinese too (issue 25)
        assert "No space left on device" in line and str(out) in line and "办法：" in line and "Fix:" not in line
        assert snapshot(out) == old
        assert sorted(p.name for p in disk.iterdir()) == ["pack"]  # no half-built folder left
        subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)  # space freed
        proc = report(out, "--force", lang="zh")
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert whole_pack(out, "zh")


@pytest.mark.slow
def test_full_disk_during_run_is_one_error_and_a_rerun_works(tmp_path):
    with tmpfs(tmp_path / "disk", "size=300k") as disk:  # too small for the sample's coverage.gpkg
        out = disk / "results"
        line = error_line(cli("run", "--out", out, "--quiet"))
        assert "cannot write the output: No space left on device" in line and "Fix:" in line
        assert list(disk.iterdir()) == []  # no temporary file, no empty folder
        subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)
        proc = cli("run", "--out", out, "--quiet")  # not refused: nothing of the failed run is there
        assert proc.returncode == 0, proc.stderr
        assert sorted(p.name for p in out.iterdir()) == ["coverage.gpkg"]


def test_force_does_not_replace_a_folder_holding_other_results(tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    (out / "coverage.gpkg").write_bytes(b"a planner's earlier result")
    line = error_line(cli("report", "--out", out, "--level", "district", "--force"))
    assert "not a review pack's (coverage.gpkg)" in line
    assert (out / "coverage.gpkg").read_bytes() == b"a planner's earlier result"


# --- 3. one command at a time per folder -------------------------------------------------------------------------


@pytest.mark.slow
def test_two_runs_into_one_new_folder_one_is_refused(tmp_path):
    for trial in range(3):
        out = tmp_path / f"trial{trial}"
        procs = {minutes: start("run", "--out", out, "--minutes", minutes, "--quiet") for minutes in (10, 15)}
        done = {minutes: (p, *p.communicate(timeout=300)) for minutes, p in procs.items()}
        codes = sorted(p.returncode for p, _, _ in done.values())
        assert codes == [0, 2], {m: (p.returncode, err) for m, (p, _, err) in done.items()}
        winner = next(m for m, (p, _, _) in done.items() if p.returncode == 0)
        loser, _, err = next(v for v in done.values() if v[0].returncode == 2)
        line = error_line(loser, err)
        assert "another quarterhour command is writing into this folder" in line or "already exists" in line
        meta = pyogrio.read_info(out / "coverage.gpkg", layer="demand")["dataset_metadata"]
        assert json.loads(meta["parameters"])["minutes"] == winner  # the winner's result, whole
        assert sorted(p.name for p in out.iterdir()) == ["coverage.gpkg"]


HOLD = "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDONLY); fcntl.flock(fd, fcntl.LOCK_EX); print(1, flush=True); time.sleep(600)"  # noqa: E501


def test_a_folder_held_by_another_process_is_refused_and_freed_by_its_kill(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    leftover = out / ".coverage-a1b2c3d4.gpkg"  # as a killed run leaves it
    leftover.write_bytes(b"half a GeoPackage")
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "1"  # it holds the lock now
        for command in (["run"], ["site", "--model", "mclp"], ["report", "--level", "district"]):
            t0 = time.monotonic()
            proc = cli(*command, "--out", out)
            line = error_line(proc)
            assert "another quarterhour command is writing into this folder" in line and str(out) in line
            assert "note:" not in proc.stderr  # refused before reading anything
            assert time.monotonic() - t0 < 30
        assert leftover.exists()  # not ours to clean while another command holds the folder
    finally:
        kill9(holder)
    proc = cli("run", "--out", out, "--quiet")  # a killed holder does not block the next run
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["coverage.gpkg"]


# --- 4. leftovers of killed runs ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_temporary_files_of_a_killed_run_are_removed_by_the_next(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    mine = [".coverage-k1ll3d00.gpkg", ".coverage-k1ll3d00.gpkg-journal", ".coverage-zz_99abc.gpkg-wal"]
    theirs = [".coverage-notes.txt", ".coverage.gpkg.bak", "notes.txt", ".sites-a1b2c3d4.gpkg"]
    for name in mine + theirs:
        (out / name).write_bytes(b"x")
    proc = start("run", "--out", out, "--quiet")
    wait_for(lambda: [p for p in out.glob(".coverage-*.gpkg") if p.name not in mine], proc)  # writing now
    kill9(proc)
    left = {p.name for p in out.iterdir()} - set(mine) - set(theirs)
    proc = cli("run", "--out", out, "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(["coverage.gpkg", *theirs]), left
    assert oct((out / "coverage.gpkg").stat().st_mode & 0o777) == "0o644"


# --- 5. the umask --------------------------------------------------------------------------------------------------


def test_written_files_honour_the_umask(tmp_path):
    code = (
        "import pandas as pd, geopandas as gpd, shapely, sys;"
        "from quarterhour.gis.export import write_table, write_layers, atomic_write;"
        "d = sys.argv[1]; write_table(pd.DataFrame({'a': [1]}), d + '/t.xlsx'); atomic_write(d + '/b.bin', b'x');"
        "write_layers({'p': gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)], crs=4326)}, d + '/l.gpkg')"
    )
    for umask, mode in ((0o027, "0o640"), (0o002, "0o664"), (0o077, "0o600")):
        folder = tmp_path / oct(umask)
        folder.mkdir()
        subprocess.run(
            [sys.executable, "-c", code, folder], cwd=ROOT, check=True, preexec_fn=lambda u=umask: os.umask(u)
        )
        assert {p.name: oct(p.stat().st_mode & 0o777) for p in folder.iterdir()} == dict.fromkeys(
            ["t.xlsx", "b.bin", "l.gpkg"], mode
        )


# --- 6. a bad --out is refused before any work ----------------------------------------------------------------------


def refused_fast(*args: object) -> str:
    t0 = time.monotonic()
    proc = cli(*args)
    line = error_line(proc)
    assert "note: no --network given" not in proc.stderr  # nothing was read: the first thing reading says
    assert time.monotonic() - t0 < 30  # a run on the sample takes longer; this is the start-up only
    return line


@pytest.mark.parametrize("command", [["run"], ["site", "--model", "mclp"], ["report", "--level", "district"]])
def test_out_that_is_a_file_is_refused_before_any_work(tmp_path, command):
    target = tmp_path / "results.gpkg"
    target.write_bytes(b"not a folder")
    line = refused_fast(*command, "--out", target)
    assert "the output path is a file, not a folder" in line and str(target) in line and "Fix:" in line
    line = refused_fast(*command, "--out", target / "sub")
    assert "part of its path is a file" in line
    assert target.read_bytes() == b"not a folder"


def test_out_that_cannot_be_written_is_refused_before_any_work(tmp_path):
    with tmpfs(tmp_path / "ro", "ro,size=1m") as ro:
        line = refused_fast("run", "--out", ro)
        assert "not writable" in line and "Read-only file system" in line and str(ro) in line
        line = refused_fast("report", "--level", "district", "--out", ro / "pack")
        assert "cannot be made" in line and "Read-only file system" in line
