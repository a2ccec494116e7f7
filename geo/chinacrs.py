"""China's map coordinate systems: WGS-84, GCJ-02 (高德/腾讯) and BD-09 (百度).

Facility lists copied from 高德 (AMap) or 腾讯 sit 300–700 m off OpenStreetMap's
WGS-84 roads (GCJ-02); lists from 百度 carry a further offset (BD-09). These
functions move lon/lat arrays between the three, vectorized. The GCJ-02
forward formula is the published one; its inverse has no closed form and is
iterated until it is within ``tol_m`` (1 m by default). CGCS2000 (天地图) is
taken as WGS-84: they differ by centimetres. Outside China no offset applies.

``points_to_wgs84`` moves a layer of points; ``detect_coordinate_system``
judges which of the three a list of points is in, by how close each reading
falls to the streets (the distance nine points in ten lie within: a wrong
reading leaves a long tail of points between streets), on the points some
reading brings within a few km of the streets (those beyond the network's area,
a prefecture's county towns against one city's streets, are counted and named
apart: they say nothing about the system); ``settle_coordinate_system``
applies the planner's choice, or with ``auto`` the judgement, and says what it
did (``CrsChoice``). A table no reading clearly fits is refused with the option
to choose by hand: read as WGS-84 by default, a GCJ-02 list would be 500 m off.

``auto`` moves only points read from a table's lon/lat columns: a table states
no coordinate system, and 高德/腾讯/百度 exports are tables. A GeoJSON,
GeoPackage or Shapefile states its CRS, and is taken at its word (GCJ-02 has no
EPSG code, so such a file says WGS-84 even when it is not): its points are
judged too, and when they sit clearly closer to the streets read as GCJ-02 or
BD-09 the choice says so, for the planner to pick it by hand. Points all
outside China are WGS-84 without judging: no offset applies there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import shapely

from geo.errors import InputError
from geo.notes import note
from geo.vocab import SYSTEMS  # issue 32: read by the parsers without geopandas

if TYPE_CHECKING:
    from geo.network import StreetNetwork

__all__ = [
    "SYSTEMS",
    "SYSTEM_NAMES",
    "CrsChoice",
    "bd09_to_gcj02",
    "detect_coordinate_system",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "geometries_to_wgs84",
    "in_china",
    "points_to_wgs84",
    "settle_coordinate_system",
    "to_wgs84",
    "wgs84_to_gcj02",
]

SYSTEM_NAMES = {"wgs84": "WGS-84", "gcj02": "GCJ-02", "bd09": "BD-09"}  #: how notes name each system
_JUDGED_AT_MOST = 2000  # points measured when judging, evenly spread: a stable quantile, fast on 100k corners
NEAR_SHARE = 0.9  # each reading is measured by the distance within which this share of its points lie from a street
CLEAR_RATIO = 0.5  # a reading is clearly best when its distance is under this share of the runner-up's
#: The three systems differ by at most about 1 km: a point no reading brings this near a street lies beyond the
#: network's area (a county town on a prefecture's list, another city, lon/lat swapped), which no coordinate system
#: explains. Such points are counted and named apart, and the system is judged on the others.
FAR_M = 3_000.0
_MOST_APART_M = 2_000.0  # the readings of one point lie within this of each other (GCJ-02 ≤ 717 m, BD-09 ≤ 1,526 m)
_OPTIONS = {  # how a planner chooses each role's system by hand: the CLI's option, the app's label
    "facilities": ("--facilities-crs", "facility coordinates"),
    "demand": ("--demand-crs", "resident coordinates"),
    "compounds": ("--compounds-crs", "compound coordinates"),  # issue 30
}
_A = 6378245.0  # Krasovsky 1940 semi-major axis, as the GCJ-02 formula uses
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0
_M_PER_DEG = 111_320.0


def in_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """True where a point lies in the box where GCJ-02 applies (outside it the offset is zero)."""
    return (lon > 72.004) & (lon < 137.8347) & (lat > 0.8293) & (lat < 55.8271)


def _offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = lon - 105.0, lat - 35.0
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x)) + common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x)) + common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    rad = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(rad) ** 2
    dlat = dlat * 180.0 / ((_A * (1 - _EE)) / (magic * np.sqrt(magic)) * np.pi)
    dlon = dlon * 180.0 / (_A / np.sqrt(magic) * np.cos(rad) * np.pi)
    inside = in_china(lon, lat)
    return np.where(inside, dlon, 0.0), np.where(inside, dlat, 0.0)


def wgs84_to_gcj02(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 -> GCJ-02 (degrees).

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02(np.array([116.377817]), np.array([39.911954]))  # Beijing
    >>> round(float(lon[0]), 6), round(float(lat[0]), 6)
    (116.384047, 39.913345)
    """
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    dlon, dlat = _offset(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon: np.ndarray, lat: np.ndarray, *, tol_m: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 -> WGS-84, iterated until the forward transform lands within ``tol_m`` of the input.

    Parameters
    ----------
    lon, lat
        GCJ-02 longitudes and latitudes in degrees.
    tol_m
        How close in metres the forward transform of the answer must come to the input.

    Returns
    -------
    (lon, lat)
        WGS-84 degrees.
    """
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    wlon, wlat = lon.copy(), lat.copy()
    for _ in range(30):
        glon, glat = wgs84_to_gcj02(wlon, wlat)
        elon, elat = glon - lon, glat - lat
        wlon, wlat = wlon - elon, wlat - elat
        err = np.hypot(elon * np.cos(np.radians(lat)), elat) * _M_PER_DEG
        if not np.any(err > tol_m / 10):  # a tenth of the tolerance: the last step is already below it
            break
    return wlon, wlat


def gcj02_to_bd09(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 -> BD-09 (degrees)."""
    x, y = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    z = np.hypot(x, y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon: np.ndarray, lat: np.ndarray, *, tol_m: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 -> GCJ-02: the closed-form approximation, then refined against the forward formula.

    Parameters
    ----------
    lon, lat
        BD-09 longitudes and latitudes in degrees.
    tol_m
        How close in metres the forward formula applied to the answer must come to the input.

    Returns
    -------
    (lon, lat)
        GCJ-02 degrees.
    """
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    x, y = lon - 0.0065, lat - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    glon, glat = z * np.cos(theta), z * np.sin(theta)
    for _ in range(10):
        blon, blat = gcj02_to_bd09(glon, glat)
        elon, elat = blon - lon, blat - lat
        glon, glat = glon - elon, glat - elat
        if not np.any(np.hypot(elon, elat) * _M_PER_DEG > tol_m / 10):
            break
    return glon, glat


def to_wgs84(lon: np.ndarray, lat: np.ndarray, system: str) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat in ``system`` ("wgs84", "gcj02", "bd09"; "cgcs2000" counts as WGS-84) to WGS-84.

    Parameters
    ----------
    lon, lat
        Longitudes and latitudes in degrees.
    system
        The system they are in (``SYSTEMS``).

    Returns
    -------
    (lon, lat)
        WGS-84 degrees, as float arrays.
    """
    if system in ("wgs84", "cgcs2000"):
        return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    if system == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if system == "bd09":
        return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))
    raise ValueError(f"unknown coordinate system '{system}': use one of {', '.join(SYSTEMS)}")


def points_to_wgs84(gdf: gpd.GeoDataFrame, system: str) -> gpd.GeoDataFrame:
    """Points whose lon/lat are in ``system`` (wgs84, gcj02, bd09) moved to WGS-84 (EPSG:4326).

    Parameters
    ----------
    gdf
        Points in any CRS; their lon/lat are read as ``system``'s.
    system
        One of ``SYSTEMS`` (or "cgcs2000", taken as WGS-84).

    Returns
    -------
    geopandas.GeoDataFrame
        The same rows in EPSG:4326.
    """
    return geometries_to_wgs84(gdf, system)  # points are geometries with one vertex


def geometries_to_wgs84(gdf: gpd.GeoDataFrame, system: str) -> gpd.GeoDataFrame:
    """Any geometries (points, lines, polygons) whose lon/lat are in ``system`` moved to WGS-84, vertex by vertex.

    Parameters
    ----------
    gdf
        A layer in any CRS; its lon/lat are read as ``system``'s.
    system
        One of ``SYSTEMS`` (or "cgcs2000", taken as WGS-84).

    Returns
    -------
    geopandas.GeoDataFrame
        The same rows in EPSG:4326.
    """
    ll = gdf.to_crs(4326)

    def move(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(to_wgs84(xy[:, 0], xy[:, 1], system))

    return ll.set_geometry(shapely.transform(ll.geometry.to_numpy(), move), crs=4326)


def _reading_metres(points: gpd.GeoDataFrame, network: StreetNetwork, systems=SYSTEMS) -> dict[str, np.ndarray]:
    """Per reading (``SYSTEMS``), each point's distance in metres from the nearest street once moved to WGS-84."""
    tree = network.derived.get("edge_tree")  # the snapping's tree (geo.snap): built once per network (issue 32)
    if tree is None:
        tree = network.derived["edge_tree"] = shapely.STRtree(network.edges.geometry.to_numpy())
    metres = {}
    for system in systems:
        moved = points_to_wgs84(points, system).to_crs(network.crs).geometry.to_numpy()
        _, dist = tree.query_nearest(moved, return_distance=True, all_matches=False)
        metres[system] = np.asarray(dist, dtype=float)
    return metres


def _share_a_cell(xy: np.ndarray, corners: np.ndarray, within_m: float) -> np.ndarray:
    """True for each point in a grid cell that holds a corner: within ``within_m`` of it (the cell's diagonal).

    A sure test, not a complete one (a corner just over a cell's edge is not seen): what it leaves
    is measured. No KD-tree: ``scipy.spatial`` costs a run's start-up more than this (issue 32).
    """
    if not len(xy) or not len(corners):
        return np.zeros(len(xy), dtype=bool)
    side = within_m / np.sqrt(2) * (1 - 1e-9)
    origin = corners.min(axis=0)
    corner_cells = np.floor((corners - origin) / side).astype(np.int64)
    cells = np.floor((xy - origin) / side)
    width = int(corner_cells[:, 0].max()) + 1
    seen = np.unique(corner_cells[:, 1] * width + corner_cells[:, 0])
    inside = (cells >= 0).all(axis=1) & (cells[:, 0] < width) & np.isfinite(cells).all(axis=1)
    key = np.where(inside, cells[:, 1] * width + cells[:, 0], -1).astype(np.int64)
    at = np.minimum(np.searchsorted(seen, key), len(seen) - 1)
    return inside & (seen[at] == key)


def _within_reach(points: gpd.GeoDataFrame, network: StreetNetwork) -> np.ndarray:
    """True for each point some reading brings within ``FAR_M`` of a street: the points on the network's area.

    A point sharing a grid cell (diagonal ``FAR_M``) with a street corner as read is within reach (a street
    is no farther than its corners: one pass over the corners, fast on a million); the others are measured
    to the streets as read, and those whose distance leaves the answer open (within ``_MOST_APART_M`` beyond
    ``FAR_M``) in the other readings too.
    """
    xy = shapely.get_coordinates(points.to_crs(network.crs).geometry.to_numpy())
    corners = shapely.get_coordinates(network.nodes.geometry.to_numpy())
    reach = _share_a_cell(xy, corners, FAR_M)
    rest = np.flatnonzero(~reach)
    if len(rest):
        (as_read,) = _reading_metres(points.iloc[rest], network, ("wgs84",)).values()
        reach[rest] = as_read <= FAR_M
        rest = rest[(as_read > FAR_M) & (as_read <= FAR_M + _MOST_APART_M)]
    if len(rest):
        others = _reading_metres(points.iloc[rest], network, ("gcj02", "bd09"))
        reach[rest] = np.min(np.vstack(list(others.values())), axis=0) <= FAR_M
    return reach


def _judge(metres: dict[str, np.ndarray]) -> tuple[str | None, dict[str, float]]:
    """The clearly best reading (or None), and per reading the metres nine points in ten lie within."""
    near = {s: float(np.quantile(d, NEAR_SHARE)) if len(d) else float("inf") for s, d in metres.items()}
    best, second = sorted(near, key=near.get)[:2]
    return (best if near[best] < CLEAR_RATIO * near[second] else None), near


def detect_coordinate_system(points: gpd.GeoDataFrame, network: StreetNetwork) -> tuple[str | None, dict[str, float]]:
    """Which system (wgs84, gcj02, bd09) the points' lon/lat are in, judged by how close they fall to the streets.

    Each reading is moved to WGS-84 and measured: the distance from a street
    within which nine points in ten lie (``NEAR_SHARE``). A wrong reading moves
    every point 300-1,000 m, so its points fall anywhere between streets or off
    the network, and its far tail is long; the true one keeps nearly every point
    close. The median cannot tell them apart in dense streets: half of any
    shifted pattern still lands near some street by chance. The winner must be
    under half the runner-up's distance (``CLEAR_RATIO``); otherwise None.

    Only the points some reading brings within ``FAR_M`` of a street are judged: a
    prefecture's list against one city's streets holds county towns 25-60 km away,
    which lie beyond the network's area in every reading and say nothing about the
    system (``settle_coordinate_system`` counts and names them). When no point is
    that near, every point is measured (and no reading is clearly best as a rule).

    Parameters
    ----------
    points
        Facility points as read (lon/lat not converted).
    network
        The prepared street network (``geo.network.StreetNetwork``), in its metric CRS.

    Returns
    -------
    tuple of (str or None, dict)
        The system (None when no reading is clearly best), and for each system the metres
        from a street within which nine points in ten (of those judged) lie.
    """
    reach = _within_reach(points, network)
    return _judge(_reading_metres(points[reach] if reach.any() else points, network))


@dataclass(frozen=True)
class CrsChoice:
    """How a file's coordinates were read, for the planner: the system applied and why.

    ``how`` is ``given`` (the planner's choice), ``judged`` (``auto``: the clear
    winner against the streets), ``outside`` (``auto``, every point outside China:
    WGS-84), ``far`` (``auto``, no reading brings any point near the streets: WGS-84,
    for the reader's own check to say where they are) or ``declared`` (``auto`` on a
    file that states its CRS: kept; ``looks`` names the system its points sit closer
    to, when that is clearly another).
    ``decided`` counts the points the judgement rested on (those some reading brings
    within ``FAR_M`` of a street); ``beyond`` counts the points no reading brings that
    near (beyond the network's area: outside the study area, no evidence about the
    system), and ``beyond_names`` names the first of them.
    A table whose system the streets do not tell is refused, never read as WGS-84
    by default (``settle_coordinate_system``).
    """

    system: str  #: the system applied: wgs84, gcj02 or bd09
    how: str
    metres: dict[str, float] = field(default_factory=dict)  #: per reading: nine points in ten lie this near a street
    looks: str | None = None
    decided: int = 0  #: points within FAR_M of a street in some reading: the ones judged
    beyond: int = 0  #: points beyond FAR_M of every street in every reading
    beyond_names: tuple[str, ...] = ()  #: the first BEYOND_NAMED of them, by name (or row)


BEYOND_NAMED = 10  #: how many of the points beyond the network's area a choice names


def _labels(points: gpd.GeoDataFrame, mask: np.ndarray) -> tuple[str, ...]:
    """The first ``BEYOND_NAMED`` points under ``mask``, by their ``name`` (else their row in the file)."""
    picked = points[mask].head(BEYOND_NAMED)
    if "name" in picked:
        names = picked["name"].astype("string").fillna("")
        return tuple(n if n.strip() else f"#{i}" for i, n in zip(picked.index, names, strict=True))
    return tuple(f"#{i}" for i in picked.index)


def settle_coordinate_system(
    points: gpd.GeoDataFrame, network: StreetNetwork, requested: str, *, declared: bool, file: str, role: str
) -> tuple[gpd.GeoDataFrame, CrsChoice]:
    """Apply ``requested`` to points read as WGS-84; with ``auto``, judge the system against the streets first.

    The judgement rests on the points some reading brings within ``FAR_M`` of a
    street; the others lie beyond the network's area (a prefecture-wide list
    against one city's streets) and are counted and named apart, never taken as
    evidence about the system. Only when the points on the network do not decide
    is the table refused.

    Parameters
    ----------
    points
        As read: a table's lon/lat taken as WGS-84 when ``requested`` is ``auto``,
        already converted when it is a system.
    network
        The prepared street network the points are judged against.
    requested
        ``auto`` or one of ``SYSTEMS`` (already applied by the reader).
    declared
        True when the file states its own CRS (GeoJSON, GeoPackage, Shapefile): ``auto`` keeps it.
    file
        The file's name, as the planner knows it (for the refusal).
    role
        ``facilities`` or ``demand`` (the residents): which option the refusal names.

    Returns
    -------
    (geopandas.GeoDataFrame, CrsChoice)
        The points (moved to WGS-84 when judged GCJ-02 or BD-09), and what was done.

    Raises
    ------
    InputError
        ``auto`` on a table in China whose system the streets do not clearly tell.
    """
    if requested != "auto":
        return points, CrsChoice(requested, "given")
    if points.empty or not (points.geom_type == "Point").all():
        return points, CrsChoice("wgs84", "declared")
    ll = points.to_crs(4326)
    if not in_china(ll.geometry.x.to_numpy(), ll.geometry.y.to_numpy()).any():
        return points, CrsChoice("wgs84", "outside")
    reach = _within_reach(ll, network)
    counts = {"decided": int(reach.sum()), "beyond": int((~reach).sum()), "beyond_names": _labels(points, ~reach)}
    near = np.flatnonzero(reach) if reach.any() else np.arange(len(ll))  # none near: measured, to say how far
    judged = near[:: max(1, len(near) // _JUDGED_AT_MOST)]  # evenly spread: a stable quantile, fast on 100k corners
    system, metres = _judge(_reading_metres(ll.iloc[judged], network))
    if not reach.any():
        return points, CrsChoice("wgs84", "far", metres, **counts)
    if declared:
        looks = None if system in (None, "wgs84") else system
        return points, CrsChoice("wgs84", "declared", metres, looks=looks, **counts)
    if system is None:
        raise _unclear(metres, file, role, **counts)
    moved = points_to_wgs84(points, system) if system != "wgs84" else points
    return moved, CrsChoice(system, "judged", metres, **counts)


def _unclear(
    metres: dict[str, float], file: str, role: str, *, decided: int, beyond: int, beyond_names: tuple[str, ...]
) -> InputError:
    """The refusal of a table whose coordinate system the streets do not tell: the distances, and the option."""
    option, label = _OPTIONS[role]
    told = tuple(note("reading_within", metres=v, system=SYSTEM_NAMES[s]) for s, v in metres.items())
    more = ", …" if beyond > len(beyond_names) else ""
    apart = note("unclear_beyond", n=beyond, km=FAR_M / 1000, names=beyond_names, more=more) if beyond else ""
    return InputError(
        "chinacrs_unclear",
        file=file,
        told=told,
        decided=decided,
        km=FAR_M / 1000,
        apart=apart,
        option=option,
        label=label,
    )
