"""The review pack for district reviews: per admin unit, layers, a map, tables and a report; a city summary.

``quarterhour report --out DIR --level district`` writes one folder per unit
(``<code>_<name>``, made safe for any file system), each holding

- ``layers.gpkg``: ``facilities``, ``demand``, ``isochrones`` (every facility's
  reach cut to the unit), ``coverage_<level>`` (the unit) and
  ``coverage_<sub-level>`` (the units below it), ``gaps`` (cut to the unit,
  ranked by its residents left out), ``sites`` and ``site_isochrones``;
- ``map.png``: streets, boundary, reach, gaps, facilities, new sites, with a
  legend, a scale bar and a north arrow (matplotlib, offline);
- ``tables.xlsx``: coverage by sub-unit, ranked gaps, suggested sites,
  facilities, provenance;
- ``report.html`` (self-contained: the map as a data URI) and ``report.pdf``;

and in DIR ``summary.html``, ``summary.pdf``, ``summary.xlsx`` and
``overview.png`` ranking the units by residents left out. Every file carries the
provenance: parameters, input files with SHA-256, software version and date.

New sites are chosen per unit (``analysis.units.unit_sites``): up to ``k``
sites inside the unit, exact MCLP for the unit's residents left out.

For the app (one unit, in memory, no re-run of the analysis)::

    build_pack(result: CircleResult, network: StreetNetwork, *, level: str, code: str,
               provenance: dict, k: int = 3, lang: str = "zh", max_snap_m: float = 300,
               spacing_m: float = 100, time_limit_s: float = 10) -> bytes   # a zip of the unit's folder

    unit_pack(...same...) -> dict[str, bytes]        # file name -> bytes, unzipped
    write_pack(result, network, out: Path, *, level, provenance, k=3, lang="zh", force=False,
               codes=None, ...) -> list[Path]       # the CLI's writer: every unit and the summary

``provenance`` comes from ``quarterhour.export.provenance(parameters, inputs)``.
"""

from __future__ import annotations

import base64
import html
import io
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from analysis import columns as C
from analysis.pipeline import CircleResult
from analysis.siting import SiteResult
from analysis.units import LEVEL_ORDER, UnitLayers, split_by_unit, unit_sites
from geo import InputError
from geo.network import StreetNetwork
from geo.snap import DEFAULT_MAX_SNAP_M
from quarterhour.export import atomic_write, gpkg_bytes, table_bytes
from quarterhour.staticmap import category_word, drawing, figure_png, overview_map, text_lang, unit_map

__all__ = ["PACK_FILES", "build_pack", "safe_name", "unit_pack", "write_pack"]

PACK_FILES = ("layers.gpkg", "map.png", "tables.xlsx", "report.html", "report.pdf")
SUMMARY_FILES = ("summary.html", "summary.pdf", "summary.xlsx", "overview.png")

_L = {
    "report": ("一刻钟党建服务圈覆盖评估", "15-minute party-service circle: coverage review"),
    "summary": ("全市汇总：各单元排名", "City summary: units ranked"),
    "level.city": ("市", "city"),
    "level.district": ("区", "district"),
    "level.subdistrict": ("街道", "sub-district"),
    "level.community": ("社区", "community"),
    "headline": ("主要指标", "Key figures"),
    "pop": ("居民", "residents"),
    "pop_covered": ("已覆盖居民", "residents covered"),
    "pop_uncovered": ("未覆盖居民", "residents left out"),
    "pct_covered": ("覆盖率 %", "coverage rate %"),
    "n_facilities": ("设施数", "facilities"),
    "n_gaps": ("服务盲区数", "gap zones"),
    "threshold": ("时间阈值", "threshold"),
    "map": ("地图", "Map"),
    "coverage": ("分单元覆盖", "Coverage by unit"),
    "gaps": ("服务盲区排名", "Gaps ranked by residents left out"),
    "sites": ("新增布点建议（最大覆盖模型 MCLP）", "Suggested new sites (maximal coverage, MCLP)"),
    "facilities": ("服务设施", "Facilities"),
    "provenance": ("参数与数据来源", "Parameters and provenance"),
    "notes": ("说明", "Notes"),
    "ranking": ("单元排名（按未覆盖居民）", "Units ranked by residents left out"),
    "code": ("代码", "code"),
    "name": ("名称", "name"),
    "rank": ("排名", "rank"),
    "gap_id": ("盲区编号", "gap"),
    "pop_uncovered_zone": ("整个盲区未覆盖居民", "left out in the whole zone"),
    "minutes": ("步行分钟", "walking minutes"),
    "rank_city": ("全市排名", "city rank"),
    "n_points": ("居民点数", "resident points"),
    "site_id": ("布点编号", "site"),
    "pop_new": ("新增覆盖居民", "residents newly covered"),
    "pct_after": ("新增后覆盖率 %", "coverage with new sites %"),
    "category": ("类别", "category"),
    "status": ("覆盖状态", "status"),
    "catchment_pop": ("服务人口", "catchment residents"),
    "sites_new": ("建议布点数", "new sites"),
    "no_gaps": ("本单元没有服务盲区。", "No coverage gaps in this unit."),
    "no_sites": ("本单元无需新增布点（无未覆盖居民或无候选点）。",
                 "No new site needed (nobody left out, or no candidate)."),
    "software": ("软件", "software"),
    "created": ("生成时间", "created"),
    "input": ("输入文件", "input file"),
    "sha256": ("SHA-256", "SHA-256"),
    "parameter": ("参数", "parameter"),
    "value": ("值", "value"),
    "speed": ("速度 km/h", "speed km/h"),
    "k": ("每单元新增布点上限 k", "new sites per unit, at most k"),
    "method": ("选址方法：每个单元内按 100 米网格取路网节点为候选点，对本单元未覆盖居民求解精确最大覆盖（MCLP）。",
               "Siting: candidates are network nodes on a 100 m grid inside the unit; exact maximal coverage (MCLP) "
               "of the unit's residents left out."),
    "gap_note": ("跨单元的盲区按居民所在单元拆分，各单元只计本单元居民。",
                 "Gap zones crossing a border are split: each unit counts its own residents only."),
    "status.full": ("全覆盖", "full"),
    "status.partly": ("部分覆盖", "partly"),
    "status.none": ("未覆盖", "none"),
    "status.empty": ("无居民", "no residents"),
}  # fmt: skip


def _t(key: str, lang: str) -> str:
    """A label: Chinese with English in brackets (``zh``), or English (``en``)."""
    zh, en = _L[key]
    return f"{zh}（{en}）" if lang == "zh" and zh != en else en if lang != "zh" else zh


def _short(key: str, lang: str) -> str:
    """A label in one language (for maps and narrow columns)."""
    zh, en = _L[key]
    return zh if lang == "zh" else en


def safe_name(code: str, name: str, *, max_len: int = 80) -> str:
    """A folder name from a unit's code and name, safe on Windows, macOS and Linux.

    Examples
    --------
    >>> safe_name("MC-D1", "西北区 (made-up district)")
    'MC-D1_西北区_made-up_district'
    >>> safe_name("../x", 'a<b>:"c"|?*')
    'x_a_b_c'
    """
    text = re.sub(r"[^\w\-]+", "_", f"{code}_{name}", flags=re.UNICODE)
    text = re.sub(r"_+", "_", text).strip("_-.")
    return text[:max_len].rstrip("_-.") or "unit"


# --- content: one model, two renderers (HTML and PDF) ---------------------------------------------------------------


@dataclass
class _Block:
    kind: str  # "h1", "h2", "p", "kv", "image", "table"
    text: str = ""
    rows: Sequence[tuple[str, str]] = ()
    image: bytes = b""
    table: pd.DataFrame | None = None


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    if isinstance(value, bool | np.bool_):
        return "✓" if value else ""
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 1e6 else f"{value:,.1f}"
    return str(value)


def _html(blocks: Sequence[_Block], title: str, lang: str) -> str:
    out = []
    for b in blocks:
        if b.kind in ("h1", "h2", "p"):
            out.append(f"<{b.kind}>{html.escape(b.text)}</{b.kind}>")
        elif b.kind == "kv":
            cells = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in b.rows)
            out.append(f'<table class="kv">{cells}</table>')
        elif b.kind == "image":
            data = base64.b64encode(b.image).decode()
            out.append(f'<img alt="{html.escape(b.text)}" src="data:image/png;base64,{data}">')
        elif b.kind == "table" and b.table is not None:
            head = "".join(f"<th>{html.escape(str(c))}</th>" for c in b.table.columns)
            body = "".join(
                "<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>"
                for row in b.table.itertuples(index=False)
            )
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    style = (
        "body{font-family:'Noto Sans CJK SC','Source Han Sans SC','Microsoft YaHei','PingFang SC',sans-serif;"
        "max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}"
        "table{border-collapse:collapse;margin:.5rem 0 1.5rem;font-size:.9rem}"
        "th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}thead th{background:#eee}"
        "table.kv th{background:#f6f6f6;font-weight:normal}img{max-width:100%;border:1px solid #ddd}"
        "td{font-variant-numeric:tabular-nums}"
    )
    return (
        f'<!DOCTYPE html>\n<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{style}</style></head>\n<body>\n"
        + "\n".join(out)
        + "\n</body></html>\n"
    )


_A4 = (8.27, 11.69)


def _pdf(blocks: Sequence[_Block], title: str, lang: str) -> bytes:
    """The same blocks on A4 pages, drawn with matplotlib (fonts embedded as Type 3 subsets)."""
    buf = io.BytesIO()
    with drawing(lang), PdfPages(buf, metadata={"Title": title, "Creator": "quarterhour"}) as pdf:
        page: list[Figure] = []
        state = {"y": 0.0}
        top, bottom, left, width = 0.95, 0.05, 0.07, 0.86

        def new_page() -> Figure:
            if page:
                pdf.savefig(page[-1])
            fig = Figure(figsize=_A4)
            page.append(fig)
            state["y"] = top
            fig.text(0.5, 0.02, f"{title} · {len(page)}", ha="center", fontsize=7, color="#777777")
            return fig

        def room(h: float) -> Figure:
            if not page or state["y"] - h < bottom:
                return new_page()
            return page[-1]

        for b in blocks:
            if b.kind in ("h1", "h2"):
                size = 16 if b.kind == "h1" else 12
                fig = room(0.06)
                fig.text(left, state["y"], b.text, fontsize=size, fontweight="bold", va="top")
                state["y"] -= 0.035 if b.kind == "h1" else 0.03
            elif b.kind == "p":
                lines = _wrap(b.text, 95)
                fig = room(0.016 * len(lines) + 0.01)
                for line in lines:
                    fig.text(left, state["y"], line, fontsize=8.5, va="top")
                    state["y"] -= 0.016
                state["y"] -= 0.008
            elif b.kind == "kv":
                for k, v in b.rows:
                    klines, vlines = _wrap(k, 44), _wrap(v, 62)
                    fig = room(0.016 * max(len(klines), len(vlines)))
                    y = state["y"]
                    for i, line in enumerate(klines):
                        fig.text(left, y - 0.016 * i, line, fontsize=8.5, va="top", color="#444444")
                    for i, line in enumerate(vlines):
                        fig.text(left + 0.36, y - 0.016 * i, line, fontsize=8.5, va="top")
                    state["y"] -= 0.016 * max(len(klines), len(vlines))
                state["y"] -= 0.01
            elif b.kind == "image":
                import matplotlib.image as mpimg

                img = mpimg.imread(io.BytesIO(b.image), format="png")
                h = width * img.shape[0] / img.shape[1] * _A4[0] / _A4[1]
                fig = room(h + 0.01)
                ax = fig.add_axes((left, state["y"] - h, width, h))
                ax.imshow(img, interpolation="antialiased")
                ax.set_axis_off()
                state["y"] -= h + 0.015
            elif b.kind == "table" and b.table is not None:
                _pdf_table(b.table, room, state, left, width)
        if page:
            pdf.savefig(page[-1])
    return buf.getvalue()


def _wrap(text: str, n: int) -> list[str]:
    """Lines of at most ``n`` columns (a CJK character counts two)."""
    lines, line, cols = [], "", 0
    for ch in str(text):
        w = 2 if ord(ch) > 0x2E80 else 1
        if ch == "\n" or cols + w > n:
            cut = line.rfind(" ")
            if ch != "\n" and ch.isascii() and ch != " " and cut > len(line) - 16 and cut > 0:
                lines.append(line[:cut])  # break Latin text at a space, not inside a word
                line = line[cut + 1 :]
                cols = sum(2 if ord(c) > 0x2E80 else 1 for c in line)
            else:
                lines.append(line)
                line, cols = "", 0
            if ch == "\n":
                continue
        line += ch
        cols += w
    return [*lines, line] if line or not lines else lines


def _pdf_table(table: pd.DataFrame, room, state, left: float, width: float) -> None:
    cells = [[_fmt(v) for v in row] for row in table.itertuples(index=False)]
    heads = [str(c) for c in table.columns]

    def cols(s: str) -> int:
        return sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)

    need = [max([min(cols(h), 24), *(min(cols(r[i]), 40) for r in cells)]) + 2 for i, h in enumerate(heads)]
    total = sum(need)
    xs = np.concatenate([[0], np.cumsum(need)]) / total * width + left
    size = 8 if total <= 110 else max(5.5, 8 * 110 / total)
    row_h = 0.0165 * size / 8 + 0.002

    def header(fig: Figure) -> None:
        fig.patches.append(
            Rectangle((left, state["y"] - row_h), width, row_h, transform=fig.transFigure, color="#e8e8e8")
        )
        for x, h, n in zip(xs, heads, need, strict=False):
            fig.text(x + 0.003, state["y"] - row_h / 2, _clip(h, n), fontsize=size, va="center", fontweight="bold")
        state["y"] -= row_h

    fig = room(2 * row_h)
    header(fig)
    for r in cells:
        before = fig
        fig = room(row_h)
        if fig is not before:
            header(fig)
        for x, v, n in zip(xs, r, need, strict=False):
            fig.text(x + 0.003, state["y"] - row_h / 2, _clip(v, n), fontsize=size, va="center")
        state["y"] -= row_h
    state["y"] -= 0.015


def _clip(text: str, n: int) -> str:
    out, cols = "", 0
    for ch in text:
        cols += 2 if ord(ch) > 0x2E80 else 1
        if cols > n - 1:
            return out + "…"
        out += ch
    return out


# --- tables -----------------------------------------------------------------------------------------------------


def _labelled(df: pd.DataFrame, columns: Sequence[str], lang: str) -> pd.DataFrame:
    """Chosen columns (those present), renamed to the readers' words."""
    keep = [c for c in columns if c in df.columns]
    out = pd.DataFrame(df[keep]).copy()
    return out.rename(columns={c: _short(c, lang) if c in _L else c for c in keep})


def _coverage_table(unit: UnitLayers, lang: str) -> pd.DataFrame:
    sub = unit.sub_level
    table = unit.coverage[sub] if sub else unit.coverage[unit.level]
    table = table.sort_values([C.POP_UNCOVERED, "code"], ascending=[False, True])
    cols = ["code", "name", C.POP, C.POP_COVERED, C.POP_UNCOVERED, C.PCT_COVERED, C.N_FACILITIES, C.STATUS]
    out = _labelled(table, cols, lang)
    if C.STATUS in table:
        out[_short("status", lang)] = table[C.STATUS].map(lambda s: _short(f"status.{s}", lang)).to_numpy()
    return out


def _facility_table(unit: UnitLayers, lang: str) -> pd.DataFrame:
    fac = unit.facilities
    if C.FACILITY_ID not in fac:
        fac = fac.rename_axis(C.FACILITY_ID).reset_index()
    out = _labelled(fac, [C.FACILITY_ID, "name", "category", "catchment_pop"], lang)
    out[_short("category", lang)] = fac["category"].map(lambda c: category_word(c, lang)).to_numpy()
    return out


def _site_table(sites: gpd.GeoDataFrame, before: float, total: float, lang: str) -> pd.DataFrame:
    out = _labelled(sites, ["site_id", C.POP_NEW, C.MINUTES], lang)
    after = before + sites[C.POP_NEW].cumsum().to_numpy()
    out[_short("pct_after", lang)] = 100 * after / total if total else np.nan
    return out


def _provenance_rows(prov: Mapping[str, Any], lang: str) -> list[tuple[str, str]]:
    rows = [(_short("software", lang), str(prov.get("software", ""))), (_short("created", lang), prov.get("created"))]
    for role, info in prov.get("inputs", {}).items():
        value = f"{info['file']}  SHA-256 {info['sha256']}" if "sha256" in info else str(info.get("source", ""))
        rows.append((f"{_short('input', lang)}: {role}", value))
    for key, value in prov.get("parameters", {}).items():
        if value is not None and value != [] and value is not False:
            rows.append((f"{_short('parameter', lang)}: {key}", str(value)))
    return [(k, str(v)) for k, v in rows]


def _provenance_frame(prov: Mapping[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(_provenance_rows(prov, "en"), columns=["key", "value"])


# --- one unit ---------------------------------------------------------------------------------------------------


def _unit_files(
    unit: UnitLayers,
    network: StreetNetwork,
    result: CircleResult,
    sites: SiteResult | None,
    *,
    provenance: Mapping[str, Any],
    k: int,
    lang: str,
) -> dict[str, bytes]:
    minutes = float(result.summary["minutes"])
    row = unit.row
    level_word = _short(f"level.{unit.level}", lang)
    title = f"{unit.name}（{unit.code}）" if lang == "zh" else f"{unit.name} ({unit.code})"
    site_gdf = sites.sites if sites is not None else gpd.GeoDataFrame(geometry=[], crs=unit.demand.crs)
    fig = unit_map(network, unit, minutes=minutes, sites=site_gdf, title=f"{level_word} · {title}", lang=lang)
    png = figure_png(fig, lang=lang)

    pop, covered = float(row[C.POP]), float(row[C.POP_COVERED])
    gain = float(site_gdf[C.POP_NEW].sum()) if len(site_gdf) else 0.0
    head = [
        (_t("pct_covered", lang), _fmt(float(row[C.PCT_COVERED]))),
        (_t("pop", lang), _fmt(pop)),
        (_t("pop_covered", lang), _fmt(covered)),
        (_t("pop_uncovered", lang), _fmt(float(row[C.POP_UNCOVERED]))),
        (_t("n_facilities", lang), _fmt(int(row[C.N_FACILITIES]))),
        (_t("n_gaps", lang), _fmt(len(unit.gaps))),
        (_t("threshold", lang), f"{minutes:g} min, {float(result.summary['speed_kmh']):g} km/h"),
        (_t("sites_new", lang), f"{len(site_gdf)} (k ≤ {k})"),
        (_t("pct_after", lang), _fmt(100 * (covered + gain) / pop if pop else float("nan"))),
    ]
    gaps_t = _labelled(
        unit.gaps,
        [C.RANK, C.GAP_ID, C.POP_UNCOVERED, "pop_uncovered_zone", "n_points", C.MINUTES, "rank_city"],
        lang,
    )
    sites_t = _site_table(site_gdf, covered, pop, lang) if len(site_gdf) else pd.DataFrame()
    blocks = [
        _Block("h1", f"{_short('report', lang)}：{title}" if lang == "zh" else f"{_short('report', lang)}: {title}"),
        _Block("p", f"{level_word} · {provenance.get('software', '')} · {provenance.get('created', '')}"),
        _Block("h2", _t("headline", lang)),
        _Block("kv", rows=head),
        _Block("image", _t("map", lang), image=png),
        _Block("h2", _t("coverage", lang)),
        _Block("table", table=_coverage_table(unit, lang)),
        _Block("h2", _t("gaps", lang)),
        _Block("table", table=gaps_t) if len(gaps_t) else _Block("p", _t("no_gaps", lang)),
        _Block("p", _t("gap_note", lang)),
        _Block("h2", _t("sites", lang)),
        _Block("table", table=sites_t) if len(sites_t) else _Block("p", _t("no_sites", lang)),
        _Block("p", _t("method", lang)),
        _Block("h2", _t("facilities", lang)),
        _Block("table", table=_facility_table(unit, lang)),
        _Block("h2", _t("provenance", lang)),
        _Block("kv", rows=_provenance_rows(provenance, lang)),
    ]
    doc_title = f"{_short('report', lang)} · {title}"
    layers: dict[str, gpd.GeoDataFrame | pd.DataFrame] = {
        "facilities": unit.facilities.rename_axis(C.FACILITY_ID).reset_index()
        if C.FACILITY_ID not in unit.facilities
        else unit.facilities,
        "demand": unit.demand,
        "isochrones": unit.isochrones,
        **{f"coverage_{lvl}": table for lvl, table in unit.coverage.items()},
        "gaps": unit.gaps,
        "sites": site_gdf if len(site_gdf.columns) > 1 else _empty_sites(unit),
    }
    if sites is not None and len(sites.isochrones):
        layers["site_isochrones"] = sites.isochrones
    sheets = {
        _short("coverage", lang): _coverage_table(unit, lang),
        _short("gaps", lang)[:31]: gaps_t,
        _short("sites", lang)[:31]: sites_t,
        _short("facilities", lang): _facility_table(unit, lang),
        "provenance": _provenance_frame(provenance),
    }
    return {
        "layers.gpkg": gpkg_bytes(layers, provenance=provenance),
        "map.png": png,
        "tables.xlsx": table_bytes(sheets, "xlsx"),
        "report.html": _html(blocks, doc_title, lang).encode("utf-8"),
        "report.pdf": _pdf(blocks, doc_title, lang),
    }


def _empty_sites(unit: UnitLayers) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"site_id": pd.Series(dtype=str), C.POP_NEW: pd.Series(dtype=float), C.MINUTES: pd.Series(dtype=float)},
        geometry=gpd.GeoSeries([], crs=unit.demand.crs),
    )


def _sites_for(
    unit: UnitLayers, network: StreetNetwork, result: CircleResult, *, k, max_snap_m, spacing_m, time_limit_s
) -> SiteResult | None:
    below = {lvl: t[["code", "geometry"]] for lvl, t in result.levels.items() if lvl != "city"}
    return unit_sites(
        network,
        unit,
        k=k,
        minutes=float(result.summary["minutes"]),
        speed_kmh=float(result.summary["speed_kmh"]),
        spacing_m=spacing_m,
        max_snap_m=max_snap_m,
        time_limit_s=time_limit_s,
        boundaries=below,
    )


def unit_pack(
    result: CircleResult,
    network: StreetNetwork,
    *,
    level: str,
    code: str,
    provenance: Mapping[str, Any],
    k: int = 3,
    lang: str = "zh",
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    spacing_m: float = 100.0,
    time_limit_s: float = 10.0,
) -> dict[str, bytes]:
    """One unit's pack as ``{file name: bytes}`` (see ``PACK_FILES``); the analysis is not run again."""
    lang = text_lang(lang)
    unit = split_by_unit(result, level, [code])[code]
    sites = _sites_for(
        unit, network, result, k=k, max_snap_m=max_snap_m, spacing_m=spacing_m, time_limit_s=time_limit_s
    )
    return _unit_files(unit, network, result, sites, provenance=provenance, k=k, lang=lang)


def build_pack(
    result: CircleResult,
    network: StreetNetwork,
    *,
    level: str,
    code: str,
    provenance: Mapping[str, Any],
    k: int = 3,
    lang: str = "zh",
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    spacing_m: float = 100.0,
    time_limit_s: float = 10.0,
) -> bytes:
    """One unit's pack as the bytes of a zip holding its folder (for a download button).

    Examples
    --------
    >>> import zipfile, io
    >>> from geo import load_sample, read_boundaries, sample_paths
    >>> from analysis.pipeline import run_circle
    >>> from quarterhour.export import provenance
    >>> net, fac, dem = load_sample()
    >>> units = {k: v.to_crs(net.crs) for k, v in read_boundaries(sample_paths()["boundaries"]).items()}
    >>> r = run_circle(net, fac, dem, boundaries=units, isochrones=("facility",))
    >>> z = build_pack(r, net, level="district", code="MC-D2", provenance=provenance({}, sample_paths()))
    >>> sorted(zipfile.ZipFile(io.BytesIO(z)).namelist())[0]
    'MC-D2_东北区_made-up_district/layers.gpkg'
    """
    files = unit_pack(
        result,
        network,
        level=level,
        code=code,
        provenance=provenance,
        k=k,
        lang=lang,
        max_snap_m=max_snap_m,
        spacing_m=spacing_m,
        time_limit_s=time_limit_s,
    )
    name = result.levels[level].set_index("code").loc[code, "name"]
    folder = safe_name(code, str(name))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for fname, data in files.items():
            zf.writestr(f"{folder}/{fname}", data)
    return buf.getvalue()


# --- the whole pack ---------------------------------------------------------------------------------------------


def check_out(out: Path, *, force: bool) -> None:
    """Refuse a pack folder that already holds files, unless ``force`` (call before the slow work)."""
    if out.exists() and not out.is_dir():
        raise InputError("the output path is a file, not a folder", file=str(out), fix="choose another --out")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise InputError(
            "the pack folder already holds files",
            file=str(out),
            fix="choose another --out folder, or pass --force to replace the pack's files",
        )


def write_pack(
    result: CircleResult,
    network: StreetNetwork,
    out: Path,
    *,
    level: str,
    provenance: Mapping[str, Any],
    k: int = 3,
    lang: str = "zh",
    force: bool = False,
    codes: list[str] | None = None,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    spacing_m: float = 100.0,
    time_limit_s: float = 10.0,
) -> list[Path]:
    """Write every unit's folder of ``level`` and the city summary into ``out``; return the files written.

    Each file is written atomically; an ``out`` holding files is refused unless ``force``.
    """
    out = Path(out)
    check_out(out, force=force)
    if level not in LEVEL_ORDER:
        raise InputError(f"unknown level '{level}'", fix=f"use one of {', '.join(LEVEL_ORDER)}")
    lang = text_lang(lang)
    units = split_by_unit(result, level, codes)
    written: list[Path] = []
    ranking = []
    for code, unit in units.items():
        sites = _sites_for(
            unit, network, result, k=k, max_snap_m=max_snap_m, spacing_m=spacing_m, time_limit_s=time_limit_s
        )
        folder = out / safe_name(code, unit.name)
        for fname, data in _unit_files(unit, network, result, sites, provenance=provenance, k=k, lang=lang).items():
            written.append(atomic_write(folder / fname, data, force=force))
        gain = float(sites.sites[C.POP_NEW].sum()) if sites is not None else 0.0
        pop = float(unit.row[C.POP])
        ranking.append(
            {
                "code": code,
                "name": unit.name,
                C.POP: pop,
                C.POP_COVERED: float(unit.row[C.POP_COVERED]),
                C.POP_UNCOVERED: float(unit.row[C.POP_UNCOVERED]),
                C.PCT_COVERED: float(unit.row[C.PCT_COVERED]),
                C.N_FACILITIES: int(unit.row[C.N_FACILITIES]),
                "n_gaps": len(unit.gaps),
                "sites_new": 0 if sites is None else len(sites.sites),
                C.POP_NEW: gain,
                "pct_after": 100 * (float(unit.row[C.POP_COVERED]) + gain) / pop if pop else np.nan,
                "folder": folder.name,
            }
        )
    for fname, data in _summary_files(result, network, level, pd.DataFrame(ranking), provenance, k, lang).items():
        written.append(atomic_write(out / fname, data, force=force))
    return written


def _summary_files(
    result: CircleResult,
    network: StreetNetwork,
    level: str,
    ranking: pd.DataFrame,
    provenance: Mapping[str, Any],
    k: int,
    lang: str,
) -> dict[str, bytes]:
    ranking = ranking.sort_values([C.POP_UNCOVERED, C.PCT_COVERED, "code"], ascending=[False, True, True])
    ranking.insert(0, "rank", np.arange(1, len(ranking) + 1))
    s = result.summary
    table = result.levels[level]
    level_word = _short(f"level.{level}", lang)
    png = figure_png(
        overview_map(network, table, title=f"{_short('pct_covered', lang)} · {level_word}", lang=lang), lang=lang
    )
    head = [
        (_t("pct_covered", lang), _fmt(float(s["pct_covered"]))),
        (_t("pop", lang), _fmt(float(s["pop_total"]))),
        (_t("pop_covered", lang), _fmt(float(s["pop_covered"]))),
        (_t("pop_uncovered", lang), _fmt(float(s["pop_uncovered"]))),
        (_t("n_facilities", lang), _fmt(int(s["n_facilities"]))),
        (_t("n_gaps", lang), _fmt(len(result.gaps))),
        (_t("threshold", lang), f"{float(s['minutes']):g} min, {float(s['speed_kmh']):g} km/h"),
        (_t("k", lang), str(k)),
        (_t("sites_new", lang), _fmt(int(ranking["sites_new"].sum()) if len(ranking) else 0)),
        (_t("pop_new", lang), _fmt(float(ranking[C.POP_NEW].sum()) if len(ranking) else 0.0)),
    ]
    cols = [
        "rank",
        "code",
        "name",
        C.POP,
        C.POP_UNCOVERED,
        C.PCT_COVERED,
        C.N_FACILITIES,
        "n_gaps",
        "sites_new",
        C.POP_NEW,
        "pct_after",
    ]
    shown = _labelled(ranking, cols, lang)
    title = _short("summary", lang)
    blocks = [
        _Block("h1", f"{_short('report', lang)} · {title}"),
        _Block("p", f"{level_word} · {provenance.get('software', '')} · {provenance.get('created', '')}"),
        _Block("h2", _t("headline", lang)),
        _Block("kv", rows=head),
        _Block("image", _t("map", lang), image=png),
        _Block("h2", _t("ranking", lang)),
        _Block("table", table=shown),
        _Block("p", _t("method", lang)),
        _Block("p", "; ".join(result.skipped)) if result.skipped else _Block("p", ""),
        _Block("h2", _t("provenance", lang)),
        _Block("kv", rows=_provenance_rows(provenance, lang)),
    ]
    sheets = {_short("ranking", lang)[:31]: _labelled(ranking, [*cols, "folder"], lang)}
    sheets["provenance"] = _provenance_frame(provenance)
    return {
        "summary.html": _html(blocks, title, lang).encode("utf-8"),
        "summary.pdf": _pdf(blocks, title, lang),
        "summary.xlsx": table_bytes(sheets, "xlsx"),
        "overview.png": png,
    }
