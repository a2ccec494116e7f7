"""The review pack's documents: one unit's files and the city summary's, built from a finished run.

``quarterhour.pack.report`` chooses the units and their new sites and writes the
files; this module draws them (map, tables, HTML, PDF, styled GeoPackage, QGIS project) with
``quarterhour.pack.documents``, ``quarterhour.pack.tables`` and ``quarterhour.render.staticmap``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from analysis import columns as C
from analysis.coverage import Summary
from analysis.pipeline import CircleResult
from analysis.siting import SiteResult
from analysis.units import UnitLayers
from geo.network import StreetNetwork
from quarterhour.gis.export import gpkg_bytes, table_bytes
from quarterhour.gis.qgisproject import pack_layers, project_qgs
from quarterhour.gis.roadlayer import issues_near
from quarterhour.i18n import level_name, note_text, t
from quarterhour.pack.documents import Block, fmt, html_document, pdf_document
from quarterhour.pack.hours import hours_pack
from quarterhour.pack.tables import (
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
    unit_streets,
)
from quarterhour.render.staticmap import figure_png, overview_map, unit_map

__all__ = ["summary_files", "unit_files"]


def unit_files(
    unit: UnitLayers,
    network: StreetNetwork,
    result: CircleResult,
    sites: SiteResult | None,
    *,
    provenance: Mapping[str, Any],
    k: int,
    lang: str,
) -> dict[str, bytes]:
    """One unit's files (``quarterhour.pack.report.PACK_FILES``) as ``{file name: bytes}``.

    Parameters
    ----------
    unit
        The unit's share of the run (``analysis.units.split_by_unit``).
    network
        The street network, drawn on the map.
    result
        The whole run: its threshold and speed head the report.
    sites
        The unit's suggested sites (``analysis.units.unit_sites``), or None.
    provenance
        What produced the run (``quarterhour.gis.export.provenance``), written into every file.
    k
        New sites asked for per unit at most (the report says it).
    lang
        ``"zh"`` or ``"en"`` (already checked, ``staticmap.text_lang``).
    """
    minutes = float(result.summary.minutes)
    row = unit.row
    level_word = level_name(unit.level, lang)
    title = f"{unit.name}（{unit.code}）" if lang == "zh" else f"{unit.name} ({unit.code})"
    site_gdf = sites.sites if sites is not None else gpd.GeoDataFrame(geometry=[], crs=unit.demand.crs)
    fig = unit_map(
        network,
        unit,
        minutes=minutes,
        sites=site_gdf,
        title=f"{level_word} · {title}",
        lang=lang,
        ys=result.summary.yardstick,
    )
    png = figure_png(fig, lang=lang)

    pop, covered = float(row[C.POP]), float(row[C.POP_COVERED])
    gain = float(site_gdf[C.POP_NEW].sum()) if len(site_gdf) else 0.0
    coverage = Summary(
        pop_total=pop,
        pop_covered=covered,
        pop_uncovered=float(row[C.POP_UNCOVERED]),
        pct_covered=float(row[C.PCT_COVERED]),
        pop_unreachable=float("nan"),  # not in the unit's row, and not shown
    )
    head = headline_rows(
        coverage,
        n_facilities=row[C.N_FACILITIES],
        n_gaps=len(unit.gaps),
        n_facilities_off=int(row.get(C.N_FACILITIES_OFF, 0)),
        run=result.summary,
        group_pcts={g.group: row[C.pct_covered_by(g.group)] for g in result.summary.groups},
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
        Block("h2", f"{label('pack_coverage', lang, capital=True)} · {level_name(unit.sub_level or unit.level, lang)}"),
        Block("table", table=coverage_table(unit, lang, result.summary.groups), full_in="tables.xlsx"),
        Block("h2", label("gap_table", lang, capital=True)),
        Block("table", table=gaps_t, full_in="tables.xlsx") if len(gaps_t) else Block("p", label("pack_no_gaps", lang)),
        Block("p", label("pack_gap_note", lang)),
        Block("h2", label("pack_sites", lang, capital=True)),
        Block("table", table=sites_t, full_in="tables.xlsx")
        if len(sites_t)
        else Block("p", label("pack_no_sites", lang)),
        Block("p", label("pack_method", lang)),
        Block("h2", label("facilities", lang, capital=True)),
        Block("table", table=facility_table(unit, lang), full_in="tables.xlsx"),
        Block("h2", label("pack_provenance", lang, capital=True)),
        Block("kv", rows=provenance_rows(provenance, lang)),
    ]
    doc_title = f"{report} · {title}"
    sheets = {
        heading("pack_coverage", lang): coverage_table(unit, lang, result.summary.groups),
        heading("gap_table", lang)[:31]: gaps_t,
        heading("pack_sites", lang)[:31]: sites_t,
        heading("facilities", lang): facility_table(unit, lang),
        "provenance": provenance_frame(provenance),
    }
    layers = {**unit_layers(unit, sites), "streets": unit_streets(network, unit)}
    project = project_qgs(
        pack_layers(layers, level=unit.level, lang=lang, ys=result.summary.yardstick),
        crs=unit.demand.crs,
        bounds=unit.geometry.bounds,
        title=f"{level_word} · {title}",
        provenance="\n".join(f"{k}: {v}" for k, v in provenance_rows(provenance, lang)),
        lang=lang,
    )
    return {
        "layers.gpkg": gpkg_bytes(  # with a road layer's network_issues around the unit (issue 30)
            {**layers, **issues_near(network, shapely.bounds(unit.geometry), lang)}, provenance=provenance, lang=lang
        ),
        "project.qgs": project,
        "map.png": png,
        "tables.xlsx": table_bytes(sheets, "xlsx"),
        "report.html": html_document(blocks, doc_title, lang).encode("utf-8"),
        "report.pdf": pdf_document(blocks, doc_title, lang),
    }


def summary_files(
    result: CircleResult,
    network: StreetNetwork,
    ranking: pd.DataFrame,
    *,
    level: str,
    provenance: Mapping[str, Any],
    k: int,
    lang: str,
) -> dict[str, bytes]:
    """The city summary's files (``quarterhour.pack.report.SUMMARY_FILES``) as ``{file name: bytes}``.

    Parameters
    ----------
    result
        The whole run.
    network
        The street network, drawn on the overview map.
    ranking
        One row per unit: its code, name, coverage, gaps, new sites, and the folder written.
    level
        The review units' admin level.
    provenance
        What produced the run (``quarterhour.gis.export.provenance``), written into every file.
    k
        New sites asked for per unit at most.
    lang
        ``"zh"`` or ``"en"`` (already checked).
    """
    ranking = ranking.sort_values([C.POP_UNCOVERED, C.PCT_COVERED, "code"], ascending=[False, True, True])
    ranking.insert(0, "rank", np.arange(1, len(ranking) + 1))
    s = result.summary
    table = result.levels[level]
    level_word = level_name(level, lang)
    png = figure_png(
        overview_map(network, table, title=f"{t('pack_pct_covered', lang)} · {level_word}", lang=lang), lang=lang
    )
    head = headline_rows(
        s,
        n_facilities=s.n_facilities_used,  # those the analysis used; the left-out ones on a row of their own
        n_gaps=len(result.gaps),
        n_facilities_off=s.n_facilities - s.n_facilities_used,
        run=s,
        group_pcts={g.group: g.pct_covered for g in s.groups},
        lang=lang,
    )
    head += [
        (label("pack_k", lang), str(k)),
        (label("pack_sites_new", lang), fmt(int(ranking["sites_new"].sum()) if len(ranking) else 0)),
        (label("new_covered", lang), fmt(round(float(ranking[C.POP_NEW].sum())) if len(ranking) else 0)),
    ]
    cols = [
        "rank",
        "code",
        "name",
        C.POP,
        C.POP_UNCOVERED,
        C.PCT_COVERED,
        C.N_FACILITIES,
        C.N_FACILITIES_OFF,
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
        Block("table", table=shown, full_in="summary.xlsx"),
        Block("p", label("pack_method", lang)),
        Block("p", "; ".join(note_text(n, lang) for n in result.skipped)) if result.skipped else Block("p", ""),
        Block("h2", label("pack_provenance", lang, capital=True)),
        Block("kv", rows=provenance_rows(provenance, lang)),
    ]
    sheets = {heading("pack_ranking", lang)[:31]: labelled(ranking, [*cols, "folder"], lang)}
    hours_blocks, hours_sheets, hours_files = hours_pack(result, lang)  # issue 31: the week, when a time was asked
    blocks[-2:-2] = hours_blocks
    sheets |= hours_sheets
    sheets["provenance"] = provenance_frame(provenance)
    return {
        "summary.html": html_document(blocks, title, lang).encode("utf-8"),
        "summary.pdf": pdf_document(blocks, title, lang),
        "summary.xlsx": table_bytes(sheets, "xlsx"),
        "overview.png": png,
        **hours_files,
    }
