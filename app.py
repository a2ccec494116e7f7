"""quarterhour (一刻钟) — the planner's map: who lives within a 15-minute walk of a service point.

Run with ``streamlit run app.py``; with no upload it opens on the bundled sample.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import streamlit as st
import streamlit.components.v1 as components

from analysis import columns as C
from analysis.gaps import CELL_M
from analysis.pipeline import CircleResult, run_circle
from geo import CATEGORIES, LEVELS, InputError, StreetNetwork, load_sample, read_boundaries
from geo.io import SAMPLE_DIR
from quarterhour.export import gpkg_bytes
from quarterhour.i18n import LANGS, t
from quarterhour.webmap import build_map, map_html

log = logging.getLogger("quarterhour.app")
GAP_CELL_M = CELL_M
LIFE_CIRCLE_BANDS = (5.0, 10.0, 15.0)  # GB 50180-2018: drawn below the chosen threshold


@st.cache_resource(show_spinner=False)
def load_data(sample_dir: str) -> tuple[StreetNetwork, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The bundled sample, read and projected once per server (keyed by its folder)."""
    del sample_dir  # the key: geo.load_sample reads that folder
    return load_sample()


@st.cache_resource(show_spinner=False, max_entries=8)
def load_boundaries(sample_dir: str, source: str) -> dict[str, gpd.GeoDataFrame]:
    """Review units: "sample", a bundled set ("luoyang"), or an uploaded file's path (named by its content)."""
    network = load_data(sample_dir)[0]
    path = Path(sample_dir) / "boundaries.geojson" if source == "sample" else source
    return {level: gdf.to_crs(network.crs) for level, gdf in read_boundaries(path).items()}


@st.cache_resource(show_spinner=False, max_entries=32)
def compute(sample_dir: str, units: str, minutes: float, speed_kmh: float, categories: tuple[str, ...]) -> CircleResult:
    """One analysis run; cached on every input, so only what changed is recomputed."""
    network, facilities, demand = load_data(sample_dir)
    boundaries = load_boundaries(sample_dir, units)
    chosen = facilities[facilities["category"].isin(categories)]
    bands = [b for b in LIFE_CIRCLE_BANDS if b < minutes]
    return run_circle(
        network,
        chosen,
        demand,
        minutes=minutes,
        bands=bands,
        boundaries=boundaries,
        speed_kmh=speed_kmh,
        gap_cell_m=GAP_CELL_M,
    )


@st.cache_data(show_spinner=False, max_entries=32)
def render_map(
    sample_dir: str,
    units: str,
    minutes: float,
    speed_kmh: float,
    categories: tuple[str, ...],
    lang: str,
    basemap: bool,
) -> str:
    network = load_data(sample_dir)[0]
    result = compute(sample_dir, units, minutes, speed_kmh, categories)
    return map_html(build_map(result, network, lang=lang, basemap=basemap, gap_cell_m=GAP_CELL_M))


@st.cache_data(show_spinner=False, max_entries=8)
def layers_gpkg(sample_dir: str, units: str, minutes: float, speed_kmh: float, categories: tuple[str, ...]) -> bytes:
    return gpkg_bytes(compute(sample_dir, units, minutes, speed_kmh, categories).layers())


def units_ui(lang: str) -> str:
    """Which review units: the sample's, Luoyang's bundled city and districts, or the planner's own file."""
    choice = st.radio(
        t("units", lang),
        ["sample", "luoyang", "upload"],
        key="units",
        format_func=lambda c: t(f"units_{c}", lang),
    )
    if choice != "upload":
        return choice
    upload = st.file_uploader(t("units_file", lang), type=["geojson", "gpkg", "zip"], key="units_file")
    if upload is None:
        return "sample"
    data = upload.getvalue()
    folder = Path(tempfile.gettempdir()) / "quarterhour-uploads"
    folder.mkdir(exist_ok=True)
    path = folder / f"{hashlib.sha256(data).hexdigest()[:16]}{Path(upload.name).suffix.lower()}"
    if not path.exists():
        path.write_bytes(data)
    return str(path)


def settings_ui() -> dict:
    with st.sidebar:
        lang = st.radio(t("language"), list(LANGS), format_func=LANGS.get, horizontal=True, key="lang")
        st.header(t("settings", lang))
        minutes = st.select_slider(t("threshold", lang), options=[5, 10, 15, 20], value=15, key="minutes")
        speed = st.slider(t("speed", lang), min_value=2.0, max_value=6.0, value=4.5, step=0.1)
        cats = st.multiselect(
            t("categories_used", lang),
            list(CATEGORIES),
            default=list(CATEGORIES),
            format_func=lambda c: CATEGORIES[c][1] if lang == "en" else f"{CATEGORIES[c][0]} {CATEGORIES[c][1]}",
            key="categories",
        )
        units = units_ui(lang)
        basemap = st.toggle(t("basemap", lang), value=False)
        st.caption(t("data_source", lang))
    return {
        "lang": lang,
        "minutes": float(minutes),
        "speed_kmh": float(speed),
        "categories": tuple(cats),
        "basemap": basemap,
        "units": units,
    }


def headline_ui(result: CircleResult, lang: str) -> None:
    s = result.summary
    a, b, c, d = st.columns([3, 2, 2, 2])
    a.metric(t("covered_headline", lang, minutes=s["minutes"]), f"{s['pop_covered']:,.0f} / {s['pop_total']:,.0f}")
    b.metric(t("coverage_rate", lang), f"{s['pct_covered']:.1f}%")
    c.metric(t("uncovered", lang), f"{s['pop_uncovered']:,.0f}")
    d.metric(t("facilities", lang), f"{s['n_facilities_used']:.0f}")
    for line in result.skipped:
        st.warning(f"{t('skipped', lang)}: {line}")


def tables_ui(result: CircleResult, lang: str) -> None:
    left, right = st.columns(2)
    with left:
        st.subheader(t("gap_table", lang))
        gaps = pd.DataFrame(result.gaps.drop(columns=["geometry", C.GAP_ID])).head(10)
        names = {
            C.RANK: t("rank", lang),
            C.POP_UNCOVERED: t("uncovered", lang),
            "n_points": t("n_points", lang),
            C.MINUTES: t("walk_minutes", lang),
            "n_cells": t("n_cells", lang),
            **{lv: (LEVELS[lv][1] if lang == "en" else LEVELS[lv][0]) for lv in LEVELS},
        }
        st.dataframe(gaps.rename(columns=names).round(1), hide_index=True, width="stretch")
    with right:
        st.subheader(t("site_table", lang))
        sites = pd.DataFrame(result.sites.drop(columns="geometry"))
        st.dataframe(
            sites.rename(columns={C.POP_NEW: t("new_covered", lang), C.MINUTES: t("walk_minutes", lang)}),
            hide_index=True,
            width="stretch",
        )


def levels_ui(result: CircleResult, lang: str) -> None:
    """Coverage level by level (市 → 区 → 街道 → 社区), the least covered units first."""
    st.subheader(t("by_level", lang))
    levels = list(result.levels)
    level = st.radio(
        t("level", lang),
        levels,
        index=min(1, len(levels) - 1),
        horizontal=True,
        format_func=lambda lv: LEVELS[lv][1] if lang == "en" else LEVELS[lv][0],
        key="level",
    )
    table = pd.DataFrame(result.levels[level].drop(columns="geometry")).sort_values(C.PCT_COVERED)
    names = {
        "name": t("name", lang),
        C.POP: t("residents", lang),
        C.POP_COVERED: t("covered_residents", lang),
        C.POP_UNCOVERED: t("uncovered", lang),
        C.PCT_COVERED: t("coverage_rate", lang) + " %",
        C.N_FACILITIES: t("facilities", lang),
        C.STATUS: t("status", lang),
        "communities_full": t("communities_full", lang),
        "communities_partly": t("communities_partly", lang),
        "communities_none": t("communities_none", lang),
    }
    for code, (zh, en) in CATEGORIES.items():
        names[C.pct_covered_by(code)] = f"{en if lang == 'en' else zh} %"
    shown = table[[c for c in names if c in table]].rename(columns=names)
    st.dataframe(shown.round(1), hide_index=True, width="stretch")


def main() -> None:
    st.set_page_config(page_title="一刻钟 quarterhour", page_icon="🗺️", layout="wide")
    opts = settings_ui()
    lang = opts["lang"]
    st.title(t("title", lang))
    st.caption(t("subtitle", lang))
    if not opts["categories"]:
        st.info(t("no_facilities", lang))
        return
    key = str(SAMPLE_DIR)
    try:
        with st.spinner("…"):
            args = (key, opts["units"], opts["minutes"], opts["speed_kmh"], opts["categories"])
            result = compute(*args)
            page = render_map(*args, lang, opts["basemap"])
    except InputError as exc:
        st.error(str(exc))
        return
    except Exception as exc:  # a bug: say so plainly, keep the traceback in the server log
        log.exception("analysis failed")
        st.error(f"{t('bug', lang)} {type(exc).__name__}: {exc}")
        return
    headline_ui(result, lang)
    components.html(page, height=640)
    tables_ui(result, lang)
    levels_ui(result, lang)
    st.download_button(
        t("download_gpkg", lang),
        data=layers_gpkg(key, opts["units"], opts["minutes"], opts["speed_kmh"], opts["categories"]),
        file_name=f"coverage_{opts['minutes']:g}min.gpkg",
        mime="application/geopackage+sqlite3",
    )


if __name__ == "__main__":
    main()
