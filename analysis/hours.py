"""Coverage by the hour: only the facilities open at a time count.

A centre closed when residents are free serves nobody then. Each facility's opening hours
(``geo.hours``: its own, else its category's; unknown when neither reads) give, for each hour of
an ordinary week (each hour judged at its start), which facilities are open. Coverage at an hour
is the coverage of the facilities open then: ``analysis.coverage.nearest_facility`` on that subset,
the same call ``run_circle`` makes, so a run on only the open facilities gives the same residents
covered, exactly. A week has few distinct sets of open facilities (opening and closing times are
shared), so the 168 hours take one pass per distinct set, not 168.

Hours unknown count neither as open nor as closed: coverage at a time counts only facilities
known to be open, and says how many more residents facilities of unknown hours would cover if
they were open (``pop_covered_if_unknown_open``). "Covered at any time" counts every facility not
closed all week (its hours unknown or open at some hour): with no facility closed all week it is
the coverage of a run that ignores hours.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import geopandas as gpd
import numpy as np
import pandas as pd

from analysis import columns as C
from analysis.coverage import assign_units, coverage_by_level, nearest_facility, summarize
from analysis.gaps import gap_zones
from analysis.options import CircleOptions
from analysis.pipeline import CircleResult, circle_isochrones, run_circle
from analysis.siting import suggest_sites
from analysis.traveltime import WALK_KMH
from analysis.yardstick import yardstick
from geo.hours import ALWAYS, WINDOWS, WeekHours, at_label, parse_hours, window_hours
from geo.network import StreetNetwork
from geo.notes import Note, note
from geo.snap import DEFAULT_MAX_SNAP_M, snap_points

__all__ = [
    "HOURS",
    "OPEN_NOW",
    "WeekCoverage",
    "facility_hours",
    "open_states",
    "run_open",
    "week_coverage",
    "window_text",
]

HOURS = "hours"  #: a facility's opening hours as read (its own, or its category's)
OPEN_NOW = "open_now"  #: a facility open at the time asked: True, False, or None (hours unknown)


def facility_hours(
    facilities: pd.DataFrame, category_hours: Mapping[str, str] | None = None
) -> tuple[list[WeekHours], list[Note]]:
    """Each facility's week: its own ``hours``, else its category's, else unknown; all open when none gives any.

    Parameters
    ----------
    facilities
        Facilities with ``category`` and, optionally, ``hours`` (the text the file gave).
    category_hours
        Opening hours per category code (``--categories``' ``hours`` column), filling facilities with none readable.

    Returns
    -------
    (list of geo.hours.WeekHours, list of geo.notes.Note)
        One week per facility in order, and what was filled.
    """
    defaults = {c: parse_hours(v) for c, v in (category_hours or {}).items() if isinstance(v, str) and v.strip()}
    if HOURS not in facilities and not defaults:
        return [ALWAYS] * len(facilities), []  # no hours anywhere: every facility counts, as before hours
    own = facilities[HOURS] if HOURS in facilities else pd.Series(None, index=facilities.index)
    weeks, filled = [], []
    names = facilities["name"] if "name" in facilities else pd.Series(facilities.index, index=facilities.index)
    for text, cat, name in zip(own, facilities["category"], names, strict=True):
        week = parse_hours(text)
        if not week.known and cat in defaults:
            week = defaults[cat]
            filled.append(str(name))
        weeks.append(week)
    notes = [note("hours_filled", n=len(filled), names=filled[:10] + (["…"] if len(filled) > 10 else []))]
    return weeks, notes if filled else []


def open_states(weeks: Sequence[WeekHours], minute: int) -> np.ndarray:
    """Per facility at ``minute`` of the week: 1 open, 0 closed, -1 hours unknown."""
    return np.array([-1 if (s := w.is_open(minute)) is None else int(s) for w in weeks], dtype=int)


@dataclass
class WeekCoverage:
    """Coverage for each hour of a week, per resident point and summed.

    Attributes
    ----------
    covered
        (168, n points) bool: covered at the start of each hour by the facilities open then.
    covered_maybe
        The same, counting facilities of unknown hours as open.
    any_time
        Per point: covered by some facility not closed all week.
    pop
        Residents per point.
    n_open, n_unknown
        Per hour: facilities open, and of unknown hours.
    """

    covered: np.ndarray
    covered_maybe: np.ndarray
    any_time: np.ndarray
    pop: np.ndarray
    n_open: np.ndarray
    n_unknown: np.ndarray
    closed_reach: gpd.GeoDataFrame | None = None  #: the reach the facilities closed at the time asked would have

    @property
    def share(self) -> np.ndarray:
        """Per point: the share of the week's hours it is covered (0 to 1)."""
        return self.covered.mean(axis=0)

    def in_window(self, name: str) -> np.ndarray:
        """Per point: covered at every hour of the named window (``geo.hours.WINDOWS``)."""
        return self.covered[list(window_hours(name))].all(axis=0)

    def hourly_table(self) -> pd.DataFrame:
        """168 rows, Monday 00:00 first: residents covered at each hour, in percent, and if unknown hours were open."""
        total = float(self.pop.sum())
        pop_cov = self.covered.astype(float) @ self.pop
        pop_maybe = self.covered_maybe.astype(float) @ self.pop
        hours = np.arange(168)
        return pd.DataFrame(
            {
                "hour_of_week": hours,
                "time": [at_label(h * 60) for h in hours],
                "time_en": [at_label(h * 60, "en") for h in hours],
                "n_open": self.n_open,
                "n_unknown": self.n_unknown,
                C.POP_COVERED: pop_cov,
                C.PCT_COVERED: 100 * pop_cov / total if total else np.nan,
                "pop_covered_if_unknown_open": pop_maybe,
            }
        )

    def summary_table(self) -> pd.DataFrame:
        """The named rows: covered at any time, throughout each named window, and the mean share of the week."""
        total = float(self.pop.sum())
        rows = [("any_time", self.any_time)] + [(name, self.in_window(name)) for name in WINDOWS]
        out = [
            {
                "window": name,
                C.POP_COVERED: float(self.pop[mask].sum()),
                C.PCT_COVERED: _pct(self.pop[mask].sum(), total),
            }
            for name, mask in rows
        ]
        share = float((self.share * self.pop).sum() / total) if total else float("nan")
        out.append({"window": "share_of_week", C.POP_COVERED: float("nan"), C.PCT_COVERED: 100 * share})
        return pd.DataFrame(out)

    def unit_table(self, demand: gpd.GeoDataFrame, units: gpd.GeoDataFrame) -> pd.DataFrame:
        """Per unit: residents, % covered at any time and throughout each named window, mean % of the week."""
        code = assign_units(demand, units).to_numpy()
        frame = pd.DataFrame({"code": code, C.POP: self.pop, "any_time": self.pop * self.any_time})
        for name in WINDOWS:
            frame[name] = self.pop * self.in_window(name)
        frame["share_of_week"] = self.pop * self.share
        sums = frame.groupby("code", dropna=True).sum()
        pct = sums.drop(columns=C.POP).div(sums[C.POP].where(sums[C.POP] > 0), axis=0) * 100
        table = units[["code", "name"]].set_index("code").join(sums[[C.POP]]).join(pct.add_prefix("pct_"))
        return table.reset_index().fillna({C.POP: 0.0})

    def windows_table(
        self, demand: gpd.GeoDataFrame, boundaries: Mapping[str, gpd.GeoDataFrame] | None = None
    ) -> pd.DataFrame:
        """The whole area, then every unit of every level: % covered at any time, in each window, of the week."""
        frame = pd.DataFrame({C.POP: self.pop, "any_time": self.pop * self.any_time})
        for name in WINDOWS:
            frame[name] = self.pop * self.in_window(name)
        frame["share_of_week"] = self.pop * self.share
        total = frame.sum()
        pct = (total.drop(C.POP) / total[C.POP] * 100) if total[C.POP] else total.drop(C.POP) * np.nan
        rows = [pd.DataFrame([{"level": "all", "code": "", "name": "", C.POP: total[C.POP], **pct.add_prefix("pct_")}])]
        for level, units in (boundaries or {}).items():
            rows.append(self.unit_table(demand, units).assign(level=level))
        return pd.concat(rows, ignore_index=True)[["level", "code", "name", C.POP, *(f"pct_{c}" for c in pct.index)]]


def _pct(part: float, total: float) -> float:
    return 100 * float(part) / total if total else float("nan")


def week_coverage(  # noqa: PLR0913 -- keyword-only options, as run_circle's
    network: StreetNetwork,
    facilities: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    weeks: Sequence[WeekHours],
    *,
    minutes: float = 15,
    speed_kmh: float = WALK_KMH,
    standard: str = "minutes",
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    f_snap: pd.DataFrame | None = None,
    d_snap: pd.DataFrame | None = None,
) -> WeekCoverage:
    """Coverage at the start of each of the week's 168 hours, by the facilities open then.

    One ``nearest_facility`` pass per distinct set of open facilities, as ``run_circle`` judges
    ``covered`` (the same yardstick, cutoff and speed).

    Parameters
    ----------
    network, facilities, demand
        As ``run_circle``'s, in the network's CRS.
    weeks
        Each facility's week (``facility_hours``), in order.
    minutes, speed_kmh, standard, max_snap_m
        As ``run_circle``'s.
    f_snap, d_snap
        The snaps, when the caller has them.

    Returns
    -------
    WeekCoverage
    """
    ys = yardstick(standard, speed_kmh=speed_kmh)
    cutoff, speed = ys.cutoff_min(minutes), ys.engine_kmh
    f_snap = snap_points(facilities, network, max_snap_m=max_snap_m) if f_snap is None else f_snap
    d_snap = snap_points(demand, network, max_snap_m=max_snap_m) if d_snap is None else d_snap
    states = np.stack([w.hourly() for w in weeks], axis=1) if weeks else np.zeros((168, 0))  # (168, n facilities)
    is_open, unknown = states == 1, np.isnan(states)
    done: dict[bytes, np.ndarray] = {}

    def covered_by(mask: np.ndarray) -> np.ndarray:
        key = mask.tobytes()
        if key not in done:
            done[key] = (
                nearest_facility(
                    network, facilities[mask], demand, f_snap[mask], d_snap, minutes=cutoff, speed_kmh=speed
                )[C.COVERED].to_numpy()
                if mask.any()
                else np.zeros(len(demand), dtype=bool)
            )
        return done[key]

    covered = np.stack([covered_by(is_open[h]) for h in range(168)])
    maybe = np.stack([covered_by(is_open[h] | unknown[h]) for h in range(168)])
    never = ~unknown.any(axis=0) & ~is_open.any(axis=0)  # known, and closed every hour of the week
    return WeekCoverage(
        covered=covered,
        covered_maybe=maybe,
        any_time=covered_by(~never),
        pop=demand[C.POP].to_numpy(dtype=float),
        n_open=is_open.sum(axis=1),
        n_unknown=unknown.sum(axis=1),
    )


def run_open(
    network: StreetNetwork,
    facilities: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    *,
    at: int | None = None,
    window: str | None = None,
    category_hours: Mapping[str, str] | None = None,
    new_hours: str | None = None,
    boundaries: Mapping[str, gpd.GeoDataFrame] | None = None,
    **options: object,
) -> CircleResult:
    """``run_circle`` with only the facilities open at ``at`` (a minute of the week) or throughout ``window``.

    With neither, today's run (every facility counts), its facilities marked with their hours.
    At a time: the run of the facilities open then (exactly ``run_circle`` on them), every
    facility kept in the ``facilities`` layer with ``open_now``. In a window: a resident is
    covered when covered at every hour of the window; the gap zones and suggested sites are
    those of the window, each site assumed open throughout it (its ``hours``: ``new_hours``,
    the new centres' category's, else the window's).

    Parameters
    ----------
    network, facilities, demand
        As ``run_circle``'s.
    at
        A minute of the week (``geo.hours.parse_at``); None for no time.
    window
        A named window (``geo.hours.WINDOWS``); None for none.
    category_hours
        Opening hours per category, for facilities with none readable.
    new_hours
        The hours a suggested site is assumed to keep (``None``: the window's).
    boundaries
        As ``run_circle``'s.
    **options
        ``run_circle``'s ``options`` (``CircleOptions``) or its keywords (``minutes``, ``speed_kmh``, ``n_sites``, ...).

    Returns
    -------
    CircleResult
        With ``facilities`` carrying ``hours`` and ``open_now``, and ``hours`` the week's coverage (``WeekCoverage``).
    """
    weeks, notes = facility_hours(facilities, category_hours)
    texts = [w.text for w in weeks]  # as the file gave them, unreadable ones too
    # issue 25: the circle's options as one value (``CircleOptions``), from ``options=`` and the old keywords
    passed = {k: options.pop(k) for k in ("demand_snap", "progress") if k in options}
    circle = CircleOptions.of(options.pop("options", None), **options)
    options = {**passed, "options": circle}
    if at is None and window is None:
        result = run_circle(network, facilities, demand, boundaries=boundaries, **options)
        result.facilities[HOURS] = texts
        result.facilities[OPEN_NOW] = None
        result.skipped += notes
        return result
    max_snap_m = circle.max_snap_m
    states = open_states(weeks, at) if at is not None else _window_states(weeks, window)
    counted = states == 1
    n_sites = circle.n_sites
    subset = facilities[counted] if counted.any() else facilities  # none open: measured on all, then none counts
    options["options"] = circle.replace(n_sites=n_sites if at is not None else 0)
    result = run_circle(network, subset, demand, boundaries=boundaries, **options)
    week = week_coverage(
        network,
        facilities,
        demand,
        weeks,
        minutes=circle.minutes,
        speed_kmh=circle.speed_kmh,
        standard=circle.standard,
        max_snap_m=max_snap_m,
    )
    if window is not None or not counted.any():
        covered = week.in_window(window) if window is not None else np.zeros(len(demand), dtype=bool)
        result = _recount(result, covered, boundaries, network, n_sites=n_sites, new_hours=new_hours, window=window)
    elif n_sites > 0 and len(result.sites):
        result.sites[HOURS] = new_hours or "24/7"
    result.facilities = _all_facilities(result.facilities, facilities, states, texts)
    label = at_label(at) if at is not None else window
    result.skipped += [
        *notes,
        note("hours_at", at=label, n=len(facilities), n_open=int(counted.sum()), n_unknown=int((states == -1).sum())),
    ]
    if (states == -1).any() and at is not None:
        hour = (at // 60) % 168
        more = float(week.pop[week.covered_maybe[hour] & ~week.covered[hour]].sum())
        result.skipped.append(note("hours_unknown", n=int((states == -1).sum()), pop=more, at=label))
    if at is not None and 0 < (states == 0).sum() <= MAX_CLOSED_REACH:
        week.closed_reach = _closed_reach(network, facilities[states == 0], result.summary, max_snap_m)
    result.demand["share_of_week"] = week.share
    result.demand["covered_any_time"] = week.any_time
    result.hours = week
    return result


#: More facilities closed than this: their reach is not drawn (a city's would be hundreds of polygons).
MAX_CLOSED_REACH = 200


def _closed_reach(
    network: StreetNetwork, closed: gpd.GeoDataFrame, summary: object, max_snap_m: float
) -> gpd.GeoDataFrame:
    """The reach the closed facilities would have at the circle's threshold, merged into one polygon."""
    snap = snap_points(closed, network, max_snap_m=max_snap_m)
    iso = circle_isochrones(network, closed, snap, circles=[summary.minutes], ys=summary.yardstick)
    return iso.dissolve()[["geometry"]] if len(iso) else iso[["geometry"]]


def _window_states(weeks: Sequence[WeekHours], window: str | None) -> np.ndarray:
    """Per facility over a window: 1 open at some hour of it, 0 closed throughout, -1 unknown."""
    hours = list(window_hours(str(window)))
    states = np.stack([open_states(weeks, h * 60) for h in hours])
    return np.where((states == 1).any(axis=0), 1, np.where((states == -1).any(axis=0), -1, 0))


def _recount(
    result: CircleResult,
    covered: np.ndarray,
    boundaries: Mapping[str, gpd.GeoDataFrame] | None,
    network: StreetNetwork,
    *,
    n_sites: int,
    new_hours: str | None,
    window: str | None,
) -> CircleResult:
    """The result with ``covered`` as given (a window's): summary, unit tables, gap zones and sites redone."""
    dem = result.demand.copy()
    dem[C.COVERED] = covered
    levels, _ = coverage_by_level(dem, result.facilities, boundaries)
    summary = replace(result.summary, **vars(summarize(dem)))
    gaps = gap_zones(dem, boundaries=boundaries)
    sites = result.sites
    if n_sites > 0:
        ys = result.summary.yardstick
        d_snap = snap_points(dem, network)
        sites = suggest_sites(
            network, dem, d_snap, minutes=result.summary.cutoff_min, speed_kmh=ys.engine_kmh, k=n_sites
        )
        sites[HOURS] = new_hours or window_text(window)
    return replace(result, demand=dem, levels=levels, summary=summary, gaps=gaps, sites=sites)


def window_text(window: str | None) -> str:
    """A window as OSM hours ("Mo-Fr 18:00-21:00"): the hours a site suggested for it is assumed to keep."""
    if window is None:
        return "24/7"
    days, first, stop = WINDOWS[window]
    names = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
    span = names[days[0]] if len(days) == 1 else f"{names[days[0]]}-{names[days[-1]]}"
    return f"{span} {first:02d}:00-{stop:02d}:00"


def _all_facilities(
    used: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame, states: np.ndarray, texts: Sequence[str]
) -> gpd.GeoDataFrame:
    """Every facility, the ones not counted too (with no figures), with ``hours`` and ``open_now``."""
    out = pd.concat([used, facilities.loc[facilities.index.difference(used.index)]]).reindex(facilities.index)
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=facilities.crs)
    out[HOURS] = list(texts)
    out[OPEN_NOW] = pd.array([None if s == -1 else bool(s) for s in states], dtype="boolean")
    return out
