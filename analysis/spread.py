"""Coarse units counted fairly: a cell's or area's residents spread over where people can live inside it.

A 1 km population cell's residents do not live at its centre: a centre in a park,
a river or a factory compound would count them all off the network, or at the
wrong walking time. So every cell or area (polygon with ``pop``) is spread:

- over the building footprints inside it, by floor area, where given;
- else along the streets inside it, in proportion to their length: each street
  segment is clipped to the unit and a resident point is put every ``STEP_M``
  metres along the clipped piece (at the middle of each of its equal parts);
- only the part of the unit with no street within ``max_snap_m`` counts as off
  the network: its share of the unit (measured on a lattice of up to 16 x 16
  points in the unit) is put at one point of that part, flagged ``off_network``
  so that snapping counts it off-network (``geo.snap_points``); a unit with no
  street inside but near one keeps the rest at a point of its near part.

Residents are apportioned to whole persons (largest remainder), twice: the units'
counts to whole persons adding up to the rounded total (a WorldPop cell's 870.2
residents become 870 or 871), then each unit's over its points. Every point holds
whole persons, each unit keeps its count within one person, and the total is
the count's total rounded to a person.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely

from analysis import columns as C

__all__ = ["LATTICE_MAX", "STEP_M", "Spread", "apportion", "spread_units", "whole_persons"]

#: Along a street inside a unit, one resident point per this many metres (a block's side: one per segment in a city).
STEP_M = 100.0
#: The off-network share of a unit is measured on at most this many lattice points a side.
LATTICE_MAX = 16


@dataclass(frozen=True)
class Spread:
    """How a set of units was spread: residents put along streets, over buildings, at a point, off-network."""

    units: int
    streets: float
    buildings: float
    point: float
    off: float
    street_km: float


def whole_persons(pop: np.ndarray) -> np.ndarray:
    """Counts in whole persons adding up to the total rounded to a person: largest remainder, ties to the first.

    Examples
    --------
    >>> whole_persons(np.array([870.2, 10.5, 3.4, 5.0])).tolist()
    [870.0, 11.0, 3.0, 5.0]
    """
    pop = np.asarray(pop, dtype=float)
    base = np.floor(pop)
    short = int(np.floor(math.fsum(pop) + 0.5) - base.sum())
    if short > 0:
        base[np.argsort(-(pop - base), kind="stable")[:short]] += 1
    return base


def apportion(group: np.ndarray, weight: np.ndarray, pop: np.ndarray) -> np.ndarray:
    """Split each group's ``pop`` over its pieces by ``weight``, in whole persons (largest remainder).

    Parameters
    ----------
    group
        The group (unit) of each piece, ``0..len(pop)-1``; every group has at least one piece.
    weight
        Each piece's weight (0 or more; a group's weights need not add up to 1).
    pop
        Each group's residents.

    Returns
    -------
    numpy.ndarray
        Each piece's residents, in whole persons: each group's pieces add up to its ``pop`` made whole
        (``whole_persons``: within one person of it; all groups together, the total rounded to a person).

    Examples
    --------
    >>> apportion(np.array([0, 0, 0, 1]), np.array([1.0, 1.0, 1.0, 1.0]), np.array([10.4, 2.3])).tolist()
    [4.0, 4.0, 3.0, 2.0]
    """
    n = len(pop)
    whole = whole_persons(pop)
    total_w = np.bincount(group, weights=weight, minlength=n)
    share = np.divide(weight, total_w[group], out=np.zeros(len(weight)), where=total_w[group] > 0)
    quota = whole[group] * share
    base = np.floor(quota)
    short = whole - np.bincount(group, weights=base, minlength=n)  # persons still to place, per group
    order = np.lexsort((-(quota - base), group))  # by group, then largest remainder first
    start = np.concatenate([[0], np.cumsum(np.bincount(group, minlength=n))[:-1]])
    rank = np.empty(len(group), dtype=np.int64)
    rank[order] = np.arange(len(group)) - start[group[order]]
    return base + (rank < short[group])


def _street_points(
    units: np.ndarray, edges: np.ndarray, tree: shapely.STRtree, step_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points along the streets inside each unit: (unit, point, length it stands for)."""
    ui, ei = tree.query(units, predicate="intersects")
    parts, which = shapely.get_parts(shapely.intersection(edges[ei], units[ui]), return_index=True)
    lines = shapely.get_type_id(parts) == 1  # LineStrings: a street touching a unit at a point carries no one
    parts, owner = parts[lines], ui[which[lines]]
    length = shapely.length(parts)
    parts, owner, length = parts[length > 0], owner[length > 0], length[length > 0]
    count = np.maximum(1, np.ceil(length / step_m)).astype(np.int64)
    piece = np.repeat(np.arange(len(parts)), count)
    k = np.arange(len(piece)) - np.repeat(np.cumsum(count) - count, count)
    points = shapely.line_interpolate_point(parts[piece], (k + 0.5) / count[piece], normalized=True)
    return owner[piece], points, (length / count)[piece]


def _lattice(units: np.ndarray, spacing_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points of a lattice inside each unit, about ``spacing_m`` apart, 1 to ``LATTICE_MAX`` a side: (unit, x, y)."""
    b = shapely.bounds(units)
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    side = np.clip(np.ceil(np.maximum(w, h) / spacing_m), 1, LATTICE_MAX).astype(np.int64)
    unit = np.repeat(np.arange(len(units)), side**2)
    k = np.arange(len(unit)) - np.repeat(np.cumsum(side**2) - side**2, side**2)
    s = side[unit]
    x = b[unit, 0] + (k % s + 0.5) * w[unit] / s
    y = b[unit, 1] + (k // s + 0.5) * h[unit] / s
    inside = shapely.contains_xy(units[unit], x, y)
    return unit[inside], x[inside], y[inside]


def _near_and_off(units: np.ndarray, tree: shapely.STRtree, max_snap_m: float) -> tuple:
    """Each unit's off-network share, a point of its off part and a point of its near part (None if none)."""
    unit, x, y = _lattice(units, max_snap_m / 5)
    pts = shapely.points(x, y)
    (hit, _) = tree.query_nearest(pts, max_distance=max_snap_m, all_matches=False)
    near = np.zeros(len(pts), dtype=bool)
    near[hit] = True
    n = len(units)
    samples = np.bincount(unit, minlength=n)
    off_share = np.divide(np.bincount(unit[~near], minlength=n), samples, out=np.zeros(n), where=samples > 0)
    rep = shapely.point_on_surface(units)
    off_pt, near_pt = np.full(n, None, dtype=object), np.full(n, None, dtype=object)
    off_pt[unit[~near][::-1]] = pts[~near][::-1]  # the first lattice point of each unit's part
    near_pt[unit[near][::-1]] = pts[near][::-1]
    none = samples == 0  # a sliver no lattice point falls in: judged at its point
    if none.any():
        d_hit, _ = tree.query_nearest(rep[none], max_distance=max_snap_m, all_matches=False)
        is_near = np.zeros(int(none.sum()), dtype=bool)
        is_near[d_hit] = True
        idx = np.flatnonzero(none)
        off_share[idx] = (~is_near).astype(float)
        off_pt[idx[~is_near]], near_pt[idx[is_near]] = rep[idx[~is_near]], rep[idx[is_near]]
    return off_share, off_pt, near_pt


def spread_units(
    units: gpd.GeoDataFrame,
    pop: np.ndarray,
    edges: gpd.GeoSeries,
    *,
    max_snap_m: float,
    building_weight: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    step_m: float = STEP_M,
    counts: dict[str, np.ndarray] | None = None,
) -> tuple[gpd.GeoDataFrame, Spread]:
    """Spread each unit's residents over its buildings, else along its streets; the part with none off-network.

    Parameters
    ----------
    units
        Cells or areas (polygons), in the network's metric CRS.
    pop
        Each unit's residents.
    edges
        The street segments (``network.edges.geometry``), in the same CRS.
    max_snap_m
        A lattice point farther than this from every street is off the network.
    building_weight
        ``(unit, point, floor area)`` of the buildings inside units, or None: units with buildings are spread
        over them only.
    step_m
        One resident point per this many metres of street.
    counts
        Further counts per unit spread the same way (population groups, e.g. ``60岁以上``), each kept exactly.

    Returns
    -------
    (geopandas.GeoDataFrame, Spread)
        Resident points with ``pop`` (0-person points dropped), ``source`` (``areas+buildings``,
        ``areas+streets``, ``areas+point``, ``areas+off``), ``off_network`` (True for the off part) and
        ``from_area`` (the unit's position in ``units``); and how many residents went where. Every unit's
        points add up to its ``pop`` exactly.
    """
    geoms, edge_geoms = units.geometry.to_numpy(), edges.to_numpy()
    n = len(geoms)
    has_b = np.zeros(n, dtype=bool)
    b_unit, b_pt, b_w = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=object), np.zeros(0))
    if building_weight is not None:
        b_unit, b_pt, b_w = building_weight
        has_b[b_unit] = True
    tree = shapely.STRtree(edge_geoms)
    s_unit, s_pt, s_w = _street_points(geoms, edge_geoms, tree, step_m)
    keep = ~has_b[s_unit]
    s_unit, s_pt, s_w = s_unit[keep], s_pt[keep], s_w[keep]
    off_share, off_pt, near_pt = _near_and_off(geoms, tree, max_snap_m)
    street_len = np.bincount(s_unit, weights=s_w, minlength=n)
    on_street = (street_len > 0) & ~has_b
    # Pieces per unit: the unit's buildings or its street points (sharing 1 - off), its off point, its near point.
    off_unit = np.flatnonzero(~has_b & (off_share > 0))
    point_unit = np.flatnonzero(~has_b & ~on_street & (off_share < 1))
    b_len = np.bincount(b_unit, weights=b_w, minlength=n)
    group = np.concatenate([b_unit, s_unit, off_unit, point_unit])
    weight = np.concatenate([
        np.divide(b_w, b_len[b_unit], out=np.zeros(len(b_w)), where=b_len[b_unit] > 0),
        (1 - off_share[s_unit]) * s_w / street_len[s_unit],
        off_share[off_unit],
        1 - off_share[point_unit],
    ])  # fmt: skip
    source = np.concatenate([
        np.full(len(b_unit), "areas+buildings"), np.full(len(s_unit), "areas+streets"),
        np.full(len(off_unit), "areas+off"), np.full(len(point_unit), "areas+point"),
    ])  # fmt: skip
    geometry = np.concatenate([b_pt, s_pt, off_pt[off_unit], near_pt[point_unit]])
    people = apportion(group, weight, np.asarray(pop, dtype=float))
    out = gpd.GeoDataFrame(
        {C.POP: people, "source": source, "off_network": source == "areas+off", "from_area": group},
        geometry=geometry,
        crs=units.crs,
    )
    keep = people > 0
    for name, values in (counts or {}).items():
        out[name] = apportion(group, weight, np.asarray(values, dtype=float))
        keep |= out[name].to_numpy() > 0
    out = out[keep].reset_index(drop=True)
    by = out.groupby("source")[C.POP].sum()
    how = Spread(
        units=n,
        streets=float(by.get("areas+streets", 0.0)),
        buildings=float(by.get("areas+buildings", 0.0)),
        point=float(by.get("areas+point", 0.0)),
        off=float(by.get("areas+off", 0.0)),
        street_km=float(street_len[on_street].sum() / 1000),
    )
    return out, how
