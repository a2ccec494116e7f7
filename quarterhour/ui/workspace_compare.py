"""Two scenarios side by side, on the parameters on screen: residents covered, gained and lost, gaps, unit rates."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from quarterhour.i18n import t
from quarterhour.ui import state as S
from quarterhour.ui.compute import scenario
from quarterhour.ui.rerun import kept
from quarterhour.ui.values import Change, Inputs, Params
from quarterhour.ui.workspace import actor
from quarterhour.workspace import ScenarioInfo
from quarterhour.workspace.projects import Projects, differing
from quarterhour.workspace.store import Store

__all__ = ["compare_table", "compare_ui", "unit_rates"]


def compare_ui(
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
    other = st.selectbox(
        t("ws_compare_with", lang),
        list(others),
        format_func=others.get,
        index=None,
        key=S.WS_OTHER,
        placeholder=t("choose_one", lang),
        **kept(S.PART_MAP),  # issue 29
    )
    if other is None:
        return
    st.markdown(f"**{t('ws_compare', lang)}**")
    _inputs_note(store, (current.id, st.session_state.get(S.WS_SHOWN) or current.head), other, lang)
    mine = tuple(st.session_state.get(S.CHANGES) or ())
    theirs = tuple(Change(*row) for row in store.open(other, actor()).rows)
    views = {
        current.name: scenario(inputs, units, params, mine),
        others[other]: scenario(inputs, units, params, theirs),
    }
    st.dataframe(compare_table(views, lang), hide_index=True, width="stretch")
    st.dataframe(unit_rates(views, lang), hide_index=True, width="stretch")


def _inputs_note(store: Store, mine: tuple[int, int], other: int, lang: str) -> None:
    """Say when the two scenarios' versions were computed on different inputs (each version pins its own)."""
    kept, who = Projects(store), actor()
    a, b = kept.version_inputs(*mine, who), kept.version_inputs(other, store.info(other, who).head, who)
    roles = differing(a, b) if a and b else []  # a version saved before its inputs were kept pins none
    if roles:
        st.warning(t("ws_inputs_differ", lang, roles=", ".join(roles)))


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
    level = next((lv for lv in ("grid", "community", "subdistrict", "district") if lv in first.tables), None)
    if level is None:
        return pd.DataFrame()
    base = first.tables[level].set_index("code")
    table = pd.DataFrame({t("name", lang): base["name"], t("now", lang) + " %": base["pct_before"].round(1)})
    for name, view in views.items():
        table[f"{name} %"] = view.tables[level].set_index("code")["pct_after"].reindex(base.index).round(1)
    return table.sort_index().reset_index(drop=True)
