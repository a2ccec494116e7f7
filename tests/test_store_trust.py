"""The network store's trust (issue 27): a poisoned entry is never used, the key stays out of the cache folder.

An entry's manifest is keyed (HMAC) with a secret held outside the cache folder, and its arrays are checked
against what preparing promises; a batch's workers take the digest of the manifest the client verified.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest

from geo import InputError, sample_paths
from geo.store import (
    _mac,
    list_networks,
    load_entry,
    manifest_digest,
    store_network,
    store_secret,
)

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_NET = sample_paths()["network"]


def _poison(entry: Path, *, resign: bool = False) -> None:
    """Halve every segment's length and update the manifest's hashes and sizes, as the issue's probe did.

    ``resign``: key the manifest again with this process's secret (someone who holds it, or a bug of ours).
    """
    edges = gpd.read_parquet(entry / "edges.parquet")
    edges["length_m"] = edges["length_m"] * 0.5
    edges.to_parquet(entry / "edges.parquet")
    manifest = json.loads((entry / "manifest.json").read_text())
    data = (entry / "edges.parquet").read_bytes()
    manifest["files"]["edges.parquet"] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    if resign:
        manifest["mac"] = _mac(manifest, store_secret(entry.parent.parent))
    (entry / "manifest.json").write_text(json.dumps(manifest))


@pytest.fixture(scope="module")
def fresh_lengths(tmp_path_factory) -> np.ndarray:
    cache = tmp_path_factory.mktemp("fresh")
    return store_network(SAMPLE_NET, cache_dir=cache).network.edges["length_m"].to_numpy()


def test_a_poisoned_entry_with_updated_hashes_is_rebuilt_with_a_message(tmp_path, fresh_lengths, caplog):
    entry = store_network(SAMPLE_NET, cache_dir=tmp_path).path
    _poison(entry)
    again = store_network(SAMPLE_NET, cache_dir=tmp_path)
    assert again.built and again.path == entry
    assert "not keyed with this computer's store key" in caplog.text and "preparing it again" in caplog.text
    np.testing.assert_array_equal(again.network.edges["length_m"].to_numpy(), fresh_lengths)
    assert not store_network(SAMPLE_NET, cache_dir=tmp_path).built  # the rebuilt entry is keyed and used


def test_a_poisoned_entry_keyed_with_the_secret_is_caught_by_its_lengths(tmp_path, fresh_lengths, caplog):
    entry = store_network(SAMPLE_NET, cache_dir=tmp_path).path
    _poison(entry, resign=True)
    again = store_network(SAMPLE_NET, cache_dir=tmp_path)
    assert again.built
    assert "3,657 segment lengths differ from their lines' lengths" in caplog.text
    np.testing.assert_array_equal(again.network.edges["length_m"].to_numpy(), fresh_lengths)


def test_a_poisoned_entry_opened_by_its_folder_is_refused(tmp_path):
    entry = store_network(SAMPLE_NET, cache_dir=tmp_path).path
    assert [m["path"] for m in list_networks(tmp_path)] == [str(entry)]
    _poison(entry)
    with pytest.raises(InputError, match="is refused: its manifest is not keyed") as err:
        load_entry(entry)
    assert str(tmp_path) not in str(err.value)
    assert list_networks(tmp_path) == []  # the app offers no entry it would refuse


def test_another_secret_refuses_the_entry(tmp_path, monkeypatch):
    entry = store_network(SAMPLE_NET, cache_dir=tmp_path).path
    monkeypatch.setenv("QUARTERHOUR_STORE_KEY", "someone else's key")
    with pytest.raises(InputError, match="refused"):
        load_entry(entry)
    assert store_network(SAMPLE_NET, cache_dir=tmp_path).built  # prepared again, keyed with this key


def test_a_batch_worker_takes_the_clients_digest_and_needs_no_key(tmp_path, monkeypatch):
    stored = store_network(SAMPLE_NET, cache_dir=tmp_path)
    digest = manifest_digest(stored.manifest)
    monkeypatch.setenv("QUARTERHOUR_STORE_KEY", "a worker on another machine")
    assert load_entry(stored.path, expect=digest).network.n_nodes == 2564
    _poison(stored.path)
    with pytest.raises(InputError, match="not the one the batch's client checked"):
        load_entry(stored.path, expect=digest)


def test_the_key_file_is_made_once_owner_only_and_kept_out_of_the_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("QUARTERHOUR_STORE_KEY")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    secret = store_secret(tmp_path / "cache")
    key = tmp_path / "config" / "quarterhour" / "store.key"
    assert len(secret) == 64 and key.read_bytes() == secret
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert store_secret(tmp_path / "cache") == secret
    with pytest.raises(InputError, match="inside the cache folder"):
        store_secret(tmp_path / "config")
    key.chmod(0o644)
    with pytest.raises(InputError, match="may be read or changed by others"):
        store_secret(tmp_path / "cache")


def _cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "quarterhour.cli", *args]
    return subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=300, env=os.environ | {"COLUMNS": "200"}
    )


def test_run_on_a_poisoned_store_gives_the_true_figures(tmp_path):
    cache = tmp_path / "cache"
    first = _cli("run", "--out", str(tmp_path / "a"), "--cache-dir", str(cache), "--quiet")
    assert first.returncode == 0, first.stderr
    covered = first.stdout.splitlines()[0].split(";")[0]
    assert covered.startswith("covered 38,245 of 38,367 residents (99.7%)")
    _poison(next((cache / "prepared").iterdir()))
    second = _cli("run", "--out", str(tmp_path / "b"), "--cache-dir", str(cache), "--quiet")
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines()[0].split(";")[0] == covered
    assert "not keyed with this computer's store key" in second.stderr


def _one_error_line(done: subprocess.CompletedProcess[str], *hidden: str) -> str:
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    for text in hidden:
        assert text not in errors[0], errors[0]
    return errors[0]


@pytest.mark.parametrize("where", ["file", "proc"])
@pytest.mark.parametrize("command", ["network", "run", "batch"])
def test_a_cache_folder_that_cannot_hold_the_store_exits_2(tmp_path, where, command):
    if where == "file":
        cache = tmp_path / "cachefile"
        cache.write_text("not a folder")
    else:
        cache = Path("/proc/quarterhour-cache")
    args = {
        "network": ["network", str(SAMPLE_NET)],
        "run": ["run", "--out", str(tmp_path / "out")],
        "batch": ["batch", "--units", "luoyang", "--network", str(SAMPLE_NET), "--out", str(tmp_path / "out")],
    }[command]
    line = _one_error_line(_cli(*args, "--cache-dir", str(cache)), str(tmp_path))
    assert f"the cache folder '{cache.name}' is not a folder that can be written" in line and "Fix:" in line
