"""The coverage map: one folium.Map, self-contained, drawn with no host but its own.

folium loads Leaflet, jQuery, Bootstrap and Font Awesome from public CDNs by
default; offline or on an intranet the map then stays blank. ``OfflineMap``
loads none of them and inlines the Leaflet 1.9.4 files vendored in
``assets/leaflet`` (from the npm registry), images as data URIs. The default
base layer is the street network itself; the OSM tile basemap is opt-in.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import ClassVar

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from jinja2 import Template

from analysis import columns as C
from analysis.gaps import CELL_M
from analysis.hexgrid import HEX_M, hex_coverage
from analysis.pipeline import CircleResult
from geo.io import CATEGORIES, LEVELS
from geo.network import StreetNetwork
from quarterhour.i18n import t

__all__ = [
    "CATEGORY_COLORS",
    "Layer",
    "MapData",
    "OfflineMap",
    "build_map",
    "draw_map",
    "map_data",
    "map_html",
    "scenario_layer",
]

ASSETS = Path(__file__).resolve().parent / "assets" / "leaflet"
CATEGORY_COLORS = {
    "service_centre": "#c0392b",
    "neighbourhood_centre": "#2471a3",
    "liaison_point": "#d68910",
    "study_room": "#7d3c98",
}
REACH_COLOR, GAP_COLOR, SITE_COLOR, UNCOVERED_COLOR = "#27ae60", "#e67e22", "#8e44ad", "#e74c3c"
REACH_BAND_COLORS = ["#1e8449", "#27ae60", "#82e0aa", "#d5f5e3"]  # nearest band darkest
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
OSM_ATTRIBUTION = '© <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
SCENARIO_COLOR = "#f1c40f"
MAX_POINTS = 5_000  #: more resident points than this are shown as hexagons only (page size)
CITY_EDGES = 40_000  #: more directed street segments: a city, drawn lighter (streets as a picture, coarser lines)
CITY_SIMPLIFY_M = 8.0  #: how far a city's isochrone outlines may move when simplified, metres
CITY_MIN_HOLE_M2 = 10_000.0  #: a city's reach drawn without its holes under 1 ha (block interiors)
MAX_EACH_REACH = 200  #: more facilities than this: no layer of each facility's own reach
MAX_GAPS = 1_000  #: the map shows this many gap zones at most, biggest first
PRECISION_DEG = 1e-5  #: coordinates on the page are rounded to about a metre
STREETS_NAME = "步行路网 streets"
#: 天地图 web-Mercator tiles (CGCS2000, i.e. WGS-84 to within a metre: no GCJ-02 shift); the planner brings the key.
TIANDITU_URL = (
    "https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}"
    "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
)
TIANDITU_ATTRIBUTION = '© <a href="https://www.tianditu.gov.cn">天地图</a> 国家地理信息公共服务平台'


class OfflineMap(folium.Map):
    """A folium.Map that references no CDN: Leaflet comes as data: URIs (nothing is fetched from any host).

    The assets are listed where folium and streamlit-folium look for them
    (``default_js``/``default_css``), so the same map works standalone and in
    the app's ``st_folium`` component.
    """

    default_js: ClassVar[list[tuple[str, str]]] = []
    default_css: ClassVar[list[tuple[str, str]]] = []

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        js, css = _leaflet_assets()
        self.default_js = [("leaflet", js)]
        self.default_css = [("leaflet_css", css)]


class _MetricScale(MacroElement):
    """A scale bar in metres only (folium's ``control_scale`` adds feet and miles)."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "L.control.scale({imperial: false, maxWidth: 160}).addTo({{ this._parent.get_name() }});"
        "{% endmacro %}"
    )


@cache
def _leaflet_assets() -> tuple[str, str]:
    """Leaflet's script and stylesheet as data: URIs, the stylesheet's images inlined too."""
    js = (ASSETS / "leaflet.js").read_bytes()
    css = (ASSETS / "leaflet.css").read_text(encoding="utf-8")

    def data_uri(match: re.Match[str]) -> str:
        data = base64.b64encode((ASSETS / match.group(1)).read_bytes()).decode()
        return f"url(data:image/png;base64,{data})"

    css = re.sub(r"url\((images/[\w.-]+\.png)\)", data_uri, css)
    return (
        "data:text/javascript;base64," + base64.b64encode(js).decode(),
        "data:text/css;base64," + base64.b64encode(css.encode()).decode(),
    )


def _wgs84(gdf: gpd.GeoDataFrame, *, simplify_m: float = 0.0, min_hole_m2: float = 0.0) -> gpd.GeoDataFrame:
    """Simplify in metres, then reproject to lon/lat rounded to about a metre (smaller pages).

    Polygons are simplified part by part (GEOS takes minutes on a city's one many-holed reach, seconds on its
    parts); ``min_hole_m2`` fills the holes smaller than that (a city's block interiors) before.
    """
    if simplify_m or min_hole_m2:
        polygonal = gdf.geom_type.isin(["Polygon", "MultiPolygon"])
        if polygonal.all() and len(gdf):
            gdf = gdf.explode(index_parts=False)
            geoms = gdf.geometry.to_numpy()
            if min_hole_m2:
                geoms = np.array([_fill_holes(p, min_hole_m2) for p in geoms], dtype=object)
            gdf = gdf.set_geometry(shapely.simplify(geoms, simplify_m) if simplify_m else geoms, crs=gdf.crs)
        elif simplify_m:
            gdf = gdf.set_geometry(gdf.geometry.simplify(simplify_m))
    out = gdf.to_crs(4326)
    # Tooltips put property values into the page as HTML: names from planners' files are escaped first.
    for col in out.drop(columns=out.geometry.name).select_dtypes(include=["object", "string"]).columns:
        out[col] = out[col].map(lambda v: html.escape(v) if isinstance(v, str) else v)
    geoms = shapely.set_precision(out.geometry.values, PRECISION_DEG)
    # Rounding may collapse a sliver to a line or to nothing: keep what keeps the input's kind.
    geoms = np.array([_same_kind(g, kind) for g, kind in zip(geoms, out.geom_type, strict=True)], dtype=object)
    keep = ~shapely.is_empty(geoms) & ~shapely.is_missing(geoms)
    return out.set_geometry(geoms, crs=out.crs)[keep]


def _same_kind(geom: shapely.Geometry | None, kind: str | None) -> shapely.Geometry | None:
    if geom is None or geom.geom_type != "GeometryCollection" or not kind:
        return geom
    family = kind.replace("Multi", "")
    parts = [p for p in shapely.get_parts(geom) if p.geom_type.replace("Multi", "") == family]
    return shapely.union_all(parts) if parts else None


def _fill_holes(polygon: shapely.Polygon, min_area: float) -> shapely.Polygon:
    if not polygon.interiors:
        return polygon
    keep = [ring for ring in polygon.interiors if shapely.Polygon(ring).area >= min_area]
    return shapely.Polygon(polygon.exterior, keep)


def _street_lines(network: StreetNetwork) -> gpd.GeoDataFrame:
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

    Returns the PNG as a data URI and its bounds in lon/lat.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure
    from PIL import Image

    merc = _street_lines(network).to_crs(3857).geometry.iloc[0]
    west, south, east, north = merc.bounds
    scale = max_px / max(east - west, north - south)
    width, height = max(int((east - west) * scale), 1), max(int((north - south) * scale), 1)
    fig = Figure(figsize=(width / 100, height / 100), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(west, east)
    ax.set_ylim(south, north)
    ax.axis("off")
    lines = [np.asarray(part.coords) for part in merc.geoms]
    ax.add_collection(LineCollection(lines, colors="#5d6d7e", linewidths=0.35, antialiased=True))
    raw = io.BytesIO()
    fig.savefig(raw, format="png", transparent=True)
    buf = io.BytesIO()
    raw.seek(0)
    Image.open(raw).convert("LA").save(buf, format="PNG", optimize=True)  # grey and alpha: half of RGBA
    corners = gpd.GeoSeries(shapely.points([(west, south), (east, north)]), crs=3857).to_crs(4326)
    (lon0, lat0), (lon1, lat1) = shapely.get_coordinates(corners.values)
    uri = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    return uri, [[float(lat0), float(lon0)], [float(lat1), float(lon1)]]


def _category_label(code: str, lang: str) -> str:
    zh, en = CATEGORIES.get(code, (code, code))
    return en if lang == "en" else zh


@dataclass
class Layer:
    """One map layer, ready to draw: WGS-84 GeoJSON whose features carry their own style in ``_s``."""

    name: str
    data: dict
    style: dict = field(default_factory=dict)
    show: bool = True
    marker: dict | None = None  #: CircleMarker options for point layers
    tooltip: tuple[tuple[str, str], ...] = ()  #: (property, label) pairs
    attribution: str | None = None


@dataclass
class MapData:
    """Everything the map shows, as plain data (picklable: the app caches it per session)."""

    bounds: list[list[float]]  #: [[south, west], [north, east]]
    layers: list[Layer]
    legend: str  #: HTML
    #: a city's streets drawn as a picture: (PNG data URI, [[south, west], [north, east]]); None: drawn as lines
    street_image: tuple[str, list[list[float]]] | None = None


def _geojson(
    gdf: gpd.GeoDataFrame, *, simplify_m: float = 0.0, min_hole_m2: float = 0.0, style: list[dict] | None = None
) -> dict:
    if style is not None:  # before any split into parts: each part keeps its row's style
        gdf = gdf.assign(_s=style)
    out = _wgs84(gdf, simplify_m=simplify_m, min_hole_m2=min_hole_m2)
    # Ids of our own (0, 1, ...): folium would otherwise write them into the data, and MapData is shared read-only.
    return json.loads(out.reset_index(drop=True).to_json())


def map_data(
    result: CircleResult,
    network: StreetNetwork,
    *,
    lang: str = "zh",
    gap_cell_m: float = CELL_M,
    sites: gpd.GeoDataFrame | None = None,
    site_reach: gpd.GeoDataFrame | None = None,
) -> MapData:
    """The layers of a run: streets, the reach by band, facilities, residents, communities, gaps, sites.

    ``sites`` (and their ``site_reach``) replace the run's one suggested site,
    e.g. with the answer of a siting model.
    """
    minutes = result.summary["minutes"]
    layers: list[Layer] = []
    # Open on where people live and the facilities are, not the whole street extract.
    focus = np.concatenate([result.demand.geometry.values, result.facilities.geometry.values])
    west, south, east, north = gpd.GeoSeries(focus, crs=result.demand.crs).to_crs(4326).total_bounds
    city = len(network.edges) > CITY_EDGES  # a whole city: lighter drawing, so the page stays near 10 MB
    simplify_m = CITY_SIMPLIFY_M if city else 2.0
    holes_m2 = CITY_MIN_HOLE_M2 if city else 0.0
    street_image = None
    if city:  # the streets as one picture (offline too): a city's lines would weigh tens of MB
        street_image = street_picture(network)
    else:
        layers.append(
            Layer(
                t("streets", lang),
                _geojson(_street_lines(network), simplify_m=simplify_m),
                {"color": "#7f8c8d", "weight": 1, "opacity": 0.7},
                attribution=OSM_ATTRIBUTION,
            )
        )
    bands = sorted(result.reach[C.BAND_MIN].unique(), reverse=True)
    for i, band in enumerate(bands):  # widest first, so the nearer bands sit on top
        color = REACH_BAND_COLORS[min(len(bands) - 1 - i, len(REACH_BAND_COLORS) - 1)]
        layers.append(
            Layer(
                t("reach", lang, minutes=band),
                _geojson(
                    result.reach.loc[result.reach[C.BAND_MIN] == band, ["geometry"]],
                    simplify_m=simplify_m,
                    min_hole_m2=holes_m2,
                ),
                {"color": color, "weight": 1, "fillColor": color, "fillOpacity": 0.2},
            )
        )
    names = result.facilities[["name", "category"]]
    at_threshold = result.isochrones[result.isochrones[C.BAND_MIN] == minutes]
    each = at_threshold.merge(names, left_on=C.FACILITY_ID, right_index=True)
    each["category_label"] = [_category_label(c, lang) for c in each["category"]]
    tip = (("name", t("name", lang)), ("category_label", t("category", lang)))
    if len(each) <= MAX_EACH_REACH:  # hundreds of overlapping polygons say little and weigh much
        layers.append(
            Layer(
                t("reach_each", lang),
                _geojson(
                    each[["name", "category_label", "geometry"]],
                    simplify_m=simplify_m,
                    style=[{"color": CATEGORY_COLORS.get(c, REACH_COLOR)} for c in each["category"]],
                ),
                {"weight": 1, "fillOpacity": 0.05},
                show=False,
                tooltip=tip,
            )
        )
    split = result.catchments[result.catchments[C.BAND_MIN] == minutes]
    if len(split):
        split = split.merge(names, left_on=C.FACILITY_ID, right_index=True)
        split["category_label"] = [_category_label(c, lang) for c in split["category"]]
        layers.append(
            Layer(
                t("catchments", lang),
                _geojson(
                    split[["name", "category_label", "geometry"]],
                    simplify_m=2.0,
                    style=[{"fillColor": PALETTE[i % len(PALETTE)]} for i in range(len(split))],
                ),
                {"color": "#555", "weight": 1, "fillOpacity": 0.35},
                show=False,
                tooltip=(("name", t("nearest", lang)), ("category_label", t("category", lang))),
            )
        )
    for level, weight in (("district", 3.0), ("subdistrict", 1.5)):
        if level not in result.levels:
            continue
        units = result.levels[level]
        units = gpd.GeoDataFrame(
            {"name": units["name"], C.PCT_COVERED: units[C.PCT_COVERED].round(1)}, geometry=units.geometry
        )
        layers.append(
            Layer(
                t("units_layer", lang, level=LEVELS[level][1 if lang == "en" else 0]),
                _geojson(units, simplify_m=5.0),
                {"color": "#2c3e50", "weight": weight, "fill": False, **({"dashArray": "8 4"} if weight < 2 else {})},
                show=level == "district",
                tooltip=(("name", t("name", lang)), (C.PCT_COVERED, t("coverage_rate", lang) + " %")),
            )
        )
    if "community" in result.levels:
        comm = result.levels["community"]
        comm = gpd.GeoDataFrame(
            {"name": comm["name"], C.POP: comm[C.POP].round(0), C.PCT_COVERED: comm[C.PCT_COVERED].round(1)},
            geometry=comm.geometry,
        )
        layers.append(
            Layer(
                t("community_layer", lang),
                _geojson(comm, simplify_m=2.0, style=[{"fillColor": _rate_color(p)} for p in comm[C.PCT_COVERED]]),
                {"color": "#34495e", "weight": 1, "fillOpacity": 0.45},
                show=False,
                tooltip=(
                    ("name", t("name", lang)),
                    (C.POP, t("residents", lang)),
                    (C.PCT_COVERED, t("coverage_rate", lang) + " %"),
                ),
            )
        )
    if len(result.gaps):
        top = result.gaps.head(MAX_GAPS)  # ranked: the map shows the biggest, the tables and files hold all
        gaps = gpd.GeoDataFrame(
            {
                C.RANK: top[C.RANK],
                C.POP_UNCOVERED: top[C.POP_UNCOVERED].round(0),
                C.MINUTES: top[C.MINUTES].round(1),
            },
            geometry=top.geometry,
        )
        name = t("gaps", lang, cell=gap_cell_m)
        if len(result.gaps) > MAX_GAPS:
            name += " " + t("top_n", lang, n=MAX_GAPS, total=len(result.gaps))
        layers.append(
            Layer(
                name,
                _geojson(gaps),
                {"color": GAP_COLOR, "weight": 2, "fillColor": GAP_COLOR, "fillOpacity": 0.15},
                tooltip=(
                    (C.RANK, t("rank", lang)),
                    (C.POP_UNCOVERED, t("uncovered", lang)),
                    (C.MINUTES, t("walk_minutes", lang)),
                ),
            )
        )
    many = len(result.demand) > MAX_POINTS
    hex_m = 2 * HEX_M if many else HEX_M  # a city's hexagons 1 km across: a few thousand cells
    cells = hex_coverage(result.demand, size_m=hex_m)
    cells = gpd.GeoDataFrame(
        {
            C.POP: cells[C.POP].round(0),
            C.POP_UNCOVERED: cells[C.POP_UNCOVERED].round(0),
            C.PCT_COVERED: cells[C.PCT_COVERED].round(1),
        },
        geometry=cells.geometry,
    )
    layers.append(
        Layer(
            t("hex_layer", lang, size=2 * hex_m),
            _geojson(cells, style=[{"fillColor": _rate_color(p)} for p in cells[C.PCT_COVERED]]),
            {"color": "#555", "weight": 0.5, "fillOpacity": 0.5},
            show=many,
            tooltip=(
                (C.POP, t("residents", lang)),
                (C.POP_UNCOVERED, t("uncovered", lang)),
                (C.PCT_COVERED, t("coverage_rate", lang) + " %"),
            ),
        )
    )
    if not many:  # a whole city's points would make the page too heavy: the hexagons stand for them
        covered = result.demand[C.COVERED]
        layers += _points_layer(
            result.demand.loc[~covered], t("residents_uncovered", lang), UNCOVERED_COLOR, lang, True
        )
        layers += _points_layer(result.demand.loc[covered], t("residents_covered", lang), "#95a5a6", lang, False)
    fac = result.facilities.assign(category_label=[_category_label(c, lang) for c in result.facilities["category"]])
    for code in CATEGORIES:
        sub = fac[fac["category"] == code]
        if sub.empty:
            continue
        layers.append(
            Layer(
                f"{t('facilities', lang)}: {_category_label(code, lang)}",
                _geojson(sub[["name", "category_label", "geometry"]]),
                marker={
                    "radius": 7,
                    "weight": 2,
                    "color": "white",
                    "fill": True,
                    "fill_color": CATEGORY_COLORS[code],
                    "fill_opacity": 1.0,
                },
                tooltip=tip,
            )
        )
    if site_reach is not None and len(site_reach):
        layers.append(
            Layer(
                t("site_reach", lang),
                _geojson(site_reach[["geometry"]], simplify_m=2.0),
                {"color": SITE_COLOR, "weight": 2, "dashArray": "6 4", "fillOpacity": 0.08},
            )
        )
    sites = result.sites if sites is None else sites
    if len(sites):
        shown = gpd.GeoDataFrame(
            {"site_id": sites["site_id"], C.POP_NEW: sites[C.POP_NEW].round(0), C.MINUTES: sites[C.MINUTES].round(1)},
            geometry=sites.geometry,
        )
        layers.append(
            Layer(
                t("sites", lang),
                _geojson(shown),
                marker={
                    "radius": 11,
                    "weight": 4,
                    "color": "#1b2631",
                    "fill": True,
                    "fill_color": SITE_COLOR,
                    "fill_opacity": 1.0,
                },
                tooltip=(
                    ("site_id", "ID"),
                    (C.POP_NEW, t("new_covered", lang)),
                    (C.MINUTES, t("walk_minutes", lang)),
                ),
            )
        )
    legend = _legend_html(lang, sorted(result.reach[C.BAND_MIN].unique()), gap_cell_m, points=not many)
    return MapData(
        bounds=[[float(south), float(west)], [float(north), float(east)]],
        layers=layers,
        legend=legend,
        street_image=street_image,
    )


def _styled(static: dict) -> Callable[[dict], dict]:
    return lambda feature: {**static, **feature["properties"].get("_s", {})}


def _add_layer(parent: folium.Map | folium.FeatureGroup, layer: Layer) -> None:
    tooltip = (
        folium.GeoJsonTooltip([f for f, _ in layer.tooltip], aliases=[a for _, a in layer.tooltip])
        if layer.tooltip
        else None
    )
    folium.GeoJson(
        layer.data,
        name=layer.name,
        show=layer.show,
        style_function=_styled(layer.style),
        marker=folium.CircleMarker(**layer.marker) if layer.marker else None,
        tooltip=tooltip,
        attribution=layer.attribution,
    ).add_to(parent)


def draw_map(data: MapData, *, basemap: str = "none", tianditu_key: str = "") -> folium.Map:
    """The folium map of ``data``; ``basemap`` "none" (the streets are the base), "osm" or "tianditu" (with a key)."""
    m = OfflineMap(tiles=None, prefer_canvas=True, zoom_control=True)
    _MetricScale().add_to(m)
    m.fit_bounds(data.bounds)
    if basemap == "osm":
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap", attr=OSM_ATTRIBUTION).add_to(m)
    elif basemap == "tianditu" and tianditu_key.strip():
        key = re.sub(r"[^0-9A-Za-z]", "", tianditu_key)  # a key is hex: nothing else reaches the URL
        for layer, name in (("vec", "天地图 Tianditu"), ("cva", "天地图注记 Tianditu labels")):
            folium.TileLayer(
                TIANDITU_URL.format(layer=layer, key=key),
                name=name,
                attr=TIANDITU_ATTRIBUTION,
                subdomains="01234567",
                max_zoom=18,
                overlay=layer == "cva",
            ).add_to(m)
    if data.street_image is not None:
        uri, bounds = data.street_image
        folium.raster_layers.ImageOverlay(
            uri, bounds=bounds, name=STREETS_NAME, opacity=0.8, attr=OSM_ATTRIBUTION, zindex=1
        ).add_to(m)
    for layer in data.layers:
        _add_layer(m, layer)
    folium.LayerControl(collapsed=True).add_to(m)  # open on hover: the map stays visible
    m.get_root().html.add_child(Element(data.legend))
    return m


def build_map(
    result: CircleResult,
    network: StreetNetwork,
    *,
    lang: str = "zh",
    basemap: bool | str = False,
    gap_cell_m: float = CELL_M,
    sites: gpd.GeoDataFrame | None = None,
    site_reach: gpd.GeoDataFrame | None = None,
    tianditu_key: str = "",
) -> folium.Map:
    """Draw a run (``map_data`` then ``draw_map``); ``basemap=True`` means OSM tiles.

    Examples
    --------
    >>> from geo import load_sample
    >>> from analysis import run_circle
    >>> net, fac, dem = load_sample()
    >>> m = build_map(run_circle(net, fac, dem), net)
    >>> "cdn." in map_html(m)
    False
    """
    data = map_data(result, network, lang=lang, gap_cell_m=gap_cell_m, sites=sites, site_reach=site_reach)
    base = ("osm" if basemap else "none") if isinstance(basemap, bool) else basemap
    return draw_map(data, basemap=base, tianditu_key=tianditu_key)


def scenario_layer(
    facilities: gpd.GeoDataFrame, closed: gpd.GeoDataFrame, reach: gpd.GeoDataFrame, lang: str = "zh"
) -> folium.FeatureGroup:
    """The planner's changes, drawn over the map: new and moved centres, their reach, closed centres."""
    group = folium.FeatureGroup(name=t("scenario", lang))
    if len(reach):
        _add_layer(
            group,
            Layer(
                t("scenario_reach", lang),
                _geojson(reach[["geometry"]], simplify_m=2.0),
                {
                    "color": SCENARIO_COLOR,
                    "weight": 2,
                    "dashArray": "6 4",
                    "fillColor": SCENARIO_COLOR,
                    "fillOpacity": 0.12,
                },
            ),
        )
    changed = facilities[facilities["change"] != ""]
    if len(changed):
        shown = gpd.GeoDataFrame(
            {"name": changed["name"], "what": [t(f"change_{c}", lang) for c in changed["change"]]},
            geometry=changed.geometry,
        )
        _add_layer(
            group,
            Layer(
                t("scenario", lang),
                _geojson(shown),
                marker={
                    "radius": 10,
                    "weight": 4,
                    "color": "#111",
                    "fill": True,
                    "fill_color": SCENARIO_COLOR,
                    "fill_opacity": 1.0,
                },
                tooltip=(("name", t("name", lang)), ("what", t("change", lang))),
            ),
        )
    if len(closed):
        shown = gpd.GeoDataFrame({"name": closed["name"], "what": t("change_close", lang)}, geometry=closed.geometry)
        _add_layer(
            group,
            Layer(
                t("change_close", lang),
                _geojson(shown),
                marker={
                    "radius": 8,
                    "weight": 3,
                    "color": "#111",
                    "fill": True,
                    "fill_color": "#bdc3c7",
                    "fill_opacity": 1.0,
                    "dash_array": "2 3",
                },
                tooltip=(("name", t("name", lang)), ("what", t("change", lang))),
            ),
        )
    return group


def _rate_color(pct: float | None) -> str:
    """Red (0%) through amber to green (100%); grey where no one lives."""
    if pct is None or pct != pct:
        return "#bdc3c7"
    stops = [(0, "#c0392b"), (50, "#e67e22"), (90, "#f1c40f"), (100, "#27ae60")]
    return next(color for bound, color in reversed(stops) if pct >= bound)


def _points_layer(demand: gpd.GeoDataFrame, name: str, color: str, lang: str, show: bool) -> list[Layer]:
    if demand.empty:
        return []
    pts = gpd.GeoDataFrame(
        {C.POP: demand[C.POP].round(0), C.MINUTES: demand[C.MINUTES].round(1)}, geometry=demand.geometry
    )
    radius = np.clip(2 + np.sqrt(demand[C.POP].to_numpy()) / 2.5, 2, 12).round(1)
    return [
        Layer(
            name,
            _geojson(pts, style=[{"radius": float(r)} for r in radius]),
            show=show,
            marker={"weight": 1, "color": color, "fill": True, "fill_color": color, "fill_opacity": 0.6},
            tooltip=((C.POP, t("residents", lang)), (C.MINUTES, t("walk_minutes", lang))),
        )
    ]


def _legend_html(lang: str, bands: list[float], gap_cell_m: float, *, points: bool = True) -> str:
    rows = [(CATEGORY_COLORS[c], "circle", _category_label(c, lang)) for c in CATEGORIES]
    rows += [
        *(
            (REACH_BAND_COLORS[min(i, len(REACH_BAND_COLORS) - 1)], "square", t("reach", lang, minutes=b))
            for i, b in enumerate(bands)
        ),
        *([(UNCOVERED_COLOR, "circle", t("residents_uncovered", lang))] if points else []),
        (GAP_COLOR, "square", t("gaps", lang, cell=gap_cell_m)),
        (SITE_COLOR, "ring", t("sites", lang)),
        (SCENARIO_COLOR, "ring", t("scenario", lang)),
    ]
    shape = {
        "circle": "border-radius:50%",
        "square": "opacity:.6",
        "ring": "border-radius:50%;outline:3px solid #1b2631",
    }
    items = "".join(
        f'<div><span style="display:inline-block;width:12px;height:12px;margin-right:6px;'
        f'background:{color};{shape[kind]}"></span>{html.escape(label)}</div>'
        for color, kind, label in rows
    )
    return (
        '<div style="position:fixed;bottom:24px;right:12px;z-index:1000;background:rgba(255,255,255,.92);'
        'padding:8px 10px;border-radius:4px;font:12px sans-serif;box-shadow:0 1px 4px rgba(0,0,0,.3)">'
        f"<b>{html.escape(t('legend', lang))}</b>{items}</div>"
    )


def map_html(m: folium.Map) -> str:
    """The map as one self-contained HTML page."""
    return m.get_root().render()
