"""Issue 32: the speed work changes no figure (``--isochrones none``: the run without its slowest layer)."""

from __future__ import annotations

import subprocess
import sys

import geopandas as gpd
import pyogrio


def test_isochrones_none_writes_no_reach_and_the_same_figures(tmp_path):
    runs = {}
    for kind in ("facility", "none"):
        out = tmp_path / kind
        proc = subprocess.run(
            [sys.executable, "-m", "quarterhour.cli", "run", "--out", str(out), "--isochrones", kind],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr
        runs[kind] = (proc, out / "coverage.gpkg")
    (full, full_gpkg), (bare, bare_gpkg) = runs["facility"], runs["none"]
    # the same coverage line and yardstick
    assert bare.stdout.replace(str(bare_gpkg), "") == full.stdout.replace(str(full_gpkg), "")
    layers = set(pyogrio.list_layers(bare_gpkg)[:, 0])
    assert "isochrones" not in layers and "isochrones" in set(pyogrio.list_layers(full_gpkg)[:, 0])
    assert {"facilities", "demand", "gaps"} <= layers
    a, b = (gpd.read_file(g, layer="demand") for g in (full_gpkg, bare_gpkg))
    assert a.drop(columns="geometry").equals(b.drop(columns="geometry"))
    # the step line still tells the isochrones step and its time (none: next to nothing)
    step = next(ln for ln in bare.stderr.splitlines() if "] isochrones … " in ln)
    assert step.endswith(" s") and float(step.split(" … ")[1][:-2]) >= 0


def test_the_default_is_stated_in_the_help():
    proc = subprocess.run(
        [sys.executable, "-m", "quarterhour.cli", "run", "--help"], capture_output=True, text=True, timeout=120
    )
    assert "default: facility" in " ".join(proc.stdout.split())
    assert "none" in proc.stdout
