"""Output column names, made in one place (cityseer ``config`` style)."""

from __future__ import annotations

__all__ = [
    "BAND_MIN",
    "COVERED",
    "FACILITY_ID",
    "GAP_ID",
    "MINUTES",
    "NEAREST",
    "POP",
    "POP_NEW",
    "POP_UNCOVERED",
    "RANK",
]

POP = "pop"  #: residents at a demand point
COVERED = "covered"  #: bool, nearest facility within the threshold
MINUTES = "minutes"  #: walking minutes to the nearest facility, NaN where unreachable
NEAREST = "nearest_facility"  #: facility_id of the nearest facility
FACILITY_ID = "facility_id"
BAND_MIN = "minutes"  #: isochrone threshold in minutes (the band of a 5/10/15-minute life circle)
GAP_ID = "gap_id"
POP_UNCOVERED = "pop_uncovered"  #: residents left out
POP_NEW = "pop_new"  #: residents a new site would newly cover
RANK = "rank"
