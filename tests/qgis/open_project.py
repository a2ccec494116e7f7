"""Open a review pack's project.qgs with QGIS (run by the system python3 that has ``python3-qgis``).

Usage: ``python3 open_project.py PROJECT.qgs OUT.png``. Prints one JSON line: each layer's name,
whether it is valid and visible, its renderer and class count, and the layout's items;
renders the first print layout to ``OUT.png``. Exit status 1 when the project cannot be read.
"""

import json
import sys

from qgis.core import (
    QgsApplication,
    QgsLayoutExporter,
    QgsProject,
)

app = QgsApplication([], False)
app.initQgis()
project = QgsProject.instance()
ok = project.read(sys.argv[1])
root = project.layerTreeRoot()
layers = []
for node in root.findLayers():
    layer = node.layer()
    info = {"name": node.name(), "valid": bool(layer and layer.isValid()), "visible": node.isVisible()}
    if layer is not None:
        info["source"] = layer.source()
        info["provider"] = layer.providerType()
        renderer = getattr(layer, "renderer", lambda: None)()
        if renderer is not None and hasattr(renderer, "legendSymbolItems"):
            info["renderer"] = renderer.type()
            info["classes"] = len(renderer.legendSymbolItems())
            info["colors"] = [item.symbol().color().name() for item in renderer.legendSymbolItems() if item.symbol()]
        if hasattr(layer, "labelsEnabled"):
            info["labels"] = layer.labelsEnabled()
            if layer.labelsEnabled():
                info["font"] = layer.labeling().settings().format().font().family()
        if hasattr(layer, "featureCount"):
            info["features"] = layer.featureCount()
    layers.append(info)
layouts = project.layoutManager().layouts()
items = []
rendered = None
if layouts:
    layout = layouts[0]
    items = sorted(type(i).__name__ for i in layout.items() if hasattr(i, "uuid"))
    exporter = QgsLayoutExporter(layout)
    settings = QgsLayoutExporter.ImageExportSettings()
    settings.dpi = 110
    rendered = int(exporter.exportToImage(sys.argv[2], settings))
print(
    json.dumps(
        {
            "read": ok,
            "crs": project.crs().authid(),
            "layers": layers,
            "layouts": [lay.name() for lay in layouts],
            "items": items,
            "rendered": rendered,
            "absolute": project.readBoolEntry("Paths", "/Absolute")[0],
        },
        ensure_ascii=False,
    )
)
sys.exit(0 if ok else 1)
