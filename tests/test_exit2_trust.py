"""Exit 1 where a fix exists, made exit 2 with the fix (issue 27): each through the real command, in a subprocess.

One ``error:`` line, no traceback, no SQL, no server path. (The cache folder that is a file or in /proc is in
tests/test_store_trust.py.)
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from geo import sample_paths
from quarterhour.batch.files import MANIFEST, write_manifest
from quarterhour.batch.run import units_source
from quarterhour.workspace import Store
from quarterhour.workspace.accounts import Accounts

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = (
    '{"type":"FeatureCollection","features":['
    '{"type":"Feature","properties":{"action":"add","name":"新中心 甲","category":"study_room"},'
    '"geometry":{"type":"Point","coordinates":[7.4206,43.7372]}}]}'
)


def _cli(*args: str | bytes, database: Path | str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    environment = os.environ | env
    if database is not None:
        environment["QUARTERHOUR_DATABASE_URL"] = database if isinstance(database, str) else f"sqlite:///{database}"
    cmd = [sys.executable, "-m", "quarterhour.cli", *args]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, timeout=300, env=environment)
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(), done.stderr.decode())


def _one_error_line(done: subprocess.CompletedProcess[str], *hidden: str) -> str:
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    for text in ("Traceback", "internal error", "SELECT", "UPDATE", "[SQL", *hidden):
        assert text not in done.stderr, (text, done.stderr)
    assert "Fix:" in errors[0]
    return errors[0]


@pytest.fixture(scope="module")
def workspace_file(tmp_path_factory) -> Path:
    """A SQLite workspace with one scenario (id 1), made by the command."""
    folder = tmp_path_factory.mktemp("ws")
    (folder / "s.geojson").write_text(SCENARIO, encoding="utf-8")
    done = _cli("scenarios", "import", str(folder / "s.geojson"), database=folder / "ws.sqlite")
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(folder / "ws.sqlite") as c:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return folder / "ws.sqlite"


@pytest.fixture
def workspace_copy(workspace_file, tmp_path) -> Path:
    copy = tmp_path / "ws.sqlite"
    shutil.copy(workspace_file, copy)
    return copy


# --- the batch's manifest ---------------------------------------------------------------------------------------
def _units_a_string(m: dict) -> None:
    m["units"] = "Q1"


def _units_a_list(m: dict) -> None:
    m["units"] = [{"status": "done"}]


def _record_a_string(m: dict) -> None:
    m["units"]["410302"] = "done"


def _summary_a_list(m: dict) -> None:
    m["units"]["410302"]["summary"] = [1, 2]


@pytest.mark.parametrize(
    ("tamper", "said"),
    [
        (_units_a_string, "'units' is a str, not a table of units by code"),
        (_units_a_list, "'units' is a list, not a table of units by code"),
        (_record_a_string, "the record of unit '410302' is a str, not a table"),
        (_summary_a_list, "the record of unit '410302' has 'summary' as a list"),
    ],
)
def test_a_tampered_batch_manifest_exits_2(tmp_path, tamper, said):
    out = tmp_path / "out"
    out.mkdir()
    write_manifest(out, units_source("luoyang"), {"410302": {"status": "done", "summary": {"pop_total": 1}}})
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    tamper(manifest)
    (out / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    done = _cli("batch", "--units", "luoyang", "--network", str(sample_paths()["network"]), "--out", str(out))
    line = _one_error_line(done, str(tmp_path))
    assert f"manifest.json: {said}" in line and "--force" in line


# --- the workspace database -------------------------------------------------------------------------------------
def test_a_locked_workspace_on_status_exits_2(workspace_copy):
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        c = sqlite3.connect(workspace_copy, isolation_level=None, check_same_thread=False)
        c.execute("BEGIN EXCLUSIVE")
        holding.set()
        release.wait(60)
        c.execute("ROLLBACK")
        c.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(30)
        done = _cli(
            "scenarios", "status", "1", "submitted", database=workspace_copy, QUARTERHOUR_SQLITE_BUSY_SECONDS="0.2"
        )
    finally:
        release.set()
        holder.join()
    line = _one_error_line(done, str(workspace_copy.parent))
    assert "the workspace database is busy" in line and "database is locked" in line


def test_a_damaged_workspace_on_export_exits_2(workspace_copy, tmp_path):
    with sqlite3.connect(workspace_copy) as c:
        size = c.execute("PRAGMA page_size").fetchone()[0]
        root = c.execute("SELECT rootpage FROM sqlite_master WHERE name = 'changes'").fetchone()[0]
    data = bytearray(workspace_copy.read_bytes())
    data[(root - 1) * size : root * size] = b"\xa5" * size  # the changes' table: opened, then unreadable
    workspace_copy.write_bytes(bytes(data))
    done = _cli("scenarios", "export", "1", "--out", str(tmp_path / "e.geojson"), database=workspace_copy)
    line = _one_error_line(done, str(tmp_path))
    assert "cannot be read or written (database disk image is malformed)" in line
    assert not (tmp_path / "e.geojson").exists()


def test_a_workspace_of_a_newer_version_exits_2(workspace_copy):
    with sqlite3.connect(workspace_copy) as c:
        c.execute("UPDATE alembic_version SET version_num = 'ffff9999beef'")
    line = _one_error_line(_cli("scenarios", "list", database=workspace_copy), str(workspace_copy.parent))
    assert "newer schema than this quarterhour knows (unknown revision 'ffff9999beef')" in line


@pytest.mark.parametrize(
    "url",
    ["postgresql://planner@db:notaport/qh", "postgresql://[::1/qh", "postgresql://u:secret@/qh?host=%ff"],
)
def test_a_bad_postgresql_url_exits_2(url):
    line = _one_error_line(_cli("scenarios", "list", database=url), "secret")
    assert "cannot open the workspace database postgresql" in line and "QUARTERHOUR_DATABASE_URL" in line


def test_a_gbk_name_exits_2_and_says_what_it_reads_as(workspace_copy, tmp_path):
    scenario = tmp_path / "s.geojson"
    scenario.write_text(SCENARIO, encoding="utf-8")
    done = _cli("scenarios", "import", str(scenario), b"--name", "西北区方案".encode("gbk"), database=workspace_copy)
    line = _one_error_line(done, str(tmp_path))
    assert "--name is not UTF-8 text: as GBK it reads '西北区方案'" in line and "UTF-8" in line


# --- the sign-in's length --------------------------------------------------------------------------------------
@pytest.mark.parametrize("hours", ["nan", "inf", "1e9", "-1", "abc"])
def test_a_session_length_every_sign_in_would_trip_on_exits_2(workspace_copy, hours):
    done = _cli("users", "list", database=workspace_copy, QUARTERHOUR_SESSION_HOURS=hours)
    line = _one_error_line(done)
    assert f"QUARTERHOUR_SESSION_HOURS is '{hours}', not a number of hours from 0.01 to 2,208" in line


def test_the_app_with_accounts_refuses_to_start_on_such_a_length(tmp_path, monkeypatch):
    database = tmp_path / "accounts.sqlite"
    store = Store(f"sqlite:///{database}")
    Accounts(store).add("wang", "西南区-planner-2026", role="planner", units=("MC-D3",))
    store.engine.dispose()
    monkeypatch.setenv("QUARTERHOUR_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("QUARTERHOUR_SESSION_HOURS", "nan")
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not app.exception
    assert [e.value for e in app.error] == [  # issue 25: in the planner's language (Chinese first)
        "QUARTERHOUR\\_SESSION\\_HOURS 为“nan”，不是 0.01 到 2,208 之间的小时数。"
        "办法：设为一次登录的有效时长，如 8（一个工作日），或不设置（默认 8）"
    ]
    assert not app.metric and not app.text_input  # no figures, and no form that would let anyone in
    app.radio(key="lang").set_value("en").run()
    assert [e.value for e in app.error] == [
        "QUARTERHOUR\\_SESSION\\_HOURS is 'nan', not a number of hours from 0.01 to 2,208. "
        "Fix: set it to how long a sign-in lasts, e.g. 8 (a working day), or unset it for 8"
    ]
    assert not app.metric and not app.text_input


def test_a_workspace_damaged_at_its_first_page_names_no_server_folder(workspace_copy):
    data = bytearray(workspace_copy.read_bytes())
    data[100:4096] = b"\xa5" * (4096 - 100)  # the schema: the database cannot even be opened
    workspace_copy.write_bytes(bytes(data))
    line = _one_error_line(_cli("scenarios", "list", database=workspace_copy), str(workspace_copy.parent))
    assert "cannot open the workspace database sqlite:///…/ws.sqlite: database disk image is malformed" in line
