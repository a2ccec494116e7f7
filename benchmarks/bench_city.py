"""City-scale speed: 800 facilities on a synthetic city, ours against the osmnx-tutorial way.

    python benchmarks/bench_city.py                       # 100,000 nodes, 800 facilities, 15 min
    python benchmarks/bench_city.py --nodes 1000000 --baseline-facilities 40

Both run in the same process on the same city. Times are wall-clock seconds of
one run (city-scale runs are long; repeat the script for a median). Peak memory
is tracemalloc's peak of Python allocations during a separate run of each step
(the baseline's on its first 50 facilities), so tracing never slows the timed runs.
With ``--baseline-facilities N`` below the facility count, the baseline is timed
on N facilities and scaled up linearly, and the output says so.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import time
import tracemalloc
from collections.abc import Callable
from multiprocessing.connection import Connection

import networkx as nx
import osmnx as ox
from baselines import tutorial_isochrones
from synthetic_city import synthetic_city, to_networkx

from analysis.isochrones import facility_isochrones, merge_isochrones, nearest_isochrones
from analysis.traveltime import nearest_times, speed_ms
from geo import snap_points

__all__ = ["main", "peak_mb", "peak_rss_mb", "timed"]

SIDE_M = 50.0


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def peak_mb(fn: Callable[[], object]) -> float:
    """The peak (``tracemalloc``) of Python and NumPy allocations during ``fn`` (not GEOS's own)."""
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 1e6


def _child(fn: Callable[[], object], conn: Connection) -> None:
    fn()
    conn.send(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def peak_rss_mb(fn: Callable[[], object]) -> float:
    """Peak resident memory (MB) of a forked process that runs ``fn``: everything, GEOS and the city included."""
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_child, args=(fn, child))
    proc.start()
    peak = parent.recv()
    proc.join()
    return peak


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--nodes", type=int, default=100_000)
    p.add_argument("--facilities", type=int, default=800)
    p.add_argument("--residents", type=int, default=50_000)
    p.add_argument("--minutes", type=float, default=15)
    p.add_argument("--speed-kmh", type=float, default=4.5)
    p.add_argument("--baseline-facilities", type=int, help="time the baseline on this many facilities, then scale")
    p.add_argument("--no-baseline", action="store_true")
    a = p.parse_args()
    cutoff = a.minutes * 60
    t_city, (net, fac, dem) = timed(lambda: synthetic_city(a.nodes, n_facilities=a.facilities, n_residents=a.residents))
    print(
        f"city: {net.n_nodes:,} nodes, {len(net.edges):,} segments, {len(fac)} facilities, "
        f"{len(dem):,} resident points; built in {t_city:.1f} s"
    )

    def ours_reach():
        snaps = snap_points(fac, net)
        return facility_isochrones(net, fac, snaps, minutes=(a.minutes,), speed_kmh=a.speed_kmh, street_side_m=SIDE_M)

    def ours_nearest():
        return nearest_times(net, snap_points(fac, net), snap_points(dem, net), speed_kmh=a.speed_kmh)

    t_iso, iso = timed(ours_reach)
    t_merge, merged = timed(lambda: merge_isochrones(iso))
    t_split, _ = timed(
        lambda: nearest_isochrones(net, fac, snap_points(fac, net), minutes=(a.minutes,), speed_kmh=a.speed_kmh)
    )
    t_near, _ = timed(ours_nearest)
    print(
        f"ours: {a.minutes:g}-min isochrones, one per facility ({len(iso)}): {t_iso:.1f} s; merged: "
        f"{t_merge:.1f} s ({merged.area.iloc[0] / 1e6:.0f} km2 reached); split to the nearest facility: "
        f"{t_split:.1f} s; nearest facility for every node and resident: {t_near:.2f} s"
    )
    t_nodes, _ = timed(lambda: nearest_times(net, snap_points(fac, net), dem.iloc[:0].pipe(snap_points, net)))
    print(
        f"ours: nearest-facility time for every node alone (goal <= 0.2 s at 100k): {t_nodes:.2f} s; "
        f"isochrones + nearest for every node (goal <= 5 s at 100k): {t_iso + t_nodes:.1f} s"
    )
    m_iso, m_near = peak_mb(ours_reach), peak_mb(ours_nearest)
    rss = peak_rss_mb(lambda: (ours_reach(), ours_nearest()))
    print(
        f"ours peak memory: traced isochrones {m_iso:.0f} MB, nearest {m_near:.0f} MB; peak RSS of a process "
        f"doing both, city included (goal <= 2 GiB): {rss:.0f} MB"
    )
    if a.no_baseline:
        return

    t_graph, g = timed(lambda: to_networkx(net, speed_ms(a.speed_kmh)))
    centres = list(ox.distance.nearest_nodes(g, fac.geometry.x.to_numpy(), fac.geometry.y.to_numpy()))
    n_base = min(a.baseline_facilities or len(centres), len(centres))
    t_base, _ = timed(lambda: tutorial_isochrones(g, centres[:n_base], cutoff, SIDE_M))
    scale = len(centres) / n_base
    t_nx_near, _ = timed(lambda: nx.multi_source_dijkstra_path_length(g, set(centres), weight="time"))
    note = f" (timed on {n_base}, scaled x{scale:.1f})" if scale > 1 else ""
    print(
        f"baseline (networkx graph built in {t_graph:.1f} s, not counted): tutorial isochrones "
        f"{t_base * scale:.1f} s{note}; networkx multi-source Dijkstra to every node {t_nx_near:.2f} s"
    )
    m_base = peak_mb(lambda: tutorial_isochrones(g, centres[:50], cutoff, SIDE_M))
    print(f"baseline peak memory (first 50 facilities): {m_base:.0f} MB")
    print(
        f"ratio isochrones (goal >= 20x): {t_base * scale / t_iso:.1f}x; nearest times: {t_nx_near / t_near:.1f}x "
        f"(ours includes snapping and the {len(dem):,} residents)"
    )


if __name__ == "__main__":
    main()
