"""Per-facility isochrones with the network's faces kept in the store against a base worktree (issue 32: iso-faces).

    python benchmarks/bench_iso_faces.py --base /work/base-iso-faces --city /tmp/iso-speed-city100k --rounds 3

Each round runs, for the base tree and this one in turn (interleaved, so both meet the same load):

- ``facility_isochrones`` on ``synthetic_city(100_000, n_facilities=800)`` in a fresh process, called twice
  (the second call's CPU seconds from ``getrusage``, one thread and two); on this tree the faces are made first
  as the store makes them (``geo.faces.network_faces``, its CPU reported apart) and kept with the network;
- ``quarterhour run`` on the written city (``bench_cli.py --keep``), warm (its own store per tree, filled by
  a first, cold run), the whole process: wall, CPU (user + sys) and peak from GNU time, and the isochrones' step
  line.

The load average (``uptime``) is printed beside each figure: on a shared machine the CPU seconds are the fair one.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _inproc(threads: int) -> None:
    """In a child: the isochrones' CPU on the synthetic city, with the faces when this tree keeps them."""
    sys.path.insert(0, str(Path.cwd() / "benchmarks"))
    from synthetic_city import synthetic_city

    from analysis.isochrones import facility_isochrones
    from geo import snap_points

    network, facilities, _ = synthetic_city(100_000, n_facilities=800, n_residents=10)
    snaps = snap_points(facilities, network)
    out = {"faces_cpu": None}
    try:
        from geo.faces import network_faces
    except ImportError:
        pass
    else:
        t = _cpu()
        network.derived["faces"] = network_faces(network.edges.geometry.to_numpy())
        out["faces_cpu"] = _cpu() - t
    calls = []
    for _ in range(2):
        t, w = _cpu(), time.perf_counter()
        iso = facility_isochrones(network, facilities, snaps, minutes=(15,))
        calls.append((_cpu() - t, time.perf_counter() - w))
    out.update(cpu=calls[1][0], wall=calls[1][1], first_cpu=calls[0][0], area_km2=float(iso.area.sum() / 1e6))
    out["threads"] = threads
    print(json.dumps(out))


def _load() -> str:
    return os.getloadavg().__repr__().strip("()").split(",")[0]


def _child_inproc(tree: Path, threads: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": str(threads)}
    load = _load()
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--inproc", str(threads)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    got["load"] = f"{load}–{_load()}"
    return got


def _run(tree: Path, city: Path, store: Path, out: Path) -> dict:
    """``quarterhour run`` as a whole process under GNU time: wall, CPU, peak MB, the isochrones' step line."""
    inputs = [f"--network={city / 'network.graphml'}", f"--facilities={city / 'facilities.geojson'}"]
    inputs += [f"--demand={city / 'demand.gpkg'}", "--minutes=15", "--speed-kmh=4.5"]
    env = {**os.environ, "QUARTERHOUR_CACHE": str(store), "PYTHONPATH": str(tree)}
    env.pop("OMP_NUM_THREADS", None)
    timing = Path(tempfile.mkstemp(suffix=".time")[1])
    load = _load()
    proc = subprocess.run(
        [
            "/usr/bin/time",
            "-f",
            "%e %U %S %M",
            "-o",
            str(timing),
            sys.executable,
            "-m",
            "quarterhour.cli",
            "run",
            *inputs,
            "--out",
            str(out),
        ],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    wall, user, system, peak_kb = timing.read_text().split()[-4:]
    timing.unlink()
    steps = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln[:1] == "["]
    iso = next((ln for ln in steps if re.search(r"isochron|等时", ln)), "")
    return {
        "wall": float(wall),
        "cpu": float(user) + float(system),
        "peak_mb": int(peak_kb) / 1024,
        "iso_step": iso,
        "steps": steps,
        "load": f"{load}–{_load()}",
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--inproc", type=int, help=argparse.SUPPRESS)
    p.add_argument("--base", type=Path, help="the base worktree")
    p.add_argument("--city", type=Path, help="a city written by bench_cli.py --keep (for the run rows)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--skip-inproc", action="store_true")
    p.add_argument("--skip-run", action="store_true")
    p.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "bench-iso-faces")
    a = p.parse_args()
    if a.inproc is not None:
        _inproc(a.inproc)
        return
    trees = {"base": a.base.resolve(), "ours": ROOT}
    rows: dict[str, list[dict]] = {}
    if not a.skip_run:
        for side, tree in trees.items():  # the cold runs fill each tree's own store
            _run(tree, a.city, a.work / side / "store", a.work / side / "cold")
    for r in range(a.rounds):
        for side, tree in trees.items():
            if not a.skip_inproc:
                for threads in (1, 2):
                    got = _child_inproc(tree, threads)
                    rows.setdefault(f"{side} isochrones {threads} thread(s)", []).append(got)
                    print(f"round {r} {side} isochrones, {threads} thread(s): {got}", flush=True)
            if not a.skip_run:
                got = _run(tree, a.city, a.work / side / "store", a.work / side / f"warm{r}")
                rows.setdefault(f"{side} run warm", []).append(got)
                print(f"round {r} {side} run warm: {json.dumps({k: v for k, v in got.items() if k != 'steps'})}")
    print("medians:")
    for name, got in rows.items():
        keys = [k for k in ("cpu", "wall", "first_cpu", "faces_cpu", "peak_mb") if got[0].get(k) is not None]
        med = {k: round(statistics.median(g[k] for g in got), 2) for k in keys}
        print(f"  {name}: {med}  loads {[g['load'] for g in got]}", flush=True)


if __name__ == "__main__":
    main()
