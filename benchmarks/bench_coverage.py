"""Coverage, gaps and 2SFCA at city scale, once travel times exist (issue 4's goal: <= 3 s).

    python benchmarks/bench_coverage.py [--nodes 100000] [--residents 50000] [--facilities 800]

The synthetic city gets four levels of made-up boundaries: the city, 2 x 2
districts, 8 x 8 sub-districts and 20 x 20 communities. Travel times (nearest
facility per resident, and the facility -> resident table within 15 minutes)
are computed first and timed apart; then coverage per level, gap zones and
2SFCA are timed together. Peak memory: tracemalloc's peak over a second run of
the timed part.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import geopandas as gpd
import numpy as np
import shapely
from synthetic_city import synthetic_city

from analysis import columns as C
from analysis.accessibility import two_step_fca
from analysis.coverage import coverage_by_level, nearest_facility
from analysis.gaps import gap_zones
from analysis.traveltime import od_table
from geo import snap_points

__all__ = ["grid_units", "main"]


def grid_units(bounds: tuple[float, float, float, float], n: int, prefix: str, crs: str) -> gpd.GeoDataFrame:
    x0, y0, x1, y1 = bounds
    xs, ys = np.linspace(x0, x1, n + 1), np.linspace(y0, y1, n + 1)
    boxes = [shapely.box(xs[i], ys[j], xs[i + 1], ys[j + 1]) for i in range(n) for j in range(n)]
    return gpd.GeoDataFrame(
        {"code": [f"{prefix}{k:04d}" for k in range(len(boxes))], "name": [f"{prefix}{k}" for k in range(len(boxes))]},
        geometry=boxes,
        crs=crs,
    )


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--nodes", type=int, default=100_000)
    p.add_argument("--residents", type=int, default=50_000)
    p.add_argument("--facilities", type=int, default=800)
    p.add_argument("--minutes", type=float, default=15)
    a = p.parse_args()
    net, fac, dem = synthetic_city(a.nodes, n_facilities=a.facilities, n_residents=a.residents)
    bounds = tuple(net.edges.total_bounds)
    crs = net.crs.to_string()
    levels = {
        "city": grid_units(bounds, 1, "C", crs),
        "district": grid_units(bounds, 2, "D", crs),
        "subdistrict": grid_units(bounds, 8, "S", crs),
        "community": grid_units(bounds, 20, "M", crs),
    }
    t0 = time.perf_counter()
    f_snap, d_snap = snap_points(fac, net), snap_points(dem, net)
    covered = nearest_facility(net, fac, dem, f_snap, d_snap, minutes=a.minutes)
    t_near = time.perf_counter() - t0
    t0 = time.perf_counter()
    od = od_table(net, f_snap, d_snap, cutoff_s=a.minutes * 60)
    t_od = time.perf_counter() - t0
    print(
        f"city: {net.n_nodes:,} nodes, {len(fac)} facilities, {len(dem):,} resident points; levels: "
        + ", ".join(f"{k} {len(v)}" for k, v in levels.items())
    )
    print(
        f"travel times (not in the goal): snap + nearest facility {t_near:.2f} s; "
        f"facility -> resident table within {a.minutes:g} min {t_od:.2f} s ({len(od):,} pairs)"
    )

    def analysis() -> dict[str, float]:
        times = {}
        t = time.perf_counter()
        coverage_by_level(covered, fac, levels)
        times["coverage, 4 levels"] = time.perf_counter() - t
        t = time.perf_counter()
        gaps = gap_zones(covered, boundaries=levels)
        times["gap zones"] = time.perf_counter() - t
        t = time.perf_counter()
        two_step_fca(od, np.ones(len(fac)), covered[C.POP].to_numpy(), cutoff_s=a.minutes * 60, decay="gaussian")
        times["2SFCA (gaussian)"] = time.perf_counter() - t
        times["_gaps"] = len(gaps)
        return times

    runs = [analysis() for _ in range(3)]
    tracemalloc.start()
    analysis()
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    for key in ("coverage, 4 levels", "gap zones", "2SFCA (gaussian)"):
        print(f"{key:22s} median {np.median([r[key] for r in runs]):.2f} s")
    total = np.median([sum(v for k, v in r.items() if not k.startswith("_")) for r in runs])
    print(
        f"total median {total:.2f} s (goal <= 3 s): {'met' if total <= 3 else 'NOT met'}; "
        f"{int(runs[0]['_gaps'])} gap zones; peak traced memory {peak:.0f} MB"
    )


if __name__ == "__main__":
    main()
