"""A command imports what it needs (issue 13: start-up is a second of a city's warm run)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

from quarterhour.cli.args import build_parser

#: Slow to import and needed by other commands only: siting's solver, the pack's PDF and maps, Dask, graphs.
HEAVY = ("scipy.optimize", "matplotlib", "distributed", "networkx", "osmnx", "quarterhour.pack.report", "sqlalchemy")
#: Issue 32: a run without a residents raster, a download or a traced reach does not load their readers.
HEAVY += ("rasterio", "requests", "contourpy", "scipy.spatial")

_RUN = """
import json, sys
from quarterhour.cli.main import main
status = main(["run", "--out", sys.argv[1], "--quiet"])
print(json.dumps({"status": status, "loaded": [m for m in sys.argv[2:] if m in sys.modules]}))
"""


def test_run_loads_none_of_the_other_commands_machinery(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", _RUN, str(tmp_path / "out"), *HEAVY], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1]) == {"status": 0, "loaded": []}


def test_help_still_lists_every_command():
    text = build_parser().format_help()
    for command in ("run", "site", "report", "network", "scenarios", "users", "batch"):
        assert command in text


# --- issue 32: startup ---
#: What a light command (``--version``, ``--help``, a usage error) must not load: the engine's libraries.
LIGHT_NEVER = ("geopandas", "pandas", "shapely", "pyproj", "scipy", "pyarrow", "networkx", "osmnx", "numpy")
LIGHT_NEVER += ("sqlalchemy", "tqdm", "pyogrio", "analysis.pipeline", "quarterhour.study")
#: What a run that suggests no sites, asks no time and draws on no terminal does not load (issue 32: deferred).
RUN_DEFERRED = ("analysis.siting", "analysis.hours", "tqdm", "multiprocessing", "geo.osm", "folium", "jinja2")

_LIGHT = """
import json, sys
from quarterhour.cli.main import main
statuses = []
for argv in (["--version"], ["--help"], ["run", "--help"], ["site", "--help"], ["batch", "--help"],
             ["scenarios", "--help"], ["users", "--help"], ["run", "--minutes", "x", "--out", "x"], ["nothing"]):
    try:
        statuses.append(main(argv))
    except SystemExit as exit:
        statuses.append(exit.code)
print(json.dumps({"statuses": statuses, "loaded": [m for m in sys.argv[1:] if m in sys.modules]}))
"""


def test_version_help_and_usage_errors_load_none_of_the_engine():
    proc = subprocess.run([sys.executable, "-c", _LIGHT, *LIGHT_NEVER], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.splitlines()[-1])
    assert got == {"statuses": [0, 0, 0, 0, 0, 0, 0, 2, 2], "loaded": []}
    assert "error: argument --minutes: 'x' is not a number (see 'quarterhour run --help')" in proc.stderr


_FIRST_STEP = """
import json, sys
from quarterhour.cli import progress
first = {}
call = progress.Steps.__call__
def record(self, step):
    first.setdefault(step, [m for m in ("geopandas", "pandas", "scipy") if m in sys.modules])
    return call(self, step)
progress.Steps.__call__ = record
from quarterhour.cli.main import main
status = main(["run", "--out", sys.argv[1], "--quiet"])
main(["run", "--out", sys.argv[1], "--quiet", "--force"])  # warm: the store holds the sample's network
print(json.dumps({"status": status, "first": first, "loaded": [m for m in sys.argv[2:] if m in sys.modules]}))
"""


def test_a_warm_run_starts_its_first_step_light_and_loads_nothing_deferred(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", _FIRST_STEP, str(tmp_path / "out"), *RUN_DEFERRED],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.splitlines()[-1])
    assert got["status"] == 0 and got["loaded"] == []
    assert got["first"]["reading"] == []  # the first step began before geopandas, pandas and scipy loaded
    assert got["first"]["travel_times"] == ["geopandas", "pandas", "scipy"]  # ... which the run then used


@pytest.mark.parametrize("package", ["analysis", "geo"])
def test_the_lazy_packages_still_offer_every_public_name(package):
    module = importlib.import_module(package)
    for name in module.__all__:
        value = getattr(module, name)
        if name in module._PUBLIC:  # loaded when first used; else bound when the package loads
            assert value is getattr(importlib.import_module(module._PUBLIC[name]), name), name
        else:
            assert value is getattr(importlib.import_module(value.__module__), name), name
    if package == "analysis":  # the function, not the module of the same name (imported by the parsers)
        assert callable(module.yardstick) and module.yardstick is sys.modules["analysis.yardstick"].yardstick
    assert set(module.__all__) <= set(dir(module))
    assert getattr(module, "columns" if package == "analysis" else "vocab").__name__.startswith(package)
    with pytest.raises(AttributeError):
        module.no_such_name  # noqa: B018
