"""Who is covered: walking minutes from every resident point to the nearest facility."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from analysis import columns as C
from analysis.traveltime import WALK_KMH, NearestTimes, nearest_times
from geo.crs import require_projected
from geo.network import StreetNetwork
from geo.notes import Note, note

__all__ = [
    "Summary",
    "assign_units",
    "category_coverage",
    "category_times",
    "coverage_by_level",
    "demand_units",
    "known_units",
    "nearest_facility",
    "nearest_of_all",
    "summarize",
    "unit_parents",
    "unit_rows",
    "update_levels",
    "with_nearest",
]


def nearest_facility(
    network: StreetNetwork,
    facilities: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    facility_snaps: pd.DataFrame,
    demand_snaps: pd.DataFrame,
    *,
    minutes: float = 15,
    speed_kmh: float = WALK_KMH,
    times: NearestTimes | None = None,
) -> gpd.GeoDataFrame:
    """A copy of ``demand`` with ``minutes``, ``nearest_facility`` and ``covered``.

    ``minutes`` is NaN (and ``covered`` False) where no facility can be reached:
    the point is off the network, or no facility is on its part of it.

    Parameters
    ----------
    network
        The street network.
    facilities
        Facility points, indexed by ``facility_id``, in ``network.crs``.
    demand
        Resident points, in ``network.crs``.
    facility_snaps, demand_snaps
        ``geo.snap_points`` of ``facilities`` and of ``demand``.
    minutes
        The walking threshold in minutes that counts as covered.
    speed_kmh
        Walking speed in km/h.
    times
        ``analysis.traveltime.nearest_times`` of these snaps at this speed when the caller has it
        (``category_times``' ``nearest_of_all``: issue 32, one pass where one suffices); ``None``: walked here.

    Returns
    -------
    geopandas.GeoDataFrame
        ``demand`` with ``minutes`` (walk to the nearest facility, in minutes),
        ``nearest_facility`` (its id, None if none) and ``covered`` (bool).
    """
    t = times if times is not None else nearest_times(network, facility_snaps, demand_snaps, speed_kmh=speed_kmh)
    fid = facilities.index.to_numpy()
    return with_nearest(
        demand, t.point_s / 60, np.where(t.point_source >= 0, fid[np.maximum(t.point_source, 0)], None), minutes=minutes
    )


def with_nearest(
    demand: gpd.GeoDataFrame, mins: np.ndarray, nearest: np.ndarray, *, minutes: float
) -> gpd.GeoDataFrame:
    """A copy of ``demand`` with ``minutes`` (NaN where none is reachable), ``nearest_facility`` and ``covered``.

    Parameters
    ----------
    demand
        Resident points.
    mins
        Walking minutes to the nearest facility per point; inf or NaN where none is reachable.
    nearest
        The nearest facility's id per point (None where none).
    minutes
        The walking threshold in minutes that counts as covered.

    Returns
    -------
    geopandas.GeoDataFrame
        ``demand`` with the three columns.
    """
    out = demand.copy()
    out[C.MINUTES] = np.where(np.isfinite(mins), mins, np.nan)
    out[C.NEAREST] = np.where(np.isfinite(mins), nearest, None)
    out[C.COVERED] = (out[C.MINUTES] <= minutes).fillna(False).astype(bool)
    return out


@dataclass(frozen=True)
class Summary:
    """Headline figures of a covered demand layer.

    Attributes
    ----------
    pop_total
        Residents counted.
    pop_covered
        Residents within the threshold of a facility.
    pop_uncovered
        Residents left out (``pop_total - pop_covered``).
    pct_covered
        ``pop_covered`` in percent of ``pop_total``; NaN where nobody lives.
    pop_unreachable
        Residents with no facility reachable at all (off the network, or on a fragment without one).
    """

    pop_total: float
    pop_covered: float
    pop_uncovered: float
    pct_covered: float
    pop_unreachable: float


def summarize(demand: gpd.GeoDataFrame) -> Summary:
    """Headline figures for a covered demand layer: residents total, covered, percent."""
    total = float(demand[C.POP].sum())
    covered = float(demand.loc[demand[C.COVERED], C.POP].sum())
    return Summary(
        pop_total=total,
        pop_covered=covered,
        pop_uncovered=total - covered,
        pct_covered=100 * covered / total if total else float("nan"),
        pop_unreachable=float(demand.loc[demand[C.MINUTES].isna(), C.POP].sum()),
    )


def category_coverage(
    network: StreetNetwork,
    facilities: gpd.GeoDataFrame,
    facility_snaps: pd.DataFrame,
    demand_snaps: pd.DataFrame,
    category_minutes: Mapping[str, float],
    *,
    speed_kmh: float = WALK_KMH,
    times: Mapping[str, NearestTimes] | None = None,
) -> pd.DataFrame:
    """Per resident point and category: minutes to the nearest facility of that category, and covered.

    One multi-source pass per category present. Columns ``minutes_<category>``
    and ``covered_<category>``, aligned to ``demand_snaps``.

    Parameters
    ----------
    network
        The street network.
    facilities
        Facility points with ``category``.
    facility_snaps, demand_snaps
        ``geo.snap_points`` of the facilities and of the resident points.
    category_minutes
        Threshold in minutes per category code; categories without facilities get NaN and False.
    speed_kmh
        Walking speed in km/h.
    times
        ``category_times`` of these inputs when the caller has them (issue 32); ``None``: walked here.

    Returns
    -------
    pandas.DataFrame
        Minutes (NaN where unreachable) and covered (bool) per category.
    """
    if times is None:
        times = category_times(
            network, facilities, facility_snaps, demand_snaps, list(category_minutes), speed_kmh=speed_kmh
        )
    out = {}
    for category, threshold in category_minutes.items():
        if category not in times:
            continue
        t = times[category]
        mins = np.where(np.isfinite(t.point_s), t.point_s / 60, np.nan)
        out[C.minutes_of(category)] = mins
        out[C.covered_by(category)] = np.nan_to_num(mins, nan=np.inf) <= threshold
    return pd.DataFrame(out, index=demand_snaps.index)


def category_times(
    network: StreetNetwork,
    facilities: gpd.GeoDataFrame,
    facility_snaps: pd.DataFrame,
    demand_snaps: pd.DataFrame,
    categories: Sequence[str],
    *,
    speed_kmh: float = WALK_KMH,
) -> dict[str, NearestTimes]:
    """Per category present: ``nearest_times`` from its facilities, one multi-source pass each.

    Parameters
    ----------
    network
        The street network.
    facilities
        Facility points with ``category``.
    facility_snaps, demand_snaps
        ``geo.snap_points`` of the facilities and of the resident points.
    categories
        The category codes walked; those no facility has are left out.
    speed_kmh
        Walking speed in km/h.

    Returns
    -------
    dict of str to analysis.traveltime.NearestTimes
        The times, their sources numbered within the category's facilities.
    """
    cat = facilities["category"].to_numpy()
    return {
        c: nearest_times(network, facility_snaps[cat == c], demand_snaps, speed_kmh=speed_kmh)
        for c in categories
        if (cat == c).any()
    }


def nearest_of_all(times: Mapping[str, NearestTimes], facilities: gpd.GeoDataFrame) -> NearestTimes | None:
    """The nearest of all facilities, from each category's nearest (``category_times``); None if some are not in one.

    Every facility in a category walked: the nearest of all is the nearest of the categories' nearest, so
    the pass over all facilities need not be walked again (issue 32). A tie goes to the first category.

    Parameters
    ----------
    times
        ``category_times`` of ``facilities``.
    facilities
        Facility points with ``category``, as given to ``category_times``.

    Returns
    -------
    analysis.traveltime.NearestTimes or None
        Seconds and the nearest facility (its position in ``facilities``), per node and per target.
    """
    cat = facilities["category"].to_numpy()
    if not times or not np.isin(cat, list(times)).all():
        return None
    if len(times) == 1:  # one category holds every facility: its walk is the walk of all, positions alike
        return next(iter(times.values()))
    where = [np.flatnonzero(cat == c) for c in times]

    def pick(seconds: list[np.ndarray], sources: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        stack = np.vstack(seconds)
        best = np.argmin(stack, axis=0)
        cols = np.arange(stack.shape[1])
        mapped = np.vstack([np.where(s >= 0, w[np.maximum(s, 0)], -1) for s, w in zip(sources, where, strict=True)])
        return stack[best, cols], mapped[best, cols]

    ts = list(times.values())
    node_s, node_source = pick([t.node_s for t in ts], [t.node_source for t in ts])
    point_s, point_source = pick([t.point_s for t in ts], [t.point_source for t in ts])
    return NearestTimes(node_s=node_s, node_source=node_source, point_s=point_s, point_source=point_source)


def assign_units(points: gpd.GeoSeries | gpd.GeoDataFrame, units: gpd.GeoDataFrame) -> pd.Series:
    """The ``code`` of the one unit each point lies in.

    A point on a shared boundary goes to one unit only (the first by code), and a point in none gets NaN.

    Parameters
    ----------
    points
        Points (a GeoSeries or GeoDataFrame), in the CRS of ``units``.
    units
        Polygons with ``code``.

    Returns
    -------
    pandas.Series
        The unit code per point, aligned to ``points.index``.
    """
    pts = gpd.GeoDataFrame(
        geometry=gpd.GeoSeries(points.geometry if hasattr(points, "geometry") else points).values, crs=units.crs
    )
    pts.index = points.index
    ordered = units[["code", "geometry"]].sort_values("code").reset_index(drop=True)
    joined = gpd.sjoin(pts, ordered, predicate="intersects", how="left")
    joined = joined.sort_values("index_right", kind="stable")
    joined = joined[~joined.index.duplicated(keep="first")]
    return joined["code"].reindex(points.index)


def known_units(points: gpd.GeoDataFrame, units: gpd.GeoDataFrame, known: pd.Series | None) -> pd.Series:
    """The unit code per point: from ``known`` (codes found before, by point index) when given, else ``assign_units``.

    Parameters
    ----------
    points
        Points.
    units
        Polygons with ``code`` (brought to the points' CRS only when the codes are found here).
    known
        Codes already found for these points (``demand_units``), or None.

    Returns
    -------
    pandas.Series
        The unit code per point, aligned to ``points.index``.
    """
    if known is not None:
        return known.reindex(points.index)
    return assign_units(points, units if units.crs == points.crs else units.to_crs(points.crs))


def coverage_by_level(  # noqa: PLR0913 -- keyword-only options, each documented
    demand: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    boundaries: Mapping[str, gpd.GeoDataFrame] | None = None,
    *,
    categories: Sequence[str] = (),
    groups: Sequence[str] = (),
    units_of: Mapping[str, pd.Series] | None = None,
    used: pd.Series | None = None,
    facility_units_of: Mapping[str, pd.Series] | None = None,
    parents_of: Mapping[str, pd.Series] | None = None,
) -> tuple[dict[str, gpd.GeoDataFrame], list[str]]:
    """Coverage tables, one per admin level: residents, covered, percent, facilities, communities.

    Returns ``({level: table}, notes)``. Each table has ``code``, ``name``,
    ``pop``, ``pop_covered``, ``pop_uncovered``, ``pct_covered``,
    ``pct_covered_<category>`` for each category, ``n_facilities`` (those the
    analysis used) and ``n_facilities_off`` (those left out, off the network); levels
    above the community level count ``communities_full/partly/none``; the
    community and grid (网格) tables have ``status``, and the community table counts its
    grids as ``grids_full/partly/none`` (a grid in the community holding its inside
    point). Without boundaries (or without a ``city`` level) the whole area is one
    city unit. ``notes`` says what fell outside every unit.

    Parameters
    ----------
    demand
        Resident points with ``pop`` and ``covered`` (and ``covered_<category>``).
    facilities
        Facility points, in the CRS of ``demand``.
    boundaries
        Admin units per level (polygons with ``code`` and ``name``); ``None`` for one city unit.
    categories
        The category codes to give a ``pct_covered_<category>`` column.
    groups
        Population group columns of ``demand`` (with ``covered_<group>``) to give ``pop_<group>`` and
        ``pct_covered_<group>`` columns: the group's rate beside the total.
    units_of
        The unit code of every resident point per level (``demand_units``), when
        already known (a scenario moves no resident); ``None``: found here.
    used
        True for each facility the analysis used (``on_network`` of ``geo.snap_points``), aligned
        to ``facilities``; ``None`` takes the facilities' ``on_network`` column, or all of them.
        Only these count in ``n_facilities``; the others in ``n_facilities_off``.
    facility_units_of
        The unit code of every facility per level (``assign_units``), by facility id, when already
        known (issue 29: a scenario's click places only the centres it adds or moves); ``None``: found here.
    parents_of
        Per level, the unit holding each unit of the level below (``unit_parents``), when already
        known; ``None``: found here.

    Returns
    -------
    (dict of str to geopandas.GeoDataFrame, list of geo.notes.Note)
        The tables by level, top down, and the notes.
    """
    boundaries = dict(boundaries or {})
    require_projected(demand.crs, what="demand")
    used = _used_facilities(facilities, used)
    notes: list[Note] = []
    if "city" not in boundaries:
        boundaries = {"city": _whole_area(demand, facilities, boundaries)} | boundaries
    statuses: dict[str, pd.Series] = {}  # the community's and (issue 30) the grid's status, by code
    tables = {}
    for level in ("grid", "community", "subdistrict", "district", "city"):
        if level not in boundaries:
            continue
        units = boundaries[level].to_crs(demand.crs) if boundaries[level].crs != demand.crs else boundaries[level]
        known = ((units_of or {}).get(level), (facility_units_of or {}).get(level))
        code, fcode = _level_codes(level, demand, facilities, units, known)
        outside = code.isna()
        if outside.any():
            notes.append(
                note("outside_level", n=int(outside.sum()), pop=float(demand.loc[outside, C.POP].sum()), level=level)
            )
        table = _level_sums(demand, units, code, categories, groups)
        table[C.N_FACILITIES] = table["code"].map(fcode[used].value_counts()).fillna(0).astype(int)
        table[C.N_FACILITIES_OFF] = table["code"].map(fcode[~used].value_counts()).fillna(0).astype(int)
        if level in ("community", "grid"):  # issue 30: a grid has a status as a community has
            table[C.STATUS] = _unit_status(table)
            statuses[level] = table.set_index("code")[C.STATUS]
        below = {"grid": None, "community": "grid"}.get(level, "community")  # the level counted in each unit
        if below in statuses:
            parent = (parents_of or {}).get(level)
            if parent is None:
                parent = _parents(boundaries[below], units)
            _count_status(table, parent, statuses[below], word=_STATUS_WORDS[below])
        table.insert(2, "level", level)
        tables[level] = gpd.GeoDataFrame(table, geometry="geometry", crs=demand.crs).reset_index(drop=True)
    return {
        lvl: tables[lvl] for lvl in ("city", "district", "subdistrict", "community", "grid") if lvl in tables
    }, notes


def unit_rows(levels: Mapping[str, pd.DataFrame], units_of: Mapping[str, pd.Series]) -> dict[str, np.ndarray]:
    """Per level of ``levels``, the row of the unit each resident lies in (-1: in none), for ``update_levels``.

    Parameters
    ----------
    levels
        ``coverage_by_level``'s tables (each unit's ``code`` once).
    units_of
        The unit code of every resident per level (``demand_units``); a level missing is the whole-area unit.

    Returns
    -------
    dict of str to numpy.ndarray
        The row per resident, per level.
    """
    out = {}
    for level, table in levels.items():
        code = units_of.get(level)
        codes = pd.Index(table["code"])
        out[level] = (
            np.zeros(len(next(iter(units_of.values()), ())), dtype=np.int64)
            if code is None and list(codes) == ["ALL"]
            else codes.get_indexer(code)
        )
    return out


def update_levels(
    before: Mapping[str, gpd.GeoDataFrame],
    before_demand: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    *,
    rows_of: Mapping[str, np.ndarray],
    facility_units_of: Mapping[str, pd.Series],
    parents_of: Mapping[str, pd.Series],
    used: pd.Series | None = None,
) -> dict[str, gpd.GeoDataFrame]:
    """``coverage_by_level``'s tables after a change of who is covered, from the tables before it (issue 29).

    Only the units holding a resident whose ``covered`` changed are summed again (over their own
    residents, in the same order: the same sums as a fresh ``coverage_by_level``); the facilities are
    counted again, and the statuses and their counts follow. The residents are the same points in the
    same order as ``before_demand``; the tables have no category or group column (a scenario's).

    Parameters
    ----------
    before
        ``coverage_by_level``'s tables of ``before_demand`` (each unit's code once).
    before_demand, demand
        Resident points with ``pop`` and ``covered``, before and after the change.
    facilities
        The facilities after the change.
    rows_of
        Per level, the row of each resident's unit in ``before`` (``unit_rows``).
    facility_units_of
        The unit code of every facility per level (by id); a level missing is the whole-area unit ``ALL``.
    parents_of
        Per level, the unit holding each unit of the level below (``unit_parents``).
    used
        As for ``coverage_by_level``.

    Returns
    -------
    dict of str to geopandas.GeoDataFrame
        The tables by level, as ``coverage_by_level`` gives them.
    """
    used = _used_facilities(facilities, used).to_numpy()
    covered = demand[C.COVERED].to_numpy(dtype=bool)
    changed = covered != before_demand[C.COVERED].to_numpy(dtype=bool)
    pop_covered = demand[C.POP].to_numpy(dtype=float) * covered
    tables, statuses = {}, {}
    for level in ("grid", "community", "subdistrict", "district", "city"):
        if level not in before:
            continue
        table = before[level].copy()
        codes = pd.Index(table["code"])
        rows = rows_of[level]
        touched = np.unique(rows[changed])
        touched = touched[touched >= 0]
        if len(touched):
            inside = np.isin(rows, touched)
            sums = pd.Series(pop_covered[inside]).groupby(rows[inside]).sum()  # as coverage_by_level sums
            values = table[C.POP_COVERED].to_numpy(dtype=float, copy=True)
            values[sums.index.to_numpy()] = sums.to_numpy()
            table[C.POP_COVERED] = values
            table[C.POP_UNCOVERED] = table[C.POP] - table[C.POP_COVERED]
            with np.errstate(invalid="ignore", divide="ignore"):
                table[C.PCT_COVERED] = np.where(table[C.POP] > 0, 100 * table[C.POP_COVERED] / table[C.POP], np.nan)
        fcode = facility_units_of.get(level)
        frow = (
            np.zeros(len(facilities), dtype=np.int64)
            if fcode is None
            else codes.get_indexer(fcode.reindex(facilities.index))
        )
        for col, mask in ((C.N_FACILITIES, used), (C.N_FACILITIES_OFF, ~used)):
            table[col] = np.bincount(frow[mask & (frow >= 0)], minlength=len(table)).astype(int)
        if level in ("community", "grid"):
            table[C.STATUS] = _unit_status(table)
            statuses[level] = tables[level] = table
        below = {"grid": None, "community": "grid"}.get(level, "community")
        if below in statuses:
            parent = codes.get_indexer(parents_of[level].reindex(statuses[below]["code"]))
            status = statuses[below][C.STATUS].to_numpy()
            word = _STATUS_WORDS[below]
            for s in ("full", "partly", "none"):
                table[f"{word}_{s}"] = np.bincount(parent[(status == s) & (parent >= 0)], minlength=len(table)).astype(
                    int
                )
        tables[level] = table
    return {lvl: tables[lvl] for lvl in ("city", "district", "subdistrict", "community", "grid") if lvl in tables}


def _used_facilities(facilities: gpd.GeoDataFrame, used: pd.Series | None) -> pd.Series:
    """Which facilities the analysis used, as a boolean mask aligned to ``facilities``.

    Parameters
    ----------
    facilities
        Facility points.
    used
        True for each facility used; ``None`` takes the facilities' ``on_network`` column, or all of them.

    Returns
    -------
    pandas.Series
        Boolean, aligned to ``facilities.index`` (a facility missing from ``used`` counts as not used).
    """
    if used is None:
        used = facilities["on_network"] if "on_network" in facilities else pd.Series(True, index=facilities.index)
    return used.reindex(facilities.index).fillna(False).astype(bool)


def _whole_area(
    demand: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame, boundaries: Mapping[str, gpd.GeoDataFrame]
) -> gpd.GeoDataFrame:
    """The one city unit (code ``ALL``) when the boundaries have no ``city`` level.

    Parameters
    ----------
    demand
        Resident points, in a metric CRS.
    facilities
        Facility points, in the CRS of ``demand``.
    boundaries
        Admin units per level, top first; may be empty.

    Returns
    -------
    geopandas.GeoDataFrame
        One row: the union of the top level's units, or without boundaries the convex hull of
        every resident and facility point.
    """
    top = next(iter(boundaries.values()), None)
    area = (
        shapely.union_all(top.geometry.values)
        if top is not None
        else shapely.convex_hull(
            shapely.union_all(np.concatenate([demand.geometry.values, facilities.geometry.values]))
        )
    )
    return gpd.GeoDataFrame({"code": ["ALL"], "name": ["全域 whole area"]}, geometry=[area], crs=demand.crs)


def _level_codes(
    level: str,
    demand: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    units: gpd.GeoDataFrame,
    known: tuple[pd.Series | None, pd.Series | None],
) -> tuple[pd.Series, pd.Series]:
    """The unit code of every resident point and of every facility at one level.

    Parameters
    ----------
    level
        The admin level of ``units``.
    demand
        Resident points.
    facilities
        Facility points, in the CRS of ``demand``.
    units
        The level's units (polygons with ``code``), in the CRS of ``demand``.
    known
        The residents' and the facilities' unit codes (by facility id) when already known, or ``None`` each.

    Returns
    -------
    (pandas.Series, pandas.Series)
        The code per resident point and per facility (NaN outside every unit); the whole-area
        city unit (``ALL``) holds every point.
    """
    if level == "city" and "ALL" in set(units["code"]):
        return pd.Series("ALL", index=demand.index), pd.Series("ALL", index=facilities.index)
    return known_units(demand, units, known[0]), known_units(facilities, units, known[1])


def _level_sums(
    demand: gpd.GeoDataFrame,
    units: gpd.GeoDataFrame,
    code: pd.Series,
    categories: Sequence[str],
    groups: Sequence[str],
) -> pd.DataFrame:
    """Residents, covered, uncovered and percent covered (total, per category, per group) per unit.

    Parameters
    ----------
    demand
        Resident points with ``pop`` and ``covered`` (and ``covered_<category>``, group columns).
    units
        The level's units (polygons with ``code`` and ``name``).
    code
        The unit code of every resident point, aligned to ``demand.index``.
    categories
        The category codes to give a ``pct_covered_<category>`` column.
    groups
        Population group columns to give ``pop_<group>`` and ``pct_covered_<group>`` columns.

    Returns
    -------
    pandas.DataFrame
        One row per unit (``code``, ``name``, ``geometry`` and the sums; 0 for a unit without residents).
    """
    frame = pd.DataFrame({"code": code, C.POP: demand[C.POP], C.POP_COVERED: demand[C.POP] * demand[C.COVERED]})
    for cat in categories:
        if C.covered_by(cat) in demand:
            frame[cat] = demand[C.POP] * demand[C.covered_by(cat)]
    frame = frame.join(_group_sums(demand, groups))
    sums = frame.groupby("code").sum()
    table = units[["code", "name", "geometry"]].merge(sums, left_on="code", right_index=True, how="left")
    table[list(sums.columns)] = table[list(sums.columns)].fillna(0.0)
    table[C.POP_UNCOVERED] = table[C.POP] - table[C.POP_COVERED]
    with np.errstate(invalid="ignore", divide="ignore"):
        table[C.PCT_COVERED] = np.where(table[C.POP] > 0, 100 * table[C.POP_COVERED] / table[C.POP], np.nan)
        for cat in categories:
            if cat in table:
                table[C.pct_covered_by(cat)] = np.where(table[C.POP] > 0, 100 * table.pop(cat) / table[C.POP], np.nan)
    _group_pcts(table, groups)
    return table


def _unit_status(table: pd.DataFrame) -> np.ndarray:
    """Each unit's coverage status: ``empty``, ``full``, ``none`` or ``partly``.

    Parameters
    ----------
    table
        Per unit, ``pop``, ``pop_covered`` and ``pop_uncovered``.

    Returns
    -------
    numpy.ndarray
        The status per row of ``table``.
    """
    return np.select(
        [table[C.POP] <= 0, table[C.POP_UNCOVERED] <= 1e-9, table[C.POP_COVERED] <= 1e-9],
        ["empty", "full", "none"],
        "partly",
    )


_STATUS_WORDS = {"community": "communities", "grid": "grids"}


def _parents(below: gpd.GeoDataFrame, units: gpd.GeoDataFrame) -> pd.Series:
    """The code of the unit of ``units`` holding each unit of ``below`` (by its inside point), by the code below."""
    crs = units.crs
    return assign_units(
        gpd.GeoSeries(below.to_crs(crs).representative_point().values, index=below["code"].values, crs=crs),
        units,
    )


def unit_parents(boundaries: Mapping[str, gpd.GeoDataFrame] | None, crs: object) -> dict[str, pd.Series]:
    """Per level, the unit holding each unit of the level counted in it (``coverage_by_level``'s status counts).

    Found once (issue 29): the units do not change from one scenario to the next.

    Parameters
    ----------
    boundaries
        Admin units per level (polygons with ``code``), or None.
    crs
        The residents' CRS (the tables are made in it).

    Returns
    -------
    dict of str to pandas.Series
        Per level with a level below it in ``boundaries``, the code of the holding unit by the code below.
    """
    boundaries = dict(boundaries or {})
    out = {}
    for level in ("community", "subdistrict", "district", "city"):
        below = "grid" if level == "community" else "community"
        if level in boundaries and below in boundaries:
            units = boundaries[level].to_crs(crs) if boundaries[level].crs != crs else boundaries[level]
            out[level] = _parents(boundaries[below], units)
    return out


def _count_status(table: pd.DataFrame, parent: pd.Series, status: pd.Series, *, word: str) -> None:
    """``<word>_full/partly/none``: the units of a level below in each row's unit, by their status.

    ``parent`` is the code of the row's unit holding each unit below (``_parents``); set in place.
    """
    below = status.reindex(parent.index).to_numpy()
    for s in ("full", "partly", "none"):
        col = f"{word}_{s}"
        table[col] = table["code"].map(parent[below == s].value_counts())
        table[col] = table[col].fillna(0).astype(int)


def _group_sums(demand: gpd.GeoDataFrame, groups: Sequence[str]) -> pd.DataFrame:
    """Per point, each group's residents (``pop_<group>``) and those covered (``_covered_<group>``, dropped later)."""
    cols = {}
    for g in groups:
        pop = pd.to_numeric(demand[g], errors="coerce").fillna(0.0)
        cols[C.pop_of(g)] = pop
        cols[f"_{C.covered_by(g)}"] = pop * demand[C.covered_by(g)]
    return pd.DataFrame(cols, index=demand.index)


def _group_pcts(table: pd.DataFrame, groups: Sequence[str]) -> None:
    """``pct_covered_<group>`` from the summed group residents, in place (the covered sums dropped)."""
    for g in groups:
        covered = table.pop(f"_{C.covered_by(g)}")
        with np.errstate(invalid="ignore", divide="ignore"):
            table[C.pct_covered_by(g)] = np.where(table[C.pop_of(g)] > 0, 100 * covered / table[C.pop_of(g)], np.nan)


def demand_units(demand: gpd.GeoDataFrame, boundaries: Mapping[str, gpd.GeoDataFrame] | None) -> dict[str, pd.Series]:
    """The unit code of every resident point, per level of ``boundaries`` (``assign_units``), found once.

    Parameters
    ----------
    demand
        Resident points, in a metric CRS.
    boundaries
        Admin units per level (polygons with ``code``), or None.

    Returns
    -------
    dict of str to pandas.Series
        Per level, the code per point (NaN outside every unit), aligned to ``demand.index``.
    """
    return {
        level: assign_units(demand, units.to_crs(demand.crs) if units.crs != demand.crs else units)
        for level, units in (boundaries or {}).items()
    }
