"""Run by QGIS's own Python: the colour QGIS gives each facility of a GeoPackage by its default style (issue 31).

Usage: ``/usr/bin/python3 hours_style.py LAYERS.gpkg``; prints one JSON line: {facility_id: "#rrggbb"}.
"""

import json
import sys

from qgis.core import (
    QgsApplication,
    QgsExpressionContext,
    QgsExpressionContextUtils,
    QgsRenderContext,
    QgsVectorLayer,
)

app = QgsApplication([], False)
app.initQgis()
layer = QgsVectorLayer(f"{sys.argv[1]}|layername=facilities", "facilities", "ogr")
layer.loadDefaultStyle()
renderer = layer.renderer()
ctx = QgsRenderContext()
ctx.setExpressionContext(QgsExpressionContext(QgsExpressionContextUtils.globalProjectLayerScopes(layer)))
renderer.startRender(ctx, layer.fields())
colors = {}
for feature in layer.getFeatures():
    ctx.expressionContext().setFeature(feature)
    symbol = renderer.symbolForFeature(feature, ctx)
    colors[feature["facility_id"]] = symbol.color().name() if symbol else None
renderer.stopRender(ctx)
print(json.dumps(colors))
