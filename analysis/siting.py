"""Siting new neighbourhood centres: candidates, the coverage matrix, and the answer explained.

The thin GeoDataFrame layer over ``analysis.siting_models``: it builds the
candidate sites (network nodes on a grid, inside the gaps or everywhere, or the
planner's own points; never inside exclusion polygons), measures which uncovered
residents each candidate reaches in time (``od_table``), solves the chosen model,
and explains each site: where, which units, residents newly covered, their walk.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely

from analysis import columns as C
from analysis._siting_reach import EPS_S, LeftOut, coverage_matrix, left_out, nearest_corners, reaching
from analysis.coverage import assign_units
from analysis.defaults import MODELS, SPACING_M  # issue 32: read by the parsers without scipy
from analysis.isochrones import facility_isochrones
from analysis.siting_models import (
    TIME_LIMIT_S,
    InfeasibleError,
    MclpModel,
    Solution,
    greedy_max_coverage,
    mclp_model,
    solve_lscp,
    solve_mclp,
    solve_pmedian,
)
from analysis.traveltime import WALK_KMH, _node_edges, nearest_times
from geo.errors import InputError
from geo.network import StreetNetwork
from geo.notes import Note, note
from geo.snap import snap_points

__all__ = [
    "MODELS",
    "SiteResult",
    "SitingCoverage",
    "candidate_sites",
    "greedy_max_coverage",
    "grid_candidates",
    "left_out",
    "plan_sites",
    "siting_coverage",
    "snap_candidates",
    "suggest_sites",
    "units_area",
]

#: Seconds the coverage curve spends on exact solves; the k past it keep greedy's value (a lower bound).
CURVE_BUDGET_S = 3.0
SITE_COLUMNS = C.SITE_COLUMNS  # issue 32: defined with the columns, so a run without sites loads no siting


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
    left: LeftOut | None = None,
) -> gpd.GeoDataFrame:
    """Candidate sites: the planner's ``points`` if given, else network nodes on a ``spacing_m`` grid.

    ``within`` (e.g. the gap zones) keeps grid candidates inside those polygons;
    ``exclude`` (water, rail, parks) drops any candidate inside its polygons.
    With ``left`` (the residents left out), the grid is completed: a small pocket
    of residents between the grid's nodes that no grid candidate reaches in time
    gets the street corner nearest it (source ``near_left``), when one is in reach.

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
    left
        The residents left out (``left_out``): every one a street corner can reach gets a candidate that does.

    Returns
    -------
    geopandas.GeoDataFrame
        ``candidate_id`` (also the index), ``source`` ("planner", "grid" or "near_left") and the point.
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
        return _keep_allowed(cands, None, exclude).set_index("candidate_id", drop=False).rename_axis(None)
    cands = _keep_allowed(_node_sites(network, grid_candidates(network, spacing_m=spacing_m), "grid"), within, exclude)
    if left is not None and len(left.rows):
        grid = snap_candidates(cands, network)  # each grid candidate on its own corner: no spatial search
        t = nearest_times(network, grid, left.snaps, speed_kmh=left.speed_kmh, limit_s=left.cutoff_s)
        missed = np.flatnonzero(~(t.point_s <= left.cutoff_s))
        nodes, _ = nearest_corners(network, left, missed)
        have = set(cands["candidate_id"])
        extra = _node_sites(network, nodes, "near_left")
        extra = _keep_allowed(extra[~extra["candidate_id"].isin(have)], within, exclude)
        cands = pd.concat([cands, extra], ignore_index=True) if len(extra) else cands
    return cands.set_index("candidate_id", drop=False).rename_axis(None)


def snap_candidates(candidates: gpd.GeoDataFrame, network: StreetNetwork) -> pd.DataFrame:
    """The candidates' places on the streets, as ``geo.snap_points`` gives them.

    A grid candidate is a street corner: it sits at the end of a segment of its own, found
    through the node's segments with no spatial search (at city scale the search of 51k
    corners took 2 s). Which of its segments is taken changes no walking time: the walk
    starts at the corner either way. The planner's points are snapped.

    Parameters
    ----------
    candidates
        ``candidate_sites``' rows.
    network
        The street network.

    Returns
    -------
    pandas.DataFrame
        As ``geo.snap_points``.
    """
    ids = candidates["candidate_id"].astype(str)
    node = _node_names(network).get_indexer(ids.str[1:])
    ptr, seg = _node_edges(network)
    corner = candidates["source"].isin(["grid", "near_left"]).to_numpy() & ids.str.startswith("N").to_numpy()
    corner &= node >= 0
    corner[corner] = ptr[node[corner] + 1] > ptr[node[corner]]  # a corner with a segment
    out = snap_points(candidates[~corner], network).reindex(candidates.index)
    at = node[corner]
    edge = seg[ptr[at]]
    e = network.edges
    out.loc[corner, "edge"] = edge
    out.loc[corner, "pos_m"] = np.where(e["u"].to_numpy()[edge] == at, 0.0, e["length_m"].to_numpy()[edge])
    out.loc[corner, "offset_m"] = 0.0
    out.loc[corner, "on_network"] = True
    out.loc[corner, "component"] = network.nodes["component"].to_numpy()[e["u"].to_numpy()[edge]]
    return out.astype({"edge": np.int64, "pos_m": float, "offset_m": float, "on_network": bool, "component": np.int64})


def _node_names(network: StreetNetwork) -> pd.Index:
    """The nodes' ids as text, in position order (made once per network: at city scale it took a few tenths)."""
    if "node_names" not in network.derived:
        names = pd.Index(network.nodes.index.astype(str))
        network.derived["node_names"] = names, ("N" + names).to_numpy()
    return network.derived["node_names"][0]


def _node_sites(network: StreetNetwork, nodes: np.ndarray, source: str) -> gpd.GeoDataFrame:
    """Candidate rows for network nodes (positions)."""
    _node_names(network)
    return gpd.GeoDataFrame(
        {"candidate_id": network.derived["node_names"][1][nodes], "source": source},
        geometry=network.nodes.geometry.to_numpy()[nodes],
        crs=network.crs,
    )


def _keep_allowed(
    cands: gpd.GeoDataFrame, within: gpd.GeoDataFrame | None, exclude: gpd.GeoDataFrame | None
) -> gpd.GeoDataFrame:
    """The candidates inside ``within`` (when given) and outside ``exclude`` (when given)."""
    if within is not None and len(cands):
        area = shapely.union_all(within.to_crs(cands.crs).geometry.values)
        cands = cands[shapely.intersects(area, cands.geometry.values)]
    if exclude is not None and len(cands):
        banned = shapely.union_all(exclude.to_crs(cands.crs).geometry.values)
        cands = cands[~shapely.intersects(banned, cands.geometry.values)]
    return cands


def units_area(boundaries: Mapping[str, gpd.GeoDataFrame] | None) -> gpd.GeoDataFrame | None:
    """The top level of the admin units (the study area sites must lie in), or ``None`` without units.

    Parameters
    ----------
    boundaries
        Admin units per level, top level first.

    Returns
    -------
    geopandas.GeoDataFrame or None
        The top level's polygons.
    """
    if not boundaries:
        return None
    return next(iter(boundaries.values()))[["geometry"]]


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
    unreached: float = 0.0  #: residents left out that no candidate reaches in time
    no_corner: float = 0.0  #: of those, residents no street corner reaches (off the network, or too far along it)
    useful_k: int | None = None  #: sites beyond this many add no one (None: every site asked for adds someone)


@dataclass
class SitingCoverage:
    """What a siting model is solved on, whatever ``k`` or the target: the candidates and whom each reaches in time.

    ``siting_coverage`` measures it; ``plan_sites`` solves on it. The reduced MCLP
    (``analysis.siting_models.mclp_model``) and the residents-covered curve are
    made on first use and kept, so a second ``k`` on the same coverage costs only
    its solve and its explanation.
    """

    model: str  #: the siting model it was measured for (``pmedian`` reaches farther, to every resident)
    minutes: float  #: the walking threshold in minutes
    speed_kmh: float  #: walking speed
    candidates: gpd.GeoDataFrame  #: every candidate in the units
    notes: tuple[Note, ...]  #: about the candidates (outside the units, off the streets)
    c_snap: pd.DataFrame  #: the candidates' places on the streets
    left: LeftOut  #: the residents left out
    targets: LeftOut  #: the residents measured against (``left``, or everyone for ``pmedian``)
    kept: np.ndarray  #: the candidates (rows of ``candidates``) that reach someone: the rows of ``secs``
    secs: sp.csr_matrix  #: seconds + ``EPS_S``, kept candidates x targets, within the reach
    w_left: np.ndarray  #: residents still left out per column of ``secs``
    cover: sp.csr_matrix  #: which entries of ``secs`` are within the threshold
    reached: np.ndarray  #: per column of ``secs``: some candidate covers it in time
    before: float  #: residents covered before
    total: float  #: all residents
    _reduced: MclpModel | None = field(default=None, repr=False)
    _curves: dict = field(default_factory=dict, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def reduced(self) -> MclpModel:
        """The reduced MCLP of ``cover`` (made once; an app's sessions may share the coverage)."""
        with self._lock:
            if self._reduced is None:
                self._reduced = mclp_model(self.cover, self.w_left)
            return self._reduced

    def curve(self, k_max: int, time_limit_s: float) -> pd.DataFrame:
        """Residents covered with k = 1 ... ``k_max`` new sites (``_curve``), made once per ``k_max`` and limit."""
        key = (k_max, time_limit_s)
        with self._lock:
            if key not in self._curves:
                self._curves[key] = _curve(
                    self.cover,
                    self.w_left,
                    before=self.before,
                    total=self.total,
                    k_max=k_max,
                    time_limit_s=time_limit_s,
                    model=self.reduced(),
                )
            return self._curves[key].copy()


def siting_coverage(  # noqa: PLR0913 -- keyword-only options, as plan_sites'
    network: StreetNetwork,
    demand: gpd.GeoDataFrame,
    demand_snaps: pd.DataFrame,
    *,
    model: str = "mclp",
    minutes: float = 15,
    speed_kmh: float = WALK_KMH,
    candidates: gpd.GeoDataFrame | None = None,
    spacing_m: float = SPACING_M,
    boundaries: Mapping[str, gpd.GeoDataFrame] | None = None,
) -> SitingCoverage:
    """The candidates, and which residents each reaches in time: the part of a siting run that ``k`` does not change.

    Parameters
    ----------
    network, demand, demand_snaps, model, minutes, speed_kmh, candidates, spacing_m, boundaries
        As for ``plan_sites``.

    Returns
    -------
    SitingCoverage
        What ``plan_sites(..., coverage=...)`` solves on.

    Raises
    ------
    analysis.siting_models.InfeasibleError
        No candidate site (or the units lie off the streets).
    """
    cutoff_s = minutes * 60
    left = left_out(demand, demand_snaps, minutes=minutes, speed_kmh=speed_kmh)
    if candidates is None:
        candidates = candidate_sites(network, spacing_m=spacing_m, within=units_area(boundaries), left=left)
    candidates, notes = _in_units(candidates, boundaries)
    if candidates.empty:
        area = units_area(boundaries)
        if area is not None and not area.intersects(shapely.box(*network.nodes.total_bounds)).any():
            raise InfeasibleError("siting_units_off_network")  # e.g. the sample's units on a city's streets
        raise InfeasibleError("siting_there_no_candidate_sites")
    pop = demand[C.POP].to_numpy(dtype=float)
    total = float(pop.sum())
    before = float(pop[demand[C.COVERED].to_numpy(dtype=bool)].sum())
    c_snap = snap_candidates(candidates, network)
    if (~c_snap["on_network"]).any():
        notes.append(note("candidates_off", n=int((~c_snap["on_network"]).sum())))
    reach_s, targets = _targets(model, pop, demand_snaps, left, cutoff_s=cutoff_s, speed_kmh=speed_kmh)
    kept = np.flatnonzero(reaching(network, c_snap, targets, limit_s=reach_s))  # the rest reach no one: no OD work
    secs = coverage_matrix(network, c_snap.iloc[kept], targets.snaps, cutoff_s=reach_s, speed_kmh=speed_kmh)
    # Residents left out, as columns of ``secs``: their weight, and which entries cover them in time.
    w_left = np.where(demand[C.COVERED].to_numpy(dtype=bool)[targets.rows], 0.0, targets.pop)
    cover = _in_time(secs, cutoff_s)
    reached = np.diff(cover.tocsc().indptr) > 0
    return SitingCoverage(
        model, minutes, speed_kmh, candidates, tuple(notes), c_snap, left, targets, kept, secs, w_left,
        cover, reached, before, total,
    )  # fmt: skip


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
    coverage: SitingCoverage | None = None,
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
        Also the residents-covered curve for k = 1 ... ``curve_k`` sites (exact while ``CURVE_BUDGET_S``
        lasts, greedy after; each row says which); 0 skips it.
    boundaries
        Admin units per level (polygons with ``code``); each site gets the code of the unit it lies in.
    coverage
        ``siting_coverage``'s answer for these inputs, when kept from an earlier run (the app keeps it
        while only ``k`` or the target change); ``None`` measures it now. ``candidates`` and ``spacing_m``
        are then the coverage's.

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
    >>> r.after > r.before, r.solution.optimal, len(r.sites)
    (True, True, 2)
    """
    _check_options(model, target)
    cutoff_s = minutes * 60
    wants_curve = bool(curve_k) and model != "pmedian"
    if coverage is None:
        coverage = siting_coverage(
            network,
            demand,
            demand_snaps,
            model=model,
            minutes=minutes,
            speed_kmh=speed_kmh,
            candidates=candidates,
            spacing_m=spacing_m,
            boundaries=boundaries,
        )
    elif (coverage.model, coverage.minutes, coverage.speed_kmh) != (model, minutes, speed_kmh):
        raise ValueError("the coverage was measured for another model, threshold or speed")
    cv = coverage
    candidates, c_snap, left, targets, kept = cv.candidates, cv.c_snap, cv.left, cv.targets, cv.kept
    notes = list(cv.notes)
    secs, w_left, cover, reached, before, total = cv.secs, cv.w_left, cv.cover, cv.reached, cv.before, cv.total
    reduced = cv.reduced() if (model == "mclp" and capacity is None) or wants_curve else None
    if model == "mclp":
        solution = _mclp(cover, w_left, k, capacity=capacity, time_limit_s=time_limit_s, model=reduced)
    elif model == "lscp":
        best = before + float(w_left[reached].sum())
        solution = _lscp(cover, w_left, target=target, before=before, best=best, total=total, time_limit_s=time_limit_s)
    else:
        existing = demand[C.MINUTES].to_numpy(dtype=float)[targets.rows] * 60
        solution = solve_pmedian(
            secs, targets.pop, k, existing=np.where(np.isfinite(existing), existing, np.inf), time_limit_s=time_limit_s
        )
    sites, newly = _explain(candidates.iloc[kept], solution.chosen, secs, cutoff_s=cutoff_s, weight=w_left)
    sites = _served(sites, network, c_snap.iloc[kept].iloc[solution.chosen], demand, demand_snaps, speed_kmh=speed_kmh)
    for level, units in (boundaries or {}).items():
        sites[level] = assign_units(sites, units.to_crs(sites.crs)).to_numpy()
    sites, useful_k = _drop_useless(sites, model, k, notes)
    unreached, no_corner = _unreached(network, left, w_left, reached, model)
    notes += [n for n in solution.notes if n != note("nothing_left") or not left.pop.sum()]
    notes += _unreached_notes(unreached, no_corner, minutes)
    after = before + newly
    curve = cv.curve(curve_k, time_limit_s) if wants_curve else pd.DataFrame()
    iso = _site_isochrones(network, sites, c_snap, minutes=minutes, speed_kmh=speed_kmh)
    return SiteResult(sites, curve, iso, solution, before, after, total, notes, unreached, no_corner, useful_k)


def _check_options(model: str, target: float) -> None:
    """Refuse an unknown model, or an ``lscp`` target that is not a share in (0, 1].

    Parameters
    ----------
    model
        The siting model asked for.
    target
        The share of all residents to cover (checked for ``lscp`` only).

    Raises
    ------
    geo.errors.InputError
        The model is not one of ``MODELS``, or the ``lscp`` target is out of range.
    """
    if model not in MODELS:
        raise InputError("siting_unknown_siting_model_model", model=model, models=", ".join(MODELS))
    if model == "lscp" and not 0 < target <= 1:
        raise InputError("siting_target_must_share_between", target=target)


def _targets(
    model: str,
    pop: np.ndarray,
    demand_snaps: pd.DataFrame,
    left: LeftOut,
    *,
    cutoff_s: float,
    speed_kmh: float,
) -> tuple[float, LeftOut]:
    """The residents the candidates are measured against, and how far out in seconds.

    Parameters
    ----------
    model
        The siting model.
    pop
        Residents per demand point.
    demand_snaps
        The demand points' places on the streets.
    left
        The residents left out (``left_out``).
    cutoff_s
        The walking threshold in seconds.
    speed_kmh
        Walking speed in km/h.

    Returns
    -------
    tuple of float and LeftOut
        For ``pmedian`` every resident, out to three times the threshold; else those left out, out to it.
    """
    if model != "pmedian":
        return cutoff_s, left
    reach_s = cutoff_s * 3  # every resident counts, out to three times the threshold
    some = np.flatnonzero(pop > 0)
    return reach_s, LeftOut(some, demand_snaps.iloc[some], pop[some], reach_s, speed_kmh)


def _in_time(secs: sp.csr_matrix, cutoff_s: float) -> sp.csr_matrix:
    """Which candidate-resident entries of ``secs`` are within the threshold, as a boolean matrix.

    Parameters
    ----------
    secs
        Walking seconds, candidates by residents.
    cutoff_s
        The walking threshold in seconds.

    Returns
    -------
    scipy.sparse.csr_matrix
        True where the walk is at most ``cutoff_s`` (within ``EPS_S``); no explicit False entries.
    """
    cover = secs.copy()
    cover.data = cover.data <= cutoff_s + EPS_S
    cover.eliminate_zeros()
    return cover.astype(bool)


def _lscp(
    cover: sp.csr_matrix,
    w_left: np.ndarray,
    *,
    target: float,
    before: float,
    best: float,
    total: float,
    time_limit_s: float,
) -> Solution:
    """The fewest sites reaching ``target``, or an error when even every candidate cannot reach it.

    Parameters
    ----------
    cover
        Which candidates cover which residents left out in time.
    w_left
        Residents per column of ``cover`` still left out.
    target
        The share of all residents to cover.
    before
        Residents covered before.
    best
        Residents covered with every candidate built.
    total
        All residents.
    time_limit_s
        The solver's time limit in seconds.

    Returns
    -------
    analysis.siting_models.Solution
        The LSCP solution.

    Raises
    ------
    analysis.siting_models.InfeasibleError
        The target is beyond what the candidates can cover.
    """
    need = target * total - before
    if target * total > best + 1e-9:
        raise InfeasibleError(
            "siting_target_0_coverage_cannot",
            target=target,
            before_total=before / total,
            best_total=best / total,
            best=best,
            total=total,
        )
    return solve_lscp(
        cover,
        w_left,
        need,
        time_limit_s=time_limit_s,
        what=note("reaching_target", target=target, now=before / total),
    )


def _drop_useless(sites: gpd.GeoDataFrame, model: str, k: int, notes: list[str]) -> tuple[gpd.GeoDataFrame, int | None]:
    """The sites without those that add no one (never suggested), noting where the sites stop helping.

    Parameters
    ----------
    sites
        The chosen sites, with ``pop_new``.
    model
        The siting model (``pmedian`` sites are all kept: they shorten walks).
    k
        The sites asked for (``mclp``).
    notes
        The run's notes; a ``sites_stop_helping`` note is appended when sites are dropped.

    Returns
    -------
    tuple of geopandas.GeoDataFrame and int or None
        The sites kept, and how many help (``None`` when every site asked for adds someone).
    """
    useful = int((sites[C.POP_NEW] > 0).sum())
    asked = k if model == "mclp" else len(sites)  # the solver may return fewer: the rest would add no one
    if useful < max(asked, len(sites)) and model != "pmedian":  # a site that adds no one is never suggested
        notes.append(note("sites_stop_helping", n=useful))
        return sites[sites[C.POP_NEW] > 0], useful
    return sites, None


def _site_isochrones(
    network: StreetNetwork,
    sites: gpd.GeoDataFrame,
    c_snap: pd.DataFrame,
    *,
    minutes: float,
    speed_kmh: float,
) -> gpd.GeoDataFrame:
    """The reach of each new site within ``minutes``; an empty frame when there are none.

    Parameters
    ----------
    network
        The street network.
    sites
        The new sites, with ``candidate_id``.
    c_snap
        The candidates' places on the streets, indexed by ``candidate_id``.
    minutes
        The walking threshold in minutes.
    speed_kmh
        Walking speed in km/h.

    Returns
    -------
    geopandas.GeoDataFrame
        As ``analysis.isochrones.facility_isochrones``.
    """
    if not len(sites):
        return gpd.GeoDataFrame(columns=["facility_id", C.BAND_MIN, "geometry"], geometry="geometry", crs=network.crs)
    return facility_isochrones(
        network,
        sites,
        c_snap.loc[sites["candidate_id"]].set_index(sites.index),
        minutes=(minutes,),
        speed_kmh=speed_kmh,
    )


def _mclp(cover: sp.csr_matrix, weight: np.ndarray, k: int, **options: object) -> Solution:
    """MCLP, or no site at all when no candidate reaches anyone (said plainly, not "nothing left")."""
    if cover.shape[0] == 0 or not cover.nnz:
        return Solution(np.empty(0, np.int64), 0.0, "greedy", True, 0.0, [])
    return solve_mclp(cover, weight, k, **options)


def _in_units(
    candidates: gpd.GeoDataFrame, boundaries: Mapping[str, gpd.GeoDataFrame] | None
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Grid candidates outside every admin unit dropped (a site there has no unit to belong to); with a note."""
    area = units_area(boundaries)
    if area is None or candidates.empty:
        return candidates, []
    area = shapely.union_all(area.to_crs(candidates.crs).geometry.values)
    inside = shapely.intersects(area, candidates.geometry.values)
    out = ~inside & (candidates["source"] != "planner").to_numpy()
    notes = [note("candidates_outside_units", n=int(out.sum()))] if out.any() else []
    return candidates[~out], notes


def _unreached(network, left: LeftOut, w_left, reached, model) -> tuple[float, float]:
    """Residents left out that no candidate reaches; and of them, those no street corner reaches."""
    if model == "pmedian":
        return 0.0, 0.0
    missed = np.flatnonzero(~reached & (w_left > 0))
    if not len(missed):
        return 0.0, 0.0
    _, by_corner = nearest_corners(network, left, missed)
    return float(left.pop[missed].sum()), float(left.pop[missed[~by_corner]].sum())


def _unreached_notes(unreached: float, no_corner: float, minutes: float) -> list[Note]:
    """What the residents no candidate reaches are, and what would help."""
    notes = []
    if unreached > no_corner:
        notes.append(note("unreached_grid", pop=unreached - no_corner, minutes=minutes))
    if no_corner:
        notes.append(note("unreached_off_network", pop=no_corner, minutes=minutes))
    return notes


def _explain(
    candidates: gpd.GeoDataFrame,
    chosen: np.ndarray,
    secs: sp.csr_matrix,
    *,
    cutoff_s: float,
    weight: np.ndarray,
) -> tuple[gpd.GeoDataFrame, float]:
    """One row per chosen site, in the solver's order (best first): the residents it adds to the sites before it.

    ``pop_new`` is the residents it newly covers that no earlier site covers,
    so the rows add up to the total gain, and their running sum is the gain of
    building the sites in this order.
    """
    taken = np.zeros(secs.shape[1], dtype=bool)
    pop_new = np.zeros(len(chosen))
    for i, row in enumerate(chosen):
        lo, hi = secs.indptr[row], secs.indptr[row + 1]
        cols, s = secs.indices[lo:hi], secs.data[lo:hi] - EPS_S
        new = (s <= cutoff_s) & ~taken[cols] & (weight[cols] > 0)
        pop_new[i] = weight[cols[new]].sum()
        taken[cols[new]] = True
    rows = candidates.iloc[chosen][["candidate_id", "geometry"]].copy()
    rows[C.POP_NEW] = pop_new
    rows.insert(0, "site_id", [f"S{i + 1:02d}" for i in range(len(rows))])
    rows = rows.set_index("site_id", drop=False).rename_axis(None)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=candidates.crs), float(pop_new.sum())


def _served(
    sites: gpd.GeoDataFrame,
    network: StreetNetwork,
    site_snaps: pd.DataFrame,
    demand: gpd.GeoDataFrame,
    demand_snaps: pd.DataFrame,
    *,
    speed_kmh: float,
) -> gpd.GeoDataFrame:
    """Each site's residents once every site is open: those it serves, their walk, and the walk it saves them.

    A resident is served by the site nearest them when it is nearer than their
    centre now (one multi-source pass from the sites over the whole network, so
    every model is explained alike: a p-median site chosen for shorter walks of
    residents already covered serves them too). ``minutes`` is the mean walk of
    the residents a site serves; ``pop_minutes_saved`` the resident-minutes it
    saves those who had a walk before (adding up to the whole saving),
    ``minutes_saved`` that per resident. A resident no centre reached before is
    served, but saves no countable walk. NaN only where a site serves no one.
    """
    pop = demand[C.POP].to_numpy(dtype=float)
    before = demand[C.MINUTES].to_numpy(dtype=float) * 60
    before = np.where(np.isfinite(before), before, np.inf)
    t = nearest_times(network, site_snaps, demand_snaps, speed_kmh=speed_kmh)
    served = np.flatnonzero((t.point_source >= 0) & (t.point_s < before) & (pop > 0))
    site, w, now, then = t.point_source[served], pop[served], t.point_s[served], before[served]
    n, had = len(sites), np.isfinite(then)
    pop_served = np.bincount(site, weights=w, minlength=n)
    walk = np.bincount(site, weights=w * now, minlength=n)
    saved = np.bincount(site[had], weights=(w * (then - now))[had], minlength=n)
    pop_had = np.bincount(site[had], weights=w[had], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        minutes, each = walk / pop_served / 60, saved / pop_had / 60
    out = sites.copy()
    out.insert(out.columns.get_loc(C.POP_NEW), C.POP_SERVED, pop_served)
    out.insert(out.columns.get_loc(C.POP_NEW) + 1, C.MINUTES, np.where(pop_served > 0, minutes, np.nan))
    out.insert(out.columns.get_loc(C.MINUTES) + 1, C.MINUTES_SAVED, np.where(pop_had > 0, each, np.nan))
    out.insert(out.columns.get_loc(C.MINUTES_SAVED) + 1, C.POP_MINUTES_SAVED, saved / 60)
    return out


def _curve(cover, left, *, before, total, k_max, time_limit_s, budget_s=None, model=None) -> pd.DataFrame:
    """Residents covered with k = 1 ... k_max new sites: exact (MCLP) while the time budget lasts, else greedy.

    Each k is solved exactly in turn until ``budget_s`` seconds are spent; the
    k past that keep the greedy value, a lower bound that is at least
    1 - 1/e (63%) of the best (Nemhauser, Wolsey and Fisher 1978). Each row says
    which (``method``, ``optimal``). It stops at the k where every resident the
    candidates can reach is covered: more sites add no one (``saturated``).
    """
    if cover.shape[0] == 0 or not cover.nnz:
        return pd.DataFrame()
    reachable = float(left[np.diff(cover.tocsc().indptr) > 0].sum())
    greedy = greedy_max_coverage(cover, left, k_max)
    budget_s = CURVE_BUDGET_S if budget_s is None else budget_s
    start = time.perf_counter()
    if model is None and budget_s > 0:
        model = mclp_model(cover, left)  # one model for every k
    rows, got = [], 0.0
    for k in range(1, k_max + 1):
        got += greedy[k - 1][1] if k <= len(greedy) else 0.0
        spare = budget_s - (time.perf_counter() - start)
        if spare > 0:
            exact = solve_mclp(cover, left, k, time_limit_s=min(time_limit_s, spare), model=model)
            value, method, optimal = exact.objective, exact.method, exact.optimal
        else:
            value, method, optimal = got, "greedy", False
        full = value >= reachable - 1e-9
        rows.append(
            {
                "k": k,
                "pop_covered": before + value,
                "pct_covered": 100 * (before + value) / total if total else np.nan,
                "pop_new": value,
                "pop_new_greedy": got,
                "method": method,
                "optimal": optimal or full,
                "saturated": full,
            }
        )
        if full:
            break
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
