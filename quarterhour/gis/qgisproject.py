"""A QGIS project for a review pack's unit: ``project.qgs`` beside ``layers.gpkg``, opened by a double-click.

Every layer of the unit's GeoPackage, in the order a map is read (new sites and
facilities on top, the units' coverage at the bottom), each by a path relative
to the project (``./layers.gpkg|layername=…``), so the folder can be moved, zipped
and opened anywhere without a missing-layer dialog; styled as the GeoPackage's
default styles (``quarterhour.gis.qgisstyle``), so the map looks like the pack's PNG.
Below them the OpenStreetMap tiles as an XYZ layer, off by default (nothing is
fetched until a reviewer turns it on: the project opens offline). The view is the
unit's extent, and a print layout holds the map with its title, legend, scale
bar, north arrow and the provenance (what produced the layers).

The file is plain XML in QGIS 3's project format, checked by loading it with
QGIS 3.22 (Debian bookworm's ``python3-qgis``) in ``tests/test_qgis.py``.
"""

from __future__ import annotations

import hashlib
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pyproj

from geo.vocab import LEVELS
from quarterhour.gis.qgisstyle import LABEL_FONT, LayerStyle, styles_of
from quarterhour.gis.qgisxml import QGIS_VERSION, labeling_element, renderer_element
from quarterhour.i18n import t

__all__ = ["OSM_XYZ", "ProjectLayer", "pack_layers", "project_qgs"]

#: The OpenStreetMap standard tiles as QGIS's XYZ source (the layer is off when the project opens).
OSM_XYZ = "type=xyz&url=https://tile.openstreetmap.org/{z}/{x}/{y}.png&zmax=19&zmin=0"
_WEB_MERCATOR = 3857
#: The print layout: A4 landscape, the map on the left, legend and provenance on the right (millimetres).
_PAGE = (297.0, 210.0)
_MAP = (10.0, 20.0, 185.0, 180.0)  # x, y, width, height
_SIDE_X, _SIDE_W = 200.0, 87.0
# QGIS's layout item types (QgsLayoutItemRegistry: QGraphicsItem.UserType + 100 + n)
_PAGE_ITEM, _MAP_ITEM, _PICTURE, _LABEL, _LEGEND, _SCALEBAR = 65638, 65639, 65640, 65641, 65642, 65646
_NORTH_ARROW = ":/images/north_arrows/layout_default_north_arrow.svg"  # built into QGIS 3


@dataclass(frozen=True)
class ProjectLayer:
    """One layer of the GeoPackage in the project: its name there, its style, and whether it starts visible."""

    name: str
    style: LayerStyle
    visible: bool = True


#: The pack's layers, top of the map first; below them the coverage layers, the deepest level first.
_ORDER = ("sites", "facilities", "demand", "site_isochrones", "gaps", "isochrones", "streets")


def pack_layers(layers: Mapping[str, object], *, level: str, lang: str = "zh", ys: object = None) -> list[ProjectLayer]:
    """A unit's layers in the project, top of the map first; the levels below the unit's start off.

    Parameters
    ----------
    layers
        The unit's GeoPackage layers (``quarterhour.pack.tables.unit_layers``).
    level
        The unit's level: its ``coverage_<level>`` is shown, the levels below are listed, off.
    lang
        ``"zh"`` or ``"en"``.
    ys
        The run's ``analysis.yardstick.Yardstick``, naming the reach bands (``quarterhour.gis.qgisstyle.styles_of``).
    """
    styles = styles_of(layers, lang=lang, ys=ys)
    depth = {f"coverage_{lvl}": i for i, lvl in enumerate(LEVELS)}
    coverage = sorted((n for n in styles if n in depth), key=depth.__getitem__, reverse=True)
    rest = [n for n in styles if n not in _ORDER and n not in depth]
    names = [*(n for n in _ORDER if n in styles), *rest, *coverage]
    return [ProjectLayer(n, styles[n], visible=n not in depth or n == f"coverage_{level}") for n in names]


def _uid(name: str) -> str:
    """A layout item's id: a UUID made from its name, the same in every project."""
    return "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"quarterhour:{name}")) + "}"


def _layer_id(name: str) -> str:
    return f"{name}_{hashlib.sha1(name.encode()).hexdigest()[:12]}"


def _crs_element(parent: ET.Element, crs: pyproj.CRS) -> None:
    """A ``spatialrefsys`` element: WKT first (QGIS 3 reads it), the authority code and PROJ string too."""
    srs = ET.SubElement(parent, "spatialrefsys", nativeFormat="Wkt")
    auth = crs.to_authority() or ("", "")
    for tag, text in (
        ("wkt", crs.to_wkt()),
        ("proj4", ""),  # the WKT says it all (a PROJ string loses datum details)
        ("srsid", "0"),
        ("srid", auth[1] if auth[0] == "EPSG" else "0"),
        ("authid", ":".join(auth) if auth[0] else ""),
        ("description", crs.name),
        ("projectionacronym", ""),
        ("ellipsoidacronym", ""),
        ("geographicflag", "true" if crs.is_geographic else "false"),
    ):
        ET.SubElement(srs, tag).text = text


def _extent(parent: ET.Element, box: Sequence[float], tag: str = "extent") -> None:
    el = ET.SubElement(parent, tag)
    for k, v in zip(("xmin", "ymin", "xmax", "ymax"), box, strict=True):
        ET.SubElement(el, k).text = f"{v:.3f}"


def _tree_layer(parent: ET.Element, name: str, title: str, source: str, provider: str, *, visible: bool) -> None:
    node = ET.SubElement(
        parent,
        "layer-tree-layer",
        id=_layer_id(name),
        name=title,
        source=source,
        providerKey=provider,
        checked="Qt::Checked" if visible else "Qt::Unchecked",
        expanded="1" if visible else "0",
    )
    ET.SubElement(node, "customproperties")


def _vector_layer(parent: ET.Element, layer: ProjectLayer, source: str, crs: pyproj.CRS) -> None:
    style = layer.style
    geometry = {"point": "Point", "line": "Line", "polygon": "Polygon"}[style.geometry]
    wkb = {"point": "Point", "line": "MultiLineString", "polygon": "MultiPolygon"}[style.geometry]
    el = ET.SubElement(
        parent,
        "maplayer",
        type="vector",
        geometry=geometry,
        wkbType=wkb,
        labelsEnabled="1" if style.labels else "0",
        hasScaleBasedVisibilityFlag="0",
        minScale="100000000",
        maxScale="0",
        readOnly="0",
        styleCategories="AllStyleCategories",
    )
    ET.SubElement(el, "id").text = _layer_id(layer.name)
    ET.SubElement(el, "datasource").text = source
    ET.SubElement(el, "layername").text = style.title
    _crs_element(ET.SubElement(el, "srs"), crs)
    ET.SubElement(el, "provider", encoding="UTF-8").text = "ogr"
    el.append(renderer_element(style))
    labeling = labeling_element(style)
    if labeling is not None:
        el.append(labeling)
    for tag, value in (("blendMode", "0"), ("featureBlendMode", "0"), ("layerOpacity", f"{style.opacity:g}")):
        ET.SubElement(el, tag).text = value


def _basemap_layer(parent: ET.Element, title: str) -> None:
    el = ET.SubElement(
        parent, "maplayer", type="raster", hasScaleBasedVisibilityFlag="0", minScale="1e+08", maxScale="0"
    )
    ET.SubElement(el, "id").text = _layer_id("osm")
    ET.SubElement(el, "datasource").text = OSM_XYZ
    ET.SubElement(el, "layername").text = title
    _crs_element(ET.SubElement(el, "srs"), pyproj.CRS(_WEB_MERCATOR))
    ET.SubElement(el, "provider").text = "wms"
    ET.SubElement(el, "attribution").text = "© OpenStreetMap contributors"


def _fitted(box: Sequence[float], width: float, height: float) -> tuple[float, float, float, float]:
    """``box`` with a margin, widened to the frame's shape (``width`` : ``height``), around the same centre."""
    xmin, ymin, xmax, ymax = box
    w, h = max(xmax - xmin, 1.0) * 1.06, max(ymax - ymin, 1.0) * 1.06
    if w / h < width / height:
        w = h * width / height
    else:
        h = w * height / width
    cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
    return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def _font(size: float, *, bold: bool = False) -> str:
    """A Qt font description (family, points, pixels, style hint, weight, …) in the CJK font."""
    return f"{LABEL_FONT},{size:g},-1,5,{75 if bold else 50},0,0,0,0,0"


def _item(parent: ET.Element, kind: int, uid: str, box: Sequence[float], **attrs: str) -> ET.Element:
    x, y, w, h = box
    return ET.SubElement(
        parent,
        "LayoutItem",
        {
            "type": str(kind),
            "uuid": uid,
            "templateUuid": uid,
            "id": attrs.pop("id", ""),
            "position": f"{x:g},{y:g},mm",
            "positionOnPage": f"{x:g},{y:g},mm",
            "size": f"{w:g},{h:g},mm",
            "referencePoint": "0",
            "zValue": attrs.pop("zValue", "1"),
            "visibility": "1",
            "frame": attrs.pop("frame", "false"),
            "background": attrs.pop("background", "false"),
            "opacity": "1",
            **attrs,
        },
    )


def _label(parent: ET.Element, uid: str, box: Sequence[float], text: str, *, size: float, bold: bool = False) -> None:
    item = _item(parent, _LABEL, uid, box, labelText=text, htmlState="0", halign="1", valign="32", marginX="0")
    item.set("marginY", "0")
    ET.SubElement(item, "LabelFont", description=_font(size, bold=bold), style="")
    ET.SubElement(item, "FontColor", red="0", green="0", blue="0", alpha="255")


def _legend(parent: ET.Element, layers: Sequence[ProjectLayer], map_uid: str, lang: str) -> None:
    """The legend of the layers shown when the project opens (the others are listed in the Layers panel)."""
    item = _item(
        parent,
        _LEGEND,
        _uid("legend"),
        (_SIDE_X, _MAP[1], _SIDE_W, 110),
        id="legend",
        title=t("legend", lang),
        map_uuid=map_uid,
        resizeToContents="1",
        symbolWidth="6",
        symbolHeight="4",
        wrapChar="",
        columnCount="2",
        splitLayer="0",
        boxSpace="2",
        legendFilterByAtlas="0",
        background="true",
    )
    styles = ET.SubElement(item, "styles")
    for name, size, bold in (
        ("title", 11, True),
        ("group", 8, True),
        ("subgroup", 8, True),
        ("symbolLabel", 7, False),
    ):
        style = ET.SubElement(styles, "style", name=name, alignment="1", marginTop="1.5")
        ET.SubElement(style, "styleFont", description=_font(size, bold=bold), style="")
    tree = ET.SubElement(item, "layer-tree-group")
    ET.SubElement(tree, "customproperties")
    for layer in layers:
        if layer.visible:
            source = f"./layers.gpkg|layername={layer.name}"
            _tree_layer(tree, layer.name, layer.style.title, source, "ogr", visible=True)


def _layout(root: ET.Element, layers: Sequence[ProjectLayer], box: Sequence[float], texts: Mapping[str, str]) -> None:
    """The print layout: title, the map, legend, scale bar, north arrow and the provenance."""
    lang = texts["lang"]
    layouts = ET.SubElement(root, "Layouts")
    layout = ET.SubElement(layouts, "Layout", name=t("qgis_layout", lang), units="mm", printResolution="300")
    pages = ET.SubElement(layout, "PageCollection")
    _item(pages, _PAGE_ITEM, _uid("page"), (0, 0, *_PAGE), background="true", zValue="0")
    map_uid = _uid("map")
    mapitem = _item(
        layout,
        _MAP_ITEM,
        map_uid,
        _MAP,
        id="map",
        frame="true",
        background="true",
        keepLayerSet="false",
        drawCanvasItems="true",
        mapRotation="0",
    )
    ET.SubElement(
        mapitem, "Extent", {k: f"{v:.3f}" for k, v in zip(("xmin", "ymin", "xmax", "ymax"), box, strict=True)}
    )
    ET.SubElement(mapitem, "LayerSet")
    _label(layout, _uid("title"), (10, 6, 277, 11), texts["title"], size=16, bold=True)
    _legend(layout, layers, map_uid, lang)
    scalebar = _item(
        layout,
        _SCALEBAR,
        _uid("scale bar"),
        (_MAP[0] + 3, _MAP[1] + _MAP[3] - 13, 60, 10),
        id="scale bar",
        mapUuid=map_uid,
        style="Single Box",
        unitType="meters",
        unitLabel="m",
        numSegments="2",
        numSegmentsLeft="0",
        numMapUnitsPerScaleBarUnit="1",
        segmentSizeMode="1",  # fit the segments to a width between the two below
        minBarWidth="30",
        maxBarWidth="50",
        numUnitsPerSegment="100",
        height="2",
        labelBarSpace="2",
        boxContentSpace="1",
        alignment="0",
        background="true",
    )
    scalebar.set("outlineWidth", "0.3")
    north = _item(
        layout,
        _PICTURE,
        _uid("north arrow"),
        (_MAP[0] + _MAP[2] - 16, _MAP[1] + 3, 13, 13),
        id="north arrow",
        file=_NORTH_ARROW,
        mapUuid=map_uid,
        northMode="0",  # grid north of the map's CRS
        northOffset="0",
        resizeMode="0",
        anchorPoint="4",
        zValue="3",
    )
    north.set("pictureRotation", "0")
    _label(
        layout,
        _uid("provenance"),
        (_SIDE_X, 118, _SIDE_W, 82),
        texts["provenance"],
        size=5.5,
    )


def project_qgs(
    layers: Sequence[ProjectLayer],
    *,
    crs: pyproj.CRS,
    bounds: Sequence[float],
    title: str,
    provenance: str,
    lang: str = "zh",
) -> bytes:
    """A QGIS project of a unit's ``layers.gpkg`` (in the same folder): its layers, the view, a print layout.

    Parameters
    ----------
    layers
        The GeoPackage's layers with their styles, top of the map first; those not ``visible`` start off.
    crs
        The layers' (metric) CRS: the project's.
    bounds
        The unit's extent ``(xmin, ymin, xmax, ymax)`` in ``crs``: the view and the layout's map.
    title
        The map's title (the layout's, and the project's).
    provenance
        What produced the layers (parameters, inputs with SHA-256, software, date), one item a line.
    lang
        ``"zh"`` or ``"en"``: the legend's and the basemap's words.

    Returns
    -------
    bytes
        The ``.qgs`` file (UTF-8 XML).
    """
    box = _fitted(bounds, _MAP[2], _MAP[3])
    root = ET.Element("qgis", projectname=title, version=QGIS_VERSION)
    ET.SubElement(root, "homePath", path="")
    ET.SubElement(root, "title").text = title
    _crs_element(ET.SubElement(root, "projectCrs"), crs)
    tree = ET.SubElement(root, "layer-tree-group")
    ET.SubElement(tree, "customproperties")
    basemap = t("qgis_basemap", lang)
    for layer in layers:
        source = f"./layers.gpkg|layername={layer.name}"
        _tree_layer(tree, layer.name, layer.style.title, source, "ogr", visible=layer.visible)
    _tree_layer(tree, "osm", basemap, OSM_XYZ, "wms", visible=False)
    canvas = ET.SubElement(root, "mapcanvas", name="theMapCanvas", annotationsVisible="1")
    ET.SubElement(canvas, "units").text = "meters"
    _extent(canvas, box)
    ET.SubElement(canvas, "rotation").text = "0"
    _crs_element(ET.SubElement(canvas, "destinationsrs"), crs)
    ET.SubElement(root, "projectlayers")
    for layer in layers:
        _vector_layer(root.find("projectlayers"), layer, f"./layers.gpkg|layername={layer.name}", crs)
    _basemap_layer(root.find("projectlayers"), basemap)
    order = ET.SubElement(root, "layerorder")
    for name in [*(layer.name for layer in layers), "osm"]:
        ET.SubElement(order, "layer", id=_layer_id(name))
    props = ET.SubElement(root, "properties")
    ET.SubElement(ET.SubElement(props, "Paths"), "Absolute", type="bool").text = "false"
    ET.SubElement(ET.SubElement(props, "SpatialRefSys"), "ProjectionsEnabled", type="int").text = "1"
    _layout(root, layers, box, {"title": title, "provenance": provenance, "lang": lang})
    ET.indent(root)
    doc = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(root, encoding="unicode")
    return doc.encode("utf-8")
