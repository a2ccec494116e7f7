"""The workspace in the app: every change saved as it is made, the planner's scenarios listed and reopened.

The session's scenario (``S.CHANGES``) is saved into the store (``workspace``) whenever it or the parameters
change, as a new version made on the one the session holds (``S.WS_BASE``); a save that another tab or
planner has overtaken is refused by the store, and the newer version is shown instead. A new session goes on
with the planner's latest scenario of the same data (``resume``), parameters included, so a refresh, another
browser or a server restart shows the same facilities and the same figures. The panel lists the scenarios,
opens any version, moves the review status, and sets two scenarios side by side.

Opening happens in button callbacks, before the page runs again: the sidebar's parameters can then be set
to the version's before their widgets are drawn.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from geo import InputError
from quarterhour.i18n import t
from ui import state as S
from ui.compute import load_boundaries, scenario
from ui.files import scenario_pack
from ui.values import Change, Inputs, Params
from workspace import Actor, Opened, ProjectKey, ScenarioInfo, StaleVersion, WorkspaceError, local_actor, open_store
from workspace.access import REVIEWER_ROLES
from workspace.keys import project_for
from workspace.store import Store

__all__ = ["actor", "autosave", "params_record", "project_of", "resume", "start_new", "workspace_ui"]

_FIGURES = ("pop_total", "pop_covered_before", "pop_covered_after", "pop_gained", "pop_lost", "pop_net",
            "gaps_before", "gaps_after", "gaps_closed")  # fmt: skip


def actor() -> Actor:
    """Who the session is: the signed-in account (``ui.signin``), or the one local user without accounts."""
    return st.session_state.get(S.ACTOR) or local_actor()


@st.cache_data(show_spinner=False, max_entries=32)
def project_of(inputs: Inputs, units: str) -> ProjectKey:
    """The project of the session's data: each input by the SHA-256 of its file and how it is read."""
    return project_for(
        inputs.network,
        inputs.facilities,
        inputs.demand,
        units,
        facilities_crs=inputs.facilities_crs,
        demand_crs=inputs.demand_crs,
        demand_total=inputs.demand_total,
    )


def params_record(params: Params) -> dict:
    """The parameters a version is saved with (and the travel mode, which the speed belongs to)."""
    return {
        "mode": st.session_state.get(S.MODE, "walk"),
        "minutes": params.minutes,
        "speed_kmh": params.speed_kmh,
        "standard": params.standard,
        "categories": list(params.categories),
        "category_minutes": [list(pair) for pair in params.category_minutes],
        "bands": list(params.bands),
    }


def _apply_params(record: dict) -> None:
    """Set the sidebar's widgets to a version's parameters (before they are drawn: in a callback, or first)."""
    if not record:
        return
    mode = record.get("mode", "walk")
    st.session_state[S.MODE] = mode
    st.session_state[S.speed_key(mode)] = float(record["speed_kmh"])
    st.session_state[S.STANDARD] = record.get("standard", "minutes")
    st.session_state[S.MINUTES] = int(record["minutes"]) if float(record["minutes"]).is_integer() else record["minutes"]
    st.session_state[S.BANDS] = [float(b) for b in record["bands"]]
    st.session_state[S.CATEGORIES] = list(record["categories"])
    for category, minutes in record["category_minutes"]:
        st.session_state[S.category_minutes_key(category)] = int(minutes)


def _store() -> Store | None:
    """The server's store, or None (said once) when its database cannot be opened: the app still works."""
    try:
        return open_store()
    except WorkspaceError as exc:
        if not st.session_state.get(S.WS_NOTE):
            st.session_state[S.WS_NOTE] = ("warning", ("ws_unavailable", {"why": str(exc)}))
        return None


def _project_id(store: Store, inputs: Inputs, units: str) -> int:
    """The session's project; new data (another upload) forgets the open scenario, which belongs to the old."""
    held = st.session_state.get(S.WS_PROJECT)
    if held and held[:2] == (inputs, units):
        return held[2]
    project = store.project(project_of(inputs, units))
    st.session_state[S.WS_PROJECT] = (inputs, units, project)
    for key in (S.WS_SCENARIO, S.WS_BASE, S.WS_SAVED):
        st.session_state.pop(key, None)
    return project


def _hold(opened: Opened, *, base: int, params: bool) -> None:
    """Make an opened version the session's scenario (its parameters too, when the widgets may still be set)."""
    st.session_state[S.CHANGES] = [Change(*row) for row in opened.rows]
    st.session_state[S.WS_SCENARIO] = opened.scenario.id
    st.session_state[S.WS_BASE] = base
    st.session_state[S.WS_SAVED] = (opened.rows, opened.params)
    if params:
        _apply_params(opened.params)


def resume(inputs: Inputs, units: str) -> None:
    """Before the parameters are drawn: go on with the planner's latest scenario of this data.

    Once per session and data: on the first page of a session, and when other data is chosen (an upload),
    unless the session already holds changes made on this data.
    """
    if st.session_state.get(S.WS_RESUMED) == (inputs, units):
        return
    st.session_state[S.WS_RESUMED] = (inputs, units)
    store = _store()
    if store is None or (st.session_state.get(S.CHANGES) and st.session_state.get(S.CHANGES_FOR) == inputs):
        return
    who = actor()
    listed = store.scenarios(_project_id(store, inputs, units), who)
    mine = [s for s in listed if s.author == who.name] or listed
    if not mine:
        return
    opened = store.open(mine[0].id, who)
    _hold(opened, base=opened.version, params=True)
    st.session_state[S.CHANGES_FOR] = inputs
    st.session_state[S.WS_NOTE] = ("info", ("ws_resumed", {"name": opened.scenario.name, "v": opened.version}))


def start_new(name: str, unit: str | None = None) -> None:
    """The session's next save starts a new scenario named ``name`` (e.g. after a scenario file is loaded)."""
    for key in (S.WS_SCENARIO, S.WS_BASE, S.WS_SAVED):
        st.session_state.pop(key, None)
    st.session_state[S.WS_NEW_NAME] = name
    st.session_state[S.WS_NEW_UNIT] = unit


def _summary(inputs: Inputs, units: str, params: Params, changes: tuple[Change, ...]) -> dict:
    """The figures saved with a version; none for a scenario that cannot be computed (the panel says why)."""
    if not changes:
        return {}
    try:
        figures = scenario(inputs, units, params, changes).figures
    except InputError:
        return {}
    return {k: float(figures[k]) for k in _FIGURES if k in figures}


def autosave(inputs: Inputs, units: str, params: Params, lang: str) -> None:
    """Save the session's scenario if it or the parameters changed since the last save: one version each."""
    store = _store()
    if store is None:
        return
    changes = tuple(st.session_state.get(S.CHANGES) or ())
    record = params_record(params)
    current = (tuple(tuple(c) for c in changes), record)
    held = st.session_state.get(S.WS_SAVED)
    if held is not None and tuple(tuple(r) for r in held[0]) == current[0] and held[1] in (record, {}):
        st.session_state[S.WS_SAVED] = current  # a version saved without parameters (imported) takes these
        return
    scenario_id = st.session_state.get(S.WS_SCENARIO)
    if scenario_id is None and not changes:
        return
    who, project = actor(), _project_id(store, inputs, units)
    summary = _summary(inputs, units, params, changes)
    if st.session_state.get(S.WS_SCENARIO) is None:  # the first change of a new scenario
        when = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
        name = st.session_state.pop(S.WS_NEW_NAME, None) or t("ws_default_name", lang, when=when)
        unit = st.session_state.pop(S.WS_NEW_UNIT, None)
        unit = _default_unit(who) if unit is None else unit
        made = store.create(project, name, unit, who, changes=changes, params=record, summary=summary)
        st.session_state[S.WS_SCENARIO], st.session_state[S.WS_BASE] = made.id, made.head
    else:
        try:
            st.session_state[S.WS_BASE] = store.save(
                scenario_id, changes, base=st.session_state[S.WS_BASE], who=who, params=record, summary=summary
            )
        except StaleVersion as exc:
            newer = store.open(scenario_id, who)
            _hold(newer, base=newer.version, params=False)
            st.session_state[S.WS_NOTE] = ("error", ("ws_stale", {"v": newer.version, "why": str(exc)}))
            st.rerun()
    st.session_state[S.WS_SAVED] = current


def _default_unit(who: Actor) -> str:
    return who.units[0] if who.role == "planner" and who.units else ""


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
        getattr(st, kind)(t(key, lang, **values))


# callbacks: they run before the page, so the parameters' widgets can be set ---------------------------------------
def _open(scenario_id: int, version: int | None) -> None:
    store, who = open_store(), actor()
    try:
        opened = store.open(scenario_id, who, version=version)
    except WorkspaceError as exc:
        st.session_state[S.WS_NOTE] = ("error", ("ws_unavailable", {"why": str(exc)}))
        return
    _hold(opened, base=opened.scenario.head, params=True)
    st.session_state[S.WS_NOTE] = ("success", ("ws_opened", {"name": opened.scenario.name, "v": opened.version}))


def _new(lang: str) -> None:
    start_new(st.session_state.get(S.WS_NAME, "").strip(), st.session_state.get(S.WS_UNIT))
    st.session_state[S.CHANGES] = []
    st.session_state[S.WS_SAVED] = ((), None)  # nothing to save until the first change


def _move(scenario_id: int, status: str) -> None:
    try:
        open_store().set_status(scenario_id, status, actor(), comment=st.session_state.get(S.WS_COMMENT, ""))
    except WorkspaceError as exc:
        st.session_state[S.WS_NOTE] = ("error", ("ws_unavailable", {"why": str(exc)}))


# the panel -------------------------------------------------------------------------------------------------------
def workspace_ui(inputs: Inputs, units: str, params: Params, lang: str) -> None:
    """Save the session's scenario, then the panel: the open scenario, the list, versions, review, comparison."""
    autosave(inputs, units, params, lang)
    _say_note(lang)
    store = _store()
    if store is None:
        return
    who = actor()
    listed = store.scenarios(_project_id(store, inputs, units), who)
    names = _unit_names(inputs, units, lang)
    with st.expander(t("ws_title", lang), expanded=bool(listed)):
        current = next((s for s in listed if s.id == st.session_state.get(S.WS_SCENARIO)), None)
        if current is None:
            st.caption(t("ws_unsaved", lang))
        else:
            _current_ui(store, current, names, lang)
            _pack_ui(current, inputs, units, params, lang)
        if listed:
            _list_ui(listed, names, lang)
        _new_ui({code: name for code, name in names.items() if who.may_write(code)}, lang)
        if current is not None and len(listed) > 1:
            _compare_ui(store, current, listed, inputs=inputs, units=units, params=params, lang=lang)


def _current_ui(store: Store, sc: ScenarioInfo, names: dict[str, str], lang: str) -> None:
    st.caption(
        t(
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
            t(
                "ws_review_line",
                lang,
                reviewer=sc.reviewer,
                when=_when(sc.reviewed_at),
                v=sc.status_version,
                comment=sc.review_comment or "—",
            )
        )
    _status_ui(sc, lang)
    versions = store.versions(sc.id, actor())
    lines = {
        v.number: t("ws_version_line", lang, v=v.number, author=v.author, when=_when(v.saved_at), n=v.n_changes)
        for v in versions
    }
    pick = st.selectbox(t("ws_versions", lang), list(lines), format_func=lines.get, key=S.WS_VERSION_PICK)
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
    if st.button(t("ws_pack", lang), key=S.WS_PACK):
        st.session_state[S.WS_PACK_FOR] = (sc.id, version, sc.status)
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
        file_name=f"scenario_{sc.id}_v{version}_{code}.zip",
        mime="application/zip",
        key=S.WS_PACK_DOWNLOAD,
    )


def _status_ui(sc: ScenarioInfo, lang: str) -> None:
    who = actor()
    if sc.status == "draft" and who.may_write(sc.unit):
        st.button(t("ws_submit", lang), key=S.WS_SUBMIT, on_click=_move, args=(sc.id, "submitted"))
    if sc.status == "submitted" and who.role in REVIEWER_ROLES:
        st.text_area(t("ws_comment", lang), key=S.WS_COMMENT, height=68)
        a, b = st.columns(2)
        a.button(t("ws_review", lang), key=S.WS_REVIEW, on_click=_move, args=(sc.id, "reviewed"))
        b.button(t("ws_return", lang), key=S.WS_RETURN, on_click=_move, args=(sc.id, "draft"))


def _list_ui(listed: list[ScenarioInfo], names: dict[str, str], lang: str) -> None:
    lines = {
        s.id: f"{s.name} · {names.get(s.unit, s.unit)} · {t(f'ws_status_{s.status}', lang)} · v{s.head} · "
        f"{s.author} · {_when(s.updated_at)}"
        for s in listed
    }
    pick = st.selectbox(t("ws_pick", lang), list(lines), format_func=lines.get, key=S.WS_PICK)
    st.button(t("ws_open", lang), key=S.WS_OPEN, on_click=_open, args=(pick, None))


def _new_ui(names: dict[str, str], lang: str) -> None:
    with st.form(S.WS_NEW, border=False):
        st.text_input(t("ws_name", lang), key=S.WS_NAME)
        st.selectbox(t("ws_unit", lang), list(names), format_func=names.get, key=S.WS_UNIT)
        st.form_submit_button(t("ws_new", lang), on_click=_new, args=(lang,))


def _compare_ui(
    store: Store,
    current: ScenarioInfo,
    listed: list[ScenarioInfo],
    *,
    inputs: Inputs,
    units: str,
    params: Params,
    lang: str,
) -> None:
    """Two scenarios side by side, on the parameters on screen: residents, gains, losses, gaps, unit rates."""
    others = {s.id: s.name for s in listed if s.id != current.id}
    other = st.selectbox(t("ws_compare_with", lang), list(others), format_func=others.get, index=None, key=S.WS_OTHER)
    if other is None:
        return
    st.markdown(f"**{t('ws_compare', lang)}**")
    mine = tuple(st.session_state.get(S.CHANGES) or ())
    theirs = tuple(Change(*row) for row in store.open(other, actor()).rows)
    views = {
        current.name: scenario(inputs, units, params, mine),
        others[other]: scenario(inputs, units, params, theirs),
    }
    st.dataframe(compare_table(views, lang), hide_index=True, width="stretch")
    st.dataframe(unit_rates(views, lang), hide_index=True, width="stretch")


def compare_table(views: dict, lang: str) -> pd.DataFrame:
    """Residents covered, gained and lost, and gap zones closed, one column per scenario."""
    rows = [("ws_covered", "pop_covered_after"), ("ws_gained", "pop_gained"), ("ws_lost", "pop_lost"),
            ("ws_gaps_closed", "gaps_closed")]  # fmt: skip
    table = pd.DataFrame({t("ws_figure", lang): [t(label, lang) for label, _ in rows]})
    for name, view in views.items():
        table[name] = [f"{view.figures[key]:,.0f}" for _, key in rows]
    return table


def unit_rates(views: dict, lang: str) -> pd.DataFrame:
    """Each unit's coverage rate now and with each scenario, at the finest level both have."""
    first = next(iter(views.values()))
    level = next((lv for lv in ("community", "subdistrict", "district") if lv in first.tables), None)
    if level is None:
        return pd.DataFrame()
    base = first.tables[level].set_index("code")
    table = pd.DataFrame({t("name", lang): base["name"], t("now", lang) + " %": base["pct_before"].round(1)})
    for name, view in views.items():
        table[f"{name} %"] = view.tables[level].set_index("code")["pct_after"].reindex(base.index).round(1)
    return table.sort_index().reset_index(drop=True)
