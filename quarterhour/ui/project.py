"""The page comes back whole: the project's inputs kept in the workspace, and the account's page reopened.

When a signed-in account works on data, the project keeps its inputs (``quarterhour.workspace.projects``): each uploaded
file by its content, with the planner's name of it, the network's source (the sample, an OpenStreetMap place
or box, a prepared network's store key and source name), the coordinate choices and the review units. The
account's page (the project, the scenario and version open, the parameters, a candidates file) is
remembered as it changes (``remember_page``).

A new session of the account (a reload, another machine, a server restart) reopens that page in one step
(``restore_page``), before the sidebar is drawn: the kept files are put back among the uploads (named by
content, ``quarterhour.ui.uploads``) and shown by the planner's names, the sidebar's choices and parameters are set, and
``quarterhour.ui.workspace.resume`` opens the same scenario at the same version. A kept file whose copy changed is
refused with a message (its size and SHA-256 are checked), never read.

Without accounts (one local user) the page is not restored: the scenario of the same data still is
(``quarterhour.ui.workspace.resume``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st

from geo.errors import InputError
from geo.store import list_networks
from quarterhour.i18n import t
from quarterhour.ui import state as S
from quarterhour.ui.uploads import remember_name, store_upload
from quarterhour.ui.values import SAMPLE, STORE, Inputs
from quarterhour.ui.workspace import actor, apply_params, workspace_store
from quarterhour.workspace import WorkspaceError
from quarterhour.workspace.projects import ROLES, KeptInput, Projects

__all__ = ["forget_kept", "keep_project", "kept_source", "note_candidates", "remember_page", "restore_page"]


def _signed_in() -> bool:
    return actor().role != "local"


def _name_of(path: str) -> str:
    return st.session_state.get(S.UPLOAD_NAMES, {}).get(path) or Path(path).name


def _file(store_projects: Projects, role: str, path: str, options: dict | None = None) -> KeptInput:
    data = Path(path).read_bytes()
    name = _name_of(path)
    return KeptInput(role, "file", sha256=store_projects.keep_file(data, name=name), name=name, options=options or {})


def _network(kept: Projects, source: str) -> KeptInput:
    if source == SAMPLE:
        return KeptInput("network", "sample", SAMPLE)
    if source.startswith(STORE):
        folder = Path(source[len(STORE) :])
        entry = next((e for e in list_networks() if Path(e["path"]).name == folder.name), None)
        name = entry["source"]["name"] if entry else folder.name
        return KeptInput("network", "text", STORE + folder.name, name=name)
    if source.startswith(("osm:", "bbox:")):
        return KeptInput("network", "text", source, name=source.split(":", 1)[1])
    return _file(kept, "network", source)


def keep_project(project: int, inputs: Inputs, units: str, lang: str) -> None:
    """Keep the project's inputs in the workspace (a signed-in account's; once per project and session).

    Called before the session's scenario is saved, so that every version of the project pins them.
    """
    store = workspace_store()
    if store is None or not _signed_in() or st.session_state.get(S.WS_KEPT_FOR) == project:
        return
    kept = Projects(store)
    if set(kept.inputs(project)) >= {*ROLES, *_walls(inputs)}:  # issue 30: and the walls, when walled
        st.session_state[S.WS_KEPT_FOR] = project
        return
    st.session_state[S.WS_KEPT_FOR] = project  # tried once: a file too big is said once, and the scenario saved
    facilities = {"crs": inputs.facilities_crs}
    demand = {"crs": inputs.demand_crs, "total": inputs.demand_total}
    try:
        records = {
            "network": _network(kept, inputs.network),
            "facilities": KeptInput("facilities", "sample", SAMPLE, options=facilities)
            if inputs.facilities == SAMPLE
            else _file(kept, "facilities", inputs.facilities, facilities),
            "demand": KeptInput("demand", "sample", SAMPLE, options=demand)
            if inputs.demand == SAMPLE
            else _file(kept, "demand", inputs.demand, demand),
            "units": KeptInput("units", "text", units)
            if units in ("sample", "luoyang", "sample_grid")
            else _file(kept, "units", units),
            **{role: _file(kept, role, path) for role, path in _walls(inputs).items()},  # issue 30
        }
    except (WorkspaceError, OSError) as exc:  # too big to keep, or the upload gone: the work goes on, said once
        logging.getLogger("quarterhour.app").warning("the project's inputs were not kept: %s", exc)
        st.warning(t("kept_not_kept", lang))
        return
    kept.keep_inputs(project, records)


def _walls(inputs: Inputs) -> dict[str, str]:
    """Issue 30: the gated compounds and their gates the network is walled by (uploads), by role; {} if none."""
    if not inputs.compounds:
        return {}
    return {role: path for role, path in (("compounds", inputs.compounds), ("gates", inputs.gates)) if path}


def remember_page(project: int, params_now: dict) -> None:
    """Remember the account's page on ``project`` (scenario, version, parameters, candidates) when it changed."""
    store = workspace_store()
    if store is None or not _signed_in():
        return
    scenario = st.session_state.get(S.WS_SCENARIO)
    base = st.session_state.get(S.WS_BASE) if scenario else None
    version = st.session_state.get(S.WS_SHOWN, base) if scenario else None
    candidates = st.session_state.get(S.WS_CANDIDATES)
    extra = {"candidates": candidates} if candidates else {}
    page = (project, scenario, version, base, params_now, extra)
    if st.session_state.get(S.WS_PAGE) == page:
        return
    kept = Projects(store)
    if candidates:
        extra = {"candidates": _file(kept, "candidates", candidates).pin()}
    kept.save_page(actor().name, project, scenario_id=scenario, version=version, base=base, params=params_now,
                   extra=extra)  # fmt: skip
    st.session_state[S.WS_PAGE] = page


def note_candidates(path: str | None) -> None:
    """The page's candidates file (a stored upload), kept with the page."""
    st.session_state[S.WS_CANDIDATES] = path


def kept_source(key: str, lang: str) -> str | None:
    """A kept file put back for the uploader ``key`` (shown by the planner's name), or None."""
    path = st.session_state.get(S.WS_KEPT, {}).get(key)
    if not path:
        return None
    store = workspace_store()
    if not Path(path).is_file() and store is not None:  # pruned from the uploads meanwhile: put back again
        sha, name = Path(path).name.split(".")[0], _name_of(path)
        path = _put_back(Projects(store), KeptInput(key, "file", sha256=sha, name=name), lang)
        st.session_state[S.WS_KEPT][key] = path
    a, b = st.columns([3, 1])
    a.caption(t("kept_file", lang, name=_name_of(path)))
    if b.button(t("kept_drop", lang), key=f"kept_drop_{key}"):
        st.session_state[S.WS_KEPT].pop(key, None)
        st.rerun()
    return path


def forget_kept(key: str) -> None:
    """The planner uploaded another file for ``key``: the kept one no longer stands in."""
    st.session_state.get(S.WS_KEPT, {}).pop(key, None)


def _put_back(kept: Projects, record: KeptInput, lang: str) -> str:
    try:
        data = kept.read_file(record.sha256)
    except WorkspaceError as exc:  # changed, truncated or missing: said in the planner's words, details logged
        logging.getLogger("quarterhour.app").warning("a kept input was not restored: %s", exc)
        raise InputError(t("kept_damaged", lang, name=record.name), fix=t("kept_damaged_fix", lang)) from None
    path = str(store_upload(record.name or "input", data))
    remember_name(Path(path), record.name or Path(path).name)
    return path


def _walls_back(kept: Projects, inputs: dict[str, KeptInput], lang: str) -> dict[str, str]:
    """Issue 30: the project's gated compounds and gates put back, by uploader (gates only with compounds)."""
    if "compounds" not in inputs:
        return {}
    keys = {"compounds": S.COMPOUNDS_FILE, "gates": S.GATES_FILE}
    return {key: _put_back(kept, inputs[role], lang) for role, key in keys.items() if role in inputs}


def restore_page(lang: str) -> None:
    """Once per session, before the sidebar is drawn: reopen the signed-in account's last page, inputs and all."""
    if st.session_state.get(S.WS_PAGE_RESTORED) or not _signed_in():
        return
    st.session_state[S.WS_PAGE_RESTORED] = True
    store = workspace_store()
    if store is None:
        return
    kept = Projects(store)
    page = kept.last_page(actor().name)
    if page is None:
        return
    inputs = kept.inputs(page.project_id)
    if not set(ROLES) <= set(inputs):
        return
    state, files = {}, {}  # all read and checked first: a damaged file leaves the page as it is
    network = inputs["network"]
    if network.kind == "sample":
        state[S.NETWORK_HOW] = "sample"
    elif network.kind == "file":
        state[S.NETWORK_HOW], files[S.NETWORK_FILE] = "file", _put_back(kept, network, lang)
    elif network.source.startswith(STORE):
        entry = next((e for e in list_networks() if Path(e["path"]).name == network.source[len(STORE) :]), None)
        if entry is None:
            raise InputError(t("kept_store_missing", lang, name=network.name), fix=t("kept_store_missing_fix", lang))
        state[S.NETWORK_HOW], state[S.NETWORK_STORE] = "store", STORE + entry["path"]
    else:
        kind, text = network.source.split(":", 1)
        state[S.NETWORK_HOW] = "osm"
        if kind == "osm":
            state[S.OSM_LOADED], state[S.OSM_BOX_LOADED] = text, None
        else:
            state[S.OSM_LOADED], state[S.OSM_BOX_LOADED] = None, tuple(float(v) for v in text.split(","))
    for role, key, crs_key in (
        ("facilities", S.FACILITIES_FILE, S.FACILITIES_CRS),
        ("demand", S.DEMAND_FILE, S.DEMAND_CRS),
    ):
        record = inputs[role]
        if record.kind == "file":
            files[key] = _put_back(kept, record, lang)
        state[crs_key] = record.options.get("crs", "auto")
    total = inputs["demand"].options.get("total")
    state[S.DEMAND_TOTAL] = int(total) if total else 0
    units = inputs["units"]
    if units.kind == "file":
        state[S.UNITS], files[S.UNITS_FILE] = "upload", _put_back(kept, units, lang)
    else:
        state[S.UNITS] = units.source
    files.update(_walls_back(kept, inputs, lang))  # issue 30
    if page.extra.get("candidates"):
        files[S.CANDIDATES_FILE] = _put_back(kept, KeptInput("candidates", **page.extra["candidates"]), lang)
    st.session_state.update(state)
    st.session_state[S.WS_KEPT] = files
    apply_params(page.params)
    st.session_state[S.WS_PAGE_OPEN] = (page.project_id, page.scenario_id, page.version, page.base)
