"""``quarterhour run --at "周三 19:00" | --when weekday-evening``: coverage by the facilities open then.

The options, the run (``analysis.hours.run_open``), the week's tables beside ``coverage.gpkg``
(``coverage_by_hour.csv``: the 168 hours; ``coverage_windows.csv``: the whole area and each unit
at any time, in each named window, and the share of the week) and the line the run prints.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd

from analysis.hours import run_open
from analysis.pipeline import CircleResult, run_circle
from geo.hours import WINDOWS, at_label, parse_at
from geo.network import StreetNetwork
from quarterhour.export import write_table
from quarterhour.i18n import t

__all__ = [
    "HOURS_FILES",
    "add_hours_options",
    "hours_asked",
    "hours_line",
    "hours_record",
    "run_hours",
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
        "--categories' hours): e.g. '周三 19:00', 'Sa 10:00'; also writes coverage_by_hour.csv and "
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
        return run_circle(network, facilities, demand, **options)
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
    return f" {when} ({values.get('n_open', '?')} of {values.get('n', '?')} facilities open)"


def hours_record(args: argparse.Namespace) -> dict[str, str]:
    """The time or window asked, for provenance, as the planner reads it ("周三 19:00 / We 19:00"); {} when none."""
    if getattr(args, "at", None) is not None:
        return {"at": f"{at_label(args.at)} / {at_label(args.at, 'en')}"}
    if getattr(args, "when", None) is not None:
        return {"when": f"{t(f'window_{args.when}')} / {args.when}"}
    return {}
