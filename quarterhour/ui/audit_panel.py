"""The audit log in the app, for city administrators (role ``admin``): who did what, when, to which scenario.

It reads ``quarterhour.workspace.audit.entries`` (the newest 200 lines, or one account's or one action's); the store
refuses anyone else, and the panel is not drawn for them.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from quarterhour.i18n import t
from quarterhour.ui import state as S
from quarterhour.ui.rerun import kept
from quarterhour.workspace import Actor, open_store
from quarterhour.workspace.audit import entries

__all__ = ["AUDIT_ACTION", "AUDIT_ACTOR", "audit_ui"]

AUDIT_ACTOR = "audit_actor"
AUDIT_ACTION = "audit_action"
_ACTIONS = ("sign_in", "sign_in_refused", "sign_in_sso", "create", "change", "submit", "review", "return",
            "withdraw", "export", "import", "admin_mode", "account_add", "account_disable", "account_enable",
            "account_role", "account_units", "account_password")  # fmt: skip


def audit_ui(who: Actor, lang: str) -> None:
    """The audit panel (an expander), for an admin only."""
    if who.role != "admin":
        return
    with st.expander(t("audit_title", lang)):
        st.caption(t("audit_help", lang))
        a, b = st.columns(2)
        actor = a.text_input(t("audit_filter_actor", lang), key=AUDIT_ACTOR, **kept(S.PART_MAP)).strip() or None
        action = b.selectbox(
            t("audit_filter_action", lang),
            ["", *_ACTIONS],
            format_func=lambda v: v or t("audit_all", lang),
            key=AUDIT_ACTION,
            **kept(S.PART_MAP),  # issue 29
        )
        lines = entries(open_store(), who, limit=200, actor=actor, action=action or None)
        if not lines:
            st.info(t("audit_empty", lang))
            return
        table = pd.DataFrame(
            {
                t("audit_at", lang): [e.at.astimezone().strftime("%Y-%m-%d %H:%M:%S") for e in lines],
                t("audit_filter_actor", lang): [e.actor for e in lines],
                t("audit_role", lang): [e.role for e in lines],
                t("audit_filter_action", lang): [e.action for e in lines],
                t("audit_scenario", lang): [e.scenario_id for e in lines],
                t("audit_version", lang): [e.version for e in lines],
                t("audit_detail", lang): [e.detail for e in lines],
            }
        )
        st.dataframe(table, hide_index=True, width="stretch")
