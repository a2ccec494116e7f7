"""What if: add a centre here, move that one, close another — and who gains.

A scenario is a table of changes (``geo.scenario.CHANGE_COLUMNS``), one row each:

- ``add``: a proposed centre at the row's point (``name``, ``category``);
- ``move``: the existing ``facility_id`` now stands at the row's point;
- ``close``: the existing ``facility_id`` no longer serves (the point is where it stood).

``evaluate`` recomputes who is covered with the changed set of facilities,
and ``compare`` says what changed against the current state: residents gained
and lost, gap zones closed, unit by unit.

Given the current state (``Baseline``, computed once), ``evaluate`` works
incrementally and gives the same answer as a fresh run: a new or moved centre
can only shorten walks, so residents take the better of their current time and
the time to the new centres; only the residents a closed (or moved-away) centre
served are routed again to the centres left. The residents' units and the
current facilities' snaps are reused.

Issue 29: a planner's click costs only what it changes. The baseline also keeps
the facilities' units, each unit's parent, the coverage tables by level and
the gap zones' polygons: a click sums again only the units holding a resident
whose cover changed (``analysis.coverage.update_levels``), places only the
centres it adds or moves, draws only the gap zones whose cells changed, and
routes a new centre no farther than the longest walk now (nothing farther can
be better). ``tests/test_click_speed.py`` checks every state of a planner's
add, move, close and undo against a fresh evaluation and networkx.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from analysis import columns as C
from analysis.coverage import (
    Summary,
    coverage_by_level,
    demand_units,
    known_units,
    nearest_facility,
    summarize,
    unit_parents,
    unit_rows,
    update_levels,
    with_nearest,
)
from analysis.gaps import CELL_M, gap_zones, zone_shapes
from analysis.traveltime import WALK_KMH, nearest_times
from geo.errors import InputError
from geo.hours import typical_hours
from geo.network import StreetNetwork
from geo.scenario import CHANGE_COLUMNS, SCENARIO_ACTIONS
from geo.snap import DEFAULT_MAX_SNAP_M, snap_points
from geo.vocab import DEFAULT_NEW_CATEGORY

__all__ = [
    "Baseline",
    "ScenarioResult",
    "ScenarioSummary",
    "apply_changes",
    "baseline",
    "compare",
    "empty_changes",
    "evaluate",
    "gap_members",
]

NEW_PREFIX = "NEW"


def empty_changes(crs: object) -> gpd.GeoDataFrame:
    """A scenario with no change yet."""
    return gpd.GeoDataFrame(columns=[*CHANGE_COLUMNS, "geometry"], geometry="geometry", crs=crs)


def apply_changes(facilities: gpd.GeoDataFrame, changes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The facilities after the changes: closed ones gone, moved ones at their new place, new ones added.

    New centres get ids ``NEW1``, ``NEW2``, … (or the ``facility_id`` the row gives)
    and a column ``change`` says which rows differ from the current state.

    >>> import geopandas as gpd, shapely
    >>> fac = gpd.GeoDataFrame({"facility_id": ["A", "B"], "name": ["a", "b"], "category": ["service_centre"] * 2},
    ...                        geometry=shapely.points([(0, 0), (1, 1)]), crs=3857).set_index("facility_id", drop=False)
    >>> ch = gpd.GeoDataFrame({"action": ["close", "add"], "facility_id": ["A", None], "name": [None, "c"],
    ...                        "category": [None, "liaison_point"]},
    ...                       geometry=shapely.points([(0, 0), (5, 5)]), crs=3857)
    >>> apply_changes(fac, ch)[["name", "change"]].to_dict("index")
    {'B': {'name': 'b', 'change': ''}, 'NEW1': {'name': 'c', 'change': 'add'}}
    """
    bad = sorted(set(changes["action"]) - set(SCENARIO_ACTIONS))
    if bad:
        raise InputError(
            "scenario_unknown_scenario_action_bad",
            column="action",
            bad=bad,
            scenario_actions=", ".join(SCENARIO_ACTIONS),
        )
    existing = changes[changes["action"].isin(("move", "close"))]
    unknown = sorted(set(existing[C.FACILITY_ID]) - set(facilities.index))
    if unknown:
        raise InputError(
            "scenario_scenario_names_facilities_that", column=C.FACILITY_ID, join_map_str=", ".join(map(str, unknown))
        )
    out = facilities.assign(change="")
    moved = changes[changes["action"] == "move"]
    if len(moved):
        where = moved.drop_duplicates(C.FACILITY_ID, keep="last").set_index(C.FACILITY_ID).geometry
        out.loc[where.index, "geometry"] = where.to_numpy()
        out.loc[where.index, "change"] = "move"
    out = out.drop(index=changes.loc[changes["action"] == "close", C.FACILITY_ID].unique())
    added = changes[changes["action"] == "add"]
    if len(added):
        taken = set(out.index)
        ids, n = [], 0
        for given in added[C.FACILITY_ID]:
            if isinstance(given, str) and given and given not in taken:
                ids.append(given)
            else:
                n += 1
                while f"{NEW_PREFIX}{n}" in taken:
                    n += 1
                ids.append(f"{NEW_PREFIX}{n}")
            taken.add(ids[-1])
        new = gpd.GeoDataFrame(
            {
                C.FACILITY_ID: ids,
                "name": added["name"].fillna("").to_numpy(),
                "category": added["category"].fillna(DEFAULT_NEW_CATEGORY).to_numpy(),
                "change": "add",
            },
            geometry=added.geometry.to_numpy(),
            crs=facilities.crs,
            index=pd.Index(ids, name=facilities.index.name),
        )
        if "hours" in facilities:  # issue 31: a new centre keeps its category's hours (the list's commonest)
            new["hours"] = [typical_hours(facilities, c) for c in new["category"]]
        out = pd.concat([out, new])
    return out


@dataclass(frozen=True)
class ScenarioSummary(Summary):
    """The coverage with the changes made (``Summary``), at ``minutes``, with ``n_facilities_used`` on the network."""

    minutes: float
    n_facilities_used: int


@dataclass
class ScenarioResult:
    """Coverage with the changed facilities (same shapes as ``CircleResult``'s)."""

    facilities: gpd.GeoDataFrame  #: after the changes, with ``change`` and ``on_network``
    demand: gpd.GeoDataFrame  #: resident points: ``minutes``, ``nearest_facility``, ``covered``
    levels: dict[str, gpd.GeoDataFrame]
    gaps: gpd.GeoDataFrame
    summary: ScenarioSummary


@dataclass(frozen=True)
class Baseline:
    """The current state every scenario of it starts from, computed once (``baseline``)."""

    facilities: gpd.GeoDataFrame  #: the current facilities, indexed by ``facility_id``
    facility_snaps: pd.DataFrame  #: ``geo.snap_points`` of them
    demand: gpd.GeoDataFrame  #: resident points with ``minutes``, ``nearest_facility``, ``covered``
    units_of: dict[str, pd.Series]  #: the residents' unit code per level (``analysis.coverage.demand_units``)
    minutes: float
    speed_kmh: float
    max_snap_m: float
    #: issue 29, what a click need not find again: the facilities' unit codes per level (by id),
    facility_units_of: dict[str, pd.Series] = field(default_factory=dict)
    #: the unit holding each unit of the level below (``analysis.coverage.unit_parents``),
    parents_of: dict[str, pd.Series] = field(default_factory=dict)
    #: the current gap zones' polygons by their cells (``analysis.gaps.zone_shapes``)
    zone_shapes: dict[bytes, object] = field(default_factory=dict)
    #: and the current coverage tables by level (``analysis.coverage.update_levels`` starts from them)
    levels: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    rows_of: dict[str, np.ndarray] = field(default_factory=dict)  #: each resident's row in them (``unit_rows``)


def baseline(  # noqa: PLR0913 -- keyword-only options, each documented (as evaluate's)
    network: StreetNetwork,
    facilities: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    demand_snaps: pd.DataFrame,
    *,
    minutes: float = 15,
    speed_kmh: float = WALK_KMH,
    boundaries: Mapping[str, gpd.GeoDataFrame] | None = None,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    gap_cell_m: float = CELL_M,
) -> Baseline:
    """The current state of ``facilities`` and ``demand``, for ``evaluate`` to change incrementally.

    Parameters
    ----------
    network, facilities, demand, demand_snaps
        As for ``evaluate``.
    minutes, speed_kmh, boundaries, max_snap_m, gap_cell_m
        As for ``evaluate`` (a scenario evaluated on this baseline must use the same).

    Returns
    -------
    Baseline
        Facilities' snaps, residents' nearest times, the residents' and facilities' units, the
        units' parents and the gap zones' polygons.
    """
    f_snap = snap_points(facilities, network, max_snap_m=max_snap_m)
    dem = nearest_facility(network, facilities, demand, f_snap, demand_snaps, minutes=minutes, speed_kmh=speed_kmh)
    bounds = {lv: u.to_crs(demand.crs) if u.crs != demand.crs else u for lv, u in (boundaries or {}).items()}
    units_of = demand_units(demand, bounds)
    fac_units = {lv: known_units(facilities, u, None) for lv, u in bounds.items()}
    parents = unit_parents(bounds, demand.crs)
    levels = {}
    if bounds:  # without boundaries the whole area is the points' hull, which a new centre may widen
        levels, _ = coverage_by_level(
            dem,
            facilities,
            bounds,
            units_of=units_of,
            used=f_snap["on_network"],
            facility_units_of=fac_units,
            parents_of=parents,
        )
        parents = unit_parents({"city": levels["city"], **bounds}, demand.crs)  # the whole area's too
    return Baseline(
        facilities,
        f_snap,
        dem,
        units_of,
        minutes,
        speed_kmh,
        max_snap_m,
        facility_units_of=fac_units,
        parents_of=parents,
        zone_shapes=zone_shapes(dem, cell_m=gap_cell_m),
        levels=levels,
        rows_of=unit_rows(levels, units_of),
    )


def _units_of_few(points: gpd.GeoDataFrame, units: gpd.GeoDataFrame) -> pd.Series:
    """``analysis.coverage.assign_units`` for a few points (a click's): the first unit by code each lies in."""
    geoms, codes = units.geometry.to_numpy(), units["code"].to_numpy()
    found = []
    for point in points.geometry.to_numpy():
        hits = codes[shapely.intersects(geoms, point)]
        found.append(min(hits) if len(hits) else np.nan)
    return pd.Series(found, index=points.index, dtype=units["code"].dtype)


def _facility_units(base: Baseline, after: gpd.GeoDataFrame, boundaries: Mapping[str, gpd.GeoDataFrame]) -> dict:
    """The facilities' unit codes per level after the changes: the current ones kept, the new and moved ones found."""
    changed = after[after["change"] != ""]
    out = {}
    for level, known in base.facility_units_of.items():
        kept = known.reindex(after.index[after["change"] == ""])
        if len(changed):
            units = boundaries[level]
            kept = pd.concat(
                [kept, _units_of_few(changed, units if units.crs == after.crs else units.to_crs(after.crs))]
            )
        out[level] = kept.reindex(after.index)
    return out


def _after_snaps(network: StreetNetwork, base: Baseline, after: gpd.GeoDataFrame) -> pd.DataFrame:
    """The snaps of the facilities after the changes: the current ones reused, the new and moved ones snapped."""
    changed = after[after["change"] != ""]
    kept = base.facility_snaps.loc[after.index[after["change"] == ""]]
    if not len(changed):
        return kept
    return pd.concat([kept, snap_points(changed, network, max_snap_m=base.max_snap_m)]).loc[after.index]


def _nearest_after(
    network: StreetNetwork,
    base: Baseline,
    after: gpd.GeoDataFrame,
    f_snap: pd.DataFrame,
    demand_snaps: pd.DataFrame,
) -> gpd.GeoDataFrame:
    """Residents' nearest facility after the changes, from the current state (see the module's note)."""
    mins = base.demand[C.MINUTES].to_numpy(dtype=float, na_value=np.nan)
    mins = np.where(np.isnan(mins), np.inf, mins)
    near = base.demand[C.NEAREST].to_numpy(dtype=object)
    gone = base.facilities.index.difference(after.index[after["change"] == ""])  # closed or moved away
    lost = np.flatnonzero(pd.Index(near).isin(gone))
    speed = base.speed_kmh
    if len(lost):  # those it served: routed again to every centre after the changes
        t = nearest_times(network, f_snap, demand_snaps.iloc[lost], speed_kmh=speed)
        mins[lost] = t.point_s / 60
        near[lost] = np.where(t.point_source >= 0, after.index.to_numpy()[np.maximum(t.point_source, 0)], None)
    new = after.index[after["change"] != ""]
    if len(new):  # a new centre only shortens walks: the better of the two
        # issue 29: no walk longer than the longest now can be better, unless someone reachable has no centre yet
        on = demand_snaps["edge"].to_numpy() >= 0
        limit = np.inf if np.isinf(mins[on]).any() or not on.any() else float(mins[on].max()) * 60
        t = nearest_times(network, f_snap.loc[new], demand_snaps, speed_kmh=speed, limit_s=limit)
        better = t.point_s / 60 < mins
        mins[better] = t.point_s[better] / 60
        near[better] = new.to_numpy()[t.point_source[better]]
    return with_nearest(base.demand.drop(columns=[C.MINUTES, C.NEAREST, C.COVERED]), mins, near, minutes=base.minutes)


def evaluate(  # noqa: PLR0913 -- keyword-only options, each documented (as osmnx's entry points)
    network: StreetNetwork,
    facilities: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    demand_snaps: pd.DataFrame,
    changes: gpd.GeoDataFrame,
    *,
    minutes: float = 15,
    speed_kmh: float = WALK_KMH,
    boundaries: Mapping[str, gpd.GeoDataFrame] | None = None,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    gap_cell_m: float = CELL_M,
    base: Baseline | None = None,
) -> ScenarioResult:
    """Who is covered within ``minutes`` once ``changes`` are made to ``facilities``.

    Parameters
    ----------
    network
        The street network; ``facilities`` and ``demand`` are in its CRS.
    facilities
        The current facilities, indexed by ``facility_id``.
    demand
        Resident points with ``pop``.
    demand_snaps
        ``geo.snap_points(demand, network)``, reused from the current state.
    changes
        The scenario's changes (``geo.scenario.CHANGE_COLUMNS``), in any CRS; see ``apply_changes``.
    minutes
        The walking threshold in minutes that counts as covered.
    speed_kmh
        Walking speed in km/h.
    boundaries
        Admin units per level (polygons with ``code`` and ``name``), for the coverage tables and gap zones.
    max_snap_m
        Facilities more than this many metres from any street are left out.
    gap_cell_m
        Side in metres of the grid cells that gap zones are built from.
    base
        The current state (``baseline`` of the same facilities, residents and
        options): the scenario is then computed incrementally, with the same answer.

    Returns
    -------
    ScenarioResult
        Coverage with the changed facilities; ``compare`` sets it against the current state.
    """
    after = apply_changes(facilities, changes.to_crs(network.crs) if len(changes) else changes)
    if base is not None:
        if (base.minutes, base.speed_kmh, base.max_snap_m) != (minutes, speed_kmh, max_snap_m):
            raise ValueError("the baseline was computed with other minutes, speed or snap distance")
        f_snap = _after_snaps(network, base, after)
        dem = _nearest_after(network, base, after, f_snap, demand_snaps)
    else:
        f_snap = snap_points(after, network, max_snap_m=max_snap_m)
        dem = nearest_facility(network, after, demand, f_snap, demand_snaps, minutes=minutes, speed_kmh=speed_kmh)
    units_of = base.units_of if base is not None else None
    if base is not None and boundaries and base.levels:  # issue 29: only the units a change touches
        levels = update_levels(
            base.levels,
            base.demand,
            dem,
            after,
            rows_of=base.rows_of,
            facility_units_of=_facility_units(base, after, boundaries),
            parents_of=base.parents_of,
            used=f_snap["on_network"],
        )
    else:
        levels, _ = coverage_by_level(dem, after, boundaries, units_of=units_of, used=f_snap["on_network"])
    summary = ScenarioSummary(
        **asdict(summarize(dem)), minutes=float(minutes), n_facilities_used=int(f_snap["on_network"].sum())
    )
    return ScenarioResult(
        facilities=after.assign(on_network=f_snap["on_network"]),
        demand=dem,
        levels=levels,
        gaps=gap_zones(
            dem,
            cell_m=gap_cell_m,
            boundaries=boundaries,
            units_of=units_of,
            shapes=base.zone_shapes if base is not None else None,
        ),
        summary=summary,
    )


def gap_members(before_demand: gpd.GeoDataFrame, before_gaps: gpd.GeoDataFrame) -> pd.Series:
    """The gap zone (``gap_id``) each resident point left out lies within, by the point's index.

    Parameters
    ----------
    before_demand
        The current state's resident points, with ``covered``.
    before_gaps
        The current state's gap zones.

    Returns
    -------
    pandas.Series
        ``gap_id`` per uncovered point inside a zone (the first zone where it lies in two).
    """
    left_out = before_demand.loc[~before_demand[C.COVERED].to_numpy(dtype=bool)]
    zone = gpd.sjoin(left_out[["geometry"]], before_gaps[[C.GAP_ID, "geometry"]], predicate="within")
    return zone.loc[~zone.index.duplicated(), C.GAP_ID]


def compare(
    before_demand: gpd.GeoDataFrame,
    before_gaps: gpd.GeoDataFrame,
    before_levels: Mapping[str, gpd.GeoDataFrame],
    after: ScenarioResult,
    *,
    members: pd.Series | None = None,
) -> tuple[dict[str, float], dict[str, pd.DataFrame]]:
    """What the scenario changes: ``(figures, {level: table})``.

    Figures: ``pop_gained`` (residents covered now and not before), ``pop_lost``,
    ``pop_net``, ``gaps_before``/``gaps_after`` (gap zones), ``gaps_closed``
    (zones of the current state whose every resident is now covered), and the
    covered totals. Each level table has ``code``, ``name``, the residents,
    ``pct_before``, ``pct_after`` and ``pct_change``, biggest change first.

    Parameters
    ----------
    before_demand
        The current state's resident points, with ``pop`` and ``covered``.
    before_gaps
        The current state's gap zones.
    before_levels
        The current state's coverage tables by level.
    after
        The scenario's result (``evaluate``).
    members
        ``gap_members(before_demand, before_gaps)`` when already found (issue 29: the same for every
        scenario of one state); ``None``: found here.

    Returns
    -------
    (dict of str to float, dict of str to pandas.DataFrame)
        The figures (residents, gap zones) and one table per level both states have.
    """
    was = before_demand[C.COVERED].to_numpy(dtype=bool)
    now = after.demand[C.COVERED].reindex(before_demand.index).to_numpy(dtype=bool)
    pop = before_demand[C.POP].to_numpy(dtype=float)
    closed = 0
    if len(before_gaps):
        zone = gap_members(before_demand, before_gaps) if members is None else members
        still = pd.Series(~now[~was], index=before_demand.index[~was]).reindex(zone.index)
        closed = int((~still.groupby(zone).any()).sum())
    figures = {
        "pop_total": float(pop.sum()),
        "pop_covered_before": float(pop[was].sum()),
        "pop_covered_after": float(pop[now].sum()),
        "pop_gained": float(pop[now & ~was].sum()),
        "pop_lost": float(pop[was & ~now].sum()),
        "gaps_before": float(len(before_gaps)),
        "gaps_after": float(len(after.gaps)),
        "gaps_closed": float(closed),
    }
    figures["pop_net"] = figures["pop_gained"] - figures["pop_lost"]
    tables = {}
    for level, table in before_levels.items():
        if level not in after.levels:
            continue
        b = pd.DataFrame(table[["code", "name", C.POP, C.PCT_COVERED]]).rename(columns={C.PCT_COVERED: "pct_before"})
        a = pd.DataFrame(after.levels[level][["code", C.PCT_COVERED]]).rename(columns={C.PCT_COVERED: "pct_after"})
        both = b.merge(a, on="code", how="left")
        both["pct_change"] = both["pct_after"] - both["pct_before"]
        order = np.argsort(-np.abs(both["pct_change"].fillna(0).to_numpy()), kind="stable")
        tables[level] = both.iloc[order].reset_index(drop=True)
    return figures, tables
