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

For the app (one unit, in memory, no re-run of the analysis) ``build_pack``
gives a zip of the unit's folder and ``unit_pack`` its files (name -> bytes);
the CLI's ``write_pack`` writes every unit and the summary. The documents are
drawn by ``quarterhour.documents``, their tables and key figures made by
``quarterhour.packtables``.
``provenance`` comes from ``quarterhour.export.provenance(parameters, inputs)``.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from analysis import columns as C
from analysis.pipeline import CircleResult
from analysis.siting import SiteResult
from analysis.units import UnitLayers, split_by_unit, unit_sites
from geo import InputError
from geo.network import StreetNetwork
from geo.snap import DEFAULT_MAX_SNAP_M
from geo.vocab import LEVELS
from quarterhour.documents import Block, fmt, html_document, pdf_document
from quarterhour.export import atomic_write, gpkg_bytes, table_bytes
from quarterhour.i18n import level_name, t
from quarterhour.packtables import (
    coverage_table,
    facility_table,
    gap_table,
    heading,
    headline_rows,
    label,
    labelled,
    provenance_frame,
    provenance_rows,
    site_table,
    unit_layers,
)
from quarterhour.staticmap import figure_png, overview_map, text_lang, unit_map

__all__ = ["PACK_FILES", "build_pack", "safe_name", "unit_pack", "write_pack"]

PACK_FILES = ("layers.gpkg", "map.png", "tables.xlsx", "report.html", "report.pdf")
SUMMARY_FILES = ("summary.html", "summary.pdf", "summary.xlsx", "overview.png")


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
    minutes = float(result.summary.minutes)
    row = unit.row
    level_word = level_name(unit.level, lang)
    title = f"{unit.name}（{unit.code}）" if lang == "zh" else f"{unit.name} ({unit.code})"
    site_gdf = sites.sites if sites is not None else gpd.GeoDataFrame(geometry=[], crs=unit.demand.crs)
    fig = unit_map(network, unit, minutes=minutes, sites=site_gdf, title=f"{level_word} · {title}", lang=lang)
    png = figure_png(fig, lang=lang)

    pop, covered = float(row[C.POP]), float(row[C.POP_COVERED])
    gain = float(site_gdf[C.POP_NEW].sum()) if len(site_gdf) else 0.0
    head = headline_rows(
        pct=row[C.PCT_COVERED],
        pop=pop,
        covered=covered,
        uncovered=row[C.POP_UNCOVERED],
        n_facilities=row[C.N_FACILITIES],
        n_gaps=len(unit.gaps),
        minutes=minutes,
        speed_kmh=result.summary.speed_kmh,
        lang=lang,
    )
    head += [
        (label("pack_sites_new", lang), f"{len(site_gdf)} (k ≤ {k})"),
        (label("pack_pct_after", lang), fmt(100 * (covered + gain) / pop if pop else float("nan"))),
    ]
    gaps_t = gap_table(unit.gaps, lang)
    sites_t = site_table(site_gdf, covered, pop, lang) if len(site_gdf) else pd.DataFrame()
    report = t("pack_report", lang)
    blocks = [
        Block("h1", f"{report}：{title}" if lang == "zh" else f"{report}: {title}"),
        Block("p", f"{level_word} · {provenance.get('software', '')} · {provenance.get('created', '')}"),
        Block("h2", label("pack_headline", lang, capital=True)),
        Block("kv", rows=head),
        Block("image", label("pack_map", lang, capital=True), image=png),
        Block("h2", label("pack_coverage", lang, capital=True)),
        Block("table", table=coverage_table(unit, lang)),
        Block("h2", label("gap_table", lang, capital=True)),
        Block("table", table=gaps_t) if len(gaps_t) else Block("p", label("pack_no_gaps", lang)),
        Block("p", label("pack_gap_note", lang)),
        Block("h2", label("pack_sites", lang, capital=True)),
        Block("table", table=sites_t) if len(sites_t) else Block("p", label("pack_no_sites", lang)),
        Block("p", label("pack_method", lang)),
        Block("h2", label("facilities", lang, capital=True)),
        Block("table", table=facility_table(unit, lang)),
        Block("h2", label("pack_provenance", lang, capital=True)),
        Block("kv", rows=provenance_rows(provenance, lang)),
    ]
    doc_title = f"{report} · {title}"
    sheets = {
        heading("pack_coverage", lang): coverage_table(unit, lang),
        heading("gap_table", lang)[:31]: gaps_t,
        heading("pack_sites", lang)[:31]: sites_t,
        heading("facilities", lang): facility_table(unit, lang),
        "provenance": provenance_frame(provenance),
    }
    return {
        "layers.gpkg": gpkg_bytes(unit_layers(unit, sites), provenance=provenance),
        "map.png": png,
        "tables.xlsx": table_bytes(sheets, "xlsx"),
        "report.html": html_document(blocks, doc_title, lang).encode("utf-8"),
        "report.pdf": pdf_document(blocks, doc_title, lang),
    }


def _sites_for(
    unit: UnitLayers, network: StreetNetwork, result: CircleResult, *, k, max_snap_m, spacing_m, time_limit_s
) -> SiteResult | None:
    below = {lvl: table[["code", "geometry"]] for lvl, table in result.levels.items() if lvl != "city"}
    return unit_sites(
        network,
        unit,
        k=k,
        minutes=float(result.summary.minutes),
        speed_kmh=float(result.summary.speed_kmh),
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
    if level not in LEVELS:
        raise InputError(f"unknown level '{level}'", fix=f"use one of {', '.join(LEVELS)}")
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
    level_word = level_name(level, lang)
    png = figure_png(
        overview_map(network, table, title=f"{t('pack_pct_covered', lang)} · {level_word}", lang=lang), lang=lang
    )
    head = headline_rows(
        pct=s.pct_covered,
        pop=s.pop_total,
        covered=s.pop_covered,
        uncovered=s.pop_uncovered,
        n_facilities=s.n_facilities,
        n_gaps=len(result.gaps),
        minutes=s.minutes,
        speed_kmh=s.speed_kmh,
        lang=lang,
    )
    head += [
        (label("pack_k", lang), str(k)),
        (label("pack_sites_new", lang), fmt(int(ranking["sites_new"].sum()) if len(ranking) else 0)),
        (label("new_covered", lang), fmt(float(ranking[C.POP_NEW].sum()) if len(ranking) else 0.0)),
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
    shown = labelled(ranking, cols, lang)
    title = t("pack_summary", lang)
    blocks = [
        Block("h1", f"{t('pack_report', lang)} · {title}"),
        Block("p", f"{level_word} · {provenance.get('software', '')} · {provenance.get('created', '')}"),
        Block("h2", label("pack_headline", lang, capital=True)),
        Block("kv", rows=head),
        Block("image", label("pack_map", lang, capital=True), image=png),
        Block("h2", label("pack_ranking", lang, capital=True)),
        Block("table", table=shown),
        Block("p", label("pack_method", lang)),
        Block("p", "; ".join(result.skipped)) if result.skipped else Block("p", ""),
        Block("h2", label("pack_provenance", lang, capital=True)),
        Block("kv", rows=provenance_rows(provenance, lang)),
    ]
    sheets = {heading("pack_ranking", lang)[:31]: labelled(ranking, [*cols, "folder"], lang)}
    sheets["provenance"] = provenance_frame(provenance)
    return {
        "summary.html": html_document(blocks, title, lang).encode("utf-8"),
        "summary.pdf": pdf_document(blocks, title, lang),
        "summary.xlsx": table_bytes(sheets, "xlsx"),
        "overview.png": png,
    }
