"""A category judged at its own walking speed (``--categories`` with ``speed_kmh``), checked against the engine.

A service centre at 3.2 km/h in a run at 4.5 km/h must cover exactly the residents a fresh run at 3.2 km/h
covers (15 minutes at 3.2 km/h, an 800 m walk); under GB 50180 the speed does not matter, and the notes say so.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from analysis import columns as C
from analysis.pipeline import run_circle
from geo import read_categories
from geo.errors import InputError

OLD = "service_centre"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "quarterhour.cli", *args], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def at_own_speed(sample):
    network, facilities, demand = sample
    return run_circle(network, facilities, demand, category_speed={OLD: 3.2}, isochrones=(), n_sites=0, speed_kmh=4.5)


def test_a_category_at_its_own_speed_covers_what_the_engine_covers_at_that_speed(sample, at_own_speed):
    network, facilities, demand = sample
    slow = run_circle(network, facilities, demand, speed_kmh=3.2, isochrones=(), n_sites=0)
    fast = run_circle(network, facilities, demand, speed_kmh=4.5, isochrones=(), n_sites=0)
    mine = at_own_speed.demand[C.covered_by(OLD)]
    assert mine.equals(slow.demand[C.covered_by(OLD)])  # point by point, as the engine at 3.2 km/h
    assert mine.sum() < fast.demand[C.covered_by(OLD)].sum()  # and fewer than at 4.5 km/h
    walk = at_own_speed.demand[C.minutes_of(OLD)] * 60 * 4.5 / 3.6  # metres to the nearest service centre
    assert np.array_equal(mine.to_numpy(), np.nan_to_num(walk, nan=np.inf) <= 800 + 1e-9)  # 15 min at 3.2 km/h
    for other in ("neighbourhood_centre", "liaison_point", "study_room"):  # the others keep the run's speed
        assert at_own_speed.demand[C.covered_by(other)].equals(fast.demand[C.covered_by(other)]), other
    assert at_own_speed.summary.pop_covered == fast.summary.pop_covered  # the circle itself: any category, 4.5
    said = [str(n) for n in at_own_speed.skipped]
    assert "service_centre judged at its own speed: 15 minutes at 3.2 km/h, a 800 m walk" in said


def test_under_gb50180_the_categorys_speed_does_not_matter(sample):
    network, facilities, demand = sample
    plain = run_circle(network, facilities, demand, standard="gb50180", isochrones=(), n_sites=0)
    slow = run_circle(
        network, facilities, demand, standard="gb50180", category_speed={OLD: 3.2}, isochrones=(), n_sites=0
    )
    assert slow.demand[C.covered_by(OLD)].equals(plain.demand[C.covered_by(OLD)])
    said = [str(n) for n in slow.skipped]
    assert "the categories' own speeds are not used: gb50180 judges by network walking distance" in said


def test_the_categories_table_reads_a_speed_and_refuses_a_bad_one(tmp_path):
    path = tmp_path / "categories.csv"
    pd.DataFrame({"category": ["党群服务中心", "邻里中心"], "minutes": [15, 10], "speed_kmh": [3.2, None]}).to_csv(
        path, index=False, encoding="gbk"
    )
    table = read_categories(path)
    assert table.loc[OLD, "speed_kmh"] == 3.2 and table["speed_kmh"].notna().sum() == 1
    path.write_text("category,minutes,speed_kmh\nservice_centre,15,slow\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_categories(path)
    assert "row 2" in str(err.value) and "speed_kmh" in str(err.value) and "positive" in str(err.value)


def test_the_cli_runs_a_category_at_its_speed_and_says_so(tmp_path):
    path = tmp_path / "categories.csv"
    path.write_text("category,minutes,speed_kmh\n党群服务中心,15,3.2\n", encoding="utf-8")
    proc = run_cli("run", "--categories", str(path), "--out", str(tmp_path / "out"), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "note: service_centre judged at its own speed: 15 minutes at 3.2 km/h, a 800 m walk" in proc.stderr
    proc = run_cli("run", "--categories", str(path), "--standard", "gb50180", "--out", str(tmp_path / "gb"), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "note: the categories' own speeds are not used: gb50180 judges by network walking distance" in proc.stderr
    path.write_text("category,minutes,speed_kmh\n党群服务中心,15,-1\n", encoding="utf-8")
    proc = run_cli("run", "--categories", str(path), "--out", str(tmp_path / "bad"), "--quiet")
    assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "speed_kmh" in proc.stderr and "Traceback" not in proc.stderr
