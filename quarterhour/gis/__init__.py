"""Files for desktop GIS and the ``--out`` folder: exports, Shapefile names, QGIS styles and projects."""
