"""Peers, whole processes: every resident's nearest-facility walk (15 min), ours against networkit and pandana.

    python benchmarks/bench_peers.py --keep /tmp/city100k            # 100k nodes, 800 facilities, 50k residents
    python benchmarks/bench_peers.py --keep /tmp/city100k --rounds 3 --peers networkit,pandana
    python benchmarks/bench_peers.py --nodes 1000000 --keep /tmp/city1m --rounds 1

The city is ``bench_cli.write_city``'s (GraphML in lon/lat, facilities GeoJSON, residents GeoPackage).
Each contender is its own process, timed by wall clock with its peak memory
(``bench_cli``'s way: GNU time's peak RSS, or the process tree's PSS), in interleaved rounds
(round 1: every contender once, then round 2 ...), the load average (``os.getloadavg``) written
beside each run: this machine is shared, and a figure is only as good as the quiet it was taken in.

- ``ours``: ``quarterhour run`` with its default outputs (800 per-facility isochrones, the GeoPackage),
  warm (its network store made by one untimed run first);
- ``ours-none``: the same with ``--isochrones none`` (the question and the coverage tables, no reach layer);
- ``base``: ``quarterhour run`` of another checkout (``--base``, e.g. a worktree of main at cdc0462), same store
  folder of its own, same inputs;
- ``networkit``: a script as a planner would write it: read the GraphML (networkx), project it, snap every point to
  its nearest corner (KD-tree), one multi-source Dijkstra from the facilities' corners (networkit);
- ``pandana``: the same reading and snapping, then ``Network.nearest_pois`` (contraction hierarchies; its
  preprocessing is most of its time);
- ``cityseer``: the same reading, straight segments in a networkx MultiGraph, ``network_structure_from_nx``, the
  facilities as one land use (assigned to their streets by cityseer), ``compute_accessibilities``' nearest distance
  at every corner (a bounded walk from each corner), read at each resident's nearest corner.

Peers are in the optional ``bench`` extra (``pip install -e .[bench]``); a peer that is not installed is skipped
and said so.
Accuracy is against ours (exact: each point snapped onto its street segment): the median and 90th percentile of the
absolute difference in minutes over residents both reach, and the share of residents whose covered flag differs.
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

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

__all__ = ["main"]

PEERS = ("networkit", "pandana", "cityseer")


def _timed(cmd: list[str], *, cwd: Path, env: dict[str, str], log: Path) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds (user + system), peak RSS MB) of ``cmd`` as a child process.

    The peak is GNU time's %M where installed; the CPU is the child's rusage, which counts what it waited for.
    """
    gnu_time = Path("/usr/bin/time")
    peak_file = Path(tempfile.mkstemp(suffix=".peak")[1])
    if gnu_time.exists():
        cmd = [str(gnu_time), "-f", "%M", "-o", str(peak_file), *cmd]
    with open(log, "w", encoding="utf-8") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd[:6])} ... failed:\n{log.read_text(errors='replace')[-2000:]}")
    text = peak_file.read_text().split() if gnu_time.exists() else []
    peak_file.unlink()
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, (float(text[-1]) / 1024 if text else usage.ru_maxrss / 1024)


# --- the peers' own scripts (run as ``bench_peers.py peer NAME ...``) ---------------------------------------


def _graphml_arrays(path: Path) -> tuple:
    """Node lon, lat and edge source, target, length from a GraphML file, streamed (``iterparse``).

    networkx's reader holds the whole graph as dicts: 19 GB for the 1M-corner city, which the kernel killed on
    this 24 GB machine; a planner's script at that size streams the file as this does.
    """
    from xml.etree.ElementTree import iterparse

    ns = "{http://graphml.graphdrawing.org/xmlns}"
    names: dict[str, str] = {}
    ids: dict[str, int] = {}
    lon: list[float] = []
    lat: list[float] = []
    src: list[int] = []
    dst: list[int] = []
    length: list[float] = []
    for _, el in iterparse(path, events=("end",)):
        tag = el.tag[len(ns) :]
        if tag == "key":
            names[el.get("id")] = el.get("attr.name")
        elif tag == "node":
            data = {names[d.get("key")]: d.text for d in el}
            ids[el.get("id")] = len(lon)
            lon.append(float(data["x"]))
            lat.append(float(data["y"]))
            el.clear()
        elif tag == "edge":
            data = {names[d.get("key")]: d.text for d in el}
            src.append(ids[el.get("source")])
            dst.append(ids[el.get("target")])
            length.append(float(data["length"]))
            el.clear()
    return np.array(lon), np.array(lat), np.array(src), np.array(dst), np.array(length)


def _read_city(folder: Path) -> tuple:
    """GraphML -> projected node xy and edges; facilities' and residents' xy in that CRS, and the CRS.

    What a planner's script does.
    """
    import geopandas as gpd
    import pyproj

    lon, lat, u, v, w = _graphml_arrays(folder / "network.graphml")
    fac = gpd.read_file(folder / "facilities.geojson")
    dem = gpd.read_file(folder / "demand.gpkg")
    crs = fac.estimate_utm_crs()
    x, y = pyproj.Transformer.from_crs(4326, crs, always_xy=True).transform(lon, lat)
    fxy = np.column_stack([fac.to_crs(crs).geometry.x, fac.to_crs(crs).geometry.y])
    dxy = np.column_stack([dem.to_crs(crs).geometry.x, dem.to_crs(crs).geometry.y])
    return np.column_stack([x, y]), u, v, w, fxy, dxy, crs


def _peer_networkit(folder: Path, speed_ms: float, out: Path) -> None:
    import networkit as nk
    from scipy.spatial import cKDTree

    xy, u, v, w, fxy, dxy, _ = _read_city(folder)
    tree = cKDTree(xy)
    fnode, dnode = tree.query(fxy)[1], tree.query(dxy)[1]
    n = len(xy)
    g = nk.Graph(n + 1, weighted=True, directed=False)
    for a, b, length in zip(u.tolist(), v.tolist(), w.tolist(), strict=True):
        g.addEdge(a, b, length, checkMultiEdge=False)
    for f in np.unique(fnode).tolist():
        g.addEdge(n, f, 0.0)
    d = nk.distance.Dijkstra(g, n, storePaths=False)
    d.run()
    dist = np.array(d.getDistances())[:n]
    dist[dist > 1e300] = np.inf
    np.save(out, dist[dnode] / speed_ms / 60)


def _peer_pandana(folder: Path, speed_ms: float, out: Path, minutes: float) -> None:
    import pandana
    import pandas as pd

    xy, u, v, w, fxy, dxy, _ = _read_city(folder)
    keep = u < v  # one edge per street (pandana's graph is two-way)
    net = pandana.Network(
        pd.Series(xy[:, 0]), pd.Series(xy[:, 1]), pd.Series(u[keep]), pd.Series(v[keep]), pd.DataFrame({"m": w[keep]})
    )
    reach_m = minutes * 60 * speed_ms * 1.5
    net.set_pois("fac", reach_m, 1, pd.Series(fxy[:, 0]), pd.Series(fxy[:, 1]))
    near = net.nearest_pois(reach_m, "fac", num_pois=1)[1].to_numpy()
    dist = np.where(near >= reach_m, np.inf, near)
    nodes = net.get_node_ids(pd.Series(dxy[:, 0]), pd.Series(dxy[:, 1])).to_numpy()
    np.save(out, dist[nodes] / speed_ms / 60)


def _peer_cityseer(folder: Path, speed_ms: float, out: Path, minutes: float) -> None:
    """The cityseer way: ``compute_accessibilities``' nearest distance at every corner, read at residents' corners.

    A projected MultiGraph with straight segments; the facilities are one land use, assigned to their streets.
    """
    import geopandas as gpd
    import networkx as nx
    import shapely
    from cityseer.metrics import layers
    from cityseer.tools import io
    from scipy.spatial import cKDTree

    xy, u, v, _, fxy, dxy, crs = _read_city(folder)
    g = nx.MultiGraph()
    g.graph["crs"] = crs
    g.add_nodes_from((str(i), {"x": x, "y": y}) for i, (x, y) in enumerate(xy.tolist()))  # keys must be str
    keep = u < v  # one edge per street: cityseer's graph is two-way
    lines = shapely.linestrings(np.stack([xy[u[keep]], xy[v[keep]]], axis=1))
    ends = zip(u[keep].astype(str).tolist(), v[keep].astype(str).tolist(), lines, strict=True)
    g.add_edges_from((a, b, {"geom": line}) for a, b, line in ends)
    nodes, _, structure = io.network_structure_from_nx(g)
    fac = gpd.GeoDataFrame({"use": ["fac"] * len(fxy)}, geometry=gpd.points_from_xy(fxy[:, 0], fxy[:, 1]), crs=crs)
    reach = round(minutes * 60 * speed_ms)
    nodes = layers.compute_accessibilities(fac, "use", ["fac"], nodes, structure, distances=[reach])
    near = nodes[f"cc_fac_nearest_max_{reach}"].to_numpy(dtype=float)
    dnode = cKDTree(xy).query(dxy)[1]
    np.save(out, near[nodes.index.get_indexer(dnode.astype(str))] / speed_ms / 60)


def _ours_minutes(gpkg: Path) -> np.ndarray:
    import geopandas as gpd

    dem = gpd.read_file(gpkg, layer="demand")
    return dem["minutes"].to_numpy(dtype=float)


# --- the benchmark -------------------------------------------------------------------------------------------


def _step_seconds(log: Path, step: str) -> float:
    """A step's seconds from a run's step lines (``[4/6] isochrones … 3.5 s``); nan if it has none."""
    import re

    found = re.findall(rf"\] {step} … ([0-9.]+) s", log.read_text(encoding="utf-8", errors="replace"))
    return float(found[-1]) if found else float("nan")


def _startups(ours: tuple[list[str], Path, dict[str, str]], rounds: int) -> list[float]:
    """Seconds from the warm run's spawn to its first step (``bench_startup.measure``), ``rounds`` times."""
    try:
        from bench_startup import measure
    except ImportError:
        return []
    cmd, root, env = ours
    args = cmd[cmd.index("quarterhour.cli") + 1 :]
    return [
        float(measure(root, args, cache=Path(env["QUARTERHOUR_CACHE"]), first_step=True)["startup"])
        for _ in range(rounds)
    ]


def _print_goals(got: dict, iso_steps: list[float], startups: list[float], *, nodes: int) -> None:
    """Issue 32's goals as measured in this run: wall (and CPU) medians, the load beside."""

    def med(name: str, i: int) -> float:
        return statistics.median(run[i] for run in got[name])

    loads = ", ".join(f"{run[3]:.1f}" for run in got["ours"])
    print(f"\nGoals (issue 32), {nodes:,} nodes; loads at ours' runs: {loads}")
    print("| goal | measured | met |\n|---|---|---|")
    if "networkit" in got:
        faster = med("ours", 0) < med("networkit", 0)
        print(
            f"| warm run, default outputs, faster than the networkit script | ours {med('ours', 0):.1f} s "
            f"({med('ours', 1):.1f} s CPU) vs {med('networkit', 0):.1f} s ({med('networkit', 1):.1f} s CPU) "
            f"| {'yes' if faster else 'no'} (by wall) |"
        )
    peak = max(run[2] for run in got["ours"])
    print(f"| peak ≤ 2 GiB (the goal is at 1M) | {peak:.0f} MB | {'yes' if peak <= 2048 else 'no'} |")
    if iso_steps:
        iso = statistics.median(iso_steps)
        met = ("yes" if iso <= 2 else "no") if nodes <= 200_000 else "– (the goal is at 100k)"
        print(f"| isochrones step ≤ 2 s (800 facilities) | {iso:.1f} s | {met} |")
    if startups:
        up = statistics.median(startups)
        print(f"| start-up (spawn to the first step) ≤ 0.7 s | {up:.2f} s | {'yes' if up <= 0.7 else 'no'} |")


def _accuracy(ours: np.ndarray, theirs: np.ndarray, minutes: float) -> str:
    both = np.isfinite(ours) & np.isfinite(theirs)
    off = np.abs(ours[both] - theirs[both])
    changed = np.mean((np.nan_to_num(ours, nan=np.inf) <= minutes) != (np.nan_to_num(theirs, nan=np.inf) <= minutes))
    return f"median {np.median(off):.2f}, p90 {np.percentile(off, 90):.2f} min off; {100 * changed:.1f}% change flag"


def main() -> None:
    """Write (or reuse) the city, then time every contender in interleaved rounds and print the table."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("mode", nargs="?", choices=("bench", "peer"), default="bench", help=argparse.SUPPRESS)
    p.add_argument("name", nargs="?", help=argparse.SUPPRESS)
    p.add_argument("--nodes", type=int, default=100_000)
    p.add_argument("--facilities", type=int, default=800)
    p.add_argument("--residents", type=int, default=50_000)
    p.add_argument("--minutes", type=float, default=15.0)
    p.add_argument("--speed-kmh", type=float, default=4.5)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--peers", default="networkit", help="comma-separated: networkit, cityseer, pandana (slow)")
    p.add_argument("--base", type=Path, help="another checkout to time beside ours, e.g. a worktree of main")
    p.add_argument("--keep", type=Path, required=False, help="the city's folder (written once, reused)")
    p.add_argument("--city", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    a = p.parse_args()
    speed_ms = a.speed_kmh / 3.6
    if a.mode == "peer":
        if a.name == "networkit":
            _peer_networkit(a.city, speed_ms, a.out)
        elif a.name == "cityseer":
            _peer_cityseer(a.city, speed_ms, a.out, a.minutes)
        else:
            _peer_pandana(a.city, speed_ms, a.out, a.minutes)
        return
    from bench_cli import write_city

    folder = a.keep or Path(tempfile.mkdtemp(prefix="peers-"))
    paths = write_city(folder, n_nodes=a.nodes, n_facilities=a.facilities, n_residents=a.residents)
    work = folder / "peers"
    work.mkdir(exist_ok=True)
    inputs = [f"--{k}={paths[k]}" for k in ("network", "facilities", "demand")]
    inputs += [f"--minutes={a.minutes:g}", f"--speed-kmh={a.speed_kmh:g}", "--force"]
    py = sys.executable
    checkouts = {"ours": ROOT, **({"base": a.base.resolve()} if a.base else {})}
    contenders: dict[str, tuple[list[str], Path, dict[str, str]]] = {}
    for name, root in checkouts.items():
        env = {**os.environ, "PYTHONPATH": str(root), "QUARTERHOUR_CACHE": str(work / f"store-{name}")}
        cmd = [py, "-m", "quarterhour.cli", "run", *inputs, "--out", str(work / name)]
        subprocess.run(cmd, cwd=root, env=env, check=True, capture_output=True)  # the store, untimed
        contenders[name] = (cmd, root, env)
        if name == "ours":
            contenders["ours-none"] = ([*cmd[:-1], str(work / "ours-none"), "--isochrones", "none"], root, env)
    for peer in [s for s in a.peers.split(",") if s]:
        try:
            __import__(peer)
        except ImportError:
            print(f"{peer}: not installed (pip install -e .[bench]); skipped", flush=True)
            continue
        me = [py, str(Path(__file__).resolve()), "peer", peer, "--city", str(folder)]
        contenders[peer] = (
            [*me, "--out", str(work / f"{peer}.npy"), f"--minutes={a.minutes:g}"],
            ROOT,
            dict(os.environ),
        )
    got: dict[str, list[tuple[float, float, float, float]]] = {k: [] for k in contenders}
    iso_steps: list[float] = []
    for r in range(a.rounds):
        for name, (cmd, cwd, env) in contenders.items():
            load = os.getloadavg()[0]
            wall, cpu, peak = _timed(cmd, cwd=cwd, env=env, log=work / f"{name}.log")
            got[name].append((wall, cpu, peak, load))
            if name == "ours":
                iso_steps.append(_step_seconds(work / "ours.log", "isochrones"))
            print(
                f"round {r + 1}: {name:10s} {wall:6.1f} s  CPU {cpu:6.1f} s  {peak:6.0f} MB  (load {load:.1f})",
                flush=True,
            )
    ours = _ours_minutes(work / "ours" / "coverage.gpkg")
    print(f"\n{a.nodes:,} nodes, {a.facilities} facilities, {a.residents:,} residents, {a.minutes:g} min; medians")
    print("| contender | wall (median) | CPU (median) | peak RSS | loads | answer |\n|---|---|---|---|---|---|")
    for name, runs in got.items():
        answer = "exact (ours)" if name.startswith("ours") else ""
        if name == "base":
            answer = _accuracy(ours, _ours_minutes(work / "base" / "coverage.gpkg"), a.minutes)
        elif name in PEERS:
            snapped = "residents at corners" if name == "cityseer" else "node-snapped"
            answer = f"{snapped}: " + _accuracy(ours, np.load(work / f"{name}.npy"), a.minutes)
        walls = [w for w, _, _, _ in runs]
        cpu = statistics.median(c for _, c, _, _ in runs)
        loads = ", ".join(f"{ld:.1f}" for *_, ld in runs)
        print(
            f"| {name} | {statistics.median(walls):.1f} s ({min(walls):.1f}–{max(walls):.1f}) | {cpu:.1f} s "
            f"| {max(pk for _, _, pk, _ in runs):.0f} MB | {loads} | {answer} |"
        )
    _print_goals(got, iso_steps, _startups(contenders["ours"], a.rounds), nodes=a.nodes)


if __name__ == "__main__":
    main()
