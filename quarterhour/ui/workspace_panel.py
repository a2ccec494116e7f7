"""The workspace panel: the open scenario, its versions and review status, the list, a new scenario, its pack.

Opening happens in button callbacks, before the page runs again: the sidebar's parameters can then be set
to the version's before their widgets are drawn. Saving and reopening are ``quarterhour.ui.workspace``'s; two scenarios
side by side are ``quarterhour.ui.workspace_compare``'s.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from quarterhour.gis.outdir import safe_part
from quarterhour.i18n import both, t
from quarterhour.ui import state as S
from quarterhour.ui.compute import load_boundaries
from quarterhour.ui.files import scenario_pack
from quarterhour.ui.plain import said
from quarterhour.ui.project import keep_project, remember_page
from quarterhour.ui.rerun import keep_action, kept
from quarterhour.ui.values import Inputs, Params
from quarterhour.ui.workspace import (
    actor,
    autosave,
    hold,
    params_record,
    project_id,
    read_only,
    refusal_note,
    start_new,
    workspace_store,
)
from quarterhour.ui.workspace_compare import compare_ui
from quarterhour.workspace import ScenarioInfo, WorkspaceError, open_store
from quarterhour.workspace.access import REVIEWER_ROLES
from quarterhour.workspace.store import Store

__all__ = ["workspace_ui"]


def _unit_names(inputs: Inputs, units: str, lang: str) -> dict[str, str]:
    names = {"": t("ws_city", lang)}
    for level, table in load_boundaries(inputs.network, units).items():
        if level != "city":
            names.update({str(c): f"{c} {n}" for c, n in zip(table["code"], table["name"], strict=True)})
    return names


def _when(moment: dt.datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment else ""


def _say_note(lang: str) -> None:
    note = st.session_state.pop(S.WS_NOTE, None)
    if note:
        kind, (key, values) = note
        getattr(st, kind)(said(key, lang, **values))


# callbacks: they run before the page, so the parameters' widgets can be set ---------------------------------------
def _open(scenario_id: int, version: int | None) -> None:
    store, who = open_store(), actor()
    try:
        opened = store.open(scenario_id, who, version=version)
    except WorkspaceError as exc:
        st.session_state[S.WS_NOTE] = ("error", ("ws_unavailable", {"why": str(exc)}))
        keep_action(S.PART_MAP)  # issue 29: the note is drawn even when the press met an unfinished page run
        return
    hold(opened, base=opened.scenario.head, params=True)
    st.session_state[S.WS_NOTE] = ("success", ("ws_opened", {"name": opened.scenario.name, "v": opened.version}))
    st.rerun()  # issue 29: the whole page, not only the map's part: the sidebar's parameters are the version's


def _new(lang: str) -> None:
    start_new(st.session_state.get(S.WS_NAME, "").strip(), st.session_state.get(S.WS_UNIT))
    st.session_state[S.CHANGES] = []
    st.session_state[S.WS_SAVED] = ((), None)  # nothing to save until the first change
    keep_action(S.PART_MAP)


def _move(scenario_id: int, status: str, version: int | None = None) -> None:
    """Move the status of the version the page showed (refused if the scenario was saved since)."""
    try:
        comment = st.session_state.get(S.WS_COMMENT, "")
        open_store().set_status(scenario_id, status, actor(), comment=comment, version=version)
    except WorkspaceError as exc:
        st.session_state[S.WS_NOTE] = refusal_note(exc)
    keep_action(S.PART_MAP)


def _want_pack(which: tuple) -> None:
    """'生成审阅包' (a callback, issue 29): the pack of the version the page showed is asked for."""
    st.session_state[S.WS_PACK_FOR] = which
    keep_action(S.PART_MAP)


# the panel -------------------------------------------------------------------------------------------------------
def workspace_ui(inputs: Inputs, units: str, params: Params, lang: str) -> None:
    """Save the session's scenario, then the panel: the open scenario, the list, versions, review, comparison."""
    store = workspace_store()
    if store is not None:  # before the save: the version pins the inputs it is computed on (ui.project)
        keep_project(project_id(store, inputs, units), inputs, units, lang)
    autosave(inputs, units, params, lang)
    _say_note(lang)
    if store is None:
        return
    who = actor()
    project = project_id(store, inputs, units)
    remember_page(project, params_record(params))  # a reload, another machine, a restart reopen this page
    listed, tree = store.scenarios(project, who), store.units(project)
    names = _unit_names(inputs, units, lang)
    with st.expander(t("ws_title", lang), expanded=bool(listed)):
        current = next((s for s in listed if s.id == st.session_state.get(S.WS_SCENARIO)), None)
        if current is None:
            st.caption(t("ws_unsaved", lang))
        else:
            _current_ui(store, current, names, tree, lang)
            _pack_ui(current, inputs, units, params, lang)
        if listed:
            _list_ui(listed, names, lang)
        if not read_only():
            _new_ui({code: name for code, name in names.items() if who.may_write(code, tree)}, lang)
        if current is not None and len(listed) > 1:
            compare_ui(store, current, listed, inputs=inputs, units=units, params=params, lang=lang)


def _current_ui(store: Store, sc: ScenarioInfo, names: dict[str, str], tree: dict[str, str], lang: str) -> None:
    st.caption(
        said(
            "ws_current",
            lang,
            name=sc.name,
            unit=names.get(sc.unit, sc.unit),
            v=st.session_state.get(S.WS_BASE, sc.head),
            status=t(f"ws_status_{sc.status}", lang),
            when=_when(sc.updated_at),
        )
    )
    if sc.reviewer:
        st.caption(
            said(
                "ws_review_line",
                lang,
                reviewer=sc.reviewer,
                when=_when(sc.reviewed_at),
                v=sc.status_version,
                comment=sc.review_comment or "—",
            )
        )
    _status_ui(sc, tree, lang)
    versions = store.versions(sc.id, actor())
    lines = {
        v.number: t("ws_version_line_both", lang, v=v.number, author=v.author, when=_when(v.saved_at), n=v.n_changes)
        for v in versions
    }
    pick = st.selectbox(
        t("ws_versions", lang), list(lines), format_func=lines.get, key=S.WS_VERSION_PICK, **kept(S.PART_MAP)
    )
    st.button(t("ws_open_version", lang), key=S.WS_OPEN_VERSION, on_click=_open, args=(sc.id, pick))


def _unit_level(inputs: Inputs, units: str, code: str) -> tuple[str, str] | None:
    """(level, code) of a scenario's unit; the city's for a whole-city scenario; None if the units lack it."""
    for level, table in load_boundaries(inputs.network, units).items():
        codes = [str(c) for c in table["code"]]
        if (code and code in codes) or (not code and level == "city" and codes):
            return level, code or codes[0]
    return None


def _pack_ui(sc: ScenarioInfo, inputs: Inputs, units: str, params: Params, lang: str) -> None:
    """The scenario's review pack for its unit: the coverage with its changes, naming its version and status."""
    where = _unit_level(inputs, units, sc.unit)
    changes = tuple(st.session_state.get(S.CHANGES) or ())
    version = st.session_state.get(S.WS_BASE, sc.head)
    if where is None or not changes:
        return
    st.button(t("ws_pack", lang), key=S.WS_PACK, on_click=_want_pack, args=((sc.id, version, sc.status),))
    if st.session_state.get(S.WS_PACK_FOR) != (sc.id, version, sc.status):
        return
    level, code = where
    named = (("scenario", sc.name), ("scenario_version", version), ("scenario_status", sc.status),
             ("scenario_unit", sc.unit or code), ("scenario_author", sc.author))  # fmt: skip
    with st.spinner(t("computing", lang)):
        data = scenario_pack(inputs, units, params, changes, level=level, code=code, lang=lang, named=named)
    st.download_button(
        t("ws_pack_download", lang, v=version, status=t(f"ws_status_{sc.status}", lang)),
        data=data,
        file_name=safe_part(f"scenario_{sc.id}_v{version}_{code}", fallback="scenario") + ".zip",
        mime="application/zip",
        key=S.WS_PACK_DOWNLOAD,
    )


def _status_ui(sc: ScenarioInfo, tree: dict[str, str], lang: str) -> None:
    who = actor()
    if sc.status == "draft" and who.may_write(sc.unit, tree):
        st.button(t("ws_submit", lang), key=S.WS_SUBMIT, on_click=_move, args=(sc.id, "submitted", sc.head))
    if sc.status == "submitted" and who.role in REVIEWER_ROLES:
        st.text_area(t("ws_comment", lang), key=S.WS_COMMENT, height=68, **kept(S.PART_MAP))
        a, b = st.columns(2)
        a.button(t("ws_review", lang), key=S.WS_REVIEW, on_click=_move, args=(sc.id, "reviewed", sc.head))
        b.button(t("ws_return", lang), key=S.WS_RETURN, on_click=_move, args=(sc.id, "draft", sc.head))


def _list_ui(listed: list[ScenarioInfo], names: dict[str, str], lang: str) -> None:
    lines = {  # the same words in both languages: a choice's words that changed with the language would lose it
        s.id: f"{s.name} · {both('ws_city') if s.unit == '' else names.get(s.unit, s.unit)} · "
        f"{both(f'ws_status_{s.status}')} · v{s.head} · {s.author} · {_when(s.updated_at)}"
        for s in listed
    }
    pick = st.selectbox(t("ws_pick", lang), list(lines), format_func=lines.get, key=S.WS_PICK, **kept(S.PART_MAP))
    st.button(t("ws_open", lang), key=S.WS_OPEN, on_click=_open, args=(pick, None))


def _new_ui(names: dict[str, str], lang: str) -> None:
    with st.form(S.WS_NEW, border=False):
        st.text_input(t("ws_name", lang), key=S.WS_NAME)
        st.selectbox(  # the words of a choice do not change with the language, or the browser loses the choice
            t("ws_unit", lang),
            list(names),
            format_func=lambda c: both("ws_city") if c == "" else names[c],
            key=S.WS_UNIT,
        )
        st.form_submit_button(t("ws_new", lang), on_click=_new, args=(lang,))
