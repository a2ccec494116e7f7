"""The cached computations and the files they make.

Every cache is keyed by plain values (file paths named by their content,
numbers, the frozen values of ``ui.values``), and what it returns is never
changed afterwards: planners sharing one server share results, never each
other's uploads or scenarios (those live in ``st.session_state``).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import streamlit as st

from analysis import columns as C
from analysis.demand import prepare_demand
from analysis.gaps import CELL_M
from analysis.isochrones import facility_isochrones
from analysis.pipeline import ISOCHRONE_KINDS, CircleResult, run_circle
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
from quarterhour.export import gpkg_bytes, layer_bytes, provenance, table_bytes
from quarterhour.report import build_pack
from quarterhour.webmap import MapData, map_data
from ui.values import SAMPLE, Change, Inputs, Params, Plan, Points, ScenarioView

__all__ = [
    "app_provenance",
    "base_map",
    "compute",
    "layer_file",
    "load_boundaries",
    "load_network",
    "load_points",
    "review_pack",
    "scenario",
    "scenario_gpkg",
    "siting",
    "table_file",
]

GAP_CELL_M = CELL_M
SMALL_NETWORK_NODES = 20_000  # above: no catchment split, no automatic site (each takes many seconds)


@st.cache_resource(show_spinner=False, max_entries=8)
def load_network(source: str) -> StreetNetwork:
    """``sample``, ``osm:<place>`` (downloaded once, then from the disk cache) or a network file's path."""
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
    """Facilities, residents (and their places on the streets) in the network's CRS, and what was done."""
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
    """Review units: the sample's, a bundled set ("luoyang"), or an uploaded file's path."""
    network = load_network(network_src)
    path = sample_paths()["boundaries"] if source == SAMPLE else source
    return {level: gdf.to_crs(network.crs) for level, gdf in read_boundaries(path).items()}


def _chosen(inputs: Inputs, params: Params) -> gpd.GeoDataFrame:
    facilities = load_points(inputs).facilities
    return facilities[facilities["category"].isin(params.categories)]


@st.cache_resource(show_spinner=False, max_entries=32)
def compute(inputs: Inputs, units: str, params: Params) -> CircleResult:
    """One analysis run; cached on every input, so only what changed is recomputed."""
    network = load_network(inputs.network)
    small = len(network.nodes) <= SMALL_NETWORK_NODES
    return run_circle(
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
    )


@st.cache_resource(show_spinner=False, max_entries=16)
def siting(inputs: Inputs, units: str, params: Params, candidates: str | None, plan: Plan) -> SiteResult:
    """A siting model on the current coverage: the planner's candidates or a 200 m grid, curve to 10."""
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
    inputs: Inputs, units: str, params: Params, lang: str, plan: Plan | None, candidates: str | None
) -> MapData:
    """The map's layers as data (drawn afresh on every run in a few milliseconds)."""
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
    """Coverage with the planner's changes, what it changes, and the reach of the new and moved centres."""
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


@st.cache_data(show_spinner=False, max_entries=16)
def scenario_gpkg(inputs: Inputs, units: str, params: Params, changes: tuple[Change, ...]) -> bytes:
    """The scenario's result as a GeoPackage: the changes, facilities, residents, levels and gaps after them."""
    view = scenario(inputs, units, params, changes)
    layers = {
        "changes": changes_frame(changes),
        "facilities": view.after.facilities,
        "demand": view.after.demand,
        **{f"coverage_{level}": table for level, table in view.after.levels.items()},
        **{f"compare_{level}": table for level, table in view.tables.items()},
        "gaps": view.after.gaps,
        "reach": view.reach,
    }
    prov = app_provenance(inputs, units, params)
    prov["parameters"]["scenario_changes"] = len(changes)
    return gpkg_bytes({name: layer for name, layer in layers.items() if len(layer.columns)}, provenance=prov)


def app_provenance(inputs: Inputs, units: str, params: Params) -> dict:
    """What produced the numbers on screen: the parameters and the input files (with their SHA-256).

    Parameters
    ----------
    inputs, units, params
        The run's inputs, review units and parameters.

    Returns
    -------
    dict
        ``quarterhour.export.provenance`` of them.
    """
    paths = sample_paths()
    files = {
        "network": paths["network"] if inputs.network == SAMPLE else inputs.network,
        "facilities": paths["facilities"] if inputs.facilities == SAMPLE else inputs.facilities,
        "demand": paths["demand"] if inputs.demand == SAMPLE else inputs.demand,
        "boundaries": paths["boundaries"] if units == SAMPLE else units,
    }
    parameters = {
        "face": "app",
        "minutes": params.minutes,
        "speed_kmh": params.speed_kmh,
        "categories": list(params.categories),
        "category_minutes": dict(params.category_minutes),
        "bands": list(params.bands),
        "facilities_crs": inputs.facilities_crs,
        "demand_total": inputs.demand_total,
    }
    return provenance(parameters, files)


@st.cache_data(show_spinner=False, max_entries=16)
def layer_file(inputs: Inputs, units: str, params: Params, name: str, fmt: str) -> bytes:
    """One layer (or, for ``all``, every layer in one GeoPackage) as a file, with provenance."""
    layers = compute(inputs, units, params).layers()
    prov = app_provenance(inputs, units, params)
    if name == "all":
        return gpkg_bytes(layers, provenance=prov)
    return layer_bytes(layers[name], name, fmt, provenance=prov)


@st.cache_data(show_spinner=False, max_entries=16)
def table_file(inputs: Inputs, units: str, params: Params, name: str, fmt: str) -> bytes:
    """One table as CSV or XLSX; names that look like formulas are made inert (``export.safe_table``)."""
    return table_bytes(compute(inputs, units, params).tables()[name], fmt)


@st.cache_data(show_spinner=False, max_entries=8)
def review_pack(inputs: Inputs, units: str, params: Params, level: str, code: str, lang: str) -> bytes:
    """One unit's review pack (GeoPackage, map PNG, XLSX, HTML, PDF) as a zip: the run is reused, not redone."""
    return build_pack(
        compute(inputs, units, params),
        load_network(inputs.network),
        level=level,
        code=code,
        provenance=app_provenance(inputs, units, params),
        lang=lang,
    )
