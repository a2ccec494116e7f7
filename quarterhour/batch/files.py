"""A batch's own files in ``--out``: the manifest (what is done, from which inputs), the log, the summary.

- ``DIR/manifest.json``: per unit its status, the SHA-256 of each of its inputs and of
  its ``coverage.gpkg``, its figures and time. Rewritten atomically by the client after
  every unit (``quarterhour.gis.export.atomic_write``), never by a worker, so a killed batch
  leaves the last whole manifest; ``complete`` says which units a rerun may skip.
- ``DIR/batch.log``: one line per event (started, unit done or failed, skipped, finished), appended.
- The summary: ``coverage_units.csv`` and ``coverage_levels.csv``, both in ``coverage.xlsx``,
  and ``coverage_units.gpkg`` (the units coloured by coverage: the ``coverage_style`` of the
  pack, ``quarterhour.render.palette.RATE_STOPS``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from analysis import columns as C
from analysis.coverage import assign_units
from geo.errors import InputError
from quarterhour import __version__
from quarterhour.gis.export import atomic_write, file_sha256, write_layers, write_table
from quarterhour.i18n import level_name, t
from quarterhour.pack.tables import COLUMN_LABELS, heading, label

__all__ = [
    "KIND",
    "MANIFEST",
    "SUMMARY_FILES",
    "BatchLog",
    "check_batch_dir",
    "complete",
    "read_manifest",
    "readable",
    "summary_tables",
    "write_manifest",
    "write_summary",
]

#: The manifest's name, and what marks a folder as a batch's.
MANIFEST, KIND = "manifest.json", "quarterhour batch"
#: The summary's files, in ``--out``.
SUMMARY_FILES = ("coverage_units.csv", "coverage_levels.csv", "coverage.xlsx", "coverage_units.gpkg")
_LOG = "batch.log"


def read_manifest(out: Path) -> dict[str, Any] | None:
    """The manifest of a batch folder, or None when there is none (or it is not a batch's)."""
    try:
        manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) and manifest.get("kind") == KIND else None


def check_batch_dir(out: Path, units_source: str, *, force: bool) -> dict[str, Any]:
    """The units already recorded in ``out``: refuse a folder that is not this batch's, unless ``force``.

    Parameters
    ----------
    out
        The ``--out`` folder (it exists: ``quarterhour.gis.outdir.claim`` made it).
    units_source
        What names the batch's units (the units file's name, or ``luoyang``): a folder of another batch is refused.
    force
        Take the folder anyway; its manifest is then forgotten and every unit runs again.

    Returns
    -------
    dict
        Code -> the manifest's record of that unit (empty with ``force`` or a new folder).
    """
    manifest = read_manifest(out)
    hidden_or_ours = {MANIFEST, _LOG, *SUMMARY_FILES}
    others = [p.name for p in out.iterdir() if not p.name.startswith(".") and p.name not in hidden_or_ours]
    if force:
        return {}
    if manifest is None and (others or (out / MANIFEST).exists()):
        raise InputError("batchfiles_output_folder_holds_other", file=str(out))
    if manifest is not None and manifest.get("units_source") != units_source:
        raise InputError(
            "batchfiles_output_folder_holds_batch", file=str(out), manifest_get_units=manifest.get("units_source")
        )
    return _recorded_units(manifest) if manifest else {}


#: What each part of a unit's record must be, if it is there (a rerun reads them).
_RECORD_PARTS = {"status": str, "inputs": dict, "output": dict, "summary": dict, "error": str, "seconds": (int, float)}


def _recorded_units(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest's ``units``, checked to be a table of records as ``write_manifest`` writes them.

    A manifest edited by hand (``units`` a list, a record a string, ``summary`` a list) is refused with the fix,
    not followed into a bug halfway through the rerun.
    """
    units = manifest.get("units", {})
    fix = "manifest_force"  # a key of the catalogue's fixes
    if not isinstance(units, dict):
        raise InputError("batchfiles_units_not_table", file=MANIFEST, fix=fix, kind=type(units).__name__)
    for code, record in units.items():
        if not isinstance(record, dict):
            raise InputError(
                "batchfiles_record_not_table", file=MANIFEST, fix=fix, code=code, kind=type(record).__name__
            )
        for part, kind in _RECORD_PARTS.items():
            value = record.get(part)
            if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
                raise InputError(
                    "batchfiles_record_part", file=MANIFEST, fix=fix, code=code, part=part, kind=type(value).__name__
                )
    return dict(units)


def complete(record: Mapping[str, Any] | None, inputs: Mapping[str, str], out: Path) -> bool:
    """Whether a unit's record says it is done from these very inputs, and its output is still the one written."""
    if not record or record.get("status") != "done" or dict(record.get("inputs", {})) != dict(inputs):
        return False
    output = record.get("output", {})
    path = out / output.get("file", "")
    return path.is_file() and output.get("sha256") == file_sha256(path)


def write_manifest(out: Path, units_source: str, units: Mapping[str, Any]) -> None:
    """Rewrite ``DIR/manifest.json`` atomically (the client's only: workers never write it)."""
    manifest = {
        "kind": KIND,
        "software": f"quarterhour {__version__}",
        "units_source": units_source,
        "updated": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "units": dict(sorted(units.items())),
    }
    text = json.dumps(manifest, indent=1, ensure_ascii=False, sort_keys=False)
    atomic_write(out / MANIFEST, text.encode("utf-8"), force=True)


class BatchLog:
    """``DIR/batch.log``: one timestamped line per event, appended and flushed as it happens.

    Parameters
    ----------
    out
        The batch folder.
    """

    def __init__(self, out: Path):
        self.path = Path(out) / _LOG

    def __call__(self, line: str) -> None:
        """Append one line."""
        stamp = dt.datetime.now().astimezone().isoformat(timespec="seconds")
        with self.path.open("a", encoding="utf-8") as f:
            f.write(f"{stamp} {line}\n")


POP_TOTAL = "pop_total"  #: the residents counted (the name of ``Summary.pop_total``)
_UNIT_COLUMNS = ["code", "name", "level", "status", POP_TOTAL, C.POP_COVERED, C.PCT_COVERED, "seconds", "error"]


def summary_tables(
    units: gpd.GeoDataFrame, records: Mapping[str, Mapping[str, Any]], upper: Mapping[str, gpd.GeoDataFrame]
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Coverage per unit (with its geometry), and per level: each upper unit and all units summed.

    Parameters
    ----------
    units
        The batch's units (``code``, ``name``, ``level``, geometry).
    records
        Code -> the manifest's record (``status``, ``summary``, ``seconds``, ``error``).
    upper
        Level -> polygons of the levels above the units (e.g. the city); a unit counts in the one its
        representative point lies in.

    Returns
    -------
    (geopandas.GeoDataFrame, pandas.DataFrame)
        One row per unit; one row per upper unit and a last ``all`` row. Failed units count in neither sum.
    """
    rows = []
    for code, name, level in zip(units["code"], units["name"], units["level"], strict=True):
        rec = records.get(code, {})
        s = rec.get("summary") or {}
        total, covered = s.get("pop_total"), s.get("pop_covered")
        status, seconds, error = rec.get("status", "not run"), rec.get("seconds"), rec.get("error")
        rows.append([code, name, level, status, total, covered, None, seconds, error])
    table = pd.DataFrame(rows, columns=_UNIT_COLUMNS)
    for column in (POP_TOTAL, C.POP_COVERED, "seconds"):
        table[column] = pd.to_numeric(table[column], errors="coerce")
    table[C.PCT_COVERED] = _pct(table[C.POP_COVERED], table[POP_TOTAL])
    per_unit = gpd.GeoDataFrame(table, geometry=units.geometry.to_numpy(), crs=units.crs)
    return per_unit, _levels(per_unit, upper)


def _pct(covered: pd.Series | float, total: pd.Series | float) -> Any:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.round(100 * np.asarray(covered, dtype=float) / np.asarray(total, dtype=float), 2)


def _levels(per_unit: gpd.GeoDataFrame, upper: Mapping[str, gpd.GeoDataFrame]) -> pd.DataFrame:
    done = per_unit[per_unit["status"] == "done"]
    rows = []
    for level, polygons in upper.items():
        inside = assign_units(done.geometry.representative_point(), polygons.to_crs(per_unit.crs))
        for code, name in zip(polygons["code"], polygons["name"], strict=True):
            part = done[inside == code]
            rows.append([level, code, name, len(part), part[POP_TOTAL].sum(), part[C.POP_COVERED].sum()])
    rows.append(["all", "", "", len(done), done[POP_TOTAL].sum(), done[C.POP_COVERED].sum()])
    table = pd.DataFrame(rows, columns=["level", "code", "name", "units_done", POP_TOTAL, C.POP_COVERED])
    table[C.PCT_COVERED] = _pct(table[C.POP_COVERED], table[POP_TOTAL])
    return table


#: A summary column -> the i18n key of its heading (``quarterhour.pack.tables.COLUMN_LABELS`` for the pack's own).
_HEADINGS = {
    **COLUMN_LABELS,
    "level": "level",
    POP_TOTAL: "residents",
    "status": "batch_status",
    "seconds": "batch_seconds",
    "error": "batch_error",
    "units_done": "batch_units_done",
}


def readable(table: pd.DataFrame, lang: str) -> pd.DataFrame:
    """A summary table for people: headings and levels, statuses in ``lang`` (``zh``: Chinese (English)).

    Examples
    --------
    >>> readable(pd.DataFrame({"level": ["unit"], "status": ["done"]}), "en").to_dict("records")
    [{'level': 'unit', 'run status': 'done'}]
    """
    out = table.copy()
    if "level" in out:
        words = {"all": "all_units", "unit": "pack_unit"}
        out["level"] = [t(words[v], lang) if v in words else level_name(v, lang) for v in out["level"]]
    if "status" in out:
        out["status"] = [t(f"batch_{v.replace(' ', '_')}", lang) for v in out["status"]]
    return out.rename(columns={c: label(_HEADINGS[c], lang) for c in out.columns if c in _HEADINGS})


def write_summary(
    out: Path, per_unit: gpd.GeoDataFrame, per_level: pd.DataFrame, *, lang: str = "zh", yardstick: str = ""
) -> list[Path]:
    """Write the summary into ``out`` (each file atomically, replacing the last run's); the files written.

    The CSV and XLSX tables have the readers' headings (``readable``), and say the ``yardstick`` the
    coverage is measured by (``quarterhour.i18n.yardstick_text``) in a last column; the GeoPackage keeps
    the field names (``pct_covered`` ...) GIS users filter on, and is styled by coverage rate.
    """
    units = readable(pd.DataFrame(per_unit.drop(columns="geometry")), lang)
    levels = readable(per_level, lang)
    if yardstick:
        units[label("pack_yardstick", lang)] = levels[label("pack_yardstick", lang)] = yardstick
    sheets = {heading("batch_units", lang): units, heading("batch_levels", lang): levels}
    written = [
        write_table(units, out / "coverage_units.csv", force=True),
        write_table(levels, out / "coverage_levels.csv", force=True),
        write_table(sheets, out / "coverage.xlsx", force=True),
    ]
    write_layers({"coverage_units": per_unit}, out / "coverage_units.gpkg", force=True, lang=lang)
    return [*written, out / "coverage_units.gpkg"]
