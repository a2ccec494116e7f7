"""The app's uploads on the server: private, named by their content, never another file's, removed when unused."""

from __future__ import annotations

import hashlib
import os
import stat
import time

import pytest
from streamlit.testing.v1 import AppTest

from geo import InputError
from quarterhour.ui.uploads import prune_uploads, store_upload, upload_folder

CSV = "名称,类别,地址\n服务中心,党群服务中心,中州中路 1 号\n".encode()


@pytest.fixture
def folder(tmp_path):
    return upload_folder(tmp_path / "cache")


def test_the_folder_is_the_server_users_alone(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "uploads").mkdir(mode=0o777)
    os.chmod(cache / "uploads", 0o777)  # left open by someone: closed again
    folder = upload_folder(cache)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_a_folder_that_is_a_link_is_not_used(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "uploads").symlink_to(elsewhere)
    with pytest.raises(PermissionError, match="not a folder of this server's user"):
        upload_folder(tmp_path / "cache")


def test_stored_by_the_hash_of_the_content_with_the_suffix_kept(folder):
    stored = store_upload("党群服务中心.CSV", CSV, folder=folder)
    assert stored.parent == folder
    assert stored.name == hashlib.sha256(CSV).hexdigest() + ".csv"
    assert stored.read_bytes() == CSV
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert store_upload("another name.csv", CSV, folder=folder) == stored  # same bytes: one file


def test_same_name_other_content_is_never_the_old_file(folder):
    first = store_upload("设施.csv", CSV, folder=folder)
    second = store_upload("设施.csv", CSV + b"x,y,z\n", folder=folder)
    assert first != second and second.read_bytes() == CSV + b"x,y,z\n"
    planted = folder / (hashlib.sha256(b"mine").hexdigest() + ".csv")
    planted.write_bytes(b"what was there before")  # a file under the name, not holding the bytes: replaced
    assert store_upload("设施.csv", b"mine", folder=folder).read_bytes() == b"mine"


@pytest.mark.parametrize("name", ["..", ".", "", " ", "../x.csv", "a/b.csv", "a\\b.csv", "/etc/passwd", "x\0.csv"])
def test_a_name_with_path_parts_is_refused(folder, name):
    with pytest.raises(InputError, match="not a plain file name"):
        store_upload(name, CSV, folder=folder)
    assert list(folder.iterdir()) == []


def test_unused_uploads_are_removed_at_the_next_upload(folder):
    old = store_upload("old.csv", b"old", folder=folder)
    used = store_upload("used.csv", b"used", folder=folder)
    part = folder / ".upload-abandoned.part"
    part.write_bytes(b"half")
    day_ago = time.time() - 25 * 3600
    for path in (old, used, part):
        os.utime(path, (day_ago, day_ago))
    assert store_upload("used.csv", b"used", folder=folder) == used  # used again: touched, kept
    store_upload("new.csv", b"new", folder=folder)
    assert not old.exists() and not part.exists() and used.exists()
    assert prune_uploads(folder, keep_hours=1, now=time.time() + 2 * 3600) != []
    assert list(folder.iterdir()) == []


def _upload_page(name: str, data: bytes) -> None:
    """A page that keeps one upload as the sidebar does, then reads it as facilities, failing as the app shows."""
    from streamlit.proto.Common_pb2 import FileURLs
    from streamlit.runtime.uploaded_file_manager import UploadedFile, UploadedFileRec

    from geo import read_facilities
    from quarterhour.ui.errors import step
    from quarterhour.ui.sidebar import save_upload

    upload = UploadedFile(UploadedFileRec("id", name, "text/csv", data), FileURLs())
    path = save_upload(upload, "en")
    if path:
        import streamlit as st

        st.session_state["stored"] = path
        with step("en"):
            read_facilities(path)


def _run_page(tmp_path, monkeypatch, name: str, data: bytes) -> AppTest:
    monkeypatch.setenv("QUARTERHOUR_CACHE", str(tmp_path / "cache"))
    return AppTest.from_function(_upload_page, args=(name, data), default_timeout=60).run()


def test_the_app_names_the_planners_file_not_the_stored_one(tmp_path, monkeypatch):
    at = _run_page(tmp_path, monkeypatch, "没有坐标.csv", CSV)
    assert not at.exception
    stored = at.session_state["stored"]
    assert stored.startswith(str(tmp_path / "cache" / "uploads")) and stored.endswith(".csv")
    message = at.error[0].value
    assert message.startswith("没有坐标.csv, column 'lon': no longitude column"), message
    assert hashlib.sha256(CSV).hexdigest() not in message and str(tmp_path) not in message


def test_the_app_refuses_an_upload_named_dot_dot(tmp_path, monkeypatch):
    at = _run_page(tmp_path, monkeypatch, "..", CSV)
    assert not at.exception
    assert "stored" not in at.session_state
    assert "'..' is not a plain file name" in at.error[0].value
    assert str(tmp_path) not in at.error[0].value
    assert not (tmp_path / "cache" / "uploads").exists()  # refused before anything is written
