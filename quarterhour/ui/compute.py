"""The cached computations: the inputs read, the run, siting, the map's data, the scenario.

The files made of them (downloads, the review pack) are in ``quarterhour.ui.files``.

Every cache is keyed by plain values (file paths named by their content,
numbers, the frozen values of ``quarterhour.ui.values``), and what it returns is never
changed afterwards: planners sharing one server share results, never each
other's uploads or scenarios (those live in ``st.session_state``).
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from analysis import columns as C
from analysis.gaps import CELL_M
from analysis.groups import find_groups, group_headers
from analysis.hours import facility_hours, open_states, run_open
from analysis.isochrones import kept_faces
from analysis.pipeline import ISOCHRONE_KINDS, STEPS, CircleResult, changed_reach, circle_isochrones, run_circle
from analysis.reachgrid import GRID_M
from analysis.scenario import Baseline, apply_changes, baseline, compare, evaluate, gap_members
from analysis.siting import SiteResult, SitingCoverage, candidate_sites, plan_sites, siting_coverage
from analysis.stages import Reach, Snapped, circle_reach
from geo import (
    StreetNetwork,
    read_boundaries,
    read_facilities,
    sample_paths,
    snap_points,
)
from geo.errors import InputError
from geo.hours import parse_hours, typical_hours
from geo.notes import note
from geo.osm import walk_network_file
from geo.roads import road_notes
from geo.scenario import changes_frame
from geo.store import cache_root, load_entry, store_network
from geo.vocab import DEFAULT_NEW_CATEGORY
from quarterhour.i18n import t
from quarterhour.render.leaflet import OSM_ATTRIBUTION
from quarterhour.render.webgeo import draw_streets_ahead
from quarterhour.render.webmap import CITY_EDGES, MapData, map_data, with_sites
from quarterhour.study import CoordinateNote, StudySpec, load_study
from quarterhour.ui.progress import tell
from quarterhour.ui.values import SAMPLE, STORE, Change, Inputs, Params, Plan, Points, ScenarioView

__all__ = [
    "base_map",
    "compute",
    "compute_files",
    "load_boundaries",
    "load_network",
    "load_points",
    "network_name",
    "network_of",
    "scenario",
    "scenario_run",
    "siting",
    "streets_credit",
]

GAP_CELL_M = CELL_M
log = logging.getLogger("quarterhour.app")
SMALL_NETWORK_NODES = 20_000  # above: no catchment split, no automatic site (each takes many seconds)


@st.cache_resource(show_spinner=False, max_entries=8)
def load_network(source: str) -> StreetNetwork:
    """The street network of ``source``, prepared for routing (cached for every session).

    Parameters
    ----------
    source
        ``sample``, ``osm:<place>`` (downloaded once, then from the disk cache),
        ``bbox:<west>,<south>,<east>,<north>`` (degrees), ``store:<folder>`` (a prepared
        network in the store, ``geo.store.list_networks``) or a network file's path.
        Every one goes through the network store (``geo.store``): prepared once, then read back.

    Returns
    -------
    StreetNetwork
        The network in its metric CRS; a city's street picture (``quarterhour.render.webgeo.street_picture``)
        is begun in the background, so the first map finds it drawn.
    """
    network = _network(source)
    if len(network.edges) > CITY_EDGES:  # a city's streets are drawn as a picture: begun while the planner picks files
        draw_streets_ahead(network)
    return network


def _network(source: str) -> StreetNetwork:
    """``load_network``'s network, read through the store."""
    if source == SAMPLE:
        return store_network(sample_paths()["network"]).network
    if source.startswith(STORE):
        return load_entry(source[len(STORE) :]).network
    downloads = cache_root() / "networks"
    if source.startswith("osm:"):
        return store_network(walk_network_file(place=source[4:], cache_dir=downloads), name=source[4:]).network
    if source.startswith("bbox:"):
        west, south, east, north = (float(v) for v in source[5:].split(","))
        path = walk_network_file(bbox=(west, south, east, north), cache_dir=downloads)
        return store_network(path, name=source).network
    return store_network(source).network


# --- issue 30: i30-compounds ---
def network_of(inputs: Inputs) -> StreetNetwork:
    """The network of ``inputs``: ``load_network``'s, walled by the inputs' gated compounds if any (issue 30)."""
    if not inputs.compounds:
        return load_network(inputs.network)
    return _walled(inputs.network, inputs.compounds, inputs.gates)


@st.cache_resource(show_spinner=False, max_entries=8)
def _walled(source: str, compounds: str, gates: str | None) -> StreetNetwork:
    """The network of ``source`` with the gated compounds' walls (``geo.compounds.walled_network``), cached.

    Read as the files say (the planner's choice of system, ``quarterhour.ui.walls``, made WGS-84 copies) and
    checked against the streets: the notes say when the compounds sit closer to them in another system.
    """
    from geo.compounds import read_walls, walled_network

    return walled_network(load_network(source), read_walls(compounds, gates, system="auto", network=source))


# --- end of issue 30 ---
def network_name(source: str) -> str:
    """What the planner calls a network source: a file's, place's or stored network's name.

    Parameters
    ----------
    source
        As for ``load_network``.

    Returns
    -------
    str
        The name.
    """
    if source == SAMPLE:
        return sample_paths()["network"].name
    if source.startswith(STORE):
        manifest = Path(source[len(STORE) :]) / "manifest.json"
        try:
            return json.loads(manifest.read_text(encoding="utf-8"))["source"]["name"]
        except (OSError, ValueError, KeyError):
            return Path(source[len(STORE) :]).name
    return Path(source.split(":", 1)[-1]).name


@st.cache_resource(show_spinner=False, max_entries=8)
def group_names(inputs: Inputs) -> tuple[str, ...]:
    """The residents' population groups (their recognised headers); none when they cannot be read (the run says why)."""
    try:
        return tuple(group_headers(load_points(inputs).demand.columns))
    except InputError:
        return ()


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
    network = network_of(inputs)  # issue 30: with the compounds' walls
    spec = StudySpec(  # issue 25: the one way in, as the command line and batch read (a raster, a units table)
        network=network,
        facilities=inputs.facilities,
        demand=inputs.demand,
        boundaries=inputs.units,
        facilities_crs=inputs.facilities_crs,
        demand_crs=inputs.demand_crs,
        demand_total=inputs.demand_total,
        snap=False,  # issue 29 (city-upload): snapped below, as load_study would, its stage shown
    )
    tell("reading")
    study = load_study(spec)
    tell("snapping")
    demand_snap = snap_points(study.demand, network, max_snap_m=spec.max_snap_m)
    fac_name, dem_name = (name for name, _ in study.choices)
    report = network.derived.get("road_report")  # issue 30: what was read of a road layer, first
    notes = [
        *(road_notes(report, network_name(inputs.network)) if report else ()),
        note("facilities_read", file=fac_name, n=len(study.facilities)),
        *(n for n in study.notes if not isinstance(n, CoordinateNote)),  # the coordinates: said from crs_choices
        note("residents_read", file=dem_name, n=len(study.demand), pop=float(study.demand[C.POP].sum()), how=study.how),
    ]
    return Points(study.facilities, study.demand, demand_snap, tuple(notes), study.choices)


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


def _open_changes(changes: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame, params: Params) -> gpd.GeoDataFrame:
    """Issue 31: at a time asked, a new centre serves only if its category's hours have it open then."""
    if params.at is None or not len(changes):
        return changes
    hours = [
        typical_hours(facilities, c if isinstance(c, str) and c else DEFAULT_NEW_CATEGORY) for c in changes["category"]
    ]
    shut = [
        a == "add" and h is not None and not parse_hours(h).is_open(params.at)
        for a, h in zip(changes["action"], hours, strict=True)
    ]
    return changes[[not s for s in shut]]


def _open_then(facilities: gpd.GeoDataFrame, params: Params) -> gpd.GeoDataFrame:
    """Issue 31: the facilities open at the time asked (all at any time): the scenario counts only those."""
    return facilities if params.at is None else facilities[open_states(facility_hours(facilities)[0], params.at) == 1]


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
        catchment split and the automatic site, with the merged reach traced from a grid
        (``analysis.reachgrid``) and without each facility's isochrones (``compute_files`` adds them).
    """
    bar = st.empty() if _lang else None  # made in here: a cache hit replays it, and its emptying
    tell("analysis")
    result = _run(inputs, units, params, _chosen(inputs, params), progress=_steps_bar(bar, _lang) if bar else None)
    if bar is not None:
        bar.empty()
    return result


def _run(
    inputs: Inputs, units: str, params: Params, facilities: gpd.GeoDataFrame, *, progress: Callable | None = None
) -> CircleResult:
    """``run_circle`` on the session's data with these facilities (the current ones, or a scenario's)."""
    network = network_of(inputs)  # issue 30: with the compounds' walls
    points = load_points(inputs)
    run = run_circle if params.at is None else partial(run_open, at=params.at)  # issue 31: the facilities open then
    options = _run_options(network, points, params)
    # issue 29 (city-upload): the reach does not depend on the residents: drawn once per network, facilities and
    # options (a city's 7 s: begun on the facilities' upload, found here when the residents come)
    kept_reach = {"reach": facilities_reach(inputs, facilities, options)} if params.at is None else {}
    return run(
        network,
        facilities,
        points.demand,
        options=options,
        boundaries=load_boundaries(inputs.network, units),
        demand_snap=points.demand_snap,  # snapped once, with the residents
        progress=progress,
        **kept_reach,
    )


def _run_options(network: StreetNetwork, points: Points, params: Params):
    """The run's options (``analysis.options.CircleOptions``) on this network for these residents."""
    small = len(network.nodes) <= SMALL_NETWORK_NODES
    panel = params.options()  # issue 25: the panel's choices as one options value
    return panel.replace(
        categories=None,  # the facilities are chosen already (``_chosen``; a scenario's too)
        groups=find_groups(points.demand, panel.groups),
        gap_cell_m=GAP_CELL_M,
        # a city's map draws the merged reach, traced from a grid in seconds; each facility's own reach
        # (hundreds of polygons, not drawn) is made when a file asks for it (compute_files)
        isochrones=ISOCHRONE_KINDS if small else ("merged",),
        reach_cell_m=None if small else GRID_M,
        n_sites=1 if small else 0,  # a whole city's sites come from the siting panel, when asked for
    )


@st.cache_resource(show_spinner=False, max_entries=8)
def compute_files(inputs: Inputs, units: str, params: Params) -> CircleResult:
    """The run as the files hold it (layers, review packs): with each facility's own isochrones.

    At city scale ``compute`` draws only the merged reach; each facility's reach is made here,
    once, when a file first asks for it.

    Parameters
    ----------
    inputs, units, params
        As for ``compute``.

    Returns
    -------
    CircleResult
        ``compute``'s run, with ``isochrones`` for every facility and band.
    """
    return _with_each_reach(compute(inputs, units, params), inputs, params, _chosen(inputs, params))


def _with_each_reach(
    result: CircleResult, inputs: Inputs, params: Params, facilities: gpd.GeoDataFrame
) -> CircleResult:
    """``result`` with each facility's isochrones, made now if the run left them out (a city's)."""
    if len(result.isochrones) or not result.summary.n_facilities_used:
        return result
    network = network_of(inputs)  # issue 30: with the compounds' walls
    iso = circle_isochrones(
        network,
        facilities,
        snap_points(facilities, network),
        circles=[params.minutes, *params.bands],
        ys=params.yardstick,
    )
    return replace(result, isochrones=iso)


@st.cache_data(show_spinner=False, max_entries=4)
def scenario_run(inputs: Inputs, units: str, params: Params, changes: tuple[Change, ...]) -> CircleResult:
    """A whole run with the scenario's facilities (for its review pack): as ``compute``, after the changes."""
    network = network_of(inputs)  # issue 30: with the compounds' walls
    after = apply_changes(_chosen(inputs, params), changes_frame(changes).to_crs(network.crs))
    return _with_each_reach(_run(inputs, units, params, after), inputs, params, after)


def _steps_bar(bar: DeltaGenerator, lang: str) -> Callable[[str], None]:
    """``run_circle``'s progress on ``bar``: the step under way, of ``STEPS`` (as the command line shows them)."""

    def told(name: str) -> None:
        tell(f"step_{name}")  # issue 29 (city-upload): in the page's box of stages too
        i = STEPS.index(name) + 1
        bar.progress(i / len(STEPS), text=t("step_of", lang, i=i, n=len(STEPS), step=t(f"step_{name}", lang)))

    return told


SITING_CURVE_K = 10  #: the siting panel's curve of residents covered, k = 1 ... this
SITING_LIMIT_S = 20  #: the siting panel's solver time limit


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
    network = network_of(inputs)  # issue 30: with the compounds' walls
    result = compute(inputs, units, params)
    return plan_sites(
        network,
        result.demand,
        load_points(inputs).demand_snap,
        model=plan.model,
        k=plan.k,
        target=plan.target,
        minutes=params.cutoff_min,
        speed_kmh=params.engine_kmh,
        curve_k=SITING_CURVE_K,
        time_limit_s=SITING_LIMIT_S,
        boundaries=load_boundaries(inputs.network, units),
        # issue 29 (city-siting): the candidates and whom each reaches, kept while only k or the target change
        coverage=siting_cover(inputs, units, params, candidates, model=plan.model, spacing_m=plan.spacing_m),
    )


@st.cache_resource(show_spinner=False, max_entries=4)  # a city's is some 40 MB (its matrices and candidates)
def siting_cover(
    inputs: Inputs, units: str, params: Params, candidates: str | None, *, model: str, spacing_m: float
) -> SitingCoverage:
    """The siting's candidates and whom each reaches in time (``analysis.siting.siting_coverage``), for every k.

    Parameters
    ----------
    inputs, units, params
        The run's inputs, review units and parameters (as for ``compute``).
    candidates
        The planner's candidate points file (its path), or None for network nodes on a grid.
    model
        The siting model (``pmedian`` measures farther, to every resident).
    spacing_m
        The grid's spacing, without a candidates file.

    Returns
    -------
    SitingCoverage
        What ``plan_sites`` solves on; another k or target on it costs only its solve.
    """
    network = network_of(inputs)  # issue 30: with the compounds' walls
    crs = load_points(inputs).crs_choices[0][1].system  # candidates are read as the facilities were
    points = read_facilities(candidates, crs=crs, what="candidates").to_crs(network.crs) if candidates else None
    return siting_coverage(
        network,
        compute(inputs, units, params).demand,
        load_points(inputs).demand_snap,
        model=model,
        minutes=params.cutoff_min,
        speed_kmh=params.engine_kmh,
        candidates=candidate_sites(network, points=points) if points is not None else None,
        spacing_m=spacing_m,
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
        ``quarterhour.render.webmap.map_data`` of the run.
    """
    network = network_of(inputs)  # issue 30: with the compounds' walls
    if plan:  # issue 29 (city-siting): the map without sites as it is (cached), the sites added
        planned = siting(inputs, units, params, candidates, plan)
        plain = base_map(inputs, units, params, lang=lang, plan=None, candidates=candidates)
        return with_sites(plain, compute(inputs, units, params), planned.sites, planned.isochrones, lang=lang)
    return map_data(
        compute(inputs, units, params),
        network,
        lang=lang,
        gap_cell_m=GAP_CELL_M,
        streets_credit=streets_credit(inputs.network, lang),
    )


def from_osm(source: str) -> bool:
    """Whether a network source's streets are OpenStreetMap's.

    The sample, a download, an OSM file, or a GraphML whose segments carry OSM ids (as osmnx writes them from
    OSM) are; a file that cannot be told is not credited to OSM.

    Parameters
    ----------
    source
        As for ``load_network``.
    """
    if source == SAMPLE or source.startswith(("osm:", "bbox:")):
        return True
    path = Path(source.split(":", 1)[1] if source.startswith(STORE) else source)
    if source.startswith(STORE):
        try:
            manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
            path = Path(manifest["source"].get("path") or manifest["source"]["name"])
        except (OSError, ValueError, KeyError, AttributeError):
            return False
    name = path.name.lower()
    if name.endswith((".osm", ".pbf", ".osm.xml")):
        return True
    try:
        with path.open("rb") as f:
            head = f.read(200_000)
    except OSError:
        return False
    return b'attr.name="osmid"' in head


def streets_credit(source: str, lang: str) -> str:
    """The map's credit of the streets (HTML): OpenStreetMap's, or the network's own name.

    Parameters
    ----------
    source
        As for ``load_network``.
    lang
        ``"zh"`` or ``"en"``.
    """
    if from_osm(source):
        return OSM_ATTRIBUTION
    return html.escape(t("streets_credit", lang, name=network_name(source)))


@st.cache_resource(show_spinner=False, max_entries=8)
def scenario_base(inputs: Inputs, units: str, params: Params) -> Baseline:
    """The current state every scenario of this run is computed from incrementally (once per run)."""
    points = load_points(inputs)
    return baseline(
        network_of(inputs),  # issue 30
        _open_then(_chosen(inputs, params), params),
        points.demand,
        points.demand_snap,
        minutes=params.cutoff_min,
        speed_kmh=params.engine_kmh,
        boundaries=load_boundaries(inputs.network, units),
        gap_cell_m=GAP_CELL_M,
    )


@st.cache_resource(show_spinner=False, max_entries=8)
def _gap_members(inputs: Inputs, units: str, params: Params) -> pd.Series:
    """The gap zone of each resident the run leaves out (``analysis.scenario.gap_members``), found once per run."""
    result = compute(inputs, units, params)
    return gap_members(result.demand, result.gaps)


# issue 29 (city-click): kept as it is, not pickled. ``st.cache_data`` pickled the view on the click that made it and
# unpickled it whole on every later call of the same run (the autosave's figures, the comparison of two scenarios):
# a city's 50k residents and 7k gap zones from WKB, 0.4-0.7 s of a click's CPU. Nothing changes a view once made.
@st.cache_resource(show_spinner=False, max_entries=64)
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
    network = network_of(inputs)  # issue 30: with the compounds' walls
    points = load_points(inputs)
    result = compute(inputs, units, params)
    after = evaluate(
        network,
        _open_then(_chosen(inputs, params), params),
        points.demand,
        points.demand_snap,
        _open_changes(changes_frame(changes), _chosen(inputs, params), params),
        minutes=params.cutoff_min,
        speed_kmh=params.engine_kmh,
        boundaries=load_boundaries(inputs.network, units),
        gap_cell_m=GAP_CELL_M,
        base=scenario_base(inputs, units, params),
    )
    members = _gap_members(inputs, units, params) if len(result.gaps) else None
    figures, tables = compare(result.demand, result.gaps, result.levels, after, members=members)
    moved = after.facilities[after.facilities["change"] != ""]
    reach = (  # many new centres (a loaded file): one merged reach in one pass, not one isochrone each
        changed_reach(network, moved, snap_points(moved, network), circle=params.minutes, ys=params.yardstick)
        if len(moved)
        else gpd.GeoDataFrame(geometry=[], crs=network.crs)
    )
    return ScenarioView(after, figures, tables, reach)


# --- issue 29: city-upload ---
def facilities_reach(inputs: Inputs, facilities: gpd.GeoDataFrame, options) -> Reach:
    """``analysis.stages.circle_reach`` of ``facilities`` on the network of ``inputs`` (cached: not the residents').

    Parameters
    ----------
    inputs
        The sources (only the network's and the compounds' count: the facilities are given).
    facilities
        The facilities counted, in the network's CRS.
    options
        The run's options (``analysis.options.CircleOptions``; only what the reach reads is in the key).

    Returns
    -------
    Reach
        The isochrones, merged reach and catchments, as ``run_circle`` draws them.
    """
    key = _reach_options(options)
    return _reach(
        (inputs.network, inputs.compounds, inputs.gates), frame_digest(facilities), key, inputs, facilities, options
    )


def reach_ahead(inputs: Inputs, params: Params) -> bool:
    """Begin a city's reach in the background once its network, facilities and parameters are known.

    The reach does not depend on the residents: drawn while the planner picks the residents' file, the
    residents' upload finds it made (``facilities_reach``'s cache; a run that asks for it sooner waits for
    it). A page run cut short by the next upload does not stop it. Only on a network above
    ``SMALL_NETWORK_NODES`` nodes, and not for a time of the week (issue 31: the facilities open then).

    Returns
    -------
    bool
        Whether a reach was begun now (False: a small network, a time asked, inputs that cannot be read,
        or begun already).
    """
    if params.at is not None or not params.categories:
        return False
    try:
        network = network_of(inputs)
        if len(network.nodes) <= SMALL_NETWORK_NODES:
            return False
        points = load_points(inputs)
        facilities = _chosen(inputs, params)
        options = _run_options(network, points, params)
    except InputError:  # the page's run says what is wrong
        return False
    key = (inputs.network, inputs.compounds, inputs.gates, frame_digest(facilities), _reach_options(options))

    def draw() -> None:
        try:
            facilities_reach(inputs, facilities, options)
        except Exception:  # the page's own run draws it again, and says what went wrong
            log.exception("the reach drawn ahead failed")

    return _begin_once(_AHEAD, key, 32, "qh-reach-ahead", draw) is not None


_AHEAD: dict[tuple, None] = {}  #: the reaches begun ahead (oldest first)
_AHEAD_LOCK = threading.Lock()


def _begin_once(begun: dict, key: tuple, keep: int, name: str, work: Callable[[], None]) -> threading.Thread | None:
    """``work`` in a background thread, unless ``key`` was begun before (``begun`` keeps the ``keep`` newest keys).

    Returns
    -------
    threading.Thread or None
        The thread begun now; None when ``key`` was begun already.
    """
    with _AHEAD_LOCK:
        if key in begun:
            return None
        begun[key] = None
        while len(begun) > keep:
            begun.pop(next(iter(begun)))
    thread = threading.Thread(target=work, name=name, daemon=True)
    thread.start()
    return thread


def _reach_options(options) -> tuple:
    """What of a run's options the reach reads (``analysis.stages.circle_reach``, ``snap_points``)."""
    return (
        repr(options.yardstick),
        float(options.minutes),
        tuple(sorted(float(b) for b in options.bands)),
        tuple(options.isochrones),
        float(options.street_side_m),
        options.reach_cell_m,
        float(options.max_snap_m),
    )


def frame_digest(gdf: gpd.GeoDataFrame) -> str:
    """A digest of a layer's rows: index, attributes, geometry and CRS (equal layers, equal digests)."""
    h = hashlib.sha256(str(gdf.crs).encode())
    h.update(pd.util.hash_pandas_object(gdf.drop(columns=gdf.geometry.name), index=True).to_numpy().tobytes())
    h.update(b"".join(shapely.to_wkb(gdf.geometry.to_numpy())))
    return h.hexdigest()


@st.cache_resource(show_spinner=False, max_entries=8)
def _reach(
    network_key: tuple, facilities_key: str, options_key: tuple, _inputs: Inputs, _facilities, _options
) -> Reach:
    """``facilities_reach``'s cache: keyed by the network's sources, the facilities' digest and the options read."""
    network = network_of(_inputs)
    f_snap = snap_points(_facilities, network, max_snap_m=_options.max_snap_m)  # as run_circle's first stage
    return circle_reach(Snapped(network, _facilities, None, f_snap, None), _options)


# --- issue 29: city-click ---
def scenario_ready(inputs: Inputs, units: str, params: Params) -> Baseline:
    """Everything a first click would otherwise make, made now (after the map is sent): the click only computes.

    The scenario's base (``scenario_base``, once per run), which gap zone each resident left out lies in
    (``_gap_members``, once per run: a spatial join of a city's 21k residents with its 7k zones), the network's
    kept faces that a new centre's reach is cut from (read from the store on first use, once per process), and the
    coordinate transformation from the map's lon/lat to the network's system (PROJ's first one of a pair reads
    its database). A first click then costs what any click costs (``tests/test_city_click.py``).

    Returns
    -------
    Baseline
        ``scenario_base(inputs, units, params)``.
    """
    base = scenario_base(inputs, units, params)
    if len(compute(inputs, units, params).gaps):
        _gap_members(inputs, units, params)
    network = network_of(inputs)
    kept_faces(network)
    changes_frame([("add", None, "", "", *network_centre_lonlat(inputs.network))]).to_crs(network.crs)
    return base


@st.cache_data(show_spinner=False, max_entries=8)
def network_centre_lonlat(source: str) -> tuple[float, float]:
    """The (lon, lat) of the middle of a network's extent (cached: a city's 100k nodes are not reprojected per run)."""
    network = load_network(source)
    west, south, east, north = network.nodes.total_bounds
    middle = gpd.GeoSeries([shapely.Point((west + east) / 2, (south + north) / 2)], crs=network.crs).to_crs(4326)
    return float(middle.x.iloc[0]), float(middle.y.iloc[0])


def siting_ahead(inputs: Inputs, units: str, params: Params, candidates: str | None, *, model: str, spacing_m: float):
    """Begin the siting's coverage in the background once the planner works on the siting panel (a city's 2-3 s).

    What ``siting`` solves on does not depend on ``k`` or the target (``siting_cover``: the candidates, whom each
    reaches, for ``mclp`` the reduced model and the curve to ``SITING_CURVE_K``): begun when the planner sets them,
    the press ('计算选址') finds it made, or waits for the rest of it (Streamlit's per-key lock), and costs the
    solve and the map. The same calls as the press's, so the same answer. Only on a network above
    ``SMALL_NETWORK_NODES`` nodes (the sample's takes a blink).

    Returns
    -------
    threading.Thread or None
        The thread begun now; None on a small network, without categories, or when begun before.
    """
    if not params.categories:
        return None
    try:
        if len(network_of(inputs).nodes) <= SMALL_NETWORK_NODES:
            return None
    except InputError:
        return None
    key = (inputs, units, params, candidates, model, float(spacing_m))

    def draw() -> None:
        try:
            cover = siting_cover(inputs, units, params, candidates, model=model, spacing_m=float(spacing_m))
            if model != "pmedian":  # as plan_sites makes them for the panel: the reduced model and the curve
                cover.curve(SITING_CURVE_K, SITING_LIMIT_S)
        except InputError:  # e.g. no candidate in the units: the press says so
            pass
        except Exception:  # the press makes it again, and says what went wrong
            log.exception("the siting's coverage drawn ahead failed")

    return _begin_once(_SITING_AHEAD, key, 16, "qh-siting-ahead", draw)


_SITING_AHEAD: dict[tuple, None] = {}  #: the siting coverages begun ahead (oldest first)
