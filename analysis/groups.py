"""Population groups: residents over 60, children under 6 ... each covered at its own speed.

A resident point may carry group columns beside ``pop`` (e.g. ``60岁以上``,
``0-6岁``): how many of its residents belong to each group. Headers that name an
age (``60岁以上``, ``0-6岁``, ``65+``, ``over_60``) or an age group (老年, 儿童) are
recognised; any other column can be named (``Group("老人数", 3.2)``).

Each group is judged at its own speed (older residents: ``OLDER_KMH``): on a network
walked at one speed, every walking time scales with 1 / speed, so a group's times
are the run's times x (run speed / group speed), the same result the travel-time
engine gives at that speed, without a second pass. Under a distance yardstick
(GB 50180) the speed does not matter: a group is covered where the total is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis import columns as C
from analysis.defaults import OLDER_KMH, Group  # issue 32: read by the parsers without pandas
from analysis.yardstick import Yardstick
from geo.errors import InputError

__all__ = ["OLDER_KMH", "Group", "GroupRate", "find_groups", "group_covered", "group_headers", "group_rates"]


#: Group headers: an age (60岁以上, 0-6岁, 65周岁及以上, 65+, age_60plus, over 60) or an age-group word.
_GROUP_HEADER = re.compile(
    r"\d+\s*周?岁|\d+\s*\+\s*$|\d+\s*plus\b|\bover[\s_]*\d+|\bage[\s_]*\d+|老年|老人|儿童|幼儿|少儿|学龄",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class GroupRate:
    """A group's coverage: residents, covered, percent, and the speed it was judged at (None: by distance)."""

    group: str
    speed_kmh: float | None
    pop: float
    pop_covered: float
    pct_covered: float


def find_groups(demand: pd.DataFrame, given: Sequence[Group] = ()) -> tuple[Group, ...]:
    """The groups of ``demand``: the columns ``given``, then the recognised group headers.

    Parameters
    ----------
    demand
        Resident points with ``pop`` and perhaps group columns.
    given
        Groups the planner named (``--group COLUMN[=SPEED]``); their speed wins over a recognised header's.

    Returns
    -------
    tuple of Group
        One per group column, the given ones first.

    Raises
    ------
    InputError
        A given column is missing, or a group column holds something other than counts of 0 or more.

    Examples
    --------
    >>> import pandas as pd
    >>> find_groups(pd.DataFrame({"pop": [3], "60岁以上": [1], "name": ["a"]}))
    (Group(column='60岁以上', speed_kmh=None),)
    """
    named = {g.column: g for g in given}
    for column in named:
        if column not in demand.columns:
            have = ", ".join(str(c) for c in demand.columns if c not in ("geometry", C.POP))
            raise InputError(
                "groups_residents_have_no_column", column=column, column_value=column, have_or_none=have or "none"
            )
    groups = (*named.values(), *(Group(c) for c in group_headers(demand.columns) if c not in named))
    for g in groups:
        _check_counts(demand, g.column)
    return groups


def group_headers(columns: Sequence[object]) -> list[str]:
    """The columns whose header names an age group (``60岁以上``, ``0-6岁``, ``65+``, ``老年人口``), in order.

    Examples
    --------
    >>> group_headers(["pop", "60岁以上", "0-6岁", "name", "over_65", "儿童"])
    ['60岁以上', '0-6岁', 'over_65', '儿童']
    """
    return [str(c) for c in columns if c not in (C.POP, "geometry") and _GROUP_HEADER.search(str(c))]


def _check_counts(demand: pd.DataFrame, column: str) -> None:
    values = pd.to_numeric(demand[column], errors="coerce")
    bad = values.isna() & demand[column].notna() | (values < 0)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            "groups_column_value_must_number",
            row=row + 1,
            column=column,
            column_value=column,
            demand_column_iloc=demand[column].iloc[row],
        )


def group_covered(demand: pd.DataFrame, group: Group, yardstick: Yardstick, *, cutoff_min: float) -> np.ndarray:
    """Which points' residents of ``group`` are covered: within ``cutoff_min`` at the group's speed.

    Parameters
    ----------
    demand
        Resident points with ``minutes`` (engine minutes to the nearest facility) and ``covered``.
    group
        The group.
    yardstick
        The run's yardstick: its engine speed gave ``minutes``; a distance yardstick ignores speeds.
    cutoff_min
        The circle's threshold in engine minutes.

    Returns
    -------
    numpy.ndarray
        Booleans per point.
    """
    if yardstick.by_distance or group.speed_kmh is None:
        return demand[C.COVERED].to_numpy(dtype=bool)
    mins = demand[C.MINUTES].to_numpy(dtype=float) * (yardstick.engine_kmh / group.speed_kmh)
    return np.nan_to_num(mins, nan=np.inf) <= cutoff_min


def group_rates(demand: pd.DataFrame, groups: Sequence[Group], yardstick: Yardstick) -> tuple[GroupRate, ...]:
    """Residents of each group, those covered and the percent, from the ``covered_<group>`` columns.

    Parameters
    ----------
    demand
        Resident points with each group's column and ``C.covered_by(group)``.
    groups
        The groups.
    yardstick
        The run's yardstick (a distance yardstick records no speed).

    Returns
    -------
    tuple of GroupRate
        One per group.
    """
    out = []
    for g in groups:
        pop = pd.to_numeric(demand[g.column], errors="coerce").fillna(0.0).to_numpy(dtype=float)
        covered = float(pop[demand[C.covered_by(g.column)].to_numpy(dtype=bool)].sum())
        total = float(pop.sum())
        speed = None if yardstick.by_distance else float(g.speed_kmh or yardstick.speed_kmh)
        out.append(GroupRate(g.column, speed, total, covered, 100 * covered / total if total else float("nan")))
    return tuple(out)
