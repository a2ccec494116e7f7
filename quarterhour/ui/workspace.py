"""The workspace in the app, its state: every change saved as it is made, and a new session going on with it.

The session's scenario (``S.CHANGES``) is saved into the store (``workspace``) whenever it or the parameters
change, as a new version made on the one the session holds (``S.WS_BASE``); a save that another tab or
planner has overtaken is refused by the store, and the newer version is shown instead. A new session goes on
with the planner's latest scenario of the same data (``resume``), parameters included, so a refresh, another
browser or a server restart shows the same facilities and the same figures. The project's unit tree (which
unit lies in which) is recorded with it, so a district's planner also works on its sub-districts' scenarios.

The panel (``quarterhour.ui.workspace_panel``) lists the scenarios, opens any version and moves the review status;
``quarterhour.ui.workspace_compare`` sets two scenarios side by side.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging

import streamlit as st

from analysis.unittree import unit_parents, unit_shapes
from geo import InputError
from quarterhour.i18n import t
from quarterhour.provenance import options_record
from quarterhour.ui import state as S
from quarterhour.ui.compute import load_boundaries, scenario
from quarterhour.ui.values import Change, Inputs, Params
from quarterhour.workspace import (
    Actor,
    NotAllowed,
    Opened,
    ProjectKey,
    StaleVersion,
    WorkspaceError,
    local_actor,
    open_store,
)
from quarterhour.workspace.keys import project_for
from quarterhour.workspace.store import Store

__all__ = [
    "actor",
    "apply_params",
    "autosave",
    "hold",
    "params_record",
    "project_id",
    "project_of",
    "read_only",
    "refusal_note",
    "resume",
    "start_new",
    "workspace_store",
]

_FIGURES = ("pop_total", "pop_covered_before", "pop_covered_after", "pop_gained", "pop_lost", "pop_net",
            "gaps_before", "gaps_after", "gaps_closed")  # fmt: skip


def actor() -> Actor:
    """Who the session is: the signed-in account (``quarterhour.ui.signin``), or the one local user without accounts."""
    return st.session_state.get(S.ACTOR) or local_actor()


def read_only() -> bool:
    """Whether the session's account only reads scenarios (the city reviewer): no edit or undo controls, no save."""
    return actor().role not in ("planner", "admin", "local")


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
        walls=(inputs.compounds, inputs.gates),  # issue 30: a walled network is another project
    )


def params_record(params: Params) -> dict:
    """The parameters a version is saved with (and the travel mode, which the speed belongs to)."""
    options = options_record(params.options(st.session_state.get(S.MODE, "walk")))  # issue 25: one record
    record = {name: options[name] for name in ("mode", "minutes", "speed_kmh", "standard", "categories", "bands")}
    record["category_minutes"] = [list(pair) for pair in params.category_minutes]  # as versions were saved
    if params.at is not None:  # the time of the week asked (issue 31); absent: any time, as versions saved before
        record["at"] = params.at
    return record


def apply_params(record: dict) -> None:
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
    st.session_state[S.HOURS_AT] = record.get("at")  # the figures were computed at that time (None: any time)


def workspace_store() -> Store | None:
    """The server's store, or None (said once) when its database cannot be opened: the app still works."""
    try:
        return open_store()
    except WorkspaceError:  # its message names the database: the server's log has it, the page does not
        logging.getLogger("quarterhour.app").warning("the workspace cannot be opened", exc_info=True)
        if not st.session_state.get(S.WS_NOTE):
            st.session_state[S.WS_NOTE] = ("warning", ("ws_closed", {}))
        return None


def project_id(store: Store, inputs: Inputs, units: str) -> int:
    """The session's project; new data (another upload) forgets the open scenario, which belongs to the old.

    The project's unit tree is recorded the first time a session opens it (from the review units' polygons).
    """
    held = st.session_state.get(S.WS_PROJECT)
    if held and held[:2] == (inputs, units):
        return held[2]
    project = store.project(project_of(inputs, units))
    with contextlib.suppress(InputError):  # units that cannot be read: the analysis says why
        levels = load_boundaries(inputs.network, units)
        store.set_units(project, unit_parents(levels), unit_shapes(levels))
    st.session_state[S.WS_PROJECT] = (inputs, units, project)
    for key in (S.WS_SCENARIO, S.WS_BASE, S.WS_SAVED):
        st.session_state.pop(key, None)
    return project


def hold(opened: Opened, *, base: int, params: bool) -> None:
    """Make an opened version the session's scenario (its parameters too, when the widgets may still be set)."""
    st.session_state[S.CHANGES] = [Change(*row) for row in opened.rows]
    st.session_state[S.WS_SCENARIO] = opened.scenario.id
    st.session_state[S.WS_BASE] = base
    st.session_state[S.WS_SAVED] = (opened.rows, opened.params)
    st.session_state[S.WS_SHOWN] = opened.version
    if params:
        apply_params(opened.params)


def resume(inputs: Inputs, units: str) -> None:
    """Before the parameters are drawn: go on with the planner's latest scenario of this data.

    Once per session and data: on the first page of a session, and when other data is chosen (an upload),
    unless the session already holds changes made on this data.
    """
    if st.session_state.get(S.WS_RESUMED) == (inputs, units):
        return
    st.session_state[S.WS_RESUMED] = (inputs, units)
    store = workspace_store()
    if store is None or (st.session_state.get(S.CHANGES) and st.session_state.get(S.CHANGES_FOR) == inputs):
        return
    who = actor()
    project = project_id(store, inputs, units)
    page = st.session_state.pop(S.WS_PAGE_OPEN, None)
    if page and page[0] == project and page[1] is not None:  # the account's last page (ui.project): as it was left
        with contextlib.suppress(WorkspaceError):  # removed or no longer theirs meanwhile: their latest, as below
            opened = store.open(page[1], who, version=page[2])
            hold(opened, base=page[3] or opened.scenario.head, params=False)
            st.session_state[S.CHANGES_FOR] = inputs
            st.session_state[S.WS_NOTE] = ("info", ("ws_resumed", {"name": opened.scenario.name, "v": opened.version}))
            return
    listed = store.scenarios(project, who)
    mine = [s for s in listed if s.author == who.name] or listed
    if not mine:
        return
    opened = store.open(mine[0].id, who)
    hold(opened, base=opened.version, params=True)
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
    store = workspace_store()
    if store is None:
        return
    if read_only():  # the reviewer's view: what is saved, nothing else (no unsaved state is shown)
        held = st.session_state.get(S.WS_SAVED)
        st.session_state[S.CHANGES] = [Change(*row) for row in held[0]] if held else []
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
    who, project = actor(), project_id(store, inputs, units)
    summary = _summary(inputs, units, params, changes)
    if st.session_state.get(S.WS_SCENARIO) is None:  # the first change of a new scenario
        when = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
        name = st.session_state.pop(S.WS_NEW_NAME, None) or t("ws_default_name", lang, when=when)
        unit = st.session_state.pop(S.WS_NEW_UNIT, None)
        unit = _default_unit(who) if unit is None else unit
        try:
            made = store.create(project, name, unit, who, changes=changes, params=record, summary=summary)
        except WorkspaceError as exc:  # e.g. a change outside the planner's units: nothing kept that was not saved
            _refused(exc, (), name, unit)
        st.session_state[S.WS_SCENARIO], st.session_state[S.WS_BASE] = made.id, made.head
        st.session_state[S.WS_SHOWN] = made.head
    else:
        try:
            st.session_state[S.WS_BASE] = st.session_state[S.WS_SHOWN] = store.save(
                scenario_id, changes, base=st.session_state[S.WS_BASE], who=who, params=record, summary=summary
            )
        except StaleVersion as exc:
            newer = store.open(scenario_id, who)
            hold(newer, base=newer.version, params=False)
            st.session_state[S.WS_NOTE] = ("error", ("ws_stale", {"v": newer.version, "why": str(exc)}))
            st.rerun()
        except (NotAllowed, WorkspaceError) as exc:  # refused: the session goes back to the version saved
            _refused(exc, held[0] if held else ())
    st.session_state[S.WS_SAVED] = current


def refusal_note(exc: WorkspaceError) -> tuple[str, tuple[str, dict]]:
    """A refusal as the panel's note: in the planner's language where the workspace names its words."""
    if exc.key:
        return "error", (f"err_{exc.key}", dict(exc.values))
    return "error", ("ws_unavailable", {"why": str(exc)})


def _refused(exc: WorkspaceError, saved: tuple, name: str | None = None, unit: str | None = None) -> None:
    """A save refused: the session's changes go back to what is saved, the reason is said, the page runs again.

    The figures then show the saved scenario, never one that was not saved. A new scenario keeps its name
    and unit for the next try.
    """
    st.session_state[S.CHANGES] = [Change(*row) for row in saved]
    if name is not None:
        st.session_state[S.WS_NEW_NAME], st.session_state[S.WS_NEW_UNIT] = name, unit
    st.session_state[S.WS_NOTE] = refusal_note(exc)
    st.rerun()


def _default_unit(who: Actor) -> str:
    return who.units[0] if who.role == "planner" and who.units else ""
