"""The web map's layers, one builder each: what a run shows, as plain data ready to draw.

Each builder takes the run (or its part) and the language and returns a list of
``Layer``s (empty when there is nothing to show); ``quarterhour.render.webmap.map_data``
calls them in drawing order, bottom first. Colours come from
``quarterhour.render.palette``, words from ``quarterhour.i18n``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np

from analysis import columns as C
from analysis.hexgrid import HEX_M, hex_coverage
from analysis.pipeline import CircleResult
from geo.network import StreetNetwork
from geo.vocab import CATEGORIES
from quarterhour.i18n import category_name, level_name, reach_name, t
from quarterhour.render.leaflet import OSM_ATTRIBUTION
from quarterhour.render.palette import (
    BOUNDARY_COLOR,
    CATCHMENT_COLORS,
    CATEGORY_COLORS,
    COMMUNITY_EDGE_COLOR,
    COVERED_COLOR,
    FACILITY_EDGE_COLOR,
    GAP_COLOR,
    OUTLINE_COLOR,
    REACH_BAND_COLORS,
    REACH_COLOR,
    SITE_COLOR,
    SITE_EDGE_COLOR,
    STREET_COLOR,
    UNCOVERED_COLOR,
    rate_color,
)
from quarterhour.render.webgeo import geojson, street_lines

__all__ = [
    "MAX_EACH_REACH",
    "MAX_GAPS",
    "Layer",
    "catchment_layers",
    "community_layers",
    "each_reach_layers",
    "facility_layers",
    "gap_layers",
    "hex_layers",
    "reach_layers",
    "resident_layers",
    "site_layers",
    "site_reach_layers",
    "street_layers",
    "unit_layers",
]

MAX_EACH_REACH = 200  #: more facilities than this: no layer of each facility's own reach
MAX_GAPS = 1_000  #: the map shows this many gap zones at most, biggest first


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


def _named(gdf: gpd.GeoDataFrame, result: CircleResult, lang: str) -> gpd.GeoDataFrame:
    """Rows of facilities (by ``facility_id``) with the facility's name and its category in ``lang``."""
    out = gdf.merge(result.facilities[["name", "category"]], left_on=C.FACILITY_ID, right_index=True)
    out["category_label"] = [category_name(c, lang) for c in out["category"]]
    return out


def street_layers(
    network: StreetNetwork, lang: str, *, simplify_m: float, attribution: str = OSM_ATTRIBUTION
) -> list[Layer]:
    """The walking streets as lines, the offline base of the map.

    Parameters
    ----------
    network, lang
        The street network, and the layer's language (``"zh"`` or ``"en"``).
    simplify_m
        Simplify the lines within this many metres.
    attribution
        The credit of the streets' source (HTML): OpenStreetMap's unless the network came from elsewhere.
    """
    return [
        Layer(
            t("streets", lang),
            geojson(street_lines(network), simplify_m=simplify_m),
            {"color": STREET_COLOR, "weight": 1, "opacity": 0.7},
            attribution=attribution,
        )
    ]


def reach_layers(result: CircleResult, lang: str, *, simplify_m: float, min_hole_m2: float) -> list[Layer]:
    """The merged reach, one layer per band, widest first so the nearer bands sit on top (and darker).

    Parameters
    ----------
    result, lang
        The run, and the layers' language (``"zh"`` or ``"en"``).
    simplify_m
        Simplify the shapes within this many metres.
    min_hole_m2
        Fill holes smaller than this (square metres); 0 keeps them all.
    """
    bands = sorted(result.reach[C.BAND_MIN].unique(), reverse=True)
    layers = []
    for i, band in enumerate(bands):
        color = REACH_BAND_COLORS[min(len(bands) - 1 - i, len(REACH_BAND_COLORS) - 1)]
        reach = result.reach.loc[result.reach[C.BAND_MIN] == band, ["geometry"]]
        layers.append(
            Layer(
                reach_name(band, lang, result.summary.yardstick),
                geojson(reach, simplify_m=simplify_m, min_hole_m2=min_hole_m2),
                {"color": color, "weight": 1, "fillColor": color, "fillOpacity": 0.2},
            )
        )
    return layers


def each_reach_layers(result: CircleResult, lang: str, *, simplify_m: float) -> list[Layer]:
    """Each facility's own reach at the threshold, in its category's colour (hidden; none above ``MAX_EACH_REACH``).

    Parameters
    ----------
    result, lang
        The run, and the layers' language (``"zh"`` or ``"en"``).
    simplify_m
        Simplify the shapes within this many metres.
    """
    minutes = result.summary.minutes
    each = _named(result.isochrones[result.isochrones[C.BAND_MIN] == minutes], result, lang)
    if len(each) > MAX_EACH_REACH:  # hundreds of overlapping polygons say little and weigh much
        return []
    return [
        Layer(
            t("reach_each", lang),
            geojson(
                each[["name", "category_label", "geometry"]],
                simplify_m=simplify_m,
                style=[{"color": CATEGORY_COLORS.get(c, REACH_COLOR)} for c in each["category"]],
            ),
            {"weight": 1, "fillOpacity": 0.05},
            show=False,
            tooltip=(("name", t("name", lang)), ("category_label", t("category", lang))),
        )
    ]


def catchment_layers(result: CircleResult, lang: str) -> list[Layer]:
    """Each place to the facility reaching it first, in a cycle of distinct colours (hidden)."""
    split = result.catchments[result.catchments[C.BAND_MIN] == result.summary.minutes]
    if not len(split):
        return []
    split = _named(split, result, lang)
    return [
        Layer(
            t("catchments", lang),
            geojson(
                split[["name", "category_label", "geometry"]],
                simplify_m=2.0,
                style=[{"fillColor": CATCHMENT_COLORS[i % len(CATCHMENT_COLORS)]} for i in range(len(split))],
            ),
            {"color": OUTLINE_COLOR, "weight": 1, "fillOpacity": 0.35},
            show=False,
            tooltip=(("name", t("nearest", lang)), ("category_label", t("category", lang))),
        )
    ]


def unit_layers(result: CircleResult, lang: str) -> list[Layer]:
    """District (shown) and sub-district and grid (hidden, dashed) outlines, with their coverage rate."""
    layers = []
    for level, weight in (("district", 3.0), ("subdistrict", 1.5), ("grid", 0.8)):  # issue 30: the grids (网格)
        if level not in result.levels:
            continue
        units = result.levels[level]
        units = gpd.GeoDataFrame(
            {"name": units["name"], C.PCT_COVERED: units[C.PCT_COVERED].round(1)}, geometry=units.geometry
        )
        dashed = {"dashArray": "8 4"} if weight < 2 else {}
        layers.append(
            Layer(
                t("units_layer", lang, level=level_name(level, lang)),
                geojson(units, simplify_m=5.0),
                {"color": BOUNDARY_COLOR, "weight": weight, "fill": False, **dashed},
                show=level == "district",
                tooltip=(("name", t("name", lang)), (C.PCT_COVERED, t("coverage_rate", lang) + " %")),
            )
        )
    return layers


def community_layers(result: CircleResult, lang: str) -> list[Layer]:
    """Communities coloured by coverage rate (hidden)."""
    if "community" not in result.levels:
        return []
    comm = result.levels["community"]
    comm = gpd.GeoDataFrame(
        {"name": comm["name"], C.POP: comm[C.POP].round(0), C.PCT_COVERED: comm[C.PCT_COVERED].round(1)},
        geometry=comm.geometry,
    )
    return [
        Layer(
            t("community_layer", lang),
            geojson(comm, simplify_m=2.0, style=[{"fillColor": rate_color(p)} for p in comm[C.PCT_COVERED]]),
            {"color": COMMUNITY_EDGE_COLOR, "weight": 1, "fillOpacity": 0.45},
            show=False,
            tooltip=(
                ("name", t("name", lang)),
                (C.POP, t("residents", lang)),
                (C.PCT_COVERED, t("coverage_rate", lang) + " %"),
            ),
        )
    ]


def gap_layers(result: CircleResult, lang: str, *, gap_cell_m: float) -> list[Layer]:
    """The gap zones, ranked; the biggest ``MAX_GAPS`` only (the tables and files hold all).

    Parameters
    ----------
    result, lang
        The run, and the layer's language (``"zh"`` or ``"en"``).
    gap_cell_m
        The side of the gap grid's cells (metres), as the run used.
    """
    if not len(result.gaps):
        return []
    top = result.gaps.head(MAX_GAPS)
    gaps = gpd.GeoDataFrame(
        {C.RANK: top[C.RANK], C.POP_UNCOVERED: top[C.POP_UNCOVERED].round(0), C.MINUTES: top[C.MINUTES].round(1)},
        geometry=top.geometry,
    )
    name = t("gaps", lang, cell=gap_cell_m)
    if len(result.gaps) > MAX_GAPS:
        name += " " + t("top_n", lang, n=MAX_GAPS, total=len(result.gaps))
    return [
        Layer(
            name,
            geojson(gaps),
            {"color": GAP_COLOR, "weight": 2, "fillColor": GAP_COLOR, "fillOpacity": 0.15},
            tooltip=(
                (C.RANK, t("rank", lang)),
                (C.POP_UNCOVERED, t("uncovered", lang)),
                (C.MINUTES, t("walk_minutes", lang)),
            ),
        )
    ]


def hex_layers(result: CircleResult, lang: str, *, many: bool) -> list[Layer]:
    """Residents' coverage per hexagon; shown, and twice as coarse, when ``many`` points stand in for them.

    Parameters
    ----------
    result, lang
        The run, and the layer's language (``"zh"`` or ``"en"``).
    many
        Too many resident points to draw (``MAX_POINTS``): the hexagons stand for them.
    """
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
    return [
        Layer(
            t("hex_layer", lang, size=2 * hex_m),
            geojson(cells, style=[{"fillColor": rate_color(p)} for p in cells[C.PCT_COVERED]]),
            {"color": OUTLINE_COLOR, "weight": 0.5, "fillOpacity": 0.5},
            show=many,
            tooltip=(
                (C.POP, t("residents", lang)),
                (C.POP_UNCOVERED, t("uncovered", lang)),
                (C.PCT_COVERED, t("coverage_rate", lang) + " %"),
            ),
        )
    ]


def resident_layers(result: CircleResult, lang: str) -> list[Layer]:
    """Resident points, sized by residents: those left out (shown) and those covered (hidden)."""
    covered = result.demand[C.COVERED]
    return [
        *_points(result.demand.loc[~covered], t("residents_uncovered", lang), UNCOVERED_COLOR, lang, show=True),
        *_points(result.demand.loc[covered], t("residents_covered", lang), COVERED_COLOR, lang, show=False),
    ]


def _points(demand: gpd.GeoDataFrame, name: str, color: str, lang: str, *, show: bool) -> list[Layer]:
    if demand.empty:
        return []
    pts = gpd.GeoDataFrame(
        {C.POP: demand[C.POP].round(0), C.MINUTES: demand[C.MINUTES].round(1)}, geometry=demand.geometry
    )
    radius = np.clip(2 + np.sqrt(demand[C.POP].to_numpy()) / 2.5, 2, 12).round(1)
    return [
        Layer(
            name,
            geojson(pts, style=[{"radius": float(r)} for r in radius]),
            show=show,
            marker={"weight": 1, "color": color, "fill": True, "fill_color": color, "fill_opacity": 0.6},
            tooltip=((C.POP, t("residents", lang)), (C.MINUTES, t("walk_minutes", lang))),
        )
    ]


def facility_layers(result: CircleResult, lang: str) -> list[Layer]:
    """The facilities, one layer per category in its colour."""
    fac = result.facilities
    fac = fac.assign(category_label=[category_name(c, lang) for c in fac["category"]])
    from quarterhour.render.hourlayers import closed_layers, not_open  # issue 31 (it imports this module)

    fac = fac[~not_open(result)]  # at a time of the week: those closed then are drawn grey (closed_layers)
    layers = closed_layers(result, lang)
    for code in CATEGORIES:
        sub = fac[fac["category"] == code]
        if sub.empty:
            continue
        marker = {"radius": 7, "weight": 2, "color": FACILITY_EDGE_COLOR, "fill": True}
        layers.append(
            Layer(
                f"{t('facilities', lang)}: {category_name(code, lang)}",
                geojson(sub[["name", "category_label", "geometry"]]),
                marker={**marker, "fill_color": CATEGORY_COLORS[code], "fill_opacity": 1.0},
                tooltip=(("name", t("name", lang)), ("category_label", t("category", lang))),
            )
        )
    return layers


def site_reach_layers(site_reach: gpd.GeoDataFrame | None, lang: str) -> list[Layer]:
    """The reach of suggested new centres, dashed."""
    if site_reach is None or not len(site_reach):
        return []
    return [
        Layer(
            t("site_reach", lang),
            geojson(site_reach[["geometry"]], simplify_m=2.0),
            {"color": SITE_COLOR, "weight": 2, "dashArray": "6 4", "fillOpacity": 0.08},
        )
    ]


def site_layers(sites: gpd.GeoDataFrame, lang: str) -> list[Layer]:
    """Suggested new sites, with the residents each would newly cover."""
    if not len(sites):
        return []
    shown = gpd.GeoDataFrame(
        {
            "site_id": sites["site_id"],
            **{c: sites[c].round(0) for c in (C.POP_SERVED, C.POP_NEW) if c in sites},
            **{c: sites[c].round(1) for c in (C.MINUTES, C.MINUTES_SAVED) if c in sites},
        },
        geometry=sites.geometry,
    )
    marker = {"radius": 11, "weight": 4, "color": SITE_EDGE_COLOR, "fill": True}
    return [
        Layer(
            t("sites", lang),
            geojson(shown),
            marker={**marker, "fill_color": SITE_COLOR, "fill_opacity": 1.0},
            tooltip=tuple(
                (c, "ID" if c == "site_id" else t(key, lang))
                for c, key in (
                    ("site_id", ""),
                    (C.POP_SERVED, "site_served"),
                    (C.POP_NEW, "new_covered"),
                    (C.MINUTES, "site_walk"),
                    (C.MINUTES_SAVED, "site_saved_each"),
                )
                if c in shown
            ),
        )
    ]
