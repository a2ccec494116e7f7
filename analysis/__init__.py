"""Pure analysis: GeoDataFrames, arrays and graphs in; new aligned objects out.

Never imports streamlit or folium.
"""

from analysis.coverage import nearest_facility, summarize
from analysis.gaps import gap_zones
from analysis.isochrones import facility_isochrones, merge_isochrones, reached_lines
from analysis.pipeline import CircleResult, run_circle
from analysis.siting import greedy_max_coverage, suggest_sites
from analysis.traveltime import nearest_times, node_seconds_from, point_seconds

__all__ = [
    "CircleResult",
    "facility_isochrones",
    "gap_zones",
    "greedy_max_coverage",
    "merge_isochrones",
    "nearest_facility",
    "nearest_times",
    "node_seconds_from",
    "point_seconds",
    "reached_lines",
    "run_circle",
    "suggest_sites",
    "summarize",
]
