"""The question alone, as a library call: a stored network -> every resident's time to the nearest facility.

Issue 32: ``question_times`` reads a store entry's routing arrays without its lines
(``geo.store.read_routing``), takes the facilities' and residents' snaps kept in the entry
(``geo.snapstore``) and runs one multi-source pass (``analysis.traveltime.nearest_times``). Points
asked about for the first time are placed on the entry's kept snapping grid (``geo.snapgrid``: no line
parsed, no tree built; an entry without one is read whole once, which keeps it) and their snaps kept
after the answer; every later time on the same inputs it reads the kept snaps. The seconds are those
of ``load_entry`` + ``snap_points`` + ``nearest_times``, to the bit (``tests/test_question.py``).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np

from analysis.traveltime import WALK_KMH, NearestTimes, nearest_times
from geo.snap import DEFAULT_MAX_SNAP_M, snap_points
from geo.snapgrid import grid_of, points_only
from geo.snapstore import look_up
from geo.store import RoutingNetwork, StoredNetwork, load_entry, read_routing

__all__ = ["question_times"]


def question_times(
    entry: str | Path | StoredNetwork,
    facilities: gpd.GeoDataFrame,
    residents: gpd.GeoDataFrame,
    *,
    speed_kmh: float = WALK_KMH,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    limit_s: float = np.inf,
    expect: str | None = None,
) -> NearestTimes:
    """Seconds from every resident to the nearest facility on a stored network, snaps kept for the next time.

    Parameters
    ----------
    entry
        A store entry's folder (``geo.store.list_networks``' ``path``, ``StoredNetwork.path``), or a
        ``StoredNetwork`` already read.
    facilities, residents
        Points in the network's CRS.
    speed_kmh
        Walking speed in km/h.
    max_snap_m
        As for ``geo.snap_points``.
    limit_s
        The longest walk in seconds looked at; beyond it times are inf.
    expect
        As for ``geo.store.load_entry`` (a batch worker without the store's key: nothing is kept).

    Returns
    -------
    NearestTimes
        ``point_s`` (seconds per resident, in ``residents``' order; inf off the network or beyond
        ``limit_s``) and ``point_source`` (the nearest facility's row position), per node as well.

    Raises
    ------
    InputError
        As ``geo.store.load_entry`` and ``geo.snap_points`` (points in another CRS).

    Examples
    --------
    >>> import tempfile
    >>> from geo.io import load_sample, sample_paths
    >>> from geo.store import store_network
    >>> _, fac, dem = load_sample()
    >>> stored = store_network(sample_paths()["network"], cache_dir=tempfile.mkdtemp())
    >>> t = question_times(stored.path, fac, dem)
    >>> bool((t.point_s / 60 < 15).mean() > 0.5)
    True
    """
    stored = entry if isinstance(entry, StoredNetwork) else read_routing(entry, expect=expect)
    network = stored.network
    layers = (facilities, residents)
    kept = [look_up(points, network, max_snap_m=max_snap_m) for points in layers]
    new = [points for points, k in zip(layers, kept, strict=True) if k.snap is None]
    if new and isinstance(network, RoutingNetwork):  # new points: placed on the entry's kept grid, else on the lines
        on_grid = all(points_only(p.geometry.to_numpy()) for p in new) and grid_of(network) is not None
        if not on_grid:
            network = load_entry(stored.path, expect=expect).network
    snaps = [
        snap_points(points, network, max_snap_m=max_snap_m) if k.snap is None else k.snap
        for points, k in zip(layers, kept, strict=True)
    ]
    times = nearest_times(network, snaps[0], snaps[1], speed_kmh=speed_kmh, limit_s=limit_s)
    for k, snap in zip(kept, snaps, strict=True):  # kept after the answer: the next question reads them
        if k.snap is None:
            k.keep(snap)
    return times
