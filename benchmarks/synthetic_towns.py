"""Deterministic synthetic towns in one regional ``.osm.pbf``, for batch runs (tests and ``bench_batch.py``).

    from synthetic_towns import synthetic_towns, write_pbf
    towns = synthetic_towns(16, 20_000, n_facilities=150, n_residents=10_000)
    write_pbf(towns, "region.osm.pbf")

Each town is a ``synthetic_city`` (irregular blocks, a river crossed on a few
bridges) of about ``n_nodes`` street corners, with its own seed; the towns sit on
a grid ``gap_m`` apart and one road joins each to the next, so the extract is
one walking network (``geo.osm.walk_graph_from_pbf`` keeps the largest part).
Facilities and residents come in lon/lat (WGS-84), and ``units`` holds one
polygon per town (``code`` T01…, ``name``), drawn around it with a margin. The
``.osm.pbf`` is written with pyosmium (``osmium.SimpleWriter``), the library the
reader uses: every street segment one ``highway=residential`` way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from synthetic_city import CRS, synthetic_city

__all__ = ["Towns", "synthetic_towns", "write_pbf"]


@dataclass
class Towns:
    """Towns of a region: streets in lon/lat, facilities, residents and one unit per town."""

    lonlat: np.ndarray  #: node coordinates (lon, lat), one row per node; node id = row + 1
    ways: np.ndarray  #: (n, 2) node rows of each street segment (the joining roads included)
    facilities: gpd.GeoDataFrame  #: WGS-84 points, ``facility_id``, ``name``, ``category``
    demand: gpd.GeoDataFrame  #: WGS-84 points, ``demand_id``, ``pop``
    units: gpd.GeoDataFrame  #: WGS-84 polygons, ``code``, ``name``: one per town


def synthetic_towns(
    n_towns: int,
    n_nodes: int,
    *,
    n_facilities: int = 10,
    n_residents: int = 300,
    gap_m: float = 4_000.0,
    margin_m: float = 300.0,
    seed: int = 0,
) -> Towns:
    to_ll = Transformer.from_crs(CRS, 4326, always_xy=True)
    per_row = math.ceil(math.sqrt(n_towns))
    xy_parts, way_parts, facs, dems, boxes = [], [], [], [], []
    offset, x0 = 0, 0.0
    for i in range(n_towns):
        net, fac, dem = synthetic_city(n_nodes, n_facilities=n_facilities, n_residents=n_residents, seed=seed + i)
        xy = net.nodes[["x", "y"]].to_numpy()
        span = xy.max(axis=0) - xy.min(axis=0)
        x0 = max(x0, span[0])
        shift = np.array([(i % per_row) * (x0 + gap_m), (i // per_row) * (x0 + gap_m)])
        xy_parts.append(xy + shift)
        way_parts.append(np.column_stack([net.edges["u"], net.edges["v"]]) + offset)
        if i:  # one road from the last town's first corner to this one's
            way_parts.append(np.array([[offset - len(xy_parts[-2]), offset]]))
        facs.append(_moved(fac, shift, f"T{i + 1:02d}"))
        dems.append(_moved(dem, shift, f"T{i + 1:02d}"))
        low, high = xy.min(axis=0) + shift - margin_m, xy.max(axis=0) + shift + margin_m
        boxes.append(shapely.box(*low, *high))
        offset += len(xy)
    xy = np.vstack(xy_parts)
    lon, lat = to_ll.transform(xy[:, 0], xy[:, 1])
    units = gpd.GeoDataFrame(
        {"code": [f"T{i + 1:02d}" for i in range(n_towns)], "name": [f"镇 {i + 1}" for i in range(n_towns)]},
        geometry=boxes,
        crs=CRS,
    ).to_crs(4326)
    facilities = pd.concat(facs).to_crs(4326)
    demand = pd.concat(dems).to_crs(4326)
    return Towns(np.column_stack([lon, lat]), np.vstack(way_parts), facilities, demand, units)


def _moved(points: gpd.GeoDataFrame, shift: np.ndarray, town: str) -> gpd.GeoDataFrame:
    """A town's points moved to its place, their ids prefixed with the town's code."""
    key = points.index.name or ("facility_id" if "facility_id" in points else "demand_id")
    moved = points.set_geometry(shapely.transform(points.geometry.to_numpy(), lambda c: c + shift), crs=points.crs)
    moved[key] = town + "-" + moved[key].astype(str)
    return moved.set_index(key, drop=False).rename_axis(None)


def write_pbf(towns: Towns, path: str | Path) -> Path:
    """Write the towns' streets as an ``.osm.pbf`` (nodes, then one ``highway=residential`` way per segment)."""
    import osmium

    path = Path(path)
    path.unlink(missing_ok=True)
    writer = osmium.SimpleWriter(str(path))
    try:
        for i, (lon, lat) in enumerate(towns.lonlat):
            writer.add_node(osmium.osm.mutable.Node(id=i + 1, location=(float(lon), float(lat)), version=1))
        for j, (a, b) in enumerate(towns.ways):
            way = osmium.osm.mutable.Way(id=j + 1, nodes=[int(a) + 1, int(b) + 1], tags={"highway": "residential"})
            writer.add_way(way)
    finally:
        writer.close()
    return path
