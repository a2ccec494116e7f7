"""How a part of the page fails: bad input is shown with ``st.error``; anything else is a bug, said so."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import streamlit as st

from geo import InputError
from geo.errors import plain_text
from quarterhour.i18n import t
from ui.plain import plain
from ui.uploads import shown

__all__ = ["Outcome", "step"]

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
        st.error(plain(shown(str(exc))))
    except Exception as exc:  # a bug: say so plainly, keep the traceback in the server log
        outcome.error = exc
        log.exception("%s failed", what)
        st.error(f"{t('bug', lang)} {type(exc).__name__}: {plain(shown(plain_text(exc)))}")
