"""Where the workspace lives and how it is opened: the URL, the engine, the migrations.

With no setting, a SQLite file in the user's data folder (``platformdirs``):
nothing to install or start. ``QUARTERHOUR_DATABASE_URL`` names another
database: a ``sqlite:///path`` file, or ``postgresql://user:password@host/db``
(driven by psycopg 3; the database needs PostGIS, which the first migration
enables). Opening runs Alembic's ``upgrade head``, so an older workspace is
brought up to date before it is read.

On SQLite a connection waits for another writer up to ``QUARTERHOUR_SQLITE_BUSY_SECONDS`` (default 10)
before it gives up with "database is locked" (the tests of a locked workspace use a short wait).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.util.exc import CommandError
from platformdirs import user_data_dir
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from geo.errors import plain_text
from quarterhour.workspace.errors import WorkspaceError

__all__ = ["ENV_URL", "database_problems", "database_url", "default_path", "migrate", "open_engine"]

#: The environment variable that names the workspace's database.
ENV_URL = "QUARTERHOUR_DATABASE_URL"
#: The environment variable for SQLite's busy wait, in seconds (default ``BUSY_SECONDS``).
ENV_BUSY = "QUARTERHOUR_SQLITE_BUSY_SECONDS"
BUSY_SECONDS = 10.0
_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_LOCK = threading.Lock()  # one upgrade at a time within a server (Streamlit runs sessions in threads)
_PG_LOCK_ID = 0x5148_5753  # "QHWS": the advisory lock two servers' upgrades take on PostgreSQL


def default_path() -> Path:
    """The embedded workspace: ``workspace.sqlite`` in the user's data folder."""
    return Path(user_data_dir("quarterhour", appauthor=False)) / "workspace.sqlite"


def database_url(url: str | None = None) -> str:
    """The database to use: ``url``, else ``QUARTERHOUR_DATABASE_URL``, else the embedded SQLite file.

    ``postgresql://`` and ``postgres://`` URLs are driven by psycopg 3.

    Examples
    --------
    >>> database_url("postgresql://planner@db.example/quarterhour")
    'postgresql+psycopg://planner@db.example/quarterhour'
    >>> database_url("sqlite:////tmp/ws.sqlite")
    'sqlite:////tmp/ws.sqlite'
    """
    url = url or os.environ.get(ENV_URL, "").strip()
    if not url:
        return f"sqlite:///{default_path()}"
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain) :]
    return url


def _refused(url: str, why: object) -> WorkspaceError:
    try:
        parsed = make_url(url) if "://" in url else None
        shown = parsed.render_as_string(hide_password=True) if parsed is not None else url
        if parsed is not None and parsed.get_backend_name() == "sqlite" and parsed.database:
            shown = f"sqlite:///…/{Path(parsed.database).name}"  # its file, not the server's folders
    except (ArgumentError, ValueError):  # a URL that does not parse: its scheme only (it may hold a password)
        shown = url.split("://", 1)[0] + "://…"
    return WorkspaceError("db_cannot_open_workspace_database", shown=shown, why=why, env_url=ENV_URL)


def open_engine(url: str) -> Engine:
    """An engine on ``url``, migrated to the newest schema; a URL that cannot be used is a ``WorkspaceError``."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise _refused(url, _why(exc)) from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        try:
            _private_file(Path(parsed.database))
        except OSError as exc:
            raise _refused(url, exc.strerror or exc) from None
    try:
        engine = sa.create_engine(parsed, pool_pre_ping=True)
    except (ArgumentError, ImportError, ValueError) as exc:
        raise _refused(url, _why(exc)) from None
    if engine.dialect.name == "sqlite":
        busy_seconds()  # a bad QUARTERHOUR_SQLITE_BUSY_SECONDS is refused here, by name, not at the first query
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    try:
        migrate(engine)
    except DBAPIError as exc:
        engine.dispose()
        raise _refused(url, str(exc.orig).strip().splitlines()[0]) from None
    except ValueError as exc:  # a host or option the driver cannot even encode (psycopg: UnicodeError)
        engine.dispose()
        raise _refused(url, _why(exc)) from None
    except CommandError as exc:  # Alembic: a revision this version does not know, i.e. a newer quarterhour's
        engine.dispose()
        raise WorkspaceError("db_workspace_database_was_brought", exc=_why(exc)) from None
    return engine


def _private_file(path: Path) -> None:
    """The SQLite workspace file made 0600 before SQLite opens it (its -wal and -shm files take its mode).

    Whatever the umask, a new file and a new data folder are the server user's only (0600, 0700); a file
    of this user left readable by others (an older workspace) is closed to them.
    """
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        info = path.stat()
        if info.st_mode & 0o077 and (not hasattr(os, "getuid") or info.st_uid == os.getuid()):
            path.chmod(0o600)
    for side in ("-wal", "-shm", "-journal"):
        other = path.with_name(path.name + side)
        if other.exists() and other.stat().st_mode & 0o077 and other.stat().st_uid == os.getuid():
            other.chmod(0o600)


def _why(exc: BaseException) -> str:
    """A library's reason, on one line, without a server path (its first line, paths cut to their last part)."""
    text = plain_text(exc)
    return text.replace("Can't locate revision identified by", "unknown revision")


def busy_seconds() -> float:
    """How long a SQLite connection waits for another writer: ``QUARTERHOUR_SQLITE_BUSY_SECONDS``, default 10.

    Examples
    --------
    >>> busy_seconds() if ENV_BUSY not in os.environ else BUSY_SECONDS
    10.0
    """
    raw = os.environ.get(ENV_BUSY, "").strip()
    if not raw:
        return BUSY_SECONDS
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 3600:
        raise WorkspaceError("db_busy_seconds", name=ENV_BUSY, value=raw[:40])
    return seconds


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    """Foreign keys on; wait for a writer rather than fail (``busy_seconds``); readers do not block the writer (WAL)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={round(busy_seconds() * 1000)}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def migrate(engine: Engine, revision: str = "head") -> None:
    """Alembic ``upgrade head`` (or to ``revision``) on the engine's database, in one transaction (no race)."""
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with _LOCK, engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK_ID})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


@contextmanager
def database_problems() -> Iterator[None]:
    """A database that fails while in use (locked past the wait, damaged, gone) as a ``WorkspaceError``.

    The driver's first line is said (``database is locked``, ``database disk image is malformed``), never the
    SQL, its parameters or a server path; the commands run their work inside this.
    """
    try:
        yield
    except DBAPIError as exc:
        why = _why(exc.orig) if exc.orig is not None else type(exc).__name__
        if "locked" in why or "busy" in why:
            raise WorkspaceError("db_workspace_database_busy_another", why=why) from None
        raise WorkspaceError("db_workspace_database_cannot_read", why=why) from None
