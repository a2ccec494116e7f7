"""The review units' tree: which unit each unit lies in (a 社区 in its 街道, a 街道 in its district).

Found from the polygons, as the coverage tables and the unit packs place a unit below another: a point
inside the unit (``representative_point``) lies in one unit of the level above (``coverage.assign_units``).
A level the boundaries lack is skipped, so a community lies in its district where no sub-districts are given.
A grid (网格, issue 30) lies in the community holding its inside point: a grid straddling two communities
belongs to one, the one holding that point; a grid in no community (or given without communities) lies in
the nearest level above that holds it (``geo.io.grid_notes`` tells the planner of both).
The workspace keeps the tree per project, and a planner of a unit then reads and writes the scenarios of the
units inside it.
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd

from analysis.coverage import assign_units
from geo.vocab import LEVELS

__all__ = ["unit_parents", "unit_shapes"]


def unit_parents(levels: Mapping[str, gpd.GeoDataFrame]) -> dict[str, str]:
    """Each unit's code → the code of the unit it lies in, at the nearest level above that has one.

    Parameters
    ----------
    levels
        Review units by level (``city``, ``district``, ``subdistrict``, ``community``, ``grid``), each with ``code``
        and polygons, in one CRS (as ``geo.read_boundaries`` gives them).

    Returns
    -------
    dict[str, str]
        Unit code → its parent's code; a unit in no unit above (or of the top level) is left out.
    """
    present = [lvl for lvl in LEVELS if lvl in levels and len(levels[lvl])]
    parents: dict[str, str] = {}
    for i, level in enumerate(present):
        units = levels[level]
        points = gpd.GeoSeries(units.representative_point().values, index=units["code"].astype(str).values)
        points = points.set_crs(units.crs, allow_override=True)
        for above in reversed(present[:i]):
            left = [code for code in points.index if code not in parents]
            if not left:
                break
            found = assign_units(points.loc[left], levels[above].to_crs(units.crs)).dropna()
            parents.update({code: str(up) for code, up in found.items()})
    return parents


# --- issue 28: i28-accounts ---
def unit_shapes(levels: Mapping[str, gpd.GeoDataFrame]) -> dict[str, object]:
    """Each unit's code → its polygon in WGS-84 (every level; a code given twice: its polygons joined).

    The workspace keeps them with the project, so that a planner's changes are checked to lie in their units.
    """
    shapes: dict[str, object] = {}
    for level in LEVELS:
        units = levels.get(level)
        if units is None or not len(units) or units.crs is None:
            continue
        wgs = units.to_crs(4326)
        for code, shape in zip(wgs["code"].astype(str), wgs.geometry, strict=True):
            if shape is None or shape.is_empty:
                continue
            shapes[code] = shape if code not in shapes else shapes[code].union(shape)
    return shapes
