"""A command imports what it needs (issue 13: start-up is a second of a city's warm run)."""

from __future__ import annotations

import json
import subprocess
import sys

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
