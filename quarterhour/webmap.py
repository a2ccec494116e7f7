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
import re
from functools import cache
from pathlib import Path
from typing import ClassVar

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import Element, MacroElement
from jinja2 import Template

from analysis import columns as C
from analysis.gaps import CELL_M
from analysis.pipeline import CircleResult
from geo.io import CATEGORIES
from geo.network import StreetNetwork
from quarterhour.i18n import t

__all__ = ["CATEGORY_COLORS", "OfflineMap", "build_map", "map_html"]

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


class OfflineMap(folium.Map):
    """A folium.Map that references no CDN: Leaflet is inlined into the page header."""

    default_js: ClassVar[list[tuple[str, str]]] = []
    default_css: ClassVar[list[tuple[str, str]]] = []

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        js, css = _leaflet_assets()
        header = self.get_root().header
        header.add_child(Element(f"<style>{css}</style>"), name="leaflet_css_inline")
        header.add_child(Element(f"<script>{js}</script>"), name="leaflet_js_inline")


class _MetricScale(MacroElement):
    """A scale bar in metres only (folium's ``control_scale`` adds feet and miles)."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "L.control.scale({imperial: false, maxWidth: 160}).addTo({{ this._parent.get_name() }});"
        "{% endmacro %}"
    )


@cache
def _leaflet_assets() -> tuple[str, str]:
    js = (ASSETS / "leaflet.js").read_text(encoding="utf-8")
    css = (ASSETS / "leaflet.css").read_text(encoding="utf-8")

    def data_uri(match: re.Match[str]) -> str:
        data = base64.b64encode((ASSETS / match.group(1)).read_bytes()).decode()
        return f"url(data:image/png;base64,{data})"

    return js, re.sub(r"url\((images/[\w.-]+\.png)\)", data_uri, css)


def _wgs84(gdf: gpd.GeoDataFrame, *, simplify_m: float = 0.0) -> gpd.GeoDataFrame:
    """Simplify in metres, then reproject to lon/lat rounded to ~0.1 m (smaller pages)."""
    geoms = gdf.geometry
    if simplify_m:
        geoms = geoms.simplify(simplify_m)
    out = gdf.set_geometry(geoms).to_crs(4326)
    # Tooltips put property values into the page as HTML: names from planners' files are escaped first.
    for col in out.drop(columns=out.geometry.name).select_dtypes(include=["object", "string"]).columns:
        out[col] = out[col].map(lambda v: html.escape(v) if isinstance(v, str) else v)
    return out.set_geometry(shapely.set_precision(out.geometry.values, 1e-6))


def _category_label(code: str, lang: str) -> str:
    zh, en = CATEGORIES.get(code, (code, code))
    return en if lang == "en" else zh


def build_map(
    result: CircleResult,
    network: StreetNetwork,
    *,
    lang: str = "zh",
    basemap: bool = False,
    gap_cell_m: float = CELL_M,
    sites: gpd.GeoDataFrame | None = None,
    site_reach: gpd.GeoDataFrame | None = None,
) -> folium.Map:
    """Draw a run: streets, the combined reach, facilities, uncovered residents, gaps, the suggested site.

    ``sites`` (and their ``site_reach``) replace the run's one suggested site,
    e.g. with the answer of a siting model.

    Examples
    --------
    >>> from geo import load_sample
    >>> from analysis import run_circle
    >>> net, fac, dem = load_sample()
    >>> m = build_map(run_circle(net, fac, dem), net)
    >>> "cdn." in map_html(m)
    False
    """
    minutes = result.summary["minutes"]
    streets = _wgs84(network.edges[["geometry"]], simplify_m=2.0)
    # Open on where people live and the facilities are, not the whole street extract.
    focus = np.concatenate([result.demand.geometry.values, result.facilities.geometry.values])
    west, south, east, north = gpd.GeoSeries(focus, crs=result.demand.crs).to_crs(4326).total_bounds
    m = OfflineMap(tiles=None, prefer_canvas=True, zoom_control=True)
    _MetricScale().add_to(m)
    m.fit_bounds([[south, west], [north, east]])
    if basemap:
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap", attr=OSM_ATTRIBUTION).add_to(m)
    folium.GeoJson(
        streets,
        name=t("streets", lang),
        control=True,
        style_function=lambda _: {"color": "#7f8c8d", "weight": 1, "opacity": 0.7},
        attribution=OSM_ATTRIBUTION,
    ).add_to(m)
    bands = sorted(result.reach[C.BAND_MIN].unique(), reverse=True)
    for i, band in enumerate(bands):  # widest first, so the nearer bands sit on top
        color = REACH_BAND_COLORS[min(len(bands) - 1 - i, len(REACH_BAND_COLORS) - 1)]
        folium.GeoJson(
            _wgs84(result.reach.loc[result.reach[C.BAND_MIN] == band], simplify_m=2.0),
            name=t("reach", lang, minutes=band),
            style_function=lambda _, c=color: {"color": c, "weight": 1, "fillColor": c, "fillOpacity": 0.2},
        ).add_to(m)
    names = result.facilities[["name", "category"]]
    at_threshold = result.isochrones[result.isochrones[C.BAND_MIN] == minutes]
    each = at_threshold.merge(names, left_on=C.FACILITY_ID, right_index=True)
    each["category_label"] = [_category_label(c, lang) for c in each["category"]]
    folium.GeoJson(
        _wgs84(each, simplify_m=2.0),
        name=t("reach_each", lang),
        show=False,
        style_function=lambda f: {
            "color": CATEGORY_COLORS.get(f["properties"]["category"], REACH_COLOR),
            "weight": 1,
            "fillOpacity": 0.05,
        },
        tooltip=folium.GeoJsonTooltip(["name", "category_label"], aliases=[t("name", lang), t("category", lang)]),
    ).add_to(m)
    split = result.catchments[result.catchments[C.BAND_MIN] == minutes]
    if len(split):
        split = split.merge(names, left_on=C.FACILITY_ID, right_index=True)
        split["category_label"] = [_category_label(c, lang) for c in split["category"]]
        split["color"] = [PALETTE[i % len(PALETTE)] for i in range(len(split))]
        folium.GeoJson(
            _wgs84(split, simplify_m=2.0),
            name=t("catchments", lang),
            show=False,
            style_function=lambda f: {
                "color": "#555",
                "weight": 1,
                "fillColor": f["properties"]["color"],
                "fillOpacity": 0.35,
            },
            tooltip=folium.GeoJsonTooltip(
                ["name", "category_label"], aliases=[t("nearest", lang), t("category", lang)]
            ),
        ).add_to(m)
    if "community" in result.levels:
        comm = result.levels["community"][["name", C.POP, C.PCT_COVERED, "geometry"]].assign(
            **{C.POP: lambda d: d[C.POP].round(0), C.PCT_COVERED: lambda d: d[C.PCT_COVERED].round(1)}
        )
        folium.GeoJson(
            _wgs84(comm, simplify_m=2.0),
            name=t("community_layer", lang),
            show=False,
            style_function=lambda f: {
                "color": "#34495e",
                "weight": 1,
                "fillColor": _rate_color(f["properties"][C.PCT_COVERED]),
                "fillOpacity": 0.45,
            },
            tooltip=folium.GeoJsonTooltip(
                ["name", C.POP, C.PCT_COVERED],
                aliases=[t("name", lang), t("residents", lang), t("coverage_rate", lang) + " %"],
            ),
        ).add_to(m)
    if len(result.gaps):
        gaps = result.gaps.assign(
            pop_uncovered=result.gaps[C.POP_UNCOVERED].round(0), minutes=result.gaps[C.MINUTES].round(1)
        )
        folium.GeoJson(
            _wgs84(gaps),
            name=t("gaps", lang, cell=gap_cell_m),
            style_function=lambda _: {"color": GAP_COLOR, "weight": 2, "fillColor": GAP_COLOR, "fillOpacity": 0.15},
            tooltip=folium.GeoJsonTooltip(
                [C.RANK, C.POP_UNCOVERED, C.MINUTES],
                aliases=[t("rank", lang), t("uncovered", lang), t("walk_minutes", lang)],
            ),
        ).add_to(m)
    _points_layer(
        m,
        result.demand.loc[~result.demand[C.COVERED]],
        t("residents_uncovered", lang),
        UNCOVERED_COLOR,
        lang,
        show=True,
    )
    _points_layer(
        m, result.demand.loc[result.demand[C.COVERED]], t("residents_covered", lang), "#95a5a6", lang, show=False
    )
    fac = result.facilities.assign(category_label=[_category_label(c, lang) for c in result.facilities["category"]])
    for code in CATEGORIES:
        sub = fac[fac["category"] == code]
        if sub.empty:
            continue
        folium.GeoJson(
            _wgs84(sub[["name", "category_label", "geometry"]]),
            name=f"{t('facilities', lang)}: {_category_label(code, lang)}",
            marker=folium.CircleMarker(
                radius=7, weight=2, color="white", fill=True, fill_color=CATEGORY_COLORS[code], fill_opacity=1.0
            ),
            tooltip=folium.GeoJsonTooltip(["name", "category_label"], aliases=[t("name", lang), t("category", lang)]),
        ).add_to(m)
    if site_reach is not None and len(site_reach):
        folium.GeoJson(
            _wgs84(site_reach[["geometry"]], simplify_m=2.0),
            name=t("site_reach", lang),
            style_function=lambda _: {"color": SITE_COLOR, "weight": 2, "dashArray": "6 4", "fillOpacity": 0.08},
        ).add_to(m)
    sites = result.sites if sites is None else sites
    if len(sites):
        sites = sites.assign(pop_new=sites[C.POP_NEW].round(0), minutes=sites[C.MINUTES].round(1))
        folium.GeoJson(
            _wgs84(sites[["site_id", C.POP_NEW, C.MINUTES, "geometry"]]),
            name=t("sites", lang),
            marker=folium.CircleMarker(
                radius=11, weight=4, color="#1b2631", fill=True, fill_color=SITE_COLOR, fill_opacity=1.0
            ),
            tooltip=folium.GeoJsonTooltip(
                ["site_id", C.POP_NEW, C.MINUTES], aliases=["ID", t("new_covered", lang), t("walk_minutes", lang)]
            ),
        ).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)  # open on hover: the map stays visible
    m.get_root().html.add_child(Element(_legend_html(lang, sorted(result.reach[C.BAND_MIN].unique()), gap_cell_m)))
    return m


def _rate_color(pct: float | None) -> str:
    """Red (0%) through amber to green (100%); grey where no one lives."""
    if pct is None or pct != pct:
        return "#bdc3c7"
    stops = [(0, "#c0392b"), (50, "#e67e22"), (90, "#f1c40f"), (100, "#27ae60")]
    return next(color for bound, color in reversed(stops) if pct >= bound)


def _points_layer(m: folium.Map, demand: gpd.GeoDataFrame, name: str, color: str, lang: str, *, show: bool) -> None:
    if demand.empty:
        return
    pts = demand[[C.POP, C.MINUTES, "geometry"]].assign(
        pop=demand[C.POP].round(0),
        minutes=demand[C.MINUTES].round(1),
        radius=np.clip(2 + np.sqrt(demand[C.POP].to_numpy()) / 2.5, 2, 12).round(1),
    )
    folium.GeoJson(
        _wgs84(pts),
        name=name,
        show=show,
        marker=folium.CircleMarker(weight=1, color=color, fill=True, fill_color=color, fill_opacity=0.6),
        style_function=lambda f: {"radius": f["properties"]["radius"]},
        tooltip=folium.GeoJsonTooltip([C.POP, C.MINUTES], aliases=[t("residents", lang), t("walk_minutes", lang)]),
    ).add_to(m)


def _legend_html(lang: str, bands: list[float], gap_cell_m: float) -> str:
    rows = [(CATEGORY_COLORS[c], "circle", _category_label(c, lang)) for c in CATEGORIES]
    rows += [
        *(
            (REACH_BAND_COLORS[min(i, len(REACH_BAND_COLORS) - 1)], "square", t("reach", lang, minutes=b))
            for i, b in enumerate(bands)
        ),
        (UNCOVERED_COLOR, "circle", t("residents_uncovered", lang)),
        (GAP_COLOR, "square", t("gaps", lang, cell=gap_cell_m)),
        (SITE_COLOR, "ring", t("sites", lang)),
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
