"""The workspace store: projects, scenarios and their versions, read and written through SQLAlchemy.

Every call is one transaction: a save that stops half-way leaves nothing.
Every save names the version it was made on (``base``); when the scenario has
moved on meanwhile (another planner, another tab), the save is refused with
``StaleVersion`` and nothing is overwritten. Each call takes the ``Actor`` who
asks, and refuses with ``NotAllowed`` what that account may not see or change:
a planner's units include the units inside them, by the project's unit tree
(``set_units``) and the statistical code rule (``quarterhour.workspace.access.lineage``).

Examples
--------
>>> store = Store("sqlite://")  # in memory; the app's default is a file in the user's data folder
>>> me = Actor("wang", "planner", ("MC-D1",))
>>> project = store.project(ProjectKey("n", "f", "r", "u", label="sample"))
>>> store.set_units(project, {}, {"MC-D1": "POLYGON ((7.40 43.72, 7.44 43.72, 7.44 43.75, 7.40 43.75, 7.40 43.72))"})
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
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from geo.notes import note
from quarterhour.workspace.access import REVIEWER_ROLES, Actor
from quarterhour.workspace.audit import log
from quarterhour.workspace.db import database_url, open_engine
from quarterhour.workspace.errors import NotAllowed, StaleVersion, WorkspaceError
from quarterhour.workspace.models import STATUSES, ChangeRow, Project, Scenario, UnitRow, UnitShape, Version
from quarterhour.workspace.projects import pinned
from quarterhour.workspace.records import ChangeRecord, Opened, ProjectKey, ScenarioInfo, VersionInfo

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


#: The longest text each field holds, the same on SQLite and PostgreSQL (checked before the database is asked).
LIMITS = {"scenario": 200, "unit": 100, "facility_id": 200, "name": 400, "category": 60}


def _fits(what: str, text: str, *, row: int | None = None) -> str:
    """``text`` if it fits its column (``LIMITS``), else a ``WorkspaceError`` naming the field and the change."""
    if len(text) > LIMITS[what]:
        where = f"change {row}: " if row is not None else ""
        raise WorkspaceError.said(
            "too_long" if row is None else "too_long_row",
            f"{where}the {what.replace('_', ' ')} is {len(text)} characters long, more than the {LIMITS[what]} kept",
            fix=f"shorten it to at most {LIMITS[what]} characters",
            what=note(f"field_{what}"),  # the field's name, said in the planner's language
            n=len(text),
            limit=LIMITS[what],
            row="" if row is None else row,
        )
    return text


def _plain_row(row: Sequence, i: int = 1) -> tuple:
    """A change row checked and made plain: action, facility id or None, name, category, lon, lat."""
    action, facility_id, name, category, lon, lat = row
    if action not in ("add", "move", "close"):
        raise WorkspaceError("store_unknown_change_action", action=action)
    if not (math.isfinite(float(lon)) and math.isfinite(float(lat))):
        raise WorkspaceError("store_lon_lat_not_place", lon=lon, lat=lat)
    _fits("facility_id", str(facility_id or ""), row=i)
    _fits("name", str(name or ""), row=i)
    _fits("category", str(category or ""), row=i)
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
        """The project of these inputs (made the first time they are seen): its id.

        Sessions opening the same new inputs at the same moment (a review meeting) all get the one project:
        the one whose insert loses the race takes the winner's.
        """
        with self._session() as s:
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
        try:
            with self._session.begin() as s:
                s.add(project)
        except IntegrityError:  # another session made it meanwhile (``projects.key`` is unique)
            with self._session() as s:
                return s.scalars(sa.select(Project.id).where(Project.key == key.key)).one()
        return project.id

    def set_units(
        self, project_id: int, parents: Mapping[str, str], shapes: Mapping[str, object] | None = None
    ) -> None:
        """Record the project's unit tree: each unit's code → the code of the unit it lies in (replaced whole).

        ``shapes``: each unit's polygon in WGS-84 (a shapely geometry or WKT), kept so that a planner's
        changes can be checked to lie inside their units (replaced whole when given).
        """
        wanted = {str(code): str(up) for code, up in parents.items() if code and up and code != up}
        wkts = None if shapes is None else {str(c): _wkt(g) for c, g in shapes.items() if c and g is not None}
        for attempt in range(3):  # sessions recording the same new project's units at once: again, then equal
            try:
                with self._session.begin() as s:
                    if self._tree(s, project_id) != wanted:
                        s.execute(sa.delete(UnitRow).where(UnitRow.project_id == project_id))
                        s.add_all(UnitRow(project_id=project_id, code=c, parent=up) for c, up in wanted.items())
                    if wkts is not None and dict(self._shapes(s, project_id)) != wkts:
                        s.execute(sa.delete(UnitShape).where(UnitShape.project_id == project_id))
                        s.add_all(UnitShape(project_id=project_id, code=c, wkt=w) for c, w in wkts.items())
                return
            except IntegrityError:  # another session wrote them between our delete and insert
                if attempt == 2:
                    raise

    @staticmethod
    def _shapes(s: Session, project_id: int) -> list[tuple[str, str]]:
        rows = s.execute(sa.select(UnitShape.code, UnitShape.wkt).where(UnitShape.project_id == project_id))
        return [tuple(r) for r in rows.all()]

    def known_units(self) -> set[str]:
        """Every unit code the workspace knows: each project's units, the units they lie in, and their shapes."""
        with self._session() as s:
            found = set(s.scalars(sa.select(UnitRow.code))) | set(s.scalars(sa.select(UnitRow.parent)))
            return found | set(s.scalars(sa.select(UnitShape.code)))

    def area(self, who: Actor) -> object | None:
        """The union of a planner's units' polygons (WGS-84) over every project, or None when none is recorded."""
        from shapely import wkt as shapely_wkt
        from shapely.ops import unary_union

        with self._session() as s:
            shapes = []
            for (project_id,) in s.execute(sa.select(UnitShape.project_id).distinct()):
                tree = self._tree(s, project_id)
                shapes += [shapely_wkt.loads(w) for c, w in self._shapes(s, project_id) if who.in_scope(c, tree)]
        return unary_union(shapes) if shapes else None

    def _check_places(self, s: Session, project_id: int, rows: Sequence[tuple], who: Actor) -> None:
        """A planner's changes must lie inside their units (the units' polygons as recorded), else ``NotAllowed``.

        Strictly inside (the border counts as inside): a centre across the border serves the neighbouring
        unit's residents, and is that unit's planner's to propose. Other roles are not limited.
        """
        if who.role != "planner" or not rows:
            return
        from shapely import wkt as shapely_wkt
        from shapely.geometry import Point
        from shapely.ops import unary_union

        tree = self._tree(s, project_id)
        mine = [w for code, w in self._shapes(s, project_id) if who.in_scope(code, tree)]
        if not mine:
            raise NotAllowed.said(
                "no_unit_shapes",
                f"the boundaries of {who.name}'s units ({', '.join(who.units)}) are not recorded for this data, "
                "so the changes cannot be checked",
                fix="open the data with its review units in the app, or import with --boundaries",
                units=", ".join(who.units),
            )
        area = unary_union([shapely_wkt.loads(w) for w in mine])
        for i, (action, _fid, name, _cat, lon, lat) in enumerate(rows, start=1):
            if not area.covers(Point(lon, lat)):
                raise NotAllowed.said(
                    "outside_units",
                    f"change {i} ({action} '{name}') at {lon:.5f}, {lat:.5f} lies outside {who.name}'s units "
                    f"({', '.join(who.units)})",
                    fix="a planner changes centres inside their own units only; ask the neighbouring unit's planner",
                    row=i,
                    action=action,
                    name=name,
                    lon=f"{lon:.5f}",
                    lat=f"{lat:.5f}",
                    units=", ".join(who.units),
                )

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
            return [_info(sc) for sc in found if who.may_read(sc.unit, trees[sc.project_id], author=sc.author)]

    def create(self, project_id: int, name: str, unit: str, who: Actor, **first: object) -> ScenarioInfo:
        """A new scenario in ``unit`` by ``who``, as version 1 (``first``: ``changes``, ``params``, ``summary``).

        One transaction: the scenario and its first version are made together, or neither is.
        """
        name = _fits("scenario", (name or "").strip())
        unit = _fits("unit", (unit or "").strip())
        if not name:
            raise WorkspaceError("store_scenario_needs_name")
        rows = [_plain_row(r, i) for i, r in enumerate(first.get("changes", ()), start=1)]
        with self._session.begin() as s:
            if s.get(Project, project_id) is None:
                raise WorkspaceError("store_no_project_project_id", project_id=project_id)
            if not who.may_write(unit, self._tree(s, project_id)):
                raise NotAllowed.said(
                    "unit_not_yours",
                    f"{who.name} may not make scenarios for unit '{unit or 'city'}'",
                    fix=f"choose one of your units or a unit inside them: {', '.join(who.units) or 'none'}",
                    unit=unit or "city",
                    units=", ".join(who.units) or "-",
                )
            self._check_places(s, project_id, rows, who)
            now = _now()
            sc = Scenario(
                project_id=project_id,
                name=name,
                unit=unit,
                author=who.name,
                status="draft",
                head=1,
                created_at=now,
                updated_at=now,
            )
            s.add(sc)
            s.flush()
            scenario_id = sc.id
            s.add(
                self._version(
                    scenario_id,
                    1,
                    rows,
                    before=[],
                    who=who,
                    now=now,
                    params=first.get("params"),
                    summary=first.get("summary"),
                    inputs=pinned(s, project_id),  # the inputs the figures were computed on (issue 28)
                )
            )
            log(s, who, "create", scenario_id=scenario_id, version=1, detail=f"{name} ({unit or 'city'})")
        return self.info(scenario_id, who)

    @staticmethod
    def _version(
        scenario_id: int,
        number: int,
        rows: list[tuple],
        *,
        before: list[ChangeRecord],
        who: Actor,
        now: dt.datetime,
        params: object,
        summary: object,
        **pins: str,
    ) -> Version:
        kept = [(b.author, b.made_at) if b and b.row == r else (who.name, now) for r, b in _paired(rows, before)]
        return Version(
            scenario_id=scenario_id,
            number=number,
            author=who.name,
            saved_at=now,
            params_sha=params_sha(params or {}),
            params=json.dumps(params or {}, ensure_ascii=False, sort_keys=True),
            summary=json.dumps(summary or {}, ensure_ascii=False, sort_keys=True),
            **pins,  # inputs=: the JSON of the inputs the figures were computed on
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

    def info(self, scenario_id: int, who: Actor) -> ScenarioInfo:
        """One scenario as listed, if this account may see it."""
        with self._session() as s:
            return _info(self._readable(s, scenario_id, who))

    def _readable(self, s: Session, scenario_id: int, who: Actor) -> Scenario:
        sc = s.get(Scenario, scenario_id)
        if sc is None:
            raise WorkspaceError("store_no_scenario_scenario_id", scenario_id=scenario_id)
        if not who.may_read(sc.unit, self._tree(s, sc.project_id), author=sc.author):
            raise NotAllowed("store_scenario_scenario_id_belongs", scenario_id=scenario_id, unit=sc.unit, name=who.name)
        return sc

    def _writable(self, scenario_id: int, who: Actor) -> Scenario:
        with self._session() as s:
            sc = self._readable(s, scenario_id, who)
            tree = self._tree(s, sc.project_id)
        if not who.may_write(sc.unit, tree):
            raise NotAllowed(
                "store_name_role_may_not_2", name=who.name, role=who.role, scenario_id=scenario_id, unit=sc.unit
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
        rows = [_plain_row(r, i) for i, r in enumerate(changes, start=1)]
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
            self._check_places(s, sc.project_id, rows, who)
            before = self._changes(s, scenario_id, base)
            s.add(
                self._version(
                    scenario_id,
                    base + 1,
                    rows,
                    before=before,
                    who=who,
                    now=now,
                    params=params,
                    summary=summary,
                    inputs=pinned(s, sc.project_id),  # the inputs the figures were computed on (issue 28)
                )
            )
            log(s, who, "change", scenario_id=scenario_id, version=base + 1, detail=f"{len(rows)} changes")
        return base + 1

    def _stale(self, s: Session, sc: Scenario, base: int, *, status: bool = False) -> StaleVersion:
        head = s.execute(sa.select(Scenario.head).where(Scenario.id == sc.id)).scalar_one()
        last = s.scalar(sa.select(Version).where(Version.scenario_id == sc.id, Version.number == head))
        by = note("saved_by", author=last.author, at=f"{_utc(last.saved_at):%Y-%m-%d %H:%M}") if last else ""
        return StaleVersion("stale_status" if status else "stale_save", head=head, name=sc.name, by=by, base=base)

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
                raise WorkspaceError("store_scenario_name_has_no", name=sc.name, number=number, head=sc.head)
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
    def set_status(
        self, scenario_id: int, status: str, who: Actor, *, comment: str = "", version: int | None = None
    ) -> ScenarioInfo:
        """Move a scenario's status: its planner submits (or takes it back), a reviewer reviews or returns it.

        ``draft`` → ``submitted`` (a planner of the unit); ``submitted`` → ``reviewed`` (a reviewer, with the
        comment and time); ``submitted`` → ``draft`` (returned by a reviewer with a comment, or taken back).
        A reviewer does not review a scenario they made or changed (self-approval is refused).

        ``version``: the version the person looked at (the app passes the one it shows); the move is a
        compare-and-set on the scenario's newest version and status, so a save made meanwhile (by another
        planner, another tab) makes it fail with ``StaleVersion`` rather than mark an unseen version reviewed.
        """
        if status not in STATUSES:
            raise WorkspaceError("store_unknown_status_status", status=status, statuses=", ".join(STATUSES))
        with self._session.begin() as s:
            sc = self._readable(s, scenario_id, who)
            seen_head, seen_status = sc.head, sc.status
            if version is not None and int(version) != seen_head:
                raise self._stale(s, sc, int(version), status=True)
            tree = self._tree(s, sc.project_id)
            _check_move(sc, status, who, tree)
            if status == "reviewed" or (status == "draft" and who.role in REVIEWER_ROLES and comment.strip()):
                self._not_own(s, sc, who)
            if status == "submitted":
                self._check_places(s, sc.project_id, [c.row for c in self._changes(s, sc.id, seen_head)], who)
            now = _now()
            values: dict = {"status": status, "updated_at": now}
            if status == "submitted":
                values |= {"submitted_at": now, "status_version": seen_head}
            elif who.role in REVIEWER_ROLES and (status == "reviewed" or comment):
                values |= {"reviewer": who.name, "review_comment": comment.strip(), "reviewed_at": now}
                values["status_version"] = seen_head
            moved = s.execute(
                sa.update(Scenario)
                .where(Scenario.id == scenario_id, Scenario.head == seen_head, Scenario.status == seen_status)
                .values(**values)
            )
            if moved.rowcount != 1:
                raise self._stale(s, sc, seen_head, status=True)
            action = {"submitted": "submit", "reviewed": "review"}.get(status)
            action = action or ("return" if who.role in REVIEWER_ROLES and comment.strip() else "withdraw")
            log(s, who, action, scenario_id=scenario_id, version=seen_head, detail=comment.strip()[:500])
        return self.info(scenario_id, who)

    def _not_own(self, s: Session, sc: Scenario, who: Actor) -> None:
        """Refuse a review by the scenario's author or by anyone who saved or changed its newest version."""
        if who.role == "local":  # a workspace without accounts has one user, who reviews their own work
            return
        authors = {sc.author}
        authors |= set(s.scalars(sa.select(Version.author).where(Version.scenario_id == sc.id)))
        if who.name in authors:
            raise NotAllowed.said(
                "self_review",
                f"{who.name} made or changed scenario '{sc.name}' and so cannot review it",
                fix="another reviewer reviews it",
                name=who.name,
                scenario=sc.name,
            )


def _check_move(sc: Scenario, status: str, who: Actor, tree: Mapping[str, str]) -> None:
    allowed = {
        ("draft", "submitted"): who.may_write(sc.unit, tree),
        ("submitted", "reviewed"): who.role in REVIEWER_ROLES,
        ("submitted", "draft"): who.may_write(sc.unit, tree) or who.role in REVIEWER_ROLES,
    }
    move = (sc.status, status)
    if move not in allowed:
        raise WorkspaceError("store_scenario_name_status_cannot", name=sc.name, status=sc.status, status2=status)
    if not allowed[move]:
        raise NotAllowed(
            "store_name_role_may_not", name=who.name, role=who.role, name2=sc.name, status=sc.status, status2=status
        )


def _wkt(shape: object) -> str:
    """A polygon as WKT (WGS-84, to 1e-7 degrees, about a centimetre)."""
    if isinstance(shape, str):
        return shape
    from shapely import wkt as shapely_wkt

    return shapely_wkt.dumps(shape, rounding_precision=7)


def _paired(rows: list[tuple], before: list[ChangeRecord]) -> Iterable[tuple[tuple, ChangeRecord | None]]:
    """Each new row with the change at its place in the version it was made on (None past its end)."""
    for i, row in enumerate(rows):
        yield row, (before[i] if i < len(before) else None)
