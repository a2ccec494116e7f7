"""The planning workspace: scenarios that last, in a real database (SQLite by default, or PostgreSQL + PostGIS).

A face, like ``quarterhour`` and ``ui``, uses it; it reads nothing of them. ``open_store`` gives the
server's one ``Store`` per database; ``project_key`` names the data a scenario is made on.
"""

from __future__ import annotations

import threading

from workspace.access import Actor, local_actor
from workspace.db import ENV_URL, database_url
from workspace.errors import NotAllowed, StaleVersion, WorkspaceError
from workspace.records import ChangeRecord, Opened, ProjectKey, ScenarioInfo, VersionInfo
from workspace.store import Store

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

_STORES: dict[str, Store] = {}
_LOCK = threading.Lock()


def open_store(url: str | None = None) -> Store:
    """The store on ``url`` (by default ``QUARTERHOUR_DATABASE_URL`` or the user's workspace file), opened once."""
    resolved = database_url(url)
    with _LOCK:
        if resolved not in _STORES:
            _STORES[resolved] = Store(resolved)
        return _STORES[resolved]
