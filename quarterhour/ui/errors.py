"""How a part of the page fails: bad input is shown with ``st.error``; anything else is a bug, said so."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import streamlit as st

from geo import InputError
from geo.errors import plain_text
from quarterhour.i18n import error_words, t
from quarterhour.ui.plain import plain
from quarterhour.ui.uploads import shown

__all__ = ["Outcome", "page_edge", "step"]

log = logging.getLogger("quarterhour.app")


@dataclass
class Outcome:
    """What became of a step: the error it stopped on, if any."""

    error: Exception | None = None


@contextmanager
def step(lang: str, what: str = "a step of the app") -> Iterator[Outcome]:
    """One part of the page: its failure is shown where it happened, and the rest of the page still works.

    Parameters
    ----------
    lang
        The planner's language, for the bug message.
    what
        The part, as the server log names it.

    Yields
    ------
    Outcome
        Read after the block: ``error`` is the ``InputError`` or the bug it stopped on, or None.
    """
    outcome = Outcome()
    try:
        yield outcome
    except InputError as exc:
        outcome.error = exc
        st.error(plain(shown(error_words(exc, lang))))  # a workspace refusal in the planner's language
    except Exception as exc:  # a bug: say so plainly, keep the traceback in the server log
        outcome.error = exc
        log.exception("%s failed", what)
        st.error(f"{t('bug', lang)} {type(exc).__name__}: {plain(shown(plain_text(exc)))}")


@contextmanager
def page_edge(lang_key: str = "lang") -> Iterator[None]:
    """The whole page: a bug that no part caught is said in the planner's words, never as Streamlit's traceback.

    The server log keeps the traceback under a short number that the page shows, so a report can be matched
    to it; the page shows no exception text, no file or server path. Streamlit's own stop and rerun signals
    (``BaseException``) pass through.

    Parameters
    ----------
    lang_key
        The session key of the planner's language (``quarterhour.ui.state.LANG``); Chinese until one is chosen.
    """
    try:
        yield
    except Exception:
        ref = secrets.token_hex(4)
        log.exception("the page failed (report number %s)", ref)
        lang = st.session_state.get(lang_key, "zh")
        st.error(t("page_bug", lang if lang in ("zh", "en") else "zh", ref=ref))
