"""Arrays kept in a store entry as one keyed file: its key's HMAC, a JSON header, the arrays.

The layout: 32 bytes of HMAC-SHA256 (the store's key; a label naming what the file holds, then every
byte after the HMAC); 8 bytes, the header's length (little-endian); the header (JSON, padded with spaces
so that the arrays start 8-byte aligned; its ``arrays`` lists ``[name, dtype, count]``); the arrays'
bytes, in that order. A file that is not keyed with this computer's key is never used: only this
computer wrote it, so its arrays are read as they are (their sizes are checked by the caller).

``geo.store`` keeps an entry's routing arrays so (``routing.bin``), ``geo.snapgrid`` its snapping grid
(``snapgrid.bin``).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import uuid
from pathlib import Path

import numpy as np

__all__ = ["NotKept", "peek_header", "read_keyed", "write_keyed"]

_MAC_BYTES = 32


class NotKept(ValueError):
    """A keyed file that cannot be used: not keyed with this key, or truncated (the message says which)."""


def write_keyed(file: Path, label: bytes, secret: bytes, header: dict, arrays: list[tuple[str, np.ndarray]]) -> None:
    """Write ``arrays`` (1-D, each in the dtype it is to be read in) and ``header`` to ``file``, atomically.

    ``header`` gains ``arrays``: each array's name, dtype and count. Raises ``OSError`` (no file left half
    written) when the folder cannot be written.
    """
    arrays = [(name, np.ascontiguousarray(a)) for name, a in arrays]
    header = {**header, "arrays": [[name, a.dtype.str, a.size] for name, a in arrays]}
    text = json.dumps(header).encode()
    text += b" " * (-(len(text) + _MAC_BYTES + 8) % 8)  # the arrays start 8-byte aligned
    body = [np.asarray([len(text)], dtype="<i8").tobytes(), text, *(a.tobytes() for _, a in arrays)]
    mac = hmac.new(secret, label, hashlib.sha256)
    for part in body:
        mac.update(part)
    tmp = file.parent / f".{file.name}.{uuid.uuid4().hex}"
    try:
        with open(tmp, "wb") as f:
            f.write(mac.digest())
            for part in body:
                f.write(part)
        os.replace(tmp, file)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise


def read_keyed(data: np.ndarray, label: bytes, secret: bytes) -> tuple[dict[str, np.ndarray], dict]:
    """The arrays (views of ``data``, by name) and the header of a keyed file's bytes, once its key is checked.

    Raises ``NotKept`` when the file is not keyed with ``secret`` for ``label``, or truncated; the caller
    checks the header's version and what the arrays must hold.
    """
    view = memoryview(data)
    mac = hmac.new(secret, label, hashlib.sha256)
    mac.update(view[_MAC_BYTES:])
    if len(data) < _MAC_BYTES + 8 or not hmac.compare_digest(bytes(view[:_MAC_BYTES]), mac.digest()):
        raise NotKept("not keyed with this computer's store key")
    size = int(np.frombuffer(view[_MAC_BYTES : _MAC_BYTES + 8], dtype="<i8")[0])
    at = _MAC_BYTES + 8
    header = json.loads(bytes(view[at : at + size]))
    at += size
    arrays = {}
    for name, dtype, count in header["arrays"]:
        width = np.dtype(dtype).itemsize * count
        arrays[name] = np.frombuffer(view[at : at + width], dtype=dtype)
        at += width
    if at != len(data):
        raise NotKept("truncated")
    return arrays, header


def peek_header(file: Path) -> dict:
    """The header of a keyed file, unchecked (to see whose it is before writing it again), or {}."""
    try:
        with open(file, "rb") as f:
            head = f.read(_MAC_BYTES + 8)
            size = int(np.frombuffer(head[_MAC_BYTES:], dtype="<i8")[0]) if len(head) == _MAC_BYTES + 8 else 0
            return json.loads(f.read(size)) if 0 < size < 1 << 16 else {}
    except (OSError, ValueError, AttributeError):
        return {}
