"""``quarterhour site`` at city scale, timed as a whole process: wall clock and peak RSS.

    python benchmarks/bench_site.py [--nodes 100000] [--runs 3] [--repo PATH] [--dir DIR]

Issue 13's goal: ``quarterhour site --model mclp --k 20`` with the default
candidate grid on the synthetic 100k city (800 facilities, 50,000 residents) in
<= 15 s and <= 2 GiB, whole process. The city is written once to ``--dir`` as
GraphML and GeoJSON. Each run is a child process (``python -m quarterhour.cli``
from ``--repo``, so the same script times another checkout as the baseline);
peak RSS is ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` of a fresh wrapper per run.
The same is timed for a process that only reads and prepares the network, the
part that the network store (issue 13 item 1) takes away. Medians are quoted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

__all__ = ["main", "timed_child", "write_city"]

HERE = Path(__file__).resolve().parent

_WRAPPER = """
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
proc = subprocess.run(sys.argv[2:], cwd=sys.argv[1], capture_output=True, text=True)
wall = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"wall_s": wall, "peak_mb": peak, "rc": proc.returncode, "out": proc.stdout, "err": proc.stderr}))
"""

_LOAD_ONLY = (
    "import sys; from geo import read_network, prepare_network; "
    "net = prepare_network(read_network(sys.argv[1])); print(net.n_nodes)"
)


def write_city(nodes: int, folder: Path) -> dict[str, Path]:
    """The synthetic city as files the command reads (made once per folder)."""
    import osmnx as ox
    from synthetic_city import synthetic_city, to_networkx

    folder.mkdir(parents=True, exist_ok=True)
    kinds = (("network", "graphml"), ("facilities", "geojson"), ("demand", "geojson"))
    paths = {n: folder / f"{n}_{nodes}.{ext}" for n, ext in kinds}
    if all(p.exists() for p in paths.values()):
        return paths
    net, fac, dem = synthetic_city(nodes, n_facilities=800, n_residents=50_000)
    ox.save_graphml(to_networkx(net, 1.25), paths["network"])
    fac.to_crs(4326).to_file(index=False, filename=paths["facilities"], driver="GeoJSON")
    dem.to_crs(4326).to_file(index=False, filename=paths["demand"], driver="GeoJSON")
    return paths


def timed_child(repo: Path, argv: list[str]) -> dict:
    """Wall clock and peak RSS of ``argv`` run in ``repo``, through a fresh wrapper process."""
    out = subprocess.run([sys.executable, "-c", _WRAPPER, str(repo), *argv], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--nodes", type=int, default=100_000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--repo", type=Path, default=HERE.parent, help="the checkout whose code runs")
    p.add_argument("--dir", type=Path, default=Path("/tmp/quarterhour_bench_site"))
    p.add_argument("--k", type=int, default=20)
    p.add_argument("--load-only", action="store_true", help="also time reading + preparing the network alone")
    a = p.parse_args()
    paths = write_city(a.nodes, a.dir)
    cmd = [
        sys.executable, "-m", "quarterhour.cli", "site", "--network", str(paths["network"]),
        "--facilities", str(paths["facilities"]), "--demand", str(paths["demand"]),
        "--model", "mclp", "--k", str(a.k), "--out", str(a.dir / "out"), "--force",
    ]  # fmt: skip
    runs = []
    for i in range(a.runs):
        r = timed_child(a.repo, cmd)
        runs.append(r)
        print(f"run {i + 1}: {r['wall_s']:.1f} s, peak {r['peak_mb']:,.0f} MB, exit {r['rc']}", flush=True)
        if r["rc"]:
            print(r["err"][-2000:])
    print(runs[-1]["out"].strip())
    wall = statistics.median(r["wall_s"] for r in runs)
    peak = statistics.median(r["peak_mb"] for r in runs)
    print(f"quarterhour site --model mclp --k {a.k} ({a.repo}): median {wall:.1f} s, peak {peak:,.0f} MB "
          f"(goal <= 15 s, <= 2,048 MB)")  # fmt: skip
    if a.load_only:
        loads = [timed_child(a.repo, [sys.executable, "-c", _LOAD_ONLY, str(paths["network"])]) for _ in range(a.runs)]
        print(
            f"reading + preparing the network alone: median {statistics.median(r['wall_s'] for r in loads):.1f} s, "
            f"peak {statistics.median(r['peak_mb'] for r in loads):,.0f} MB"
        )


if __name__ == "__main__":
    main()
