"""The workspace store: projects, scenarios and their versions, read and written through SQLAlchemy.

Every call is one transaction: a save that stops half-way leaves nothing.
Every save names the version it was made on (``base``); when the scenario has
moved on meanwhile (another planner, another tab), the save is refused with
``StaleVersion`` and nothing is overwritten. Each call takes the ``Actor`` who
asks, and refuses with ``NotAllowed`` what that account may not see or change:
a planner's units include the units inside them, by the project's unit tree
(``set_units``) and the statistical code rule (``workspace.access.lineage``).

Examples
--------
>>> store = Store("sqlite://")  # in memory; the app's default is a file in the user's data folder
>>> me = Actor("wang", "planner", ("MC-D1",))
>>> project = store.project(ProjectKey("n", "f", "r", "u", label="sample"))
>>> sc = store.create(project, "两个新中心", "MC-D1", me)
>>> store.save(sc.id, [("add", None, "新中心 1", "study_room", 7.42, 43.73)], base=sc.head, who=me)
2
>>> [c.name for c in store.open(sc.id, me).changes], store.open(sc.id, me, version=1).changes
(['新中心 1'], ())
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from workspace.access import REVIEWER_ROLES, Actor
from workspace.db import database_url, open_engine
from workspace.errors import NotAllowed, StaleVersion, WorkspaceError
from workspace.models import STATUSES, ChangeRow, Project, Scenario, UnitRow, Version
from workspace.projects import pinned
from workspace.records import ChangeRecord, Opened, ProjectKey, ScenarioInfo, VersionInfo

__all__ = ["Actor", "ProjectKey", "Store", "params_sha"]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _utc(when: dt.datetime | None) -> dt.datetime | None:
    """Times as UTC-aware (SQLite hands them back without a zone)."""
    if when is None:
        return None
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def params_sha(params: dict) -> str:
    """The SHA-256 of parameters, as canonical JSON."""
    return hashlib.sha256(json.dumps(params, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _info(sc: Scenario) -> ScenarioInfo:
    return ScenarioInfo(
        id=sc.id,
        project_id=sc.project_id,
        name=sc.name,
        unit=sc.unit,
        author=sc.author,
        status=sc.status,
        head=sc.head,
        updated_at=_utc(sc.updated_at),
        status_version=sc.status_version,
        reviewer=sc.reviewer,
        review_comment=sc.review_comment,
        reviewed_at=_utc(sc.reviewed_at),
        submitted_at=_utc(sc.submitted_at),
    )


def _record(row: ChangeRow) -> ChangeRecord:
    return ChangeRecord(
        row.action, row.facility_id, row.name, row.category, row.lon, row.lat, row.author, _utc(row.made_at)
    )


def _plain_row(row: Sequence) -> tuple:
    """A change row checked and made plain: action, facility id or None, name, category, lon, lat."""
    action, facility_id, name, category, lon, lat = row
    if action not in ("add", "move", "close"):
        raise WorkspaceError(f"unknown change '{action}'", fix="use add, move or close")
    if not (math.isfinite(float(lon)) and math.isfinite(float(lat))):
        raise WorkspaceError(f"({lon}, {lat}) is not a place", fix="give each change a longitude and latitude")
    return (
        str(action),
        str(facility_id) if facility_id else None,
        str(name or ""),
        str(category or ""),
        float(lon),
        float(lat),
    )


class Store:
    """The workspace: open it once per server (``workspace.open_store`` keeps one per database).

    Parameters
    ----------
    url
        A SQLAlchemy URL; by default ``QUARTERHOUR_DATABASE_URL`` or the SQLite file in the user's data folder.
    """

    def __init__(self, url: str | None = None) -> None:
        self.url = database_url(url)
        self.engine = open_engine(self.url)
        self._session = sessionmaker(self.engine, expire_on_commit=False)

    # projects -------------------------------------------------------------------------------------------------
    def project(self, key: ProjectKey) -> int:
        """The project of these inputs (made the first time they are seen): its id."""
        with self._session.begin() as s:
            found = s.scalar(sa.select(Project.id).where(Project.key == key.key))
            if found is not None:
                return found
            project = Project(
                key=key.key,
                network_sha=key.network,
                facilities_sha=key.facilities,
                residents_sha=key.residents,
                units_sha=key.units,
                label=key.label[:400],
                created_at=_now(),
            )
            s.add(project)
        return project.id

    def set_units(self, project_id: int, parents: Mapping[str, str]) -> None:
        """Record the project's unit tree: each unit's code → the code of the unit it lies in (replaced whole)."""
        wanted = {str(code): str(up) for code, up in parents.items() if code and up and code != up}
        with self._session.begin() as s:
            if self._tree(s, project_id) == wanted:
                return
            s.execute(sa.delete(UnitRow).where(UnitRow.project_id == project_id))
            s.add_all(UnitRow(project_id=project_id, code=code, parent=up) for code, up in wanted.items())

    def units(self, project_id: int) -> dict[str, str]:
        """The project's unit tree, as recorded by ``set_units``."""
        with self._session() as s:
            return self._tree(s, project_id)

    @staticmethod
    def _tree(s: Session, project_id: int) -> dict[str, str]:
        rows = s.execute(sa.select(UnitRow.code, UnitRow.parent).where(UnitRow.project_id == project_id))
        return dict(rows.all())

    # scenarios ------------------------------------------------------------------------------------------------
    def scenarios(self, project_id: int | None, who: Actor) -> list[ScenarioInfo]:
        """The project's scenarios (every project's, for None) this account may see, newest first."""
        query = sa.select(Scenario).order_by(Scenario.updated_at.desc(), Scenario.id.desc())
        if project_id is not None:
            query = query.where(Scenario.project_id == project_id)
        with self._session() as s:
            found = list(s.scalars(query))
            trees = {pid: self._tree(s, pid) for pid in {sc.project_id for sc in found}}
            return [_info(sc) for sc in found if who.may_read(sc.unit, trees[sc.project_id])]

    def create(self, project_id: int, name: str, unit: str, who: Actor, **first: object) -> ScenarioInfo:
        """A new scenario in ``unit`` by ``who``, as version 1 (``first``: ``changes``, ``params``, ``summary``)."""
        name = (name or "").strip()
        if not name:
            raise WorkspaceError("a scenario needs a name", fix="give the scenario a name")
        with self._session.begin() as s:
            if s.get(Project, project_id) is None:
                raise WorkspaceError(f"no project {project_id} in the workspace", fix="open the data again")
            if not who.may_write(unit, self._tree(s, project_id)):
                raise NotAllowed(
                    f"{who.name} may not make scenarios for unit '{unit or 'city'}'",
                    fix=f"choose one of your units or a unit inside them: {', '.join(who.units) or 'none'}",
                )
            now = _now()
            sc = Scenario(
                project_id=project_id,
                name=name[:200],
                unit=unit,
                author=who.name,
                status="draft",
                head=0,
                created_at=now,
                updated_at=now,
            )
            s.add(sc)
            s.flush()
            scenario_id = sc.id
        self.save(
            scenario_id,
            first.get("changes", ()),
            base=0,
            who=who,
            params=first.get("params"),
            summary=first.get("summary"),
        )
        return self.info(scenario_id, who)

    def info(self, scenario_id: int, who: Actor) -> ScenarioInfo:
        """One scenario as listed, if this account may see it."""
        with self._session() as s:
            return _info(self._readable(s, scenario_id, who))

    def _readable(self, s: Session, scenario_id: int, who: Actor) -> Scenario:
        sc = s.get(Scenario, scenario_id)
        if sc is None:
            raise WorkspaceError(f"no scenario {scenario_id} in the workspace", fix="choose one from the list")
        if not who.may_read(sc.unit, self._tree(s, sc.project_id)):
            raise NotAllowed(
                f"scenario {scenario_id} belongs to unit '{sc.unit}', which is not one of {who.name}'s",
                fix="ask the unit's planner or the city reviewer",
            )
        return sc

    def _writable(self, scenario_id: int, who: Actor) -> Scenario:
        with self._session() as s:
            sc = self._readable(s, scenario_id, who)
            tree = self._tree(s, sc.project_id)
        if not who.may_write(sc.unit, tree):
            raise NotAllowed(
                f"{who.name} ({who.role}) may not change scenario {scenario_id} of unit '{sc.unit}'",
                fix="ask the unit's planner",
            )
        return sc

    # versions -------------------------------------------------------------------------------------------------
    def save(
        self,
        scenario_id: int,
        changes: Iterable[Sequence],
        *,
        base: int,
        who: Actor,
        params: dict | None = None,
        summary: dict | None = None,
    ) -> int:
        """Save the changes as a new version made on version ``base``; returns the new version's number.

        Refused (``StaleVersion``) when the scenario's newest version is no longer ``base``. A change equal to
        the one at its place in ``base`` keeps its author and time; the others are ``who``'s, now. A save
        of a submitted or reviewed scenario makes it a draft again (the review names its version).
        """
        rows = [_plain_row(r) for r in changes]
        sc = self._writable(scenario_id, who)
        now = _now()
        with self._session.begin() as s:
            # The compare-and-set comes first, so the transaction writes from its first statement: SQLite takes
            # its write lock here (waiting for another writer), PostgreSQL the row's lock.
            moved = s.execute(
                sa.update(Scenario)
                .where(Scenario.id == scenario_id, Scenario.head == base)
                .values(head=base + 1, updated_at=now, status="draft")
            )
            if moved.rowcount != 1:
                raise self._stale(s, sc, base)
            before = self._changes(s, scenario_id, base)
            kept = [(b.author, b.made_at) if b and b.row == r else (who.name, now) for r, b in _paired(rows, before)]
            s.add(
                Version(
                    scenario_id=scenario_id,
                    number=base + 1,
                    author=who.name,
                    saved_at=now,
                    params_sha=params_sha(params or {}),
                    params=json.dumps(params or {}, ensure_ascii=False, sort_keys=True),
                    summary=json.dumps(summary or {}, ensure_ascii=False, sort_keys=True),
                    inputs=pinned(s, sc.project_id),  # the inputs the figures were computed on (issue 28)
                    changes=[
                        ChangeRow(
                            seq=i,
                            action=r[0],
                            facility_id=r[1],
                            name=r[2],
                            category=r[3],
                            lon=r[4],
                            lat=r[5],
                            author=author,
                            made_at=made,
                        )
                        for i, (r, (author, made)) in enumerate(zip(rows, kept, strict=True))
                    ],
                )
            )
        return base + 1

    def _stale(self, s: Session, sc: Scenario, base: int) -> StaleVersion:
        head = s.execute(sa.select(Scenario.head).where(Scenario.id == sc.id)).scalar_one()
        last = s.scalar(sa.select(Version).where(Version.scenario_id == sc.id, Version.number == head))
        by = f" by {last.author} at {_utc(last.saved_at):%Y-%m-%d %H:%M} UTC" if last else ""
        return StaleVersion(
            f"scenario '{sc.name}' was saved as version {head}{by} after the version {base} you changed; "
            "your save was not made, so nothing was overwritten",
            head=head,
            fix=f"open version {head}, look at what changed, and make your change again",
        )

    def _changes(self, s: Session, scenario_id: int, number: int) -> list[ChangeRecord]:
        version = s.scalar(sa.select(Version).where(Version.scenario_id == scenario_id, Version.number == number))
        return [_record(c) for c in version.changes] if version else []

    def open(self, scenario_id: int, who: Actor, *, version: int | None = None) -> Opened:
        """A version of a scenario (its newest by default): its changes, parameters and result summary."""
        with self._session() as s:
            sc = self._readable(s, scenario_id, who)
            number = sc.head if version is None else int(version)
            found = s.scalar(sa.select(Version).where(Version.scenario_id == scenario_id, Version.number == number))
            if found is None:
                raise WorkspaceError(
                    f"scenario '{sc.name}' has no version {number}", fix=f"choose a version from 1 to {sc.head}"
                )
            return Opened(
                _info(sc),
                number,
                tuple(_record(c) for c in found.changes),
                json.loads(found.params or "{}"),
                json.loads(found.summary or "{}"),
            )

    def versions(self, scenario_id: int, who: Actor) -> list[VersionInfo]:
        """Every version of a scenario, newest first."""
        with self._session() as s:
            self._readable(s, scenario_id, who)
            counts = (
                sa.select(Version, sa.func.count(ChangeRow.id))
                .outerjoin(ChangeRow)
                .where(Version.scenario_id == scenario_id)
                .group_by(Version.id)
                .order_by(Version.number.desc())
            )
            return [
                VersionInfo(v.number, v.author, _utc(v.saved_at), n, json.loads(v.summary or "{}"))
                for v, n in s.execute(counts)
            ]

    # review ---------------------------------------------------------------------------------------------------
    def set_status(self, scenario_id: int, status: str, who: Actor, *, comment: str = "") -> ScenarioInfo:
        """Move a scenario's status: its planner submits (or takes it back), a reviewer reviews or returns it.

        ``draft`` → ``submitted`` (a planner of the unit); ``submitted`` → ``reviewed`` (a reviewer, with the
        comment and time); ``submitted`` → ``draft`` (returned by a reviewer with a comment, or taken back).
        """
        if status not in STATUSES:
            raise WorkspaceError(f"unknown status '{status}'", fix=f"use one of {', '.join(STATUSES)}")
        with self._session.begin() as s:
            sc = self._readable(s, scenario_id, who)
            _check_move(sc, status, who, self._tree(s, sc.project_id))
            now = _now()
            if status == "submitted":
                sc.submitted_at, sc.status_version = now, sc.head
            elif who.role in REVIEWER_ROLES and (status == "reviewed" or comment):
                sc.reviewer, sc.review_comment, sc.reviewed_at = who.name, comment.strip(), now
                sc.status_version = sc.head
            sc.status, sc.updated_at = status, now
        return self.info(scenario_id, who)


def _check_move(sc: Scenario, status: str, who: Actor, tree: Mapping[str, str]) -> None:
    allowed = {
        ("draft", "submitted"): who.may_write(sc.unit, tree),
        ("submitted", "reviewed"): who.role in REVIEWER_ROLES,
        ("submitted", "draft"): who.may_write(sc.unit, tree) or who.role in REVIEWER_ROLES,
    }
    move = (sc.status, status)
    if move not in allowed:
        raise WorkspaceError(
            f"scenario '{sc.name}' is {sc.status}: it cannot become {status}",
            fix="a draft is submitted, then reviewed (or returned to draft)",
        )
    if not allowed[move]:
        raise NotAllowed(
            f"{who.name} ({who.role}) may not move scenario '{sc.name}' from {sc.status} to {status}",
            fix="the unit's planner submits; the city reviewer reviews",
        )


def _paired(rows: list[tuple], before: list[ChangeRecord]) -> Iterable[tuple[tuple, ChangeRecord | None]]:
    """Each new row with the change at its place in the version it was made on (None past its end)."""
    for i, row in enumerate(rows):
        yield row, (before[i] if i < len(before) else None)
