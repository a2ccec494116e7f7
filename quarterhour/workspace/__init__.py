"""The planning workspace: scenarios that last, in a real database (SQLite by default, or PostgreSQL + PostGIS).

A face, like ``quarterhour`` and ``ui``, uses it; it reads nothing of them. ``open_store`` gives the
server's one ``Store`` per database; ``quarterhour.workspace.keys.project_for`` names the data a scenario is made on.
The names below load on first use (SQLAlchemy and Alembic are not imported by a command that does not
open the workspace).
"""

from __future__ import annotations

import importlib
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from quarterhour.workspace.store import Store

__all__ = [
    "ENV_URL",
    "Actor",
    "ChangeRecord",
    "NotAllowed",
    "Opened",
    "ProjectKey",
    "ScenarioInfo",
    "StaleVersion",
    "Store",
    "VersionInfo",
    "WorkspaceError",
    "database_url",
    "local_actor",
    "open_store",
]

_WHERE = {
    "ENV_URL": "db",
    "database_url": "db",
    "Actor": "access",
    "local_actor": "access",
    "NotAllowed": "errors",
    "StaleVersion": "errors",
    "WorkspaceError": "errors",
    "ChangeRecord": "records",
    "Opened": "records",
    "ProjectKey": "records",
    "ScenarioInfo": "records",
    "VersionInfo": "records",
    "Store": "store",
}
_STORES: dict[str, Store] = {}
_LOCK = threading.Lock()


def __getattr__(name: str) -> object:
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'workspace' has no attribute {name!r}")


def open_store(url: str | None = None) -> Store:
    """The store on ``url`` (by default ``QUARTERHOUR_DATABASE_URL`` or the user's workspace file), opened once."""
    from quarterhour.workspace.db import database_url
    from quarterhour.workspace.store import Store

    resolved = database_url(url)
    with _LOCK:
        if resolved not in _STORES:
            _STORES[resolved] = Store(resolved)
        return _STORES[resolved]
