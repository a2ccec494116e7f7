"""The circle's stages, each a function a user can call: snap → times → access → reach → coverage → sites.

``run_circle`` (``analysis.pipeline``) composes them; each takes what the earlier ones made
and the run's ``CircleOptions``, and returns new objects (nothing given is changed).

- ``snap_circle``: facilities and residents placed on the streets; what the network leaves out.
- ``circle_times``: each resident's minutes to the nearest facility, ``covered``, per category, per group.
- ``circle_access``: 2SFCA accessibility per resident, each facility's catchment and load.
- ``circle_reach``: the reach drawn, of the kinds asked (per facility, merged, nearest).
- ``circle_coverage``: gap zones and one coverage table per level of the review units.
- ``circle_sites``: the suggested new sites (exact MCLP).

Examples
--------
The stages one by one on the bundled sample, as ``run_circle`` runs them:

>>> from geo import load_sample
>>> network, facilities, demand = load_sample()
>>> options = CircleOptions(minutes=15, n_sites=1)
>>> snapped = snap_circle(network, facilities, demand, options)
>>> times = circle_times(snapped, options)
>>> access = circle_access(snapped, times, options)
>>> reach = circle_reach(snapped, options)
>>> coverage = circle_coverage(snapped, access.demand, options)
>>> sites = circle_sites(snapped, access.demand, options)
>>> float(times["pop"].sum()), len(reach.reach) >= 1, len(sites)
(38367.0, True, 1)
>>> run_circle(network, facilities, demand, options).summary.pop_covered == float(
...     times.loc[times["covered"], "pop"].sum()
... )
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd

from analysis import columns as C
from analysis.accessibility import two_step_fca
from analysis.compounds import compound_notes
from analysis.coverage import category_coverage, category_times, coverage_by_level, nearest_facility, nearest_of_all
from analysis.gaps import gap_zones
from analysis.groups import group_covered
from analysis.isochrones import merge_isochrones, nearest_isochrones
from analysis.options import CircleOptions
from analysis.pipeline import (  # pipeline imports this module inside run_circle: no loop at import
    _category_speed_notes,
    _named_bands,
    _network_notes,
    _supply,
    circle_isochrones,
    run_circle,  # noqa: F401 -- the module's example compares the stages with it
)
from analysis.reachgrid import reach_grid
from analysis.traveltime import od_table, speed_ms
from geo.crs import require_projected
from geo.errors import InputError
from geo.network import StreetNetwork
from geo.notes import Note
from geo.snapstore import kept_snap

__all__ = [
    "Access",
    "Coverage",
    "Reach",
    "Snapped",
    "category_speed_notes",
    "circle_access",
    "circle_coverage",
    "circle_reach",
    "circle_sites",
    "circle_times",
    "snap_circle",
]


@dataclass
class Snapped:
    """The run's inputs placed on the streets: the first stage's result, read by every later one."""

    network: StreetNetwork  #: the street network; its metric CRS is the run's
    facilities: gpd.GeoDataFrame  #: the facilities counted (``CircleOptions.categories``), in ``network.crs``
    demand: gpd.GeoDataFrame  #: the resident points, in ``network.crs``
    f_snap: pd.DataFrame  #: ``geo.snap_points(facilities, network)``
    d_snap: pd.DataFrame  #: ``geo.snap_points(demand, network)``
    notes: list[Note] = field(default_factory=list)  #: what the network leaves out, and why

    def present(self, options: CircleOptions) -> list[str]:
        """The categories with a threshold that some facility has, in the thresholds' order."""
        return [c for c in options.thresholds() if (self.facilities["category"] == c).any()]

    def category_cutoffs(self, options: CircleOptions) -> dict[str, float]:
        """Each present category's engine cutoff in minutes (its own threshold, at its own speed)."""
        minutes = options.thresholds()
        return options.yardstick.cutoffs({c: minutes[c] for c in self.present(options)}, _speeds(options))


def _speeds(options: CircleOptions) -> dict[str, float]:
    """The categories' own speeds, for categories with a threshold."""
    minutes = options.thresholds()
    return {c: float(v) for c, v in options.category_speed if c in minutes}


@dataclass
class Access:
    """The access stage's result."""

    facilities: gpd.GeoDataFrame  #: with ``on_network``, ``snap_m``, ``supply``, ``catchment_pop``, ``load``, ...
    demand: gpd.GeoDataFrame  #: the times stage's residents, with 2SFCA ``access`` (per 1,000 residents)
    load_unit: str  #: what the load is counted per: ``capacity`` or ``facility``


@dataclass
class Reach:
    """The reach stage's result, each layer in the network's CRS (a kind not asked for is empty)."""

    isochrones: gpd.GeoDataFrame  #: per facility and band: ``facility_id``, ``minutes``
    reach: gpd.GeoDataFrame  #: all facilities together, one polygon per band
    catchments: gpd.GeoDataFrame  #: the reach split to the facility that reaches each place first


@dataclass
class Coverage:
    """The coverage stage's result."""

    gaps: gpd.GeoDataFrame  #: ranked gap zones
    levels: dict[str, gpd.GeoDataFrame]  #: coverage table per level of the review units
    notes: list[Note] = field(default_factory=list)  #: what the tables left out, and why


def snap_circle(
    network: StreetNetwork,
    facilities: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    options: CircleOptions | None = None,
    *,
    demand_snap: pd.DataFrame | None = None,
) -> Snapped:
    """Stage 1: check the CRSs, keep the categories counted, place facilities and residents on the streets.

    Parameters
    ----------
    network
        The street network (``geo.prepare_network``).
    facilities
        Facility points with ``category``, in ``network.crs``.
    demand
        Resident points with ``pop``, in ``network.crs``.
    options
        The run's options (``max_snap_m``, ``categories``); ``None``: the defaults.
    demand_snap
        ``geo.snap_points(demand, network, max_snap_m=...)`` when the caller has it already.

    Returns
    -------
    Snapped
        The inputs and their snaps, and notes on what the network leaves out.

    Raises
    ------
    InputError
        A layer in a geographic CRS, or in another CRS than the network's.
    """
    options = options or CircleOptions()
    require_projected(network.crs, what="the street network")
    for what, gdf in (("facilities", facilities), ("demand", demand)):
        require_projected(gdf.crs, what=what)
        if gdf.crs != network.crs:
            raise InputError(
                "stages_crs_differs", what=what, crs=gdf.crs.to_string(), network_crs=network.crs.to_string()
            )
    if options.categories is not None:
        facilities = facilities[facilities["category"].isin(options.categories)]
    # issue 32: kept in the network's store entry (``geo.snapstore``): a second run on the same inputs skips it
    f_snap = kept_snap(facilities, network, max_snap_m=options.max_snap_m)
    d_snap = kept_snap(demand, network, max_snap_m=options.max_snap_m) if demand_snap is None else demand_snap
    notes = _network_notes(network, facilities, demand, f_snap, d_snap, options.max_snap_m)
    notes += compound_notes(  # issue 30: residents in gated compounds, and what the gates add to their walk
        network, facilities, demand, d_snap, speed_kmh=options.speed_kmh, max_snap_m=options.max_snap_m
    )
    return Snapped(network, facilities, demand, f_snap, d_snap, notes)


def circle_times(snapped: Snapped, options: CircleOptions) -> gpd.GeoDataFrame:
    """Stage 2: each resident's minutes to the nearest facility, and whether covered (overall, per category, group).

    Parameters
    ----------
    snapped
        ``snap_circle``'s result.
    options
        The run's options.

    Returns
    -------
    geopandas.GeoDataFrame
        The residents with ``minutes``, ``nearest_facility``, ``covered``, ``walk_m``, a ``covered_<category>``
        per category present and a ``covered_<group>`` per population group.
    """
    s, ys = snapped, options.yardstick
    speed, cutoff = ys.engine_kmh, options.cutoff_min
    cat_cutoffs = s.category_cutoffs(options)
    # issue 32: one pass per category; the nearest of all is theirs when every facility is in one of them
    per = category_times(s.network, s.facilities, s.f_snap, s.d_snap, list(cat_cutoffs), speed_kmh=speed)
    dem = nearest_facility(
        s.network,
        s.facilities,
        s.demand,
        s.f_snap,
        s.d_snap,
        minutes=cutoff,
        speed_kmh=speed,
        times=nearest_of_all(per, s.facilities),
    )
    dem[C.WALK_M] = dem[C.MINUTES] * 60 * speed_ms(speed)
    per_cat = category_coverage(s.network, s.facilities, s.f_snap, s.d_snap, cat_cutoffs, speed_kmh=speed, times=per)
    dem = pd.concat([dem, per_cat], axis=1)
    for g in options.groups:
        dem[C.covered_by(g.column)] = group_covered(dem, g, ys, cutoff_min=cutoff)
    return dem


def circle_access(snapped: Snapped, demand: gpd.GeoDataFrame, options: CircleOptions) -> Access:
    """Stage 3: 2SFCA accessibility, each facility's catchment being its category's threshold; loads.

    Parameters
    ----------
    snapped
        ``snap_circle``'s result.
    demand
        ``circle_times``' residents.
    options
        The run's options (``decay``, ``load_norm``, ``category_capacity``).

    Returns
    -------
    Access
        The facilities with their loads, the residents with ``access``.
    """
    s, cutoff = snapped, options.cutoff_min
    cat_cutoff = s.category_cutoffs(options)
    fac_cutoff_s = s.facilities["category"].map(cat_cutoff).fillna(cutoff).to_numpy(dtype=float) * 60
    od = od_table(
        s.network, s.f_snap, s.d_snap, cutoff_s=float(fac_cutoff_s.max(initial=0)), speed_kmh=options.engine_kmh
    )
    od = od[od["seconds"].to_numpy() <= fac_cutoff_s[od["source"].to_numpy()]]
    supply, unit = _supply(s.facilities, dict(options.category_capacity))
    pop = demand[C.POP].to_numpy(dtype=float)
    access, served = two_step_fca(od, supply, pop, cutoff_s=fac_cutoff_s, decay=options.decay)
    dem = demand.assign(**{C.ACCESS: access * 1000})
    fac = s.facilities.assign(
        on_network=s.f_snap["on_network"],
        snap_m=s.f_snap["offset_m"].round(1),
        supply=supply,
        catchment_pop=served,
        **{C.LOAD: served / supply},
    )
    fac[C.OVERLOADED] = fac[C.LOAD] > options.load_norm if options.load_norm is not None else False
    return Access(fac, dem, unit)


def circle_reach(snapped: Snapped, options: CircleOptions) -> Reach:
    """Stage 4: the reach for ``minutes`` and every band, of the kinds in ``options.isochrones``.

    Parameters
    ----------
    snapped
        ``snap_circle``'s result.
    options
        The run's options (``minutes``, ``bands``, ``isochrones``, ``street_side_m``, ``reach_cell_m``).

    Returns
    -------
    Reach
        Each kind asked for; the others empty.
    """
    s, ys, kinds = snapped, options.yardstick, options.isochrones
    # Each band drawn at its own cutoff, and named by its circle (a distance yardstick's bands are not one speed).
    named = {ys.cutoff_min(b): b for b in sorted({options.minutes, *options.bands})}
    opts = {"minutes": list(named), "speed_kmh": ys.engine_kmh, "street_side_m": options.street_side_m}
    crs = s.network.crs
    empty = gpd.GeoDataFrame(columns=[C.FACILITY_ID, C.BAND_MIN, "geometry"], geometry="geometry", crs=crs)
    united = "merged" in kinds and options.reach_cell_m is None  # the union of every facility's own reach
    iso = (
        circle_isochrones(
            s.network, s.facilities, s.f_snap, circles=named.values(), ys=ys, street_side_m=options.street_side_m
        )
        if "facility" in kinds or united
        else empty
    )
    reach = empty.drop(columns=C.FACILITY_ID)
    if "merged" in kinds:
        reach = (
            merge_isochrones(iso)
            if united
            else _named_bands(reach_grid(s.network, s.facilities, s.f_snap, **opts, cell_m=options.reach_cell_m), named)
        )
    catchments = (
        _named_bands(nearest_isochrones(s.network, s.facilities, s.f_snap, **opts), named)
        if "nearest" in kinds
        else empty
    )
    return Reach(iso, reach, catchments)


def circle_coverage(
    snapped: Snapped,
    demand: gpd.GeoDataFrame,
    options: CircleOptions,
    boundaries: Mapping[str, gpd.GeoDataFrame] | None = None,
) -> Coverage:
    """Stage 5: the gap zones, and one coverage table per level of ``boundaries``.

    Parameters
    ----------
    snapped
        ``snap_circle``'s result.
    demand
        The residents with ``covered`` (``circle_times``' or ``circle_access``').
    options
        The run's options (``gap_cell_m``, ``groups``).
    boundaries
        Review units per level (``city``, ``district``, ...), with ``code`` and ``name``; ``None``: none.

    Returns
    -------
    Coverage
        Gap zones, the tables by level, and notes.
    """
    gaps = gap_zones(demand, cell_m=options.gap_cell_m, boundaries=boundaries)
    levels, notes = coverage_by_level(
        demand,
        snapped.facilities,
        boundaries,
        categories=snapped.present(options),
        groups=[g.column for g in options.groups],
        used=snapped.f_snap["on_network"],
    )
    return Coverage(gaps, levels, list(notes))


def circle_sites(snapped: Snapped, demand: gpd.GeoDataFrame, options: CircleOptions) -> gpd.GeoDataFrame:
    """Stage 6: ``options.n_sites`` new sites covering the most residents not yet covered (exact MCLP).

    Parameters
    ----------
    snapped
        ``snap_circle``'s result.
    demand
        The residents with ``covered``.
    options
        The run's options (``n_sites``, ``site_spacing_m``).

    Returns
    -------
    geopandas.GeoDataFrame
        The sites (``analysis.siting.SITE_COLUMNS``); empty when ``n_sites`` is 0.
    """
    if options.n_sites <= 0:
        return gpd.GeoDataFrame(columns=C.SITE_COLUMNS, geometry="geometry", crs=snapped.network.crs)
    from analysis.siting import suggest_sites  # issue 32: only a run that suggests sites loads the siting

    return suggest_sites(
        snapped.network,
        demand,
        snapped.d_snap,
        minutes=options.cutoff_min,
        speed_kmh=options.engine_kmh,
        k=options.n_sites,
        spacing_m=options.site_spacing_m,
    )


def category_speed_notes(options: CircleOptions) -> list[Note]:
    """What the categories' own speeds did (a note each), or that a distance yardstick does not use them."""
    return _category_speed_notes(options.yardstick, options.thresholds(), _speeds(options))
