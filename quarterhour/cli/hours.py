"""``quarterhour run --at "周三 19:00" | --when weekday-evening``: coverage by the facilities open then.

The options, the run (``analysis.hours.run_open``), the week's tables beside ``coverage.gpkg``
(``coverage_by_hour.csv``: the 168 hours; ``coverage_windows.csv``: the whole area and each unit
at any time, in each named window, and the share of the week) and the line the run prints.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

# issue 32: the parser's modules only; the run's machinery is imported where it is used
from geo.hours import WINDOWS, at_label, parse_at
from quarterhour.i18n import t

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

    from analysis.pipeline import CircleResult
    from geo.network import StreetNetwork

__all__ = [
    "HOURS_FILES",
    "add_hours_options",
    "covered_then",
    "hours_asked",
    "hours_line",
    "hours_record",
    "run_hours",
    "site_hours",
    "site_hours_line",
    "write_hours_tables",
]

#: The tables a run with ``--at`` or ``--when`` writes beside ``coverage.gpkg``.
HOURS_FILES = ("coverage_by_hour.csv", "coverage_windows.csv")


def _at(text: str) -> int:
    try:
        return parse_at(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{err}: give a day and a time, e.g. '周三 19:00' or 'Sa 10:00'") from None


def add_hours_options(p: argparse.ArgumentParser) -> None:
    """``--at`` and ``--when``: count only the facilities open at a time of the week, or throughout a window."""
    when = p.add_mutually_exclusive_group()
    when.add_argument(
        "--at",
        type=_at,
        metavar="'DAY HH:MM'",
        help="count only the facilities open then, by their opening hours (开放时间/opening_hours column, or "
        "--categories' hours): e.g. '周三 19:00', 'Sa 10:00'; run also writes coverage_by_hour.csv and "
        "coverage_windows.csv",
    )
    when.add_argument(
        "--when",
        choices=tuple(WINDOWS),
        help="covered only when covered at every hour of this window of the week (weekday-evening: Mo-Fr "
        "18:00-21:00, office-hours: Mo-Fr 09:00-17:00, weekend: Sa-Su 09:00-18:00, ...); gaps and --suggest "
        "sites are the window's",
    )


def hours_asked(args: argparse.Namespace) -> bool:
    """Whether the run is asked about a time (``--at``) or a window (``--when``)."""
    return getattr(args, "at", None) is not None or getattr(args, "when", None) is not None


def run_hours(
    network: StreetNetwork,
    facilities: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    args: argparse.Namespace,
    categories: pd.DataFrame | None,
    **options: object,
) -> CircleResult:
    """``run_circle``, or with ``--at``/``--when`` the run of the facilities open then (``run_open``)."""
    if not hours_asked(args):
        from analysis.pipeline import run_circle

        return run_circle(network, facilities, demand, **options)
    from analysis.hours import run_open

    category_hours: Mapping[str, str] = {}
    if categories is not None and "hours" in categories:
        category_hours = categories["hours"].dropna().to_dict()
    return run_open(network, facilities, demand, at=args.at, window=args.when, category_hours=category_hours, **options)


def write_hours_tables(
    args: argparse.Namespace, result: CircleResult, boundaries: Mapping[str, gpd.GeoDataFrame] | None
) -> list[Path]:
    """The week's tables beside ``coverage.gpkg``; none unless a time or window was asked."""
    if not hours_asked(args) or result.hours is None:
        return []
    from quarterhour.gis.export import write_table

    hourly = write_table(result.hours.hourly_table(), args.out / HOURS_FILES[0], force=args.force)
    windows = write_table(
        result.hours.windows_table(result.demand, boundaries), args.out / HOURS_FILES[1], force=args.force
    )
    return [hourly, windows]


def hours_line(args: argparse.Namespace, result: CircleResult) -> str:
    """What the time asked means for the figures, as the run's line says it: "at We 19:00 (6 of 20 open)"."""
    if not hours_asked(args):
        return ""
    said = next((n for n in result.skipped if getattr(n, "key", "") == "hours_at"), None)
    values = dict(said.values) if said is not None else {}
    when = f"at {at_label(args.at, 'en')}" if args.at is not None else f"throughout {args.when}"
    some = "" if args.at is not None else " at some hour of it"
    return f" {when} ({values.get('n_open', '?')} of {values.get('n', '?')} facilities open{some})"


def hours_record(args: argparse.Namespace) -> dict[str, str]:
    """The time or window asked, for provenance, as the planner reads it ("周三 19:00 / We 19:00"); {} when none."""
    if getattr(args, "at", None) is not None:
        return {"at": f"{at_label(args.at)} / {at_label(args.at, 'en')}"}
    if getattr(args, "when", None) is not None:
        return {"when": f"{t(f'window_{args.when}')} / {args.when}"}
    return {}


def covered_then(
    args: argparse.Namespace,
    network: StreetNetwork,
    facilities: gpd.GeoDataFrame,
    covered: gpd.GeoDataFrame,
    d_snap: pd.DataFrame,
    *,
    cutoff_min: float,
    speed_kmh: float,
) -> gpd.GeoDataFrame:
    """``site``'s residents with ``covered`` as at ``--at`` (the facilities open then) or throughout ``--when``."""
    if not hours_asked(args):
        return covered
    import numpy as np

    from analysis import columns as C
    from analysis.coverage import nearest_facility
    from analysis.hours import facility_hours, open_states, week_coverage
    from geo.snap import snap_points

    weeks, _ = facility_hours(facilities)
    if args.at is not None:
        is_open = open_states(weeks, args.at) == 1
        f_snap = snap_points(facilities[is_open], network, max_snap_m=args.max_snap_m)
        then = (
            nearest_facility(
                network, facilities[is_open], covered, f_snap, d_snap, minutes=cutoff_min, speed_kmh=speed_kmh
            )
            if is_open.any()
            else covered.assign(**{C.COVERED: False, C.MINUTES: np.nan})
        )
        return then
    week = week_coverage(
        network,
        facilities,
        covered,
        weeks,
        minutes=args.minutes,
        speed_kmh=args.speed_kmh,
        standard=args.standard,
        max_snap_m=args.max_snap_m,
        d_snap=d_snap,
    )
    return covered.assign(**{C.COVERED: week.in_window(args.when)})


def site_hours(args: argparse.Namespace, sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The sites with the hours each is assumed to keep: open at ``--at`` (24/7) or throughout ``--when``."""
    if not hours_asked(args) or not len(sites):
        return sites
    from analysis.hours import window_text

    return sites.assign(hours=window_text(args.when) if args.when else "24/7")


def site_hours_line(args: argparse.Namespace) -> str | None:
    """What ``site``'s figures are judged at, and the hours its sites assume; None when no time was asked."""
    if not hours_asked(args):
        return None
    if args.at is not None:
        return f"hours: residents left out at {at_label(args.at, 'en')} (only the facilities open then count)"
    from analysis.hours import window_text

    return f"hours: residents left out at some hour of {args.when}; each new site assumed open {window_text(args.when)}"
