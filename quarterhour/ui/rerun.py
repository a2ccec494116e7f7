"""Which part of the page runs (issue 29): the whole page, or one part alone (``quarterhour.ui.fragments``)."""

from __future__ import annotations

from typing import NoReturn

import streamlit as st
from streamlit.errors import StreamlitAPIException
from streamlit.runtime.scriptrunner import get_script_run_ctx

__all__ = ["alone", "keep_action", "keep_parts", "kept"]


def alone() -> bool:
    """Whether this run is a part's own rerun (a ``st.fragment``), not the whole page's."""
    ctx = get_script_run_ctx()
    return bool(ctx and ctx.fragment_ids_this_run)


def _part_gone() -> bool:
    """Whether this run reruns a part the page's last run no longer holds under the id the browser sent.

    A part's id is its place on the page: when a page run draws something new above it (an upload's
    note, say), the part gets a new id. A press on the part as the browser still showed it (while that
    page run was going on) asks for the old id, which Streamlit no longer finds once the run is over:
    it skips the part and the press would be lost.
    """
    ctx = get_script_run_ctx()
    ids = ctx.fragment_ids_this_run if ctx else None
    return bool(ids) and not all(ctx.fragment_storage.contains(i) for i in ids)


def keep_action(part: str) -> None:
    """End of a widget callback (``on_click``/``on_change``) in ``part``: the action is in session state already.

    A callback runs before Streamlit looks the part up, so whatever run comes next draws the change.
    When the part the press was sent to is gone (``_part_gone``), ``part`` reruns under its new id (the
    page's last run drew it), or the whole page when no run has drawn it; otherwise the part reruns
    alone, as usual.
    """
    if not _part_gone():
        return
    try:
        get_script_run_ctx().fragment_storage.resolve_target(part)
    except StreamlitAPIException:
        st.rerun()  # no run has drawn the part: the whole page
    st.rerun(part)


def kept(part: str) -> dict:
    """A widget's ``on_change`` keywords for a choice in ``part`` (issue 29): ``st.radio(..., **kept(S.PART_MAP))``.

    The widget's new value is in session state before the callback runs; ending in ``keep_action`` the
    part draws it even when the press was sent to the part's old id (an unfinished page run drew more above it).
    """
    return {"on_change": keep_action, "args": (part,)}


def keep_parts(*parts: str) -> NoReturn:
    """End of a widget callback whose action several parts draw: they rerun alone, under their ids of now.

    A keyed rerun finds each part by its key, not by the id the browser sent, so a press sent during an
    unfinished page run is kept too; the whole page reruns when a part was never drawn (its key is unknown).
    """
    try:
        get_script_run_ctx().fragment_storage.resolve_target(list(parts))
    except StreamlitAPIException:
        st.rerun()
    st.rerun(list(parts))
