"""A deterministic synthetic city for benchmarks: irregular blocks, a winding river, a few bridges.

    from synthetic_city import synthetic_city
    network, facilities, demand = synthetic_city(100_000, n_facilities=800, n_residents=50_000)

A grid of about ``n_nodes`` street corners with block sides drawn from 80–200 m,
corners jittered, 8% of street segments removed (dead ends, long blocks), and a
river winding across the middle that only ``n_bridges`` streets cross. Facilities
stand 5–40 m off random corners; resident points are spread over the land with
1–300 residents each. Projected in UTM 50N (Luoyang's zone). Same seed, same city.
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely

from geo.network import StreetNetwork, network_from_arrays

__all__ = ["river_y", "synthetic_city", "to_networkx"]

CRS = "EPSG:32650"
ORIGIN = (400_000.0, 3_800_000.0)


def river_y(x: np.ndarray, width: float, height: float) -> np.ndarray:
    """Northing of the river's centre line at easting ``x``."""
    return ORIGIN[1] + height / 2 + 0.12 * height * np.sin(2 * np.pi * (x - ORIGIN[0]) / (width / 1.5))


def synthetic_city(
    n_nodes: int,
    *,
    n_facilities: int = 800,
    n_residents: int = 50_000,
    n_bridges: int | None = None,
    seed: int = 0,
) -> tuple[StreetNetwork, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n_nodes)))
    xs = ORIGIN[0] + np.concatenate([[0.0], np.cumsum(rng.uniform(80, 200, side - 1))])
    ys = ORIGIN[1] + np.concatenate([[0.0], np.cumsum(rng.uniform(80, 200, side - 1))])
    gx, gy = np.meshgrid(xs, ys)
    xy = np.column_stack([gx.ravel(), gy.ravel()]) + rng.uniform(-8, 8, (side * side, 2))
    ids = np.arange(side * side).reshape(side, side)
    u = np.concatenate([ids[:, :-1].ravel(), ids[:-1, :].ravel()])
    v = np.concatenate([ids[:, 1:].ravel(), ids[1:, :].ravel()])
    width, height = xs[-1] - xs[0], ys[-1] - ys[0]
    north = xy[:, 1] > river_y(xy[:, 0], width, height)
    crosses = north[u] != north[v]
    n_bridges = n_bridges or max(3, side // 60)
    bridge_cols = np.linspace(0, side - 1, n_bridges + 2)[1:-1].round().astype(int)
    col_u = u % side
    is_bridge = crosses & np.isin(col_u, bridge_cols) & (u // side != v // side)
    dropped = rng.random(len(u)) < 0.08
    keep = (~crosses & ~dropped) | is_bridge
    network = network_from_arrays(xy, u[keep], v[keep], crs=CRS)
    network.nodes.attrs["river"] = {"width": width, "height": height, "bridges": int(is_bridge.sum())}

    corner = rng.choice(side * side, n_facilities, replace=False)
    angle, dist = rng.uniform(0, 2 * np.pi, n_facilities), rng.uniform(5, 40, n_facilities)
    fxy = xy[corner] + np.column_stack([np.cos(angle), np.sin(angle)]) * dist[:, None]
    facilities = gpd.GeoDataFrame(
        {
            "facility_id": [f"F{i:04d}" for i in range(n_facilities)],
            "name": [f"中心 {i}" for i in range(n_facilities)],
            "category": "service_centre",
        },
        geometry=shapely.points(fxy),
        crs=CRS,
    ).set_index("facility_id", drop=False)
    rxy = np.column_stack([rng.uniform(xs[0], xs[-1], n_residents), rng.uniform(ys[0], ys[-1], n_residents)])
    on_land = np.abs(rxy[:, 1] - river_y(rxy[:, 0], width, height)) > 40
    rxy = rxy[on_land]
    demand = gpd.GeoDataFrame(
        {"demand_id": [f"R{i:06d}" for i in range(len(rxy))], "pop": rng.integers(1, 300, len(rxy)).astype(float)},
        geometry=shapely.points(rxy),
        crs=CRS,
    ).set_index("demand_id", drop=False)
    return network, facilities, demand


def to_networkx(network: StreetNetwork, speed_ms: float) -> nx.MultiDiGraph:
    """The network as an osmnx-style MultiDiGraph (x, y on nodes; length, time, geometry on edges)."""
    g = nx.MultiDiGraph(crs=network.crs)
    g.add_nodes_from((i, {"x": x, "y": y}) for i, (x, y) in enumerate(network.nodes[["x", "y"]].to_numpy()))
    e = network.edges
    for u, v, length, geom in zip(e["u"], e["v"], e["length_m"], e.geometry, strict=True):
        g.add_edge(u, v, length=length, time=length / speed_ms, geometry=geom)
        g.add_edge(v, u, length=length, time=length / speed_ms, geometry=geom)
    return g
