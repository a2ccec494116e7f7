"""Each suggested site in one line, in the planner's language: whom it serves, covers anew, and the walk it saves.

Examples
--------
>>> import pandas as pd
>>> sites = pd.DataFrame({"site_id": ["S01", "S02"], "pop_served": [3617.0, 0.0], "pop_new": [0.0, 0.0],
...                       "minutes": [2.23, float("nan")], "minutes_saved": [3.11, float("nan")],
...                       "pop_minutes_saved": [11239.5, 0.0]})
>>> for line in site_lines(sites, "en"):
...     print(line)
S01: serves 3,617 residents (0 newly covered), mean walk 2.2 min, saves 3.1 min each (11,240 resident-minutes)
S02: serves 0 residents (0 newly covered), mean walk — min, saves — min each (0 resident-minutes)
"""

from __future__ import annotations

import math

import pandas as pd

from analysis import columns as C
from quarterhour.i18n import t

__all__ = ["site_lines"]


def _minutes(value: float) -> str:
    """Minutes to one decimal; a dash where there is none (a site that serves no one)."""
    return f"{value:.1f}" if math.isfinite(value) else "—"


def site_lines(sites: pd.DataFrame, lang: str = "en") -> list[str]:
    """One line per site (``analysis.siting`` columns), best first.

    Parameters
    ----------
    sites
        The sites layer: ``site_id``, ``pop_served``, ``pop_new``, ``minutes``, ``minutes_saved``,
        ``pop_minutes_saved``.
    lang
        ``"zh"`` or ``"en"``.

    Returns
    -------
    list of str
        The lines.
    """
    return [
        t(
            "site_line",
            lang,
            site=row["site_id"],
            served=float(row[C.POP_SERVED]),
            new=float(row[C.POP_NEW]),
            walk=_minutes(float(row[C.MINUTES])),
            each=_minutes(float(row[C.MINUTES_SAVED])),
            total=float(row[C.POP_MINUTES_SAVED]),
        )
        for _, row in sites.iterrows()
    ]
