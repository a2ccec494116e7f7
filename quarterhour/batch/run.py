"""Batch runs (``quarterhour batch``): one circle per unit (city, county, district), on Dask.

The client (this process) reads and checks every input before any cluster starts
(fail fast: ``InputError``), prepares the regional network once (``geo.store``),
and cuts each unit's share of the facilities and residents (``batchunit.UnitJob``,
small). The engine is ``dask.distributed``: with no address a ``LocalCluster``
sized to the machine (one single-threaded worker process per core), with
``scheduler="tcp://host:8786"`` the planner's cluster (dask-ssh, dask-kubernetes,
dask-jobqueue). The regional network, the one large input, travels once per
worker: the client prepares it into the network store (``geo.store``, GeoParquet)
and every task names the store's folder, which each worker process reads once
and keeps (``batchunit.shared_network``). A cluster's workers must see that
folder (``--cache-dir`` on a shared disk); nothing else is read by them: the
facilities and residents go with each unit's task, cut to the unit. (Scattering
the network with ``broadcast=True`` was tried: the scheduler's active memory
manager drops the extra copies, so a killed worker could take the only one.)
Each unit is one
task (``batchunit.run_unit``) submitted with ``retries``; a worker that dies
takes its units with it and the scheduler runs them again elsewhere.

Workers send back each unit's ``coverage.gpkg`` as bytes; the client alone writes
files: ``DIR/<code>/coverage.gpkg`` atomically (``quarterhour.gis.export.atomic_write``),
then the manifest (``batchfiles``), so a unit's output is never half written, nor
written twice, and a rerun of the same command skips the units whose inputs are
unchanged and whose output is still the one recorded.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import geopandas as gpd
import pandas as pd
import pyogrio

from analysis.compounds import compounds_crs_notes
from analysis.coverage import assign_units
from geo import InputError, read_boundaries
from geo._validate import POLYGONS, existing, require_columns, require_kind, require_unique
from geo._vector import VECTOR_SUFFIXES, read_vector
from geo.compounds import Walls, read_walls, settle_walls
from geo.errors import plain_text
from geo.io import BUNDLED_BOUNDARIES, MAX_INPUT_MB
from geo.network import StreetNetwork
from geo.roads import RoadOptions
from geo.store import manifest_digest
from geo.tables import is_table
from geo.vocab import LEVELS, level_code
from quarterhour.batch.files import (
    SUMMARY_FILES,
    BatchLog,
    check_batch_dir,
    complete,
    summary_tables,
    write_manifest,
    write_summary,
)
from quarterhour.batch.unit import BatchOptions, UnitJob, UnitOutcome, frame_sha256, reach_m, run_unit
from quarterhour.cli.progress import Steps
from quarterhour.gis.export import atomic_write, file_sha256, provenance
from quarterhour.gis.outdir import MAX_NAME_BYTES, claim, inside, safe_part, temp_of
from quarterhour.i18n import yardstick_text
from quarterhour.provenance import options_record
from quarterhour.study import CoordinateNote, StudySpec, load_study

__all__ = [
    "BatchInputs",
    "BatchResult",
    "Engine",
    "PreparedBatch",
    "open_client",
    "prepare_batch",
    "read_units",
    "run_batch",
]

log = logging.getLogger(__name__)

#: The options a batch records (``BatchOptions``' own, as the manifest's parameters).
_OPTIONS = (
    "minutes",
    "speed_kmh",
    "max_snap_m",
    "standard",
    "yardstick",
    "groups",
    "category_minutes",
    "category_capacity",
    "category_speed",
)
#: A unit's output in ``DIR/<code>/``.
UNIT_FILE = "coverage.gpkg"
#: A task that raised (not a unit's bad data: that comes back as a failure) is tried this many times more.
RETRIES = 2


@dataclass(frozen=True)
class BatchInputs:
    """What a batch is run on (the command's inputs).

    Attributes
    ----------
    units
        The units: a GeoPackage, GeoJSON or zipped Shapefile with ``code`` and ``name``, or ``luoyang``.
    network
        The regional network (``.osm.pbf``, ``.osm`` or ``.graphml``).
    facilities, demand
        The facility and resident files of the region.
    facilities_crs, demand_crs
        Their coordinate systems (``auto``: judged against the streets, as ``quarterhour run``).
    options
        The circle's options.
    cache_dir
        The network store's folder (``geo.store``); None for the default.
    roads
        How a road layer given as ``network`` is read (``geo.roads.RoadOptions``); None: the defaults.
    """

    units: str
    network: Path
    facilities: Path
    demand: Path
    facilities_crs: str = "auto"
    demand_crs: str = "auto"
    options: BatchOptions = field(default_factory=BatchOptions)
    compounds: Path | None = None  #: issue 30: gated compounds (``quarterhour run --compounds``)
    gates: Path | None = None  #: issue 30: their gates (default: from an OSM compounds or network file)
    gate_m: float = 20.0  #: issue 30: how far a gate may be from where a street crosses the compound's edge
    compounds_crs: str = "auto"  #: issue 30: the system of their lon/lat (auto: as the file says, checked; gcj02: 高德)
    cache_dir: Path | None = None
    roads: RoadOptions | None = None  #: issue 30: how a road layer given as the network is read


@dataclass
class PreparedBatch:
    """Every input read, checked and cut per unit, before any cluster starts."""

    options: BatchOptions  #: the circle's options
    entry: str  #: the regional network's store folder, which the workers read it from (the client keeps no copy)
    units: gpd.GeoDataFrame  #: ``code``, ``name``, ``level``, in the network's CRS
    upper: dict[str, gpd.GeoDataFrame]  #: the levels above the units (for the summary's sums)
    jobs: list[UnitJob]  #: one per unit, in the units' order
    provenance: dict[str, Any]  #: the batch's record, put into every unit's GeoPackage
    units_source: str  #: what names the units (the file's name or the bundled set)
    notes: list[str]  #: what the reading did, said once
    digest: str | None = None  #: the store entry's manifest as the client verified it (``geo.store.manifest_digest``)


@dataclass
class BatchResult:
    """How a batch ended."""

    records: dict[str, dict[str, Any]]  #: code -> the manifest's record
    ran: list[str]  #: the units run now
    skipped: list[str]  #: the units complete before (inputs unchanged)
    dashboard: str | None  #: the dashboard's address, if the scheduler serves one

    @property
    def failed(self) -> list[str]:
        """The units that failed (on their data, or a bug)."""
        return [code for code, rec in self.records.items() if rec.get("status") != "done"]


# --- reading ----------------------------------------------------------------------------------------------------


def read_units(spec: str | Path) -> tuple[gpd.GeoDataFrame, dict[str, gpd.GeoDataFrame]]:
    """The batch's units (``code``, ``name``, ``level``) and the levels above them, in the file's CRS.

    A file with levels (``geo.io.read_boundaries``: layers named after levels, or a
    ``level`` column; ``luoyang``) gives its lowest level as the units, the levels above
    for the summary's sums. A plain file of polygons with ``code`` and ``name`` gives
    units of level ``unit``.

    Parameters
    ----------
    spec
        A GeoPackage, GeoJSON or zipped Shapefile, or ``luoyang``.

    Returns
    -------
    (geopandas.GeoDataFrame, dict of str to geopandas.GeoDataFrame)
        The units, and the upper levels by name.

    Examples
    --------
    >>> units, upper = read_units("luoyang")
    >>> len(units), units["level"].iloc[0], list(upper)
    (7, 'district', ['city'])
    """
    path = existing(BUNDLED_BOUNDARIES.get(str(spec).lower(), spec), "units", max_mb=MAX_INPUT_MB)
    if path.suffix.lower() not in VECTOR_SUFFIXES:
        raise InputError("batch_unsupported_units_format_suffix", file=path.name, suffix=path.suffix)
    layered = path.suffix.lower() == ".gpkg" and any(
        level_code(n) in LEVELS
        for n in pyogrio.list_layers(path)[:, 0]  # issue 30: a level's words too (网格)
    )
    if layered or "level" in (gdf := read_vector(path, what="units")).columns:
        levels = read_boundaries(path)
        *above, lowest = levels
        units = levels[lowest].assign(level=lowest)
        units["code"] = units["code"].astype(str)
        _folder_names(units["code"], path.name)  # a level's codes become folders as well
        return units[["code", "name", "level", "geometry"]], {lvl: levels[lvl] for lvl in above}
    require_kind(gdf, POLYGONS, path, what="units", fix="units_polygons")
    require_columns(gdf, ("code", "name"), path, fix="units_code_name")
    gdf["code"] = gdf["code"].astype(str)
    require_unique(gdf, "code", path)
    _folder_names(gdf["code"], path.name)
    return gdf.assign(level="unit")[["code", "name", "level", "geometry"]], {}


def units_source(spec: str | Path) -> str:
    """What names a batch's units in its manifest: the units file's name, or the bundled set's.

    Examples
    --------
    >>> units_source("LUOYANG"), units_source("/data/henan/counties.gpkg")
    ('luoyang', 'counties.gpkg')
    """
    return str(spec).lower() if str(spec).lower() in BUNDLED_BOUNDARIES else Path(spec).name


def check_out(out: Path, spec: str | Path, *, force: bool) -> None:
    """Refuse, before any reading, an ``--out`` that is a file or holds something else than this batch.

    ``run_batch`` checks again while it holds the folder's lock.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError("batch_output_path_file_not", file=str(out))
    if out.is_dir():
        check_batch_dir(out, units_source(spec), force=force)


def _folder_names(codes: pd.Series, file: str) -> None:
    """Each code becomes a folder's name: refuse one that is not a plain name (``..``, a slash, too long).

    The check is ``outdir.safe_part``'s, the one function every name from data goes through.
    """
    bad = [c for c in codes if not c or safe_part(c, fallback="") != c]  # empty: a code of control characters
    if bad:
        shown = safe_part(bad[0], max_bytes=60)
        long = len(bad[0].encode("utf-8")) > MAX_NAME_BYTES
        raise InputError(
            "batch_code_too_long" if long else "batch_code_not_folder",
            file=file,
            column="code",
            shown=shown,
            max_name_bytes=MAX_NAME_BYTES,
        )


def prepare_batch(inputs: BatchInputs, *, say: Callable[[str], None] = lambda _: None) -> PreparedBatch:
    """Read and check every input, prepare the regional network once, and cut each unit's inputs.

    Parameters
    ----------
    inputs
        The batch's inputs.
    say
        Told each slow step as it starts (the network's preparation).

    Returns
    -------
    PreparedBatch
        The jobs, one per unit.

    Raises
    ------
    InputError
        Any input is missing, unreadable or wrong (before any cluster is started).
    """
    reach = reach_m(inputs.options)  # the yardstick's thresholds checked before the slow work
    units, upper = read_units(inputs.units)
    walls = _read_walls(inputs)  # issue 30: read before the slow work
    spec = StudySpec(  # issue 25: the one way in, as ``quarterhour run`` reads (a raster, a lattice table too)
        network=inputs.network,
        facilities=inputs.facilities,
        demand=inputs.demand,
        boundaries=inputs.units if is_table(inputs.demand) else None,  # a table of units' residents: matched to them
        facilities_crs=inputs.facilities_crs,
        demand_crs=inputs.demand_crs,
        groups=inputs.options.groups,  # a group's column missing: said before any cluster starts
        max_snap_m=inputs.options.max_snap_m,
        cache_dir=inputs.cache_dir,
        roads=inputs.roads,  # issue 30: a road layer's options
        spread="grid",  # a region's areas over a grid: spreading them along a region's streets is the units' work
    )
    started = {"preparing": "preparing the regional network (once; kept in the network store)"}
    study = load_study(spec, progress=lambda name: name in started and say(started[name]))
    stored, network = study.stored, study.network
    notes = [str(n) for n in study.notes if not isinstance(n, CoordinateNote)] + [f"residents from {study.how}"]
    facilities, demand = study.facilities, study.demand
    units = units.to_crs(network.crs)
    # issue 25: the options' record (``quarterhour.provenance.options_record``), as the app's provenance writes it
    parameters = {"command": "batch", "units": str(inputs.units), **options_record(inputs.options.options(), _OPTIONS)}
    files = {"network": inputs.network, "facilities": inputs.facilities, "demand": inputs.demand}
    if str(inputs.units).lower() not in BUNDLED_BOUNDARIES:
        files["units"] = Path(inputs.units)
    prov = provenance({**parameters, "reach_m": reach}, files)
    jobs = _jobs(units, facilities, demand, inputs.options, stored.manifest["source"]["sha256"])
    if walls is not None:  # issue 30: each unit its compounds and gates, checked against the region's streets
        walls = settle_walls(walls, network)
        notes += [str(n) for n in compounds_crs_notes(walls.file, walls.choice)]
        jobs = _walled_jobs(jobs, walls, network, inputs.gate_m)
        files.update({k: v for k, v in (("compounds", inputs.compounds), ("gates", walls.gates_from)) if v})
        prov = provenance({**parameters, "reach_m": reach, "gate_m": inputs.gate_m}, files)
    source = units_source(inputs.units)
    entry = str(stored.path.resolve())
    digest = manifest_digest(stored.manifest)
    return PreparedBatch(inputs.options, entry, units, upper, jobs, prov, source, notes, digest=digest)


# --- issue 30: i30-compounds ---
def _read_walls(inputs: BatchInputs) -> Walls | None:
    """The compounds and gates as read (as ``quarterhour run`` reads them); None without compounds."""
    if inputs.compounds is None:
        if inputs.gates is not None:
            raise InputError("batch_gates_needs_compounds")
        return None
    return read_walls(inputs.compounds, inputs.gates, system=inputs.compounds_crs, network=inputs.network)


def _walled_jobs(jobs: list[UnitJob], walls: Walls, network: StreetNetwork, gate_m: float) -> list[UnitJob]:
    """Each unit's job with the compounds and gates in its area (in the network's CRS), their hash recorded."""
    from dataclasses import replace

    compounds = walls.compounds.to_crs(network.crs)
    gates = walls.gates.to_crs(network.crs) if walls.gates is not None else None
    out = []
    for job in jobs:
        area = gpd.GeoSeries([job.area_lonlat], crs=4326).to_crs(network.crs).iloc[0]
        mine = compounds[compounds.intersects(area)]
        near = gates[gates.intersects(area.buffer(gate_m))] if gates is not None else None
        inputs = {**job.inputs, "compounds": frame_sha256(mine)}
        if near is not None:
            inputs["gates"] = frame_sha256(near)
        out.append(replace(job, inputs=inputs, walls=(mine, near, gate_m)))
    return out


# --- end of issue 30 ---
def _jobs(
    units: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    options: BatchOptions,
    network_sha: str,
) -> list[UnitJob]:
    """Each unit's share: its residents (each in one unit), the facilities within a walk, its area; and hashes."""
    reach = reach_m(options)
    areas = units.geometry.buffer(reach)
    home = assign_units(demand, units)
    near = gpd.sjoin(facilities[["geometry"]], gpd.GeoDataFrame(geometry=areas.values, crs=units.crs), how="inner")
    jobs = []
    for i, (code, name, level) in enumerate(zip(units["code"], units["name"], units["level"], strict=True)):
        unit = units.iloc[[i]].reset_index(drop=True)
        area_ll = gpd.GeoSeries([areas.iloc[i]], crs=units.crs).to_crs(4326).iloc[0]
        mine = facilities.loc[sorted(set(near.index[near["index_right"] == i]), key=facilities.index.get_loc)]
        residents = demand[(home == code).to_numpy()]
        inputs = {
            "network": network_sha,
            "facilities": frame_sha256(mine),
            "residents": frame_sha256(residents),
            "unit": frame_sha256(unit),
            "parameters": options.sha256(),
        }
        jobs.append(UnitJob(code, str(name), level, unit, area_ll, mine, residents, inputs))
    return jobs


# --- the engine -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Engine:
    """Where the units run.

    Attributes
    ----------
    scheduler
        ``tcp://host:port`` of the planner's running Dask scheduler; None for a ``LocalCluster`` here.
    workers
        The local cluster's worker processes (one thread each); None: one per core.
    """

    scheduler: str | None = None
    workers: int | None = None


_ADDRESS = re.compile(r"^(tcp|tls|inproc|ucx|ws|wss)://[^\s/]+$")


def check_address(address: str) -> str:
    """A scheduler address as Dask takes it, ``tcp://host:port``; refused before any work if it is not one.

    Examples
    --------
    >>> check_address("tcp://10.0.0.5:8786")
    'tcp://10.0.0.5:8786'
    """
    if not _ADDRESS.match(address):
        raise InputError("batch_address_not_scheduler_address", address=address)
    return address


def _unreachable(address: str, why: str) -> InputError:
    return InputError("batch_cannot_reach_dask_scheduler", address=address, why=why)


def _listening(address: str) -> None:
    """Refuse at once a TCP address nothing listens on (Dask would retry it until its timeout)."""
    host, _, port = address.split("://", 1)[1].rpartition(":")
    if not address.startswith("tcp://") or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=10).close()
    except OSError as exc:
        raise _unreachable(address, exc.strerror or type(exc).__name__) from None


@contextlib.contextmanager
def open_client(scheduler: str | None = None, *, workers: int | None = None) -> Iterator[Any]:
    """A Dask client: to the cluster at ``scheduler``, or to a ``LocalCluster`` on this machine.

    Parameters
    ----------
    scheduler
        ``tcp://host:port`` of a running scheduler; None starts a local cluster (closed with the block).
    workers
        The local cluster's worker processes (one thread each); None: one per core.

    Yields
    ------
    distributed.Client
        The client.
    """
    from distributed import Client, LocalCluster

    if scheduler:
        _listening(check_address(scheduler))
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise _unreachable(scheduler, type(exc).__name__) from None
        with client:
            yield client
        return
    n = workers or os.cpu_count() or 1
    with (
        LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=logging.ERROR
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def dashboard_link(client: Any) -> str | None:
    """The scheduler's dashboard address, or None when it serves none (no bokeh, or ``--no-dashboard``)."""
    services = client.scheduler_info().get("services", {})
    return client.dashboard_link if "dashboard" in services else None


class UnitProgress(Steps):
    """Units done out of the total, each with its time or its failure: on stderr (``Steps``) and in the log.

    Parameters
    ----------
    total
        The units to run.
    log
        Told every line too (``batchfiles.BatchLog``).
    quiet
        Nothing on stderr (the log is still written).
    stream
        Where to write (default stderr): a bar on a terminal (and the failures), plain lines otherwise.
    """

    def __init__(self, total: int, log: Callable[[str], None], *, quiet: bool = False, stream: TextIO | None = None):
        super().__init__([f"unit {i + 1}" for i in range(total)], quiet=quiet, stream=stream)
        self.log = log

    def unit(self, label: str, seconds: float, error: str | None = None) -> None:
        """One unit ended: ``[3/16] 410302 老城区 … 4.2 s``, or ``failed: …`` with its error."""
        self.done += 1
        line = f"[{self.done}/{len(self.steps)}] {label} … {seconds:.1f} s"
        line += f"; failed: {error}" if error else ""
        self.log(line)
        if self.terminal:
            self.bar.update(1)
            if error:
                self.bar.write(line, file=self.stream)
        elif not self.quiet:
            print(line, file=self.stream, flush=True)


def _outcome(future: Any, job: UnitJob) -> UnitOutcome:
    """A finished task's outcome; a task that raised even after its retries is a failure said in one line."""
    from distributed import KilledWorker

    try:
        return future.result()
    except KilledWorker:  # the scheduler gave up after the unit's workers died one after another
        why = "the workers running this unit died each time (out of memory?)"
        fix = "give the workers more memory (dask worker --memory-limit), or split the unit"
        return UnitOutcome(job.code, f"{job.code} {job.name}: {why}. Fix: {fix}", None, None, 0.0, "")
    except Exception as exc:  # a bug, after RETRIES: the unit fails, the batch goes on
        log.debug("unit %s raised", job.code, exc_info=True)
        return UnitOutcome(job.code, f"internal error: {type(exc).__name__}: {plain_text(exc)}", None, None, 0.0, "")


def _record(out: Path, job: UnitJob, outcome: UnitOutcome) -> dict[str, Any]:
    """Write a unit's output (atomically; the client only) and the manifest's record of it."""
    record: dict[str, Any] = {"name": job.name, "inputs": job.inputs, "seconds": round(outcome.seconds, 3)}
    record["worker"] = outcome.worker
    if not outcome.ok:
        return {**record, "status": "failed", "error": outcome.error}
    path = atomic_write(inside(out, job.code) / UNIT_FILE, outcome.gpkg or b"", force=True)
    output = {"file": f"{job.code}/{UNIT_FILE}", "sha256": file_sha256(path), "bytes": path.stat().st_size}
    return {**record, "status": "done", "summary": outcome.summary, "output": output}


#: The files a batch writes (their temporary files, left by a killed batch, are removed by the next).
_OURS = (UNIT_FILE, "manifest.json", *SUMMARY_FILES)


def _clean(out: Path, codes: Sequence[str]) -> None:
    """Remove the temporary files a killed batch left (ours only: ``outdir.temp_of``)."""
    for folder in [out, *(inside(out, c) for c in codes)]:
        if folder.is_dir():
            for f in folder.iterdir():
                if temp_of(f.name, _OURS):
                    f.unlink(missing_ok=True)


def _run_jobs(
    prepared: PreparedBatch,
    todo: list[UnitJob],
    out: Path,
    *,
    records: dict[str, dict[str, Any]],
    engine: Engine,
    said: Mapping[str, Any],
) -> str | None:
    """Run ``todo`` on the cluster, recording each unit as it ends; the dashboard's address."""
    from distributed import as_completed

    with open_client(engine.scheduler, workers=engine.workers) as client:
        link = dashboard_link(client)
        said["say"](f"dashboard: {link}" if link else "dashboard: none (the scheduler serves none)")
        said["log"](f"cluster: {client.scheduler.address}, {len(client.scheduler_info()['workers'])} workers")
        options, prov = prepared.options, prepared.provenance
        by_key, futures = {}, []
        for job in todo:
            key = f"unit-{job.code}-{time.time_ns()}"
            by_key[key] = job
            futures.append(
                client.submit(
                    run_unit,
                    prepared.entry,
                    job,
                    options,
                    prov,
                    digest=prepared.digest,
                    key=key,
                    retries=RETRIES,
                    pure=False,
                )
            )
        progress = said["progress"]
        for future in as_completed(futures):
            job = by_key[future.key]
            outcome = _outcome(future, job)
            records[job.code] = _record(out, job, outcome)
            write_manifest(out, prepared.units_source, records)
            progress.unit(f"{job.code} {job.name}", outcome.seconds, outcome.error)
            future.release()
    return link


def run_batch(
    prepared: PreparedBatch,
    out: Path,
    *,
    engine: Engine | None = None,
    force: bool = False,
    quiet: bool = False,
    lang: str = "zh",
    say: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> BatchResult:
    """Run every unit not already complete in ``out`` on Dask, record each as it ends, and write the summary.

    Parameters
    ----------
    prepared
        The batch (``prepare_batch``).
    out
        The batch folder: locked for the run (``quarterhour.gis.outdir.claim``); a folder holding
        something else than this batch is refused unless ``force``.
    engine
        Where the units run; None: a ``LocalCluster`` of one worker per core.
    force
        Write into a folder that is not this batch's; every unit runs again.
    quiet
        No progress on stderr (``DIR/batch.log`` is written all the same).
    lang
        The summary tables' language: ``zh`` (Chinese, English in brackets) or ``en``.
    say
        Where the dashboard's address and notes go.

    Returns
    -------
    BatchResult
        Every unit's record, and which ran, which were skipped.
    """
    out = Path(out)
    with claim(out, force=force):
        known = check_batch_dir(out, prepared.units_source, force=force)
        codes = [job.code for job in prepared.jobs]
        _clean(out, codes)
        batch_log = BatchLog(out)
        records = {code: known[code] for code in codes if code in known}
        todo = [job for job in prepared.jobs if not complete(known.get(job.code), job.inputs, out)]
        skipped = [job.code for job in prepared.jobs if job not in todo]
        batch_log(
            f"batch of {len(codes)} units from {prepared.units_source}: {len(todo)} to run, {len(skipped)} complete"
        )
        for code in skipped:
            batch_log(f"skipped {code}: complete, inputs unchanged")
        link = None
        if todo:
            with UnitProgress(len(todo), batch_log, quiet=quiet) as progress:
                said = {"say": say, "log": batch_log, "progress": progress}
                link = _run_jobs(prepared, todo, out, records=records, engine=engine or Engine(), said=said)
        write_manifest(out, prepared.units_source, records)
        per_unit, per_level = summary_tables(prepared.units, records, prepared.upper)
        measured = yardstick_text(prepared.options.yardstick, prepared.options.minutes, lang)
        write_summary(out, per_unit, per_level, lang=lang, yardstick=measured)
        result = BatchResult(records, [job.code for job in todo], skipped, link)
        batch_log(
            f"finished: {len(codes) - len(result.failed)} of {len(codes)} units done, {len(result.failed)} failed"
        )
    return result
