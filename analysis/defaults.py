"""The defaults and choices the parsers name, loaded without numpy, pandas or scipy (issue 32).

``quarterhour --help`` and ``analysis.options`` read them from here; each module that computes
with one imports it from here too (``analysis.traveltime.WALK_KMH`` is this ``WALK_KMH``), so each
is still defined once.

Examples
--------
>>> MODE_SPEEDS_KMH["walk"] == WALK_KMH, Group("60岁以上", OLDER_KMH)
(True, Group(column='60岁以上', speed_kmh=3.2))
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CELL_M",
    "DECAYS",
    "MODELS",
    "MODE_SPEEDS_KMH",
    "OLDER_KMH",
    "SPACING_M",
    "STEPS",
    "STREET_SIDE_M",
    "WALK_KMH",
    "Group",
]

#: The steps of a whole run, in order, as a ``progress`` callback is told them: the faces
#: read and prepare, ``run_circle`` does travel times to siting, the faces write (``analysis.pipeline``).
STEPS = ("reading", "preparing", "travel_times", "isochrones", "coverage", "siting", "writing")
#: The walking speed (km/h) by default (``analysis.traveltime``).
WALK_KMH = 4.5
#: Default speeds per travel mode (km/h): GB 50180-2018's 15 minutes ≈ 800–1,000 m implies
#: 3.2–4.0 km/h of walking; 4.5 km/h is the common planning figure. Cycling on the walking
#: network ignores one-way streets and cycle-only paths for now.
MODE_SPEEDS_KMH: dict[str, float] = {"walk": WALK_KMH, "bike": 15.0, "ebike": 20.0}
#: A walking speed for older residents (km/h), the preset ``--group COLUMN=older`` gives (``analysis.groups``).
OLDER_KMH = 3.2
#: 2SFCA distance decays (``analysis.accessibility``).
DECAYS = ("none", "gaussian", "stepped")
#: Side in metres of the grid cells gap zones are built from (``analysis.gaps``).
CELL_M = 100.0
#: How far either side of a reached street the reach's polygons reach, in metres (``analysis.isochrones``).
STREET_SIDE_M = 50.0
#: Spacing in metres of the grid of candidate sites (``analysis.siting``).
SPACING_M = 100.0
#: The siting models (``analysis.siting``): fewest centres, maximal coverage, p-median.
MODELS = ("lscp", "mclp", "pmedian")


@dataclass(frozen=True)
class Group:
    """A population group: its column and its walking speed (km/h; None: the run's)."""

    column: str
    speed_kmh: float | None = None
