"""The vocabulary: facility category codes, administrative levels, travel modes, and the words inputs use for them.

One place for the *codes* and their *synonyms* (what a planner's file may say).
The words shown to a planner (labels, in Chinese and English) live in
``quarterhour.i18n``; the colours in ``quarterhour.render.palette``. Everything reads
these three; nothing else defines a category, a level or a mode.

Examples
--------
>>> category_code("社区党群服务中心")
'service_centre'
>>> category_code("City study room")
'study_room'
>>> category_code("咖啡馆") is None
True
>>> LEVELS.index("subdistrict")
2
"""

from __future__ import annotations

__all__ = [
    "CATEGORIES",
    "CATEGORY_MINUTES",
    "CATEGORY_SYNONYMS",
    "DEFAULT_GATE_M",
    "DEFAULT_MAX_SNAP_M",
    "DEFAULT_NEW_CATEGORY",
    "HOURS_COLUMN_NAMES",
    "LEVELS",
    "LEVEL_SYNONYMS",
    "MODES",
    "SYSTEMS",
    "category_code",
    "level_code",
    "levels_below",
]

#: Facility category codes, in the order legends and tables list them.
CATEGORIES: tuple[str, ...] = ("service_centre", "neighbourhood_centre", "liaison_point", "study_room")

#: The category a new centre gets unless the planner picks another.
DEFAULT_NEW_CATEGORY = "neighbourhood_centre"

#: Default walking threshold per category (minutes), after GB 50180-2018's life circles.
CATEGORY_MINUTES: dict[str, float] = {
    "service_centre": 15.0,
    "neighbourhood_centre": 10.0,
    "liaison_point": 5.0,
    "study_room": 15.0,
}

#: Category words planners write (compared without case or spaces) -> our category codes.
CATEGORY_SYNONYMS: dict[str, str] = {
    "党群服务中心": "service_centre",
    "社区党群服务中心": "service_centre",
    "街道党群服务中心": "service_centre",
    "商务楼宇党群服务中心": "service_centre",
    "商圈党群服务中心": "service_centre",
    "党代表工作室": "service_centre",
    "party-mass service centre": "service_centre",
    "service centre": "service_centre",
    "邻里中心": "neighbourhood_centre",
    "neighbourhood centre": "neighbourhood_centre",
    "党群联络点": "liaison_point",
    "联络点": "liaison_point",
    "liaison point": "liaison_point",
    "城市书房": "study_room",
    "党建书屋": "study_room",
    "社区书屋": "study_room",
    "city study room": "study_room",
    "study room": "study_room",
}

#: Administrative levels, top down (四级: 市, 区, 街道, 社区), and the grid (网格) below the community: the area of a
#: grid party branch (网格党支部), the finest unit of 网格化管理 (issue 30).
LEVELS: tuple[str, ...] = ("city", "district", "subdistrict", "community", "grid")

#: Level words boundary files use -> our level codes.
LEVEL_SYNONYMS: dict[str, str] = {
    "市": "city",
    "区": "district",
    "县": "district",
    "县级市": "district",
    "街道": "subdistrict",
    "乡镇": "subdistrict",
    "镇": "subdistrict",
    "乡": "subdistrict",
    "sub-district": "subdistrict",
    "社区": "community",
    "村": "community",
    "居委会": "community",
    # --- issue 30: i30-grid ---
    "网格": "grid",
    "网格党支部": "grid",
    "网格党小组": "grid",
    "社区网格": "grid",
}

#: The header names a facility list gives its opening hours under (compared without case or spaces).
HOURS_COLUMN_NAMES: tuple[str, ...] = (
    "hours",
    "opening_hours",
    "opening hours",
    "开放时间",
    "营业时间",
    "服务时间",
    "办公时间",
    "开放时段",
)

#: Travel modes (their default speeds are ``analysis.traveltime.MODE_SPEEDS_KMH``).
MODES: tuple[str, ...] = ("walk", "bike", "ebike")

# issue 32: the parsers' choices, here so that ``quarterhour --help`` reads them without geopandas
#: Coordinate systems of points, converted to WGS-84 (``geo.chinacrs``): GPS/OSM/天地图, 高德/腾讯, 百度.
SYSTEMS: tuple[str, ...] = ("wgs84", "gcj02", "bd09")
#: Points farther than this many metres from any street are off the network (``geo.snap``).
DEFAULT_MAX_SNAP_M = 300.0
#: How far (metres) a gate may be from where a street crosses the compound's boundary and still open it
#: (``geo.compounds``).
DEFAULT_GATE_M = 20.0


def _norm(text: object) -> str:
    return str(text).strip().lower().replace(" ", "").replace("（", "(").replace("）", ")")


_CATEGORY_KEYS = {_norm(word): code for word, code in CATEGORY_SYNONYMS.items()} | {c: c for c in CATEGORIES}
_LEVEL_KEYS = {_norm(word): code for word, code in LEVEL_SYNONYMS.items()} | {lv: lv for lv in LEVELS}


def category_code(text: object) -> str | None:
    """The category code a planner's word stands for, or None when it names no category.

    Parameters
    ----------
    text
        A code (``study_room``) or a synonym in Chinese or English (``城市书房``), in any case, with spaces or not.

    Returns
    -------
    str or None
        One of ``CATEGORIES``, or None.
    """
    return _CATEGORY_KEYS.get(_norm(text))


def level_code(text: object) -> str | None:
    """The level code a boundary file's word stands for (``街道`` -> ``subdistrict``), or None.

    Examples
    --------
    >>> level_code("街道"), level_code("District"), level_code("省")
    ('subdistrict', 'district', None)
    """
    return _LEVEL_KEYS.get(_norm(text))


def levels_below(level: str) -> tuple[str, ...]:
    """The levels under ``level``, top down.

    Examples
    --------
    >>> levels_below("district")
    ('subdistrict', 'community', 'grid')
    """
    return LEVELS[LEVELS.index(level) + 1 :]
