"""Which part of the page runs (issue 29): the whole page, or one part alone (``ui.fragments``)."""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

__all__ = ["alone", "rerun_part"]


def alone() -> bool:
    """Whether this run is a part's own rerun (a ``st.fragment``), not the whole page's."""
    ctx = get_script_run_ctx()
    return bool(ctx and ctx.fragment_ids_this_run)


def rerun_part() -> None:
    """Run the current part again: alone when it runs alone, else the whole page."""
    st.rerun(scope="fragment" if alone() else "app")
