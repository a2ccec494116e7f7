"""The web map's legend: categories, reach bands, residents left out, gaps, new and changed centres.

Colours from ``quarterhour.render.palette``, words from ``quarterhour.i18n``, as the layers use them.
"""

from __future__ import annotations

import html

from geo.vocab import CATEGORIES
from quarterhour.i18n import category_name, reach_name, t
from quarterhour.render.palette import (
    CATEGORY_COLORS,
    GAP_COLOR,
    REACH_BAND_COLORS,
    SCENARIO_COLOR,
    SITE_COLOR,
    SITE_EDGE_COLOR,
    UNCOVERED_COLOR,
)

__all__ = ["legend_html"]


_SHAPES = {
    "circle": "border-radius:50%",
    "square": "opacity:.6",
    "ring": f"border-radius:50%;outline:3px solid {SITE_EDGE_COLOR}",
}


def legend_html(lang: str, bands: list[float], gap_cell_m: float, *, points: bool = True, ys: object = None) -> str:
    """The map's legend as HTML: categories, reach bands, residents left out (with ``points``), gaps, new centres.

    Parameters
    ----------
    lang
        ``"zh"`` or ``"en"``.
    bands
        The reach bands in minutes, nearest first.
    gap_cell_m
        The gap grid's cell size in metres (named in the label).
    points
        Whether resident points are on the map.
    ys
        The run's ``analysis.yardstick.Yardstick``: a distance yardstick names each band's metres of walk.
    """
    rows = [(CATEGORY_COLORS[c], "circle", category_name(c, lang)) for c in CATEGORIES]
    rows += [
        *(
            (REACH_BAND_COLORS[min(i, len(REACH_BAND_COLORS) - 1)], "square", reach_name(b, lang, ys))
            for i, b in enumerate(bands)
        ),
        *([(UNCOVERED_COLOR, "circle", t("residents_uncovered", lang))] if points else []),
        (GAP_COLOR, "square", t("gaps", lang, cell=gap_cell_m)),
        (SITE_COLOR, "ring", t("sites", lang)),
        (SCENARIO_COLOR, "ring", t("scenario", lang)),
    ]
    items = "".join(
        f'<div><span style="display:inline-block;width:12px;height:12px;margin-right:6px;'
        f'background:{color};{_SHAPES[kind]}"></span>{html.escape(label)}</div>'
        for color, kind, label in rows
    )
    return (
        '<div style="position:fixed;bottom:24px;right:12px;z-index:1000;background:rgba(255,255,255,.92);'
        'padding:8px 10px;border-radius:4px;font:12px sans-serif;box-shadow:0 1px 4px rgba(0,0,0,.3)">'
        f"<b>{html.escape(t('legend', lang))}</b>{items}</div>"
    )
