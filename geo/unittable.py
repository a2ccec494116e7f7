"""Residents tables without coordinates: a unit's code or name and its residents, matched to the review units.

The civil-affairs bureau keeps its 常住人口 per 社区 by name or 区划代码, often with
no polygon. Each row is matched to a unit of the review boundaries (``--boundaries``:
the bundled ``luoyang`` districts, or the planner's own community layer) by code
when the table has codes, else by name, compared without spaces, full-width
brackets or a trailing 居委会/居民委员会. The level with the most matches is used;
the matched units become areas with ``pop``, spread like any other
(``analysis.spread``). No row matched: refused, with the names tried and a few of
the units'. Some unmatched: each is listed in a note with the residents left out,
for the planner to mend; the rest are counted (a bureau's table often holds
communities beyond the study area, and refusing the whole table for them would
stop the work the matched ones allow).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geo._validate import first_bad_row
from geo.errors import InputError
from geo.notes import Note, note
from geo.tables import DEMAND_COLUMN_NAMES, FIRST_ROW, find_columns

__all__ = ["NAME_COLUMNS", "is_unit_table", "match_units", "unit_table"]

#: Header names of the unit's name, from the most specific: a table with 区, 街道 and 社区 is matched by 社区.
NAME_COLUMNS: tuple[tuple[str, ...], ...] = (
    ("name", "名称", "名字", "单位名称"),
    ("网格", "网格名称", "网格名", "grid"),  # issue 30: a table per 网格
    ("社区", "社区名称", "社区名", "居委会", "村居", "community"),
    ("街道", "街道名称", "乡镇街道", "subdistrict"),
    ("区县", "区", "县区", "district"),
)
_CODES = ("code", "编码", "代码", "区划代码", "行政区划代码", "社区代码", "社区编码")
_SUFFIXES = ("居民委员会", "居委会")


def _norm(text: object) -> str:
    name = str(text).strip().replace(" ", "").replace("\u3000", "").replace("（", "(").replace("）", ")")
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
    return name.lower()


def _code(text: object) -> str:
    code = str(text).strip()
    return code[:-2] if code.endswith(".0") else code  # a code Excel kept as a number


def is_unit_table(frame: pd.DataFrame, path: Path) -> bool:
    """Whether a residents table has no lon/lat but a unit's code or name: matched to units, not read as points."""
    cols = find_columns(frame, path, {k: DEMAND_COLUMN_NAMES[k] for k in ("lon", "lat")})
    return not cols and bool(_unit_columns(frame, path))


def _unit_columns(frame: pd.DataFrame, path: Path) -> dict[str, str]:
    """Our ``code``/``name`` -> the table's header; the most specific name column."""
    found = find_columns(frame, path, {"code": _CODES})
    for tier in NAME_COLUMNS:
        hit = find_columns(frame, path, {"name": tier})
        if hit:
            found.update(hit)
            break
    return found


def unit_table(frame: pd.DataFrame, path: Path, encoding: str) -> pd.DataFrame:
    """The table as ``code``/``name`` and ``pop`` (residents, 0 or more; refused with the row otherwise).

    Parameters
    ----------
    frame
        The table as read (``geo.tables.read_table``).
    path
        Its file, for the messages.
    encoding
        The encoding it was read with, for the note.

    Returns
    -------
    pandas.DataFrame
        ``code`` and/or ``name`` (text), ``pop`` (float) and ``row`` (as the spreadsheet numbers it);
        ``attrs["notes"]`` the read note, ``attrs["file"]`` the file's name.
    """
    cols = _unit_columns(frame, path)
    pop_col = find_columns(frame, path, {"pop": DEMAND_COLUMN_NAMES["pop"]}).get("pop")
    if pop_col is None:
        raise InputError(
            "unittable_no_column_with_residents",
            file=path.name,
            column="pop",
            join_demand_column=", ".join(DEMAND_COLUMN_NAMES["pop"]),
        )
    pop = pd.to_numeric(frame[pop_col], errors="coerce").astype(float)
    bad = first_bad_row(~np.isfinite(pop) | (pop < 0), frame[pop_col], first_row=FIRST_ROW)
    if bad:
        raise InputError(
            "unittable_pop_col_must_number",
            file=path.name,
            row=bad.row,
            column=pop_col,
            pop_col=pop_col,
            value=bad.value,
            count=bad.count,
        )
    out = pd.DataFrame({k: frame[v].astype(str) for k, v in cols.items()})
    out["pop"], out["row"] = pop.to_numpy(), np.arange(len(frame)) + FIRST_ROW
    out.attrs = {"notes": [note("read_rows", n=len(frame), file=path.name, encoding=encoding)], "file": path.name}
    return out


def _keys(table: pd.DataFrame, units: gpd.GeoDataFrame) -> tuple[str, pd.Series, dict[str, int]]:
    """How a level is matched: (by code or name, each row's key, unit key -> unit position)."""
    if "code" in table:
        return "code", table["code"].map(_code), {_code(c): i for i, c in enumerate(units["code"])}
    return "name", table["name"].map(_norm), {_norm(n): i for i, n in enumerate(units["name"])}


def match_units(table: pd.DataFrame, boundaries: dict[str, gpd.GeoDataFrame]) -> tuple[gpd.GeoDataFrame, list[Note]]:
    """The table's units as areas with ``pop``: rows matched to the level of ``boundaries`` where most match.

    Parameters
    ----------
    table
        As ``unit_table`` gives it.
    boundaries
        Review units by level (``geo.read_boundaries``), each with ``code`` and ``name``.

    Returns
    -------
    (geopandas.GeoDataFrame, list of Note)
        One polygon per matched unit, with ``pop`` (rows naming the same unit added up), ``code`` and
        ``name``, in the boundaries' CRS; the notes: how many matched, and every row left out.

    Raises
    ------
    InputError
        No row matches a unit of any level.
    """
    file = table.attrs.get("file", "residents table")
    best = None
    for level, units in boundaries.items():
        by, key, index = _keys(table, units)
        hit = key.map(index)
        if best is None or hit.notna().sum() > best[3].notna().sum():
            best = (level, units, by, hit)
    level, units, by, hit = best
    matched = hit.notna()
    if not matched.any():
        tried = ", ".join(table.get("code", table.get("name")).head(5))
        known = ", ".join(f"{c} {n}" for c, n in zip(units["code"].head(5), units["name"].head(5), strict=True))
        raise InputError("unittable_no_row_residents_table", file=file, column=by, by=by, tried=tried, known=known)
    pop = np.bincount(hit[matched].astype(int), weights=table.loc[matched, "pop"], minlength=len(units))
    used = np.flatnonzero(np.bincount(hit[matched].astype(int), minlength=len(units)))
    areas = units.iloc[used][["code", "name", "geometry"]].assign(pop=pop[used]).reset_index(drop=True)
    notes = [note("units_matched", file=file, n=int(matched.sum()), rows=len(table), level=level, by=by,
                  pop=float(table.loc[matched, "pop"].sum()))]  # fmt: skip
    if not matched.all():
        left = table[~matched]
        names = [f"{v} (row {r})" for v, r in zip(left.get("name", left.get("code")), left["row"], strict=True)]
        notes.append(note("units_unmatched", file=file, n=len(left), level=level, pop=float(left["pop"].sum()),
                          names=names))  # fmt: skip
    return areas, notes
