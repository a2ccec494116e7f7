"""Projects that hold their inputs, and each account's page as last left.

A project keeps what its analysis stands on (``ProjectInput``): the network (the bundled sample, a file, an
OpenStreetMap place or box, or a prepared network's store key with its source name), the gated compounds and
their gates that wall it when it is walled (issue 30, ``WALLS``), each input file, the coordinate and column
choices it was read with, and the review units. An input file's content is kept
once, by its SHA-256 (``InputFile``): with a SQLite workspace in the store's own file area next to the
database file (``<database>.files/<sha256>``, a folder only the server's user may enter, files 0600); with
PostgreSQL in the database's row. Each file is size-limited (``MAX_INPUT_BYTES``) and, like the network
store's entries, checked for its size and SHA-256 before it is handed back: a copy that changed on disk is
refused, never read.

An account's page (``Page``) is the project it works on, the scenario and version open, the parameters and
the other inputs of the page (a candidates file). A new session (a reload, another machine, a server
restart) reopens the account's newest page (``last_page``) in one step.

Each saved version pins the inputs it was computed on (``versions.inputs``, written by ``Store.save`` from
``pinned``); ``differing`` names the inputs in which two versions differ.

Examples
--------
>>> from quarterhour.workspace import Actor, ProjectKey, Store
>>> store = Store("sqlite://")
>>> kept = Projects(store)
>>> sha = kept.keep_file("name,lon,lat".encode())
>>> kept.read_file(sha)
b'name,lon,lat'
>>> project = store.project(ProjectKey("n", "f", "r", "u"))
>>> kept.keep_inputs(project, {"facilities": KeptInput("facilities", "file", sha256=sha, name="服务设施.csv")})
>>> kept.inputs(project)["facilities"].name
'服务设施.csv'
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from geo.private import write_private
from quarterhour.workspace.access import Actor
from quarterhour.workspace.errors import WorkspaceError
from quarterhour.workspace.models import InputFile, Page, ProjectInput, Version

__all__ = [
    "MAX_INPUT_BYTES",
    "ROLES",
    "WALLS",
    "KeptInput",
    "PageRecord",
    "Projects",
    "differing",
    "file_area",
    "pinned",
]

#: The largest input file a project keeps (as the app's upload limit, ``quarterhour.ui.sidebar.UPLOAD_LIMIT_MB``).
MAX_INPUT_BYTES = 100 * 1024 * 1024
#: The inputs a project stands on (``candidates`` is a page's: it is not part of the project's key).
ROLES = ("network", "facilities", "demand", "units")
#: Issue 30: the gated compounds and their gates that wall the network, when the project has them (part of the
#: project's key: ``quarterhour.workspace.keys.project_for``); gates without compounds are never kept.
WALLS = ("compounds", "gates")
_KINDS = ("sample", "file", "text")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class KeptInput:
    """One input as a project keeps it: ``kind`` sample, file (by ``sha256``) or text (``source``)."""

    role: str
    kind: str
    source: str = ""
    sha256: str | None = None
    name: str = ""
    options: dict = field(default_factory=dict)

    def pin(self) -> dict:
        """What a version pins of it (the planner's name is shown, not compared)."""
        return {"kind": self.kind, "source": self.source if self.kind != "file" else "", "sha256": self.sha256,
                "options": self.options, "name": self.name}  # fmt: skip


@dataclass(frozen=True)
class PageRecord:
    """An account's page on a project as last left."""

    project_id: int
    scenario_id: int | None
    version: int | None
    base: int | None
    params: dict
    extra: dict
    updated_at: dt.datetime


def file_area(url: str) -> Path | None:
    """The store's file area for a SQLite workspace file: ``<database>.files`` beside it; None otherwise.

    Examples
    --------
    >>> file_area("sqlite:////srv/qh/workspace.sqlite"), file_area("sqlite://"), file_area("postgresql+psycopg://h/d")
    (PosixPath('/srv/qh/workspace.sqlite.files'), None, None)
    """
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(parsed.database)
    return path.with_name(path.name + ".files")


def _private_folder(folder: Path) -> Path:
    """``folder`` made if missing (0700), and checked to be this user's own folder, not a link."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
        raise WorkspaceError("projects_workspace_s_file_area")
    if stat.S_IMODE(info.st_mode) != 0o700:
        folder.chmod(0o700)
    return folder


def _damaged(why: str) -> WorkspaceError:
    return WorkspaceError("projects_kept_input_file_why", why=why)


def pinned(s: Session, project_id: int) -> str:
    """The JSON a version saved on ``project_id`` pins: each kept input's kind, source or SHA-256, options."""
    rows = s.scalars(sa.select(ProjectInput).where(ProjectInput.project_id == project_id))
    return json.dumps({r.role: _kept(r).pin() for r in rows}, ensure_ascii=False, sort_keys=True)


def differing(a: Mapping[str, dict], b: Mapping[str, dict]) -> list[str]:
    """The roles whose inputs differ between two versions' pinned inputs (by content, options; not by name).

    Examples
    --------
    >>> one = {"facilities": {"kind": "file", "sha256": "a", "options": {}, "name": "x.csv"}}
    >>> differing(one, {"facilities": {"kind": "file", "sha256": "a", "options": {}, "name": "y.csv"}})
    []
    >>> differing(one, {"facilities": {"kind": "file", "sha256": "b", "options": {}, "name": "x.csv"}})
    ['facilities']
    """

    def plain(pin: dict | None) -> dict | None:
        return None if pin is None else {k: v for k, v in pin.items() if k != "name"}

    return sorted(r for r in set(a) | set(b) if plain(a.get(r)) != plain(b.get(r)))


def _kept(row: ProjectInput) -> KeptInput:
    return KeptInput(row.role, row.kind, row.source, row.sha256, row.name, json.loads(row.options or "{}"))


class Projects:
    """The project inputs and pages of a ``workspace.Store``."""

    def __init__(self, store: object) -> None:
        self._store = store
        self._session = sessionmaker(store.engine, expire_on_commit=False)
        self._area = file_area(store.url)

    # files ----------------------------------------------------------------------------------------------------
    def keep_file(self, data: bytes, *, name: str = "") -> str:
        """Keep a file's content once; its SHA-256. Larger than ``MAX_INPUT_BYTES`` is refused."""
        if len(data) > MAX_INPUT_BYTES:
            raise WorkspaceError(
                "projects_file_name_unnamed_len",
                name_or_unnamed=name or "(unnamed)",
                len_data_1024=len(data) / 1024 / 1024,
                max_input_bytes=MAX_INPUT_BYTES // 1024 // 1024,
            )
        sha = hashlib.sha256(data).hexdigest()
        with self._session() as s:
            if s.get(InputFile, sha) is not None and self._present(sha, len(data)):
                return sha
        if self._area is not None:
            self._write(sha, data)
        try:
            with self._session.begin() as s:
                if s.get(InputFile, sha) is None:
                    s.add(InputFile(sha256=sha, size=len(data), data=None if self._area else data, created_at=_now()))
        except IntegrityError:  # another session kept the same content at the same moment
            pass
        return sha

    def _present(self, sha: str, size: int) -> bool:
        if self._area is None:
            return True
        path = self._area / sha
        return path.is_file() and path.stat().st_size == size

    def _write(self, sha: str, data: bytes) -> None:
        write_private(_private_folder(self._area) / sha, data)

    def read_file(self, sha: str) -> bytes:
        """A kept file's content, checked for its size and SHA-256."""
        with self._session() as s:
            row = s.get(InputFile, sha)
            if row is None:
                raise _damaged(f"{sha[:12]}… is not in the workspace")
            size, data = row.size, row.data
        if data is None:
            if self._area is None:
                raise _damaged(f"{sha[:12]}… has no content")
            try:
                data = (self._area / sha).read_bytes()
            except OSError:
                raise _damaged(f"{sha[:12]}… is missing from the workspace's file area") from None
        if len(data) != size:
            raise _damaged(f"{sha[:12]}… is truncated ({len(data)} of {size} bytes)")
        if hashlib.sha256(data).hexdigest() != sha:
            raise _damaged(f"{sha[:12]}… does not match its SHA-256")
        return data

    # a project's inputs ---------------------------------------------------------------------------------------
    def keep_inputs(self, project_id: int, inputs: Mapping[str, KeptInput]) -> None:
        """Record the project's inputs (those it has not yet): a project's inputs never change (its key)."""
        for kept in inputs.values():
            if kept.kind not in _KINDS or kept.role not in (*ROLES, *WALLS, "candidates"):
                raise WorkspaceError("projects_unknown_input_role_kind", role=kept.role, kind=kept.kind)
        try:
            with self._session.begin() as s:
                have = set(s.scalars(sa.select(ProjectInput.role).where(ProjectInput.project_id == project_id)))
                s.add_all(
                    ProjectInput(
                        project_id=project_id,
                        role=k.role,
                        kind=k.kind,
                        source=k.source,
                        sha256=k.sha256,
                        name=k.name[:400],
                        options=json.dumps(k.options, ensure_ascii=False, sort_keys=True),
                    )
                    for role, k in inputs.items()
                    if role not in have
                )
        except IntegrityError:  # another session recorded them at the same moment
            pass

    def inputs(self, project_id: int) -> dict[str, KeptInput]:
        """The project's kept inputs, by role."""
        with self._session() as s:
            rows = s.scalars(sa.select(ProjectInput).where(ProjectInput.project_id == project_id))
            return {r.role: _kept(r) for r in rows}

    # pages ----------------------------------------------------------------------------------------------------
    def save_page(
        self,
        account: str,
        project_id: int,
        *,
        scenario_id: int | None = None,
        version: int | None = None,
        base: int | None = None,
        params: dict | None = None,
        extra: dict | None = None,
    ) -> None:
        """Remember the account's page on the project as it is now (replacing the last)."""
        values = {
            "scenario_id": scenario_id,
            "version": version,
            "base": base,
            "params": json.dumps(params or {}, ensure_ascii=False, sort_keys=True),
            "extra": json.dumps(extra or {}, ensure_ascii=False, sort_keys=True),
            "updated_at": _now(),
        }
        for _ in range(2):  # a first page racing another session's first page of the same project: once more
            try:
                with self._session.begin() as s:
                    row = s.get(Page, (account, project_id))
                    if row is None:
                        s.add(Page(account=account, project_id=project_id, **values))
                    else:
                        for key, value in values.items():
                            setattr(row, key, value)
                return
            except IntegrityError:
                continue

    def last_page(self, account: str) -> PageRecord | None:
        """The account's newest page, or None."""
        with self._session() as s:
            row = s.scalar(sa.select(Page).where(Page.account == account).order_by(Page.updated_at.desc()).limit(1))
            if row is None:
                return None
            when = row.updated_at if row.updated_at.tzinfo else row.updated_at.replace(tzinfo=dt.UTC)
            return PageRecord(row.project_id, row.scenario_id, row.version, row.base,
                              json.loads(row.params or "{}"), json.loads(row.extra or "{}"), when)  # fmt: skip

    # versions -------------------------------------------------------------------------------------------------
    def version_inputs(self, scenario_id: int, version: int, who: Actor) -> dict[str, dict]:
        """The inputs a saved version pins (role -> kind, source or SHA-256, options, name); {} if none."""
        info = self._store.info(scenario_id, who)  # the store's read rule (NotAllowed), not a second one
        with self._session() as s:
            found = s.scalar(
                sa.select(Version.inputs).where(Version.scenario_id == scenario_id, Version.number == int(version))
            )
        if found is None:
            raise WorkspaceError("projects_scenario_name_has_no", name=info.name, version=version, head=info.head)
        return json.loads(found or "{}")

    def compare(self, a: tuple[int, int], b: tuple[int, int], who: Actor) -> list[str]:
        """The roles whose inputs differ between two versions, each ``(scenario id, version)``."""
        return differing(self.version_inputs(*a, who), self.version_inputs(*b, who))
