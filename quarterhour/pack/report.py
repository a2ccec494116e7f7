"""The review pack for district reviews: per admin unit, layers, a map, tables and a report; a city summary.

``quarterhour report --out DIR --level district`` writes one folder per unit
(``<code>_<name>``, made safe for any file system and unique: ``unit_folders``), each holding

- ``layers.gpkg``: ``facilities``, ``demand``, ``isochrones`` (every facility's
  reach cut to the unit), ``coverage_<level>`` (the unit) and
  ``coverage_<sub-level>`` (the units below it), ``gaps`` (cut to the unit,
  ranked by its residents left out), ``sites`` and ``site_isochrones``, each with its
  default style (QGIS draws it as the map does: ``quarterhour.gis.qgisstyle``);
- ``project.qgs``: a QGIS project of those layers (relative paths), the unit's extent,
  an OpenStreetMap basemap off by default, and a print layout (``quarterhour.gis.qgisproject``);
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
built by ``quarterhour.pack.files`` (the documents drawn by
``quarterhour.pack.documents``, their tables and key figures made by
``quarterhour.pack.tables``).
``provenance`` comes from ``quarterhour.gis.export.provenance(parameters, inputs)``.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.pipeline import CircleResult
from analysis.units import UnitLayers, split_by_unit
from geo import InputError
from geo.network import StreetNetwork
from geo.snap import DEFAULT_MAX_SNAP_M
from geo.vocab import LEVELS
from quarterhour.gis.outdir import building, inside, safe_part, temp_of
from quarterhour.pack.files import summary_files, unit_files
from quarterhour.pack.units import sites_for, unit_outputs
from quarterhour.render.staticmap import text_lang

__all__ = [
    "PACK_FILES",
    "SUMMARY_FILES",
    "PackOptions",
    "build_pack",
    "check_out",
    "safe_name",
    "unit_folders",
    "unit_pack",
    "write_pack",
]

PACK_FILES = ("layers.gpkg", "project.qgs", "map.png", "tables.xlsx", "report.html", "report.pdf")
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
    return safe_part(text.strip("_-.")[:max_len])  # the one name-from-data function: short enough in bytes too


def unit_folders(names: Mapping[str, str], *, max_len: int = 80) -> dict[str, str]:
    """Each unit's folder in the pack: ``safe_name``, unique even where two units' names clean to one.

    Units whose folder names would be the same (also when they differ only in upper and
    lower case, as macOS and Windows see them) each get ``-`` and a short hash of their code
    at the end, so every unit has a folder of its own and the summary's ``folder`` column says which.

    Parameters
    ----------
    names
        Unit code -> unit name.
    max_len
        A folder name's length at most (characters), hash included.

    Returns
    -------
    dict[str, str]
        Unit code -> folder name, in ``names``' order.

    Raises
    ------
    InputError
        Two units would still share a folder (a code that is another's folder name with a hash).

    Examples
    --------
    >>> unit_folders({"X/1": "same", "X_1": "same", "MC-D1": "西北区"})
    {'X/1': 'X_1_same-56acec98', 'X_1': 'X_1_same-97e232ca', 'MC-D1': 'MC-D1_西北区'}
    """
    plain = {code: safe_name(str(code), str(name), max_len=max_len) for code, name in names.items()}
    counts = Counter(folder.casefold() for folder in plain.values())
    folders = {}
    for code, folder in plain.items():
        if counts[folder.casefold()] > 1:
            tag = hashlib.sha256(str(code).encode()).hexdigest()[:8]
            folder = f"{safe_name(str(code), str(names[code]), max_len=max_len - len(tag) - 1)}-{tag}"
        folders[code] = folder
    seen: dict[str, str] = {}
    for code, folder in folders.items():
        other = seen.setdefault(folder.casefold(), code)
        if other != code:
            raise InputError("report_units_other_code_would", other=other, code=code, folder=folder)
    return folders


# --- one unit ---------------------------------------------------------------------------------------------------


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
        What produced the run (``quarterhour.gis.export.provenance``), written into every file.

    Returns
    -------
    dict[str, bytes]
        Each file of ``PACK_FILES`` by name.
    """
    options = replace(options, lang=text_lang(options.lang))
    unit = split_by_unit(result, options.level, [code])[code]
    sites = sites_for(unit, network, result, options)
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
        What produced the run (``quarterhour.gis.export.provenance``), written into every file.

    Returns
    -------
    bytes
        A zip holding ``<code>_<name>/`` and in it the files of ``PACK_FILES``.

    Examples
    --------
    >>> import zipfile, io
    >>> from geo import load_sample, read_boundaries, sample_paths
    >>> from analysis.pipeline import run_circle
    >>> from quarterhour.gis.export import provenance
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


def _not_pack(out: Path) -> list[str]:
    """What ``out`` holds that no review pack writes (a pack is replaced whole: these would be lost).

    Temporary files of a pack's files, left by a killed run of an earlier version, are the pack's.
    """
    foreign = []
    for entry in sorted(out.iterdir()):
        if entry.is_dir() and not entry.is_symlink():
            inside = (f.name for f in sorted(entry.iterdir()))
            foreign += [f"{entry.name}/{f}" for f in inside if f not in PACK_FILES and not temp_of(f, PACK_FILES)]
        elif entry.name not in SUMMARY_FILES and not temp_of(entry.name, SUMMARY_FILES):
            foreign.append(entry.name)
    return foreign


def check_out(out: Path, *, force: bool) -> None:
    """Refuse a pack folder that already holds files, unless ``force`` (call before the slow work).

    With ``force`` the folder is replaced whole, so it may hold only a review pack's files.

    Parameters
    ----------
    out
        The pack's folder.
    force
        Accept a folder holding a pack (it is replaced).

    Raises
    ------
    InputError
        ``out`` is a file, holds files and ``force`` is not given, or holds files that are
        not a pack's.
    """
    if out.exists() and not out.is_dir():
        raise InputError("report_output_path_file_not", file=str(out))
    if not out.is_dir() or not any(out.iterdir()):
        return
    if not force:
        raise InputError("report_pack_folder_already_holds", file=str(out))
    foreign = _not_pack(out)
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise InputError("report_pack_folder_holds_files", file=str(out), shown=shown)


def write_pack(
    result: CircleResult,
    network: StreetNetwork,
    options: PackOptions,
    *,
    out: Path,
    provenance: Mapping[str, Any],
    force: bool = False,
    codes: list[str] | None = None,
    workers: int | None = None,
) -> list[Path]:
    """Write every unit's folder of ``options.level`` and the city summary into ``out``; return the files written.

    The pack is built in a hidden folder beside ``out`` and swapped in whole (``quarterhour.gis.outdir.building``):
    a failure or a kill leaves the old pack, never a mix. An ``out`` holding files is refused unless
    ``force``, and then only if it holds a pack (``check_out``). The CLI holds ``out``'s lock meanwhile
    (``quarterhour.gis.outdir.claim``).

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
        What produced the run (``quarterhour.gis.export.provenance``), written into every file.
    force
        Replace the files of a pack already in ``out``.
    codes
        Only these units (codes of ``result.levels[options.level]``); None for all.
    workers
        Processes making the units (``quarterhour.pack.units.pack_workers``): None, one per core up to
        two; 1 makes them here in turn. The pack is the same either way.

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
        raise InputError("report_unknown_level_level", level=level, levels=", ".join(LEVELS))
    options = replace(options, lang=text_lang(options.lang))
    units = split_by_unit(result, level, codes)
    folders = unit_folders({code: unit.name for code, unit in units.items()})
    with building(out) as tmp:
        written = _write_units(
            units, folders, network, result, options, tmp=tmp, provenance=provenance, workers=workers
        )
    return [out / path.relative_to(tmp) for path in written]


def _write_units(
    units: Mapping[str, UnitLayers],
    folders: Mapping[str, str],
    network: StreetNetwork,
    result: CircleResult,
    options: PackOptions,
    *,
    tmp: Path,
    provenance: Mapping[str, Any],
    workers: int | None = None,
) -> list[Path]:
    """Write each unit's folder and the summary into the pack's temporary folder ``tmp``; the files written.

    The units are made in ``workers`` processes (``quarterhour.pack.units``) and written here, in order.
    """
    written: list[Path] = []
    ranking = []
    for made in unit_outputs(units, network, result, options, provenance=provenance, workers=workers):
        folder = inside(tmp, folders[made.code])
        folder.mkdir()
        for fname, data in made.files.items():
            (folder / fname).write_bytes(data)  # in a fresh folder: the umask applies, the swap is the atomic step
            written.append(folder / fname)
        ranking.append({**made.row, "folder": folder.name})
    summary = summary_files(
        result,
        network,
        pd.DataFrame(ranking),
        level=options.level,
        provenance=provenance,
        k=options.k,
        lang=options.lang,
    )
    for fname, data in summary.items():
        (tmp / fname).write_bytes(data)
        written.append(tmp / fname)
    return written
