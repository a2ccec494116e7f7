"""The app's gated compounds (issue 30): the coordinate system of the compounds and gates uploaded.

As the CLI's ``--compounds-crs``: read as the files say (``auto``; the notes say when the compounds sit
closer to the streets in another system), or the planner's choice, GCJ-02 (高德 AOIs and entrances) or BD-09
(百度). A choice is applied once, to copies in WGS-84 kept as uploads (named by their content, like every
upload): the walls' sources stay files, so a project walled by converted compounds is its own project.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from geo.errors import InputError
from quarterhour.i18n import both, error_words, t
from quarterhour.ui import state as S
from quarterhour.ui.plain import plain
from quarterhour.ui.uploads import remember_name, shown, store_upload
from quarterhour.ui.values import SAMPLE

__all__ = ["walls_crs_ui"]

_CHOICES = ["auto", "gcj02", "bd09"]
_OSM = (".osm", ".pbf")


def walls_crs_ui(compounds: str, gates: str, lang: str) -> tuple[str, str]:
    """For uploaded compounds (and gates), their coordinate system; the sources to use (WGS-84 copies if chosen)."""
    if compounds == SAMPLE or Path(compounds).suffix.lower() in _OSM:  # OpenStreetMap is WGS-84
        return compounds, gates
    choice = st.selectbox(t("compounds_crs", lang), _CHOICES, key=S.COMPOUNDS_CRS, format_func=_label)
    if choice == "auto":
        return compounds, gates
    names = st.session_state.get(S.UPLOAD_NAMES, {})
    gates_in = None if gates == SAMPLE else gates
    try:
        copies = _read_as(compounds, gates_in, choice)
    except InputError as exc:
        st.error(plain(shown(error_words(exc, lang))))
        return compounds, gates
    for source, copy in zip((compounds, gates_in), copies, strict=True):
        if copy is not None:
            remember_name(copy, f"{Path(names.get(source, Path(source).name)).stem} ({choice}).gpkg")
    return str(copies[0]), str(copies[1]) if copies[1] is not None else gates


def _label(choice: str) -> str:
    return both("crs_auto_file" if choice == "auto" else f"crs_{choice}")


@st.cache_resource(show_spinner=False, max_entries=8)
def _read_as(compounds: str, gates: str | None, system: str) -> tuple[Path, Path | None]:
    """The compounds (and gates) read in ``system`` and kept as uploads in WGS-84 (GeoPackages)."""
    from geo.compounds import read_walls

    walls = read_walls(compounds, gates, system=system)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, layer in (("compounds.gpkg", walls.compounds), ("gates.gpkg", walls.gates)):
            if layer is None:  # no gates given (compounds chosen here are never an OSM file holding them)
                out.append(None)
                continue
            path = Path(tmp) / name
            layer.to_crs(4326).to_file(path, driver="GPKG", engine="pyogrio")
            out.append(store_upload(path.name, path.read_bytes()))
    return out[0], out[1]
