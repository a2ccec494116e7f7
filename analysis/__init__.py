"""Pure analysis: GeoDataFrames, arrays and graphs in; new aligned objects out.

Never imports streamlit or folium. The entry points: ``run_circle`` (the whole
circle in one call), ``plan_sites`` (where the next centres go), ``evaluate``
and ``compare`` (a what-if scenario against the current state),
``split_by_unit`` and ``unit_sites`` (one review unit's share); ``yardstick``
(minutes at a speed, or GB 50180's walking distances) and ``find_groups``
(population groups, each at its own speed). A run's options are one frozen value,
``CircleOptions``; ``run_circle`` is its stages (``analysis.stages``) one after another:
``snap_circle``, ``circle_times``, ``circle_access``, ``circle_reach``, ``circle_coverage``,
``circle_sites``.
"""

from analysis.coverage import coverage_by_level, nearest_facility, summarize
from analysis.gaps import gap_zones
from analysis.groups import Group, find_groups
from analysis.isochrones import facility_isochrones, merge_isochrones, nearest_isochrones, reached_lines
from analysis.options import CircleOptions
from analysis.pipeline import CircleResult, run_circle
from analysis.scenario import ScenarioResult, apply_changes, compare, evaluate
from analysis.siting import SiteResult, greedy_max_coverage, plan_sites, suggest_sites
from analysis.stages import (
    circle_access,
    circle_coverage,
    circle_reach,
    circle_sites,
    circle_times,
    snap_circle,
)
from analysis.traveltime import nearest_times, node_seconds_from, od_table, point_seconds
from analysis.units import UnitLayers, split_by_unit, unit_sites
from analysis.yardstick import Yardstick, yardstick

__all__ = [
    "CircleOptions",
    "CircleResult",
    "Group",
    "ScenarioResult",
    "SiteResult",
    "UnitLayers",
    "Yardstick",
    "apply_changes",
    "circle_access",
    "circle_coverage",
    "circle_reach",
    "circle_sites",
    "circle_times",
    "compare",
    "coverage_by_level",
    "evaluate",
    "facility_isochrones",
    "find_groups",
    "gap_zones",
    "greedy_max_coverage",
    "merge_isochrones",
    "nearest_facility",
    "nearest_isochrones",
    "nearest_times",
    "node_seconds_from",
    "od_table",
    "plan_sites",
    "point_seconds",
    "reached_lines",
    "run_circle",
    "snap_circle",
    "split_by_unit",
    "suggest_sites",
    "summarize",
    "unit_sites",
    "yardstick",
]
