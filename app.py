"""quarterhour (一刻钟) — the planner's workspace: who lives within a 15-minute walk of a service point.

Run with ``streamlit run app.py``; with no upload it opens on the bundled sample.

This page only wires the panels of ``ui/``: the sidebar (``quarterhour.ui.sidebar``), the
headline and tabs (``quarterhour.ui.tabs``), the map and the scenario (``quarterhour.ui.scenario``), the saved
scenarios (``quarterhour.ui.workspace``, ``quarterhour.ui.workspace_panel``). The
cached computations are in ``quarterhour.ui.compute``, keyed by the frozen values of
``quarterhour.ui.values``; the session's keys are named in ``quarterhour.ui.state``; every panel fails
alone, through ``quarterhour.ui.errors.step``.
"""

from __future__ import annotations

import time

import streamlit as st

from geo import InputError
from quarterhour.i18n import LANGS, t
from quarterhour.render.readnotes import coordinate_note
from quarterhour.ui import state as S
from quarterhour.ui.compute import (
    compute,
    group_names,
    load_boundaries,
    load_points,
    network_name,
    network_of,
    reach_ahead,  # issue 29: city-upload
)
from quarterhour.ui.errors import page_edge, step
from quarterhour.ui.fragments import levels_part, map_part, page_started, siting_part
from quarterhour.ui.hours import hours_headline_ui
from quarterhour.ui.preload import warm_imports
from quarterhour.ui.progress import running, tell
from quarterhour.ui.project import note_candidates, restore_page
from quarterhour.ui.replies import keep_replies
from quarterhour.ui.sidebar import basemap_ui, data_ui, params_ui, uploader_words_ui
from quarterhour.ui.signin import signin_ui
from quarterhour.ui.tabs import downloads_ui, gaps_sites_ui, headline_ui, units_line
from quarterhour.ui.values import Inputs, Params, Sources
from quarterhour.ui.workspace import resume

__all__ = ["analyse", "main"]


def analyse(inputs: Inputs, units: str, params: Params, lang: str) -> tuple:
    """Read the inputs and run the analysis (cached): (network, facilities, notes, result)."""
    with st.spinner(t("computing", lang)):
        network = network_of(inputs)  # issue 30: with the compounds' walls
        points = load_points(inputs)
        source = network_name(inputs.network)
        fragments = int((network.nodes["component"] > 0).sum())
        notes = (
            t("network_read", lang, source=source, nodes=network.n_nodes, edges=len(network.edges), frag=fragments),
            *points.notes,
            units_line(units, load_boundaries(inputs.network, units), lang),
            *(coordinate_note(name, choice, lang) for name, choice in points.crs_choices),
        )
        return network, points.facilities, notes, compute(inputs, units, params, lang)


def _analysed(sources: Sources, params: Params, lang: str, mode: str) -> tuple | None:
    """The analysis and the headline above the map: (inputs, units, network, facilities, result), None to stop."""
    inputs, units = sources.inputs, sources.units
    if not params.categories:
        st.info(t("no_facilities", lang))
        return None
    if st.session_state.get(S.CHANGES_FOR) != inputs:  # a scenario belongs to the facilities it was made on
        if st.session_state.get(S.CHANGES):
            st.toast(t("scenario_reset", lang))
        st.session_state[S.CHANGES], st.session_state[S.CHANGES_FOR] = [], inputs

    with step(lang, "analysis") as tried:
        network, facilities, notes, result = analyse(inputs, units, params, lang)
    if tried.error is not None:  # keep working on the last data that worked, and say which file failed and why
        last = st.session_state.get(S.LAST_GOOD)
        if not isinstance(tried.error, InputError) or last is None or last == (inputs, units):
            return None
        st.info(t("kept_previous", lang))
        inputs, units = last
        network, facilities, notes, result = analyse(inputs, units, params, lang)
    st.session_state[S.LAST_GOOD] = (inputs, units)

    hours_headline_ui(result, params.at, lang)  # issue 31: "周三 19:00 开放设施覆盖"
    headline_ui(result, notes, lang, mode=mode)
    return inputs, units, network, facilities, result


def main() -> None:
    """The page: the sidebar, the headline, the map with the scenario panel, and the tabs."""
    st.set_page_config(page_title="一刻钟 quarterhour", page_icon="🗺️", layout="wide")
    started = time.perf_counter()
    keep_replies()  # issue 29 (lost-input): an upload's address is never thrown away by a new run of the page
    warm_imports()  # the readers' lazy imports, once, under a lock: two sessions' threads never import at once
    with st.sidebar:
        lang = st.radio(t("language"), list(LANGS), format_func=LANGS.get, horizontal=True, key=S.LANG)
    uploader_words_ui(lang)
    st.session_state[S.ACTOR] = who = signin_ui(lang)  # with accounts in the workspace: nothing until signed in
    if who is None:
        return
    with st.sidebar:
        with step(lang, "the workspace"):  # a signed-in account's page comes back whole: inputs, scenario, version
            restore_page(lang)
        sources = data_ui(lang)
        note_candidates(sources.candidates)
        with step(lang, "the workspace"):  # a new session goes on with the planner's last scenario, parameters too
            resume(sources.inputs, sources.units)
        with st.spinner(t("reading_points", lang)):  # a city's residents take tens of seconds to read and place
            groups = group_names(sources.inputs)
        params = params_ui(lang, groups)
        reach_ahead(sources.inputs, params)  # issue 29 (city-upload): a city's reach, while the residents are picked
        st.session_state[S.BASEMAP_CHOICE] = basemap_ui(lang)
        st.caption(t("data_source", lang))
    st.title(t("title", lang))
    mode = st.session_state.get(S.MODE, "walk")
    st.caption(t("subtitle" if mode == "walk" else f"subtitle_{mode}", lang))
    # issue 29 (lost-input): the headline's messages come and go above the map; in a box of their own they no
    # longer move the map's part, so its fragment id (its place on the page) is the same in every run and a
    # click sent while the page runs finds it (and the map's frame is not remade)
    head, map_box = st.container(key=S.HEAD_BOX), st.container(key=S.MAP_BOX)
    with head:
        shown = _analysed(sources, params, lang, mode)
    if shown is None:
        return
    inputs, units, network, facilities, result = shown
    chosen = facilities[facilities["category"].isin(params.categories)]
    page_started(started)  # issue 29: a click reruns only the map and its panel; the tabs' parts rerun alone
    tell("map", only_if_shown=True)  # issue 29 (city-upload): after a long run, in the box of its stages
    with map_box:
        map_part(inputs, units, params, chosen, crs=network.crs, candidates=sources.candidates, who=who, lang=lang)

    gaps_tab, levels_tab, siting_tab, downloads_tab = st.tabs(
        [t("tab_gaps", lang), t("tab_levels", lang), t("tab_siting", lang), t("tab_downloads", lang)]
    )
    with gaps_tab, step(lang):
        gaps_sites_ui(result, lang)
    with levels_tab:
        levels_part(inputs, units, params, result, lang)
    with siting_tab:
        siting_part(inputs, units, params, candidates=sources.candidates, lang=lang, mode=mode)
    with downloads_tab, step(lang), st.spinner(t("preparing_files", lang)):
        downloads_ui(inputs, units, params, result, lang)


if __name__ == "__main__":
    # a bug no part caught: our own message, never Streamlit's traceback page; a long run's stages at the top
    with page_edge(S.LANG), running(S.LANG):
        main()
