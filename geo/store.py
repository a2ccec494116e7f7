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

The manifest is keyed (HMAC-SHA-256) with a secret kept outside the cache
folder (``store_secret``: ``$QUARTERHOUR_STORE_KEY``, else a file made once,
readable by its owner only, in the user's config folder): someone who can
write into a shared cache folder but does not hold the secret cannot make an
entry that is used, even if they update the manifest's hashes. And the
prepared arrays are checked against what preparing promises (``_check_arrays``:
each segment's length is its line's length, each line runs between its two
nodes), so shortened lengths are refused whoever wrote them. A batch's
workers, which may hold no secret, take the digest of the manifest the client
verified (``load_entry(..., expect=)``).
An entry is written into a temporary folder beside its place and renamed into
it, so two processes preparing the same network at once leave one whole entry.

Issue 32: an entry also answers the walking-time question without its lines. Once its arrays
have passed ``_check_arrays`` (on a whole read), the segments' ends and lengths and the street
links in metres (``geo.links``) are kept beside them, keyed like the manifest (``routing.bin``:
HMAC-SHA-256 with the store key over the arrays and the manifest's digest they belong to).
``read_routing`` then checks the manifest as before and that file's key and digest, and reads the
arrays straight from it (``RoutingNetwork``: no parquet decoded, no line parsed); the nodes' file
is checked and read only if the nodes are asked for. Without that file, or with any doubt, the
entry is read whole. The entry's listed files and ``FORMAT_VERSION`` are unchanged, so entries
written before read as before (and gain the file on their first whole read; a network prepared now
keeps it at once); the routing file,
the snapping grid (``geo.snapgrid``: ``snapgrid.bin``, kept when points are first snapped on a whole
read, keyed the same way) and the kept snaps (``geo.snapstore``, in the entry's ``snaps`` folder) are
extra files the manifest does not list, gone when the entry is replaced.

The store lives in the user's cache folder (``platformdirs``); the
``QUARTERHOUR_CACHE`` environment variable or a ``cache_dir`` argument
(the commands' ``--cache-dir``) moves it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import platformdirs
import shapely
from pyproj import CRS

from geo.errors import InputError, plain_text
from geo.faces import CORE_M, CORE_QUAD_SEGS, FACE_FILES, NetworkFaces, network_faces, read_faces, write_faces
from geo.filehash import file_sha256
from geo.graphml import prepare_graphml
from geo.io import read_network
from geo.keyedfile import NotKept, peek_header, read_keyed, write_keyed
from geo.network import StreetNetwork, prepare_network
from geo.notes import note
from geo.roads import RoadOptions, RoadReport, is_road_layer, prepare_roads
from geo.snapgrid import SNAP_GRID_READER, GridReader
from geo.snapstore import STORE_ENTRY

__all__ = [
    "FORMAT_VERSION",
    "STORE_ENTRY",
    "RoutingNetwork",
    "StoredNetwork",
    "cache_root",
    "entry_key",
    "file_sha256",
    "list_networks",
    "load_entry",
    "manifest_digest",
    "read_routing",
    "store_network",
    "store_secret",
]

log = logging.getLogger(__name__)

#: Raised whenever what an entry holds, or how, changes: older entries are then never read.
FORMAT_VERSION = 1
_FILES = ("nodes.parquet", "edges.parquet")
_MANIFEST = "manifest.json"
_ISSUES = "issues.parquet"  # issue 30: a road layer's network_issues
_SECRET_ENV = "QUARTERHOUR_STORE_KEY"
_SECRET_FILE = "store.key"
_ROUTING = "routing.bin"  # issue 32: the keyed routing arrays of an entry whose arrays passed ``_check_arrays``
_ROUTING_VERSION = 1


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


@dataclass(frozen=True, eq=False)
class RoutingNetwork:
    """A store entry's segments without their lines, and its nodes on first use: what walking times need (issue 32).

    ``analysis.traveltime``'s functions that take snap tables (``nearest_times``, ``reach_table``,
    ``od_table``) run on it as on the ``StreetNetwork``; snapping and drawing need the lines: read
    the entry whole (``load_entry``) for those.

    Attributes
    ----------
    edges
        One row per segment: ``u``, ``v`` (node positions), ``length_m``.
    crs
        The network's CRS.
    n_nodes
        The number of nodes (the keyed manifest's).
    derived
        As ``StreetNetwork.derived``.
    nodes
        One row per node, in position order: ``x``, ``y``, ``component``; read (and its file's size and
        SHA-256 checked) when first asked for: the nearest-facility pass needs none.
    """

    edges: pd.DataFrame
    crs: CRS
    n_nodes: int
    derived: dict = field(default_factory=dict, repr=False)
    graph: None = None
    source: tuple[Path, dict] | None = field(default=None, repr=False)  #: (the entry, its manifest)

    @property
    def nodes(self) -> pd.DataFrame:
        """The nodes' ``x``, ``y``, ``component``, read from the entry once."""
        if "routing_nodes" not in self.derived:
            entry, manifest = self.source
            try:
                self.derived["routing_nodes"] = _read_routing_nodes(entry, manifest)
            except _Damaged as exc:
                raise InputError(
                    "store_stored_network_damaged_problem", file=str(entry), problem_value=str(exc)
                ) from exc
        return self.derived["routing_nodes"]


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


def entry_key(
    source_sha256: str,
    *,
    clip_to: shapely.Geometry | None = None,
    consolidate_m: float | None = None,
    crs: object | None = None,
    roads: RoadOptions | None = None,
) -> str:
    """The store key of a source and its preparation options (with ``FORMAT_VERSION``).

    Parameters
    ----------
    source_sha256
        The SHA-256 of the source file.
    clip_to, consolidate_m, crs
        As for ``geo.network.prepare_network``.
    roads
        How a road layer is read (issue 30); ``None`` for a GraphML / OSM network (its key unchanged).

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
    if roads is not None:  # issue 30: a road layer's reading is part of what it is
        options["roads"] = roads.record()
    return hashlib.sha256(json.dumps(options, sort_keys=True).encode()).hexdigest()[:24]


def _prepared_dir(cache_dir: str | Path | None) -> Path:
    return cache_root(cache_dir) / "prepared"


def _writable_prepared_dir(cache_dir: str | Path | None) -> Path:
    """The store's folder, made if need be; ``InputError`` if the cache folder is a file or cannot be written."""
    folder = _prepared_dir(cache_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".probe.{uuid.uuid4().hex}"
        probe.mkdir()
        probe.rmdir()
    except OSError as exc:
        raise InputError(
            "store_cache_folder_name_not",
            name=cache_root(cache_dir).name,
            exc_strerror_or=exc.strerror or type(exc).__name__,
        ) from exc
    return folder


def store_secret(cache_dir: str | Path | None = None) -> bytes:
    """The secret that keys the store's manifests: ``$QUARTERHOUR_STORE_KEY``, else the user's ``store.key``.

    The file is in the user's config folder (``platformdirs``), never in the cache folder; it is made
    once with 64 random hex digits, readable and writable by its owner only (0600).

    Parameters
    ----------
    cache_dir
        The cache folder in use; the secret must not be inside it.

    Returns
    -------
    bytes
        The secret.

    Raises
    ------
    InputError
        The secret cannot be read or made, is inside the cache folder, or others may read it.
    """
    given = os.environ.get(_SECRET_ENV)
    if given:
        return given.encode("utf-8", "surrogateescape")
    path = Path(platformdirs.user_config_dir("quarterhour", appauthor=False)) / _SECRET_FILE
    fix = note("secret_fix", env=_SECRET_ENV)  # said in the planner's language
    if path.resolve().is_relative_to(cache_root(cache_dir).resolve()):
        raise InputError("store_network_store_s_key", fix_value=fix)
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = path.with_name(f".{_SECRET_FILE}.{uuid.uuid4().hex}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(secrets.token_hex(32))
            try:
                os.link(tmp, path)  # atomic, and never over a key another process made meanwhile
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        if os.name == "posix" and path.stat().st_mode & 0o077:
            raise InputError("store_network_store_s_key_3", file=_SECRET_FILE)
        secret = path.read_bytes().strip()
    except OSError as exc:
        raise InputError("store_key_unreadable", why=exc.strerror, fix_value=fix) from exc
    if not secret:
        raise InputError("store_network_store_s_key_2", file=_SECRET_FILE, fix_value=fix)
    return secret


def _canonical(manifest: dict) -> bytes:
    return json.dumps(manifest, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _mac(manifest: dict, secret: bytes) -> str:
    """The HMAC-SHA-256 of a manifest without its ``mac``."""
    body = {k: v for k, v in manifest.items() if k != "mac"}
    return hmac.new(secret, _canonical(body), hashlib.sha256).hexdigest()


def manifest_digest(manifest: dict) -> str:
    """The SHA-256 of a manifest as written (with its ``mac``): what a batch's client hands its workers.

    Parameters
    ----------
    manifest
        A manifest as ``store_network`` gives it back.

    Returns
    -------
    str
        The hex digest.
    """
    return hashlib.sha256(_canonical(manifest)).hexdigest()


def store_network(
    path: str | Path,
    *,
    clip_to: shapely.Geometry | None = None,
    consolidate_m: float | None = None,
    crs: object | None = None,
    cache_dir: str | Path | None = None,
    name: str | None = None,
    roads: RoadOptions | None = None,
) -> StoredNetwork:
    """The prepared network of a network file: from the store, or prepared now and kept there.

    Parameters
    ----------
    path
        A ``.graphml``, ``.osm`` or ``.osm.pbf`` file (``geo.io.read_network``), or a road layer
        (``.shp``, ``.zip``, ``.gpkg``, ``.geojson``: ``geo.roads.prepare_roads``).
    clip_to, consolidate_m, crs
        As for ``geo.network.prepare_network``.
    roads
        How a road layer is read; ``None``: the defaults (``geo.roads.RoadOptions``). Not used for other files.
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
    roads = (roads or RoadOptions()) if is_road_layer(path) else None
    if roads is not None and consolidate_m:
        raise InputError("store_consolidate_road_layer", file=path.name)
    key = entry_key(source_sha, clip_to=clip_to, consolidate_m=consolidate_m, crs=crs, roads=roads)
    target = _writable_prepared_dir(cache_dir) / key
    secret = store_secret(cache_dir)
    name = name or path.name
    if target.exists():
        try:
            network, manifest = _read(target, key=key, secret=secret)
            return StoredNetwork(network, target, manifest, built=False)
        except _Damaged as exc:
            log.warning("the stored network %s (%s) is unusable: %s; preparing it again", name, target, exc)
    network = _prepare(path, name=name, clip_to=clip_to, consolidate_m=consolidate_m, crs=crs, roads=roads)
    source = {"name": name, "path": str(path.resolve()), "sha256": source_sha, "bytes": path.stat().st_size}
    options = {"clip": clip_to is not None, "consolidate_m": consolidate_m, "crs": None if crs is None else str(crs)}
    if roads is not None:
        options["roads"] = roads.record()
    manifest = _write(network, target, key=key, source=source, options=options, secret=secret)
    network.derived[STORE_ENTRY] = (target, manifest_digest(manifest))  # issue 32: its snaps may be kept
    # question-cold: prepared here, so checked: its routing arrays kept now, its snapping grid when it first snaps
    _remember_routing(target, manifest, secret, network)
    network.derived[SNAP_GRID_READER] = GridReader(target, manifest_digest(manifest), len(network.edges))
    return StoredNetwork(network, target, manifest, built=True)


def _prepare(
    path: Path,
    *,
    name: str,
    clip_to: shapely.Geometry | None,
    consolidate_m: float | None,
    crs: object | None,
    roads: RoadOptions | None = None,
) -> StreetNetwork:
    """Prepare a network file: a GraphML straight into arrays (no networkx graph) unless clipped or consolidated.

    A road layer (``roads`` given) is noded by ``geo.roads.prepare_roads``.
    """
    if roads is not None:
        return prepare_roads(
            path,
            crs=crs,
            network_crs=roads.network_crs,
            join_m=roads.join_m,
            walkable=dict(roads.walkable),
            source=name,
            clip_to=clip_to,
        )
    if path.suffix.lower() == ".graphml" and clip_to is None and not consolidate_m:
        return prepare_graphml(path, crs=crs, source=name)
    return prepare_network(read_network(path), source=name, clip_to=clip_to, consolidate_m=consolidate_m, crs=crs)


def load_entry(path: str | Path, *, expect: str | None = None) -> StoredNetwork:
    """A store entry read back by its folder (as ``list_networks`` gives it); a damaged one is prepared again.

    Parameters
    ----------
    path
        The entry's folder.
    expect
        The ``manifest_digest`` of the entry as a process holding the secret verified it (a batch's
        client); ``None``: the manifest's key is checked with this process's ``store_secret``.

    Returns
    -------
    StoredNetwork
        The network and its manifest.

    Raises
    ------
    InputError
        The entry is damaged and its source file is gone or changed, so it cannot be prepared again;
        or its manifest is not the one promised (not keyed with this computer's secret, or not ``expect``).
    """
    path = Path(path)
    secret = None if expect is not None else store_secret(path.parent.parent)
    try:
        network, manifest = _read(path, key=path.name, secret=secret, expect=expect)
        return StoredNetwork(network, path, manifest, built=False)
    except _Untrusted as exc:  # its manifest, source path included, is not ours: follow nothing in it
        raise InputError("store_stored_network_name_refused", name=path.name, exc=exc) from exc
    except _Damaged as exc:
        problem = str(exc)
    manifest = _manifest(path) or {}
    source = manifest.get("source", {})
    src = Path(source.get("path", ""))
    options = manifest.get("options", {})
    if source.get("sha256") and src.is_file() and not options.get("clip") and file_sha256(src) == source["sha256"]:
        log.warning("the stored network %s is unusable: %s; preparing it again", path, problem)
        roads = RoadOptions.from_record(options["roads"]) if options.get("roads") is not None else None
        stored = store_network(
            src,
            consolidate_m=options.get("consolidate_m"),
            crs=options.get("crs"),
            cache_dir=path.parent.parent,
            roads=roads,
        )
        if stored.path == path:
            return stored
    raise InputError("store_stored_network_damaged_problem", file=str(path), problem_value=problem)


def read_routing(path: str | Path, *, expect: str | None = None) -> StoredNetwork:
    """A store entry's routing arrays (``RoutingNetwork``), its lines left unread, once they are known checked.

    The manifest (its key), format and key are checked as ``load_entry`` checks them; the arrays come
    from the entry's ``routing.bin``, which a whole read wrote once the entry's arrays had passed
    ``_check_arrays`` (each length is its line's, each line runs between its nodes), keyed with the
    store's key for this very manifest; the segments' ends must be nodes that are there. Without that
    file (an entry not yet read whole since issue 32, or a batch worker's ``expect``: no key), or if
    anything is off, the entry is read whole (``load_entry``), which checks it all, writes the file
    and says what is wrong.

    Parameters
    ----------
    path
        The entry's folder.
    expect
        As for ``load_entry``.

    Returns
    -------
    StoredNetwork
        ``network`` a ``RoutingNetwork`` (or the whole ``StreetNetwork`` when read whole) and the manifest.

    Raises
    ------
    InputError
        As ``load_entry``.
    """
    path = Path(path)
    secret = None if expect is not None else store_secret(path.parent.parent)
    try:
        manifest = _trusted_manifest(path, key=path.name, secret=secret, expect=expect)
        routing = _read_routing(path, manifest, secret) if secret is not None else None
        if routing is not None:
            return StoredNetwork(routing, path, manifest, built=False)
    except _Damaged as exc:
        log.info("the stored network %s is read whole: %s", path, exc)
    return load_entry(path, expect=expect)


def _read_routing(entry: Path, manifest: dict, secret: bytes) -> RoutingNetwork | None:
    """The entry's keyed routing arrays (``routing.bin``) for this very manifest; None if not there or not whole.

    A file that is there but not keyed with ``secret``, or not this manifest's, is removed (the next whole
    read writes it again). The nodes are read when asked for (``RoutingNetwork.nodes``).
    """
    file = entry / _ROUTING
    try:
        data = np.fromfile(file, dtype=np.uint8)  # question-cold: one copy of the file (not bytes, then a bytearray)
    except (OSError, ValueError):
        return None
    try:
        arrays, header = _routing_arrays(data, secret)
        digest = manifest_digest(manifest)
        if header.get("digest") != digest or header.get("nodes") != manifest.get("nodes"):
            raise _Damaged("its routing arrays are another manifest's")
        if len(arrays["u"]) != manifest.get("segments"):
            raise _Damaged("counts differ from the manifest")
        _check_ends(arrays["u"], arrays["v"], int(header["nodes"]))
        crs = CRS.from_user_input(header["crs"])
    except (_Damaged, ValueError, KeyError, TypeError, OSError) as exc:
        log.info("the stored network %s: its routing arrays are not used (%s)", entry, exc)
        file.unlink(missing_ok=True)
        return None
    u, v, length = arrays["u"], arrays["v"], arrays["length_m"]
    routing = RoutingNetwork(
        edges=pd.DataFrame({"u": u, "v": v, "length_m": length}),
        crs=crs,
        n_nodes=int(header["nodes"]),
        source=(entry, manifest),
    )
    routing.derived[STORE_ENTRY] = (entry, digest)
    routing.derived["segment_arrays"] = (u, v, length)  # as ``analysis.traveltime`` keeps them
    routing.derived["street_links_m"] = (arrays["indptr"], arrays["indices"], arrays["link_m"])
    routing.derived[SNAP_GRID_READER] = GridReader(entry, digest, len(u))  # issue 32: snaps without the lines
    return routing


_ROUTING_LABEL = b"routing\0"  #: what the routing file's key covers first (``geo.keyedfile``)
#: The routing file's arrays, in order, and how each is written.
_ROUTING_ARRAYS = (
    ("u", "<i8"),
    ("v", "<i8"),
    ("length_m", "<f8"),
    ("indptr", "<i8"),
    ("indices", "<i4"),
    ("link_m", "<f8"),
)


def _routing_arrays(data: bytearray | np.ndarray, secret: bytes) -> tuple[dict[str, np.ndarray], dict]:
    """The arrays and header of a routing file's bytes, once its key is checked; ``_Damaged`` if anything is off."""
    try:
        arrays, header = read_keyed(data, _ROUTING_LABEL, secret)
    except NotKept as exc:
        raise _Damaged(f"its routing arrays are {exc}") from None
    if header.get("version") != _ROUTING_VERSION or [a[:2] for a in header["arrays"]] != [
        list(a) for a in _ROUTING_ARRAYS
    ]:
        raise _Damaged("its routing arrays are of another version")
    return arrays, header


def _remember_routing(entry: Path, manifest: dict, secret: bytes, network: StreetNetwork) -> None:
    """Keep the keyed routing arrays of an entry whose arrays just passed ``_check_arrays``. Never fails.

    Written once per manifest (a file of this manifest's, by its header, is left as it is); the links in
    metres are kept in ``network.derived`` too (``analysis.traveltime`` uses them).
    """
    digest = manifest_digest(manifest)
    file = entry / _ROUTING
    if peek_header(file).get("digest") == digest:
        return
    from geo.links import street_links_m

    e = network.edges
    u, v, length = e["u"].to_numpy(), e["v"].to_numpy(), e["length_m"].to_numpy(dtype=float)
    links = network.derived.get("street_links_m")
    if links is None:
        links = network.derived["street_links_m"] = street_links_m(u, v, length, network.n_nodes)
    if len(links[1]) >= 1 << 31:  # beyond the file's int32 link ends: such an entry is read whole
        return
    values = dict(zip(("u", "v", "length_m", "indptr", "indices", "link_m"), (u, v, length, *links), strict=True))
    arrays = [(name, np.asarray(values[name], dtype=dtype)) for name, dtype in _ROUTING_ARRAYS]
    header = {"version": _ROUTING_VERSION, "digest": digest, "nodes": network.n_nodes, "crs": _crs_text(network.crs)}
    try:
        write_keyed(file, _ROUTING_LABEL, secret, header, arrays)
    except OSError as exc:  # a read-only store: the question reads the entry whole
        log.info("the stored network %s: its routing arrays are not kept (%s)", entry, exc)


def _read_routing_nodes(entry: Path, manifest: dict) -> pd.DataFrame:
    """The nodes' ``x``, ``y``, ``component``, their file checked against the manifest first."""
    import pyarrow.parquet as pq

    _check_files(entry, manifest, ("nodes.parquet",))
    try:
        table = pq.read_table(entry / "nodes.parquet", columns=["x", "y", "component"], use_threads=False)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise _Damaged(f"cannot be read ({plain_text(exc)})") from exc
    if table.num_rows != manifest.get("nodes"):
        raise _Damaged("counts differ from the manifest")
    return pd.DataFrame({c: table.column(c).to_numpy() for c in table.column_names})


def _crs_text(crs: CRS) -> str:
    """The CRS as its EPSG code where that is the very CRS (quick to parse), else as WKT."""
    code = crs.to_epsg()
    if code is not None and CRS.from_epsg(code) == crs:
        return f"EPSG:{code}"
    return crs.to_wkt()


def list_networks(cache_dir: str | Path | None = None) -> list[dict]:
    """The prepared networks in the store, newest first: each one's manifest, with ``path`` (its folder).

    Entries' files are not verified here (that is done when one is loaded); folders
    without a readable manifest of this format, keyed with this computer's secret
    (``store_secret``), are left out.

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
    secret = store_secret(cache_dir)
    found = []
    for entry in folder.iterdir():
        manifest = _manifest(entry)
        if (
            isinstance(manifest, dict)
            and manifest.get("format") == FORMAT_VERSION
            and not entry.name.startswith(".")
            and hmac.compare_digest(str(manifest.get("mac", "")), _mac(manifest, secret))
        ):
            found.append({**manifest, "path": str(entry)})
    return sorted(found, key=lambda m: m.get("created", 0), reverse=True)


class _Damaged(Exception):
    """A store entry that must not be used (stale, truncated, tampered or unreadable)."""


class _Untrusted(_Damaged):
    """A store entry whose manifest is not keyed with this secret, or not the one the caller was promised."""


def _manifest(entry: Path) -> dict | None:
    try:
        return json.loads((entry / _MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _trusted_manifest(entry: Path, *, key: str, secret: bytes | None, expect: str | None) -> dict:
    """The entry's manifest, keyed with ``secret`` (or the one ``expect`` names), of this format and key."""
    manifest = _manifest(entry)
    if not isinstance(manifest, dict):
        raise _Damaged("no readable manifest")
    if expect is not None:
        if not hmac.compare_digest(manifest_digest(manifest), expect):
            raise _Untrusted("its manifest is not the one the batch's client checked (changed meanwhile)")
    elif secret is None or not hmac.compare_digest(str(manifest.get("mac", "")), _mac(manifest, secret)):
        raise _Untrusted("its manifest is not keyed with this computer's store key (written elsewhere or changed)")
    if manifest.get("format") != FORMAT_VERSION or manifest.get("key") != key:
        raise _Damaged(f"written by store format {manifest.get('format')}, this is {FORMAT_VERSION}")
    return manifest


def _check_files(entry: Path, manifest: dict, names: tuple[str, ...] | None = None) -> bool:
    """Every file of the entry (or ``names``) has its manifest's size and SHA-256; True for a road layer's entry."""
    files = manifest.get("files", {})
    road_layer = "topology" in manifest  # issue 30: a road layer's entry keeps its topology report too
    for name in names or ((*_FILES, _ISSUES) if road_layer else _FILES):
        file = entry / name
        want = files.get(name, {})
        if not file.is_file() or file.stat().st_size != want.get("bytes"):
            raise _Damaged(f"{name} is missing or truncated")
        if file_sha256(file) != want.get("sha256"):
            raise _Damaged(f"{name} does not match its SHA-256")
    return road_layer


def _read(entry: Path, *, key: str, secret: bytes | None, expect: str | None = None) -> tuple[StreetNetwork, dict]:
    """Check an entry's manifest (its key, or ``expect``), sizes and hashes, then read and check its arrays.

    ``_Untrusted`` if the manifest is not the one promised, ``_Damaged`` if anything else is off.
    """
    manifest = _trusted_manifest(entry, key=key, secret=secret, expect=expect)
    road_layer = _check_files(entry, manifest)
    try:
        edges = gpd.read_parquet(entry / "edges.parquet")
        nodes = _read_nodes(entry / "nodes.parquet", edges.crs)
    except (OSError, ValueError, KeyError) as exc:
        raise _Damaged(f"cannot be read ({plain_text(exc)})") from exc
    if len(nodes) != manifest.get("nodes") or len(edges) != manifest.get("segments") or nodes.crs is None:
        raise _Damaged("counts differ from the manifest")
    _check_arrays(nodes, edges, ends=not (manifest.get("options") or {}).get("consolidate_m"))
    network = StreetNetwork(graph=None, nodes=nodes, edges=edges, crs=CRS.from_user_input(nodes.crs))
    if road_layer:
        try:
            issues = gpd.read_parquet(entry / _ISSUES)
        except (OSError, ValueError) as exc:
            raise _Damaged(f"cannot be read ({plain_text(exc)})") from exc
        network.derived["road_report"] = RoadReport(dict(manifest["topology"]), issues)
    if secret is not None:  # issue 32: its arrays passed ``_check_arrays``: kept for the question; snaps may be kept
        _remember_routing(entry, manifest, secret, network)
        network.derived[STORE_ENTRY] = (entry, manifest_digest(manifest))
        network.derived[SNAP_GRID_READER] = GridReader(entry, manifest_digest(manifest), len(edges))  # question-cold

    if isinstance(manifest.get("faces"), dict):  # issue 32: read on first use (an entry written before has none)
        network.derived["faces"] = _faces_reader(entry, manifest, len(edges))
    return network, manifest


def _read_nodes(path: Path, crs: object) -> gpd.GeoDataFrame:
    """The nodes' table, their points made from ``x`` and ``y`` (issue 32: not parsed; the CRS is the edges').

    The file keeps its geometry column (an older reader reads it), but it holds what ``x`` and ``y`` hold:
    the segments' ends are checked against those (``_check_arrays``).
    """
    import pyarrow.parquet as pq

    names = [name for name in pq.read_schema(path).names if name != "geometry"]
    table = pq.read_table(path, columns=names).to_pandas()
    xy = table[["x", "y"]].to_numpy(dtype=float)
    return gpd.GeoDataFrame(table, geometry=shapely.points(xy), crs=crs)


def _check_arrays(nodes: gpd.GeoDataFrame, edges: gpd.GeoDataFrame, *, ends: bool = True) -> None:
    """What preparing promises of every segment: its length is its line's, its line runs between its nodes.

    A vectorised check of all segments (a city's half million in well under a second); ``_Damaged`` if not.
    ``ends``: check the lines' ends too (not after ``consolidate_m``, which moves merged corners off them).
    """
    try:
        xy = nodes[["x", "y"]].to_numpy(dtype=float)
        u, v = edges["u"].to_numpy(), edges["v"].to_numpy()
        length = edges["length_m"].to_numpy(dtype=float)
        geom = edges.geometry.to_numpy()
    except (KeyError, TypeError, ValueError) as exc:
        raise _Damaged(f"its tables lack a column or hold text ({plain_text(exc)})") from exc
    if len(edges) == 0:
        return
    _check_ends(u, v, len(nodes))
    if not np.allclose(length, shapely.length(geom), rtol=1e-9, atol=1e-6):
        bad = int(np.sum(~np.isclose(length, shapely.length(geom), rtol=1e-9, atol=1e-6)))
        raise _Damaged(f"{bad:,} segment lengths differ from their lines' lengths")
    if not ends:
        return
    counts = shapely.get_num_coordinates(geom)
    if (counts < 2).any():
        raise _Damaged("a segment has no line")
    coords = shapely.get_coordinates(geom)  # all lines' vertices in a row: each line's first and last by offsets
    last = np.cumsum(counts) - 1
    start, end = coords[last - counts + 1], coords[last]
    off = (np.abs(start - xy[u]) + np.abs(end - xy[v])).max(axis=1) >= 1e-3  # drawn from u to v, as prepared
    if off.any():  # ... or from v to u
        back = np.abs(start[off] - xy[v[off]]) + np.abs(end[off] - xy[u[off]])
        if (back.max(axis=1) >= 1e-3).any():
            raise _Damaged("a segment's line does not run between its two nodes")


def _check_ends(u: np.ndarray, v: np.ndarray, n_nodes: int) -> None:
    """Each segment's ends are node numbers of nodes that are there; ``_Damaged`` if not."""
    if not (np.issubdtype(u.dtype, np.integer) and np.issubdtype(v.dtype, np.integer)):
        raise _Damaged("segment ends are not node numbers")
    if len(u) and (u.min() < 0 or v.min() < 0 or max(u.max(), v.max()) >= n_nodes):
        raise _Damaged("a segment ends at a node that is not there")


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


def _write(network: StreetNetwork, target: Path, *, key: str, source: dict, options: dict, secret: bytes) -> dict:
    """Write an entry beside ``target`` and rename it into place; if another process was first, keep theirs."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{key}.{uuid.uuid4().hex}.tmp"
    tmp.mkdir()
    try:
        network.nodes.to_parquet(tmp / "nodes.parquet")
        network.edges.to_parquet(tmp / "edges.parquet")
        report = network.derived.get("road_report")
        names = _FILES
        if report is not None:  # issue 30: a road layer's topology report is kept with it
            report.issues.to_parquet(tmp / _ISSUES)
            names = (*_FILES, _ISSUES)
        faces = _write_faces(network, tmp)  # issue 32: iso-faces
        names = (*names, *faces.pop("files", ()))
        files = {n: {"sha256": file_sha256(tmp / n), "bytes": (tmp / n).stat().st_size} for n in names}
        manifest = {
            "format": FORMAT_VERSION,
            "key": key,
            "source": source,
            "options": options,
            **_summary(network),
            **({"topology": report.counts} if report is not None else {}),
            **({"faces": faces} if faces else {}),
            "files": files,
            "bytes": sum(f["bytes"] for f in files.values()),
            "created": time.time(),
        }
        manifest["mac"] = _mac(manifest, secret)
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


# --- issue 32: iso-faces --- the network's faces kept beside it (geo.faces), for the isochrones


#: The most segments whose faces are kept: making them all at once takes about 1.5 GB more at its peak per
#: million segments (measured: +280 MB at 183,820, +2.8 GB at 1,836,825); a larger network's entry keeps none.
FACES_MAX_SEGMENTS = 400_000


def _write_faces(network: StreetNetwork, folder: Path) -> dict:
    """Make the network's faces and write them into ``folder``: the manifest's ``faces`` record, with ``files``.

    Nothing (an empty record) for a network of more than ``FACES_MAX_SEGMENTS`` segments, or where GEOS cannot
    polygonize the streets: the isochrones then find each walk's blocks themselves, as for an entry written before.
    """
    if len(network.edges) > FACES_MAX_SEGMENTS:
        log.info("the network's faces are not kept: %d segments, more than %d", len(network.edges), FACES_MAX_SEGMENTS)
        return {}
    started = time.process_time()
    try:
        faces = network_faces(network.edges.geometry.to_numpy())
        files = write_faces(faces, folder)
    except shapely.errors.ShapelyError as exc:
        log.warning("the network's faces were not kept (%s): isochrones find each walk's blocks", plain_text(exc))
        return {}
    log.info("the network's %d faces made in %.1f CPU s", faces.n_faces, time.process_time() - started)
    return {"count": faces.n_faces, "core_m": CORE_M, "core_quad_segs": CORE_QUAD_SEGS, "files": list(files)}


@dataclass(frozen=True)
class _FacesReader:
    """What reads an entry's faces when first asked (a picklable callable).

    The files are checked against the manifest's hashes first; None, with a warning, if they are off.
    """

    entry: Path
    record: dict
    files: dict
    n_edges: int

    def __call__(self) -> NetworkFaces | None:
        try:
            for name in FACE_FILES:
                want, file = self.files.get(name, {}), self.entry / name
                if file.stat().st_size != want.get("bytes") or file_sha256(file) != want.get("sha256"):
                    raise _Damaged(f"{name} does not match its SHA-256")
            return read_faces(
                self.entry,
                core_m=float(self.record["core_m"]),
                core_quad_segs=int(self.record["core_quad_segs"]),
                n_edges=self.n_edges,
            )
        except (OSError, ValueError, KeyError, TypeError, _Damaged) as exc:
            log.warning("the stored faces of %s are unusable (%s): isochrones find each walk's blocks", self.entry, exc)
            return None


def _faces_reader(entry: Path, manifest: dict, n_edges: int) -> _FacesReader:
    """The reader of an entry's faces (``_FacesReader``)."""
    return _FacesReader(entry, dict(manifest["faces"]), dict(manifest.get("files", {})), n_edges)
