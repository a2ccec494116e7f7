"""A layer's style (``quarterhour.gis.qgisstyle.LayerStyle``) written as QGIS QML and as OGC SLD 1.1.

The QML holds what QGIS 3 writes for the same style (renderer, symbols, labels),
each symbol layer's properties both as ``Option`` maps (QGIS 3.10 on) and as the
older ``prop`` pairs, so QGIS 3.x of any year reads it. ``renderer_element`` and
``labeling_element`` are also placed into the review pack's QGIS project
(``quarterhour.gis.qgisproject``). The SLD carries the same classes as rules with
filters, for ArcGIS, GeoServer and other SLD readers.

Examples
--------
>>> import geopandas as gpd, shapely
>>> from quarterhour.gis.qgisstyle import layer_style
>>> sites = gpd.GeoDataFrame({"site_id": ["S1"]}, geometry=[shapely.Point(0, 0)])
>>> style = layer_style("sites", sites, lang="en")
>>> "233,30,99,255" in qml(style), "#e91e63" in sld(style)
(True, True)
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping

import pandas as pd

from quarterhour.gis.qgisstyle import LABEL_FONT, LayerStyle, StyleClass, Symbol

__all__ = [
    "LAYER_STYLES_COLUMNS",
    "QGIS_VERSION",
    "labeling_element",
    "layer_styles_table",
    "qml",
    "renderer_element",
    "rgba",
    "sld",
]

#: The QGIS version our files are written as (the oldest long-term release they are checked with).
QGIS_VERSION = "3.22.16-Białowieża"
_SLD, _SE, _OGC = "http://www.opengis.net/sld", "http://www.opengis.net/se", "http://www.opengis.net/ogc"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
for _prefix, _uri in (("", _SLD), ("se", _SE), ("ogc", _OGC), ("xsi", _XSI)):
    ET.register_namespace(_prefix, _uri)
_PX_PER_MM = 3.7795  #: SLD sizes are pixels at 96 dpi
_DASH_MM = "3;1.5"


def rgba(hex_color: str, opacity: float = 1.0) -> str:
    """A ``#rrggbb`` colour as QGIS writes it, ``r,g,b,a`` (0-255).

    Examples
    --------
    >>> rgba("#27ae60"), rgba("#27ae60", 0.5)
    ('39,174,96,255', '39,174,96,128')
    """
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"{r},{g},{b},{round(255 * opacity)}"


# --- QML --------------------------------------------------------------------------------------------------------


def _symbol_props(sym: Symbol) -> tuple[str, dict[str, str]]:
    """The QGIS symbol layer class and its properties for ``sym``."""
    edge = "solid" if sym.edge else "no"
    if sym.dashed:
        edge = "dash"
    if sym.kind == "marker":
        return "SimpleMarker", {
            "name": sym.shape,
            "color": rgba(sym.color, sym.opacity),
            "outline_color": rgba(sym.edge or sym.color),
            "outline_style": edge,
            "outline_width": f"{sym.edge_mm:g}",
            "outline_width_unit": "MM",
            "size": f"{sym.size_mm:g}",
            "size_unit": "MM",
            "joinstyle": "round" if sym.shape == "circle" else "miter",
        }
    if sym.kind == "line":
        return "SimpleLine", {
            "line_color": rgba(sym.color, sym.opacity),
            "line_width": f"{sym.edge_mm:g}",
            "line_width_unit": "MM",
            "line_style": "dash" if sym.dashed else "solid",
        }
    return "SimpleFill", {
        "color": rgba(sym.color, sym.opacity),
        "style": "solid" if sym.filled else "no",
        "outline_color": rgba(sym.edge or sym.color),
        "outline_style": edge,
        "outline_width": f"{sym.edge_mm:g}",
        "outline_width_unit": "MM",
        "joinstyle": "bevel",
    }


def _symbol_element(sym: Symbol, name: str) -> ET.Element:
    el = ET.Element("symbol", type=sym.kind, name=name, alpha="1", clip_to_extent="1", force_rhr="0")
    cls, props = _symbol_props(sym)
    layer = ET.SubElement(el, "layer", {"class": cls, "enabled": "1", "pass": "0", "locked": "0"})
    options = ET.SubElement(layer, "Option", type="Map")
    for k, v in props.items():
        ET.SubElement(options, "Option", name=k, value=v, type="QString")
    for k, v in props.items():  # QGIS before 3.10 reads these
        ET.SubElement(layer, "prop", k=k, v=v)
    return el


def _num(value: float | None) -> str:
    return f"{float(value or 0):.15f}"


def renderer_element(style: LayerStyle) -> ET.Element:
    """The QGIS ``renderer-v2`` element of ``style`` (single, categorized or graduated symbols)."""
    kinds = {"single": "singleSymbol", "categorized": "categorizedSymbol", "graduated": "graduatedSymbol"}
    el = ET.Element(
        "renderer-v2",
        type=kinds[style.renderer],
        symbollevels="0",
        forceraster="0",
        referencescale="-1",
        enableorderby="1" if style.order_by else "0",
    )
    if style.renderer != "single":
        el.set("attr", style.expression or style.field or "")
    if style.renderer == "categorized":
        cats = ET.SubElement(el, "categories")
        for i, c in enumerate(style.classes):
            ET.SubElement(cats, "category", value=str(c.value), label=c.label, symbol=str(i), render="true")
    elif style.renderer == "graduated":
        el.set("graduatedMethod", "GraduatedColor")
        ranges = ET.SubElement(el, "ranges")
        for i, c in enumerate(style.classes):
            attrs = {"lower": _num(c.lower), "upper": _num(c.upper), "label": c.label, "symbol": str(i)}
            ET.SubElement(ranges, "range", attrs, render="true")
    symbols = ET.SubElement(el, "symbols")
    for i, c in enumerate(style.classes):
        symbols.append(_symbol_element(c.symbol, str(i)))
    if style.renderer == "graduated":
        ET.SubElement(ET.SubElement(el, "classificationMethod", id="Custom"), "labelFormat", format="%1 - %2")
    if style.order_by:
        order = ET.SubElement(el, "orderby")
        clause = ET.SubElement(order, "orderByClause", asc="0" if style.order_desc else "1", nullsFirst="0")
        clause.text = f'"{style.order_by}"'
    return el


def labeling_element(style: LayerStyle) -> ET.Element | None:
    """The QGIS ``labeling`` element of ``style`` (a field or an expression, in ``LABEL_FONT``), or None."""
    lab = style.labels
    if lab is None:
        return None
    el = ET.Element("labeling", type="simple")
    settings = ET.SubElement(el, "settings", calloutType="simple")
    text = ET.SubElement(
        settings,
        "text-style",
        fontFamily=LABEL_FONT,
        fontSize=f"{lab.size_pt:g}",
        fontSizeUnit="Point",
        fontWeight="50",
        textColor=rgba(lab.color),
        textOpacity="1",
        fieldName=lab.expression or lab.field,
        isExpression="1" if lab.expression else "0",
        namedStyle="Regular",
    )
    ET.SubElement(
        text,
        "text-buffer",
        bufferDraw="1",
        bufferSize="0.7",
        bufferSizeUnits="MM",
        bufferColor="255,255,255,255",
        bufferOpacity="0.9",
        bufferNoFill="1",
        bufferJoinStyle="128",
    )
    point = style.geometry == "point"
    ET.SubElement(
        settings,
        "placement",
        placement="6" if point else "1",  # cartographic around a point; over a polygon's point
        dist="1" if point else "0",
        distUnits="MM",
        offsetType="0",
        centroidInside="1",
        priority="5",
    )
    ET.SubElement(settings, "rendering", drawLabels="1", obstacle="1", scaleVisibility="0", displayAll="0")
    return el


def qml(style: LayerStyle) -> str:
    """``style`` as a QGIS layer style file (QML): renderer, labels, opacity.

    Parameters
    ----------
    style
        The layer's style.

    Returns
    -------
    str
        The QML document.
    """
    root = ET.Element(
        "qgis",
        version=QGIS_VERSION,
        styleCategories="Symbology|Labeling|Rendering",
        labelsEnabled="1" if style.labels else "0",
        hasScaleBasedVisibilityFlag="0",
        minScale="100000000",
        maxScale="0",
    )
    root.append(renderer_element(style))
    labeling = labeling_element(style)
    if labeling is not None:
        root.append(labeling)
    for tag, value in (("blendMode", "0"), ("featureBlendMode", "0"), ("layerOpacity", f"{style.opacity:g}")):
        ET.SubElement(root, tag).text = value
    ET.indent(root)
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(root, encoding="unicode")


# --- SLD --------------------------------------------------------------------------------------------------------


def _se(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{_SE}}}{tag}", attrs)
    if text is not None:
        el.text = text
    return el


def _param(parent: ET.Element, name: str, value: str) -> None:
    _se(parent, "SvgParameter", value, name=name)


def _compare(parent: ET.Element, op: str, field: str, value: object) -> None:
    el = ET.SubElement(parent, f"{{{_OGC}}}{op}")
    ET.SubElement(el, f"{{{_OGC}}}PropertyName").text = field
    ET.SubElement(el, f"{{{_OGC}}}Literal").text = f"{value:g}" if isinstance(value, float) else str(value)


def _filter(rule: ET.Element, style: LayerStyle, c: StyleClass, *, top: bool) -> None:
    """The rule's filter: equal to the category, or within the range (the top range holds its upper bound)."""
    if style.renderer == "single" or style.field is None:
        return
    flt = ET.SubElement(rule, f"{{{_OGC}}}Filter")
    if style.renderer == "categorized" or c.lower == c.upper:
        _compare(flt, "PropertyIsEqualTo", style.field, c.value if style.renderer == "categorized" else c.lower)
        return
    both = ET.SubElement(flt, f"{{{_OGC}}}And")
    _compare(both, "PropertyIsGreaterThanOrEqualTo", style.field, c.lower)
    _compare(both, "PropertyIsLessThanOrEqualTo" if top else "PropertyIsLessThan", style.field, c.upper)


def _stroke(parent: ET.Element, sym: Symbol) -> None:
    if not sym.edge:
        return
    stroke = _se(parent, "Stroke")
    _param(stroke, "stroke", sym.edge)
    _param(stroke, "stroke-width", f"{sym.edge_mm * _PX_PER_MM:.1f}")
    if sym.dashed:
        _param(stroke, "stroke-dasharray", "6 3")


def _symbolizer(rule: ET.Element, sym: Symbol, opacity: float) -> None:
    """The rule's symbolizer; ``opacity`` is the layer's (SLD has none of its own), folded into the fill's."""
    if sym.kind == "marker":
        graphic = _se(_se(rule, "PointSymbolizer"), "Graphic")
        mark = _se(graphic, "Mark")
        _se(mark, "WellKnownName", sym.shape)
        _param(_se(mark, "Fill"), "fill", sym.color)
        _stroke(mark, sym)
        _se(graphic, "Size", f"{sym.size_mm * _PX_PER_MM:.1f}")
        return
    if sym.kind == "line":
        line = _se(_se(rule, "LineSymbolizer"), "Stroke")
        _param(line, "stroke", sym.color)
        _param(line, "stroke-width", f"{sym.edge_mm * _PX_PER_MM:.1f}")
        _param(line, "stroke-opacity", f"{sym.opacity * opacity:g}")
        return
    poly = _se(rule, "PolygonSymbolizer")
    if sym.filled:
        fill = _se(poly, "Fill")
        _param(fill, "fill", sym.color)
        _param(fill, "fill-opacity", f"{sym.opacity * opacity:g}")
    _stroke(poly, sym)


def _text_rule(fts: ET.Element, style: LayerStyle) -> None:
    lab = style.labels
    if lab is None:
        return
    text = _se(_se(fts, "Rule"), "TextSymbolizer")
    ET.SubElement(_se(text, "Label"), f"{{{_OGC}}}PropertyName").text = lab.field
    font = _se(text, "Font")
    _param(font, "font-family", LABEL_FONT)
    _param(font, "font-size", f"{lab.size_pt * 96 / 72:.0f}")
    halo = _se(text, "Halo")
    _se(halo, "Radius", "2")
    _param(_se(halo, "Fill"), "fill", "#ffffff")
    _param(_se(text, "Fill"), "fill", lab.color)


def sld(style: LayerStyle) -> str:
    """``style`` as an OGC Styled Layer Descriptor 1.1: one rule per class, labels as a text rule.

    Parameters
    ----------
    style
        The layer's style.

    Returns
    -------
    str
        The SLD document.
    """
    root = ET.Element(
        f"{{{_SLD}}}StyledLayerDescriptor",
        {"version": "1.1.0", f"{{{_XSI}}}schemaLocation": f"{_SLD} {_SLD}/1.1.0/StyledLayerDescriptor.xsd"},
    )
    layer = ET.SubElement(root, f"{{{_SLD}}}NamedLayer")
    _se(layer, "Name", style.layer)
    user = ET.SubElement(layer, f"{{{_SLD}}}UserStyle")
    _se(user, "Name", style.layer)
    _se(_se(user, "Description"), "Title", style.title)
    fts = _se(user, "FeatureTypeStyle")
    for i, c in enumerate(style.classes):
        rule = _se(fts, "Rule")
        _se(rule, "Name", c.label or style.title)
        _se(_se(rule, "Description"), "Title", c.label or style.title)
        _filter(rule, style, c, top=i == 0)
        _symbolizer(rule, c.symbol, style.opacity)
    _text_rule(fts, style)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


# --- the layer_styles table -------------------------------------------------------------------------------------

#: The ``layer_styles`` table's columns, as QGIS creates it in a GeoPackage (and PostGIS, Spatialite).
LAYER_STYLES_COLUMNS = (
    "f_table_catalog",
    "f_table_schema",
    "f_table_name",
    "f_geometry_column",
    "styleName",
    "styleQML",
    "styleSLD",
    "useAsDefault",
    "description",
    "owner",
    "ui",
    "update_time",
)


def layer_styles_table(styles: Mapping[str, LayerStyle], geometry_columns: Mapping[str, str]) -> pd.DataFrame:
    """The ``layer_styles`` rows: per styled layer one default style, QML and SLD.

    Parameters
    ----------
    styles
        Layer name -> style (``quarterhour.gis.qgisstyle.styles_of``).
    geometry_columns
        Layer name -> its geometry column in the GeoPackage (layers missing here get no row).

    Returns
    -------
    pandas.DataFrame
        The rows, ``LAYER_STYLES_COLUMNS`` in order.
    """
    now = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")
    rows = [
        {
            "f_table_catalog": "",
            "f_table_schema": "",
            "f_table_name": name,
            "f_geometry_column": geometry_columns[name],
            "styleName": name,
            "styleQML": qml(style),
            "styleSLD": sld(style),
            "useAsDefault": True,
            "description": style.title,
            "owner": "",
            "ui": None,
            "update_time": now,
        }
        for name, style in styles.items()
        if name in geometry_columns
    ]
    table = pd.DataFrame(rows, columns=list(LAYER_STYLES_COLUMNS))
    return table.astype({"useAsDefault": bool, "update_time": "datetime64[ms]", "ui": object})
