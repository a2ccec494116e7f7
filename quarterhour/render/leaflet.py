"""Offline Leaflet for folium: the vendored Leaflet as data URIs, a metric scale bar, the tile basemaps.

folium loads Leaflet, jQuery, Bootstrap and Font Awesome from public CDNs by
default; offline or on an intranet the map then stays blank. ``OfflineMap``
loads none of them and inlines the Leaflet 1.9.4 files vendored in
``assets/leaflet`` (from the npm registry), images as data URIs. Tile basemaps
(OpenStreetMap, 天地图) are opt-in: ``add_basemap``.
"""

from __future__ import annotations

import base64
import re
from functools import cache
from pathlib import Path
from typing import ClassVar

import folium
from branca.element import MacroElement
from jinja2 import Template

__all__ = [
    "ASSETS",
    "OSM_ATTRIBUTION",
    "TIANDITU_ATTRIBUTION",
    "TIANDITU_URL",
    "MetricScale",
    "OfflineMap",
    "add_basemap",
]

ASSETS = Path(__file__).resolve().parent.parent / "assets" / "leaflet"
OSM_ATTRIBUTION = '© <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
#: 天地图 web-Mercator tiles (CGCS2000, i.e. WGS-84 to within a metre: no GCJ-02 shift); the planner brings the key.
TIANDITU_URL = (
    "https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}"
    "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
)
TIANDITU_ATTRIBUTION = '© <a href="https://www.tianditu.gov.cn">天地图</a> 国家地理信息公共服务平台'
#: 天地图's two tile layers: the map, and its labels drawn over it.
_TIANDITU_LAYERS = (("vec", "天地图 Tianditu"), ("cva", "天地图注记 Tianditu labels"))


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


class MetricScale(MacroElement):
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


def add_basemap(m: folium.Map, basemap: str, tianditu_key: str = "") -> None:
    """Add the tile basemap ``basemap`` to ``m``: "osm", "tianditu" (with a key) or "none" (nothing added).

    Parameters
    ----------
    m
        The map.
    basemap
        ``"none"``, ``"osm"`` or ``"tianditu"``.
    tianditu_key
        The planner's 天地图 browser key; without one no 天地图 tiles are added.
    """
    if basemap == "osm":
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap", attr=OSM_ATTRIBUTION).add_to(m)
    elif basemap == "tianditu" and tianditu_key.strip():
        key = re.sub(r"[^0-9A-Za-z]", "", tianditu_key)  # a key is hex: nothing else reaches the URL
        for layer, name in _TIANDITU_LAYERS:
            folium.TileLayer(
                TIANDITU_URL.format(layer=layer, key=key),
                name=name,
                attr=TIANDITU_ATTRIBUTION,
                subdomains="01234567",
                max_zoom=18,
                overlay=layer == "cva",
            ).add_to(m)
