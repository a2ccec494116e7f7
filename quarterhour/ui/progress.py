"""A long page run's stages shown as they go (issue 29, city-upload): a city's residents upload → map.

A 100k-node city's residents take seconds to read, to place on the streets, to analyse and to draw. The
page shows where it is in one box at the top (``st.status``), in the planner's language: '读取居民',
'把居民放到街道上', each step of the run, '绘制地图' (the map, its panel and the autosave); the box goes
when the page is shown. Nothing is shown on a run that computes nothing (a cached page, a click).

The stages are told from inside the cached computations (``quarterhour.ui.compute``), which do not know
the page: ``tell(name)`` reaches the box of the page run under way on this thread (``running``), if any.
What is written to the box is kept out of Streamlit's replay of the cached functions' elements, so a
cache hit shows no stale stage.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st
from streamlit.runtime.caching.cached_message_replay import in_cached_function

from quarterhour.i18n import t
from quarterhour.ui import state as S

__all__ = ["STAGES", "Stages", "running", "tell"]

#: The stages in the order a residents' upload goes through them (``stage_<name>`` in ``quarterhour.i18n``);
#: the run's own steps (``analysis.pipeline.STEPS``) are told as ``step_<name>`` between snapping and the map.
STAGES = ("reading", "snapping", "analysis", "map")

_here = threading.local()


class Stages:
    """The box of one page run: made at the first stage told, gone when the run is over."""

    def __init__(self, lang_key: str) -> None:
        self.lang_key = lang_key
        self.slot = st.empty()  # its place at the top of the page, empty unless something takes a while
        self.box = None
        self.started = time.perf_counter()
        self.told: list[str] = []

    def __call__(self, name: str, *, only_if_shown: bool = False) -> None:
        """Stage ``name`` begins (a key of ``STAGES`` or ``step_<run step>``); ``only_if_shown``: if the box is up."""
        if only_if_shown and self.box is None:
            return
        lang = st.session_state.get(self.lang_key, "zh")  # the language radio is drawn before anything takes long
        lang = lang if lang in ("zh", "en") else "zh"
        label = t(name if name.startswith("step_") else f"stage_{name}", lang)
        token = in_cached_function.set(False)  # not an element of the cached function: never replayed
        try:
            if self.box is None:
                self.box = self.slot.container().status(label, expanded=True)  # as st.empty's docs hold blocks
            else:
                self.box.update(label=label)
            took = time.perf_counter() - self.started
            self.box.markdown(t("stage_line", lang, s=took, stage=label))
        finally:
            in_cached_function.reset(token)
        self.told.append(name)
        st.session_state[S.STAGES_TOLD] = list(self.told)

    def done(self) -> None:
        """The run is over: the box goes."""
        if self.box is not None:
            self.slot.empty()
            self.box = None


@contextmanager
def running(lang_key: str) -> Iterator[Stages]:
    """The page run's box: ``tell`` reaches it while the block runs (on this thread).

    Parameters
    ----------
    lang_key
        The session key of the planner's language (``quarterhour.ui.state.LANG``), read when a stage is told.
    """
    stages = Stages(lang_key)
    _here.stages = stages
    try:
        yield stages
    finally:  # a run stopped for a newer one leaves its box to that run's (the same place on the page)
        _here.stages = None
    stages.done()


def tell(name: str, *, only_if_shown: bool = False) -> None:
    """Stage ``name`` begins on the page run under way on this thread (nothing outside a page run).

    Nothing either from inside a part that reruns alone (``st.fragment``): the box is not the part's, and the
    browser, clearing what the part drew last time, would reach into the box after it is gone.
    """
    stages = getattr(_here, "stages", None)
    if stages is not None and not _in_part():
        stages(name, only_if_shown=only_if_shown)


def _in_part() -> bool:
    """Whether this thread runs a ``st.fragment``'s body now (Streamlit's thread state names the fragment)."""
    try:
        from streamlit.runtime.scriptrunner_utils.script_run_context import ThreadState

        return ThreadState.get().fragment_id is not None
    except (ImportError, AttributeError):  # another Streamlit: the page's box is still said from outside parts
        return False
