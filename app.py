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

from analysis import columns as C
from analysis.gaps import CELL_M
from analysis.pipeline import CircleResult, run_circle
from analysis.siting import MODELS, SiteResult, plan_sites
from geo import CATEGORIES, LEVELS, InputError, StreetNetwork, load_sample, read_boundaries, snap_points
from geo.io import SAMPLE_DIR
from quarterhour.export import gpkg_bytes
from quarterhour.i18n import LANGS, both, t
from quarterhour.webmap import build_map, map_html

log = logging.getLogger("quarterhour.app")
GAP_CELL_M = CELL_M
#: Choices keep one label in both languages: Streamlit keys a choice by its label, and a label
#: that changed with the language would lose the planner's choice.
MODEL_NAMES = {"mclp": "最大覆盖 MCLP", "lscp": "集合覆盖 LSCP", "pmedian": "p 中值 p-median"}
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
    plan: tuple | None = None,
) -> str:
    network = load_data(sample_dir)[0]
    result = compute(sample_dir, units, minutes, speed_kmh, categories)
    planned = siting(sample_dir, units, minutes, speed_kmh, categories, *plan) if plan else None
    return map_html(
        build_map(
            result,
            network,
            lang=lang,
            basemap=basemap,
            gap_cell_m=GAP_CELL_M,
            sites=planned.sites if planned else None,
            site_reach=planned.isochrones if planned else None,
        )
    )


@st.cache_resource(show_spinner=False, max_entries=16)
def siting(
    sample_dir: str,
    units: str,
    minutes: float,
    speed_kmh: float,
    categories: tuple[str, ...],
    model: str,
    k: int,
    target: float,
) -> SiteResult:
    """A siting model on the current coverage: grid candidates every 200 m, coverage curve to 10."""
    network = load_data(sample_dir)[0]
    result = compute(sample_dir, units, minutes, speed_kmh, categories)
    return plan_sites(
        network,
        result.demand,
        snap_points(result.demand, network),
        model=model,
        k=k,
        target=target,
        minutes=minutes,
        speed_kmh=speed_kmh,
        spacing_m=200,
        curve_k=10,
        time_limit_s=20,
        boundaries=load_boundaries(sample_dir, units),
    )


def siting_ui(lang: str) -> tuple | None:
    """The siting panel's inputs; the model runs when the planner asks (it can take seconds)."""
    st.subheader(t("siting", lang))
    a, b, c = st.columns(3)
    model = a.selectbox(t("model", lang), MODELS, index=MODELS.index("mclp"), key="model", format_func=MODEL_NAMES.get)
    a.caption(t(f"model_{model}", lang))
    k = b.number_input(t("new_centres", lang), min_value=1, max_value=20, value=3, key="k")
    target = c.slider(t("target", lang), min_value=0.5, max_value=1.0, value=0.95, step=0.01, key="target")
    if st.button(t("run_siting", lang), key="run_siting"):
        st.session_state["plan"] = (model, int(k), float(target))
    return st.session_state.get("plan")


def siting_results_ui(result: SiteResult, lang: str) -> None:
    s = result.solution
    a, b, c = st.columns(3)
    a.metric(t("before", lang), f"{result.before:,.0f} ({100 * result.before / result.total:.1f}%)")
    b.metric(
        t("after", lang),
        f"{result.after:,.0f} ({100 * result.after / result.total:.1f}%)",
        f"+{result.after - result.before:,.0f}",
    )
    c.metric(t("solver", lang), s.method + (" ✓" if s.optimal else f" gap {s.gap:.1%}"))
    table = pd.DataFrame(result.sites.drop(columns="geometry"))
    names = {C.POP_NEW: t("new_covered", lang), C.MINUTES: t("walk_minutes", lang)}
    st.dataframe(table.rename(columns=names).round(1), hide_index=True, width="stretch")
    if len(result.curve):
        st.caption(t("curve", lang))
        st.line_chart(result.curve.set_index("k")[["pct_covered"]].rename(columns={"pct_covered": "%"}))
    for line in result.notes:
        st.info(line)


@st.cache_data(show_spinner=False, max_entries=8)
def layers_gpkg(sample_dir: str, units: str, minutes: float, speed_kmh: float, categories: tuple[str, ...]) -> bytes:
    return gpkg_bytes(compute(sample_dir, units, minutes, speed_kmh, categories).layers())


def units_ui(lang: str) -> str:
    """Which review units: the sample's, Luoyang's bundled city and districts, or the planner's own file."""
    choice = st.radio(
        t("units", lang),
        ["sample", "luoyang", "upload"],
        key="units",
        format_func=lambda c: both(f"units_{c}"),
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
            format_func=lambda c: f"{CATEGORIES[c][0]} {CATEGORIES[c][1]}",  # the same in both languages
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
        format_func=lambda lv: f"{LEVELS[lv][0]} {LEVELS[lv][1]}",
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
    args = (key, opts["units"], opts["minutes"], opts["speed_kmh"], opts["categories"])
    try:
        with st.spinner("…"):
            result = compute(*args)
        headline_ui(result, lang)
        map_slot = st.container()  # filled last: the siting panel below may add its sites to the map
        tables_ui(result, lang)
        levels_ui(result, lang)
        plan = siting_ui(lang)
        if plan:
            try:
                with st.spinner("…"):
                    siting_results_ui(siting(*args, *plan), lang)
            except InputError as exc:  # e.g. a target no candidate set can reach: it says how far
                st.error(str(exc))
                plan = None
        with map_slot:
            st.iframe(render_map(*args, lang, opts["basemap"], plan), height=640)
        st.download_button(
            t("download_gpkg", lang),
            data=layers_gpkg(*args),
            file_name=f"coverage_{opts['minutes']:g}min.gpkg",
            mime="application/geopackage+sqlite3",
        )
    except InputError as exc:
        st.error(str(exc))
    except Exception as exc:  # a bug: say so plainly, keep the traceback in the server log
        log.exception("analysis failed")
        st.error(f"{t('bug', lang)} {type(exc).__name__}: {exc}")


if __name__ == "__main__":
    main()
