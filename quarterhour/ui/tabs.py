"""The main area's results: the headline, and the tabs (gaps and sites, levels, review pack, siting, downloads)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pandas as pd
import streamlit as st

from analysis import columns as C
from analysis.pipeline import CircleResult
from analysis.siting import MODELS, SiteResult
from geo.vocab import CATEGORIES, DEFAULT_NEW_CATEGORY, LEVELS
from quarterhour.gis.export import FILE_SUFFIX, FORMAT_NAMES, LAYER_FORMATS, MIME, TABLE_FORMATS
from quarterhour.gis.outdir import safe_part
from quarterhour.i18n import both, category_name, group_text, level_both, level_name, note_text, t, yardstick_text
from quarterhour.pack.tables import group_columns
from quarterhour.ui import state as S
from quarterhour.ui.files import layer_file, review_pack, table_file
from quarterhour.ui.plain import plain
from quarterhour.ui.rerun import keep_action, keep_parts, kept
from quarterhour.ui.scenario import add_centre
from quarterhour.ui.uploads import shown
from quarterhour.ui.values import Inputs, Params, Plan

__all__ = [
    "downloads_ui",
    "files_deferred",
    "gaps_sites_ui",
    "headline_ui",
    "levels_ui",
    "pack_ui",
    "siting_results_ui",
    "siting_ui",
    "units_line",
]


def headline_ui(result: CircleResult, notes: tuple, lang: str, *, mode: str = "walk") -> None:
    """Residents covered, the rate, those left out, the facilities counted; what was read; what was skipped.

    Parameters
    ----------
    result
        The run.
    notes
        What was read: notes (``geo.notes.Note``) or text, said in ``lang``.
    lang
        ``"zh"`` or ``"en"``.
    mode
        The travel mode (``walk``, ``bike``, ``ebike``), named in the headline.
    """
    s = result.summary
    if s.n_facilities and not s.n_facilities_used:  # nothing can be reached: say why, first
        st.error(
            f"**{t('none_on_network_title', lang)}** — "
            + "；".join(shown(note_text(n, lang)) for n in result.skipped if getattr(n, "key", "") == "none_on_network")
        )
    a, b, c, d = st.columns([3, 2, 2, 2])
    headline = "covered_headline" if mode == "walk" else f"covered_headline_{mode}"
    if s.yardstick.by_distance:
        headline = "covered_headline_m"
    a.metric(t(headline, lang, minutes=s.minutes, walk_m=s.walk_m), f"{s.pop_covered:,.0f} / {s.pop_total:,.0f}")
    b.metric(t("coverage_rate", lang), f"{s.pct_covered:.1f}%")
    c.metric(t("uncovered", lang), f"{s.pop_uncovered:,.0f}")
    d.metric(t("facilities", lang), f"{s.n_facilities_used:.0f}")
    st.caption(f"{t('standard', lang)}{'：' if lang == 'zh' else ': '}{yardstick_text(s.yardstick, s.minutes, lang)}")
    for rate in s.groups:
        st.caption(plain(group_text(rate, s, lang)))
    with st.expander(t("what_was_read", lang)):
        for line in notes:
            st.caption(plain(shown(note_text(line, lang))))
    for line in result.skipped:
        if getattr(line, "key", "") != "none_on_network":
            st.warning(f"{t('skipped', lang)}{'：' if lang == 'zh' else ': '}{plain(shown(note_text(line, lang)))}")


def units_line(source: str, units: dict, lang: str) -> str:
    """The review units read: the file (or the bundled set), and its levels with their unit counts."""
    levels = ("、" if lang == "zh" else ", ").join(
        t("units_level_count", lang, level=level_name(level, lang), n=len(table)) for level, table in units.items()
    )
    name = (
        Path(source).name
        if source not in ("sample", "luoyang", "sample_grid")
        else t("units_bundled", lang, name=t(f"units_{source}", lang))
    )
    return t("units_read", lang, file=name, levels=levels)


def gaps_sites_ui(result: CircleResult, lang: str) -> None:
    """The ranked gap zones and the suggested site."""
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
            **{lv: level_name(lv, lang) for lv in LEVELS},
        }
        st.dataframe(C.whole_persons_shown(gaps).rename(columns=names).round(1), hide_index=True, width="stretch")
        if len(result.gaps):
            st.bar_chart(result.gaps.head(10).set_index(C.GAP_ID)[C.POP_UNCOVERED].rename(t("uncovered", lang)))
    with right:
        st.subheader(t("site_table", lang))
        sites = pd.DataFrame(result.sites.drop(columns="geometry"))
        st.dataframe(
            C.whole_persons_shown(sites).rename(columns=site_columns(lang)).round(1),
            hide_index=True,
            width="stretch",
        )


def levels_ui(result: CircleResult, lang: str) -> None:
    """Drill down 市 → 区 → 街道 → 社区 → 网格: pick a unit, see the units inside it, least covered first."""
    st.subheader(t("by_level", lang))
    levels = list(result.levels)
    level = st.radio(
        t("level", lang),
        levels,
        index=min(1, len(levels) - 1),
        horizontal=True,
        format_func=level_both,
        key=S.LEVEL,
        **kept(S.PART_LEVELS),  # issue 29: a change during an unfinished page run is drawn, not only stored
    )
    table = result.levels[level]
    above = levels[levels.index(level) - 1] if levels.index(level) > 0 else None
    if above and len(result.levels[above]) > 1:
        parents = result.levels[above]
        choice = st.selectbox(
            t("within", lang, level=level_name(above, lang)),
            ["*", *parents["code"]],
            format_func=lambda c: both("all_units") if c == "*" else f"{c} {parents.set_index('code').loc[c, 'name']}",
            key=S.within_key(level),
            placeholder=t("choose_one", lang),
            **kept(S.PART_LEVELS),
        )
        if choice != "*":
            parent = parents.set_index("code").loc[choice, "geometry"]
            table = table[table.representative_point().within(parent)]
    table = pd.DataFrame(table.drop(columns="geometry")).sort_values(C.PCT_COVERED)
    names = {
        "name": t("name", lang),
        C.POP: t("residents", lang),
        C.POP_COVERED: t("covered_residents", lang),
        C.POP_UNCOVERED: t("uncovered", lang),
        C.PCT_COVERED: t("coverage_rate", lang) + " %",
        C.N_FACILITIES: t("facilities", lang),
        C.N_FACILITIES_OFF: t("facilities_off", lang),
        C.STATUS: t("status", lang),
        "communities_full": t("communities_full", lang),
        "communities_partly": t("communities_partly", lang),
        "communities_none": t("communities_none", lang),
        **{f"grids_{s}": t(f"grids_{s}", lang) for s in ("full", "partly", "none")},  # issue 30: a community's grids
    }
    for code in CATEGORIES:
        names[C.pct_covered_by(code)] = f"{category_name(code, lang)} %"
    names |= group_columns(result.summary.groups, lang)  # each population group's rate beside the total
    shown = C.whole_persons_shown(table[[c for c in names if c in table]]).rename(columns=names)
    st.dataframe(shown.round(1), hide_index=True, width="stretch")
    if len(table) > 1:
        st.bar_chart(table.set_index("name")[C.PCT_COVERED].rename(t("coverage_rate", lang) + " %"), horizontal=True)


def pack_ui(inputs: Inputs, units: str, params: Params, result: CircleResult, lang: str) -> None:
    """The review pack for the unit on screen, as ``quarterhour report`` writes it."""
    st.subheader(t("pack", lang))
    level = st.session_state.get(S.LEVEL, "district")
    if level not in result.levels:
        level = next(iter(result.levels))
    table = result.levels[level]
    names = dict(zip(table["code"], table["name"], strict=True))
    code = st.selectbox(
        t("pack_unit", lang),
        list(names),
        format_func=lambda c: f"{c} {names[c]}",
        key=S.pack_unit_key(level),
        placeholder=t("choose_one", lang),
        **kept(S.PART_LEVELS),
    )
    st.caption(t("pack_help", lang))
    st.button(t("pack_make", lang), key=S.PACK_MAKE, on_click=_want_pack, args=((level, code),))
    if st.session_state.get(S.PACK) == (level, code):
        with st.spinner(t("computing", lang)):
            data_zip = review_pack(inputs, units, params, level=level, code=code, lang=lang)
        st.download_button(
            t("pack_download", lang, name=plain(names[code])),
            data=data_zip,
            file_name=safe_part(f"review_{level}_{code}", fallback="review") + ".zip",
            mime="application/zip",
            key=S.PACK_DOWNLOAD,
        )


def _want_pack(which: tuple[str, str]) -> None:
    """'生成审阅包' (a callback, issue 29): the pack of the unit the page showed is asked for."""
    st.session_state[S.PACK] = which
    keep_action(S.PART_LEVELS)


def siting_ui(lang: str) -> Plan | None:
    """The siting panel's inputs; the model runs when the planner asks (it can take seconds)."""
    st.subheader(t("siting", lang))
    a, b, c, e = st.columns(4)
    model = a.selectbox(  # issue 29: each choice ends in keep_action, drawn when it meets an unfinished page run
        t("model", lang),
        MODELS,
        index=MODELS.index("mclp"),
        key=S.MODEL,
        format_func=lambda m: both(f"model_name_{m}"),
        **kept(S.PART_SITING),
    )
    a.caption(t(f"model_{model}", lang))
    b.number_input(t("new_centres", lang), min_value=1, max_value=20, value=3, key=S.K, **kept(S.PART_SITING))
    c.slider(
        t("target", lang), min_value=0.5, max_value=1.0, value=0.95, step=0.01, key=S.TARGET, **kept(S.PART_SITING)
    )
    e.number_input(
        t("spacing_m", lang),
        min_value=25,
        max_value=2000,
        value=200,
        step=25,
        key=S.SPACING,
        help=t("spacing_help", lang),
        **kept(S.PART_SITING),
    )
    # Set in the button's callback, before the page runs again: the map above draws the sites in the same run.
    st.button(t("run_siting", lang), key=S.RUN_SITING, on_click=_set_plan)
    return st.session_state.get(S.PLAN)


def _set_plan() -> None:
    st.session_state[S.PLAN] = Plan(
        st.session_state[S.MODEL],
        int(st.session_state[S.K]),
        float(st.session_state[S.TARGET]),
        float(st.session_state[S.SPACING]),
    )
    keep_parts(S.PART_MAP, S.PART_SITING)  # issue 29: the map draws the sites; the rest of the page stays


def _sites_to_scenario(lonlat: tuple[tuple[float, float], ...], lang: str) -> None:
    """'加入方案' (a callback, issue 29): the sites the page showed join the scenario; the map's part draws them."""
    for lon, lat in lonlat:
        add_centre(lon, lat, DEFAULT_NEW_CATEGORY, lang)
    keep_parts(S.PART_MAP, S.PART_SITING)


def siting_results_ui(result: SiteResult, lang: str, *, mode: str = "walk") -> None:
    """Coverage before and after the new sites, the sites, the coverage curve; the sites can join the scenario."""
    s = result.solution
    a, b, c = st.columns(3)
    a.metric(t("before", lang), f"{result.before:,.0f} ({100 * result.before / result.total:.1f}%)")
    b.metric(
        t("after", lang),
        f"{result.after:,.0f} ({100 * result.after / result.total:.1f}%)",
        f"+{result.after - result.before:,.0f}",
    )
    c.metric(t("solver", lang), solver_text(s.method, s.optimal, s.gap, lang))
    table = C.whole_persons_shown(pd.DataFrame(result.sites.drop(columns="geometry")))
    st.dataframe(table.rename(columns=site_columns(lang, mode)).round(1), hide_index=True, width="stretch")
    if len(result.curve):
        st.caption(t("curve", lang))
        st.line_chart(result.curve.set_index("k")[["pct_covered"]].rename(columns={"pct_covered": "%"}))
    if len(result.sites):
        lonlat = tuple((p.x, p.y) for p in result.sites.to_crs(4326).geometry)
        st.button(
            t("sites_to_scenario", lang), key=S.SITES_TO_SCENARIO, on_click=_sites_to_scenario, args=(lonlat, lang)
        )
    if result.useful_k is not None:
        st.info(t("sites_stop_helping", lang, n=result.useful_k))
    if result.unreached > result.no_corner:
        st.warning(t("unreached_grid", lang, pop=result.unreached - result.no_corner))
    if result.no_corner:
        st.warning(t("unreached_off_network", lang, pop=result.no_corner))
    if result.after == result.before and not result.unreached:
        st.info(t("nothing_left", lang))
    said = {
        "sites_stop_helping",
        "unreached_grid",
        "unreached_off_network",
        "nothing_left",
    }  # said above, in the app's words
    for line in result.notes:
        if getattr(line, "key", None) not in said:  # the rest as they come (solver limits, candidates left out)
            st.info(plain(note_text(line, lang)))


def solver_text(method: str, optimal: bool, gap: float, lang: str) -> str:
    """How the siting answer was found, in the planner's words (not "greedy ✓").

    Examples
    --------
    >>> solver_text("milp", True, 0.0, "zh"), solver_text("greedy", False, 0.012, "en")
    ('整数规划（HiGHS）：已证最优', 'greedy: within 1.2% of the optimum')
    """
    name = t(f"solver_method_{method}", lang) if method in ("milp", "greedy") else method
    if optimal:
        return t("solver_optimal", lang, method=name)
    if gap == gap:  # known (NaN: unknown)
        return t("solver_gap", lang, method=name, gap=gap)
    return t("solver_unproven", lang, method=name)


def site_columns(lang: str, mode: str = "walk") -> dict[str, str]:
    """The siting tables' column names in ``lang``: ids, the figures, the units by their level's name."""
    return {
        "site_id": t("col_site_id", lang),
        "candidate_id": t("col_candidate_id", lang),
        "order": t("col_order", lang),
        "code": t("col_code", lang),
        "name": t("name", lang),
        "lon": t("col_lon", lang),
        "lat": t("col_lat", lang),
        C.POP_NEW: t("new_covered", lang),
        C.POP_SERVED: t("site_served", lang),
        C.MINUTES_SAVED: t("site_saved_each", lang),
        C.POP_MINUTES_SAVED: t("site_saved_total", lang),
        C.POP_COVERED: t("col_pop_covered", lang),
        C.PCT_COVERED: t("col_pct_covered", lang),
        C.MINUTES: t("walk_minutes" if mode == "walk" else f"minutes_{mode}", lang),
        **{lv: level_name(lv, lang) for lv in LEVELS},
    }


def downloads_ui(inputs: Inputs, units: str, params: Params, result: CircleResult, lang: str) -> None:
    """Every layer as GeoPackage, GeoJSON or zipped Shapefile; every table as CSV or XLSX; provenance inside.

    A city's layer files (``files_deferred``) are made when their button is pressed, not on the page's run.
    """
    minutes = params.minutes
    # issue 29 (city-upload): a city's layers need each facility's own reach (``compute_files``: 16 s of CPU at
    # 100k nodes) that the map does not: made on the press, off the run that shows the city's map
    layer = partial(_later if files_deferred(result) else _now, layer_file, lang=lang)
    st.download_button(
        t("download_gpkg", lang),
        data=layer(inputs, units, params, "all", "gpkg"),
        file_name=f"coverage_{minutes:g}min.gpkg",
        mime=MIME["gpkg"],
        key=S.DOWNLOAD_ALL,
    )
    left, right = st.columns(2)
    with left:
        st.markdown(f"**{t('one_layer', lang)}**")
        name = st.selectbox(t("layer", lang), list(result.layers()), key=S.DL_LAYER, placeholder=t("choose_one", lang))
        fmt = st.radio(t("format", lang), LAYER_FORMATS, format_func=FORMAT_NAMES.get, horizontal=True, key=S.DL_FMT)
        st.download_button(
            t("download", lang),
            data=layer(inputs, units, params, name, fmt),
            file_name=f"{name}_{minutes:g}min.{FILE_SUFFIX[fmt]}",
            mime=MIME[fmt],
            key=S.DOWNLOAD_LAYER,
        )
    with right:
        st.markdown(f"**{t('one_table', lang)}**")
        name = st.selectbox(t("table", lang), list(result.tables()), key=S.DL_TABLE, placeholder=t("choose_one", lang))
        fmt = st.radio(t("format", lang), TABLE_FORMATS, format_func=FORMAT_NAMES.get, horizontal=True, key=S.DL_TFMT)
        st.download_button(
            t("download", lang),
            data=table_file(inputs, units, params, name, fmt),
            file_name=f"{name}_{minutes:g}min.{FILE_SUFFIX[fmt]}",
            mime=MIME[fmt],
            key=S.DOWNLOAD_TABLE,
        )
    st.caption(t("provenance_note", lang))


# --- issue 29: city-upload ---
def files_deferred(result: CircleResult) -> bool:
    """Whether the run's layer files are made when asked for (a city's: each facility's reach is still to draw)."""
    return not len(result.isochrones) and bool(result.summary.n_facilities_used)


def _now(make, *args, **kwargs) -> bytes:
    """``make(*args, **kwargs)``, made now."""
    return make(*args, **kwargs)


def _later(make, *args, **kwargs):
    """``make(*args, **kwargs)`` to be made when a download button is pressed (Streamlit's deferred data)."""
    return partial(make, *args, **kwargs)
