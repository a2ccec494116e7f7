"""The colours: one palette for the web map, the review pack's static maps and the styled layers.

A planner who compares the app's map with the PNG in a review pack sees the same
colour for the same thing. Change a colour here and every face follows.

Examples
--------
>>> CATEGORY_COLORS["study_room"]
'#7d3c98'
>>> rate_color(95.0), rate_color(None)
('#f1c40f', '#bdc3c7')
"""

from __future__ import annotations

import math

from geo.vocab import CATEGORIES

__all__ = [
    "BOUNDARY_COLOR",
    "CATCHMENT_COLORS",
    "CATEGORY_COLORS",
    "CLOSED_COLOR",
    "COMMUNITY_EDGE_COLOR",
    "COVERED_COLOR",
    "FACILITY_EDGE_COLOR",
    "GAP_COLOR",
    "GAP_EDGE_COLOR",
    "GAP_LABEL_COLOR",
    "GAP_RAMP",
    "NO_DATA_COLOR",
    "OUTLINE_COLOR",
    "RATE_CMAP",
    "RATE_STOPS",
    "REACH_BAND_COLORS",
    "REACH_COLOR",
    "SCENARIO_COLOR",
    "SCENARIO_EDGE_COLOR",
    "SITE_COLOR",
    "SITE_EDGE_COLOR",
    "STREET_COLOR",
    "TEXT_GREY",
    "UNCOVERED_COLOR",
    "rate_color",
]

#: One colour per facility category (legend order is ``geo.vocab.CATEGORIES``).
CATEGORY_COLORS: dict[str, str] = {
    "service_centre": "#c0392b",
    "neighbourhood_centre": "#2471a3",
    "liaison_point": "#d68910",
    "study_room": "#7d3c98",
}
assert set(CATEGORY_COLORS) == set(CATEGORIES), "every category needs a colour"

#: The reach at the threshold, and the bands nearest first (5 min darkest).
REACH_COLOR = "#27ae60"
REACH_BAND_COLORS: tuple[str, ...] = ("#1e8449", "#27ae60", "#82e0aa", "#d5f5e3")
#: Gap zones (residents left out, grouped): orange fill, darker edge.
GAP_COLOR, GAP_EDGE_COLOR = "#e67e22", "#a04000"
#: Gap zones graduated by residents left out (the styled layers): fewest to most, the gap colour in the middle.
GAP_RAMP: tuple[str, ...] = ("#f5cba7", GAP_COLOR, GAP_EDGE_COLOR)
#: Resident points.
UNCOVERED_COLOR, COVERED_COLOR = "#e74c3c", "#95a5a6"
#: New centres: suggested by a siting model (magenta), and added by the planner in a scenario (yellow).
#: Distinct, so a map holding both tells them apart.
SITE_COLOR = "#e91e63"
SCENARIO_COLOR = "#f1c40f"
#: The street network drawn as the offline base, and unit outlines.
STREET_COLOR, BOUNDARY_COLOR = "#7f8c8d", "#2c3e50"
#: Catchments (each place to the facility reaching it first): a cycle of distinct colours.
CATCHMENT_COLORS: tuple[str, ...] = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
)
#: Coverage rate (%) -> colour: the lower bound of each step. Red below half, green at 100 %.
RATE_STOPS: tuple[tuple[float, str], ...] = ((0, "#c0392b"), (50, "#e67e22"), (90, "#f1c40f"), (100, "#27ae60"))
#: The matplotlib colour map with the same meaning, for continuous ramps.
RATE_CMAP = "RdYlGn"
#: Units with no residents, and small print.
NO_DATA_COLOR, TEXT_GREY = "#bdc3c7", "#555555"


def rate_color(pct: float | None) -> str:
    """The colour of a coverage rate in percent (``NO_DATA_COLOR`` when there is none).

    Parameters
    ----------
    pct
        Residents covered, in percent of the unit's residents; None or NaN for a unit without residents.
    """
    if pct is None or (isinstance(pct, float) and math.isnan(pct)):
        return NO_DATA_COLOR
    color = RATE_STOPS[0][1]
    for low, stop in RATE_STOPS:
        if pct >= low:
            color = stop
    return color


#: Edges and marks the maps draw around the things above.
#: Facility markers' rim; suggested sites' and the planner's centres' rims; a closed centre's fill.
FACILITY_EDGE_COLOR, SITE_EDGE_COLOR, SCENARIO_EDGE_COLOR, CLOSED_COLOR = "#ffffff", "#1b2631", "#111111", "#bdc3c7"
#: Thin outlines of catchments and hexagons; community outlines; the rank written on a gap zone.
OUTLINE_COLOR, COMMUNITY_EDGE_COLOR, GAP_LABEL_COLOR = "#555555", "#34495e", "#641e16"
