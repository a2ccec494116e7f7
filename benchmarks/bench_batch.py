"""``quarterhour batch`` on one machine: 1 worker, then 2; the speed-up, and the peak memory of each worker.

    python benchmarks/bench_batch.py                                 # 16 towns of ~20k street corners (issue 19)
    python benchmarks/bench_batch.py --towns 4 --nodes 5000          # a quick check (a few minutes)
    python benchmarks/bench_batch.py --keep region/                  # keep the files (and reuse them next time)

It writes the region as a planner would have it (``synthetic_towns.py``): the
streets of every town as one ``.osm.pbf``, facilities and residents as GeoJSON
and one unit per town. The network is prepared into a fresh store once
(``quarterhour network``, timed on its own: a batch does it once too, and every
later batch reads the store). Then ``quarterhour batch --workers N`` runs as its
own process for each N, into a new folder each time, timed by wall clock. While
it runs, every worker process (the ``LocalCluster``'s, children of the batch
process) is sampled with psutil every 0.2 s: its peak resident memory (RSS, the
whole process) is kept. The manifest gives each unit's own time on its worker.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
from synthetic_towns import synthetic_towns, write_pbf

ROOT = Path(__file__).resolve().parent.parent
MB = 1024.0 * 1024.0


def write_region(folder: Path, *, towns: int, nodes: int, facilities: int, residents: int) -> dict[str, Path]:
    paths = {
        name: folder / f"{name}{suffix}"
        for name, suffix in [
            ("network", ".osm.pbf"),
            ("facilities", ".geojson"),
            ("demand", ".geojson"),
            ("units", ".geojson"),
        ]
    }
    if all(p.exists() for p in paths.values()):
        return paths
    t = synthetic_towns(towns, nodes, n_facilities=facilities, n_residents=residents)
    write_pbf(t, paths["network"])
    t.facilities.to_file(paths["facilities"])
    t.demand.to_file(paths["demand"])
    t.units.to_file(paths["units"])
    return paths


class Sampler(threading.Thread):
    """Peak RSS (MB) of each worker process of a batch, and of the batch's own process, sampled every 0.2 s."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.peaks: dict[int, float] = {}
        self.client_peak = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        """Sample until ``stop`` is set."""
        while not self.stop.is_set():
            try:
                self.client_peak = max(self.client_peak, self.root.memory_info().rss / MB)
                for child in self.root.children(recursive=True):
                    if "spawn_main" in " ".join(child.cmdline()):  # a worker (not the resource tracker)
                        self.peaks[child.pid] = max(self.peaks.get(child.pid, 0.0), child.memory_info().rss / MB)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
            self.stop.wait(0.2)


def run_batch(paths: dict[str, Path], out: Path, workers: int, env: dict[str, str]) -> dict:
    cmd = [sys.executable, "-m", "quarterhour.cli", "batch", "--units", str(paths["units"])]
    cmd += ["--network", str(paths["network"]), "--facilities", str(paths["facilities"])]
    cmd += ["--demand", str(paths["demand"]), "--out", str(out), "--workers", str(workers), "--quiet"]
    started = time.perf_counter()
    with (out.parent / f"batch-{workers}.log").open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        sampler = Sampler(proc.pid)
        sampler.start()
        status = proc.wait()
    wall = time.perf_counter() - started
    sampler.stop.set()
    sampler.join()
    if status != 0:
        raise RuntimeError(f"batch --workers {workers} failed ({status}): see {log.name}")
    units = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["units"]
    unit_s = [u["seconds"] for u in units.values()]
    return {
        "workers": workers,
        "wall_s": wall,
        "units": len(units),
        "unit_s_mean": sum(unit_s) / len(unit_s),
        "unit_s_max": max(unit_s),
        "worker_peak_mb": sorted(sampler.peaks.values(), reverse=True),
        "client_peak_mb": sampler.client_peak,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--towns", type=int, default=16)
    p.add_argument("--nodes", type=int, default=20_000, help="street corners per town")
    p.add_argument("--facilities", type=int, default=150, help="facilities per town")
    p.add_argument("--residents", type=int, default=10_000, help="resident points per town")
    p.add_argument("--workers", default="1,2", help="worker counts to run, in order")
    p.add_argument("--keep", type=Path, help="keep the region's files here (and reuse them)")
    args = p.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-batch-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    paths = write_region(work, towns=args.towns, nodes=args.nodes, facilities=args.facilities, residents=args.residents)
    print(
        f"region: {args.towns} towns of ~{args.nodes:,} corners, written in {time.perf_counter() - started:.1f} s "
        f"({paths['network'].stat().st_size / MB:.1f} MB .osm.pbf)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QUARTERHOUR_CACHE": str(work / "cache")}
    started = time.perf_counter()
    prepared = subprocess.run(
        [sys.executable, "-m", "quarterhour.cli", "network", str(paths["network"])],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    print(f"prepared once in {time.perf_counter() - started:.1f} s: {prepared.stdout.splitlines()[0]}")
    results = []
    for n in (int(w) for w in args.workers.split(",")):
        out = work / f"out-{n}"
        if out.exists():
            shutil.rmtree(out)
        r = run_batch(paths, out, n, env)
        results.append(r)
        peaks = ", ".join(f"{mb:,.0f}" for mb in r["worker_peak_mb"])
        print(
            f"{n} worker(s): {r['wall_s']:.1f} s for {r['units']} units; per unit on its worker "
            f"{r['unit_s_mean']:.1f} s (longest {r['unit_s_max']:.1f} s); peak RSS per worker {peaks} MB; "
            f"client {r['client_peak_mb']:,.0f} MB"
        )
    if len(results) > 1:
        print(
            f"speed-up {results[0]['workers']} -> {results[-1]['workers']} workers: "
            f"{results[0]['wall_s'] / results[-1]['wall_s']:.2f}x"
        )


if __name__ == "__main__":
    main()
