"""Signing in to the app, when the workspace has accounts (``quarterhour users add``).

Without accounts the app runs as before, for one local user. With accounts, the page asks for a name and
password first, and everything after it acts as that account (``workspace.Actor``): a planner sees and
changes only the scenarios of their units, the city reviewer sees all and reviews them. The session keeps
a token, never the password; the store says when it has expired or the account was disabled.
"""

from __future__ import annotations

import streamlit as st

from quarterhour.i18n import t
from ui import state as S
from workspace import Actor, WorkspaceError, local_actor, open_store
from workspace.accounts import Accounts, SignInRefused

__all__ = ["signin_ui"]


def signin_ui(lang: str) -> Actor | None:
    """The session's account: the local user without accounts, the signed-in one, or None (the form is shown)."""
    try:
        accounts = Accounts(open_store())
        if not accounts.any():
            return local_actor()
    except WorkspaceError:  # no workspace: the app as before (the scenario panel says the store is unavailable)
        return local_actor()
    who = accounts.actor(st.session_state.get(S.TOKEN))
    if who is not None:
        st.sidebar.caption(t("signed_in_as", lang, name=who.name, role=t(f"role_{who.role}", lang)))
        if st.sidebar.button(t("sign_out", lang), key=S.SIGN_OUT):
            accounts.sign_out(st.session_state.pop(S.TOKEN))
            _forget()
            st.rerun()
        return who
    if st.session_state.pop(S.TOKEN, None):
        _forget()
        st.info(t("session_ended", lang))
    st.title(t("title", lang))
    with st.form(S.SIGN_IN_FORM):
        st.subheader(t("sign_in", lang))
        name = st.text_input(t("account_name", lang), key=S.ACCOUNT_NAME)
        password = st.text_input(t("password", lang), type="password", key=S.PASSWORD)
        if st.form_submit_button(t("sign_in", lang)):
            try:
                st.session_state[S.TOKEN], _ = accounts.sign_in(name, password)
            except SignInRefused as exc:
                st.error(str(exc))
            else:
                st.rerun()
    return None


def _forget() -> None:
    """A signed-out session keeps nothing of the account's scenario."""
    for key in [k for k in st.session_state if str(k).startswith("ws_")]:
        del st.session_state[key]
    st.session_state[S.CHANGES] = []
    st.session_state.pop(S.ACTOR, None)
