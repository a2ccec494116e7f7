"""The app's answer to a click, on the sample and at city scale (issue 6: < 1 s on the sample, < 2 s for a city).

    python benchmarks/bench_app.py [--nodes 100000] [--residents 50000] [--facilities 800] [--repeat 5]

What a click on the map costs the server, part by part, as the app does it
(the browser adds its own drawing, measured by tests/test_browser.py):

- ``scenario``: coverage with one more centre (``analysis.scenario.evaluate``
  from the current state, incrementally: the new centre's walks against the
  current ones, levels, gaps), the comparison, and the new centre's isochrone;
- ``map``: what the app sends the map component after a click: the base map is
  rendered once (``quarterhour.ui.mapview.render_base``, cached by the app), a click renders
  only the scenario's layer (``quarterhour.ui.mapview.component_args``) and the arguments are
  serialised to JSON as Streamlit sends them;
- baseline: what a tool without scenarios does after a click, a full
  ``run_circle`` with the centre added (same isochrone kinds as the app).

Also printed: the page size (the map's HTML) and the peak memory of the click
(tracemalloc). Medians over ``--repeat`` clicks at different places.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
import tracemalloc

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from synthetic_city import synthetic_city

from analysis.isochrones import facility_isochrones
from analysis.pipeline import run_circle
from analysis.scenario import baseline, compare, evaluate
from geo import load_sample, read_boundaries, sample_paths, snap_points
from quarterhour.render.webmap import draw_map, map_data, map_html, scenario_layer
from quarterhour.ui.mapview import component_args, render_base

__all__ = ["bench", "grid_boundaries", "main"]

logging.disable(logging.WARNING)


def grid_boundaries(demand: gpd.GeoDataFrame) -> dict[str, gpd.GeoDataFrame]:
    """City, 2 x 2 districts, 8 x 8 sub-districts, 20 x 20 communities over the residents' extent."""
    west, south, east, north = demand.total_bounds
    out = {}
    for level, n in (("city", 1), ("district", 2), ("subdistrict", 8), ("community", 20)):
        xs, ys = np.linspace(west, east + 1, n + 1), np.linspace(south, north + 1, n + 1)
        boxes = [shapely.box(xs[i], ys[j], xs[i + 1], ys[j + 1]) for i in range(n) for j in range(n)]
        codes = [f"{level[0].upper()}{k:03d}" for k in range(len(boxes))]
        out[level] = gpd.GeoDataFrame({"code": codes, "name": codes}, geometry=boxes, crs=demand.crs)
    return out


def bench(name, network, facilities, demand, boundaries, *, repeat: int) -> None:
    t0 = time.perf_counter()
    small = len(network.nodes) <= 20_000  # as the app does
    kinds = ("facility", "merged", "nearest") if small else ("facility", "merged")

    def full_run(facs: gpd.GeoDataFrame):
        return run_circle(
            network,
            facs,
            demand,
            minutes=15,
            bands=(5, 10),
            boundaries=boundaries,
            isochrones=kinds,
            n_sites=int(small),
        )

    result = full_run(facilities)
    t_run = time.perf_counter() - t0
    print(f"  ({name}: first run {t_run:.1f} s)", flush=True)
    t0 = time.perf_counter()
    md = map_data(result, network)
    t_data = time.perf_counter() - t0
    page = map_html(draw_map(md))
    t0 = time.perf_counter()
    rendered = render_base(draw_map(md), key="map")
    t_render = time.perf_counter() - t0
    d_snap = snap_points(demand, network)
    t0 = time.perf_counter()
    base_state = baseline(network, facilities, demand, d_snap, minutes=15, boundaries=boundaries)
    t_base = time.perf_counter() - t0
    rng = np.random.default_rng(1)
    spots = result.demand.loc[~result.demand["covered"]]
    spots = spots if len(spots) >= repeat else result.demand
    picks = spots.geometry.iloc[rng.choice(len(spots), repeat, replace=False)]
    scen, draw, base = [], [], []

    def click(point):
        changes = gpd.GeoDataFrame(
            {"action": ["add"], "facility_id": [None], "name": ["new"], "category": ["neighbourhood_centre"]},
            geometry=[point],
            crs=network.crs,
        )
        t0 = time.perf_counter()
        after = evaluate(
            network, facilities, demand, d_snap, changes, minutes=15, boundaries=boundaries, base=base_state
        )
        compare(result.demand, result.gaps, result.levels, after)
        new = after.facilities[after.facilities["change"] != ""]
        reach = facility_isochrones(network, new, snap_points(new, network), minutes=[15])
        t1 = time.perf_counter()
        layer = scenario_layer(after.facilities, facilities.iloc[:0], reach)
        json.dumps(component_args(rendered, layer, height=620, returned=["last_clicked"]))
        return t1 - t0, time.perf_counter() - t1

    for point in picks:
        a, b = click(point)
        scen.append(a)
        draw.append(b)
        added = pd.concat(
            [
                facilities,
                gpd.GeoDataFrame(
                    {"name": ["new"], "category": ["neighbourhood_centre"]},
                    geometry=[point],
                    crs=network.crs,
                    index=["NEW1"],
                ),
            ]
        )
        t0 = time.perf_counter()
        full_run(added)
        base.append(time.perf_counter() - t0)
    tracemalloc.start()  # apart from the timed clicks: tracing slows Python down several times
    click(picks.iloc[0])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    s, d, b = statistics.median(scen), statistics.median(draw), statistics.median(base)
    print(
        f"{name}: {len(network.nodes):,} nodes, {len(facilities)} facilities, {len(demand):,} resident points\n"
        f"  first run {t_run:.2f} s, map layers {t_data:.2f} s, scenario baseline {t_base:.2f} s, "
        f"base map rendered {t_render:.2f} s, "
        f"page {len(page) / 1e6:.2f} MB\n"
        f"  click -> coverage: scenario {s:.3f} s + map {d:.3f} s = {s + d:.3f} s (median of {len(scen)})\n"
        f"  baseline (full run_circle with the centre added): {b:.2f} s -> {b / (s + d):.1f}x faster\n"
        f"  peak traced memory of a click: {peak / 1e6:.0f} MB"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=100_000)
    ap.add_argument("--residents", type=int, default=50_000)
    ap.add_argument("--facilities", type=int, default=800)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--skip-city", action="store_true")
    a = ap.parse_args()
    network, facilities, demand = load_sample()
    bounds = {k: v.to_crs(network.crs) for k, v in read_boundaries(sample_paths()["boundaries"]).items()}
    bench("sample (Monaco)", network, facilities, demand, bounds, repeat=a.repeat)
    if not a.skip_city:
        network, facilities, demand = synthetic_city(a.nodes, n_facilities=a.facilities, n_residents=a.residents)
        bench("synthetic city", network, facilities, demand, grid_boundaries(demand), repeat=a.repeat)


if __name__ == "__main__":
    main()
