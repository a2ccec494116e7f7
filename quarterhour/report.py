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
the CLI's ``write_pack`` writes every unit and the summary. All three take the
pack's options (level, k, language, candidate spacing, solver time) as one
frozen ``PackOptions``. The files are
built by ``quarterhour.packfiles`` (the documents drawn by
``quarterhour.documents``, their tables and key figures made by
``quarterhour.packtables``).
``provenance`` comes from ``quarterhour.export.provenance(parameters, inputs)``.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

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
from quarterhour.export import atomic_write
from quarterhour.packfiles import summary_files, unit_files
from quarterhour.staticmap import text_lang

__all__ = [
    "PACK_FILES",
    "SUMMARY_FILES",
    "PackOptions",
    "build_pack",
    "check_out",
    "safe_name",
    "unit_pack",
    "write_pack",
]

PACK_FILES = ("layers.gpkg", "map.png", "tables.xlsx", "report.html", "report.pdf")
SUMMARY_FILES = ("summary.html", "summary.pdf", "summary.xlsx", "overview.png")


@dataclass(frozen=True)
class PackOptions:
    """How a review pack is made: which units, how many new sites each, in which language.

    Frozen and hashable, so the app can cache on it.

    Attributes
    ----------
    level
        The review units' admin level (one of ``geo.vocab.LEVELS``): one folder per unit of it.
    k
        New sites suggested per unit at most (exact MCLP); 0 for none.
    lang
        ``"zh"`` (Chinese, with the English in brackets) or ``"en"``.
    max_snap_m
        Residents farther than this from any street (metres) are off the network when sites are chosen.
    spacing_m
        Candidate sites: the network nodes nearest a grid of this spacing (metres) inside the unit.
    time_limit_s
        The solver's time limit per unit (seconds).

    Examples
    --------
    >>> PackOptions(level="district", k=2, lang="en").k
    2
    """

    level: str
    k: int = 3
    lang: str = "zh"
    max_snap_m: float = DEFAULT_MAX_SNAP_M
    spacing_m: float = 100.0
    time_limit_s: float = 10.0


def safe_name(code: str, name: str, *, max_len: int = 80) -> str:
    """A folder name from a unit's code and name, safe on Windows, macOS and Linux.

    Parameters
    ----------
    code, name
        The unit's code and name.
    max_len
        The name's length at most (characters).

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


def _sites_for(
    unit: UnitLayers, network: StreetNetwork, result: CircleResult, options: PackOptions
) -> SiteResult | None:
    below = {lvl: table[["code", "geometry"]] for lvl, table in result.levels.items() if lvl != "city"}
    return unit_sites(
        network,
        unit,
        k=options.k,
        minutes=float(result.summary.minutes),
        speed_kmh=float(result.summary.speed_kmh),
        spacing_m=options.spacing_m,
        max_snap_m=options.max_snap_m,
        time_limit_s=options.time_limit_s,
        boundaries=below,
    )


def unit_pack(
    result: CircleResult,
    network: StreetNetwork,
    options: PackOptions,
    *,
    code: str,
    provenance: Mapping[str, Any],
) -> dict[str, bytes]:
    """One unit's pack as ``{file name: bytes}`` (see ``PACK_FILES``); the analysis is not run again.

    Parameters
    ----------
    result
        The run (``analysis.pipeline.run_circle``) with boundaries down to ``options.level``.
    network
        The street network the run was made on.
    options
        The pack's level, new sites per unit, language, candidate spacing and solver time.
    code
        The unit's code in ``result.levels[options.level]``.
    provenance
        What produced the run (``quarterhour.export.provenance``), written into every file.

    Returns
    -------
    dict[str, bytes]
        Each file of ``PACK_FILES`` by name.
    """
    options = replace(options, lang=text_lang(options.lang))
    unit = split_by_unit(result, options.level, [code])[code]
    sites = _sites_for(unit, network, result, options)
    return unit_files(unit, network, result, sites, provenance=provenance, k=options.k, lang=options.lang)


def build_pack(
    result: CircleResult,
    network: StreetNetwork,
    options: PackOptions,
    *,
    code: str,
    provenance: Mapping[str, Any],
) -> bytes:
    """One unit's pack as the bytes of a zip holding its folder (for a download button).

    Parameters
    ----------
    result
        The run (``analysis.pipeline.run_circle``) with boundaries down to ``options.level``.
    network
        The street network the run was made on.
    options
        The pack's level, new sites per unit, language, candidate spacing and solver time.
    code
        The unit's code in ``result.levels[options.level]``.
    provenance
        What produced the run (``quarterhour.export.provenance``), written into every file.

    Returns
    -------
    bytes
        A zip holding ``<code>_<name>/`` and in it the files of ``PACK_FILES``.

    Examples
    --------
    >>> import zipfile, io
    >>> from geo import load_sample, read_boundaries, sample_paths
    >>> from analysis.pipeline import run_circle
    >>> from quarterhour.export import provenance
    >>> net, fac, dem = load_sample()
    >>> units = {k: v.to_crs(net.crs) for k, v in read_boundaries(sample_paths()["boundaries"]).items()}
    >>> r = run_circle(net, fac, dem, boundaries=units, isochrones=("facility",))
    >>> opts = PackOptions(level="district")
    >>> z = build_pack(r, net, opts, code="MC-D2", provenance=provenance({}, sample_paths()))
    >>> sorted(zipfile.ZipFile(io.BytesIO(z)).namelist())[0]
    'MC-D2_东北区_made-up_district/layers.gpkg'
    """
    files = unit_pack(result, network, options, code=code, provenance=provenance)
    name = result.levels[options.level].set_index("code").loc[code, "name"]
    folder = safe_name(code, str(name))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for fname, data in files.items():
            zf.writestr(f"{folder}/{fname}", data)
    return buf.getvalue()


# --- the whole pack ---------------------------------------------------------------------------------------------


def check_out(out: Path, *, force: bool) -> None:
    """Refuse a pack folder that already holds files, unless ``force`` (call before the slow work).

    Parameters
    ----------
    out
        The pack's folder.
    force
        Accept a folder holding files (they are replaced).

    Raises
    ------
    InputError
        ``out`` is a file, or holds files and ``force`` is not given.
    """
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
    options: PackOptions,
    *,
    out: Path,
    provenance: Mapping[str, Any],
    force: bool = False,
    codes: list[str] | None = None,
) -> list[Path]:
    """Write every unit's folder of ``options.level`` and the city summary into ``out``; return the files written.

    Each file is written atomically; an ``out`` holding files is refused unless ``force``.

    Parameters
    ----------
    result
        The run (``analysis.pipeline.run_circle``) with boundaries down to ``options.level``.
    network
        The street network the run was made on.
    options
        The pack's level, new sites per unit, language, candidate spacing and solver time.
    out
        The pack's folder (created if missing): one sub-folder per unit, and the ``SUMMARY_FILES``.
    provenance
        What produced the run (``quarterhour.export.provenance``), written into every file.
    force
        Replace the files of a pack already in ``out``.
    codes
        Only these units (codes of ``result.levels[options.level]``); None for all.

    Returns
    -------
    list[Path]
        The files written, the units' first, then the summary's.

    Raises
    ------
    InputError
        ``out`` is a file or already holds files (without ``force``), or the level is unknown.
    """
    out = Path(out)
    check_out(out, force=force)
    level = options.level
    if level not in LEVELS:
        raise InputError(f"unknown level '{level}'", fix=f"use one of {', '.join(LEVELS)}")
    options = replace(options, lang=text_lang(options.lang))
    units = split_by_unit(result, level, codes)
    written: list[Path] = []
    ranking = []
    for code, unit in units.items():
        sites = _sites_for(unit, network, result, options)
        folder = out / safe_name(code, unit.name)
        files = unit_files(unit, network, result, sites, provenance=provenance, k=options.k, lang=options.lang)
        for fname, data in files.items():
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
    summary = summary_files(
        result, network, pd.DataFrame(ranking), level=level, provenance=provenance, k=options.k, lang=options.lang
    )
    for fname, data in summary.items():
        written.append(atomic_write(out / fname, data, force=force))
    return written
