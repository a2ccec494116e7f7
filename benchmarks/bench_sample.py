"""Speed on the bundled sample: ours against the osmnx-tutorial way, measured in the same run.

    python benchmarks/bench_sample.py [--repeat 5]

Prints medians, the ratio (baseline / ours) and the peak Python memory of each.
(a) nearest-facility walking time to every node: networkx multi-source Dijkstra
    vs one scipy.sparse.csgraph pass;
(b) 15-minute isochrones for every facility: per facility ``nx.ego_graph`` by
    time, buffer the reached nodes and edges, ``unary_union`` (the osmnx
    isochrone tutorial) vs ``analysis.facility_isochrones``.
Issue 3 adds the synthetic 100,000- and 1,000,000-node cities.
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from collections.abc import Callable

import networkx as nx
import osmnx as ox
import shapely

from analysis.isochrones import facility_isochrones
from analysis.traveltime import nearest_times, speed_ms
from geo import load_sample, read_network, sample_paths, snap_points

__all__ = ["main", "measure", "pts_xy"]

MINUTES, SPEED_KMH, SIDE_M = 15, 4.5, 50.0


def measure(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median seconds over ``repeat`` runs, and peak traced memory (MB) of one run."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return statistics.median(times), peak


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    network, facilities, demand = load_sample()
    speed = speed_ms(SPEED_KMH)
    g = ox.project_graph(read_network(sample_paths()["network"]), to_crs=network.crs)  # the networkx reference
    for _, _, d in g.edges(data=True):
        d["time"] = d["length"] / speed
    f_snap, d_snap = snap_points(facilities, network), snap_points(demand, network)
    fac_nodes = ox.distance.nearest_nodes(g, facilities.geometry.x, facilities.geometry.y)

    def nx_nearest():
        return nx.multi_source_dijkstra_path_length(g, set(fac_nodes), weight="time")

    def ours_nearest():
        return nearest_times(network, f_snap, d_snap, speed_kmh=SPEED_KMH)

    def tutorial_isochrones():
        out = []
        for node in fac_nodes:
            sub = nx.ego_graph(g, node, radius=MINUTES * 60, distance="time")
            pts = [shapely.Point(g.nodes[n]["x"], g.nodes[n]["y"]) for n in sub.nodes]
            lines = [shapely.LineString([pts_xy(g, u), pts_xy(g, v)]) for u, v in sub.edges()]
            out.append(shapely.unary_union([p.buffer(SIDE_M) for p in pts] + [ln.buffer(SIDE_M) for ln in lines]))
        return out

    def ours_isochrones():
        return facility_isochrones(
            network, facilities, f_snap, minutes=(MINUTES,), speed_kmh=SPEED_KMH, street_side_m=SIDE_M
        )

    print(
        f"sample: {network.n_nodes} nodes, {len(network.edges)} segments, {len(facilities)} facilities, "
        f"{len(demand)} resident points; median of {args.repeat}"
    )
    for name, base, ours in (
        ("nearest-facility times", nx_nearest, ours_nearest),
        (f"{MINUTES}-min isochrones", tutorial_isochrones, ours_isochrones),
    ):
        tb, mb = measure(base, args.repeat)
        to, mo = measure(ours, args.repeat)
        print(
            f"{name:24s} baseline {tb * 1000:8.1f} ms ({mb:6.1f} MB)   ours {to * 1000:8.1f} ms ({mo:6.1f} MB)"
            f"   ratio {tb / to:5.1f}x"
        )


def pts_xy(g: nx.MultiDiGraph, n: int) -> tuple[float, float]:
    return g.nodes[n]["x"], g.nodes[n]["y"]


if __name__ == "__main__":
    main()
