"""The whole circle in one call: snap, time, cover, find gaps, weigh capacity, suggest a site, draw the reach."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Geod

from analysis import columns as C
from analysis import defaults as _defaults
from analysis.coverage import Summary, summarize
from analysis.groups import GroupRate, group_rates
from analysis.isochrones import STREET_SIDE_M, facility_isochrones
from analysis.options import ISOCHRONE_KINDS, CircleOptions
from analysis.reachgrid import reach_grid
from analysis.traveltime import speed_ms
from analysis.yardstick import Yardstick
from geo.network import StreetNetwork
from geo.notes import Note, note

__all__ = [
    "EACH_REACH_MAX",
    "ISOCHRONE_KINDS",
    "STEPS",
    "CircleResult",
    "CircleSummary",
    "changed_reach",
    "circle_isochrones",
    "circle_summary",
    "run_circle",
]

STEPS = _defaults.STEPS  # issue 32: defined with the defaults, so a command's progress starts before geopandas loads

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CircleSummary(Summary):
    """A run's headline figures: the coverage (``Summary``) and what produced it.

    Attributes
    ----------
    minutes
        The circle (minutes, the life circle's name under a distance yardstick).
    speed_kmh
        The speed the travel times were computed at (km/h): the walking speed, or 3.6 (1 m/s)
        under a distance yardstick.
    n_facilities, n_facilities_used
        Facilities given, and those on the network (the others reach nobody).
    n_points
        Resident points read.
    n_overloaded
        Facilities whose load (residents per unit of capacity) is above ``load_norm``.
    load_unit
        What the load is counted per: ``capacity`` (the planner's) or ``facility``.
    yardstick
        The yardstick judged by (``analysis.yardstick.Yardstick``): its name, speed and distances.
    cutoff_min
        The circle's threshold in minutes at ``speed_kmh`` (``minutes`` itself under the minutes yardstick).
    walk_m
        The network walk in metres the circle allows.
    groups
        Coverage per population group (``analysis.groups.GroupRate``), each at its own speed.
    """

    minutes: float
    speed_kmh: float
    n_facilities: int
    n_facilities_used: int
    n_points: int
    n_overloaded: int
    load_unit: str
    yardstick: Yardstick
    cutoff_min: float
    walk_m: float
    groups: tuple[GroupRate, ...] = ()


@dataclass
class CircleResult:
    """Everything one run produces, each layer in the network's metric CRS."""

    facilities: gpd.GeoDataFrame  #: input facilities with ``on_network``, ``snap_m``, 2SFCA ``load``
    demand: gpd.GeoDataFrame  #: resident points: ``minutes``, ``nearest_facility``, ``covered``, per category
    isochrones: gpd.GeoDataFrame  #: per facility and band: ``facility_id``, ``minutes``
    reach: gpd.GeoDataFrame  #: all facilities together, one polygon per band
    catchments: gpd.GeoDataFrame  #: the reach split to the facility that reaches each place first
    gaps: gpd.GeoDataFrame  #: ranked gap zones
    sites: gpd.GeoDataFrame  #: suggested new sites
    levels: dict[str, gpd.GeoDataFrame]  #: coverage table per admin level (city, district, ...)
    summary: CircleSummary  #: headline figures
    skipped: list[Note] = field(default_factory=list)  #: what was left out, and why (``str`` gives English)
    hours: object = None  #: the week's coverage by the hour (``analysis.hours.WeekCoverage``) when hours were asked

    def layers(self, isochrones: str = "facility") -> dict[str, gpd.GeoDataFrame]:
        """The layers by their export names (the GeoPackage layers of ``quarterhour run``).

        The ``isochrones`` layer holds the kind asked for (see ``ISOCHRONE_KINDS``),
        always with the columns ``facility_id`` (empty when merged), ``minutes``, geometry.

        Parameters
        ----------
        isochrones
            The kind of reach for the ``isochrones`` layer: ``facility``, ``merged`` or ``nearest``.

        Returns
        -------
        dict of str to geopandas.GeoDataFrame
            ``facilities``, ``demand``, ``isochrones``, ``coverage_<level>``, ``gaps``,
            ``accessibility`` and ``sites``, in that order.
        """
        merged = self.reach.assign(**{C.FACILITY_ID: None})[[C.FACILITY_ID, C.BAND_MIN, "geometry"]]
        chosen = {"facility": self.isochrones, "merged": merged, "nearest": self.catchments}[isochrones]
        access_cols = [c for c in ("demand_id", C.POP, C.ACCESS, C.MINUTES, C.COVERED) if c in self.demand]
        return {
            "facilities": self.facilities,
            "demand": self.demand,
            "isochrones": chosen,
            **{f"coverage_{level}": table for level, table in self.levels.items()},
            "gaps": self.gaps,
            "accessibility": self.demand[[*access_cols, "geometry"]],
            "sites": self.sites,
        }

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables a planner takes away: coverage per level, ranked gaps, suggested sites, facilities.

        Returns
        -------
        dict of str to DataFrame
            ``coverage_<level>``, ``gaps``, ``sites`` and ``facilities``, without their geometry.
        """
        tables = {f"coverage_{level}": table for level, table in self.levels.items()}
        tables["gaps"] = self.gaps
        tables["sites"] = self.sites
        tables["facilities"] = self.facilities
        return {name: pd.DataFrame(table.drop(columns="geometry")) for name, table in tables.items()}


def _supply(facilities: gpd.GeoDataFrame, category_capacity: Mapping[str, float]) -> tuple[np.ndarray, str]:
    """Capacity per facility: its own ``capacity``, else its category's, else 1 (each centre counts once)."""
    by_cat = facilities["category"].map(dict(category_capacity)).astype(float)
    own = pd.to_numeric(facilities["capacity"], errors="coerce") if "capacity" in facilities else by_cat
    supply = own.fillna(by_cat).to_numpy(dtype=float)
    unit = "capacity" if np.isfinite(supply).any() else "facility"
    return np.where(np.isfinite(supply) & (supply > 0), supply, 1.0), unit


def run_circle(
    network: StreetNetwork | Any,
    facilities: gpd.GeoDataFrame | CircleOptions | None = None,
    demand: gpd.GeoDataFrame | None = None,
    options: CircleOptions | None = None,
    *,
    boundaries: Mapping[str, gpd.GeoDataFrame] | None = None,
    demand_snap: pd.DataFrame | None = None,
    progress: Callable[[str], None] | None = None,
    reach: Any = None,
    **keywords: Any,
) -> CircleResult:
    """Run the service-circle analysis end to end.

    Residents count as ``covered`` within ``minutes`` of the nearest facility of
    any category (the 15-minute circle); each category is also judged against
    its own threshold (``category_minutes``, default GB 50180-2018: service
    centre 15, neighbourhood centre 10, liaison point 5, study room 15 min).
    Isochrones are drawn for ``minutes`` and every threshold in ``bands``, of the
    kinds in ``isochrones`` (those not asked for come back empty: the
    nearest-facility split is the slowest at city scale). ``boundaries`` (level ->
    polygons with ``code``, ``name``) give one coverage table per level.
    Accessibility is 2SFCA within each facility's category threshold, with
    ``decay`` none, gaussian or stepped; a facility whose load (residents per
    unit of capacity) exceeds ``load_norm`` is flagged ``overloaded``.

    The run is the stages of ``analysis.stages`` one after another (snap → times → access →
    reach → coverage → sites), each of which can be called on its own.

    Parameters
    ----------
    network
        The street network (``geo.prepare_network``); its metric CRS is the run's CRS. Or a study
        (``quarterhour.load_study``): anything with ``network``, ``facilities``, ``demand``, ``boundaries``
        and ``demand_snap``, the options then second: ``run_circle(study, options)``.
    facilities
        Facility points with ``category`` (and optionally ``capacity``), in ``network.crs``.
    demand
        Resident points with ``pop`` (residents), in ``network.crs``.
    options
        The run's options (``analysis.options.CircleOptions``); ``None``: the defaults.
    **keywords
        Any field of ``CircleOptions`` by name, over ``options`` (as before issue 25). Those below:
    minutes
        The circle's threshold in minutes: a resident is ``covered`` within it of any facility.
    bands
        Further thresholds in minutes to draw isochrones for (``minutes`` is always drawn).
    isochrones
        Which kinds of reach to draw, out of ``ISOCHRONE_KINDS``; the others come back empty.
    category_minutes
        Threshold in minutes per category code, over the GB 50180-2018 defaults
        (``geo.vocab.CATEGORY_MINUTES``); used for per-category coverage and 2SFCA catchments.
    category_capacity
        Capacity per category code (e.g. floor area in m²), for facilities with no ``capacity`` of their own;
        with neither, each facility counts as 1.
    category_speed
        Walking speed in km/h per category code whose threshold is judged at its own speed (e.g. 3.2 for
        a centre older residents walk to), over ``speed_kmh``: its cutoff is its minutes x its speed /
        ``speed_kmh`` in the run's minutes, the same distance (``Yardstick.cutoffs``). Not used by a
        distance yardstick.
    boundaries
        Admin units per level (``city``, ``district``, ...), polygons with ``code`` and ``name``;
        each level gets a coverage table, and gap zones name the units they touch.
    decay
        2SFCA distance decay: ``none``, ``gaussian`` or ``stepped`` (``analysis.accessibility.DECAYS``).
    load_norm
        Residents per unit of capacity above which a facility is flagged ``overloaded``; ``None`` flags none.
    speed_kmh
        Walking speed in km/h (of the ``minutes`` yardstick; not used by a distance yardstick).
    standard
        The yardstick (``analysis.yardstick.STANDARDS``): ``minutes`` at ``speed_kmh``, or ``gb50180``
        (``gb50180-strict``): each threshold, band and category judged by its network walking distance.
    groups
        Population groups (columns of ``demand``), each covered at its own speed (``analysis.groups``).
    max_snap_m
        Points more than this many metres from any street are left out (facilities) or not covered (residents).
    street_side_m
        How far in metres either side of a reached street the isochrone polygons reach.
    gap_cell_m
        Side in metres of the grid cells that gap zones are built from.
    n_sites
        How many new sites to suggest (exact MCLP); 0 suggests none.
    site_spacing_m
        Spacing in metres of the grid of candidate sites on network nodes.
    reach_cell_m
        Trace the merged reach from a grid of about this cell (``analysis.reachgrid``: one walk-time
        pass, its outline within about a cell) instead of uniting every facility's isochrone;
        ``None`` unites them. Each facility's isochrones are then drawn only if ``facility`` is asked.
    demand_snap
        ``geo.snap_points(demand, network, max_snap_m=max_snap_m)`` when the caller has it already (the app
        keeps it with the residents: a city's 50k points take a second or two to snap); ``None`` snaps them.
    progress
        Told the name of each step as it starts (``travel_times``, ``isochrones``, ``coverage``,
        and ``siting`` when ``n_sites``; see ``STEPS``); ``None`` tells nobody. Never prints.
    reach
        ``analysis.stages.circle_reach`` of these facilities on this network with these options when the
        caller has it already (it does not depend on the residents: the app keeps it from the facilities'
        upload); ``None`` draws it.

    Returns
    -------
    CircleResult
        Every layer in ``network.crs``; ``skipped`` says what was left out, and why.

    Examples
    --------
    >>> from geo import load_sample
    >>> r = run_circle(*load_sample())
    >>> r.summary.pop_total
    38367.0
    """
    from analysis import stages  # here: the stages import this module's helpers

    if not isinstance(network, StreetNetwork) and hasattr(network, "network"):  # a study
        study = network
        options = facilities if isinstance(facilities, CircleOptions) else options
        network, facilities, demand = study.network, study.facilities, study.demand
        boundaries = boundaries if boundaries is not None else getattr(study, "boundaries", None)
        demand_snap = demand_snap if demand_snap is not None else getattr(study, "demand_snap", None)
    options = CircleOptions.of(options, **keywords)
    step = progress or _quiet
    step("travel_times")
    snapped = stages.snap_circle(network, facilities, demand, options, demand_snap=demand_snap)
    skipped = [*snapped.notes, *stages.category_speed_notes(options)]
    access = stages.circle_access(snapped, stages.circle_times(snapped, options), options)
    step("isochrones")
    reach = stages.circle_reach(snapped, options) if reach is None else reach
    step("coverage")
    coverage = stages.circle_coverage(snapped, access.demand, options, boundaries)
    skipped += coverage.notes
    if options.n_sites > 0:
        step("siting")
    sites = stages.circle_sites(snapped, access.demand, options)
    summary = circle_summary(snapped, access, options)
    for line in skipped:
        log.info(line)
    return CircleResult(
        facilities=access.facilities,
        demand=access.demand,
        isochrones=reach.isochrones,
        reach=reach.reach,
        catchments=reach.catchments,
        gaps=coverage.gaps,
        sites=sites,
        levels=coverage.levels,
        summary=summary,
        skipped=skipped,
    )


def circle_summary(snapped: Any, access: Any, options: CircleOptions) -> CircleSummary:
    """A run's headline figures from its stages (``analysis.stages``): coverage, and what produced it.

    Parameters
    ----------
    snapped
        ``analysis.stages.snap_circle``'s result.
    access
        ``analysis.stages.circle_access``' result.
    options
        The run's options.

    Returns
    -------
    CircleSummary
        The figures.
    """
    ys, dem = options.yardstick, access.demand
    return CircleSummary(
        **asdict(summarize(dem)),
        minutes=options.minutes,
        speed_kmh=float(ys.engine_kmh),
        n_facilities=len(snapped.facilities),
        n_facilities_used=int(snapped.f_snap["on_network"].sum()),
        n_points=len(snapped.demand),
        n_overloaded=int(access.facilities[C.OVERLOADED].sum()),
        load_unit=access.load_unit,
        yardstick=ys,
        cutoff_min=float(options.cutoff_min),
        walk_m=ys.walk_m(options.minutes),
        groups=group_rates(dem, options.groups, ys),
    )


def circle_isochrones(
    network: StreetNetwork,
    facilities: gpd.GeoDataFrame,
    f_snap: pd.DataFrame,
    *,
    circles: Sequence[float],
    ys: Yardstick,
    street_side_m: float = STREET_SIDE_M,
) -> gpd.GeoDataFrame:
    """Each facility's reach for each life circle in ``circles``, judged by ``ys`` and named by its minutes.

    The isochrones ``run_circle`` draws for ``isochrones=("facility",)``, made on their own: the app makes a
    city's only when a file asks for them.
    """
    named = {ys.cutoff_min(b): b for b in sorted(map(float, circles))}
    iso = facility_isochrones(
        network, facilities, f_snap, minutes=list(named), speed_kmh=ys.engine_kmh, street_side_m=street_side_m
    )
    return _named_bands(iso, named)


#: Up to this many new or moved centres, the scenario draws each one's own reach; more are drawn as one merged
#: reach from one multi-source pass (``reach_grid``): each centre's own took 38 s for 200 centres on the sample,
#: and did not end in 400 s for 2,000 (issue 27 §5); the merged one takes under a second for either.
EACH_REACH_MAX = 20


def changed_reach(
    network: StreetNetwork,
    centres: gpd.GeoDataFrame,
    snaps: pd.DataFrame,
    *,
    circle: float,
    ys: Yardstick,
    each_max: int = EACH_REACH_MAX,
) -> gpd.GeoDataFrame:
    """The reach within ``circle`` of a scenario's new and moved centres, however many there are.

    Parameters
    ----------
    network
        The street network.
    centres
        The new and moved centres, in ``network.crs``.
    snaps
        ``geo.snap_points(centres, network)``.
    circle
        The life circle (minutes), judged by ``ys``.
    ys
        The yardstick.
    each_max
        Up to this many centres, each one's own isochrone (``circle_isochrones``); more: their merged reach,
        traced from a grid in one multi-source pass (``analysis.reachgrid``: the same places, the outline
        within a few metres).

    Returns
    -------
    geopandas.GeoDataFrame
        Polygons with ``band_min`` (one per centre, or one for them all).
    """
    if len(centres) <= each_max:
        return circle_isochrones(network, centres, snaps, circles=[circle], ys=ys)
    named = {ys.cutoff_min(circle): float(circle)}
    merged = reach_grid(network, centres, snaps, minutes=list(named), speed_kmh=ys.engine_kmh)
    return _named_bands(merged, named)


def _named_bands(iso: gpd.GeoDataFrame, named: Mapping[float, float]) -> gpd.GeoDataFrame:
    """Isochrones drawn at engine cutoffs, their ``minutes`` put back to the circles they stand for."""
    return iso.assign(**{C.BAND_MIN: iso[C.BAND_MIN].map(dict(named)).astype(float)})


def _quiet(step: str) -> None:
    """The progress callback that tells nobody."""


def _category_speed_notes(ys: Yardstick, minutes: Mapping[str, float], speeds: Mapping[str, float]) -> list[Note]:
    """What the categories' own speeds did: each one's threshold as a walk, or nothing under a distance yardstick."""
    if not speeds:
        return []
    if ys.by_distance:
        return [note("category_speed_unused", standard=ys.name)]
    return [
        note(
            "category_speed",
            category=c,
            minutes=minutes[c],
            speed=speeds[c],
            walk_m=minutes[c] * 60 * speed_ms(speeds[c]),
        )
        for c in speeds
    ]


def _network_notes(  # noqa: PLR0917 -- private, one caller
    network: StreetNetwork,
    facilities: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    f_snap: pd.DataFrame,
    d_snap: pd.DataFrame,
    max_snap_m: float,
) -> list[Note]:
    """What the network leaves out: points too far from any street, points on cut-off fragments."""
    notes = []
    off = ~f_snap["on_network"]
    if off.all() and len(off):
        notes.append(_none_on_network(network, facilities, max_snap_m))
    elif off.any():
        names = facilities["name"] if "name" in facilities else pd.Series(facilities.index, index=facilities.index)
        shown = [str(v) for v in names[off][:10]] + (["…"] if off.sum() > 10 else [])
        notes.append(note("facilities_off", n=int(off.sum()), max_snap_m=max_snap_m, names=shown))
    off_d = ~d_snap["on_network"]
    if off_d.all() and len(off_d):
        notes.append(_no_residents_on_network(network, demand, max_snap_m))
    elif off_d.any():
        pop = float(demand.loc[off_d, C.POP].sum())
        notes.append(note("residents_off", n=int(off_d.sum()), pop=pop, max_snap_m=max_snap_m))
    frag = f_snap["component"] > 0
    if frag.any():
        k = f_snap.loc[frag, "component"].nunique()
        notes.append(note("facilities_fragments", n=int(frag.sum()), k=k))
    frag = d_snap["component"] > 0
    if frag.any():
        pop = float(demand.loc[frag, C.POP].sum())
        notes.append(note("residents_fragments", n=int(frag.sum()), pop=pop, k=d_snap.loc[frag, "component"].nunique()))
    return notes


def _apart(network: StreetNetwork, points: gpd.GeoDataFrame) -> dict:
    """Where ``points`` and the streets lie (median lon/lat) and how far apart, in km rounded to say."""
    pts = points.geometry.to_crs(4326)
    streets = network.nodes.geometry.to_crs(4326)
    lon, lat = float(pts.x.median()), float(pts.y.median())
    net_lon, net_lat = float(streets.x.median()), float(streets.y.median())
    km = _km(lon, lat, net_lon, net_lat)
    return {
        "lon": lon,
        "lat": lat,
        "net_lon": net_lon,
        "net_lat": net_lat,
        "km": round(km, 1) if km < 10 else round(km),
    }


def _km(lon: float, lat: float, lon2: float, lat2: float) -> float:
    return Geod(ellps="WGS84").inv(lon, lat, lon2, lat2)[2] / 1000


def _likely_cause(where: dict) -> Note:
    """Why points lie nowhere near the streets, as far as their place tells.

    Longitude and latitude swapped (swapped back, they are near), degrees read as metres (a file
    declaring EPSG:3857 over degrees lands by (0°, 0°)), or else the usual causes.
    """
    if abs(where["lat"]) <= 90 and _km(where["lat"], where["lon"], where["net_lon"], where["net_lat"]) < 50:
        return note("cause_swapped")
    if abs(where["lon"]) < 0.01 and abs(where["lat"]) < 0.01:  # 180° read as 180 m lands within 0.002° of (0, 0)
        return note("cause_degrees_as_metres")
    return note("cause_unknown")


def _none_on_network(network: StreetNetwork, facilities: gpd.GeoDataFrame, max_snap_m: float) -> Note:
    """No facility is on the network: where the facilities and the streets are, how far apart, and why that happens."""
    w = _apart(network, facilities)
    return note(
        "none_on_network",
        n=len(facilities),
        max_snap_m=max_snap_m,
        fac_lon=w["lon"],
        fac_lat=w["lat"],
        net_lon=w["net_lon"],
        net_lat=w["net_lat"],
        km=w["km"],
        far=note("another_city") if w["km"] > 50 else "",
    )


def _no_residents_on_network(network: StreetNetwork, demand: gpd.GeoDataFrame, max_snap_m: float) -> Note:
    """No resident point is on the network: every figure would be 0 %; where they are, and the likely cause."""
    w = _apart(network, demand)
    return note("no_residents_on_network", n=len(demand), max_snap_m=max_snap_m, **w, cause=_likely_cause(w))
