"""Isochrones from the street segments actually reached, never a convex hull.

Each segment is taken whole when walkers reach all of it in time, cut at the
cutoff when they reach only part of it (from one end or both), then buffered by
a street-side distance and dissolved. Land that no street reaches in time
(across a river, behind a rail line) stays out.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.ops import substring

from analysis import columns as C
from analysis.traveltime import WALK_KMH, reach_table, speed_ms
from geo.network import StreetNetwork

__all__ = ["facility_isochrones", "merge_isochrones", "reached_lines"]

STREET_SIDE_M = 50.0
MIN_HOLE_M2 = 1.0  # holes smaller than this are float noise between buffers


def reached_lines(
    network: StreetNetwork,
    node_s: np.ndarray,
    cutoff_s: float,
    *,
    speed_kmh: float = WALK_KMH,
) -> np.ndarray:
    """The parts of street segments reached within ``cutoff_s`` given seconds at every node.

    Returns an array of LineStrings: whole segments, and the reached ends of
    segments only partly walked in time.
    """
    speed = speed_ms(speed_kmh)
    e = network.edges
    length = e["length_m"].to_numpy()
    tu, tv = node_s[e["u"].to_numpy()], node_s[e["v"].to_numpy()]
    with np.errstate(invalid="ignore"):
        a = np.clip((cutoff_s - tu) * speed, 0, length)  # metres walked in from u
        b = np.clip((cutoff_s - tv) * speed, 0, length)  # metres walked in from v
    a, b = np.nan_to_num(a, nan=0.0, neginf=0.0), np.nan_to_num(b, nan=0.0, neginf=0.0)
    geoms = e.geometry.to_numpy()
    full = (a + b >= length) & ((a > 0) | (b > 0) | (length == 0))
    pieces = list(geoms[full])
    for i in np.flatnonzero(~full & (a > 0)):
        pieces.append(substring(geoms[i], 0.0, a[i]))
    for i in np.flatnonzero(~full & (b > 0)):
        pieces.append(substring(geoms[i], length[i] - b[i], length[i]))
    return np.asarray(pieces, dtype=object)


def _own_segment(
    network: StreetNetwork, point: shapely.Point, snap: pd.Series, cutoff_s: float, speed: float
) -> list[shapely.LineString]:
    """The walk from the facility to its street, and along its own segment both ways."""
    reach_m = cutoff_s * speed
    line = network.edges.geometry.iloc[int(snap["edge"])]
    on_street = shapely.line_interpolate_point(line, snap["pos_m"])
    access = shapely.LineString([point, on_street])
    out = [substring(access, 0.0, min(reach_m, access.length))] if access.length > 0 else []
    r = reach_m - snap["offset_m"]
    if r > 0:
        out.append(substring(line, max(0.0, snap["pos_m"] - r), min(line.length, snap["pos_m"] + r)))
    return out


def _polygon(lines: Sequence[shapely.Geometry], street_side_m: float) -> shapely.Geometry:
    lines = [g for g in lines if g is not None and not g.is_empty]
    if not lines:
        return shapely.Polygon()
    merged = shapely.union_all(shapely.buffer(np.asarray(lines, dtype=object), street_side_m, quad_segs=4))
    return _drop_slivers(shapely.make_valid(merged))


def _drop_slivers(geom: shapely.Geometry) -> shapely.Geometry:
    """Remove holes smaller than MIN_HOLE_M2; real holes (unreached blocks) stay."""
    polys = getattr(geom, "geoms", [geom])
    kept = [
        shapely.Polygon(p.exterior, [r for r in p.interiors if shapely.Polygon(r).area >= MIN_HOLE_M2])
        for p in polys
        if isinstance(p, shapely.Polygon) and not p.is_empty
    ]
    return shapely.MultiPolygon(kept) if len(kept) > 1 else (kept[0] if kept else shapely.Polygon())


def facility_isochrones(
    network: StreetNetwork,
    facilities: gpd.GeoDataFrame,
    snaps: pd.DataFrame,
    *,
    minutes: Sequence[float] = (15,),
    speed_kmh: float = WALK_KMH,
    street_side_m: float = STREET_SIDE_M,
) -> gpd.GeoDataFrame:
    """One isochrone polygon per facility and threshold.

    Parameters
    ----------
    facilities
        Facility points in ``network.crs``.
    snaps
        ``geo.snap_points(facilities, network)``.
    minutes
        Thresholds; bands nest (the 10-minute polygon lies inside the 15-minute one).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``facility_id``, ``band_min``, ``geometry``; facilities off the
        network get no rows.
    """
    speed = speed_ms(speed_kmh)
    bands = sorted(float(m) for m in minutes)
    reach = reach_table(network, snaps, cutoff_s=bands[-1] * 60, speed_kmh=speed_kmh)
    by_source = {i: grp for i, grp in reach.groupby("source", sort=True)}
    rows = []
    for i, (fid, snap) in enumerate(snaps.iterrows()):
        if snap["edge"] < 0:
            continue
        node_s = np.full(network.n_nodes, np.inf)
        if i in by_source:
            node_s[by_source[i]["node"].to_numpy()] = by_source[i]["seconds"].to_numpy()
        for band in bands:
            cutoff_s = band * 60
            lines = list(reached_lines(network, node_s, cutoff_s, speed_kmh=speed_kmh))
            lines += _own_segment(network, facilities.geometry.loc[fid], snap, cutoff_s, speed)
            rows.append({C.FACILITY_ID: fid, C.BAND_MIN: band, "geometry": _polygon(lines, street_side_m)})
    return gpd.GeoDataFrame(rows, columns=[C.FACILITY_ID, C.BAND_MIN, "geometry"], geometry="geometry", crs=network.crs)


def merge_isochrones(isochrones: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The combined reach of all facilities, one polygon per threshold."""
    merged = [
        {C.BAND_MIN: band, "geometry": _drop_slivers(shapely.make_valid(shapely.union_all(group.geometry.values)))}
        for band, group in isochrones.groupby(C.BAND_MIN, sort=True)
    ]
    return gpd.GeoDataFrame(merged, columns=[C.BAND_MIN, "geometry"], geometry="geometry", crs=isochrones.crs)
