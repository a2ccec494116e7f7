"""The workspace store against real databases: a SQLite file and a PostgreSQL + PostGIS server (tests/pgserver.py)."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from quarterhour.cli.scenarios import _unit_tree
from quarterhour.workspace import Actor, NotAllowed, ProjectKey, StaleVersion, Store, WorkspaceError
from quarterhour.workspace.models import ChangeRow
from tests.conftest import new_postgres_database

ADD = ("add", None, "新中心 1", "study_room", 7.4206, 43.7372)
CLOSE = ("close", "F3", "Stade Louis II", "service_centre", 7.4155, 43.7277)
MOVE = ("move", "F5", "Condamine", "neighbourhood_centre", 7.4201234567891, 43.7351234567891)
WANG = Actor("wang", "planner", ("MC-D3",))  # the district that holds ADD, CLOSE and MOVE
LI = Actor("li", "planner", ("MC-D2",))
CITY = Actor("zhao", "reviewer")


@pytest.fixture
def store(database_url) -> Store:
    s = Store(database_url)
    yield s
    s.engine.dispose()


@pytest.fixture
def project(store) -> int:
    project = store.project(ProjectKey("net", "fac", "res", "units", label="sample"))
    store.set_units(project, *_unit_tree(None))  # the sample's units: a planner's changes lie inside theirs
    return project


def test_a_project_is_found_again_by_its_content(store, project):
    assert store.project(ProjectKey("net", "fac", "res", "units", label="another name")) == project
    assert store.project(ProjectKey("net", "fac2", "res", "units")) != project


def test_changes_come_back_exactly_with_author_and_time(store, project):
    sc = store.create(project, "两个新中心", "MC-D3", WANG)
    assert (sc.head, sc.status, sc.author) == (1, "draft", "wang")
    v2 = store.save(sc.id, [ADD, MOVE], base=1, who=WANG, params={"minutes": 15.0}, summary={"pop_gained": 12.0})
    opened = store.open(sc.id, WANG)
    assert opened.version == v2 == 2
    assert opened.rows == (ADD, MOVE)  # the coordinates to the last bit
    assert opened.params == {"minutes": 15.0} and opened.summary == {"pop_gained": 12.0}
    assert {c.author for c in opened.changes} == {"wang"} and all(c.made_at.tzinfo for c in opened.changes)
    first_made = opened.changes[0].made_at
    store.save(sc.id, [ADD, MOVE, CLOSE], base=2, who=Actor("admin", "admin"))
    again = store.open(sc.id, WANG)
    assert again.changes[0].made_at == first_made and again.changes[0].author == "wang"  # kept: the same change
    assert again.changes[2].author == "admin"


def test_every_version_can_be_reopened(store, project):
    sc = store.create(project, "历史", "MC-D3", WANG)
    store.save(sc.id, [ADD], base=1, who=WANG)
    store.save(sc.id, [ADD, CLOSE], base=2, who=WANG)
    store.save(sc.id, [CLOSE], base=3, who=WANG)  # undo of the first, in effect
    assert [v.number for v in store.versions(sc.id, WANG)] == [4, 3, 2, 1]
    assert [v.n_changes for v in store.versions(sc.id, WANG)] == [1, 2, 1, 0]
    assert store.open(sc.id, WANG, version=3).rows == (ADD, CLOSE)
    assert store.open(sc.id, WANG, version=1).rows == ()
    with pytest.raises(WorkspaceError, match="has no version 9"):
        store.open(sc.id, WANG, version=9)


def test_a_save_on_an_old_version_is_refused_and_names_the_newer(store, project):
    sc = store.create(project, "并发", "MC-D3", WANG)
    store.save(sc.id, [ADD], base=1, who=WANG)
    with pytest.raises(StaleVersion, match="was saved as version 2 by wang") as refused:
        store.save(sc.id, [CLOSE], base=1, who=Actor("wang2", "planner", ("MC-D3",)))
    assert refused.value.head == 2
    assert store.open(sc.id, WANG).rows == (ADD,)  # nothing overwritten


def test_two_saves_of_one_version_at_once_one_is_refused(store, project):
    sc = store.create(project, "同时保存", "MC-D3", WANG)
    barrier, outcomes = threading.Barrier(2), []

    def save(rows):
        barrier.wait()
        try:
            outcomes.append(store.save(sc.id, rows, base=1, who=WANG))
        except StaleVersion as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=save, args=(rows,)) for rows in ([ADD], [CLOSE])]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(type(o).__name__ for o in outcomes) == ["StaleVersion", "int"]
    assert store.info(sc.id, WANG).head == 2 and len(store.versions(sc.id, WANG)) == 2


def test_a_failed_save_leaves_nothing(store, project):
    sc = store.create(project, "事务", "MC-D3", WANG)
    with pytest.raises(WorkspaceError, match="unknown change"):
        store.save(sc.id, [ADD, ("demolish", None, "", "", 0, 0)], base=1, who=WANG)
    with pytest.raises(WorkspaceError, match="not a place"):
        store.save(sc.id, [("add", None, "", "", float("nan"), 0)], base=1, who=WANG)

    def stop(_mapper, _connection, target):  # the server goes away after the version's head moved, mid-save
        if target.seq == 1:
            raise ConnectionError("server stopped")

    sa.event.listen(ChangeRow, "before_insert", stop)
    try:
        with pytest.raises(ConnectionError):
            store.save(sc.id, [ADD, CLOSE], base=1, who=WANG)
    finally:
        sa.event.remove(ChangeRow, "before_insert", stop)
    assert store.info(sc.id, WANG).head == 1 and store.open(sc.id, WANG).rows == ()
    assert store.save(sc.id, [ADD, CLOSE], base=1, who=WANG) == 2  # and the same save goes through afterwards


def test_a_planner_sees_and_changes_only_their_units(store, project):
    mine = store.create(project, "西南区方案", "MC-D3", WANG)
    theirs = store.create(project, "东北区方案", "MC-D2", LI)
    assert [s.name for s in store.scenarios(project, WANG)] == ["西南区方案"]
    assert {s.name for s in store.scenarios(project, CITY)} == {"西南区方案", "东北区方案"}
    with pytest.raises(NotAllowed, match="not one of wang's"):
        store.open(theirs.id, WANG)
    with pytest.raises(NotAllowed):
        store.versions(theirs.id, WANG)
    with pytest.raises(NotAllowed):
        store.save(theirs.id, [ADD], base=1, who=WANG)
    with pytest.raises(NotAllowed, match="may not make scenarios for unit 'MC-D2'"):
        store.create(project, "越界", "MC-D2", WANG)
    with pytest.raises(NotAllowed):
        store.save(mine.id, [ADD], base=1, who=CITY)  # the reviewer reviews; it does not edit
    with pytest.raises(NotAllowed):
        store.set_status(theirs.id, "submitted", WANG)


def test_status_moves_draft_submitted_reviewed_with_the_comment(store, project):
    sc = store.create(project, "送审", "MC-D3", WANG)
    store.save(sc.id, [ADD], base=1, who=WANG)
    with pytest.raises(WorkspaceError, match="is draft: it cannot become reviewed"):
        store.set_status(sc.id, "reviewed", CITY)
    submitted = store.set_status(sc.id, "submitted", WANG)
    with pytest.raises(NotAllowed):
        store.set_status(sc.id, "reviewed", WANG)
    assert submitted.status == "submitted" and submitted.status_version == 2 and submitted.submitted_at
    reviewed = store.set_status(sc.id, "reviewed", CITY, comment="同意，补充一个联络点")
    assert (reviewed.status, reviewed.reviewer, reviewed.review_comment) == ("reviewed", "zhao", "同意，补充一个联络点")
    assert reviewed.reviewed_at >= submitted.submitted_at and reviewed.status_version == 2
    # a new save after the review is a draft again; the review still names the version it was about
    store.save(sc.id, [ADD, CLOSE], base=2, who=WANG)
    again = store.info(sc.id, WANG)
    assert again.status == "draft" and again.status_version == 2 and again.review_comment


def test_a_bad_database_url_is_one_clear_error(tmp_path):
    with pytest.raises(WorkspaceError, match="cannot open the workspace database") as refused:
        Store("postgresql://nobody:secret@127.0.0.1:1/none")
    assert "secret" not in str(refused.value)
    with pytest.raises(WorkspaceError, match="QUARTERHOUR_DATABASE_URL"):
        Store("nosuchdb://x")


def test_sqlites_busy_wait_is_ten_seconds_unless_set(tmp_path, monkeypatch):
    """QUARTERHOUR_SQLITE_BUSY_SECONDS: the production default stays 10 s; a set value is used; a bad one is named."""

    def waited(name: str) -> int:
        store = Store(f"sqlite:///{tmp_path / name}")
        with store.engine.connect() as c:
            ms = c.execute(sa.text("PRAGMA busy_timeout")).scalar_one()
        store.engine.dispose()
        return ms

    monkeypatch.delenv("QUARTERHOUR_SQLITE_BUSY_SECONDS", raising=False)
    assert waited("default.sqlite") == 10_000
    monkeypatch.setenv("QUARTERHOUR_SQLITE_BUSY_SECONDS", "0.25")
    assert waited("short.sqlite") == 250
    for bad in ("soon", "-1", "nan"):
        monkeypatch.setenv("QUARTERHOUR_SQLITE_BUSY_SECONDS", bad)
        with pytest.raises(WorkspaceError, match="QUARTERHOUR_SQLITE_BUSY_SECONDS is"):
            Store(f"sqlite:///{tmp_path / 'bad.sqlite'}")


def test_postgis_holds_each_change_as_a_point(postgres_url):
    store = Store(new_postgres_database(postgres_url))
    project = store.project(ProjectKey("n", "f", "r", "u"))
    store.set_units(project, *_unit_tree(None))
    sc = store.create(project, "点", "MC-D3", WANG, changes=[ADD])
    with store.engine.connect() as conn:
        x, y, srid = conn.execute(sa.text("SELECT ST_X(geom), ST_Y(geom), ST_SRID(geom) FROM changes")).one()
    assert (x, y, srid) == (ADD[4], ADD[5], 4326)
    assert store.open(sc.id, WANG).rows == (ADD,)
    store.engine.dispose()


def test_planners_opening_the_same_new_data_at_once_share_one_project(store):
    """Eight sessions open the same new inputs at the same moment (a review meeting): one project, no error.

    Each session looks for the project, makes it when it is not there, and records its unit tree; the
    looking and the making raced (``UNIQUE constraint failed: projects.key`` reached a planner as 程序出错).
    """
    parents, shapes = _unit_tree(None)
    for round_ in range(4):
        key = ProjectKey("net", f"fac{round_}", "res", "units", label="同时打开")
        barrier, found, failed = threading.Barrier(8), [], []

        def open_project(key=key, barrier=barrier, found=found, failed=failed):
            barrier.wait()
            try:
                project = store.project(key)
                store.set_units(project, parents, shapes)
                found.append(project)
            except Exception as exc:  # every failure is the finding
                failed.append(repr(exc)[:300])

        threads = [threading.Thread(target=open_project) for _ in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert failed == [] and len(found) == 8 and len(set(found)) == 1, (failed, found)
        assert store.units(found[0]) == store.units(store.project(key)) and store.units(found[0])
    with store.engine.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM projects")).scalar() == 4
