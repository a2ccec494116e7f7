"""The modules the app's readers and writers load lazily, loaded once, under one lock, before a page is drawn.

Streamlit runs each session's script in its own thread. A module that a
library imports only when first used (pandas imports ``openpyxl`` inside
``read_excel``; ``export`` imports ``openpyxl.utils`` when a table is written)
can then be imported by two threads at once; when their imports cross,
Python hands one of them the half-made module, and the page died with
"partially initialized module 'openpyxl' has no attribute 'Workbook'"
(issue 26, item 4). ``warm_imports`` imports them all in one thread while the
others wait on its lock, so no reader ever imports in a script thread.

Examples
--------
>>> warm_imports()
>>> import sys
>>> all(name in sys.modules for name in PRELOADED)
True
"""

from __future__ import annotations

import importlib
import logging
import threading

__all__ = ["PRELOADED", "warm_imports"]

log = logging.getLogger("quarterhour.app")

#: What the readers (CSV, XLSX, GeoJSON, GeoPackage, Shapefile, GeoTIFF, GraphML, OSM) and the
#: writers (downloads, review packs, siting) would otherwise import on first use, in a safe order.
PRELOADED = (
    "openpyxl",
    "openpyxl.workbook",
    "openpyxl.reader.excel",
    "openpyxl.utils",
    "openpyxl.styles",
    "openpyxl.packaging.extended",
    "pandas.io.excel._openpyxl",
    "pandas.io.formats.excel",
    "pandas.io.formats.csvs",
    "pyarrow.pandas_compat",
    "pyarrow.vendored.version",
    "encodings.cp437",
    "encodings.utf_8_sig",
    "encodings.gb18030",
    "pyogrio",
    "pyproj",
    "rasterio",
    "rasterio.warp",
    "rasterio.windows",
    "networkx",
    "scipy.optimize",
    "scipy.spatial",
    "matplotlib",
    "quarterhour.gis.export",
    "quarterhour.pack.report",
    "geo.raster",
)

_lock = threading.Lock()
_done = threading.Event()


def warm_imports() -> None:
    """Import ``PRELOADED`` once for the server; a second session's thread waits until it is done."""
    if _done.is_set():
        return
    with _lock:
        if _done.is_set():
            return
        for name in PRELOADED:
            importlib.import_module(name)
        _done.set()
        log.debug("preloaded %d modules", len(PRELOADED))
