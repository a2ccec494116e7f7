"""The review pack's tables, layers and key figures, in the readers' words (labels from ``quarterhour.i18n``).

A report's label is bilingual in Chinese (``覆盖率 %（coverage rate %）``) and
English alone in English (``label``); table columns and map titles take one
language (``quarterhour.i18n.t``). ``headline_rows`` gives the key figures the
unit reports and the city summary both open with.

Examples
--------
>>> label("pack_pct_covered", "zh"), label("pack_pct_covered", "en")
('覆盖率 %（coverage rate %）', 'coverage rate %')
>>> heading("gap_table", "en")
'Gaps ranked by residents left out'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from analysis import columns as C
from analysis.coverage import Summary
from analysis.groups import GroupRate
from analysis.pipeline import CircleSummary
from analysis.siting import SITE_COLUMNS, SiteResult
from analysis.units import UnitLayers
from geo.network import StreetNetwork
from quarterhour.i18n import category_name, t, yardstick_text
from quarterhour.pack.documents import fmt

__all__ = [
    "COLUMN_LABELS",
    "coverage_table",
    "facility_table",
    "gap_table",
    "group_columns",
    "heading",
    "headline_rows",
    "label",
    "labelled",
    "provenance_frame",
    "provenance_rows",
    "site_table",
    "unit_layers",
    "unit_streets",
]

#: Output column -> the i18n key of its heading in the pack's tables.
COLUMN_LABELS: dict[str, str] = {
    "code": "pack_code",
    "name": "name",
    "category": "category",
    C.POP: "residents",
    C.POP_COVERED: "covered_residents",
    C.POP_UNCOVERED: "uncovered",
    C.PCT_COVERED: "pack_pct_covered",
    C.N_FACILITIES: "pack_n_facilities",
    C.N_FACILITIES_OFF: "facilities_off",
    C.STATUS: "status",
    C.RANK: "rank",
    C.GAP_ID: "pack_gap_id",
    C.MINUTES: "walk_minutes",
    C.POP_NEW: "new_covered",
    C.POP_SERVED: "site_served",
    C.MINUTES_SAVED: "site_saved_each",
    C.POP_MINUTES_SAVED: "site_saved_total",
    "pop_uncovered_zone": "pack_pop_uncovered_zone",
    "n_points": "n_points",
    "rank_city": "pack_rank_city",
    "catchment_pop": "pack_catchment_pop",
    "site_id": "pack_site_id",
    "n_gaps": "gap_zones",
    "sites_new": "pack_sites_new",
    "pct_after": "pack_pct_after",
}


def label(key: str, lang: str, *, capital: bool = False) -> str:
    """A report's label: Chinese with the English in brackets (``zh``), or English (``en``).

    Parameters
    ----------
    key
        The label's key in ``quarterhour.i18n``.
    lang
        ``"zh"`` or ``"en"``.
    capital
        The English starts with a capital letter (headings).
    """
    zh, en = t(key, "zh"), t(key, "en")
    if capital:
        en = en[:1].upper() + en[1:]
    if lang != "zh":
        return en
    return f"{zh}（{en}）" if zh != en else zh


def heading(key: str, lang: str) -> str:
    """A heading (or sheet name) in one language; English starts with a capital."""
    return label(key, lang, capital=True) if lang == "en" else t(key, lang)


def headline_rows(
    coverage: Summary,
    *,
    n_facilities: int,
    n_gaps: int,
    n_facilities_off: int = 0,
    run: CircleSummary,
    group_pcts: Mapping[str, float],
    lang: str,
) -> list[tuple[str, str]]:
    """The key figures a unit's report and the city summary both open with, as (label, value) rows.

    Parameters
    ----------
    coverage
        Coverage rate (%), residents, residents covered and left out (``pop_unreachable`` is not shown).
    n_facilities, n_gaps
        Facilities the analysis used (on the network) and gap zones.
    n_facilities_off
        Facilities left out (off the network): a row of their own when there are any.
    run
        The run's summary: its yardstick, threshold and speed, and its population groups' speeds.
    group_pcts
        Each population group's coverage rate (%) here, by group; shown beside the total.
    lang
        ``"zh"`` or ``"en"``.

    Returns
    -------
    list[tuple[str, str]]
        (label, formatted value) rows, in the report's order.
    """
    return [
        (label("pack_pct_covered", lang), fmt(float(coverage.pct_covered))),
        (label("residents", lang), fmt(_whole(coverage.pop_total))),
        (label("covered_residents", lang), fmt(_whole(coverage.pop_covered))),
        (label("uncovered", lang), fmt(_whole(coverage.pop_uncovered))),
        (label("pack_n_facilities", lang), fmt(int(n_facilities))),
        *([(label("facilities_off", lang), fmt(int(n_facilities_off)))] if n_facilities_off else []),
        (label("gap_zones", lang), fmt(int(n_gaps))),
        (label("pack_threshold", lang), _threshold(run)),
        (label("pack_yardstick", lang), yardstick_text(run.yardstick, run.minutes, lang)),
        *[
            (f"{label('pack_pct_covered', lang)} · {_group_word(r)}", fmt(float(group_pcts[r.group])))
            for r in run.groups
        ],
    ]


def _whole(persons: float) -> int:
    """A count of residents in whole persons (half up), as every figure shown gives it."""
    return int(np.floor(float(persons) + 0.5))


def _threshold(run: CircleSummary) -> str:
    """The circle and its yardstick's numbers: minutes at a speed, or minutes as metres of walk."""
    if run.yardstick.by_distance:
        return f"{float(run.minutes):g} min = {run.walk_m:,.0f} m"
    return f"{float(run.minutes):g} min, {float(run.speed_kmh):g} km/h"


def _group_word(rate: GroupRate) -> str:
    """A population group, with its speed when it has one (under GB 50180 the distance alone counts)."""
    return rate.group if rate.speed_kmh is None else f"{rate.group} ({rate.speed_kmh:g} km/h)"


def group_columns(groups: Sequence[GroupRate], lang: str) -> dict[str, str]:
    """The level tables' ``pct_covered_<group>`` columns, by the readers' words (``覆盖率 % · 60岁以上``)."""
    return {C.pct_covered_by(r.group): f"{t('pack_pct_covered', lang)} · {_group_word(r)}" for r in groups}


def labelled(df: pd.DataFrame, columns: Sequence[str], lang: str) -> pd.DataFrame:
    """The chosen columns of ``df`` (those present), renamed to the readers' words (``COLUMN_LABELS``)."""
    keep = [c for c in columns if c in df.columns]
    out = C.whole_persons_shown(pd.DataFrame(df[keep]))  # residents in whole persons, never "870.2"
    return out.rename(columns={c: t(COLUMN_LABELS[c], lang) for c in keep if c in COLUMN_LABELS})


def coverage_table(unit: UnitLayers, lang: str, groups: Sequence[GroupRate] = ()) -> pd.DataFrame:
    """Coverage of the units below ``unit`` (or of the unit itself), most residents left out first.

    Each population group's rate (``groups``) stands beside the total.
    """
    sub = unit.sub_level
    table = unit.coverage[sub] if sub else unit.coverage[unit.level]
    table = table.sort_values([C.POP_UNCOVERED, "code"], ascending=[False, True])
    cols = [
        "code",
        "name",
        C.POP,
        C.POP_COVERED,
        C.POP_UNCOVERED,
        C.PCT_COVERED,
        C.N_FACILITIES,
        C.N_FACILITIES_OFF,
        C.STATUS,
    ]
    out = labelled(table, cols, lang)
    words = group_columns(groups, lang)
    out = out.join(table[[c for c in words if c in table]].rename(columns=words))
    if C.STATUS in table:
        out[t("status", lang)] = table[C.STATUS].map(lambda s: t(f"status_{s}", lang)).to_numpy()
    return out


def facility_table(unit: UnitLayers, lang: str) -> pd.DataFrame:
    """The unit's facilities: id, name, category (in ``lang``) and residents in their catchment."""
    fac = unit.facilities
    if C.FACILITY_ID not in fac:
        fac = fac.rename_axis(C.FACILITY_ID).reset_index()
    out = labelled(fac, [C.FACILITY_ID, "name", "category", "catchment_pop"], lang)
    out[t("category", lang)] = fac["category"].map(lambda c: category_name(c, lang)).to_numpy()
    return out


def gap_table(gaps: gpd.GeoDataFrame, lang: str) -> pd.DataFrame:
    """The unit's gap zones, ranked by its residents left out."""
    cols = [C.RANK, C.GAP_ID, C.POP_UNCOVERED, "pop_uncovered_zone", "n_points", C.MINUTES, "rank_city"]
    return labelled(gaps, cols, lang)


def site_table(sites: gpd.GeoDataFrame, before: float, total: float, lang: str) -> pd.DataFrame:
    """Suggested sites: whom each serves and newly covers, their walk, the walk it saves, and the coverage rate.

    The rate (%) is the coverage once the site and those before it are built.
    """
    cols = ["site_id", C.POP_SERVED, C.POP_NEW, C.MINUTES, C.MINUTES_SAVED, C.POP_MINUTES_SAVED]
    out = labelled(sites, cols, lang).rename(columns={t("walk_minutes", lang): t("site_walk", lang)})
    after = before + sites[C.POP_NEW].cumsum().to_numpy()
    out[t("pack_pct_after", lang)] = 100 * after / total if total else np.nan
    return out


#: A provenance parameter -> the i18n key of its words (others are shown by their own name).
PARAMETER_LABELS: dict[str, str] = {
    "face": "param_face",
    "minutes": "param_minutes",
    "speed_kmh": "speed",
    "mode": "mode",
    "standard": "standard",
    "yardstick": "pack_yardstick",
    "bands": "bands",
    "categories": "param_categories",
    "category_minutes": "category_minutes",
    "facilities_crs": "facilities_crs",
    "demand_crs": "demand_crs",
    "demand_total": "param_demand_total",
    "max_snap_m": "param_max_snap_m",
    "isochrones": "param_isochrones",
    "decay": "param_decay",
    "load_norm": "param_load_norm",
    "group": "param_group",
    "suggest": "param_suggest",
    "level": "level",
    "k": "pack_k",
    "lang": "param_lang",
    "spacing_m": "spacing_m",
    "time_limit": "param_time_limit",
    "model": "model",
    "place": "param_place",
    "bbox": "param_bbox",
    "clip": "param_clip",
    "consolidate_m": "param_consolidate_m",
}
#: Parameters that name an input file: the inputs' rows name them already, with their SHA-256.
_INPUT_ROLES = {"network", "facilities", "demand", "boundaries", "categories", "candidates", "exclude", "buildings"}
_CHOICE_WORDS = {"mode": "mode_", "standard": "standard_", "facilities_crs": "crs_", "demand_crs": "crs_"}


def _parameter_text(key: str, value: Any, prov: Mapping[str, Any], lang: str) -> str:
    """A parameter's value in the readers' words: choices by name, categories by name, lists joined, no dicts."""
    sep = "、" if lang == "zh" else ", "
    if key == "yardstick" and isinstance(value, Mapping):
        from quarterhour.provenance import yardstick_of

        ys = yardstick_of(prov)
        minutes = prov.get("parameters", {}).get("minutes")
        if ys is not None and isinstance(minutes, int | float):
            return yardstick_text(ys, float(minutes), lang)
        return str(value.get("name", ""))
    if key == "standard" and isinstance(value, str):  # its words, and the name --standard takes
        return f"{_word(f'standard_{value}', lang, value)} · {value}"
    if key in _CHOICE_WORDS and isinstance(value, str):
        return _word(f"{_CHOICE_WORDS[key]}{value}", lang, value)
    if key == "categories" and isinstance(value, list | tuple):
        return sep.join(category_name(str(c), lang) for c in value)
    if isinstance(value, Mapping):
        named = category_name if key == "category_minutes" else (lambda c, _lang: c)
        return sep.join(f"{named(str(k), lang)}: {_plain_value(v, lang)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return sep.join(_plain_value(v, lang) for v in value)
    return _plain_value(value, lang)


def _word(key: str, lang: str, otherwise: str) -> str:
    """The words of ``key`` in ``lang``; ``otherwise`` when there are none (a value no label was made for)."""
    try:
        return t(key, lang)
    except KeyError:
        return otherwise


def _plain_value(value: Any, lang: str) -> str:
    """One value as text: yes for True, numbers without trailing zeros, thousands separated."""
    if isinstance(value, bool | np.bool_):
        return t("param_yes", lang) if value else t("param_no", lang)
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        return f"{float(value):,.6g}"
    return str(value)


def provenance_rows(prov: Mapping[str, Any], lang: str) -> list[tuple[str, str]]:
    """The provenance as (label, value) rows in the readers' words: software, date, inputs, parameters.

    Each input is named by the planner's file name with its SHA-256 (``quarterhour.provenance``); each
    parameter set is one row, its name and value in ``lang`` (a choice by its words, categories by
    name, lists joined): never a Python dict or list. Parameters naming an input file are left to
    the inputs' rows.

    Examples
    --------
    >>> prov = {"software": "quarterhour 0.1.0", "created": "2026-12-07T15:00:00+00:00",
    ...         "inputs": {"facilities": {"file": "城市书房.xlsx", "sha256": "ab" * 32, "bytes": 10}},
    ...         "parameters": {"minutes": 15, "facilities_crs": "gcj02", "category_minutes": {"service_centre": 15},
    ...                        "facilities": "城市书房.xlsx", "bands": [5, 10]}}
    >>> for row in provenance_rows(prov, "zh")[2:]:
    ...     print(*row, sep=" | ")
    输入文件：服务设施 | 城市书房.xlsx（SHA-256 abababababababababababababababababababababababababababababababab）
    参数：时间阈值（分钟） | 15
    参数：设施坐标系 | GCJ-02（高德、腾讯）
    参数：各类设施的时间阈值（分钟） | 党群服务中心: 15
    参数：同时绘制的等时圈（分钟） | 5、10
    """
    colon = "：" if lang == "zh" else ": "
    rows = [(t("pack_software", lang), str(prov.get("software", ""))), (t("pack_created", lang), prov.get("created"))]
    for role, info in prov.get("inputs", {}).items():
        if "sha256" in info:
            value = (
                f"{info['file']}（SHA-256 {info['sha256']}）"
                if lang == "zh"
                else f"{info['file']} (SHA-256 {info['sha256']})"
            )
        else:
            value = str(info.get("source", ""))
        word = _word(f"role_{role}", lang, role)
        rows.append((f"{t('pack_input', lang)}{colon}{word}", value))
    for key, value in prov.get("parameters", {}).items():
        if value is None or value == [] or value == {} or value is False or key in _INPUT_ROLES:
            continue
        word = t(PARAMETER_LABELS[key], lang) if key in PARAMETER_LABELS else key
        rows.append((f"{t('pack_parameter', lang)}{colon}{word}", _parameter_text(key, value, prov, lang)))
    return [(k, str(v)) for k, v in rows]


def provenance_frame(prov: Mapping[str, Any]) -> pd.DataFrame:
    """The provenance rows as a two-column sheet (``key``, ``value``), in English."""
    return pd.DataFrame(provenance_rows(prov, "en"), columns=["key", "value"])


def unit_layers(unit: UnitLayers, sites: SiteResult | None) -> dict[str, gpd.GeoDataFrame | pd.DataFrame]:
    """The layers of a unit's GeoPackage: its facilities, residents, reach, coverage, gaps and new sites.

    Parameters
    ----------
    unit
        The unit's share of the run (``analysis.units.split_by_unit``).
    sites
        The unit's suggested sites and their reach, or None (an empty ``sites`` layer is written).
    """
    site_gdf = sites.sites if sites is not None else gpd.GeoDataFrame(geometry=[], crs=unit.demand.crs)
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
    return layers


def unit_streets(network: StreetNetwork, unit: UnitLayers, *, margin: float = 0.06) -> gpd.GeoDataFrame:
    """The streets around a unit, each segment once: the offline base of the pack's GeoPackage and project.

    Parameters
    ----------
    network
        The street network.
    unit
        The unit (its frame, as the pack's map draws it: the extent and ``margin`` of its size around).
    margin
        The frame's margin, a share of the unit's larger side (200 m at least).
    """
    x0, y0, x1, y1 = shapely.bounds(unit.geometry)
    pad = margin * max(x1 - x0, y1 - y0, 200)
    edges = network.edges
    near = edges.sindex.query(shapely.box(x0 - pad, y0 - pad, x1 + pad, y1 + pad), predicate="intersects")
    geoms = shapely.normalize(edges.geometry.to_numpy()[near])  # both directions of a street: one segment
    lines = shapely.from_wkb(pd.unique(pd.Series(shapely.to_wkb(geoms))))
    return gpd.GeoDataFrame(geometry=gpd.GeoSeries(lines, crs=network.crs))


def _empty_sites(unit: UnitLayers) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"site_id": pd.Series(dtype=str), **{c: pd.Series(dtype=float) for c in SITE_COLUMNS[2:-1]}},
        geometry=gpd.GeoSeries([], crs=unit.demand.crs),
    )
