"""The coverage map: one folium.Map, self-contained, drawn with no host but its own.

``map_data`` turns a run into plain data (``MapData``: layers of WGS-84
GeoJSON, a legend from ``quarterhour.render.legend``), one builder per layer
(``quarterhour.render.maplayers``);
``draw_map`` draws it with folium on an ``OfflineMap`` (``quarterhour.render.leaflet``:
Leaflet inlined, nothing fetched from any host). The default base layer is the
street network itself; the OSM and 天地图 tile basemaps are opt-in.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import folium
import geopandas as gpd
import numpy as np
from branca.element import Element

from analysis import columns as C
from analysis.gaps import CELL_M
from analysis.pipeline import CircleResult
from geo.network import StreetNetwork
from quarterhour.i18n import both, t
from quarterhour.render.leaflet import OSM_ATTRIBUTION, MetricScale, OfflineMap, add_basemap
from quarterhour.render.legend import legend_html
from quarterhour.render.maplayers import (
    Layer,
    catchment_layers,
    community_layers,
    each_reach_layers,
    facility_layers,
    gap_layers,
    hex_layers,
    reach_layers,
    resident_layers,
    site_layers,
    site_reach_layers,
    street_layers,
    unit_layers,
)
from quarterhour.render.palette import CLOSED_COLOR, SCENARIO_COLOR, SCENARIO_EDGE_COLOR
from quarterhour.render.webgeo import geojson, street_picture

__all__ = [
    "Layer",
    "MapData",
    "OfflineMap",
    "build_map",
    "draw_map",
    "layer_group",
    "map_data",
    "map_html",
    "scenario_layer",
    "street_picture",
]

MAX_POINTS = 5_000  #: more resident points than this are shown as hexagons only (page size)
CITY_EDGES = 40_000  #: more directed street segments: a city, drawn lighter (streets as a picture, coarser lines)
CITY_SIMPLIFY_M = 8.0  #: how far a city's isochrone outlines may move when simplified, metres
CITY_MIN_HOLE_M2 = 10_000.0  #: a city's reach drawn without its holes under 1 ha (block interiors)
STREETS_NAME = both("streets")  #: the layer name of a city's streets drawn as a picture


@dataclass
class MapData:
    """Everything the map shows, as plain data (picklable: the app caches it per session)."""

    bounds: list[list[float]]  #: [[south, west], [north, east]]
    layers: list[Layer]
    legend: str  #: HTML
    #: a city's streets drawn as a picture: (PNG data URI, [[south, west], [north, east]]); None: drawn as lines
    street_image: tuple[str, list[list[float]]] | None = None
    #: names this map's layers for caches of what is drawn from them (``ui.mapview``): new for every ``map_data``
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    #: the credit of the streets' source (HTML): OpenStreetMap's unless the network came from elsewhere
    streets_credit: str = OSM_ATTRIBUTION


def _focus(result: CircleResult) -> list[list[float]]:
    """Where people live and the facilities are (not the whole street extract), as [[south, west], [north, east]]."""
    focus = np.concatenate([result.demand.geometry.values, result.facilities.geometry.values])
    west, south, east, north = gpd.GeoSeries(focus, crs=result.demand.crs).to_crs(4326).total_bounds
    return [[float(south), float(west)], [float(north), float(east)]]


def map_data(
    result: CircleResult,
    network: StreetNetwork,
    *,
    lang: str = "zh",
    gap_cell_m: float = CELL_M,
    sites: gpd.GeoDataFrame | None = None,
    site_reach: gpd.GeoDataFrame | None = None,
    streets_credit: str = OSM_ATTRIBUTION,
) -> MapData:
    """The layers of a run: streets, the reach by band, facilities, residents, communities, gaps, sites.

    Parameters
    ----------
    result
        The run (``analysis.pipeline.run_circle``).
    network
        The street network the run was made on; above ``CITY_EDGES`` edges its
        streets become one picture and the shapes are simplified more.
    lang
        The layers' and the legend's language, ``"zh"`` or ``"en"``.
    gap_cell_m
        The side of the gap grid's cells (metres), as the run used; the legend says it.
    sites, site_reach
        Suggested sites and their reach (e.g. a siting model's answer), drawn
        instead of the run's one suggested site; None for the run's.
    streets_credit
        The credit of the streets' source (HTML), shown on the map: OpenStreetMap's by default.

    Returns
    -------
    MapData
        The bounds, the layers in drawing order, the legend, and the street picture of a city.
    """
    city = len(network.edges) > CITY_EDGES  # a whole city: lighter drawing, so the page stays near 10 MB
    many = len(result.demand) > MAX_POINTS  # a whole city's points: the hexagons stand for them
    simplify_m = CITY_SIMPLIFY_M if city else 2.0
    layers = [
        # a city's streets as one picture (offline too, see street_image): its lines would weigh tens of MB
        *([] if city else street_layers(network, lang, simplify_m=simplify_m, attribution=streets_credit)),
        *reach_layers(result, lang, simplify_m=simplify_m, min_hole_m2=CITY_MIN_HOLE_M2 if city else 0.0),
        *each_reach_layers(result, lang, simplify_m=simplify_m),
        *catchment_layers(result, lang),
        *unit_layers(result, lang),
        *community_layers(result, lang),
        *gap_layers(result, lang, gap_cell_m=gap_cell_m),
        *hex_layers(result, lang, many=many),
        *([] if many else resident_layers(result, lang)),
        *facility_layers(result, lang),
        *site_reach_layers(site_reach, lang),
        *site_layers(result.sites if sites is None else sites, lang),
    ]
    return MapData(
        bounds=_focus(result),
        layers=layers,
        legend=legend_html(
            lang, sorted(result.reach[C.BAND_MIN].unique()), gap_cell_m, points=not many, ys=result.summary.yardstick
        ),
        street_image=street_picture(network) if city else None,
        streets_credit=streets_credit,
    )


def with_sites(
    data: MapData, result: CircleResult, sites: gpd.GeoDataFrame, site_reach: gpd.GeoDataFrame | None, *, lang: str
) -> MapData:
    """``data`` (``map_data`` of ``result``, no sites given) with ``sites`` and their reach in place of the run's site.

    The same layers as ``map_data(result, ..., sites=sites, site_reach=site_reach)``, the rest taken as they are
    (at city scale remaking them took a second or more of the siting panel's time); a new token, as a new map.

    Parameters
    ----------
    data
        ``map_data`` of ``result`` with no sites given.
    result
        The run it was made of.
    sites, site_reach
        Suggested sites and their reach (a siting model's answer).
    lang
        The layers' language, as ``data``'s.

    Returns
    -------
    MapData
        The map with the suggested sites.
    """
    own = len(site_layers(result.sites, lang))  # the run's own suggested site: the last layers, with no reach
    kept = data.layers[: len(data.layers) - own]
    layers = [*kept, *site_reach_layers(site_reach, lang), *site_layers(sites, lang)]
    return replace(data, layers=layers, token=uuid.uuid4().hex)


def _styled(static: dict) -> Callable[[dict], dict]:
    return lambda feature: {**static, **feature["properties"].get("_s", {})}


def _add_layer(parent: folium.Map | folium.FeatureGroup, layer: Layer) -> None:
    tooltip = (
        folium.GeoJsonTooltip([f for f, _ in layer.tooltip], aliases=[a for _, a in layer.tooltip])
        if layer.tooltip and layer.data.get("features")  # folium refuses a tooltip on an empty layer
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


def layer_group(layer: Layer) -> folium.FeatureGroup:
    """``layer`` alone in a feature group of its name, drawn as ``draw_map`` draws it (an overlay of a kept map)."""
    group = folium.FeatureGroup(name=layer.name, show=layer.show)
    _add_layer(group, layer)
    return group


def draw_map(data: MapData, *, basemap: str = "none", tianditu_key: str = "") -> folium.Map:
    """The folium map of ``data``, working offline.

    Parameters
    ----------
    data
        The layers (``map_data``).
    basemap
        ``"none"`` (the streets are the base), ``"osm"`` or ``"tianditu"``.
    tianditu_key
        The 天地图 key, for ``basemap="tianditu"``.
    """
    m = OfflineMap(tiles=None, prefer_canvas=True, zoom_control=True)
    MetricScale().add_to(m)
    m.fit_bounds(data.bounds)
    add_basemap(m, basemap, tianditu_key)
    if data.street_image is not None:
        uri, bounds = data.street_image
        folium.raster_layers.ImageOverlay(
            uri, bounds=bounds, name=STREETS_NAME, opacity=0.8, attr=data.streets_credit, zindex=1
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
    """Draw a run (``map_data`` then ``draw_map``).

    Parameters
    ----------
    result, network
        The run and its street network.
    lang
        The labels' language, ``"zh"`` or ``"en"``.
    basemap
        ``"none"``, ``"osm"`` or ``"tianditu"``; ``True`` means ``"osm"``, ``False`` ``"none"``.
    gap_cell_m
        The side of the gap grid's cells (metres).
    sites, site_reach
        Suggested sites and their reach, drawn instead of the run's one suggested site.
    tianditu_key
        The 天地图 key, for ``basemap="tianditu"``.

    Returns
    -------
    folium.Map
        The map, working offline (``map_html`` writes it as one page).

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
    """The planner's changes, drawn over the map: new and moved centres, their reach, closed centres.

    Parameters
    ----------
    facilities
        The facilities after the changes, with ``change`` (``add``, ``move`` or empty).
    closed
        The centres closed.
    reach
        The reach of the new and moved centres.
    lang
        The layer's language, ``"zh"`` or ``"en"``.
    """
    group = folium.FeatureGroup(name=t("scenario", lang))
    if len(reach):
        _add_layer(
            group,
            Layer(
                t("scenario_reach", lang),
                geojson(reach[["geometry"]], simplify_m=2.0),
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
                geojson(shown),
                marker={
                    "radius": 10,
                    "weight": 4,
                    "color": SCENARIO_EDGE_COLOR,
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
                geojson(shown),
                marker={
                    "radius": 8,
                    "weight": 3,
                    "color": SCENARIO_EDGE_COLOR,
                    "fill": True,
                    "fill_color": CLOSED_COLOR,
                    "fill_opacity": 1.0,
                    "dash_array": "2 3",
                },
                tooltip=(("name", t("name", lang)), ("what", t("change", lang))),
            ),
        )
    return group


def map_html(m: folium.Map) -> str:
    """The map as one self-contained HTML page."""
    return m.get_root().render()
