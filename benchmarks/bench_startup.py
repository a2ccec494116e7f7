"""Start-up (issue 32): what ``quarterhour`` costs before it works, ours against a baseline checkout, interleaved.

    python benchmarks/bench_startup.py --base /path/to/baseline/checkout            # --version, --help, sample run
    python benchmarks/bench_startup.py --base ../base --city /tmp/city100k --rounds 5  # and a warm 100k-node run

Each command runs as its own process (``python -m quarterhour.cli ...``), once with this checkout first on
``PYTHONPATH`` and once with ``--base``'s, the two interleaved round by round, so a busy machine slows both
alike. GNU time (``/usr/bin/time``) gives each process's wall clock, CPU seconds (user + system) and peak
RSS. For a ``run`` the start-up is the time from the process's spawn to the start of its first step
(``reading``), recorded by a wrapper around ``quarterhour.cli.progress.Steps`` (imported before the command
in both checkouts: it adds no module either command would not load before its first step). The load
average (``os.getloadavg``) is printed beside each round; the medians go in the table.

Runs write into a temporary folder; the network store is ``--cache`` (``QUARTERHOUR_CACHE``), warmed by one
unmeasured run of each checkout first. The two checkouts' ``run`` lines (residents covered) must agree.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

__all__ = ["main", "measure"]

#: Wraps the command: the first step's start (wall clock, CPU seconds, peak RSS in KB) written to a file.
_WRAPPER = """
import os, resource, sys, time
from quarterhour.cli import progress
_call = progress.Steps.__call__
def _first(self, step, _seen=[]):
    if not _seen:
        _seen.append(step)
        r = resource.getrusage(resource.RUSAGE_SELF)
        with open(os.environ["QH_FIRST_STEP"], "w") as f:
            f.write(f"{time.time()} {r.ru_utime + r.ru_stime} {r.ru_maxrss}")
    return _call(self, step)
progress.Steps.__call__ = _first
sys.argv = ["quarterhour", *sys.argv[1:]]
from quarterhour.cli.main import console
console()
"""

#: The heavy modules a light command must not load.
HEAVY = ("geopandas", "pandas", "shapely", "pyproj", "scipy", "pyarrow", "networkx", "osmnx", "numpy")


def measure(
    checkout: Path, args: list[str], *, cache: Path, first_step: bool = False, status: int = 0
) -> dict[str, float | str]:
    """One process of ``quarterhour ARGS`` on ``checkout``: wall, cpu (s), peak RSS (MB), start-up (s) and stdout.

    Raises
    ------
    RuntimeError
        The command exited with another status than ``status``, with the end of its stderr.
    """
    with tempfile.TemporaryDirectory() as tmp:
        times, first = Path(tmp) / "time", Path(tmp) / "first"
        env = {**os.environ, "PYTHONPATH": str(checkout), "QUARTERHOUR_CACHE": str(cache), "QH_FIRST_STEP": str(first)}
        code = ["-c", _WRAPPER] if first_step else ["-m", "quarterhour.cli"]
        cmd = ["/usr/bin/time", "-f", "%e %U %S %M", "-o", str(times), sys.executable, *code, *args]
        t0 = time.time()
        proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, check=False)
        if proc.returncode != status:
            raise RuntimeError(f"{' '.join(args)} on {checkout} exited {proc.returncode}: {proc.stderr[-1500:]}")
        wall, user, system, kb = times.read_text().split()[-4:]
        out: dict[str, float | str] = {
            "wall": float(wall),
            "cpu": float(user) + float(system),
            "rss": float(kb) / 1024,
            "stdout": proc.stdout.split("; wrote")[0],
        }
        if first_step:
            at, cpu, first_kb = first.read_text().split()
            out |= {"startup": float(at) - t0, "startup_cpu": float(cpu), "startup_rss": float(first_kb) / 1024}
        return out


def heavy_loaded(checkout: Path, args: list[str]) -> list[str]:
    """The ``HEAVY`` modules ``quarterhour ARGS`` has loaded when it exits (``-X importtime``'s list)."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    proc = subprocess.run(  # not in a checkout: ``-m`` puts the current folder first on the path
        [sys.executable, "-X", "importtime", "-m", "quarterhour.cli", *args],
        cwd=tempfile.gettempdir(),
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    names = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    return [m for m in HEAVY if m in names]


def main(argv: list[str] | None = None) -> int:
    """Measure; print each round with its load, then the medians as a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", type=Path, required=True, help="the baseline checkout (e.g. a worktree of main)")
    parser.add_argument("--city", type=Path, help="a bench_cli.py --keep folder: also a warm run on that city")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cache", type=Path, help="the network store (default: a new temporary folder)")
    parser.add_argument("--skip-sample", action="store_true", help="no warm run on the bundled sample")
    args = parser.parse_args(argv)
    cache = args.cache or Path(tempfile.mkdtemp(prefix="bench-startup-cache-"))
    out = Path(tempfile.mkdtemp(prefix="bench-startup-out-"))
    checkouts = {"ours": ROOT, "base": args.base.resolve()}
    cases: dict[str, tuple[list[str], bool]] = {
        "--version": (["--version"], False),
        "--help": (["--help"], False),
        "run --help": (["run", "--help"], False),
        "usage error": (["run", "--minutes", "x", "--out", str(out / "x")], False),
    }
    if not args.skip_sample:
        cases["run, sample, warm"] = (["run", "--force", "--out", str(out / "sample")], True)
    if args.city:
        city = args.city
        cases["run, 100k city, warm"] = (
            [
                "run",
                "--force",
                *("--network", str(city / "network.graphml"), "--facilities", str(city / "facilities.geojson")),
                *("--demand", str(city / "demand.gpkg"), "--boundaries", str(city / "boundaries.gpkg")),
                *("--out", str(out / "city")),
            ],
            True,
        )
    for name, (cmd, is_run) in cases.items():  # heavy modules loaded; each run once unmeasured to warm the store
        for who, checkout in checkouts.items():
            if is_run:
                measure(checkout, cmd, cache=cache)
            else:
                print(f"{name:24s} {who}: loads {', '.join(heavy_loaded(checkout, cmd)) or 'none of ' + str(HEAVY)}")
    got: dict[tuple[str, str], list[dict]] = {}
    for r in range(args.rounds):
        for name, (cmd, is_run) in cases.items():
            order = list(checkouts.items()) if r % 2 == 0 else list(checkouts.items())[::-1]
            for who, checkout in order:
                load = os.getloadavg()[0]
                status = 2 if name == "usage error" else 0
                m = measure(checkout, cmd, cache=cache, first_step=is_run, status=status) | {"load": load}
                got.setdefault((name, who), []).append(m)
                extra = f" start-up {m['startup']:.2f} s" if is_run else ""
                print(
                    f"round {r + 1} {name:24s} {who}: {m['wall']:.2f} s wall, {m['cpu']:.2f} s cpu, "
                    f"{m['rss']:.0f} MB{extra} (load {load:.1f})",
                    flush=True,
                )
    for name, (_, is_run) in cases.items():
        if is_run and {m["stdout"] for m in got[(name, "ours")] + got[(name, "base")]}.__len__() != 1:
            raise SystemExit(f"{name}: the two checkouts' results differ")
    print("\n| command | checkout | wall s | CPU s | peak RSS MB | start-up s (CPU s, RSS MB) | load |")
    print("|---|---|---|---|---|---|---|")
    for name, (_, is_run) in cases.items():
        for who in checkouts:
            ms = got[(name, who)]
            med = {k: statistics.median(m[k] for m in ms) for k in ms[0] if k != "stdout"}
            startup = f"{med['startup']:.2f} ({med['startup_cpu']:.2f}, {med['startup_rss']:.0f})" if is_run else "–"
            loads = f"{min(m['load'] for m in ms):.1f}–{max(m['load'] for m in ms):.1f}"
            print(f"| {name} | {who} | {med['wall']:.2f} | {med['cpu']:.2f} | {med['rss']:.0f} | {startup} | {loads} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
