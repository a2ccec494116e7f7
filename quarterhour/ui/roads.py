"""The app's road layers (issue 30): a road layer uploaded as the network, and its coordinate system.

A road layer that does not say its CRS, or an AMap / Baidu export (GCJ-02 / BD-09 lon/lat labelled WGS-84),
is read as the planner says (``geo.roads.read_road_layer``, the CLI's ``--network-crs``) and kept as a copy
in WGS-84 (or in the CRS said), named by its content like every upload: the network's source stays a file.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from geo.errors import InputError
from geo.roads import is_road_layer, read_road_layer
from quarterhour.i18n import both, error_words, t
from quarterhour.ui import state as S
from quarterhour.ui.plain import plain
from quarterhour.ui.uploads import remember_name, shown, store_upload
from quarterhour.ui.values import SAMPLE

__all__ = ["ROAD_TYPES", "road_crs_ui"]

#: The road-layer files the network uploader takes (a Shapefile zipped with its .dbf, .shx, .prj).
ROAD_TYPES = ["zip", "gpkg", "geojson", "json"]
_CHOICES = ["file", "gcj02", "bd09", "epsg"]


def road_crs_ui(source: str, lang: str) -> str:
    """For an uploaded road layer, its coordinate system; the source to use (a copy read as said, if not the file's)."""
    if source == SAMPLE or not is_road_layer(source):
        return source
    choice = st.selectbox(t("road_crs", lang), _CHOICES, key=S.NETWORK_CRS, format_func=lambda c: both(f"road_crs_{c}"))
    code = choice
    if choice == "file":
        return source
    if choice == "epsg":
        code = st.text_input(t("road_crs_epsg_code", lang), key=S.NETWORK_CRS_EPSG, placeholder="EPSG:4547").strip()
        if not code:
            return source
    name = st.session_state.get(S.UPLOAD_NAMES, {}).get(source, Path(source).name)
    try:
        copy = _read_as(source, code, name)
    except InputError as exc:
        st.error(plain(shown(error_words(exc, lang))))
        return SAMPLE
    remember_name(copy, f"{Path(name).stem} ({code}).gpkg")
    return str(copy)


@st.cache_resource(show_spinner=False, max_entries=8)
def _read_as(source: str, code: str, name: str) -> Path:
    """The road layer read in ``code`` (gcj02, bd09 or an EPSG code) and kept as an upload (a GeoPackage)."""
    layer = read_road_layer(source, code, name)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "roads.gpkg"
        layer.to_file(path, driver="GPKG", engine="pyogrio")
        return store_upload(path.name, path.read_bytes())
