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

The names are loaded when first used (PEP 562): ``analysis.options`` and the parsers' constants
(``analysis.defaults``) load without geopandas, pandas or scipy (issue 32, ``tests/test_startup.py``).
"""

from __future__ import annotations

# Loaded now (it is light): the function ``yardstick`` shares its module's name, and binding it here keeps
# ``analysis.yardstick`` the function, as it always was, whatever imports the module ``analysis.yardstick`` later.
from analysis.yardstick import Yardstick, yardstick
from geo._lazy import lazy_names

#: Each public name and the module it lives in.
_PUBLIC = {
    "coverage_by_level": "analysis.coverage",
    "nearest_facility": "analysis.coverage",
    "summarize": "analysis.coverage",
    "gap_zones": "analysis.gaps",
    "Group": "analysis.groups",
    "find_groups": "analysis.groups",
    "facility_isochrones": "analysis.isochrones",
    "merge_isochrones": "analysis.isochrones",
    "nearest_isochrones": "analysis.isochrones",
    "reached_lines": "analysis.isochrones",
    "CircleOptions": "analysis.options",
    "CircleResult": "analysis.pipeline",
    "run_circle": "analysis.pipeline",
    "ScenarioResult": "analysis.scenario",
    "apply_changes": "analysis.scenario",
    "compare": "analysis.scenario",
    "evaluate": "analysis.scenario",
    "SiteResult": "analysis.siting",
    "greedy_max_coverage": "analysis.siting",
    "plan_sites": "analysis.siting",
    "suggest_sites": "analysis.siting",
    "circle_access": "analysis.stages",
    "circle_coverage": "analysis.stages",
    "circle_reach": "analysis.stages",
    "circle_sites": "analysis.stages",
    "circle_times": "analysis.stages",
    "snap_circle": "analysis.stages",
    "nearest_times": "analysis.traveltime",
    "node_seconds_from": "analysis.traveltime",
    "od_table": "analysis.traveltime",
    "point_seconds": "analysis.traveltime",
    "UnitLayers": "analysis.units",
    "split_by_unit": "analysis.units",
    "unit_sites": "analysis.units",
}

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


__getattr__, __dir__ = lazy_names(__name__, _PUBLIC, globals())
