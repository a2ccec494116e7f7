"""The time of the week the planner looks at (issue 31): the control, and the headline that says the time."""

from __future__ import annotations

import streamlit as st

from analysis.pipeline import CircleResult
from geo.hours import at_label
from quarterhour.i18n import both, t
from quarterhour.pack.hours import hours_tables
from quarterhour.ui import state as S

__all__ = ["hours_headline_ui", "time_ui", "week_ui"]

#: The control's stops: any time (every facility counts), then each hour of the week, Monday 00:00 first.
_STOPS: tuple[int | None, ...] = (None, *(h * 60 for h in range(168)))


def time_ui(lang: str) -> int | None:
    """A slider over the week's hours; returns the minute of the week chosen, or None for any time."""
    return st.select_slider(
        t("hours_time", lang),
        options=list(_STOPS),
        value=None,
        format_func=_stop_words,
        help=t("hours_time_help", lang),
        key=S.HOURS_AT,
    )


def _stop_words(minute: int | None) -> str:
    """A stop's words, the same in both languages ("周三 We 19:00").

    A choice whose words changed with the language would be lost when the planner switches it (Streamlit
    matches a choice by its words).
    """
    if minute is None:
        return both("hours_any_time")
    return f"{at_label(minute, 'zh').split()[0]} {at_label(minute, 'en')}"


def hours_headline_ui(result: CircleResult, at: int | None, lang: str) -> None:
    """The headline at a time ("周三 19:00 开放设施覆盖：69.7%"), above the figures; nothing at any time."""
    if at is None:
        return
    said = next((n for n in result.skipped if getattr(n, "key", "") == "hours_at"), None)
    values = dict(said.values) if said is not None else {}
    n = values.get("n", result.summary.n_facilities)
    st.subheader(
        t(
            "hours_headline",
            lang,
            at=at_label(at, lang),
            pct=result.summary.pct_covered,
            n=n,
            n_open=values.get("n_open", n),
        )
    )
    if getattr(result, "hours", None) is not None:
        week_ui(result, lang)


def week_ui(result: CircleResult, lang: str) -> None:
    """The week at a glance: coverage at each hour (a chart) and in each named window (a table)."""
    hourly, windows = hours_tables(result, lang).values()
    with st.expander(t("pack_hours_title", lang)):
        st.line_chart(hourly.set_index(t("pack_hours_time", lang))[t("pack_hours_pct", lang)], height=220)
        st.dataframe(windows, hide_index=True, key=S.HOURS_WEEK)
