"""Output column names, made in one place (cityseer ``config`` style)."""

from __future__ import annotations

__all__ = [
    "ACCESS",
    "BAND_MIN",
    "COVERED",
    "FACILITY_ID",
    "GAP_ID",
    "LOAD",
    "MINUTES",
    "MINUTES_SAVED",
    "NEAREST",
    "N_FACILITIES",
    "N_FACILITIES_OFF",
    "OVERLOADED",
    "PCT_COVERED",
    "POP",
    "POP_COVERED",
    "POP_MINUTES_SAVED",
    "POP_NEW",
    "POP_SERVED",
    "POP_UNCOVERED",
    "RANK",
    "SITE_COLUMNS",
    "STATUS",
    "WALK_M",
    "covered_by",
    "is_persons",
    "minutes_of",
    "pct_covered_by",
    "pop_of",
    "whole_persons_shown",
]

POP = "pop"  #: residents at a demand point
COVERED = "covered"  #: bool, nearest facility within the threshold
MINUTES = "minutes"  #: walking minutes to the nearest facility, NaN where unreachable
WALK_M = "walk_m"  #: network walk in metres to the nearest facility, NaN where unreachable
NEAREST = "nearest_facility"  #: facility_id of the nearest facility
FACILITY_ID = "facility_id"
BAND_MIN = "minutes"  #: isochrone threshold in minutes (the band of a 5/10/15-minute life circle)
GAP_ID = "gap_id"
POP_UNCOVERED = "pop_uncovered"  #: residents left out
POP_NEW = "pop_new"  #: residents a new site would newly cover
POP_SERVED = "pop_served"  #: residents whose nearest centre, once the new sites open, is this site
MINUTES_SAVED = "minutes_saved"  #: mean minutes a site saves each resident it serves (of those who had a walk)
POP_MINUTES_SAVED = "pop_minutes_saved"  #: resident-minutes a site saves (residents x minutes; adds up over sites)
RANK = "rank"

PCT_COVERED = "pct_covered"  #: percent of residents covered
POP_COVERED = "pop_covered"
N_FACILITIES = "n_facilities"  #: facilities the analysis used (on the network)
N_FACILITIES_OFF = "n_facilities_off"  #: facilities left out: more than max_snap_m from any street
STATUS = "status"  #: a community: "full", "partly", "none" or "empty" (no residents)
ACCESS = "supply_per_1000"  #: 2SFCA: facility capacity reachable per 1,000 residents
LOAD = "load"  #: 2SFCA: residents in a facility's catchment per unit of capacity
OVERLOADED = "overloaded"
#: The suggested sites' columns (``analysis.siting``), in order.
SITE_COLUMNS = ["site_id", "candidate_id", POP_SERVED, POP_NEW, MINUTES, MINUTES_SAVED, POP_MINUTES_SAVED, "geometry"]


def is_persons(column: str) -> bool:
    """Whether ``column`` counts residents (``pop``, ``pop_*``, ``catchment_pop``): shown in whole persons."""
    return column == POP or column.startswith("pop_") or column == "catchment_pop"


def whole_persons_shown(df):  # a pandas DataFrame, in and out (no pandas import here)
    """A copy of ``df`` with its person counts (``is_persons``) rounded to whole persons, for the readers.

    The analysis keeps its sums exact; a table shown to a planner never says "870.2 residents".

    Examples
    --------
    >>> import pandas as pd
    >>> whole_persons_shown(pd.DataFrame({"pop": [870.2, 3.5], "pct_covered": [99.68, 0.5]})).to_dict("list")
    {'pop': [870, 4], 'pct_covered': [99.68, 0.5]}
    """
    out = df.copy()
    for c in out.columns:
        if is_persons(str(c)) and out[c].dtype.kind in "fiu":
            out[c] = ((out[c].astype(float) + 0.5) // 1).astype("Int64")  # half up: 3.5 residents shown as 4
    return out


def minutes_of(category: str) -> str:
    """Column: walking minutes to the nearest facility of ``category``."""
    return f"minutes_{category}"


def covered_by(category: str) -> str:
    """Column: within the threshold of ``category`` (or, of a population group, its residents covered)."""
    return f"covered_{category}"


def pct_covered_by(category: str) -> str:
    """Column: percent of residents within the threshold of ``category``."""
    return f"pct_covered_{category}"


def pop_of(group: str) -> str:
    """Column: residents of a population ``group`` (a level table)."""
    return f"pop_{group}"
