"""Styles for the layers we write, as desktop GIS reads them: the same colours and words as the maps.

A GeoPackage we write carries a ``layer_styles`` table (the OGC/QGIS convention
QGIS reads by itself when a layer is added, and writes with "Save as default"):
per layer one default style, as QML (QGIS) and SLD (ArcGIS, GeoServer, others).
This module says *what* each layer looks like, one function per kind of symbol
(facilities by category, reach bands, catchments, residents by covered,
coverage graduated by rate, gaps graduated by residents left out, new sites);
``quarterhour.gis.qgisxml`` writes it as QML and SLD. Colours come from
``quarterhour.render.palette`` and the legend's words from ``quarterhour.i18n``, as for
the web map's legend (``quarterhour.render.legend``) and the review pack's PNG
(``quarterhour.render.staticmap``); labels are set in a CJK font (``LABEL_FONT``).

Examples
--------
>>> import geopandas as gpd, shapely
>>> fac = gpd.GeoDataFrame({"name": ["甲"], "category": ["study_room"]}, geometry=[shapely.Point(0, 0)])
>>> style = layer_style("facilities", fac, lang="zh")
>>> style.renderer, style.field, [(c.value, c.label, c.symbol.color) for c in style.classes][-1]
('categorized', 'category', ('study_room', '城市书房', '#7d3c98'))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from analysis import columns as C
from geo.vocab import CATEGORIES, LEVELS
from quarterhour.i18n import category_name, level_name, reach_name, t
from quarterhour.render.palette import (
    BOUNDARY_COLOR,
    CATCHMENT_COLORS,
    CATEGORY_COLORS,
    CLOSED_COLOR,
    COVERED_COLOR,
    FACILITY_EDGE_COLOR,
    GAP_COLOR,
    GAP_EDGE_COLOR,
    GAP_LABEL_COLOR,
    GAP_RAMP,
    NO_DATA_COLOR,
    OUTLINE_COLOR,
    RATE_STOPS,
    REACH_BAND_COLORS,
    REACH_COLOR,
    SCENARIO_COLOR,
    SCENARIO_EDGE_COLOR,
    SITE_COLOR,
    SITE_EDGE_COLOR,
    STREET_COLOR,
    UNCOVERED_COLOR,
)

__all__ = [
    "KINDS",
    "LABEL_FONT",
    "STYLE_OF",
    "Labels",
    "LayerStyle",
    "StyleClass",
    "Symbol",
    "band_style",
    "catchment_style",
    "coverage_style",
    "facility_style",
    "gap_style",
    "layer_style",
    "resident_style",
    "scenario_style",
    "site_reach_style",
    "site_style",
    "street_style",
    "styles_of",
]

_REACH_OPACITY = 0.35  #: the reach as the PNG draws it: one union, a third opaque

#: The labels' font: Simplified Chinese, in Debian's ``fonts-noto-cjk`` and in Noto's own downloads.
LABEL_FONT = "Noto Sans CJK SC"


@dataclass(frozen=True)
class Symbol:
    """One symbol: a point marker, a polygon fill or a line; sizes in millimetres on the map."""

    kind: str  #: ``marker``, ``fill`` or ``line``
    color: str  #: the marker's or fill's colour, or the line's (``#rrggbb``, from the palette)
    opacity: float = 1.0  #: of the fill colour only (outlines stay whole)
    edge: str | None = None  #: outline colour; None for no outline
    edge_mm: float = 0.26
    size_mm: float = 2.4  #: marker diameter
    shape: str = "circle"  #: marker: ``circle`` or ``star``
    dashed: bool = False  #: outline (or line) dashed
    filled: bool = True  #: a fill's inside drawn (False: outline only)


@dataclass(frozen=True)
class StyleClass:
    """One legend entry: a category's ``value``, or a range ``lower`` … ``upper``, or everything (single)."""

    label: str
    symbol: Symbol
    value: object = None
    lower: float | None = None
    upper: float | None = None


@dataclass(frozen=True)
class Labels:
    """Text drawn on the map: a field's value, or a QGIS expression (``expression``, also given as SLD ``field``)."""

    field: str
    expression: str | None = None
    size_pt: float = 8.0
    color: str = "#000000"


@dataclass(frozen=True)
class LayerStyle:
    """A layer's style: how its features are told apart (``renderer``) and what is written on them.

    ``renderer`` is ``single`` (one class), ``categorized`` (classes by ``field``'s value; ``expression``,
    when given, is what QGIS evaluates instead, the SLD compares ``field``) or ``graduated``
    (classes by ranges of ``field``; the first range holding a value wins, so ranges are listed
    from the top down and each class takes its lower bound).
    """

    layer: str
    title: str  #: the layer's name to a reader, in the chosen language
    geometry: str  #: ``point``, ``line`` or ``polygon``
    renderer: str
    classes: tuple[StyleClass, ...]
    field: str | None = None
    expression: str | None = None
    labels: Labels | None = None
    order_by: str | None = None  #: features drawn in this field's order ...
    order_desc: bool = False  #: ... descending (the last drawn lies on top)
    opacity: float = 1.0  #: the whole layer's, over what lies below (overlapping reach does not darken)


# --- one function per kind of symbol ----------------------------------------------------------------------------


def facility_style(layer: str, gdf: gpd.GeoDataFrame, lang: str) -> LayerStyle:
    """Facilities: a dot in their category's colour, white-rimmed, labelled with their name."""
    cats = [*CATEGORIES, *sorted(set(gdf.get("category", pd.Series(dtype=str)).dropna().astype(str)) - set(CATEGORIES))]
    classes = tuple(
        StyleClass(
            category_name(c, lang),
            Symbol("marker", CATEGORY_COLORS.get(c, NO_DATA_COLOR), edge=FACILITY_EDGE_COLOR, edge_mm=0.4, size_mm=3.4),
            value=c,
        )
        for c in cats
    )
    labels = Labels("name") if "name" in gdf.columns else None
    if "open_now" in gdf.columns:  # issue 31: a run at a time of the week; those not open then in grey
        closed = Symbol("marker", CLOSED_COLOR, edge=FACILITY_EDGE_COLOR, edge_mm=0.4, size_mm=3.4)
        classes = (*classes, StyleClass(t("hours_closed_facilities", lang), closed, value="not_open"))
        expression = """if("open_now" IS NULL OR NOT "open_now", 'not_open', "category")"""
        return LayerStyle(
            layer, t("facilities", lang), "point", "categorized", classes, "category", expression, labels=labels
        )
    return LayerStyle(layer, t("facilities", lang), "point", "categorized", classes, field="category", labels=labels)


def band_style(layer: str, gdf: gpd.GeoDataFrame, lang: str, ys: object = None) -> LayerStyle:
    """Reach bands (every facility's, or merged): greens by ``minutes``, the nearest darkest and drawn on top.

    Each band is named by the run's yardstick ``ys`` (``quarterhour.i18n.reach_name``): its metres of walk
    under a distance yardstick, its minutes otherwise.
    """
    bands = sorted(float(b) for b in pd.unique(gdf[C.BAND_MIN].dropna())) if C.BAND_MIN in gdf else []
    title = t("reach_each", lang) if gdf.get(C.FACILITY_ID, pd.Series(dtype=object)).notna().any() else None
    if not bands:
        fill = Symbol("fill", REACH_COLOR)
        title = title or t("qgis_reach_any", lang)
        return LayerStyle(layer, title, "polygon", "single", (StyleClass("", fill),), opacity=_REACH_OPACITY)
    classes = tuple(
        StyleClass(
            reach_name(b, lang, ys),
            Symbol("fill", colour),
            value=_number(b),
        )
        for b, colour in zip(bands, _band_colors(len(bands)), strict=True)
    )
    return LayerStyle(
        layer,
        title or reach_name(bands[-1], lang, ys),
        "polygon",
        "categorized",
        classes,
        field=C.BAND_MIN,
        order_by=C.BAND_MIN,
        order_desc=True,
        opacity=_REACH_OPACITY,
    )


def catchment_style(layer: str, gdf: gpd.GeoDataFrame, lang: str) -> LayerStyle:
    """Catchments (each place to the facility reaching it first): a cycle of distinct colours by facility."""
    ids = sorted(str(i) for i in pd.unique(gdf[C.FACILITY_ID].dropna())) if C.FACILITY_ID in gdf else []
    classes = tuple(
        StyleClass(
            i,
            Symbol("fill", CATCHMENT_COLORS[n % len(CATCHMENT_COLORS)], opacity=0.35, edge=OUTLINE_COLOR, edge_mm=0.2),
            value=i,
        )
        for n, i in enumerate(ids)
    )
    kind = "categorized" if classes else "single"
    classes = classes or (StyleClass("", Symbol("fill", CATCHMENT_COLORS[0], opacity=0.35, edge=OUTLINE_COLOR)),)
    return LayerStyle(
        layer,
        t("catchments", lang),
        "polygon",
        kind,
        classes,
        field=C.FACILITY_ID if kind == "categorized" else None,
        order_by=C.BAND_MIN if C.BAND_MIN in gdf else None,
        order_desc=True,
    )


def resident_style(layer: str, gdf: gpd.GeoDataFrame, lang: str) -> LayerStyle:
    """Resident points: covered ones small and grey, those left out red and drawn on top."""
    if C.COVERED not in gdf.columns:
        dot = Symbol("marker", COVERED_COLOR, size_mm=1.2)
        return LayerStyle(layer, t("qgis_residents", lang), "point", "single", (StyleClass("", dot),))
    classes = (
        StyleClass(t("residents_uncovered", lang), Symbol("marker", UNCOVERED_COLOR, size_mm=1.8), value=0),
        StyleClass(t("residents_covered", lang), Symbol("marker", COVERED_COLOR, opacity=0.6, size_mm=0.9), value=1),
    )
    return LayerStyle(
        layer,
        t("qgis_residents", lang),
        "point",
        "categorized",
        classes,
        field=C.COVERED,
        expression=f'if("{C.COVERED}", 1, 0)',  # a boolean is read as true/false or as 1/0: both give 1/0 here
        order_by=C.COVERED,
        order_desc=True,
    )


def coverage_style(layer: str, gdf: gpd.GeoDataFrame, lang: str) -> LayerStyle:
    """Admin units graduated by coverage rate, in the web map's rate colours (``palette.RATE_STOPS``)."""
    level = layer.split("_", 1)[1] if "_" in layer else ""
    stops = sorted(RATE_STOPS, reverse=True)  # top down: each class takes its lower bound, as rate_color does
    classes, upper = [], float(stops[0][0])
    for low, colour in stops:
        label = f"{low:g} %" if low == upper else (f"{low:g}–{upper:g} %" if low else f"< {upper:g} %")
        fill = Symbol("fill", colour, opacity=0.3, edge=BOUNDARY_COLOR, edge_mm=0.5)
        classes.append(StyleClass(label, fill, lower=float(low), upper=upper))
        upper = float(low)
    title = t("qgis_coverage", lang, level=level_name(level, lang)) if level in LEVELS else layer
    labels = Labels("name") if "name" in gdf.columns else None
    return LayerStyle(layer, title, "polygon", "graduated", tuple(classes), field=C.PCT_COVERED, labels=labels)


def gap_style(layer: str, gdf: gpd.GeoDataFrame, lang: str) -> LayerStyle:
    """Gap zones graduated by residents left out (oranges), the five biggest labelled with their rank."""
    pop = pd.to_numeric(gdf.get(C.POP_UNCOVERED, pd.Series(dtype=float)), errors="coerce").dropna()
    labels = Labels(C.RANK, expression=f"if(\"{C.RANK}\" <= 5, '#' || \"{C.RANK}\", '')", color=GAP_LABEL_COLOR)
    if C.RANK not in gdf.columns:
        labels = None
    breaks = np.unique(np.round(np.quantile(pop, np.linspace(0, 1, len(GAP_RAMP) + 1)))) if len(pop) else []
    if len(breaks) < 2:
        fill = Symbol("fill", GAP_COLOR, opacity=0.45, edge=GAP_EDGE_COLOR, edge_mm=0.3)
        return LayerStyle(layer, t("map_gap_zone", lang), "polygon", "single", (StyleClass("", fill),), labels=labels)
    ramp = GAP_RAMP[-(len(breaks) - 1) :]
    classes = tuple(
        StyleClass(
            t("qgis_left_out", lang, lo=lo, hi=hi),
            Symbol("fill", colour, opacity=0.6, edge=GAP_EDGE_COLOR, edge_mm=0.3),
            lower=float(lo),
            upper=float(hi),
        )
        for lo, hi, colour in reversed(list(zip(breaks[:-1], breaks[1:], ramp, strict=True)))
    )
    return LayerStyle(
        layer, t("map_gap_zone", lang), "polygon", "graduated", classes, field=C.POP_UNCOVERED, labels=labels
    )


def site_style(layer: str, gdf: gpd.GeoDataFrame, lang: str) -> LayerStyle:
    """Suggested new sites: a magenta star with a dark rim, labelled with the site's id."""
    star = Symbol("marker", SITE_COLOR, edge=SITE_EDGE_COLOR, edge_mm=0.4, size_mm=6.0, shape="star")
    labels = Labels("site_id", size_pt=9) if "site_id" in gdf.columns else None
    return LayerStyle(layer, t("sites", lang), "point", "single", (StyleClass(t("sites", lang), star),), labels=labels)


def site_reach_style(layer: str, gdf: gpd.GeoDataFrame, lang: str, ys: object = None) -> LayerStyle:
    """The new sites' reach: a dashed magenta outline, unfilled, as the web map draws a new centre's reach."""
    bands = sorted(float(b) for b in pd.unique(gdf[C.BAND_MIN].dropna())) if C.BAND_MIN in gdf else []
    title = reach_name(bands[-1], lang, ys, key="qgis_site_reach") if bands else t("qgis_site_reach_any", lang)
    ring = Symbol("fill", SITE_COLOR, edge=SITE_COLOR, edge_mm=0.5, dashed=True, filled=False)
    return LayerStyle(layer, title, "polygon", "single", (StyleClass(title, ring),))


def scenario_style(layer: str, gdf: gpd.GeoDataFrame, lang: str) -> LayerStyle:
    """The planner's changes in a scenario: a yellow star, dark-rimmed, labelled with the name."""
    star = Symbol("marker", SCENARIO_COLOR, edge=SCENARIO_EDGE_COLOR, edge_mm=0.4, size_mm=5.0, shape="star")
    labels = Labels("name") if "name" in gdf.columns else None
    classes = (StyleClass(t("scenario", lang), star),)
    return LayerStyle(layer, t("scenario", lang), "point", "single", classes, labels=labels)


def street_style(layer: str, gdf: gpd.GeoDataFrame, lang: str) -> LayerStyle:
    """The walking streets, thin and grey: the offline base, as in the pack's PNG."""
    line = Symbol("line", STREET_COLOR, opacity=0.8, edge_mm=0.2)
    return LayerStyle(layer, t("streets", lang), "line", "single", (StyleClass(t("streets", lang), line),))


# --- which style a layer gets -----------------------------------------------------------------------------------

_Kind = Callable[[str, gpd.GeoDataFrame, str], LayerStyle]

#: A layer's name -> its kind of style; ``coverage_<level>`` and ``compare_<level>`` take ``coverage_style``.
STYLE_OF: dict[str, _Kind] = {
    "facilities": facility_style,
    "demand": resident_style,
    "accessibility": resident_style,
    "isochrones": band_style,
    "reach": band_style,
    "gaps": gap_style,
    "sites": site_style,
    "site_isochrones": site_reach_style,
    "changes": scenario_style,
    "streets": street_style,
}
#: The kinds of style that name a band by the run's yardstick (they take it as a fourth argument).
_BY_YARDSTICK = (band_style, site_reach_style)
#: The ``isochrones`` layer's kinds (``quarterhour run --isochrones``): catchments are coloured by facility.
#: ``new_sites``: the reach of suggested sites (``quarterhour site``).
KINDS: dict[str, _Kind] = {
    "facility": band_style,
    "merged": band_style,
    "nearest": catchment_style,
    "new_sites": site_reach_style,
}


def layer_style(
    name: str,
    gdf: gpd.GeoDataFrame | pd.DataFrame,
    *,
    lang: str = "zh",
    kind: str | None = None,
    ys: object = None,
) -> LayerStyle | None:
    """The style of the layer ``name``, or None for a layer we do not style (a table, an unknown name).

    Parameters
    ----------
    name
        The layer's name in the GeoPackage (``CircleResult.layers``, the pack's ``unit_layers``).
    gdf
        The layer (its values choose the classes: the bands, the facilities, the gap breaks).
    lang
        The legend's and titles' language, ``"zh"`` or ``"en"``.
    kind
        For ``isochrones``: ``facility``, ``merged``, ``nearest`` (catchments) or ``new_sites``; None reads the
        name alone.
    ys
        The run's ``analysis.yardstick.Yardstick``, naming the reach bands (metres of walk under GB 50180);
        None names their minutes.

    Returns
    -------
    LayerStyle or None
        The style.
    """
    if not isinstance(gdf, gpd.GeoDataFrame):
        return None
    make = KINDS.get(kind or "") if name == "isochrones" else None
    make = make or STYLE_OF.get(name)
    if make is None and name.startswith(("coverage_", "compare_")) and C.PCT_COVERED in gdf.columns:
        make = coverage_style
    if make in _BY_YARDSTICK:
        return make(name, gdf, lang, ys)
    return make(name, gdf, lang) if make is not None else None


def _band_colors(n: int) -> list[str]:
    """``n`` band colours, the nearest first, as the web map gives them (``REACH_BAND_COLORS``, the last repeated)."""
    return [REACH_BAND_COLORS[min(i, len(REACH_BAND_COLORS) - 1)] for i in range(n)]


def _number(value: float) -> int | float:
    """A whole number as an int (``15`` not ``15.0``), so a category matches the field's text either way."""
    return int(value) if float(value).is_integer() else float(value)


def styles_of(
    layers: Mapping[str, gpd.GeoDataFrame | pd.DataFrame],
    *,
    lang: str = "zh",
    kinds: Mapping[str, str] | None = None,
    ys: object = None,
) -> dict[str, LayerStyle]:
    """The style of every layer that gets one, by layer name, in the layers' order.

    Parameters
    ----------
    layers
        Layer name -> layer, as written into a GeoPackage.
    lang
        ``"zh"`` or ``"en"``.
    kinds
        Layer name -> kind, where the name alone does not say it (``{"isochrones": "nearest"}``).
    ys
        The run's ``analysis.yardstick.Yardstick`` (``layer_style``); None names the bands' minutes.
    """
    kinds = kinds or {}
    out = {}
    for name, gdf in layers.items():
        style = layer_style(name, gdf, lang=lang, kind=kinds.get(name), ys=ys)
        if style is not None:
            out[name] = style
    return out
