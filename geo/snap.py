"""Snap points to the nearest point on the nearest street segment, all at once."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import require_projected
from geo.errors import InputError
from geo.network import StreetNetwork
from geo.snapgrid import grid_of, points_only
from geo.vocab import DEFAULT_MAX_SNAP_M  # issue 32: read by the parsers without geopandas

__all__ = ["DEFAULT_MAX_SNAP_M", "snap_points"]


def snap_points(
    points: gpd.GeoDataFrame, network: StreetNetwork, *, max_snap_m: float = DEFAULT_MAX_SNAP_M
) -> pd.DataFrame:
    """Locate each point on its nearest street segment.

    One spatial-index query for all points. A point farther than ``max_snap_m``
    from every street, or flagged ``off_network`` (the street-less part of a
    spread population cell, ``analysis.spread``), is marked off-network (``edge`` = -1) rather than snapped
    across a river or a railway.

    Parameters
    ----------
    points
        Points in ``network.crs``.
    network
        The street network.
    max_snap_m
        The farthest in metres a point may be from a street and still be on the network.

    Returns
    -------
    pandas.DataFrame
        Aligned to ``points.index``: ``edge`` (row position in ``network.edges``,
        -1 when off-network), ``pos_m`` (metres along the segment from its ``u``
        node), ``offset_m`` (straight walk from the point to the street),
        ``on_network`` (bool) and ``component`` (the connected part of the
        network it is on: 0 for the main network, -1 when off-network).

    Examples
    --------
    >>> from geo.io import load_sample
    >>> net, fac, dem = load_sample()
    >>> snap_points(fac, net)["on_network"].all()
    np.True_
    """
    require_projected(points.crs, what="points to snap")
    if points.crs != network.crs:
        raise InputError(
            "snap_points_snap_name_points",
            name=points.crs.name,
            points_crs_to=points.crs.to_string(),
            name2=network.crs.name,
            network_crs_to=network.crs.to_string(),
        )
    geoms = points.geometry.to_numpy()
    walls = network.derived.get("compounds")  # issue 30: gated compounds (geo.compounds.wall_network)
    grid = grid_of(network) if walls is None and points_only(geoms) else None
    if grid is not None:  # issue 32: the grid of the streets' pieces, GEOS's arithmetic (geo.snapgrid)
        xy = np.full((len(geoms), 2), np.nan)
        real = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        xy[real] = shapely.get_coordinates(geoms[real])
        edge, offset, pos_at = grid.snap(xy[:, 0], xy[:, 1], max_snap_m=max_snap_m)
    elif walls is not None:
        edge, offset, pos_at, inside = _snap_walled(geoms, network, walls, max_snap_m)
    else:
        tree = network.derived.get("edge_tree")
        if tree is None:  # built once per network: 0.3 s at 100k nodes, and every unit of a pack snaps
            tree = network.derived["edge_tree"] = shapely.STRtree(network.edges.geometry.to_numpy())
        (point_idx, edge_idx), dist = tree.query_nearest(
            geoms, max_distance=max_snap_m, return_distance=True, all_matches=False
        )
        edge = np.full(len(points), -1, dtype=np.int64)
        offset = np.full(len(points), np.nan)
        edge[point_idx] = edge_idx
        offset[point_idx] = dist
    if "off_network" in points:  # the part of a spread cell with no street near: off by construction
        off = points["off_network"].fillna(False).to_numpy(dtype=bool)
        edge[off], offset[off] = -1, np.nan
    found = edge >= 0
    if grid is not None:  # the grid measured the feet as GEOS's line_locate_point does
        pos = np.where(found, pos_at, np.nan)
        component = np.where(found, grid.component[np.maximum(edge, 0)] if len(grid.component) else -1, -1)
        component = component.astype(np.int64, copy=False)
    else:
        pos = np.full(len(points), np.nan)
        edge_geoms = network.edges.geometry.to_numpy()
        pos[found] = shapely.line_locate_point(edge_geoms[edge[found]], geoms[found])
        if walls is not None:  # through a gate: the foot of the gate on its street, not of the point
            via_gate = found & np.isfinite(pos_at)
            pos[via_gate] = pos_at[via_gate]
        component = np.full(len(points), -1, dtype=np.int64)
        component[found] = network.nodes["component"].to_numpy()[network.edges["u"].to_numpy()[edge[found]]]
    out = pd.DataFrame(
        {"edge": edge, "pos_m": pos, "offset_m": offset, "on_network": found, "component": component},
        index=points.index,
    )
    if walls is not None:
        from geo.compounds import compound_only_flags

        out["compound"] = inside
        out["only"] = np.where(compound_only_flags(points) & (inside >= 0), inside, -1)
    return out


def _snap_walled(
    geoms: np.ndarray, network: StreetNetwork, walls: object, max_snap_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Snap with gated compounds: a point inside one reaches its own segments or its gates; one outside, public ones.

    Returns per point the segment, the walk to it, the position along it where the walk came through a gate
    (NaN where the point's own foot is used) and the compound holding the point (-1: none).
    """
    from geo.compounds import compound_of

    n = len(geoms)
    edge, offset, pos_at = np.full(n, -1, dtype=np.int64), np.full(n, np.nan), np.full(n, np.nan)
    inside = compound_of(geoms, walls.polygons)
    e_compound, e_gate = network.edges["compound"].to_numpy(), network.edges["gate"].to_numpy()
    edge_geoms = network.edges.geometry.to_numpy()
    for c in np.unique(inside):
        pts = np.flatnonzero(inside == c)
        key = ("compound_tree", int(c))
        if key not in network.derived:
            allowed = np.flatnonzero(e_compound == c) if c >= 0 else np.flatnonzero((e_compound < 0) | e_gate)
            network.derived[key] = (allowed, shapely.STRtree(edge_geoms[allowed]))
        allowed, tree = network.derived[key]
        if len(allowed):
            (pi, ei), dist = tree.query_nearest(
                geoms[pts], max_distance=max_snap_m, return_distance=True, all_matches=False
            )
            edge[pts[pi]], offset[pts[pi]] = allowed[ei], dist
        if c < 0:
            continue
        # Or straight to a gate, and from it to the street it opens on.
        gates = walls.gates.geometry.to_numpy()
        snap = walls.gate_snap
        mine = np.flatnonzero((walls.gates["compound"].to_numpy() == c) & (snap["edge"].to_numpy() >= 0))
        for g in mine:
            walk = shapely.distance(geoms[pts], gates[g]) + snap["offset_m"].iloc[g]
            better = (walk <= max_snap_m) & ~(walk >= offset[pts])  # NaN offset (none yet): better
            at = pts[better]
            edge[at], offset[at], pos_at[at] = snap["edge"].iloc[g], walk[better], snap["pos_m"].iloc[g]
    return edge, offset, pos_at, inside
