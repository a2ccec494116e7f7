"""OpenStreetMap tag rules shared by every reader of OSM data.

The walking filter mirrors osmnx's ``network_type="walk"`` Overpass filter, so
a network read from a local ``.osm``/``.osm.pbf`` file keeps the same ways that
``osmnx.graph_from_place(..., network_type="walk")`` would download.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["is_walkable_way"]

# osmnx 2.x, ``_overpass._get_network_filter("walk")``: each entry is a tag and a
# regular expression that must NOT match its value (Overpass ``!~``).
_WALK_EXCLUDE: dict[str, re.Pattern[str]] = {
    "area": re.compile("yes"),
    "access": re.compile("private"),
    "highway": re.compile(
        "abandoned|bus_guideway|construction|cycleway|motor|no|planned|"
        "platform|proposed|raceway|razed|rest_area|services"
    ),
    "foot": re.compile("no"),
    "service": re.compile("private"),
    "sidewalk": re.compile("separate"),
    "sidewalk:both": re.compile("separate"),
    "sidewalk:left": re.compile("separate"),
    "sidewalk:right": re.compile("separate"),
}


def is_walkable_way(tags: Mapping[str, str]) -> bool:
    """Return True if an OSM way with these tags belongs to the walking network.

    Examples
    --------
    >>> is_walkable_way({"highway": "footway"})
    True
    >>> is_walkable_way({"highway": "motorway"})
    False
    >>> is_walkable_way({"highway": "residential", "foot": "no"})
    False
    """
    if "highway" not in tags:
        return False
    return not any(key in tags and pattern.search(tags[key]) for key, pattern in _WALK_EXCLUDE.items())
