"""The network store: a street network is prepared once, then read back in about a second.

The first read of a network (GraphML, ``.osm``, ``.osm.pbf`` or an OpenStreetMap
download) keeps its prepared form (``StreetNetwork``: nodes and segments,
projected) on disk as two GeoParquet files and a JSON manifest, in a folder
named by a key: the SHA-256 of the source file's bytes, the preparation
options (clip polygon, consolidation tolerance, CRS) and ``FORMAT_VERSION``.
A changed file, other options or a new format give another key, so a stale
entry is never found.

On load, the manifest's format version and key, and each file's size and
SHA-256, are checked: an entry that is truncated, tampered with or written by
another format is prepared again from its source and replaced, never used.
An entry is written into a temporary folder beside its place and renamed into
it, so two processes preparing the same network at once leave one whole entry.

The store lives in the user's cache folder (``platformdirs``); the
``QUARTERHOUR_CACHE`` environment variable or a ``cache_dir`` argument
(the commands' ``--cache-dir``) moves it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import platformdirs
import shapely
from pyproj import CRS

from geo.errors import InputError
from geo.graphml import prepare_graphml
from geo.io import read_network
from geo.network import StreetNetwork, prepare_network

__all__ = [
    "FORMAT_VERSION",
    "StoredNetwork",
    "cache_root",
    "entry_key",
    "file_sha256",
    "list_networks",
    "load_entry",
    "store_network",
]

log = logging.getLogger(__name__)

#: Raised whenever what an entry holds, or how, changes: older entries are then never read.
FORMAT_VERSION = 1
_FILES = ("nodes.parquet", "edges.parquet")
_MANIFEST = "manifest.json"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class StoredNetwork:
    """A prepared network and the store entry that holds it.

    Attributes
    ----------
    network
        The prepared network.
    path
        The entry's folder.
    manifest
        What the entry holds: source, counts, CRS, extent, files.
    built
        True if it was prepared now, False if read from the store.
    """

    network: StreetNetwork
    path: Path
    manifest: dict
    built: bool


def cache_root(cache_dir: str | Path | None = None) -> Path:
    """The folder of the quarterhour cache: ``cache_dir``, else ``$QUARTERHOUR_CACHE``, else the user's cache.

    Parameters
    ----------
    cache_dir
        A folder given by the planner (``--cache-dir``); ``None`` for the default.

    Returns
    -------
    Path
        The cache folder (prepared networks are in its ``prepared`` folder).

    Examples
    --------
    >>> cache_root("/tmp/qh").as_posix()
    '/tmp/qh'
    """
    if cache_dir is not None:
        return Path(cache_dir)
    if os.environ.get("QUARTERHOUR_CACHE"):
        return Path(os.environ["QUARTERHOUR_CACHE"])
    return Path(platformdirs.user_cache_dir("quarterhour", appauthor=False))


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, read in 1 MiB chunks (a city's GraphML never sits whole in memory).

    Parameters
    ----------
    path
        The file.

    Returns
    -------
    str
        The hex digest.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def entry_key(
    source_sha256: str,
    *,
    clip_to: shapely.Geometry | None = None,
    consolidate_m: float | None = None,
    crs: object | None = None,
) -> str:
    """The store key of a source and its preparation options (with ``FORMAT_VERSION``).

    Parameters
    ----------
    source_sha256
        The SHA-256 of the source file.
    clip_to, consolidate_m, crs
        As for ``geo.network.prepare_network``.

    Returns
    -------
    str
        24 hex digits.
    """
    options = {
        "format": FORMAT_VERSION,
        "source": source_sha256,
        "clip": hashlib.sha256(shapely.to_wkb(clip_to, hex=False)).hexdigest() if clip_to is not None else None,
        "consolidate_m": float(consolidate_m) if consolidate_m else None,
        "crs": CRS.from_user_input(crs).to_wkt() if crs is not None else None,
    }
    return hashlib.sha256(json.dumps(options, sort_keys=True).encode()).hexdigest()[:24]


def _prepared_dir(cache_dir: str | Path | None) -> Path:
    return cache_root(cache_dir) / "prepared"


def store_network(
    path: str | Path,
    *,
    clip_to: shapely.Geometry | None = None,
    consolidate_m: float | None = None,
    crs: object | None = None,
    cache_dir: str | Path | None = None,
    name: str | None = None,
) -> StoredNetwork:
    """The prepared network of a network file: from the store, or prepared now and kept there.

    Parameters
    ----------
    path
        A ``.graphml``, ``.osm`` or ``.osm.pbf`` file (``geo.io.read_network``).
    clip_to, consolidate_m, crs
        As for ``geo.network.prepare_network``.
    cache_dir
        The cache folder; ``None`` for ``cache_root()``'s.
    name
        What the planner calls the network (a file or place name); ``None``: the file's name.

    Returns
    -------
    StoredNetwork
        The network, its entry's folder and manifest, and whether it was prepared now.

    Raises
    ------
    InputError
        The file is missing or cannot be read as a network.
    """
    path = Path(path)
    if not path.is_file():
        read_network(path)  # its own message: missing, or a folder
    source_sha = file_sha256(path)
    key = entry_key(source_sha, clip_to=clip_to, consolidate_m=consolidate_m, crs=crs)
    target = _prepared_dir(cache_dir) / key
    name = name or path.name
    if target.exists():
        try:
            network, manifest = _read(target, key=key)
            return StoredNetwork(network, target, manifest, built=False)
        except _Damaged as exc:
            log.warning("the stored network %s (%s) is unusable: %s; preparing it again", name, target, exc)
    network = _prepare(path, name=name, clip_to=clip_to, consolidate_m=consolidate_m, crs=crs)
    source = {"name": name, "path": str(path.resolve()), "sha256": source_sha, "bytes": path.stat().st_size}
    options = {"clip": clip_to is not None, "consolidate_m": consolidate_m, "crs": None if crs is None else str(crs)}
    manifest = _write(network, target, key=key, source=source, options=options)
    return StoredNetwork(network, target, manifest, built=True)


def _prepare(
    path: Path, *, name: str, clip_to: shapely.Geometry | None, consolidate_m: float | None, crs: object | None
) -> StreetNetwork:
    """Prepare a network file: a GraphML straight into arrays (no networkx graph) unless clipped or consolidated."""
    if path.suffix.lower() == ".graphml" and clip_to is None and not consolidate_m:
        return prepare_graphml(path, crs=crs, source=name)
    return prepare_network(read_network(path), source=name, clip_to=clip_to, consolidate_m=consolidate_m, crs=crs)


def load_entry(path: str | Path) -> StoredNetwork:
    """A store entry read back by its folder (as ``list_networks`` gives it); a damaged one is prepared again.

    Parameters
    ----------
    path
        The entry's folder.

    Returns
    -------
    StoredNetwork
        The network and its manifest.

    Raises
    ------
    InputError
        The entry is damaged and its source file is gone or changed, so it cannot be prepared again.
    """
    path = Path(path)
    try:
        network, manifest = _read(path, key=path.name)
        return StoredNetwork(network, path, manifest, built=False)
    except _Damaged as exc:
        problem = str(exc)
    manifest = _manifest(path) or {}
    source = manifest.get("source", {})
    src = Path(source.get("path", ""))
    options = manifest.get("options", {})
    if source.get("sha256") and src.is_file() and not options.get("clip") and file_sha256(src) == source["sha256"]:
        log.warning("the stored network %s is unusable: %s; preparing it again", path, problem)
        stored = store_network(
            src, consolidate_m=options.get("consolidate_m"), crs=options.get("crs"), cache_dir=path.parent.parent
        )
        if stored.path == path:
            return stored
    raise InputError(
        f"the stored network is damaged ({problem}) and its source file is not at hand to prepare it again",
        file=str(path),
        fix="prepare it again from its file: quarterhour network FILE",
    )


def list_networks(cache_dir: str | Path | None = None) -> list[dict]:
    """The prepared networks in the store, newest first: each one's manifest, with ``path`` (its folder).

    Entries are not verified here (that is done when one is loaded); folders
    without a readable manifest of this format are left out.

    Parameters
    ----------
    cache_dir
        The cache folder; ``None`` for ``cache_root()``'s.

    Returns
    -------
    list of dict
        Manifests: ``source`` (``name``), ``nodes``, ``segments``, ``fragments``, ``extent_lonlat``, ``bytes``.
    """
    folder = _prepared_dir(cache_dir)
    if not folder.is_dir():
        return []
    found = []
    for entry in folder.iterdir():
        manifest = _manifest(entry)
        if manifest and manifest.get("format") == FORMAT_VERSION and not entry.name.startswith("."):
            found.append({**manifest, "path": str(entry)})
    return sorted(found, key=lambda m: m.get("created", 0), reverse=True)


class _Damaged(Exception):
    """A store entry that must not be used (stale, truncated, tampered or unreadable)."""


def _manifest(entry: Path) -> dict | None:
    try:
        return json.loads((entry / _MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _read(entry: Path, *, key: str) -> tuple[StreetNetwork, dict]:
    """Check an entry's manifest, sizes and hashes, then read it; ``_Damaged`` if anything is off."""
    manifest = _manifest(entry)
    if manifest is None:
        raise _Damaged("no readable manifest")
    if manifest.get("format") != FORMAT_VERSION or manifest.get("key") != key:
        raise _Damaged(f"written by store format {manifest.get('format')}, this is {FORMAT_VERSION}")
    files = manifest.get("files", {})
    for name in _FILES:
        file = entry / name
        want = files.get(name, {})
        if not file.is_file() or file.stat().st_size != want.get("bytes"):
            raise _Damaged(f"{name} is missing or truncated")
        if file_sha256(file) != want.get("sha256"):
            raise _Damaged(f"{name} does not match its SHA-256")
    try:
        nodes = gpd.read_parquet(entry / "nodes.parquet")
        edges = gpd.read_parquet(entry / "edges.parquet")
    except (OSError, ValueError) as exc:
        raise _Damaged(f"cannot be read ({exc})") from exc
    if len(nodes) != manifest.get("nodes") or len(edges) != manifest.get("segments") or nodes.crs is None:
        raise _Damaged("counts differ from the manifest")
    return StreetNetwork(graph=None, nodes=nodes, edges=edges, crs=CRS.from_user_input(nodes.crs)), manifest


def _summary(network: StreetNetwork) -> dict:
    """Counts and lon/lat extent of a network, for the manifest."""
    component = network.nodes["component"].to_numpy()
    west, south, east, north = network.nodes.geometry.to_crs(4326).total_bounds
    return {
        "nodes": len(network.nodes),
        "segments": len(network.edges),
        "fragments": int(component.max()) if len(component) else 0,
        "fragment_nodes": int((component > 0).sum()),
        "length_km": float(np.sum(network.edges["length_m"].to_numpy()) / 1000),
        "crs": network.crs.to_string(),
        "extent_lonlat": [round(float(v), 6) for v in (west, south, east, north)],
    }


def _write(network: StreetNetwork, target: Path, *, key: str, source: dict, options: dict) -> dict:
    """Write an entry beside ``target`` and rename it into place; if another process was first, keep theirs."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{key}.{uuid.uuid4().hex}.tmp"
    tmp.mkdir()
    try:
        network.nodes.to_parquet(tmp / "nodes.parquet")
        network.edges.to_parquet(tmp / "edges.parquet")
        files = {n: {"sha256": file_sha256(tmp / n), "bytes": (tmp / n).stat().st_size} for n in _FILES}
        manifest = {
            "format": FORMAT_VERSION,
            "key": key,
            "source": source,
            "options": options,
            **_summary(network),
            "files": files,
            "bytes": sum(f["bytes"] for f in files.values()),
            "created": time.time(),
        }
        (tmp / _MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
        if target.exists():  # a damaged entry: move it aside first (another process may do so too)
            aside = target.parent / f".{key}.{uuid.uuid4().hex}.old"
            try:
                target.rename(aside)
                shutil.rmtree(aside, ignore_errors=True)
            except OSError:
                pass
        try:
            tmp.rename(target)
        except OSError:  # another process put a whole entry there meanwhile: keep theirs
            log.info("the network %s was stored by another process meanwhile", key)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return manifest
