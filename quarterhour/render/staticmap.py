"""Static maps for the review pack, drawn offline with matplotlib: no tiles, no network access.

The base is the street network itself; on it the unit's boundary, the reach of
the facilities (cut to the unit), the gap zones, uncovered residents, the
facilities and the suggested new sites, with a legend, a scale bar and a north
arrow (grid north of the metric CRS, within a degree or two of true north in a
UTM zone).

Chinese text needs a CJK font. ``cjk_font`` looks for one matplotlib can use:
a file named by ``QUARTERHOUR_CJK_FONT``, else an installed Noto Sans/Serif CJK
(Debian ``fonts-noto-cjk``), Source Han, WenQuanYi or Droid Sans Fallback.
Without any, the pack is labelled in English, with a warning, rather than
drawing empty boxes. (No font package from PyPI is added: the one that ships a
Simplified-Chinese font, mplfonts, is an 85 MB wheel that also redistributes
SimHei, a commercial font.)
"""

from __future__ import annotations

import functools
import io
import logging
import math
import os
import warnings

import geopandas as gpd
import matplotlib
import numpy as np
import shapely
from matplotlib import font_manager
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure  # figures without pyplot: no global state, no GUI backend
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.path import Path as MplPath

from analysis import columns as C
from geo.network import StreetNetwork
from geo.vocab import CATEGORIES
from quarterhour.i18n import category_name, reach_name, t
from quarterhour.render.palette import (
    BOUNDARY_COLOR,
    CATEGORY_COLORS,
    FACILITY_EDGE_COLOR,
    GAP_COLOR,
    GAP_EDGE_COLOR,
    GAP_LABEL_COLOR,
    NO_DATA_COLOR,
    RATE_CMAP,
    REACH_COLOR,
    SITE_COLOR,
    SITE_EDGE_COLOR,
    STREET_COLOR,
    TEXT_GREY,
    UNCOVERED_COLOR,
)

__all__ = [
    "LABEL_COLS",
    "MAP_TITLE_COLS",
    "TITLE_COLS",
    "cjk_font",
    "clip",
    "drawing",
    "figure_png",
    "overview_map",
    "text_cols",
    "text_lang",
    "unit_map",
]

log = logging.getLogger(__name__)

#: Titles are cut to this many columns (a CJK character counts two, ``text_cols``); tables keep names whole.
TITLE_COLS = 120
#: ... a map's title to this many (it must not widen the map), a label on a map to this many.
MAP_TITLE_COLS, LABEL_COLS = 72, 24
_CJK_FROM = 0x2E80  #: code points from here on are drawn two columns wide


def text_cols(text: str) -> int:
    """The columns ``text`` takes in a fixed-width layout: a CJK character counts two, any other one."""
    return sum(2 if ord(ch) > _CJK_FROM else 1 for ch in text)


def clip(text: str, n: int) -> str:
    """``text`` cut to fit ``n`` columns, an ellipsis marking the cut.

    Examples
    --------
    >>> clip("党群服务中心", 6), clip("Monaco-Ville", 8)
    ('党群…', 'Monaco-…')
    """
    out, cols = "", 0
    for ch in text:
        cols += text_cols(ch)
        if cols > n - 1:
            return out + "…"
        out += ch
    return out


#: Preferred families, Simplified Chinese first.
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "Noto Serif CJK SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Noto Sans CJK JP",
    "Droid Sans Fallback",
)


@functools.cache
def cjk_font() -> str | None:
    """The family name of a CJK font matplotlib can draw with, or None.

    Examples
    --------
    >>> cjk_font() is None or isinstance(cjk_font(), str)
    True
    """
    path = os.environ.get("QUARTERHOUR_CJK_FONT")
    if path and os.path.isfile(path):
        font_manager.fontManager.addfont(path)
        return font_manager.FontProperties(fname=path).get_name()
    names = {f.name for f in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in names:
            return family
    return None


def text_lang(lang: str) -> str:
    """The language the pack can be drawn in: ``lang``, or English when Chinese is asked and no CJK font exists."""
    if lang == "zh" and cjk_font() is None:
        warnings.warn(
            "no CJK font found (install fonts-noto-cjk, or set QUARTERHOUR_CJK_FONT to a .ttf/.otf/.ttc): "
            "the maps and the PDF are labelled in English",
            UserWarning,
            stacklevel=2,
        )
        return "en"
    return lang


def _rc(lang: str) -> dict:
    family = cjk_font()
    # per-glyph fallback: English labels still show Chinese unit and facility names
    fams = ([family, "DejaVu Sans"] if lang == "zh" else ["DejaVu Sans", family]) if family else ["DejaVu Sans"]
    return {
        "font.family": fams,
        "axes.unicode_minus": False,
        "pdf.fonttype": 3,
    }  # Type 3: glyph subsets of any font, .ttc included


def drawing(lang: str):
    """A matplotlib settings context for drawing in ``lang`` (the CJK font for Chinese)."""
    return matplotlib.rc_context(_rc(lang))


def figure_png(fig: Figure, *, dpi: int = 150, lang: str = "zh") -> bytes:
    """A figure as PNG bytes.

    Parameters
    ----------
    fig
        The figure.
    dpi
        Dots per inch.
    lang
        The text's language (``"zh"`` draws with a CJK font).
    """
    buf = io.BytesIO()
    with drawing(lang):
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": "quarterhour"})
    return buf.getvalue()


def _nice_length(span_m: float) -> float:
    """A round scale-bar length near a fifth of the map's width."""
    target = span_m / 5
    base = 10 ** math.floor(math.log10(target))
    return max(m * base for m in (1, 2, 2.5, 5) if m * base <= target)


def _decorate(ax, lang: str) -> None:
    """Scale bar (bottom left) and north arrow (top right), in axes fractions over metric data."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = _nice_length(x1 - x0)
    bx, by = x0 + 0.05 * (x1 - x0), y0 + 0.05 * (y1 - y0)
    h = 0.012 * (y1 - y0)
    for i in range(2):  # a two-part bar, black and white
        ax.add_patch(
            Rectangle(
                (bx + i * length / 2, by), length / 2, h, facecolor="black" if i == 0 else "white", edgecolor="black"
            )
        )
    label = t("map_scale_km", lang, n=length / 1000) if length >= 1000 else t("map_scale_m", lang, n=length)
    for x, text in ((bx, "0"), (bx + length, label)):
        ax.text(x, by + 2 * h, text, ha="center", va="bottom", fontsize=8)
    ax.annotate(
        "",
        xy=(0.95, 0.96),
        xytext=(0.95, 0.86),
        xycoords="axes fraction",
        arrowprops={"facecolor": "black", "width": 4, "headwidth": 12, "headlength": 12},
    )
    ax.text(
        0.95,
        0.84,
        t("map_north", lang),
        transform=ax.transAxes,
        ha="center",
        va="top",
        fontsize=11,
        fontweight="bold",
        bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1},
    )


def _streets(ax, network: StreetNetwork, box: tuple[float, float, float, float]) -> None:
    edges = network.edges
    near = edges.sindex.query(shapely.box(*box), predicate="intersects")
    xy, which = shapely.get_coordinates(edges.geometry.to_numpy()[near], return_index=True)
    # One line broken by NaN between streets: one path to draw, not one object per street (5x faster).
    breaks = np.flatnonzero(np.diff(which)) + 1
    xy = np.insert(xy, breaks, np.nan, axis=0)
    ax.plot(xy[:, 0], xy[:, 1], color=STREET_COLOR, linewidth=0.4, zorder=1, solid_capstyle="butt")


def _one_path(polygons: np.ndarray) -> MplPath:
    """Polygons as one path to fill: where they overlap it is filled once, as their union would be.

    Every outer ring turns one way and every hole the other (``shapely.orient_polygons``), so
    matplotlib's non-zero fill paints a place when it lies inside any of the polygons, holes
    included only where no other polygon covers them. At a city's scale this draws a unit's
    reach with no union of its hundred overlapping isochrones (1.5 s a unit); drawn as a collection,
    the map's limits (already set) are not worked out again from its million points.
    """
    parts = shapely.get_parts(shapely.orient_polygons(polygons, exterior_cw=False))
    rings = shapely.get_rings(parts)
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    codes = np.full(len(xy), MplPath.LINETO, dtype=MplPath.code_type)
    if len(xy):
        first = np.r_[0, np.flatnonzero(np.diff(ring)) + 1]
        codes[first] = MplPath.MOVETO
        codes[np.r_[first[1:] - 1, len(xy) - 1]] = MplPath.CLOSEPOLY  # a ring's last point repeats its first
    return MplPath(xy, codes)


def _frame(ax, geom: shapely.Geometry, margin: float = 0.06) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = shapely.bounds(geom)
    pad = margin * max(x1 - x0, y1 - y0, 200)
    box = (x0 - pad, y0 - pad, x1 + pad, y1 + pad)
    ax.set_xlim(box[0], box[2])
    ax.set_ylim(box[1], box[3])
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    return box


def _finish(ax) -> None:
    ax.set_xlabel("")  # geopandas names the CRS axes; the map has a scale bar instead
    ax.set_ylabel("")


def unit_map(
    network: StreetNetwork,
    unit,
    *,
    minutes: float,
    sites: gpd.GeoDataFrame | None = None,
    title: str = "",
    lang: str = "zh",
    ys: object = None,
) -> Figure:
    """One unit's map: streets, boundary, reach, gaps, residents left out, facilities, new sites.

    Parameters
    ----------
    network
        The street network (drawn inside the unit's frame).
    unit
        The unit's layers, an ``analysis.units.UnitLayers``.
    minutes
        The threshold (minutes) whose reach is drawn.
    sites
        Suggested new sites, or None.
    title
        The map's title.
    lang
        The legend's language, ``"zh"`` or ``"en"``.
    ys
        The run's ``analysis.yardstick.Yardstick``: a distance yardstick names the reach's metres of walk.

    Returns
    -------
    matplotlib.figure.Figure
        The map, with legend, scale bar and north arrow (``figure_png`` makes it a PNG).
    """
    with drawing(lang):
        fig = Figure(figsize=(8, 7.2))
        ax = fig.subplots()
        box = _frame(ax, unit.geometry)
        _streets(ax, network, box)
        handles = [Line2D([], [], color=STREET_COLOR, lw=1, label=t("streets", lang))]
        reach = unit.isochrones[np.isclose(unit.isochrones[C.BAND_MIN].astype(float), minutes)]
        if len(reach):
            reach_path = _one_path(reach.geometry.to_numpy())
            ax.add_collection(
                PathCollection([reach_path], facecolors=REACH_COLOR, alpha=0.35, linewidths=0, zorder=2), autolim=False
            )
            handles.append(Patch(facecolor=REACH_COLOR, alpha=0.35, label=reach_name(minutes, lang, ys)))
        if len(unit.gaps):
            unit.gaps.plot(ax=ax, facecolor=GAP_COLOR, alpha=0.45, edgecolor=GAP_EDGE_COLOR, linewidth=0.6, zorder=3)
            for _, g in unit.gaps.head(5).iterrows():
                p = g.geometry.representative_point()
                ax.text(p.x, p.y, f"#{g[C.RANK]}", fontsize=8, color=GAP_LABEL_COLOR, ha="center", zorder=7)
            handles.append(
                Patch(facecolor=GAP_COLOR, alpha=0.45, edgecolor=GAP_EDGE_COLOR, label=t("map_gap_zone", lang))
            )
        left = unit.demand[~unit.demand[C.COVERED]]
        if len(left):
            ax.scatter(left.geometry.x, left.geometry.y, s=5, color=UNCOVERED_COLOR, zorder=4)
            handles.append(
                Line2D([], [], marker="o", ls="", ms=3, color=UNCOVERED_COLOR, label=t("residents_uncovered", lang)),
            )
        gpd.GeoSeries([unit.geometry], crs=unit.demand.crs).boundary.plot(ax=ax, color=BOUNDARY_COLOR, lw=1.6, zorder=5)
        handles.append(Line2D([], [], color=BOUNDARY_COLOR, lw=1.6, label=t("map_unit_boundary", lang)))
        fac = unit.facilities
        for cat in CATEGORIES:
            colour = CATEGORY_COLORS[cat]
            mine = fac[fac["category"] == cat]
            if len(mine):
                ax.scatter(
                    mine.geometry.x,
                    mine.geometry.y,
                    s=40,
                    color=colour,
                    edgecolor=FACILITY_EDGE_COLOR,
                    zorder=6,
                    linewidths=0.8,
                )
                handles.append(
                    Line2D(
                        [],
                        [],
                        marker="o",
                        ls="",
                        ms=7,
                        color=colour,
                        mec=FACILITY_EDGE_COLOR,
                        label=category_name(cat, lang),
                    )
                )
        if sites is not None and len(sites):
            ax.scatter(
                sites.geometry.x,
                sites.geometry.y,
                s=220,
                marker="*",
                color=SITE_COLOR,
                edgecolor=SITE_EDGE_COLOR,
                zorder=8,
            )
            for _, s in sites.iterrows():
                ax.annotate(
                    clip(str(s["site_id"]), LABEL_COLS),
                    (s.geometry.x, s.geometry.y),
                    xytext=(6, 6),
                    textcoords="offset points",
                    fontsize=9,
                )
            handles.append(
                Line2D([], [], marker="*", ls="", ms=13, color=SITE_COLOR, mec=SITE_EDGE_COLOR, label=t("sites", lang))
            )
        _decorate(ax, lang)
        _finish(ax)
        ax.legend(handles=handles, loc="lower right", fontsize=8, framealpha=0.9)
        ax.set_title(clip(title, MAP_TITLE_COLS), fontsize=13)
        fig.text(0.01, 0.005, t("map_source", lang), fontsize=7, color=TEXT_GREY)
        fig.tight_layout()
    return fig


def overview_map(network: StreetNetwork, table: gpd.GeoDataFrame, *, title: str = "", lang: str = "zh") -> Figure:
    """The units of one level coloured by coverage rate, over the streets, each labelled with its code.

    Parameters
    ----------
    network
        The street network.
    table
        The level's coverage table (``CircleResult.levels[level]``), in the network's CRS.
    title
        The map's title.
    lang
        The legend's language, ``"zh"`` or ``"en"``.
    """
    with drawing(lang):
        fig = Figure(figsize=(8, 7.2))
        ax = fig.subplots()
        box = _frame(ax, shapely.union_all(table.geometry.values))
        _streets(ax, network, box)
        table.plot(
            ax=ax,
            column=C.PCT_COVERED,
            cmap=RATE_CMAP,
            vmin=max(0.0, float(np.nanmin(table[C.PCT_COVERED])) - 1) if table[C.PCT_COVERED].notna().any() else 0,
            vmax=100,
            alpha=0.55,
            edgecolor="black",
            linewidth=0.8,
            zorder=2,
            legend=True,
            legend_kwds={"label": f"{t('coverage_rate', lang)} %", "shrink": 0.6},
            missing_kwds={"color": NO_DATA_COLOR},
        )
        for _, row in table.iterrows():
            p = row.geometry.representative_point()
            ax.text(p.x, p.y, clip(str(row["code"]), LABEL_COLS), fontsize=7, ha="center", zorder=5)
        _decorate(ax, lang)
        _finish(ax)
        ax.set_title(clip(title, MAP_TITLE_COLS), fontsize=13)
        fig.text(0.01, 0.005, t("map_source", lang), fontsize=7, color=TEXT_GREY)
        fig.tight_layout()
    return fig
