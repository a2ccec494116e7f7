"""The parts of the page a planner's action reruns alone (issue 29 item 1): ``st.fragment``.

A click on the map used to rerun the whole page: the sidebar, the headline, every tab's tables and
charts, the downloads' files, the map's Python side and the autosave, about 1.3 s of the server's
CPU on the sample for a scenario that takes 0.2 s. Three parts now rerun alone:

- **the map and the panel beside it** (``S.PART_MAP``): a click on the map, the click mode, the changes'
  undo and clear, the scenario's comparison and the workspace panel (its autosave). The headline,
  the sidebar and the tabs do not change with a scenario, so they are not sent again;
- **the siting panel** (``S.PART_SITING``): its model, number, target and spacing rerun only the panel;
  '计算选址' reruns the panel and the map (the sites are drawn on it), not the rest (a keyed rerun
  from the button's callback, ``st.rerun([S.PART_MAP, S.PART_SITING])``);
- **the levels tab** (``S.PART_LEVELS``): the level, the unit it lies within and the review pack.

An action whose effect reaches outside its part asks for the whole page: opening a saved version
(the sidebar's parameters are set to it), the second corner of a download box (the sidebar's
download uses it), and a refused save. Each part keeps ``quarterhour.ui.errors.step``: it fails
alone, in a fragment rerun too.

Every action in a part is a widget callback that stores it in session state and ends in
``quarterhour.ui.rerun.keep_action(<its part>)`` (a choice: ``**kept(<its part>)``), or
``keep_parts`` when two parts draw it ('计算选址' and the sites joining the scenario: the map and the
siting panel). A part's id is its place on the page: a press sent while a page run draws more above
the part (after an upload) names an id that run removes, and Streamlit would skip the part; the
callback reruns it under its new id instead (issue 29, lost-input: the headline and the map's part now sit in
keyed boxes of their own in ``app.py``, so the map's part keeps its id whatever the headline shows). The map's
click is the component's callback
(``quarterhour.ui.mapview.show_map``'s ``on_change``): the click is stored, then ``take_click`` turns it
into a change when the part reruns.
"""

from __future__ import annotations

import time

import geopandas as gpd
import streamlit as st

from geo import InputError
from quarterhour.i18n import t
from quarterhour.ui import state as S
from quarterhour.ui.audit_panel import audit_ui
from quarterhour.ui.compute import scenario_ready, siting, siting_ahead
from quarterhour.ui.errors import step
from quarterhour.ui.rerun import alone
from quarterhour.ui.scenario import map_ui, scenario_ui, take_click
from quarterhour.ui.tabs import levels_ui, pack_ui, siting_results_ui, siting_ui
from quarterhour.ui.values import Inputs, Params
from quarterhour.ui.workspace_panel import workspace_ui

__all__ = ["levels_part", "map_part", "page_started", "siting_part"]


def page_started(started: float) -> None:
    """Note that the whole page runs from ``started`` (``time.perf_counter()``): the map's caption says its time."""
    st.session_state[S.PAGE_STARTED] = started


@st.fragment(key=S.PART_MAP)
def map_part(
    inputs: Inputs, units: str, params: Params, chosen: gpd.GeoDataFrame, *, crs, candidates, who, lang: str
) -> None:
    """The map with the scenario panel beside it: what a click on the map changes, and nothing else."""
    started = st.session_state.pop(S.PAGE_STARTED, None) or time.perf_counter()
    with step(lang):
        take_click(chosen, crs, lang)
    map_col, side = st.columns([5, 2])
    layer = None
    with side, step(lang):
        layer = scenario_ui(inputs, units, params, chosen, lang)
    with side, step(lang, "the workspace"):
        workspace_ui(inputs, units, params, lang)
    with side, step(lang, "the audit log"):
        audit_ui(who, lang)  # city administrators only
    with map_col, step(lang), st.spinner(t("drawing_map", lang)):  # a city's map takes seconds the first time
        map_ui(
            inputs,
            units,
            params,
            lang=lang,
            plan=st.session_state.get(S.PLAN),
            candidates=candidates,
            layer=layer,
        )
        took = time.perf_counter() - started
        st.caption(t("timing", lang, s=took, scenario=st.session_state.get(S.SCENARIO_S, 0.0)))
    with step(lang):  # issue 29 (city-upload): ready before the first click (cached), made once the map is sent
        scenario_ready(inputs, units, params)  # issue 29 (city-click): and all else a first click would make


@st.fragment(key=S.PART_LEVELS)
def levels_part(inputs: Inputs, units: str, params: Params, result, lang: str) -> None:
    """The levels tab: the drill-down and the review pack of the unit on screen."""
    with step(lang):
        levels_ui(result, lang)
    with step(lang):
        pack_ui(inputs, units, params, result, lang)


@st.fragment(key=S.PART_SITING)
def siting_part(inputs: Inputs, units: str, params: Params, *, candidates: str | None, lang: str, mode: str) -> None:
    """The siting panel and its results (the map draws the sites: '计算选址' reruns it with this part)."""
    with step(lang):
        plan = siting_ui(lang)
        if alone():  # issue 29 (city-click): the planner sets the panel: a city's coverage is begun for the press
            siting_ahead(
                inputs,
                units,
                params,
                candidates,
                model=st.session_state[S.MODEL],
                spacing_m=float(st.session_state[S.SPACING]),
            )
        if plan:
            with step(lang) as tried, st.spinner(t("computing", lang)):
                siting_results_ui(siting(inputs, units, params, candidates, plan), lang, mode=mode)
            if isinstance(tried.error, InputError):  # e.g. a target no candidate set can reach: it says how far
                st.session_state.pop(S.PLAN, None)
