"""Issue 25: one way in (load_study), one set of options (CircleOptions), the run in stages, ``qh``'s namespace."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import FrozenInstanceError
from pathlib import Path

import numpy as np
import pytest

import quarterhour as qh
from analysis import columns as C
from analysis import stages
from analysis.groups import Group
from analysis.options import CircleOptions
from analysis.traveltime import MODE_SPEEDS_KMH, WALK_KMH
from geo import InputError, load_sample
from quarterhour.cli.args import build_parser, circle_options
from quarterhour.study import StudySpec, load_study

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sample():
    return load_sample()


@pytest.fixture(scope="module")
def study():
    return load_study(StudySpec(boundaries="sample", snap=True))


def test_the_namespace_offers_every_public_name_and_loads_them_lazily():
    public = set(qh.__all__) - {"__version__"}
    assert public == set(qh._PUBLIC)
    for name in ("load_study", "CircleOptions", "run_circle", "plan_sites", "evaluate", "write_pack"):
        assert name in public and callable(getattr(qh, name))
    # importing the package alone loads none of the engine (the CLI's start-up stays short: test_startup.py)
    code = "import sys, quarterhour; print(any(m in sys.modules for m in ('geopandas', 'analysis', 'geo')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = qh.nothing


def test_options_are_one_frozen_value_with_the_defaults_in_one_place():
    o = CircleOptions()
    assert o.speed_kmh == WALK_KMH == MODE_SPEEDS_KMH["walk"]
    assert CircleOptions(mode="ebike").speed_kmh == MODE_SPEEDS_KMH["ebike"]
    assert CircleOptions(mode="bike").replace(mode="walk").speed_kmh == WALK_KMH  # the mode's speed follows the mode
    with pytest.raises(FrozenInstanceError):
        o.minutes = 10
    assert hash(CircleOptions(category_minutes={"a": 5})) == hash(CircleOptions(category_minutes=[("a", 5.0)]))
    with pytest.raises(InputError, match="unknown isochrone kind"):
        CircleOptions(isochrones=("cloud",))
    with pytest.raises(InputError, match="speed_kmh is -1"):
        CircleOptions(speed_kmh=-1)
    with pytest.raises(TypeError, match="unknown circle option"):
        CircleOptions.of(None, minuets=10)
    # the parser's help says the one default, and the parser builds the same value
    run = build_parser()._subparsers._group_actions[0].choices["run"].format_help()
    assert f"walk {WALK_KMH:g}" in run and f"{WALK_KMH:g} km/h for walking" in run
    args = build_parser().parse_args(["run", "--out", "x", "--group", "60岁以上=3.2", "--suggest", "2"])
    assert circle_options(args) == CircleOptions(groups=(Group("60岁以上", 3.2),), n_sites=2, isochrones=("facility",))


def test_the_stages_compose_to_run_circle(sample):
    network, facilities, demand = sample
    options = CircleOptions(minutes=10, bands=(5,), n_sites=1, isochrones=("facility", "merged"))
    whole = qh.run_circle(network, facilities, demand, options)
    snapped = stages.snap_circle(network, facilities, demand, options)
    times = stages.circle_times(snapped, options)
    access = stages.circle_access(snapped, times, options)
    reach = stages.circle_reach(snapped, options)
    sites = stages.circle_sites(snapped, access.demand, options)
    assert (whole.demand["covered"].to_numpy() == times["covered"].to_numpy()).all()
    assert np.allclose(whole.demand[C.ACCESS], access.demand[C.ACCESS])
    assert sorted(reach.reach["minutes"]) == [5.0, 10.0] and len(whole.reach) == 2
    assert len(sites) == len(whole.sites) == 1
    # the old keywords give the same run as the options value
    old = qh.run_circle(
        network, facilities, demand, minutes=10, bands=[5], n_sites=1, isochrones=("facility", "merged")
    )
    assert old.summary == whole.summary
    # independent check of the times stage: covered residents are those within 10 minutes at 4.5 km/h
    assert ((times["minutes"] <= 10) == times["covered"]).all()


def test_load_study_is_the_cli_s_way_in_and_runs_as_a_study(study, sample):
    network, facilities, demand = sample
    assert study.network.crs == network.crs and len(study.facilities) == len(facilities)
    assert float(study.demand["pop"].sum()) == pytest.approx(float(demand["pop"].sum()))
    assert [name for name, _ in study.choices] == ["facilities.geojson", "demand.geojson"]
    assert study.demand_snap is not None and len(study.demand_snap) == len(study.demand)
    assert list(study.boundaries) == ["city", "district", "subdistrict", "community"]
    result = qh.run_circle(study, study.options(n_sites=0, isochrones=("merged",)))
    direct = qh.run_circle(network, facilities, demand, n_sites=0, isochrones=("merged",))
    assert result.summary.pop_covered == pytest.approx(direct.summary.pop_covered)
    assert set(result.levels) == set(study.boundaries)


def test_load_study_reads_a_units_table_in_any_face(tmp_path, sample):
    """A table of units' residents (no coordinates), matched to the review units: now in the app and batch too."""
    units = qh.load_study(StudySpec(boundaries="sample")).boundaries["district"]
    table = tmp_path / "units.csv"
    rows = "".join(f"{code},{1000 * (i + 1)}\n" for i, code in enumerate(units["code"]))
    table.write_text("区划代码,常住人口\n" + rows, encoding="utf-8")
    study = load_study(StudySpec(demand=table, boundaries="sample"))
    assert float(study.demand["pop"].sum()) == pytest.approx(sum(1000 * (i + 1) for i in range(len(units))))
    with pytest.raises(InputError, match="no coordinates, only units"):
        load_study(StudySpec(demand=table))


@pytest.mark.slow
def test_the_docs_build_with_warnings_as_errors(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-E", "-b", "html", "docs", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    api = (tmp_path / "api.html").read_text(encoding="utf-8")
    for name in ("load_study", "CircleOptions", "run_circle", "circle_times", "plan_sites", "write_pack"):
        assert f'id="quarterhour.{name}"' in api
    assert "统一入口" in (tmp_path / "guide.zh.html").read_text(encoding="utf-8")


def _raster(path: Path, network) -> tuple[Path, float]:
    """A 100 m population GeoTIFF in the network's UTM zone, inside its streets' bounds: 10 residents a cell."""
    import rasterio
    from rasterio.transform import from_origin

    west, south, east, north = network.nodes.total_bounds
    grid = np.full((int((north - south) // 100) - 1, int((east - west) // 100) - 1), 10.0, dtype="float32")
    shape = {"width": grid.shape[1], "height": grid.shape[0], "count": 1, "dtype": "float32"}
    where = {"crs": network.crs.to_wkt(), "transform": from_origin(west + 50, north - 50, 100, 100)}
    with rasterio.open(path, "w", driver="GTiff", **shape, **where) as dst:
        dst.write(grid, 1)
    return path, float(grid.sum())


def test_a_unit_table_in_the_app_and_a_raster_in_batch(tmp_path, sample):
    """Every source in every face: the app reads a table of units' residents, batch a population raster."""
    from quarterhour.batch.run import BatchInputs, prepare_batch
    from quarterhour.ui.compute import load_points
    from quarterhour.ui.values import Inputs

    network, _, _ = sample
    units = load_study(StudySpec(boundaries="sample")).boundaries["district"]
    table = tmp_path / "districts.csv"
    table.write_text("区划代码,常住人口\n" + "".join(f"{c},{500 * (i + 1)}\n" for i, c in enumerate(units["code"])))
    points = load_points(Inputs(demand=str(table), units="sample"))
    assert float(points.demand["pop"].sum()) == pytest.approx(sum(500 * (i + 1) for i in range(len(units))))
    assert len(points.demand_snap) == len(points.demand)

    tif, total = _raster(tmp_path / "pop.tif", network)
    prepared = prepare_batch(
        BatchInputs(
            units=str(ROOT / "data/sample/boundaries.geojson"),
            network=ROOT / "data/sample/network.graphml",
            facilities=ROOT / "data/sample/facilities.geojson",
            demand=tif,
        )
    )
    shared = sum(float(job.demand["pop"].sum()) for job in prepared.jobs)
    assert 0 < shared <= total + 1e-6 and any("residents from" in n for n in prepared.notes)
