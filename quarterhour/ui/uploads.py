"""The planners' uploads on the server: kept privately, named by their content, removed when unused.

An upload is written to ``<cache>/uploads/<sha256><suffix>`` (``geo.store.cache_root``):
a folder only the server's user may enter (0700), a file only it may read
(0600). The name is the hash of the bytes, so two planners' files never meet
under one name, and a file already there is only ever the same content. Each
use touches the file; files unused for ``KEEP_HOURS`` are removed at the next
upload. A name with path parts (``..``, ``a/b``) is refused: the planner's name
is only ever shown, never used as a path.

Each session may keep at most ``SESSION_FILES`` uploads and ``SESSION_MB`` MB (``charge_session``,
issue 27 §6): uploading the same bytes again is not counted twice; more is refused with a message
that says the quota, so one visitor cannot fill the server's disk for ``KEEP_HOURS``.

Messages and notes name the file the planner knows: ``planner_text`` puts the
planner's name back where a reader named the stored file.

Examples
--------
>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> stored = store_upload("党群服务中心.CSV", b"name,lon,lat", folder=folder)
>>> stored.name == hashlib.sha256(b"name,lon,lat").hexdigest() + ".csv", oct(stored.stat().st_mode & 0o777)
(True, '0o600')
>>> planner_text(f"{stored.name}: no longitude column", {str(stored): "党群服务中心.CSV"})
'党群服务中心.CSV: no longitude column'
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
import time
from collections.abc import Mapping
from pathlib import Path

import streamlit as st

from geo.errors import InputError
from geo.private import write_private
from geo.store import cache_root
from quarterhour.ui import state as S

__all__ = [
    "KEEP_HOURS",
    "SESSION_FILES",
    "SESSION_MB",
    "charge_session",
    "planner_names",
    "planner_text",
    "prune_uploads",
    "remember_name",
    "shown",
    "store_upload",
    "upload_folder",
]

#: An upload not used for this long is removed (at the next upload of any planner).
KEEP_HOURS = 24.0
#: A session may keep this many different uploads on the server (a planner's inputs, corrected a few times each).
SESSION_FILES = 30
#: ... and this many MB in all (three times the largest file, ``quarterhour.ui.sidebar.UPLOAD_LIMIT_MB``).
SESSION_MB = 300
_USED = "upload_quota_used"  #: session state: stored name -> bytes, the uploads this session has kept
_SUFFIX = re.compile(r"\.[a-z0-9]{1,10}")  # kept on the stored file: the readers choose by it


def upload_folder(root: str | Path | None = None) -> Path:
    """The uploads folder, made if missing, and checked to be the server user's own, closed to others (0700).

    Parameters
    ----------
    root
        The cache folder; ``None`` for ``geo.store.cache_root()``.

    Returns
    -------
    Path
        ``<root>/uploads``.

    Raises
    ------
    PermissionError
        The folder is a link, or belongs to another user (someone made it first: uploads are not kept there).
    """
    folder = cache_root(root) / "uploads"
    folder.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
        raise PermissionError(f"the uploads folder {folder} is not a folder of this server's user: uploads not kept")
    if stat.S_IMODE(info.st_mode) != 0o700:
        folder.chmod(0o700)
    return folder


def _stored_name(name: str, data: bytes) -> str:
    """``<sha256 of data><suffix of name>``; a name that is not a plain file name is refused."""
    if not name.strip() or name in (".", "..") or any(c in name for c in "/\\\0") or Path(name).name != name:
        raise InputError("uploads_upload_s_name_name", name_80=name[:80])
    suffix = Path(name).suffix.lower()
    return hashlib.sha256(data).hexdigest() + (suffix if _SUFFIX.fullmatch(suffix) else "")


def charge_session(name: str, data: bytes, lang: str) -> str | None:
    """Count an upload against this session's quota: None if it may be kept (counted now), else the message.

    Parameters
    ----------
    name
        The planner's file name.
    data
        The file's bytes (the same bytes uploaded again are not counted twice).
    lang
        The message's language.

    Raises
    ------
    InputError
        ``name`` is not a plain file name.
    """
    from quarterhour.i18n import t

    used = st.session_state.setdefault(_USED, {})
    stored = _stored_name(name, data)
    if stored in used:
        return None
    n, total = len(used) + 1, sum(used.values()) + len(data)
    if n > SESSION_FILES or total > SESSION_MB * 2**20:
        return t(
            "upload_quota",
            lang,
            name=Path(name).name,
            n=len(used),
            mb=sum(used.values()) / 2**20,
            files=SESSION_FILES,
            limit=SESSION_MB,
            hours=KEEP_HOURS,
        )
    used[stored] = len(data)
    return None


def store_upload(name: str, data: bytes, *, folder: Path | None = None, keep_hours: float = KEEP_HOURS) -> Path:
    """Keep an upload's bytes as ``<sha256><suffix>`` in the uploads folder; remove uploads unused for long.

    A file of that name already there holds the same bytes (its name is their
    hash); it is kept, touched as used. Two sessions storing the same bytes at
    once each write their own temporary file and swap it in whole.

    Parameters
    ----------
    name
        The planner's file name: only its ending is used (``.csv``, ``.graphml`` …).
    data
        The file's bytes.
    folder
        The uploads folder; ``None`` for ``upload_folder()``.
    keep_hours
        Uploads unused for longer are removed now (``prune_uploads``).

    Returns
    -------
    Path
        The stored file (0600).

    Raises
    ------
    InputError
        ``name`` is not a plain file name (``..``, a path, empty).
    """
    target_name = _stored_name(name, data)
    folder = upload_folder() if folder is None else folder
    prune_uploads(folder, keep_hours=keep_hours)
    target = folder / target_name
    if _holds(target, data):
        os.utime(target)  # used now: kept another KEEP_HOURS
        return target
    return write_private(target, data)


def _holds(target: Path, data: bytes) -> bool:
    """Whether ``target`` is a plain file holding exactly ``data`` (anything else there is replaced)."""
    try:
        return target.is_file() and not target.is_symlink() and target.read_bytes() == data
    except OSError:
        return False


def prune_uploads(folder: Path, *, keep_hours: float = KEEP_HOURS, now: float | None = None) -> list[Path]:
    """Remove the uploads (and half-written parts) not used for ``keep_hours``.

    Parameters
    ----------
    folder
        The uploads folder.
    keep_hours
        How long an unused upload is kept.
    now
        The time to judge by (seconds since the epoch); ``None`` for now.

    Returns
    -------
    list of Path
        The files removed.
    """
    limit = (time.time() if now is None else now) - keep_hours * 3600
    removed = []
    for entry in folder.iterdir():
        try:
            info = entry.lstat()
            if info.st_mtime < limit:
                entry.unlink()
                removed.append(entry)
        except (FileNotFoundError, IsADirectoryError, PermissionError):  # another session removed it first
            continue
    return removed


def planner_text(text: str, names: Mapping[str, str]) -> str:
    """``text`` with each stored upload (its full path, or its file name) said by the planner's own file name.

    Parameters
    ----------
    text
        A message or note that may name stored uploads.
    names
        Stored path -> the planner's file name.

    Returns
    -------
    str
        The text the planner can act on.
    """
    for stored, name in names.items():
        text = text.replace(stored, name).replace(Path(stored).name, name)
    return text


def remember_name(stored: Path, name: str) -> None:
    """Note, for this session, that ``stored`` is the planner's ``name`` (``shown`` says it so)."""
    st.session_state.setdefault(S.UPLOAD_NAMES, {})[str(stored)] = Path(name).name


def planner_names(**paths: object) -> tuple[tuple[str, str], ...]:
    """(role, the planner's file name) for each of ``paths`` that is an upload of this session, for provenance."""
    known = st.session_state.get(S.UPLOAD_NAMES, {})
    return tuple((role, known[str(path)]) for role, path in paths.items() if str(path) in known)


def shown(text: str) -> str:
    """``text`` as this session's planner knows their files (``planner_text`` with the names remembered)."""
    return planner_text(text, st.session_state.get(S.UPLOAD_NAMES, {}))
