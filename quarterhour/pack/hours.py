"""The review pack's week (issue 31): coverage by the hour as a chart (PNG, CJK font) and as tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from analysis import columns as C
from analysis.pipeline import CircleResult
from geo.hours import WINDOWS, window_hours
from quarterhour.i18n import t
from quarterhour.pack.documents import Block
from quarterhour.render.palette import CLOSED_COLOR, REACH_COLOR
from quarterhour.render.staticmap import drawing, figure_png

__all__ = ["HOURS_CHART", "hours_pack", "hours_tables", "week_chart"]

HOURS_CHART = "coverage_by_hour.png"  #: the chart's file in the pack's summary
_DAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
_DAYS_EN = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")


def hours_tables(result: CircleResult, lang: str) -> dict[str, pd.DataFrame]:
    """The week's two tables, their columns in ``lang``: each of the 168 hours, and the named windows."""
    week = result.hours
    hourly = week.hourly_table()
    hourly = pd.DataFrame(
        {
            t("pack_hours_time", lang): hourly["time" if lang == "zh" else "time_en"],
            t("pack_hours_open", lang): hourly["n_open"],
            t("pack_hours_unknown", lang): hourly["n_unknown"],
            t("pack_hours_covered", lang): hourly[C.POP_COVERED].round(0),
            t("pack_hours_pct", lang): hourly[C.PCT_COVERED].round(1),
            t("pack_hours_maybe", lang): hourly["pop_covered_if_unknown_open"].round(0),
        }
    )
    windows = week.summary_table()
    windows = pd.DataFrame(
        {
            t("pack_hours_window", lang): [t(f"window_{w}", lang) for w in windows["window"]],
            t("pack_hours_covered", lang): windows[C.POP_COVERED].round(0),
            t("pack_hours_pct", lang): windows[C.PCT_COVERED].round(1),
        }
    )
    return {t("pack_hours_sheet", lang)[:31]: hourly, t("pack_hours_windows", lang)[:31]: windows}


def week_chart(result: CircleResult, lang: str) -> bytes:
    """Percent covered at each hour of the week, weekday evenings shaded; PNG bytes."""
    pct = result.hours.hourly_table()[C.PCT_COVERED].to_numpy()
    with drawing(lang):
        fig = Figure(figsize=(10, 3.6))
        ax = fig.add_subplot()
        for h in window_hours("weekday-evening"):
            ax.axvspan(h, h + 1, color=CLOSED_COLOR, alpha=0.35, lw=0)
        ax.step(np.arange(169), np.r_[pct, pct[-1]], where="post", color=REACH_COLOR, lw=1.8)
        ax.set_xlim(0, 168)
        ax.set_ylim(0, 100)
        ax.set_xticks(np.arange(0, 168, 24) + 12, _DAYS if lang == "zh" else _DAYS_EN)
        ax.set_xticks(np.arange(0, 169, 24), minor=True)
        ax.grid(axis="x", which="minor", color="#cccccc")
        ax.tick_params(axis="x", which="major", length=0)
        ax.set_ylabel(t("pack_hours_pct", lang))
        ax.set_title(t("pack_hours_title", lang))
        ax.text(0.995, 0.02, t("pack_hours_shaded", lang), transform=ax.transAxes, ha="right", fontsize=8)
    return figure_png(fig, lang=lang)


def hours_pack(result: CircleResult, lang: str) -> tuple[list[Block], dict[str, pd.DataFrame], dict[str, bytes]]:
    """The summary's blocks, sheets and files for the week; nothing when the run asked no time."""
    if getattr(result, "hours", None) is None:
        return [], {}, {}
    png = week_chart(result, lang)
    tables = hours_tables(result, lang)
    hourly, windows = tables.values()
    blocks = [
        Block("h2", t("pack_hours_title", lang)),
        Block("image", t("pack_hours_title", lang), image=png),
        Block("table", table=windows),
        Block("p", t("pack_hours_method", lang, n=len(WINDOWS))),
        Block("table", table=hourly.iloc[[d * 24 + h for d in range(7) for h in (10, 19)]], full_in="summary.xlsx"),
    ]
    return blocks, tables, {HOURS_CHART: png}
