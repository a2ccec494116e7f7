"""The audit log: who did what, when, to which scenario and version, kept in the workspace's database.

Each action is written in the transaction that does it (a save and its line in the log commit together, or
neither does); a sign-in refused is written too, with the name as typed (normalised, at most 100 letters).
Only a city administrator (role ``admin``, or the server's operator with ``--admin``) reads it.

Actions: ``sign_in``, ``sign_in_refused``, ``sign_in_sso``, ``create``, ``change`` (a save), ``submit``,
``review`` (reviewed, or returned with a comment), ``withdraw``, ``export``, ``import``, ``admin_mode``, and
the account changes ``account_add``, ``account_disable``, ``account_enable``, ``account_role``,
``account_units``, ``account_password``.

Examples
--------
>>> from quarterhour.workspace import Store
>>> from quarterhour.workspace.access import Actor
>>> store = Store("sqlite://")
>>> record(store, Actor("wang", "planner", ("MC-D1",)), "export", scenario_id=1, version=2, detail="a.geojson")
>>> [(e.actor, e.action, e.version) for e in entries(store, Actor("root", "admin"))]
[('wang', 'export', 2)]
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from quarterhour.workspace.access import Actor
from quarterhour.workspace.errors import NotAllowed
from quarterhour.workspace.models import AuditRow

__all__ = ["AUDIT_READERS", "AuditEntry", "entries", "log", "record"]

#: The roles that read the audit log.
AUDIT_READERS = ("admin", "local")


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit log."""

    at: dt.datetime
    actor: str
    role: str
    action: str
    scenario_id: int | None
    version: int | None
    detail: str


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def log(
    s: Session,
    who: Actor | None,
    action: str,
    *,
    scenario_id: int | None = None,
    version: int | None = None,
    detail: str = "",
    name: str = "",
) -> None:
    """Add a line to the log within the session's transaction (``name``: the name tried, when no account)."""
    s.add(
        AuditRow(
            at=_now(),
            actor=(who.name if who else name)[:100],
            role=(who.role if who else "")[:20],
            action=action[:40],
            scenario_id=scenario_id,
            version=version,
            detail=detail[:2000],
        )
    )


def record(store: object, who: Actor | None, action: str, **what: object) -> None:
    """Add a line to the log in its own transaction (an export, which changes nothing else)."""
    with sessionmaker(store.engine).begin() as s:
        log(s, who, action, **what)


def entries(
    store: object,
    who: Actor,
    *,
    limit: int = 200,
    actor: str | None = None,
    action: str | None = None,
    scenario_id: int | None = None,
) -> list[AuditEntry]:
    """The newest lines of the log (``limit``), optionally one account's, one action's or one scenario's."""
    if who.role not in AUDIT_READERS:
        raise NotAllowed.said(
            "audit_not_allowed",
            f"{who.name} ({who.role}) may not read the audit log",
            fix="ask a city administrator",
            name=who.name,
        )
    query = sa.select(AuditRow).order_by(AuditRow.id.desc()).limit(max(int(limit), 1))
    if actor:
        query = query.where(AuditRow.actor == actor)
    if action:
        query = query.where(AuditRow.action == action)
    if scenario_id is not None:
        query = query.where(AuditRow.scenario_id == scenario_id)
    with sessionmaker(store.engine)() as s:
        return [
            AuditEntry(
                r.at if r.at.tzinfo else r.at.replace(tzinfo=dt.UTC),
                r.actor,
                r.role,
                r.action,
                r.scenario_id,
                r.version,
                r.detail,
            )
            for r in s.scalars(query)
        ]
