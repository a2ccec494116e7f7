"""Signing in to the app, when the workspace has accounts (``quarterhour users add``).

Without accounts the app runs as before, for one local user. With accounts, the page asks for a name and
password first, and everything after it acts as that account (``workspace.Actor``): a planner sees and
changes the scenarios of their units (and of the units inside them), the city reviewer sees all and reviews
them. The session keeps a token, never the password; the store says when it has expired, was signed out or
the account was disabled.

A reload (a new Streamlit session) stays signed in: the token is kept in a cookie of the app's origin
(``quarterhour.ui.session_cookie``, which says why a cookie and not the address). Signing out ends the session on the
server and clears the cookie.

With single sign-on configured (an ``[auth]`` section in ``.streamlit/secrets.toml``), the page also offers
"sign in with your organisation" (``st.login``); the identity the provider gives (``st.user``) must be the
``--oidc`` of an enabled account (``workspace.accounts.Accounts.sso_actor``). Streamlit keeps that sign-in in
its own signed cookie; the account is checked on every page, so disabling it takes effect at once.
"""

from __future__ import annotations

import logging

import streamlit as st
from sqlalchemy.exc import DBAPIError

from quarterhour.i18n import error_words, t
from quarterhour.ui import state as S
from quarterhour.ui.plain import plain, said
from quarterhour.ui.session_cookie import forget, remember, remembered
from quarterhour.workspace import Actor, WorkspaceError, local_actor, open_store
from quarterhour.workspace.accounts import Accounts, SignInRefused, session_hours

__all__ = ["signin_ui", "sso_configured"]

log = logging.getLogger("quarterhour.app")


def sso_configured() -> bool:
    """Whether single sign-on is set up: an ``[auth]`` section in ``.streamlit/secrets.toml``."""
    try:
        return "auth" in st.secrets
    except Exception:
        return False


def _sso_user() -> dict | None:
    """The provider's claims of a person signed in with ``st.login``, or None."""
    try:
        user = st.user.to_dict()
    except Exception:
        return None
    return user if user.get("is_logged_in") is True else None


def signin_ui(lang: str) -> Actor | None:
    """The session's account: the local user without accounts, the signed-in one, or None (the form is shown).

    Fails closed: a workspace that cannot be opened or is locked (now, or in the middle of a session) gives
    the sign-in page with a message and no data, never the local user's page, never the database's path.
    """
    try:
        return _signin_ui(lang)
    except (WorkspaceError, DBAPIError):
        log.warning("the workspace cannot be opened: the sign-in page says so", exc_info=True)
        st.title(t("title", lang))
        st.subheader(t("sign_in", lang))
        st.error(t("ws_closed", lang))
        return None


def _signin_ui(lang: str) -> Actor | None:
    accounts = Accounts(open_store())
    if not accounts.any():
        return local_actor()
    try:
        session_hours()  # with accounts, a setting every sign-in would trip on: said, and no one is let in
    except WorkspaceError as exc:
        st.title(t("title", lang))
        st.error(plain(error_words(exc, lang)))  # issue 25: in the planner's language
        return None
    sso = sso_configured()
    user = _sso_user() if sso else None
    if user is not None:
        return _sso_ui(accounts, user, lang)
    token = st.session_state.get(S.TOKEN) or _cookie_token()
    who = accounts.actor(token)
    if who is not None:
        return _signed_in_ui(accounts, token, who, lang)
    if token:  # expired, signed out elsewhere, or the account disabled
        st.session_state[S.DROPPED_TOKEN] = token
        st.session_state.pop(S.TOKEN, None)
        _forget()
        st.info(t("session_ended", lang))
    if remembered():
        forget()  # the browser still holds a token the server no longer takes
    _form_ui(accounts, sso, lang)
    return None


def _cookie_token() -> str | None:
    """The token this browser kept from an earlier page, unless this session already dropped it."""
    token = remembered()
    return None if token == st.session_state.get(S.DROPPED_TOKEN) else token


def _signed_in_ui(accounts: Accounts, token: str, who: Actor, lang: str) -> Actor:
    """Keep the token (in the session and the browser), name the account, and offer to sign out."""
    st.session_state[S.TOKEN] = token
    if st.session_state.get(S.TOKEN_KEPT) != token:
        if remembered() != token:  # a new sign-in (a token from the cookie is kept there already, to its expiry)
            remember(token, session_hours())
        st.session_state[S.TOKEN_KEPT] = token
    st.sidebar.caption(said("signed_in_as", lang, name=who.name, role=t(f"role_{who.role}", lang)))
    if st.sidebar.button(t("sign_out", lang), key=S.SIGN_OUT):
        accounts.sign_out(token)
        st.session_state[S.DROPPED_TOKEN] = token
        st.session_state.pop(S.TOKEN, None)
        _forget()
        st.rerun()
    return who


def _sso_ui(accounts: Accounts, user: dict, lang: str) -> Actor | None:
    """A person signed in with the organisation: their account, or why not (and a way to sign out)."""
    try:
        who = accounts.sso_actor(user)
    except SignInRefused as exc:
        st.title(t("title", lang))
        st.error(plain(error_words(exc, lang)))
        st.button(t("sign_out", lang), key=S.SIGN_OUT, on_click=st.logout)
        return None
    st.sidebar.caption(said("signed_in_as", lang, name=who.name, role=t(f"role_{who.role}", lang)))
    if st.sidebar.button(t("sign_out", lang), key=S.SIGN_OUT):
        _forget()
        st.logout()
    return who


def _form_ui(accounts: Accounts, sso: bool, lang: str) -> None:
    """The sign-in form (and, with single sign-on configured, the organisation's button)."""
    st.title(t("title", lang))
    if sso:
        st.button(t("sign_in_sso", lang), key=S.SIGN_IN_SSO, on_click=st.login, type="primary")
    with st.form(S.SIGN_IN_FORM):
        st.subheader(t("sign_in", lang))
        name = st.text_input(t("account_name", lang), key=S.ACCOUNT_NAME)
        password = st.text_input(t("password", lang), type="password", key=S.PASSWORD)
        if st.form_submit_button(t("sign_in", lang)):
            try:
                st.session_state[S.TOKEN], _ = accounts.sign_in(name, password)
            except SignInRefused as exc:
                st.error(plain(error_words(exc, lang)))
            else:
                st.session_state.pop(S.DROPPED_TOKEN, None)
                st.rerun()


def _forget() -> None:
    """A signed-out session keeps nothing of the account's scenario."""
    for key in [k for k in st.session_state if str(k).startswith("ws_")]:
        del st.session_state[key]
    st.session_state[S.CHANGES] = []
    st.session_state.pop(S.ACTOR, None)
