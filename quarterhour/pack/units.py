"""The review pack's units made one by one, or in worker processes that share the run.

Each unit's work (its new sites, then its files: ``quarterhour.pack.files.unit_files``) needs only the run,
the network and the unit, and gives bytes; the units are independent. ``unit_outputs`` makes them in
``workers`` processes forked from this one, so the run and the network (with the spatial index of its
segments the run built) are shared copy-on-write rather than sent to each worker; each worker sends back
only its unit's files and its row of the summary. The parent writes the files, as the serial path does, and the pack is
the same either way (a test compares them). Where ``fork`` is not there (Windows, macOS), or for one
unit, the units are made here in turn.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing as mp
import os
import signal
import sys
from collections.abc import Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from analysis import columns as C
from analysis.pipeline import CircleResult
from analysis.siting import SiteResult
from analysis.units import UnitLayers, unit_sites
from geo.network import StreetNetwork
from quarterhour.pack.files import unit_files

if TYPE_CHECKING:
    from quarterhour.pack.report import PackOptions

__all__ = ["MAX_WORKERS", "UnitOutput", "pack_workers", "sites_for", "unit_outputs"]

_PR_SET_PDEATHSIG = 1  #: Linux prctl(2): the signal a process gets when its parent dies

#: Worker processes at most, whatever the cores: each holds its unit's drawing and solver memory.
MAX_WORKERS = 2


@dataclass(frozen=True)
class UnitOutput:
    """One unit's part of the pack: its files and its row of the city summary (``folder`` not yet set)."""

    code: str
    files: dict[str, bytes]
    row: dict[str, Any]


@dataclass(frozen=True)
class _Job:
    """What every unit's work reads; held in ``_JOB`` by the parent, inherited by forked workers."""

    units: Mapping[str, UnitLayers]
    network: StreetNetwork
    result: CircleResult
    options: PackOptions
    provenance: Mapping[str, Any]


_JOB: _Job | None = None


def sites_for(
    unit: UnitLayers,
    network: StreetNetwork,
    result: CircleResult,
    options: PackOptions,
) -> SiteResult | None:
    """The unit's new sites (``analysis.units.unit_sites``) under the pack's options and the run's threshold.

    Parameters
    ----------
    unit
        The unit's layers (``analysis.units.split_by_unit``).
    network
        The street network the run was made on.
    result
        The run: its threshold, speed and the levels below the unit's (each site gets their codes).
    options
        The pack's new sites per unit, candidate spacing, snapping distance and solver time.
    """
    below = {lvl: table[["code", "geometry"]] for lvl, table in result.levels.items() if lvl != "city"}
    return unit_sites(
        network,
        unit,
        k=options.k,
        minutes=float(result.summary.cutoff_min),  # the engine's threshold (a distance under GB 50180)
        speed_kmh=float(result.summary.speed_kmh),
        spacing_m=options.spacing_m,
        max_snap_m=options.max_snap_m,
        time_limit_s=options.time_limit_s,
        boundaries=below,
    )


def _summary_row(unit: UnitLayers, sites: SiteResult | None) -> dict[str, Any]:
    gain = float(sites.sites[C.POP_NEW].sum()) if sites is not None else 0.0
    pop = float(unit.row[C.POP])
    return {
        "code": unit.code,
        "name": unit.name,
        C.POP: pop,
        C.POP_COVERED: float(unit.row[C.POP_COVERED]),
        C.POP_UNCOVERED: float(unit.row[C.POP_UNCOVERED]),
        C.PCT_COVERED: float(unit.row[C.PCT_COVERED]),
        C.N_FACILITIES: int(unit.row[C.N_FACILITIES]),
        C.N_FACILITIES_OFF: int(unit.row.get(C.N_FACILITIES_OFF, 0)),
        "n_gaps": len(unit.gaps),
        "sites_new": 0 if sites is None else len(sites.sites),
        C.POP_NEW: gain,
        "pct_after": 100 * (float(unit.row[C.POP_COVERED]) + gain) / pop if pop else np.nan,
    }


def _make_unit(code: str) -> UnitOutput:
    """One unit's sites and files, from ``_JOB`` (the parent's, or the copy a forked worker holds)."""
    job = _JOB
    assert job is not None, "unit_outputs sets the job first"
    unit = job.units[code]
    sites = sites_for(unit, job.network, job.result, job.options)
    files = unit_files(
        unit,
        job.network,
        job.result,
        sites,
        provenance=job.provenance,
        k=job.options.k,
        lang=job.options.lang,
    )
    return UnitOutput(code=code, files=files, row=_summary_row(unit, sites))


def pack_workers(n_units: int, workers: int | None = None) -> int:
    """How many processes make ``n_units`` units: ``workers`` if given, else one per core up to ``MAX_WORKERS``.

    One (made here, in turn) where processes cannot be forked.

    Parameters
    ----------
    n_units
        The units to make.
    workers
        The processes asked for; None chooses.

    Examples
    --------
    >>> pack_workers(1)
    1
    >>> pack_workers(7, 1)
    1
    """
    if sys.platform != "linux" or "fork" not in mp.get_all_start_methods():
        return 1  # macOS's fork is unsafe with its system libraries; Windows has none
    cores = len(os.sched_getaffinity(0))
    want = min(cores, MAX_WORKERS) if workers is None else workers
    return max(1, min(want, n_units))


def unit_outputs(
    units: Mapping[str, UnitLayers],
    network: StreetNetwork,
    result: CircleResult,
    options: PackOptions,
    *,
    provenance: Mapping[str, Any],
    workers: int | None = None,
) -> Iterator[UnitOutput]:
    """Each unit's files and summary row, in ``units``' order, made in ``pack_workers`` processes.

    Parameters
    ----------
    units
        The units (``analysis.units.split_by_unit``), by code.
    network
        The street network the run was made on.
    result
        The run (``analysis.pipeline.run_circle``).
    options
        The pack's options (``quarterhour.pack.report.PackOptions``), language already checked.
    provenance
        What produced the run, written into every file.
    workers
        Processes to use; None: one per core, up to ``MAX_WORKERS``.

    Yields
    ------
    UnitOutput
        One per unit, in order.
    """
    global _JOB  # the one hand-over to forked workers: inherited, never pickled
    _JOB = _Job(units=units, network=network, result=result, options=options, provenance=provenance)
    try:
        n = pack_workers(len(units), workers)
        if n <= 1:
            for code in units:
                yield _make_unit(code)
            return
        yield from _forked(list(units), n)
    finally:
        _JOB = None


def _die_with_parent(parent: int) -> None:
    """A worker's start: it is killed when the command is (``kill -9`` included), never left running.

    A worker left behind would hold the pack folder's lock (``quarterhour.gis.outdir.claim``: an inherited
    ``flock``), and the next command into that folder would be refused.
    """
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the command died before the line above
        os._exit(1)


def _trim() -> None:
    """Give the memory the run freed back to the system (glibc's ``malloc_trim``); nothing elsewhere."""
    with contextlib.suppress(OSError, AttributeError):  # another C library (musl): its freed memory stays
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _forked(codes: list[str], n: int) -> Iterator[UnitOutput]:
    """The units made by ``n`` forked workers, the biggest first (fewer idle cores at the end); in order."""
    job = _JOB
    assert job is not None
    size = {code: len(job.units[code].demand) + len(job.units[code].isochrones) for code in codes}
    gc.collect()
    _trim()  # freed memory goes back to the system first, or each worker would count it as its own
    gc.freeze()  # the collector leaves the shared objects' pages alone in the workers
    try:
        pool = ProcessPoolExecutor(
            max_workers=n, mp_context=mp.get_context("fork"), initializer=_die_with_parent, initargs=(os.getpid(),)
        )
        try:
            futures = {code: pool.submit(_make_unit, code) for code in sorted(codes, key=lambda c: -size[c])}
            for code in codes:
                yield futures[code].result()
        finally:  # done, failed or abandoned: units not started are not made
            pool.shutdown(wait=True, cancel_futures=True)
    finally:
        gc.unfreeze()
