"""Geometry for the web page: lon/lat rounded to a metre, simplified in metres, the streets as lines or a picture.

Everything a map layer needs before it becomes GeoJSON: ``to_wgs84`` simplifies
in the metric CRS, reprojects and rounds (and escapes text, which tooltips put
into the page as HTML); ``geojson`` turns the result into the dict folium draws;
``street_lines`` and ``street_picture`` give the street network as one feature
or, for a whole city, as one image.
"""

from __future__ import annotations

import base64
import html
import io
import json
from concurrent.futures import Future, ThreadPoolExecutor

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from geo.network import StreetNetwork
from quarterhour.render.palette import STREET_COLOR

__all__ = [
    "PRECISION_DEG",
    "draw_streets_ahead",
    "feature_collection",
    "fill_holes",
    "geojson",
    "street_lines",
    "street_picture",
    "to_wgs84",
]

PRECISION_DEG = 1e-5  #: coordinates on the page are rounded to about a metre
_AHEAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="street-picture")  #: draws pictures ahead


def to_wgs84(gdf: gpd.GeoDataFrame, *, simplify_m: float = 0.0, min_hole_m2: float = 0.0) -> gpd.GeoDataFrame:
    """``gdf`` simplified in metres, then reprojected to lon/lat rounded to about a metre (smaller pages).

    Polygons are simplified part by part, all parts in one vectorised call (Douglas-Peucker; GEOS
    mends what it crosses, so every outline stays within ``simplify_m`` of its own and valid). The
    topology-preserving simplifier took seconds on a city's reach of half a million points.

    Parameters
    ----------
    gdf
        The layer, in a metric CRS.
    simplify_m
        Simplify within this many metres; 0 leaves the shapes as they are.
    min_hole_m2
        Fill holes smaller than this (square metres; a city's block interiors) before simplifying.
    """
    if simplify_m or min_hole_m2:
        polygonal = gdf.geom_type.isin(["Polygon", "MultiPolygon"])
        if polygonal.all() and len(gdf):
            gdf = gdf.explode(index_parts=False)
            geoms = gdf.geometry.to_numpy()
            if min_hole_m2:
                geoms = fill_holes(geoms, min_hole_m2)
            if simplify_m:
                geoms = shapely.simplify(geoms, simplify_m, preserve_topology=False)
            gdf = gdf.set_geometry(geoms, crs=gdf.crs)
        elif simplify_m:
            gdf = gdf.set_geometry(gdf.geometry.simplify(simplify_m))
    out = gdf.to_crs(4326)
    # Tooltips put property values into the page as HTML: names from planners' files are escaped first,
    # braces too (folium renders each layer's script as a Jinja template again: '{{ }}' in a name ran on the server).
    for col in out.drop(columns=out.geometry.name).select_dtypes(include=["object", "string"]).columns:
        out[col] = out[col].map(lambda v: _inert(v) if isinstance(v, str) else v)
    geoms = shapely.set_precision(out.geometry.values, PRECISION_DEG)
    # Rounding may collapse a sliver to a line or to nothing: keep what keeps the input's kind.
    geoms = np.array([_same_kind(g, kind) for g, kind in zip(geoms, out.geom_type, strict=True)], dtype=object)
    keep = ~shapely.is_empty(geoms) & ~shapely.is_missing(geoms)
    return out.set_geometry(geoms, crs=out.crs)[keep]


def fill_holes(polygons: np.ndarray, min_area: float) -> np.ndarray:
    """Each polygon with its holes under ``min_area`` (square metres) filled, in one vectorised pass.

    Parameters
    ----------
    polygons
        Polygons (not multi-polygons), as a shapely array.
    min_area
        Holes of less area than this are filled.

    Returns
    -------
    numpy.ndarray
        The polygons, in the same order.
    """
    polygons = np.asarray(polygons, dtype=object)
    if not len(polygons):
        return polygons
    rings, idx = shapely.get_rings(polygons, return_index=True)
    shell = np.append(True, idx[1:] != idx[:-1])
    keep = shell.copy()
    keep[~shell] = shapely.area(shapely.polygons(rings[~shell])) >= min_area
    out = np.array([shapely.Polygon()] * len(polygons), dtype=object)
    if len(rings):
        out[np.unique(idx)] = shapely.polygons(rings[keep], indices=np.unique(idx[keep], return_inverse=True)[1])
    return out


def _inert(text: str) -> str:
    """``text`` as HTML that neither the browser nor Jinja acts on (``{`` and ``}`` as character references)."""
    return html.escape(text).replace("{", "&#123;").replace("}", "&#125;")


def _same_kind(geom: shapely.Geometry | None, kind: str | None) -> shapely.Geometry | None:
    if geom is None or geom.geom_type != "GeometryCollection" or not kind:
        return geom
    family = kind.replace("Multi", "")
    parts = [p for p in shapely.get_parts(geom) if p.geom_type.replace("Multi", "") == family]
    return shapely.union_all(parts) if parts else None


def street_lines(network: StreetNetwork) -> gpd.GeoDataFrame:
    """The streets as one feature: each segment once (the network holds both directions), no per-street style.

    A single MultiLineString draws the same and halves the page (and the time to build it) against one
    feature per directed edge.
    """
    geoms = shapely.normalize(network.edges.geometry.to_numpy())
    unique = pd.unique(pd.Series(shapely.to_wkb(geoms)))
    lines = shapely.from_wkb(unique)
    return gpd.GeoDataFrame(geometry=[shapely.multilinestrings(lines)], crs=network.crs)


def street_picture(network: StreetNetwork, *, max_px: int = 2000) -> tuple[str, list[list[float]]]:
    """The streets drawn once into a transparent PNG in web-Mercator, as Leaflet stretches an image overlay.

    Parameters
    ----------
    network
        The street network.
    max_px
        The picture's longer side (pixels).

    Returns
    -------
    tuple[str, list[list[float]]]
        The PNG as a data URI, and its bounds in lon/lat ([[south, west], [north, east]]).
        Drawn once per network and size (kept in ``network.derived``): every run on it shows the same streets.
    """
    key = ("street_picture", max_px)
    if key not in network.derived:
        network.derived[key] = _draw_streets(network, max_px)
    if isinstance(network.derived[key], Future):  # begun by draw_streets_ahead
        network.derived[key] = network.derived[key].result()
    return network.derived[key]


def draw_streets_ahead(network: StreetNetwork, *, max_px: int = 2000) -> None:
    """Start drawing the street picture in the background (the app, once a city's network is chosen).

    The planner is still choosing files then; ``street_picture`` waits for it when the map asks.

    Parameters
    ----------
    network
        The street network.
    max_px
        The picture's longer side (pixels), as for ``street_picture``.
    """
    key = ("street_picture", max_px)
    if key not in network.derived:
        network.derived[key] = _AHEAD.submit(_draw_streets, network, max_px)


def _each_once(network: StreetNetwork) -> np.ndarray:
    """The streets' lines, each segment once: the network holds most both ways (same ends, same length)."""
    e = network.edges
    u, v = e["u"].to_numpy(), e["v"].to_numpy()
    ends = pd.DataFrame({"a": np.minimum(u, v), "b": np.maximum(u, v), "m": np.round(e["length_m"].to_numpy(), 2)})
    return e.geometry.to_numpy()[~ends.duplicated().to_numpy()]


def _every(xy: np.ndarray, line: np.ndarray, step: float) -> np.ndarray:
    """Points at most ``step`` apart along lines given as vertices (``line``: each one's line), as segmentize puts them.

    Each piece of a line is cut in ``ceil(length / step)`` equal parts; the lines' last vertices are kept.
    """
    same = line[1:] == line[:-1]
    a, b = xy[:-1][same], xy[1:][same]
    parts = np.maximum(np.ceil(np.hypot(*(b - a).T) / step), 1).astype(np.int64)
    piece = np.repeat(np.arange(len(a)), parts)
    k = np.arange(len(piece)) - np.repeat(np.cumsum(parts) - parts, parts)
    inner = a[piece] + (b - a)[piece] * (k / parts[piece])[:, None]
    return np.concatenate([inner, xy[np.append(~same, True)]])


def _draw_streets(network: StreetNetwork, max_px: int) -> tuple[str, list[list[float]]]:
    """Each street sampled every half pixel; a pixel's opacity grows with the street length in it.

    Plain arrays, no plotting library: at 180k segments matplotlib's per-line paths took 4 s. The vertices
    are projected as arrays (pyproj), each segment once (``_each_once``).
    """
    from PIL import Image, ImageColor

    xy, line = shapely.get_coordinates(_each_once(network), return_index=True)
    x, y = Transformer.from_crs(network.crs, 3857, always_xy=True).transform(xy[:, 0], xy[:, 1])
    west, south, east, north = x.min(), y.min(), x.max(), y.max()
    scale = max_px / max(east - west, north - south)
    width, height = max(int((east - west) * scale), 1), max(int((north - south) * scale), 1)
    xy = _every(np.column_stack([x, y]), line, 0.5 / scale)
    col = np.clip(((xy[:, 0] - west) * scale).astype(np.int64), 0, width - 1)
    row = np.clip(((north - xy[:, 1]) * scale).astype(np.int64), 0, height - 1)
    samples = np.bincount(row * width + col, minlength=width * height).reshape(height, width)
    alpha = np.minimum(samples * 0.25 * 255, 255).astype(np.uint8)  # half a pixel's length: about a thin line
    grey = np.full_like(alpha, ImageColor.getcolor(STREET_COLOR, "L"))
    buf = io.BytesIO()
    Image.fromarray(np.dstack([grey, alpha]), mode="LA").save(buf, format="PNG")
    corners = gpd.GeoSeries(shapely.points([(west, south), (east, north)]), crs=3857).to_crs(4326)
    (lon0, lat0), (lon1, lat1) = shapely.get_coordinates(corners.values)
    uri = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    return uri, [[float(lat0), float(lon0)], [float(lat1), float(lon1)]]


def geojson(
    gdf: gpd.GeoDataFrame, *, simplify_m: float = 0.0, min_hole_m2: float = 0.0, style: list[dict] | None = None
) -> dict:
    """A layer as WGS-84 GeoJSON for the page (see ``to_wgs84``), each feature's own style in ``_s``.

    Parameters
    ----------
    gdf
        The features, in a metric CRS.
    simplify_m, min_hole_m2
        As in ``to_wgs84``.
    style
        One Leaflet style dict per row, or None.
    """
    if style is not None:  # before any split into parts: each part keeps its row's style
        gdf = gdf.assign(_s=style)
    out = to_wgs84(gdf, simplify_m=simplify_m, min_hole_m2=min_hole_m2)
    # Ids of our own (0, 1, ...): folium would otherwise write them into the data, and MapData is shared read-only.
    return feature_collection(out.reset_index(drop=True))


def feature_collection(gdf: gpd.GeoDataFrame) -> dict:
    """``json.loads(gdf.to_json())``, the geometries written by GEOS (geopandas walks every coordinate in Python).

    Parameters
    ----------
    gdf
        The features, in lon/lat.

    Returns
    -------
    dict
        The GeoJSON FeatureCollection, the same as geopandas writes it.
    """
    geoms = gdf.geometry.to_numpy()
    plain = gpd.GeoDataFrame(gdf.drop(columns=gdf.geometry.name), geometry=[None] * len(gdf), crs=gdf.crs)
    out = json.loads(plain.to_json())
    written = shapely.to_geojson(geoms[~shapely.is_missing(geoms)])
    shapes = iter(json.loads("[" + ",".join(written) + "]"))
    for feature, missing in zip(out["features"], shapely.is_missing(geoms), strict=True):
        feature["geometry"] = None if missing else next(shapes)
    return out
