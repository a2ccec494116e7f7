"""The engine as a library at city scale (issue 32): the store read, the travel-times step, the question and its floor.

    python benchmarks/bench_engine.py --nodes 1000000 --rounds 3 --base /work/base-i32

The synthetic city (``synthetic_city.py``) is written once into a network store entry (``geo.store``) and
GeoParquet points under ``--keep`` (no GraphML: networkx needs 20 GB to write a million-node one). Then
each round runs one process on this checkout and one on ``--base`` (another checkout, e.g. main), one
after the other, each timing in itself (CPU and wall seconds, and the load average beside them):

- ``store``: the entry read back, checked (hashes, key, arrays) into a ``StreetNetwork``;
- ``snap``: facilities and residents placed on the streets;
- ``times``: the travel-times step (``circle_times`` and ``circle_access``: nearest facility, per category,
  2SFCA's walks from every facility);
- ``question``: store -> each resident's nearest time (store read + snap + one ``nearest_times``);
- ``floor``: the same answer from arrays already in memory (segments' ends and lengths, the points'
  snaps): one ``scipy.sparse.csgraph`` Dijkstra and the times read off the segments' ends;
- ``question_cold`` and ``question_warm`` (a checkout with ``quarterhour.question``, issue 32): the library's
  question (``question_times``: store entry -> each resident's seconds), first for residents never asked
  about (no snaps kept; the entry as the store keeps it after its first whole read: routing arrays, and on a
  checkout with ``geo.snapgrid`` the snapping grid: see ``_ready``), then again (the snaps kept: no line, no
  tree); ``question_first``: the same with nothing kept (no snaps, no routing arrays, no grid: an entry
  written before issue 32, read whole once), after the other two in the same process. Each is checked equal
  to the ``question`` row's seconds, to the bit.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _prepare(folder: Path, n_nodes: int, n_facilities: int, n_residents: int) -> None:
    """The city into a store entry and two GeoParquet files, once."""
    if (folder / "done").exists():
        return
    sys.path.insert(0, str(HERE))
    from synthetic_city import synthetic_city

    from geo import store

    net, fac, dem = synthetic_city(n_nodes, n_facilities=n_facilities, n_residents=n_residents)
    folder.mkdir(parents=True, exist_ok=True)
    fac.to_parquet(folder / "facilities.parquet")
    dem.to_parquet(folder / "demand.parquet")
    source = {"name": "synthetic", "path": str(folder / "none"), "sha256": "0" * 64, "bytes": 0}
    options = {"clip": False, "consolidate_m": None, "crs": None}
    store._write(net, folder / "entry", key="entry", source=source, options=options, secret=b"bench-engine")
    (folder / "done").touch()


def _ready(folder: Path, root: Path) -> None:
    """The entry as ``root``'s store keeps it after a first whole read (routing arrays, a snapping grid), untimed.

    Run in a process of its own before each measuring one, so each checkout's cold question finds the entry as
    its own store would have left it (the other checkout's round may have removed what this one keeps).
    """
    code = (
        "import sys; from pathlib import Path; from geo.store import load_entry; "
        "network = load_entry(Path(sys.argv[1])).network\n"
        "try:\n from geo.snapgrid import grid_of\nexcept ImportError:\n grid_of = None\n"
        "if grid_of is not None:\n grid_of(network)"
    )
    env = {**os.environ, "PYTHONPATH": str(root), "QUARTERHOUR_STORE_KEY": "bench-engine"}
    subprocess.run([sys.executable, "-c", code, str(folder / "entry")], env=env, cwd=root, check=True)


def _clock() -> tuple[float, float]:
    return time.process_time(), time.perf_counter()


def _since(start: tuple[float, float]) -> dict:
    cpu, wall = _clock()
    return {"cpu": round(cpu - start[0], 3), "wall": round(wall - start[1], 3), "load": os.getloadavg()[0]}


def _measure(folder: Path) -> dict:
    """One process's figures on this ``sys.path``'s code."""
    import geopandas as gpd
    import numpy as np
    import scipy.sparse as sp
    from scipy.sparse.csgraph import dijkstra

    from analysis import stages
    from analysis.options import CircleOptions
    from analysis.traveltime import nearest_times
    from geo import snap_points, store

    got = {}
    fac, dem = gpd.read_parquet(folder / "facilities.parquet"), gpd.read_parquet(folder / "demand.parquet")
    try:  # issue 32: the question as a library call, snaps kept (before anything below keeps them)
        from quarterhour.question import question_times
    except ImportError:  # an older checkout
        question_times = None
    if question_times is not None:
        import shutil

        os.environ["QUARTERHOUR_STORE_KEY"] = "bench-engine"  # the key the entry was written with
        shutil.rmtree(folder / "entry" / "snaps", ignore_errors=True)
        kept = {}
        for part in ("question_cold", "question_warm", "question_first"):
            if part == "question_first":  # nothing kept: the entry read whole (and its files kept again)
                shutil.rmtree(folder / "entry" / "snaps", ignore_errors=True)
                for name in ("routing.bin", "snapgrid.bin"):
                    (folder / "entry" / name).unlink(missing_ok=True)
            t = _clock()
            kept[part] = question_times(folder / "entry", fac, dem)
            got[part] = _since(t)
    t = _clock()
    network, _ = store._read(folder / "entry", key="entry", secret=b"bench-engine")
    got["store"] = _since(t)
    t = _clock()
    f_snap, d_snap = snap_points(fac, network), snap_points(dem, network)
    got["snap"] = _since(t)
    t = _clock()
    nearest = nearest_times(network, f_snap, d_snap)
    got["nearest"] = _since(t)
    got["question"] = {k: round(sum(got[s][k] for s in ("store", "snap", "nearest")), 3) for k in ("cpu", "wall")}
    got["question"]["load"] = os.getloadavg()[0]
    options = CircleOptions(minutes=15)
    snapped = stages.snap_circle(network, fac, dem, options, demand_snap=d_snap)
    t = _clock()
    stages.circle_access(snapped, stages.circle_times(snapped, options), options)
    got["times"] = _since(t)
    # The floor: the arrays in memory, one Dijkstra, the times read off the segments' ends.
    e = network.edges
    u, v, length = e["u"].to_numpy(), e["v"].to_numpy(), e["length_m"].to_numpy()
    fs, ds = f_snap[f_snap["edge"] >= 0], d_snap[d_snap["edge"] >= 0]
    fe, de = fs["edge"].to_numpy(), ds["edge"].to_numpy()
    fpos, foff, dpos, doff = (a.to_numpy() for a in (fs["pos_m"], fs["offset_m"], ds["pos_m"], ds["offset_m"]))
    speed = 4.5 / 3.6
    t = _clock()
    n, m = network.n_nodes, len(fs)
    virt = n + np.arange(m)
    rows = np.concatenate([u, v, virt, virt])
    cols = np.concatenate([v, u, u[fe], v[fe]])
    w = np.concatenate([length, length, foff + fpos, foff + length[fe] - fpos]) / speed
    graph = sp.csr_matrix((w, (rows, cols)), shape=(n + m, n + m))  # parallel links add up: a floor, not exact
    dist = dijkstra(graph, indices=virt, min_only=True)
    floor = np.minimum(dist[u[de]] + (dpos + doff) / speed, dist[v[de]] + (length[de] - dpos + doff) / speed)
    got["floor"] = _since(t)
    ours = nearest.point_s[d_snap["edge"].to_numpy() >= 0]
    got["floor_vs_ours_max_s"] = float(np.max(np.abs(np.where(np.isfinite(ours), ours - np.minimum(ours, floor), 0))))
    got["nodes"], got["residents"] = n, len(dem)
    # the residents' snaps against GEOS's tree (untimed): the same distance to the bit, the same ones off the network
    import shapely

    tree = shapely.STRtree(network.edges.geometry.to_numpy())
    (pi, _), dist = tree.query_nearest(dem.geometry.to_numpy(), max_distance=300, return_distance=True)
    geos = np.full(len(dem), np.nan)
    geos[pi] = dist
    if not np.array_equal(geos, d_snap["offset_m"].to_numpy(), equal_nan=True):
        raise SystemExit("the residents' snaps differ from GEOS's tree")
    for part, answer in kept.items() if question_times is not None else ():
        same = all(np.array_equal(getattr(answer, f), getattr(nearest, f)) for f in ("point_s", "point_source"))
        if not same:
            raise SystemExit(f"{part}: the seconds differ from store + snap + nearest_times")
    return got


def main() -> None:
    """Prepare the city, then time both checkouts in interleaved rounds; print each figure's median."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("mode", nargs="?", choices=("bench", "measure"), default="bench", help=argparse.SUPPRESS)
    p.add_argument("--nodes", type=int, default=100_000)
    p.add_argument("--facilities", type=int, default=800)
    p.add_argument("--residents", type=int, default=50_000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--keep", type=Path, help="the prepared city's folder (default /tmp/bench-engine-<nodes>)")
    p.add_argument("--base", type=Path, help="another checkout to time beside this one (e.g. main)")
    a = p.parse_args()
    folder = a.keep or Path(f"/tmp/bench-engine-{a.nodes}")
    if a.mode == "measure":
        print(json.dumps(_measure(folder)))
        return
    _prepare(folder, a.nodes, a.facilities, a.residents)
    checkouts = {"ours": ROOT, **({"base": a.base.resolve()} if a.base else {})}
    runs: dict[str, list[dict]] = {name: [] for name in checkouts}
    for r in range(a.rounds):
        for name, root in checkouts.items():
            env = {**os.environ, "PYTHONPATH": str(root)}
            _ready(folder, root)
            cmd = [sys.executable, str(HERE / "bench_engine.py"), "measure", "--keep", str(folder)]
            out = subprocess.run(cmd, env=env, cwd=root, capture_output=True, text=True, check=True).stdout
            runs[name].append(json.loads(out.splitlines()[-1]))
            print(f"round {r + 1} {name}: {runs[name][-1]}", flush=True)
    for name, got in runs.items():
        print(f"{name} ({got[0]['nodes']:,} nodes, {got[0]['residents']:,} residents), medians of {len(got)}:")
        parts = ("store", "snap", "times", "question", "question_cold", "question_warm", "question_first", "floor")
        for part in parts:
            if part not in got[0]:
                continue
            cpu = statistics.median(g[part]["cpu"] for g in got)
            wall = statistics.median(g[part]["wall"] for g in got)
            loads = ", ".join(f"{g[part]['load']:.1f}" for g in got)
            print(f"  {part:<13} cpu {cpu:7.3f} s  wall {wall:7.3f} s  (load {loads})")


if __name__ == "__main__":
    main()
