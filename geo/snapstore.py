"""Snaps kept: a points layer placed on a stored network once, read back after (issue 32).

Snapping 50,000 residents finds each one's nearest segment (``geo.snapgrid``: about 0.05 s, with its
grid read from the entry; with GEOS's tree it was most of a second), the same answer each time the same
residents meet the same network.
``kept_snap`` keeps ``geo.snap_points``'s table in the network's store entry (its ``snaps`` folder),
named by what decides it:

- the network: the entry's manifest digest (``STORE_ENTRY``, set by ``geo.store`` when the entry was read
  or written with this computer's store key); a rewritten entry has another, and its folder (snaps
  and all) is replaced;
- the points: the SHA-256 of their geometries (WKB, in order), their count and their
  ``off_network`` flags;
- the options: ``max_snap_m`` and this module's ``SNAP_VERSION``.

A kept table is keyed (HMAC-SHA-256 with the store's key, as the manifests are): one written by
anyone without the key, damaged or of another length is not used, and the points are snapped again.
A network with gated compounds (``geo.compounds``), one not from the store, or one read by a worker
without the key, is snapped every time, as before. Writing is best effort (a read-only store keeps
nothing); at most ``KEEP`` tables are kept per entry, the least recently used dropped first.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.snap import DEFAULT_MAX_SNAP_M, snap_points

__all__ = ["KEEP", "SNAP_VERSION", "STORE_ENTRY", "Kept", "find_kept", "kept_snap", "look_up"]

log = logging.getLogger(__name__)

#: Raised whenever ``geo.snap_points`` would place the same points elsewhere: older tables are then not found.
SNAP_VERSION = 1
#: The most snap tables kept per store entry.
KEEP = 64
_FOLDER = "snaps"
#: ``StreetNetwork.derived`` key of a network read from (or written to) the store with this computer's key:
#: (the entry's folder, its ``manifest_digest``); set by ``geo.store``. Snaps on it may be kept.
STORE_ENTRY = "store_entry"
_MAC_BYTES = 32
_COLUMNS = ("edge", "pos_m", "offset_m", "component")
_DTYPES = (np.dtype("<i8"), np.dtype("<f8"), np.dtype("<f8"), np.dtype("<i8"))  # after the row count (<i8)


def kept_snap(points: gpd.GeoDataFrame, network: object, *, max_snap_m: float = DEFAULT_MAX_SNAP_M) -> pd.DataFrame:
    """``geo.snap_points(points, network, max_snap_m=...)``, from the network's store entry when kept there.

    Parameters
    ----------
    points
        Points in ``network.crs``.
    network
        The street network (``geo.store``'s, for the table to be kept); a ``geo.store.RoutingNetwork``
        (no lines) only if the table is kept already or its entry keeps its snapping grid (``geo.snapgrid``).
    max_snap_m
        As for ``geo.snap_points``.

    Returns
    -------
    pandas.DataFrame
        The very table ``geo.snap_points`` gives (the same columns, values and index).

    Examples
    --------
    >>> from geo.io import load_sample
    >>> net, fac, _ = load_sample()
    >>> kept_snap(fac, net).equals(snap_points(fac, net))  # a network not from the store: snapped now
    True
    """
    kept = look_up(points, network, max_snap_m=max_snap_m)
    if kept.snap is not None:
        return kept.snap
    snap = snap_points(points, network, max_snap_m=max_snap_m)  # its own checks and messages
    kept.keep(snap)
    return snap


@dataclass(frozen=True, eq=False)
class Kept:
    """A points layer's snap as kept on a stored network, looked up once (``look_up``).

    Attributes
    ----------
    snap
        The kept table (``geo.snap_points``'), or None if none is kept.
    where
        The table's file and the store's key, or None where nothing is kept (see the module).
    """

    snap: pd.DataFrame | None
    where: tuple[Path, bytes] | None = field(repr=False)

    def keep(self, snap: pd.DataFrame) -> None:
        """Keep ``snap`` (``geo.snap_points``' table of the points looked up) where it belongs. Never fails."""
        if self.where is not None:
            _keep(self.where[0].parent, self.where[0].name, self.where[1], snap)


def look_up(points: gpd.GeoDataFrame, network: object, *, max_snap_m: float = DEFAULT_MAX_SNAP_M) -> Kept:
    """The kept snap of these points on this stored network, and where to keep one (the points hashed once).

    Parameters
    ----------
    points, network, max_snap_m
        As for ``kept_snap``.

    Returns
    -------
    Kept
        ``snap`` None if not kept; ``keep`` keeps a table made now.
    """
    where = _where(points, network, max_snap_m)
    if where is None:
        return Kept(None, None)
    return Kept(_load(where[0], where[1], points, len(network.edges)), where)


def find_kept(
    points: gpd.GeoDataFrame, network: object, *, max_snap_m: float = DEFAULT_MAX_SNAP_M
) -> pd.DataFrame | None:
    """The kept ``geo.snap_points`` table of these points on this stored network, or None if none is kept.

    Parameters
    ----------
    points, network, max_snap_m
        As for ``kept_snap``.

    Returns
    -------
    pandas.DataFrame or None
        The table, as ``geo.snap_points`` gave it when it was kept.
    """
    return look_up(points, network, max_snap_m=max_snap_m).snap


def _where(points: gpd.GeoDataFrame, network: object, max_snap_m: float) -> tuple[Path, bytes] | None:
    """(the kept table's file, the store's key) for a network from the store; None where nothing is kept."""
    entry = network.derived.get(STORE_ENTRY)
    if entry is None or "compounds" in network.derived or points.crs is None or points.crs != network.crs:
        return None
    folder, digest = Path(entry[0]), entry[1]
    secret = _secret(folder)
    if not secret:
        return None
    return folder / _FOLDER / _name(points, digest, max_snap_m), secret


def _secret(folder: Path) -> bytes | None:
    from geo.errors import InputError
    from geo.store import store_secret

    try:
        return store_secret(folder.parent.parent)
    except InputError:  # no key to hand: nothing kept (the store's own reads say why)
        return None


def _name(points: gpd.GeoDataFrame, digest: str, max_snap_m: float) -> str:
    """The question's name: the network's manifest digest, the points' content, the options."""
    h = hashlib.sha256()
    question = {"snap": SNAP_VERSION, "network": digest, "max_snap_m": float(max_snap_m), "points": len(points)}
    h.update(json.dumps(question, sort_keys=True).encode())
    geoms = points.geometry.to_numpy()
    kinds = shapely.get_type_id(geoms)  # -1: missing
    if len(geoms) and (kinds == 0).all() and not shapely.has_z(geoms).any():  # 2D points: their coordinates say all
        h.update(b"points" + shapely.get_num_coordinates(geoms).astype(np.int64).tobytes())
        h.update(shapely.get_coordinates(geoms).tobytes())
    else:
        wkb = [b"" if w is None else w for w in shapely.to_wkb(geoms, hex=False)]
        h.update(b"wkb" + np.fromiter((len(w) for w in wkb), dtype=np.int64, count=len(wkb)).tobytes())
        h.update(b"".join(wkb))
    if "off_network" in points:
        h.update(b"off_network" + points["off_network"].fillna(False).to_numpy(dtype=bool).tobytes())
    return h.hexdigest()[:40]


def _mac(secret: bytes, name: str, payload: bytes | memoryview) -> bytes:
    mac = hmac.new(secret, name.encode() + b"\0", hashlib.sha256)
    mac.update(payload)
    return mac.digest()


def _load(file: Path, secret: bytes, points: gpd.GeoDataFrame, n_edges: int) -> pd.DataFrame | None:
    """The kept table, if there, keyed with ``secret`` and whole; None otherwise."""
    name = file.name
    try:
        data = bytearray(file.read_bytes())
    except OSError:
        return None
    payload = memoryview(data)[_MAC_BYTES:]
    if not hmac.compare_digest(bytes(data[:_MAC_BYTES]), _mac(secret, name, payload)):
        log.info("the kept snap %s is not keyed with this store's key: snapping again", file.name)
        return None
    n = len(points)
    if len(payload) != 8 * (1 + len(_COLUMNS) * n) or int(np.frombuffer(payload[:8], dtype="<i8")[0]) != n:
        return None
    edge, pos, offset, component = (
        np.frombuffer(payload[8 + 8 * n * i : 8 + 8 * n * (i + 1)], dtype=dtype).astype(dtype.newbyteorder("="))
        for i, dtype in enumerate(_DTYPES)
    )
    if (edge >= n_edges).any():
        return None
    with contextlib.suppress(OSError):
        os.utime(file)  # used: the last to go
    return pd.DataFrame(
        {"edge": edge, "pos_m": pos, "offset_m": offset, "on_network": edge >= 0, "component": component},
        index=points.index,
    )


def _keep(folder: Path, name: str, secret: bytes, snap: pd.DataFrame) -> None:
    """Write the table (atomically, keyed); drop the least recently used beyond ``KEEP``. Never fails."""
    parts = [np.asarray([len(snap)], dtype="<i8").tobytes()]
    parts += [snap[c].to_numpy().astype(dtype).tobytes() for c, dtype in zip(_COLUMNS, _DTYPES, strict=True)]
    payload = b"".join(parts)
    tmp = folder / f".{name}.{uuid.uuid4().hex}.tmp"
    try:
        folder.mkdir(exist_ok=True)
        tmp.write_bytes(_mac(secret, name, payload) + payload)
        os.replace(tmp, folder / name)
        kept = sorted(
            (p for p in folder.iterdir() if not p.name.startswith(".")), key=lambda p: p.stat().st_mtime, reverse=True
        )
        for old in kept[KEEP:]:
            old.unlink(missing_ok=True)
    except OSError as exc:  # a read-only store, or another process pruning: the points are snapped next time
        log.info("the snap %s is not kept (%s)", name, exc)
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
