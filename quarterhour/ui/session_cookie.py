"""The sign-in that survives a reload: the session's opaque token kept in a cookie of the app's own origin.

Why a cookie and not the page's address (``st.query_params``): an address is copied into chats, bookmarks,
the browser's history and a proxy's access log, and whoever has it would be signed in as the planner. A cookie
stays in this browser, is sent only to this server (``SameSite=Strict``; ``Secure`` over https), and lasts no
longer than the sign-in (``Max-Age`` = the session's hours). What it holds is the random token of
``workspace.accounts`` (32 bytes from ``secrets``), never the password; the server keeps only its SHA-256 with
an expiry, so a token that expired, was signed out, or whose account was disabled is refused however long the
cookie lives. Nothing prints or logs it.

Streamlit reads cookies (``st.context.cookies``, sent with the page's connection) but cannot set them from
Python, so a few lines of script set and clear it. A reload is then a new session that finds the token.
"""

from __future__ import annotations

import json

import streamlit as st

__all__ = ["COOKIE", "forget", "remember", "remembered"]

COOKIE = "quarterhour_session"


def remembered() -> str | None:
    """The token this browser sent with the page (None without one)."""
    try:
        value = st.context.cookies.get(COOKIE)
    except (AttributeError, RuntimeError):  # no browser behind the session (a bare script run)
        return None
    return value if isinstance(value, str) and value else None


def _set(value: str, max_age: int) -> None:
    secure = "(location.protocol === 'https:' ? '; Secure' : '')"
    st.html(
        f"<script>document.cookie = {json.dumps(f'{COOKIE}={value}; Path=/; Max-Age={max_age}; SameSite=Strict')}"
        f" + {secure};</script>",
        unsafe_allow_javascript=True,
    )


def remember(token: str, hours: float) -> None:
    """Keep ``token`` in this browser for ``hours`` (the session's length)."""
    _set(token, max(int(hours * 3600), 1))


def forget() -> None:
    """Remove the token from this browser (signed out, or refused by the server)."""
    _set("", 0)
