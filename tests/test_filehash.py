"""A file's SHA-256 is read once per process while the file is unchanged, and never kept stale (``geo.filehash``)."""

from __future__ import annotations

import hashlib
import os
import time

import pytest

from geo import filehash
from geo.filehash import file_sha256


@pytest.fixture
def settled_at_once(monkeypatch):
    """Files count as settled at once (the real margin is two seconds after their last change)."""
    monkeypatch.setattr(filehash, "_RACY_NS", 0)
    monkeypatch.setattr(filehash, "_KEPT", {})


def test_a_file_changed_in_the_same_instant_is_hashed_again(tmp_path):
    path = tmp_path / "streets.graphml"
    path.write_bytes(b"a" * 4096)
    assert file_sha256(path) == hashlib.sha256(b"a" * 4096).hexdigest()
    path.write_bytes(b"b" * 4096)  # same size, within the kernel's coarse clock tick: the stamps may not move
    assert file_sha256(path) == hashlib.sha256(b"b" * 4096).hexdigest()
    assert not any(key[0] == str(path.resolve()) for key in filehash._KEPT)  # a racy file is not kept


def test_a_settled_file_is_kept_and_a_change_is_seen(tmp_path, settled_at_once):
    path = tmp_path / "streets.graphml"
    path.write_bytes(b"a" * 4096)
    first = file_sha256(path)
    assert len(filehash._KEPT) == 1 and first in filehash._KEPT.values()
    assert file_sha256(path) == first  # from what was kept
    stat = path.stat()
    time.sleep(0.05)  # past the clock's tick, so the change time moves
    path.write_bytes(b"b" * 4096)  # same size ...
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # ... and its old modification time put back
    assert file_sha256(path) == hashlib.sha256(b"b" * 4096).hexdigest()  # the change time told


def test_the_store_and_the_provenance_hash_alike(tmp_path):
    from geo import sample_paths
    from geo.store import file_sha256 as store_sha256
    from quarterhour.provenance import file_sha256 as provenance_sha256

    path = sample_paths()["facilities"]
    want = hashlib.sha256(path.read_bytes()).hexdigest()
    assert store_sha256(path) == provenance_sha256(path) == want
