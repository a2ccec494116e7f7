"""Projects that hold their inputs (issue 28): files kept once by hash and checked, versions pinning their inputs,
each account's page; the workspace's files 0600 under umask 022; on SQLite and PostgreSQL, and in the app.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from geo import sample_paths
from quarterhour.cli.scenarios import _unit_tree
from quarterhour.workspace import Actor, Store, WorkspaceError, open_store
from quarterhour.workspace.db import migrate
from quarterhour.workspace.keys import project_for
from quarterhour.workspace.projects import KeptInput, Projects, file_area
from tests.test_app import _biggest_gap_lonlat

APP = Path(__file__).resolve().parent.parent / "app.py"
WANG = Actor("wang", "planner", ("MC-D1",))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _project(store: Store, kept: Projects, facilities: bytes, name: str) -> int:
    sha = kept.keep_file(facilities, name=name)
    project = store.project(project_for(None, f"/nowhere/{sha}.geojson", None, None))
    kept.keep_inputs(
        project,
        {
            "network": KeptInput("network", "sample", "sample"),
            "facilities": KeptInput("facilities", "file", sha256=sha, name=name, options={"crs": "auto"}),
            "demand": KeptInput("demand", "sample", "sample", options={"crs": "auto", "total": None}),
            "units": KeptInput("units", "text", "sample"),
        },
    )
    store.set_units(project, *_unit_tree(None))  # the sample's units, whose polygons bound a planner's changes
    return project


def test_an_input_file_is_kept_once_and_checked_before_use(database_url, monkeypatch):
    store = Store(database_url)
    kept = Projects(store)
    data = sample_paths()["facilities"].read_bytes()
    sha = kept.keep_file(data, name="设施.geojson")
    assert sha == hashlib.sha256(data).hexdigest() and kept.keep_file(data) == sha  # kept once
    with store.engine.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM input_files")).scalar_one() == 1
    assert kept.read_file(sha) == data
    area = file_area(store.url)
    if area is not None:  # SQLite: the file area beside the database, the row holds no bytes
        assert (area / sha).read_bytes() == data
        (area / sha).write_bytes(data[:-1] + b" ")
    else:  # PostgreSQL: the bytes are in the row
        with store.engine.begin() as c:
            c.execute(sa.text("UPDATE input_files SET data = :d"), {"d": data[:-1] + b" "})
    with pytest.raises(WorkspaceError, match="does not match its SHA-256"):
        kept.read_file(sha)
    if area is not None:
        (area / sha).write_bytes(data[:100])
        with pytest.raises(WorkspaceError, match=r"truncated \(100 of"):
            kept.read_file(sha)
    monkeypatch.setattr("quarterhour.workspace.projects.MAX_INPUT_BYTES", 1000)
    with pytest.raises(WorkspaceError, match=r"big\.geojson is [\d.]+ MB; a project keeps files up to"):
        kept.keep_file(b"x" * 1001, name="big.geojson")
    store.engine.dispose()


def test_each_version_pins_its_inputs_and_a_comparison_says_which_differ(database_url):
    store = Store(database_url)
    kept = Projects(store)
    data = sample_paths()["facilities"].read_bytes()
    fewer = json.loads(data)
    fewer["features"] = fewer["features"][:-1]
    one = _project(store, kept, data, "设施.geojson")
    two = _project(store, kept, json.dumps(fewer).encode(), "设施（改）.geojson")
    change = [("add", None, "新中心 1", "study_room", 7.422796, 43.740172)]  # inside MC-D1, wang's unit
    a = store.create(one, "甲", "MC-D1", WANG, changes=change)
    b = store.create(two, "乙", "MC-D1", WANG, changes=change)
    pinned = kept.version_inputs(a.id, 1, WANG)
    assert pinned["facilities"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert pinned["facilities"]["name"] == "设施.geojson" and pinned["network"]["kind"] == "sample"
    assert kept.compare((a.id, 1), (b.id, 1), WANG) == ["facilities"]
    store.save(a.id, change * 2, base=1, who=WANG)
    assert kept.compare((a.id, 1), (a.id, 2), WANG) == []  # same inputs
    with pytest.raises(WorkspaceError, match="has no version 9"):
        kept.version_inputs(a.id, 9, WANG)
    other = Actor("li", "planner", ("MC-D2",))
    with pytest.raises(WorkspaceError, match="not one of li's"):
        kept.version_inputs(a.id, 1, other)
    store.engine.dispose()


def test_the_accounts_newest_page_is_the_one_reopened(database_url):
    store = Store(database_url)
    kept = Projects(store)
    one = _project(store, kept, b'{"type": "FeatureCollection", "features": []}', "空.geojson")
    two = store.project(project_for(None, None, None, None))
    sc = store.create(two, "甲", "MC-D1", WANG)
    kept.save_page("wang", one, params={"minutes": 10})
    kept.save_page("wang", two, scenario_id=sc.id, version=1, base=1, params={"minutes": 15})
    kept.save_page("li", one)
    page = kept.last_page("wang")
    assert (page.project_id, page.scenario_id, page.version, page.base, page.params) == (two, sc.id, 1, 1,
                                                                                        {"minutes": 15})  # fmt: skip
    kept.save_page("wang", one, params={"minutes": 5})  # the same page again: replaced, now the newest
    assert kept.last_page("wang").params == {"minutes": 5} and kept.last_page("nobody") is None
    store.engine.dispose()


def test_files_the_workspace_makes_are_the_servers_users_alone_under_umask_022(tmp_path):
    old = os.umask(0o022)
    try:
        database = tmp_path / "new" / "workspace.sqlite"
        store = Store(f"sqlite:///{database}")
        sha = Projects(store).keep_file(b"name,lon,lat\n", name="a.csv")
        store.create(store.project(project_for(None, None, None, None)), "甲", "", Actor("me"))
        made = [database, database.with_name("workspace.sqlite-wal"), database.with_name("workspace.sqlite-shm"),
                file_area(store.url) / sha]  # fmt: skip
        assert {p.name: oct(_mode(p)) for p in made} == {p.name: "0o600" for p in made}
        assert _mode(file_area(store.url)) == 0o700 and _mode(database.parent) == 0o700
        store.engine.dispose()
        older = tmp_path / "older.sqlite"  # a workspace file an earlier version left readable by all
        older.touch(mode=0o644)
        assert _mode(older) == 0o644
        Store(f"sqlite:///{older}").engine.dispose()
        assert _mode(older) == 0o600
    finally:
        os.umask(old)


def test_the_migration_keeps_what_was_saved_and_goes_back(tmp_path):
    url = f"sqlite:///{tmp_path / 'workspace.sqlite'}"
    engine = sa.create_engine(url)
    migrate(engine, "0003")
    store = Store(url)  # upgraded through 0004_project_inputs to the newest revision on opening
    with store.engine.connect() as c:
        assert c.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == _head()
    sc = store.create(store.project(project_for(None, None, None, None)), "甲", "", Actor("me"))
    assert Projects(store).version_inputs(sc.id, 1, Actor("me")) == {}  # no kept inputs: none pinned
    _downgrade(store.engine, "0003")
    with store.engine.connect() as c:
        assert "pages" not in sa.inspect(c).get_table_names()
        assert "inputs" not in {col["name"] for col in sa.inspect(c).get_columns("versions")}
        assert c.execute(sa.text("SELECT count(*) FROM versions")).scalar_one() == 1
    store.engine.dispose()
    engine.dispose()


def _head() -> str:
    from alembic.script import ScriptDirectory

    from quarterhour.workspace.db import _MIGRATIONS

    return ScriptDirectory(str(_MIGRATIONS)).get_current_head()


def _downgrade(engine: sa.Engine, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    from quarterhour.workspace.db import _MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


# the app --------------------------------------------------------------------------------------------------------
@pytest.fixture
def db(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'workspace.sqlite'}"
    monkeypatch.setenv("QUARTERHOUR_DATABASE_URL", url)
    return url


def _accounts(url: str):
    from quarterhour.workspace.accounts import Accounts

    a = Accounts(open_store(url))  # the server's store, as the app opens it (kept open, as by a server)
    a.add("wang", "西北区-planner-2026", role="planner", units=("MC-D3",))  # the district of the biggest gap
    a.add("zhao", "city-reviewer-2026", role="reviewer")
    return a


@pytest.fixture
def accounts(db):
    from quarterhour.workspace.accounts import Accounts

    a = Accounts(open_store(db))
    a.add("wang", "西北区-planner-2026", role="planner", units=("MC-D3",))  # the district of the biggest gap
    a.add("zhao", "city-reviewer-2026", role="reviewer")
    return a


@pytest.fixture(scope="module")
def gap(sample) -> str:
    lon, lat = _biggest_gap_lonlat(sample)
    return f"{lon:.6f}, {lat:.6f}"


def sign_in(name: str, password: str) -> AppTest:
    app = AppTest.from_file(str(APP), default_timeout=120).run()
    app.text_input(key="account_name").set_value(name)
    app.text_input(key="password").set_value(password)
    next(b for b in app.button if b.label == "登录").click().run()
    assert not app.exception, app.exception
    return app


def add(app: AppTest, lonlat: str) -> AppTest:
    app.text_input(key="lonlat").set_value(lonlat)
    next(b for b in app.button if b.label == "新增").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    return app


def figure(app: AppTest, label: str) -> str:
    labels = [m.label for m in app.metric]
    return app.metric[labels.index(label)].value


def test_a_planners_page_comes_back_whole_with_the_version_that_was_open(db, gap):
    """The page on SQLite; the same pages on PostgreSQL: test_the_accounts_newest_page_is_the_one_reopened."""
    _accounts(db)
    store = open_store(db)
    first = sign_in("wang", "西北区-planner-2026")
    first.select_slider(key="minutes").set_value(10).run()
    first.selectbox(key="demand_crs").set_value("wgs84").run()
    add(first, gap)
    add(first, "7.4206, 43.7372")  # also in MC-D3
    assert len(first.session_state["changes"]) == 2
    first.selectbox(key="ws_version_pick").set_value(1).run()
    next(b for b in first.button if b.key == "ws_open_version").click().run()
    covered_v1 = figure(first, "方案")
    assert len(first.session_state["changes"]) == 1 and covered_v1 != figure(first, "现状")

    again = sign_in("wang", "西北区-planner-2026")  # another machine, or the server restarted: a new session
    assert not again.error, [e.value for e in again.error]
    assert again.select_slider(key="minutes").value == 10 and again.selectbox(key="demand_crs").value == "wgs84"
    assert len(again.session_state["changes"]) == 1 and figure(again, "方案") == covered_v1
    assert again.session_state["ws_shown"] == 1 and again.session_state["ws_base"] == 2
    assert any("已继续上次的方案" in i.value and "第 1 版" in i.value for i in again.info)
    assert store.scenarios(None, WANG)[0].head == 2  # reopening saved nothing
    page = Projects(store).last_page("wang")
    assert (page.version, page.base, page.params["minutes"]) == (1, 2, 10)


def test_a_kept_upload_comes_back_by_the_planners_name(db, sample):
    """The page on SQLite; a kept file read from, and refused when changed in, PostgreSQL's row:
    test_an_input_file_is_kept_once_and_checked_before_use (the page's refusal is the store's, on either)."""
    _accounts(db)
    store = open_store(db)
    kept = Projects(store)
    data = json.loads(sample_paths()["facilities"].read_bytes())
    data["features"] = data["features"][:3]  # three centres: fewer residents covered
    name = "西北区服务设施.geojson"
    project = _project(store, kept, json.dumps(data, ensure_ascii=False).encode(), name)
    kept.save_page("wang", project, params={})
    app = sign_in("wang", "西北区-planner-2026")
    assert not app.error, [e.value for e in app.error]
    assert any(f"已从项目恢复：{name}" in c.value for c in app.sidebar.caption)
    stored = app.session_state["ws_kept"]["facilities_file"]
    assert Path(stored).name.startswith(hashlib.sha256(json.dumps(data, ensure_ascii=False).encode()).hexdigest())
    assert figure(app, "覆盖率") != "99.7%"  # the three computed, not the sample
    assert name in " ".join(c.value for c in app.caption)  # the notes say the planner's file name
    Path(stored).unlink()  # the uploads folder pruned it (unused for a day): put back from the workspace
    app.run()
    assert Path(stored).is_file() and any(f"已从项目恢复：{name}" in c.value for c in app.sidebar.caption)
    sha = Path(stored).name.split(".")[0]
    kept_copy = file_area(store.url) / sha  # the kept copy changed in the file area
    kept_copy.write_bytes(kept_copy.read_bytes().replace(b"Feature", b"feature", 1))
    Path(stored).unlink()
    damaged = sign_in("wang", "西北区-planner-2026")
    assert any(f"项目中保存的输入文件“{name}”已损坏或缺失" in e.value for e in damaged.error)
    assert "ws_kept" not in damaged.session_state or not damaged.session_state["ws_kept"]


def test_a_reviewers_view_is_read_only(accounts, gap, db):
    add(sign_in("wang", "西北区-planner-2026"), gap)
    reviewer = sign_in("zhao", "city-reviewer-2026")
    keys = {b.key for b in reviewer.button}
    assert not keys & {"undo", "clear", "ws_new"} and "lonlat" not in [i.key for i in reviewer.text_input]
    assert "click_mode" not in [r.key for r in reviewer.radio]
    assert any("只读" in c.value for c in reviewer.caption)
    assert len(reviewer.session_state["changes"]) == 1
    reviewer.session_state["changes"].pop()  # what an undo did: the view goes back to what is saved
    reviewer.run()
    assert not reviewer.error and len(reviewer.session_state["changes"]) == 1
    assert Store(db).scenarios(None, Actor("zhao", "reviewer"))[0].head == 1


def test_a_workspace_that_cannot_be_opened_fails_closed(tmp_path, monkeypatch):
    folder = tmp_path / "秘密的路径"
    folder.mkdir()
    monkeypatch.setenv("QUARTERHOUR_DATABASE_URL", f"sqlite:///{folder}")  # a folder: SQLite cannot open it
    app = AppTest.from_file(str(APP), default_timeout=120).run()
    _closed(app, str(folder))


def test_a_locked_workspace_fails_closed(tmp_path, monkeypatch):
    import sqlite3

    database = tmp_path / "locked.sqlite"
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("CREATE TABLE x (a)")
    holder.execute("BEGIN EXCLUSIVE")  # another process holds the file (a backup, a second server's upgrade)
    try:
        monkeypatch.setenv("QUARTERHOUR_SQLITE_BUSY_SECONDS", "0.2")  # the same refusal, without the 10 s wait
        monkeypatch.setenv("QUARTERHOUR_DATABASE_URL", f"sqlite:///{database}")
        app = AppTest.from_file(str(APP), default_timeout=120).run()
        _closed(app, str(database))
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_workspace_locked_in_the_middle_of_a_session_fails_closed(accounts, db, monkeypatch):
    import sqlite3

    app = sign_in("wang", "西北区-planner-2026")
    assert app.metric
    monkeypatch.setenv("QUARTERHOUR_SQLITE_BUSY_SECONDS", "0.2")  # read at each new connection: no 10 s waits
    database = db.removeprefix("sqlite:///")
    open_store(db).engine.dispose()  # the server's idle connections closed: the holder can take the file whole
    holder = sqlite3.connect(database, isolation_level=None, timeout=10)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")  # even WAL's readers wait (a backup tool, an operator's shell)
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("INSERT INTO units SELECT * FROM units WHERE 0")
    try:
        app.run()
        _closed(app, database)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    app.run()  # the lock is gone: the planner's page again, still signed in
    assert app.metric and not app.error
    open_store(db).engine.dispose()  # no pooled connection keeps the short wait for the tests after this one


def _closed(app: AppTest, path: str) -> None:
    assert not app.exception
    assert app.subheader[0].value == "登录" and any("工作区暂时无法打开" in e.value for e in app.error)
    assert not app.metric and not app.sidebar.caption  # no data, not the local user's page
    shown = [e.value for e in (*app.error, *app.markdown, *app.caption, *app.warning, *app.info)]
    assert all(path not in text and "sqlite" not in text for text in shown), shown
