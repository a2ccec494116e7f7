"""A file's SHA-256, read once per process while the file is unchanged.

A warm run hashes its network file twice: the store finds the prepared network by the source's hash, and the
outputs' provenance records it. A city's GraphML is a gigabyte (about a second of hashing each time), so the
digest is kept for the process, keyed by the file's identity and change stamps (device, inode, size, and the
modification and change times in nanoseconds): any write to the file changes its change time, which no user
can set back. The kernel stamps those times from a coarse clock (a few milliseconds), so a write just after a
read could keep the same stamps: a file changed less than two seconds ago is never kept ("racy" files, as git
calls them), and is hashed again each time.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

__all__ = ["file_sha256"]

_CHUNK = 1 << 20
_KEPT: dict[tuple, str] = {}
_RACY_NS = 2_000_000_000


def _stamp(path: Path) -> tuple:
    st = path.stat()
    return (str(path.resolve()), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, as hex, read in 1 MiB chunks (a city's GraphML never sits whole in memory).

    Parameters
    ----------
    path
        The file.

    Returns
    -------
    str
        The hex digest; the same file, unchanged, is read only once per process.

    Examples
    --------
    >>> from geo import sample_paths
    >>> len(file_sha256(sample_paths()["facilities"]))
    64
    """
    path = Path(path)
    before = _stamp(path)
    if before in _KEPT:
        return _KEPT[before]
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    settled = time.time_ns() - before[-1] > _RACY_NS
    if settled and _stamp(path) == before:  # not changed lately, nor while it was read
        if len(_KEPT) > 256:
            _KEPT.clear()
        _KEPT[before] = digest.hexdigest()
    return digest.hexdigest()
