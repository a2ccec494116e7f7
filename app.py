"""quarterhour (一刻钟) — the planner's map: who lives within a 15-minute walk of a service point.

Run with ``streamlit run app.py``; with no upload it opens on the bundled sample.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import pandas as pd
import streamlit as st
import streamlit.components.v1 as components

from analysis import columns as C
from analysis.gaps import CELL_M
from analysis.pipeline import CircleResult, run_circle
from geo import CATEGORIES, InputError, StreetNetwork, load_sample
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
    del sample_dir  # the key; geo.load_sample reads SAMPLE_DIR
    return load_sample()


@st.cache_resource(show_spinner=False, max_entries=32)
def compute(sample_dir: str, minutes: float, speed_kmh: float, categories: tuple[str, ...]) -> CircleResult:
    """One analysis run; cached on every input, so only what changed is recomputed."""
    network, facilities, demand = load_data(sample_dir)
    chosen = facilities[facilities["category"].isin(categories)]
    bands = [b for b in LIFE_CIRCLE_BANDS if b < minutes]
    return run_circle(network, chosen, demand, minutes=minutes, bands=bands, speed_kmh=speed_kmh, gap_cell_m=GAP_CELL_M)


@st.cache_data(show_spinner=False, max_entries=32)
def render_map(
    sample_dir: str, minutes: float, speed_kmh: float, categories: tuple[str, ...], lang: str, basemap: bool
) -> str:
    network, _, _ = load_data(sample_dir)
    result = compute(sample_dir, minutes, speed_kmh, categories)
    return map_html(build_map(result, network, lang=lang, basemap=basemap, gap_cell_m=GAP_CELL_M))


@st.cache_data(show_spinner=False, max_entries=8)
def layers_gpkg(sample_dir: str, minutes: float, speed_kmh: float, categories: tuple[str, ...]) -> bytes:
    return gpkg_bytes(compute(sample_dir, minutes, speed_kmh, categories).layers())


def settings_ui() -> dict:
    with st.sidebar:
        lang = st.radio(t("language"), list(LANGS), format_func=LANGS.get, horizontal=True)
        st.header(t("settings", lang))
        minutes = st.select_slider(t("threshold", lang), options=[5, 10, 15, 20], value=15)
        speed = st.slider(t("speed", lang), min_value=2.0, max_value=6.0, value=4.5, step=0.1)
        cats = st.multiselect(
            t("categories_used", lang),
            list(CATEGORIES),
            default=list(CATEGORIES),
            format_func=lambda c: CATEGORIES[c][1] if lang == "en" else f"{CATEGORIES[c][0]} {CATEGORIES[c][1]}",
        )
        basemap = st.toggle(t("basemap", lang), value=False)
        st.caption(t("data_source", lang))
    return {
        "lang": lang,
        "minutes": float(minutes),
        "speed_kmh": float(speed),
        "categories": tuple(cats),
        "basemap": basemap,
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
        gaps = pd.DataFrame(result.gaps.drop(columns="geometry")).head(10)
        st.dataframe(
            gaps.rename(
                columns={
                    C.RANK: t("rank", lang),
                    C.POP_UNCOVERED: t("uncovered", lang),
                    C.MINUTES: t("walk_minutes", lang),
                }
            ),
            hide_index=True,
            width="stretch",
        )
    with right:
        st.subheader(t("site_table", lang))
        sites = pd.DataFrame(result.sites.drop(columns="geometry"))
        st.dataframe(
            sites.rename(columns={C.POP_NEW: t("new_covered", lang), C.MINUTES: t("walk_minutes", lang)}),
            hide_index=True,
            width="stretch",
        )


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
            result = compute(key, opts["minutes"], opts["speed_kmh"], opts["categories"])
            page = render_map(key, opts["minutes"], opts["speed_kmh"], opts["categories"], lang, opts["basemap"])
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
    st.download_button(
        t("download_gpkg", lang),
        data=layers_gpkg(key, opts["minutes"], opts["speed_kmh"], opts["categories"]),
        file_name=f"coverage_{opts['minutes']:g}min.gpkg",
        mime="application/geopackage+sqlite3",
    )


if __name__ == "__main__":
    main()
