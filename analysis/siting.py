"""Siting new neighbourhood centres: candidates, the coverage matrix, and the answer explained.

The thin GeoDataFrame layer over ``analysis.siting_models``: it builds the
candidate sites (network nodes on a grid, inside the gaps or everywhere, or the
planner's own points; never inside exclusion polygons), measures which uncovered
residents each candidate reaches in time (``od_table``), solves the chosen model,
and explains each site: where, which units, residents newly covered, their walk.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely

from analysis import columns as C
from analysis.coverage import assign_units
from analysis.isochrones import facility_isochrones
from analysis.siting_models import (
    TIME_LIMIT_S,
    InfeasibleError,
    Solution,
    greedy_max_coverage,
    solve_lscp,
    solve_mclp,
    solve_pmedian,
)
from analysis.traveltime import WALK_KMH, od_table
from geo.errors import InputError
from geo.network import StreetNetwork
from geo.snap import snap_points

__all__ = [
    "MODELS",
    "SiteResult",
    "candidate_sites",
    "greedy_max_coverage",
    "grid_candidates",
    "plan_sites",
    "suggest_sites",
]

SPACING_M = 100.0
MODELS = ("lscp", "mclp", "pmedian")
SITE_COLUMNS = ["site_id", "candidate_id", C.POP_NEW, C.MINUTES, "geometry"]


def grid_candidates(network: StreetNetwork, *, spacing_m: float = SPACING_M) -> np.ndarray:
    """One network node per ``spacing_m`` grid cell (the one nearest the cell centre), as positions.

    Parameters
    ----------
    network
        The street network.
    spacing_m
        Side in metres of the grid cells.

    Returns
    -------
    numpy.ndarray
        Node positions (rows of ``network.nodes``), one per cell holding a node.
    """
    xy = network.nodes[["x", "y"]].to_numpy()
    cell = np.floor(xy / spacing_m)
    dist = np.hypot(*(xy - (cell + 0.5) * spacing_m).T)
    frame = pd.DataFrame({"cx": cell[:, 0], "cy": cell[:, 1], "d": dist, "node": np.arange(len(xy))})
    return frame.sort_values(["cx", "cy", "d", "node"]).drop_duplicates(["cx", "cy"])["node"].to_numpy()


def candidate_sites(
    network: StreetNetwork,
    *,
    spacing_m: float = SPACING_M,
    within: gpd.GeoDataFrame | None = None,
    points: gpd.GeoDataFrame | None = None,
    exclude: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Candidate sites: the planner's ``points`` if given, else network nodes on a ``spacing_m`` grid.

    ``within`` (e.g. the gap zones) keeps grid candidates inside those polygons;
    ``exclude`` (water, rail, parks) drops any candidate inside its polygons.

    Parameters
    ----------
    network
        The street network.
    spacing_m
        Grid spacing in metres of the candidates on network nodes.
    within
        Polygons that grid candidates must lie in; ``None`` for anywhere.
    points
        The planner's candidate points (optionally with ``candidate_id``); they replace the grid.
    exclude
        Polygons no candidate may lie in.

    Returns
    -------
    geopandas.GeoDataFrame
        ``candidate_id`` (also the index), ``source`` ("planner" or "grid") and the point.
    """
    if points is not None:
        cands = gpd.GeoDataFrame(
            {
                "candidate_id": points.get(
                    "candidate_id", pd.Series([f"K{i + 1:04d}" for i in range(len(points))], index=points.index)
                )
                .astype(str)
                .to_numpy(),
                "source": "planner",
            },
            geometry=points.geometry.to_numpy(),
            crs=points.crs,
        )
    else:
        nodes = grid_candidates(network, spacing_m=spacing_m)
        cands = gpd.GeoDataFrame(
            {"candidate_id": [f"N{network.nodes.index[n]}" for n in nodes], "source": "grid"},
            geometry=network.nodes.geometry.to_numpy()[nodes],
            crs=network.crs,
        )
        if within is not None:
            area = shapely.union_all(within.to_crs(network.crs).geometry.values)
            cands = cands[shapely.intersects(area, cands.geometry.values)]
    if exclude is not None and len(cands):
        banned = shapely.union_all(exclude.to_crs(cands.crs).geometry.values)
        cands = cands[~shapely.intersects(banned, cands.geometry.values)]
    return cands.set_index("candidate_id", drop=False).rename_axis(None)


@dataclass
class SiteResult:
    """What a siting run answers."""

    sites: gpd.GeoDataFrame  #: one row per new site, best first
    curve: pd.DataFrame  #: residents covered for k = 1 ... K new sites
    isochrones: gpd.GeoDataFrame  #: the reach of each new site
    solution: Solution  #: how it was solved
    before: float  #: residents covered before
    after: float  #: residents covered with the new sites
    total: float  #: all residents
    notes: list[str] = field(default_factory=list)


def plan_sites(  # noqa: PLR0913 -- keyword-only options, each documented (as osmnx's entry points)
    network: StreetNetwork,
    demand: gpd.GeoDataFrame,
    demand_snaps: pd.DataFrame,
    *,
    model: str = "mclp",
    k: int = 1,
    target: float = 0.95,
    minutes: float = 15,
    speed_kmh: float = WALK_KMH,
    candidates: gpd.GeoDataFrame | None = None,
    spacing_m: float = SPACING_M,
    capacity: float | None = None,
    time_limit_s: float = TIME_LIMIT_S,
    curve_k: int = 0,
    boundaries: Mapping[str, gpd.GeoDataFrame] | None = None,
) -> SiteResult:
    """Where the next centres go.

    ``demand`` carries ``covered`` and ``minutes`` from the facilities that stay
    (``coverage.nearest_facility``). Models: ``mclp`` (k sites covering the most
    residents left out; ``capacity`` caps what one site serves), ``lscp`` (the
    fewest sites reaching ``target``, a share of all residents), ``pmedian``
    (k sites minimising the resident-weighted walk, existing centres included).

    Parameters
    ----------
    network
        The street network, in the metric CRS of ``demand``.
    demand
        Resident points with ``pop``, ``covered`` and ``minutes`` (walk to the nearest existing centre).
    demand_snaps
        ``geo.snap_points(demand, network)``.
    model
        ``mclp``, ``lscp`` or ``pmedian`` (``MODELS``).
    k
        How many new sites (``mclp``, ``pmedian``).
    target
        The share of all residents to cover, between 0 and 1 (``lscp``).
    minutes
        The walking threshold in minutes that counts as covered.
    speed_kmh
        Walking speed in km/h.
    candidates
        The planner's candidate points; ``None`` uses network nodes on a ``spacing_m`` grid.
    spacing_m
        Grid spacing in metres of the candidates when none are given.
    capacity
        The most residents one new site serves (``mclp``); ``None`` for no cap.
    time_limit_s
        The solver's time limit in seconds, per solve; past it the best answer found is kept and noted.
    curve_k
        Also solve for k = 1 ... ``curve_k`` sites, for the residents-covered curve; 0 skips it.
    boundaries
        Admin units per level (polygons with ``code``); each site gets the code of the unit it lies in.

    Returns
    -------
    SiteResult
        The sites best first (``pop_new``: residents newly covered, ``minutes``: their mean walk),
        the curve, the new sites' reach, and residents covered before and after.

    Examples
    --------
    >>> from geo import load_sample, snap_points
    >>> from analysis.coverage import nearest_facility
    >>> net, fac, dem = load_sample()
    >>> f, d = snap_points(fac, net), snap_points(dem, net)
    >>> covered = nearest_facility(net, fac, dem, f, d, minutes=5)
    >>> r = plan_sites(net, covered, d, k=2, minutes=5)
    >>> r.after > r.before, r.solution.method, len(r.sites)
    (True, 'milp', 2)
    """
    if model not in MODELS:
        raise InputError(f"unknown siting model '{model}'", fix=f"use one of {', '.join(MODELS)}")
    if candidates is None:
        candidates = candidate_sites(network, spacing_m=spacing_m)
    if candidates.empty:
        raise InfeasibleError("there are no candidate sites", fix="give candidates, or remove exclusions")
    cutoff_s = minutes * 60
    pop = demand[C.POP].to_numpy(dtype=float)
    total = float(pop.sum())
    covered = demand[C.COVERED].to_numpy(dtype=bool)
    before = float(pop[covered].sum())
    c_snap = snap_points(candidates, network)
    notes = []
    if (~c_snap["on_network"]).any():
        notes.append(f"{int((~c_snap['on_network']).sum())} candidates far from any street were left out")
    reach_s = cutoff_s * (3 if model == "pmedian" else 1)
    od = od_table(network, c_snap, demand_snaps, cutoff_s=reach_s, speed_kmh=speed_kmh)
    n_c, n_p = len(candidates), len(demand)
    within = od["seconds"].to_numpy() <= cutoff_s
    cover = sp.csr_matrix(
        (np.ones(within.sum(), dtype=bool), (od["source"].to_numpy()[within], od["target"].to_numpy()[within])),
        shape=(n_c, n_p),
    )
    left = np.where(covered, 0.0, pop)  # only residents not yet covered count
    if model == "mclp":
        solution = solve_mclp(cover, left, k, capacity=capacity, time_limit_s=time_limit_s)
    elif model == "lscp":
        if not 0 < target <= 1:
            raise InputError(f"the target must be a share between 0 and 1, got {target}", fix="e.g. --target 0.95")
        need = target * total - before
        best = before + float(left[np.diff(cover.tocsc().indptr) > 0].sum())
        if target * total > best + 1e-9:
            raise InfeasibleError(
                f"{target:.0%} coverage cannot be reached: now {before / total:.1%}, and with every candidate "
                f"open coverage can reach at most {best / total:.1%} ({best:,.0f} of {total:,.0f} residents)",
                fix="lower --target, add candidate sites, or widen the search area",
            )
        solution = solve_lscp(
            cover,
            left,
            need,
            time_limit_s=time_limit_s,
            what=f"reaching {target:.0%} coverage (now {before / total:.1%})",
        )
    else:
        cost = sp.csr_matrix(
            (od["seconds"].to_numpy() + 1e-9, (od["source"].to_numpy(), od["target"].to_numpy())), shape=(n_c, n_p)
        )
        existing = np.where(
            np.isfinite(demand[C.MINUTES].to_numpy(dtype=float)), demand[C.MINUTES].to_numpy(dtype=float) * 60, np.inf
        )
        solution = solve_pmedian(cost, pop, k, existing=existing, time_limit_s=time_limit_s)
    notes += solution.notes
    sites, newly = _explain(candidates, solution.chosen, od, cutoff_s=cutoff_s, left=left, boundaries=boundaries)
    after = before + float(newly)
    curve = (
        _curve(cover, left, before=before, total=total, k_max=curve_k, time_limit_s=time_limit_s)
        if curve_k
        else pd.DataFrame()
    )
    iso = (
        facility_isochrones(
            network,
            sites,
            c_snap.loc[sites["candidate_id"]].set_index(sites.index),
            minutes=(minutes,),
            speed_kmh=speed_kmh,
        )
        if len(sites)
        else gpd.GeoDataFrame(columns=["facility_id", C.BAND_MIN, "geometry"], geometry="geometry", crs=network.crs)
    )
    return SiteResult(sites, curve, iso, solution, before, after, total, notes)


def _explain(
    candidates: gpd.GeoDataFrame,
    chosen: np.ndarray,
    od: pd.DataFrame,
    *,
    cutoff_s: float,
    left: np.ndarray,
    boundaries: Mapping[str, gpd.GeoDataFrame] | None,
) -> tuple[gpd.GeoDataFrame, float]:
    """One row per chosen site, in the solver's order (best first): what it adds to the sites before it.

    ``pop_new`` is the residents it newly covers that no earlier site covers,
    so the rows add up to the total gain; ``minutes`` is their mean walk to it.
    """
    pairs = od[od["source"].isin(chosen) & (od["seconds"] <= cutoff_s)]
    pairs = pairs[left[pairs["target"].to_numpy()] > 0]
    rank = pd.Series(np.arange(len(chosen)), index=chosen)
    first = pairs.assign(rank=rank.reindex(pairs["source"]).to_numpy())
    first = first.sort_values(["target", "rank"]).drop_duplicates("target")  # each resident to the first site
    w = left[first["target"].to_numpy()]
    per_site = pd.DataFrame({"source": first["source"].to_numpy(), "w": w, "ws": w * first["seconds"].to_numpy()})
    agg = per_site.groupby("source").sum()
    rows = candidates.iloc[chosen][["candidate_id", "geometry"]].copy()
    rows[C.POP_NEW] = agg["w"].reindex(chosen).fillna(0.0).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        rows[C.MINUTES] = (agg["ws"] / agg["w"] / 60).reindex(chosen).to_numpy()
    rows.insert(0, "site_id", [f"S{i + 1:02d}" for i in range(len(rows))])
    for level, units in (boundaries or {}).items():
        rows[level] = assign_units(rows, units.to_crs(rows.crs)).to_numpy()
    rows = rows.set_index("site_id", drop=False).rename_axis(None)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=candidates.crs), float(w.sum())


def _curve(cover, left, *, before, total, k_max, time_limit_s) -> pd.DataFrame:
    """Residents covered with k = 1 ... k_max new sites: greedy, and exact (MCLP) for each k."""
    greedy = greedy_max_coverage(cover, left, k_max)
    rows, got = [], 0.0
    for k in range(1, k_max + 1):
        got += greedy[k - 1][1] if k <= len(greedy) else 0.0
        exact = solve_mclp(cover, left, k, time_limit_s=time_limit_s)
        rows.append(
            {
                "k": k,
                "pop_covered": before + exact.objective,
                "pct_covered": 100 * (before + exact.objective) / total if total else np.nan,
                "pop_new": exact.objective,
                "pop_new_greedy": got,
                "method": exact.method,
                "optimal": exact.optimal,
            }
        )
    return pd.DataFrame(rows)


def suggest_sites(
    network: StreetNetwork,
    demand: gpd.GeoDataFrame,
    demand_snaps: pd.DataFrame,
    *,
    minutes: float = 15,
    speed_kmh: float = WALK_KMH,
    k: int = 1,
    spacing_m: float = SPACING_M,
) -> gpd.GeoDataFrame:
    """``k`` new sites on network nodes that cover the most residents left out (exact MCLP).

    Parameters
    ----------
    network
        The street network.
    demand
        Resident points with ``pop``, ``covered`` and ``minutes``.
    demand_snaps
        ``geo.snap_points(demand, network)``.
    minutes
        The walking threshold in minutes that counts as covered.
    speed_kmh
        Walking speed in km/h.
    k
        How many new sites.
    spacing_m
        Grid spacing in metres of the candidate sites.

    Returns
    -------
    geopandas.GeoDataFrame
        ``site_id``, ``candidate_id``, ``pop_new`` (residents newly covered), ``minutes``
        (their resident-weighted mean walk) and the point; empty when every resident is covered.
    """
    if demand[C.COVERED].all():
        return gpd.GeoDataFrame(columns=SITE_COLUMNS, geometry="geometry", crs=network.crs)
    result = plan_sites(
        network,
        demand,
        demand_snaps,
        model="mclp",
        k=k,
        minutes=minutes,
        speed_kmh=speed_kmh,
        spacing_m=spacing_m,
        time_limit_s=10,
    )
    return result.sites[result.sites[C.POP_NEW] > 0][SITE_COLUMNS]
