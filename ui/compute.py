"""The cached computations: the inputs read, the run, siting, the map's data, the scenario.

The files made of them (downloads, the review pack) are in ``ui.files``.

Every cache is keyed by plain values (file paths named by their content,
numbers, the frozen values of ``ui.values``), and what it returns is never
changed afterwards: planners sharing one server share results, never each
other's uploads or scenarios (those live in ``st.session_state``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from analysis import columns as C
from analysis.demand import prepare_demand
from analysis.gaps import CELL_M
from analysis.isochrones import facility_isochrones
from analysis.pipeline import ISOCHRONE_KINDS, STEPS, CircleResult, run_circle
from analysis.scenario import compare, evaluate
from analysis.siting import SiteResult, candidate_sites, plan_sites
from geo import (
    StreetNetwork,
    prepare_network,
    read_boundaries,
    read_demand,
    read_facilities,
    read_network,
    sample_paths,
    snap_points,
)
from geo.osm import download_walk_network
from geo.scenario import changes_frame
from quarterhour.i18n import t
from quarterhour.webmap import MapData, map_data
from ui.values import SAMPLE, Change, Inputs, Params, Plan, Points, ScenarioView

__all__ = [
    "base_map",
    "compute",
    "load_boundaries",
    "load_network",
    "load_points",
    "scenario",
    "siting",
]

GAP_CELL_M = CELL_M
SMALL_NETWORK_NODES = 20_000  # above: no catchment split, no automatic site (each takes many seconds)


@st.cache_resource(show_spinner=False, max_entries=8)
def load_network(source: str) -> StreetNetwork:
    """The street network of ``source``, prepared for routing (cached for every session).

    Parameters
    ----------
    source
        ``sample``, ``osm:<place>`` (downloaded once, then from the disk cache),
        ``bbox:<west>,<south>,<east>,<north>`` (degrees) or a network file's path.

    Returns
    -------
    StreetNetwork
        The network in its metric CRS.
    """
    if source == SAMPLE:
        path = sample_paths()["network"]
        return prepare_network(read_network(path), source=path.name)
    if source.startswith("osm:"):
        return prepare_network(download_walk_network(place=source[4:]), source=source[4:])
    if source.startswith("bbox:"):
        west, south, east, north = (float(v) for v in source[5:].split(","))
        return prepare_network(download_walk_network(bbox=(west, south, east, north)), source=source)
    return prepare_network(read_network(source), source=Path(source).name)


@st.cache_resource(show_spinner=False, max_entries=8)
def load_points(inputs: Inputs) -> Points:
    """Facilities, residents (and their places on the streets) in the network's CRS, and what was done.

    Parameters
    ----------
    inputs
        The network, facilities and residents sources, the facilities' coordinate
        system and the residents' total.

    Returns
    -------
    Points
        The facilities, the residents, the residents' snaps, and notes for the planner.
    """
    network = load_network(inputs.network)
    fac_path = sample_paths()["facilities"] if inputs.facilities == SAMPLE else inputs.facilities
    facilities = read_facilities(fac_path, crs=inputs.facilities_crs)
    notes = [f"{Path(fac_path).name}: {len(facilities)} facilities", *facilities.attrs.get("notes", [])]
    dem_path = sample_paths()["demand"] if inputs.demand == SAMPLE else inputs.demand
    demand, how = prepare_demand(read_demand(dem_path).to_crs(network.crs), total=inputs.demand_total)
    notes.append(
        f"{Path(dem_path).name}: {len(demand):,} resident points, {demand[C.POP].sum():,.0f} residents ({how})"
    )
    facilities = facilities.to_crs(network.crs)
    return Points(facilities, demand, snap_points(demand, network), tuple(notes))


@st.cache_resource(show_spinner=False, max_entries=8)
def load_boundaries(network_src: str, source: str) -> dict[str, gpd.GeoDataFrame]:
    """Review units by level, in the network's CRS.

    Parameters
    ----------
    network_src
        The network's source (as for ``load_network``).
    source
        ``sample`` (the sample's), a bundled set (``luoyang``) or an uploaded file's path.

    Returns
    -------
    dict[str, geopandas.GeoDataFrame]
        Level (``city``, ``district`` ...) -> its units.
    """
    network = load_network(network_src)
    path = sample_paths()["boundaries"] if source == SAMPLE else source
    return {level: gdf.to_crs(network.crs) for level, gdf in read_boundaries(path).items()}


def _chosen(inputs: Inputs, params: Params) -> gpd.GeoDataFrame:
    facilities = load_points(inputs).facilities
    return facilities[facilities["category"].isin(params.categories)]


@st.cache_resource(show_spinner=False, max_entries=32)
def compute(inputs: Inputs, units: str, params: Params, _lang: str | None = None) -> CircleResult:
    """One analysis run; cached on every input, so only what changed is recomputed.

    Parameters
    ----------
    inputs
        The sources of the network, facilities and residents.
    units
        The review units' source (as for ``load_boundaries``).
    params
        The threshold (minutes), speed (km/h), bands, categories shown and their own thresholds.
    _lang
        Show the run's steps on a progress bar in this language while it computes (gone when done);
        not part of the cache key (the leading underscore). ``None``: no bar.

    Returns
    -------
    CircleResult
        The run; on a network above ``SMALL_NETWORK_NODES`` nodes without the
        catchment split and the automatic site.
    """
    network = load_network(inputs.network)
    small = len(network.nodes) <= SMALL_NETWORK_NODES
    bar = st.empty() if _lang else None  # made in here: a cache hit replays it, and its emptying
    result = run_circle(
        network,
        _chosen(inputs, params),
        load_points(inputs).demand,
        minutes=params.minutes,
        bands=[b for b in params.bands if b != params.minutes],
        category_minutes=dict(params.category_minutes),
        boundaries=load_boundaries(inputs.network, units),
        speed_kmh=params.speed_kmh,
        gap_cell_m=GAP_CELL_M,
        isochrones=ISOCHRONE_KINDS if small else ("facility", "merged"),
        n_sites=1 if small else 0,  # a whole city's sites come from the siting panel, when asked for
        progress=_steps_bar(bar, _lang) if bar is not None else None,
    )
    if bar is not None:
        bar.empty()
    return result


def _steps_bar(bar: DeltaGenerator, lang: str) -> Callable[[str], None]:
    """``run_circle``'s progress on ``bar``: the step under way, of ``STEPS`` (as the command line shows them)."""

    def told(name: str) -> None:
        i = STEPS.index(name) + 1
        bar.progress(i / len(STEPS), text=t("step_of", lang, i=i, n=len(STEPS), step=t(f"step_{name}", lang)))

    return told


@st.cache_resource(show_spinner=False, max_entries=16)
def siting(inputs: Inputs, units: str, params: Params, candidates: str | None, plan: Plan) -> SiteResult:
    """A siting model on the current coverage: the planner's candidates or a 200 m grid, curve to 10.

    Parameters
    ----------
    inputs, units, params
        The run's inputs, review units and parameters (as for ``compute``).
    candidates
        The planner's candidate points file (its path), or None for network nodes on a 200 m grid.
    plan
        The model (``lscp``, ``mclp``, ``pmedian``), ``k`` and the ``target`` share.

    Returns
    -------
    SiteResult
        The sites, their reach, the coverage curve, the solution and its notes (20 s time limit).
    """
    network = load_network(inputs.network)
    result = compute(inputs, units, params)
    points = read_facilities(candidates, what="candidates").to_crs(network.crs) if candidates else None
    return plan_sites(
        network,
        result.demand,
        load_points(inputs).demand_snap,
        model=plan.model,
        k=plan.k,
        target=plan.target,
        minutes=params.minutes,
        speed_kmh=params.speed_kmh,
        candidates=candidate_sites(network, points=points) if points is not None else None,
        spacing_m=200,
        curve_k=10,
        time_limit_s=20,
        boundaries=load_boundaries(inputs.network, units),
    )


@st.cache_resource(show_spinner=False, max_entries=16)
def base_map(
    inputs: Inputs, units: str, params: Params, *, lang: str, plan: Plan | None, candidates: str | None
) -> MapData:
    """The map's layers as data (drawn afresh on every run in a few milliseconds).

    Parameters
    ----------
    inputs, units, params
        The run's inputs, review units (``sample``, a bundled set or a file's path) and parameters.
    lang
        The labels' language, ``"zh"`` or ``"en"``.
    plan
        The siting model asked for in the siting tab, or None: its sites and their reach are drawn.
    candidates
        The planner's candidate points file (its path), or None for a 200 m grid.

    Returns
    -------
    MapData
        ``quarterhour.webmap.map_data`` of the run.
    """
    network = load_network(inputs.network)
    planned = siting(inputs, units, params, candidates, plan) if plan else None
    return map_data(
        compute(inputs, units, params),
        network,
        lang=lang,
        gap_cell_m=GAP_CELL_M,
        sites=planned.sites if planned else None,
        site_reach=planned.isochrones if planned else None,
    )


@st.cache_data(show_spinner=False, max_entries=64)
def scenario(inputs: Inputs, units: str, params: Params, changes: tuple[Change, ...]) -> ScenarioView:
    """Coverage with the planner's changes, what it changes, and the reach of the new and moved centres.

    Parameters
    ----------
    inputs, units, params
        The run's inputs, review units and parameters (as for ``compute``).
    changes
        The planner's changes (add, move, close), in the order made.

    Returns
    -------
    ScenarioView
        The result after the changes, the figures and tables comparing it with the run, and the reach.
    """
    network = load_network(inputs.network)
    points = load_points(inputs)
    result = compute(inputs, units, params)
    after = evaluate(
        network,
        _chosen(inputs, params),
        points.demand,
        points.demand_snap,
        changes_frame(changes),
        minutes=params.minutes,
        speed_kmh=params.speed_kmh,
        boundaries=load_boundaries(inputs.network, units),
        gap_cell_m=GAP_CELL_M,
    )
    figures, tables = compare(result.demand, result.gaps, result.levels, after)
    moved = after.facilities[after.facilities["change"] != ""]
    reach = (
        facility_isochrones(
            network, moved, snap_points(moved, network), minutes=[params.minutes], speed_kmh=params.speed_kmh
        )
        if len(moved)
        else gpd.GeoDataFrame(geometry=[], crs=network.crs)
    )
    return ScenarioView(after, figures, tables, reach)
