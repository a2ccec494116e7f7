"""One unit of a batch (``quarterhour batch``): its share of the regional inputs, and its circle, on a worker.

A unit's network is the regional network clipped to the unit grown by one
threshold's walk (``reach_m``), the way ``quarterhour run --clip`` clips
(osmnx ``truncate_graph_polygon(truncate_by_edge=True)``: the streets' corners
inside the area, their neighbours, and the streets between them), so a resident
near the border reaches a centre across it, as they would on foot. Its facilities
are those inside the same area (a centre across the border serves it honestly);
its residents those inside the unit (each resident in exactly one unit:
``analysis.coverage.assign_units``). The circle is ``analysis.pipeline.run_circle``,
the very call ``quarterhour run`` makes.

``run_unit`` is what a Dask worker runs. The regional network reaches it as the
folder of its network-store entry (``geo.store``), prepared once by the client:
each worker process reads it once and keeps it for the units that follow
(``shared_network``), so the large input travels once per worker, straight
from the disk, never through the scheduler. A cluster's workers must therefore
see the client's store folder at the same path (``--cache-dir`` on a shared disk).
It never raises on bad data: a unit
without streets or residents comes back as a failure with the planner's message,
so the other units go on; only a bug or a dead worker is retried.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from analysis.groups import Group, find_groups
from analysis.options import CircleOptions
from analysis.pipeline import run_circle
from analysis.traveltime import WALK_KMH
from analysis.yardstick import Yardstick, yardstick
from geo.errors import InputError
from geo.network import StreetNetwork, network_from_arrays
from geo.snap import DEFAULT_MAX_SNAP_M
from geo.vocab import CATEGORY_MINUTES
from quarterhour.gis.export import gpkg_bytes

__all__ = [
    "BatchOptions",
    "UnitJob",
    "UnitOutcome",
    "clip_network",
    "frame_sha256",
    "frozen_categories",
    "reach_m",
    "run_unit",
]


@dataclass(frozen=True)
class BatchOptions:
    """The options every unit runs with (the parameters of ``quarterhour run``'s circle).

    Attributes
    ----------
    minutes
        The circle's threshold in minutes.
    speed_kmh
        Walking speed in km/h.
    max_snap_m
        Points farther than this from any street are off the network.
    standard
        The yardstick (``analysis.yardstick.STANDARDS``), as ``run --standard``.
    groups
        The population groups the planner named (``run --group``); recognised age headers are found as ``run``
        finds them.
    categories
        ``run --categories``' table as ``run_circle``'s options (``analysis.options.categories_options``),
        frozen: ((option, ((category, value), ...)), ...) (``frozen_categories``).
    """

    minutes: float = 15.0
    speed_kmh: float = WALK_KMH
    max_snap_m: float = DEFAULT_MAX_SNAP_M
    standard: str = "minutes"
    groups: tuple[Group, ...] = ()
    categories: tuple[tuple[str, tuple[tuple[str, float], ...]], ...] = ()

    def sha256(self) -> str:
        """A hash of the options: a unit run with other options is run again."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()

    @property
    def category_options(self) -> dict[str, dict[str, float]]:
        """The categories as ``run_circle``'s options (``category_minutes`` ...)."""
        return {option: dict(values) for option, values in self.categories}

    @property
    def yardstick(self) -> Yardstick:
        """The yardstick the units are measured by."""
        return yardstick(self.standard, speed_kmh=self.speed_kmh)

    # issue 25: batch's options are the circle's (``analysis.options.CircleOptions``), kept in this frozen shape
    # (its fields are the manifest's parameters and hash: a batch run before keeps its units complete)

    def options(self) -> CircleOptions:
        """The circle's options every unit runs with (each unit's groups found in its residents, ``run_unit``).

        Examples
        --------
        >>> BatchOptions(minutes=10).options().replace(n_sites=0).minutes
        10.0
        """
        return CircleOptions(
            minutes=self.minutes,
            speed_kmh=self.speed_kmh,
            max_snap_m=self.max_snap_m,
            standard=self.standard,
            groups=self.groups,
            isochrones=("facility",),
            n_sites=0,
            **self.category_options,
        )

    @classmethod
    def of(cls, options: CircleOptions) -> BatchOptions:
        """Batch's options from the circle's (``quarterhour.cli.args.circle_options``).

        Examples
        --------
        >>> BatchOptions.of(CircleOptions(mode="bike")).speed_kmh
        15.0
        """
        return cls(
            minutes=options.minutes,
            speed_kmh=options.speed_kmh,
            max_snap_m=options.max_snap_m,
            standard=options.standard,
            groups=options.groups,
            categories=frozen_categories(options.category_options()),
        )


def frozen_categories(
    options: Mapping[str, Mapping[str, float]],
) -> tuple[tuple[str, tuple[tuple[str, float], ...]], ...]:
    """``run_circle``'s category options (``analysis.options.categories_options``) as ``BatchOptions`` keeps them.

    Examples
    --------
    >>> frozen_categories({"category_minutes": {"b": 10, "a": 5}})
    (('category_minutes', (('a', 5.0), ('b', 10.0))),)
    """
    return tuple(
        (option, tuple(sorted((str(k), float(v)) for k, v in values.items()))) for option, values in options.items()
    )


def reach_m(options: BatchOptions) -> float:
    """How far the unit is grown: the longest walk any threshold allows (the circle's, a category's, a group's).

    Each threshold as the yardstick measures it (GB 50180: its metres), a category at its own speed, and a
    population group faster than the run at its speed.

    Raises
    ------
    InputError
        The yardstick does not define one of the thresholds (GB 50180: 5, 10 and 15 minutes only).

    Examples
    --------
    >>> reach_m(BatchOptions(minutes=15, speed_kmh=4.8))
    1200.0
    >>> reach_m(BatchOptions(minutes=5, standard="gb50180"))  # the 15-minute categories: 1,000 m
    1000.0
    """
    ys, cats = options.yardstick, options.category_options
    minutes = {**CATEGORY_MINUTES, **cats.get("category_minutes", {})}
    engine_min = max(ys.cutoff_min(options.minutes), *ys.cutoffs(minutes, cats.get("category_speed")).values())
    faster = max([g.speed_kmh / ys.speed_kmh for g in options.groups if g.speed_kmh and not ys.by_distance] + [1.0])
    return round(engine_min * faster * 60 * ys.engine_kmh / 3.6, 6)


@dataclass(frozen=True)
class UnitJob:
    """One unit's inputs, cut from the region on the client (all in the network's CRS but ``area_lonlat``).

    Attributes
    ----------
    code, name, level
        The unit.
    unit
        The unit's row (``code``, ``name``, geometry).
    area_lonlat
        The unit grown by ``reach_m``, in lon/lat: the network and the facilities are cut to it.
    facilities
        The facilities inside the area.
    demand
        The resident points inside the unit.
    inputs
        SHA-256 per input (network, facilities, residents, unit, parameters): the manifest's record.
    walls
        Issue 30: the gated compounds and their gates within the area, and the gates' reach in metres
        (``geo.compounds.wall_network``); None: no compounds.
    """

    code: str
    name: str
    level: str
    unit: gpd.GeoDataFrame
    area_lonlat: shapely.Geometry
    facilities: gpd.GeoDataFrame
    demand: gpd.GeoDataFrame
    inputs: dict[str, str] = field(default_factory=dict)
    walls: tuple | None = None


@dataclass(frozen=True)
class UnitOutcome:
    """What a worker sends back for one unit: the figures and the GeoPackage's bytes, or the error.

    Attributes
    ----------
    code
        The unit.
    error
        The planner's message when the unit failed on its data; None when it ran.
    summary
        The headline figures (``CircleSummary`` as a dict) when it ran.
    gpkg
        The unit's ``coverage.gpkg`` (as ``quarterhour run`` writes it) when it ran.
    seconds
        Time the worker spent on the unit.
    worker
        Where it ran (host and process id).
    """

    code: str
    error: str | None
    summary: dict[str, Any] | None
    gpkg: bytes | None
    seconds: float
    worker: str

    @property
    def ok(self) -> bool:
        """Whether the unit ran."""
        return self.error is None


def frame_sha256(gdf: pd.DataFrame) -> str:
    """A hash of a table's rows: its values, index and geometry (WKB), in order.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> a = gpd.GeoDataFrame({"pop": [1.0]}, geometry=[shapely.Point(0, 0)], crs=3857)
    >>> frame_sha256(a) == frame_sha256(a.copy()), frame_sha256(a) == frame_sha256(a.assign(pop=2.0))
    (True, False)
    """
    digest = hashlib.sha256()
    plain = pd.DataFrame(gdf.drop(columns=gdf.geometry.name) if isinstance(gdf, gpd.GeoDataFrame) else gdf)
    digest.update(json.dumps([str(c) for c in plain.columns]).encode())
    digest.update(pd.util.hash_pandas_object(plain.astype(str), index=True).to_numpy().tobytes())
    if isinstance(gdf, gpd.GeoDataFrame):
        for wkb in shapely.to_wkb(gdf.geometry.to_numpy()):
            digest.update(wkb)
    return digest.hexdigest()


def clip_network(network: StreetNetwork, area_lonlat: shapely.Geometry, *, unit: str) -> StreetNetwork:
    """The streets of ``area_lonlat``: corners inside it, their neighbours, and the streets between them.

    The rule of ``quarterhour run --clip`` (osmnx ``truncate_graph_polygon`` with
    ``truncate_by_edge=True``), on the prepared network's arrays, with no graph.

    Parameters
    ----------
    network
        The regional network.
    area_lonlat
        The area, in lon/lat.
    unit
        The unit's name, for the message.

    Returns
    -------
    StreetNetwork
        The clipped network, in the region's CRS; node ids kept.

    Raises
    ------
    InputError
        No street corner lies inside the area.
    """
    lonlat = _node_lonlat(network)
    shapely.prepare(area_lonlat)
    inside = shapely.intersects(area_lonlat, lonlat)
    u, v = network.edges["u"].to_numpy(), network.edges["v"].to_numpy()
    keep = inside.copy()
    keep[u[inside[v]]] = True
    keep[v[inside[u]]] = True
    kept_edges = keep[u] & keep[v]
    if not inside.any() or not kept_edges.any():
        raise InputError("batchunit_no_street_network_lies", file=unit)
    position = np.full(len(keep), -1, dtype=np.int64)
    position[keep] = np.arange(int(keep.sum()))
    xy = network.nodes[["x", "y"]].to_numpy()[keep]
    return network_from_arrays(
        xy,
        position[u[kept_edges]],
        position[v[kept_edges]],
        network.edges.geometry.to_numpy()[kept_edges],
        crs=network.crs,
        node_ids=network.nodes.index.to_numpy()[keep],
    )


#: The regional network this worker process read last, by its store folder: read once per worker, not per unit.
_SHARED: dict[tuple[str, str | None], StreetNetwork] = {}


def shared_network(entry: str, digest: str | None = None) -> StreetNetwork:
    """The regional network of a store entry, read once per worker process (``geo.store.load_entry``).

    Parameters
    ----------
    entry
        The store entry's folder, as the client prepared it.
    digest
        Its manifest's digest as the client verified it (a worker needs no store key); ``None``: this
        process's store key checks it.

    Returns
    -------
    StreetNetwork
        The network, kept for the next unit (only the last one is kept).

    Raises
    ------
    InputError
        The worker cannot read the folder (it is not on a disk the workers share).
    """
    if (entry, digest) not in _SHARED:
        if not Path(entry).is_dir():
            raise InputError(
                "batchunit_this_worker_socket_gethostname", file=entry, socket_gethostname=socket.gethostname()
            )
        from geo.store import load_entry  # geo.store reads networks; the worker needs it only here

        network = load_entry(entry, expect=digest).network
        _SHARED.clear()
        _SHARED[entry, digest] = network
    return _SHARED[entry, digest]


def _node_lonlat(network: StreetNetwork) -> np.ndarray:
    """The nodes in lon/lat (the clip's test, as ``truncate_graph_polygon`` makes it), worked out once."""
    if "lonlat" not in network.derived:
        network.derived["lonlat"] = network.nodes.geometry.to_crs(4326).to_numpy()
    return network.derived["lonlat"]


def _worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _circle(network: StreetNetwork, job: UnitJob, options: BatchOptions, provenance: Mapping[str, Any]) -> UnitOutcome:
    started = time.perf_counter()
    if job.demand.empty:
        raise InputError("batchunit_no_residents_live_this", file=f"{job.code} {job.name}")
    if job.facilities.empty:
        raise InputError("batchunit_no_facility_stands_this", file=f"{job.code} {job.name}")
    clipped = clip_network(network, job.area_lonlat, unit=f"{job.code} {job.name}")
    if job.walls is not None:  # issue 30: the gated compounds' walls, on the unit's streets
        from geo.compounds import wall_network

        compounds, gates, gate_m = job.walls
        clipped = wall_network(clipped, compounds, gates, gate_m=gate_m)
    result = run_circle(
        clipped,
        job.facilities,
        job.demand,
        options.options().replace(groups=find_groups(job.demand, options.groups)),  # issue 25: one options value
        boundaries={job.level: job.unit},
    )
    s = result.summary
    if s.n_facilities and not s.n_facilities_used:
        raise InputError("batchunit_none_unit_s_facilities", file=f"{job.code} {job.name}")
    unit_provenance = {**provenance, "unit": {"code": job.code, "name": job.name, "inputs": job.inputs}}
    data = gpkg_bytes(result.layers("facility"), provenance=unit_provenance, kinds={"isochrones": "facility"})
    summary = {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in asdict(s).items()}
    return UnitOutcome(job.code, None, summary, data, time.perf_counter() - started, _worker())


def run_unit(
    entry: str, job: UnitJob, options: BatchOptions, provenance: Mapping[str, Any], digest: str | None = None
) -> UnitOutcome:
    """Run one unit's circle (on a worker): its figures and its ``coverage.gpkg`` bytes, or its data's error.

    Parameters
    ----------
    entry
        The regional network's store folder (``shared_network``: read once per worker).
    job
        The unit's inputs (``UnitJob``).
    options
        The circle's options.
    provenance
        The batch's provenance record (``gis.export.provenance``); the unit's code and input hashes are added.
    digest
        The store entry's manifest digest as the client verified it (``shared_network``).

    Returns
    -------
    UnitOutcome
        ``error`` is the planner's message (``InputError``) when the unit's data cannot give a circle.
    """
    started = time.perf_counter()
    try:
        return _circle(shared_network(entry, digest), job, options, provenance)
    except InputError as exc:
        return UnitOutcome(job.code, str(exc), None, None, time.perf_counter() - started, _worker())
