"""A unit's planner works on the units inside it, by the real hierarchy; the migration that brought it keeps the data.

Both real databases (``database_url`` runs each test on SQLite and on PostgreSQL + PostGIS).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import sqlalchemy as sa

from analysis.unittree import unit_parents
from geo import read_boundaries, sample_paths
from quarterhour.cli.scenarios import _unit_tree
from quarterhour.workspace import Actor, NotAllowed, ProjectKey, Store
from quarterhour.workspace.access import code_parent, lineage
from quarterhour.workspace.db import _sqlite_pragmas, migrate

DIVISIONS = Path(__file__).resolve().parent.parent / "data" / "luoyang" / "divisions.csv"
ADD = ("add", None, "新中心 1", "study_room", 7.4206, 43.7372)  # in MC-D3 (sub-district MC-S06)
IN_S01 = ("add", None, "新中心 2", "study_room", 7.4155, 43.7277)  # in MC-S01 (MC-D3)


@pytest.fixture
def store(database_url) -> Store:
    s = Store(database_url)
    yield s
    s.engine.dispose()


def test_the_sample_tree_comes_from_the_polygons():
    tree = unit_parents(read_boundaries(sample_paths()["boundaries"]))
    assert tree["MC-S01-1"] == "MC-S01" and tree["MC-S01"] == "MC-D3" and tree["MC-D3"] == "MC"
    assert lineage("MC-S01-1", tree) == ("MC-S01-1", "MC-S01", "MC-D3", "MC")
    assert "MC" not in tree  # the city lies in nothing


def test_a_district_planner_works_on_its_sub_districts_and_communities(store):
    project = store.project(ProjectKey("net", "fac", "res", "sample-units"))
    store.set_units(project, *_unit_tree(None))  # the tree and the polygons a planner's changes must lie in
    district = Actor("wang", "planner", ("MC-D3",))
    sub = Actor("chen", "planner", ("MC-S01",))
    other = Actor("li", "planner", ("MC-D2",))
    own = store.create(project, "区级方案", "MC-D3", district, changes=[ADD])
    street = store.create(project, "街道方案", "MC-S01", district, changes=[IN_S01])
    community = store.create(project, "社区方案", "MC-S01-1", sub)
    assert {s.name for s in store.scenarios(project, district)} == {"区级方案", "街道方案", "社区方案"}
    assert {s.name for s in store.scenarios(project, sub)} == {"街道方案", "社区方案"}
    assert store.scenarios(project, other) == []
    store.save(community.id, [ADD, ADD], base=1, who=district)  # the district's planner changes a 社区's
    store.set_status(street.id, "submitted", sub)
    with pytest.raises(NotAllowed):  # a sub-district's planner: not the district's
        store.open(own.id, sub)
    with pytest.raises(NotAllowed):
        store.create(project, "越级", "MC-D3", sub)
    with pytest.raises(NotAllowed):
        store.create(project, "邻街道", "MC-S02", sub)
    with pytest.raises(NotAllowed):
        store.save(community.id, [ADD], base=2, who=other)
    assert store.units(project)["MC-S01"] == "MC-D3"


def test_the_code_rule_matches_every_luoyang_division():
    with DIVISIONS.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) > 1000
    assert all(code_parent(r["code"]) == r["parent_code"] for r in rows)
    laocheng = Actor("wu", "planner", ("410302",))
    xigong = Actor("he", "planner", ("410303",))
    mine = [r["code"] for r in rows if r["code"].startswith("410302")]
    assert mine and all(laocheng.may_write(code) for code in mine)
    assert not any(xigong.may_read(code) for code in mine)


def test_luoyang_codes_nest_without_polygons_of_the_lower_levels(store):
    project = store.project(ProjectKey("net", "fac", "res", "luoyang"))  # city and districts only: no tree below
    district = Actor("wu", "planner", ("410302",))
    street = Actor("zhou", "planner", ("410302001",))
    neighbour = Actor("sun", "planner", ("410302002",))
    # no polygons recorded below the districts: the scope is by codes (a change's place is checked in test_rules)
    made = store.create(project, "承福门社区方案", "410302001001", district)
    assert [s.id for s in store.scenarios(project, street)] == [made.id]
    assert store.scenarios(project, neighbour) == []
    on_district = store.create(project, "老城区方案", "410302", district)
    with pytest.raises(NotAllowed):
        store.open(on_district.id, street)


def _newest() -> str:
    """The newest migration's revision (the head of quarterhour/workspace/migrations)."""
    from alembic.script import ScriptDirectory

    from quarterhour.workspace.db import _MIGRATIONS

    return ScriptDirectory(str(_MIGRATIONS)).get_current_head()


def test_the_migration_keeps_accounts_and_sessions(database_url):
    engine = sa.create_engine(database_url)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)  # foreign keys on, as the app runs it
    migrate(engine, "0002")
    now = "2026-11-27 10:00:00+00:00"
    with engine.begin() as c:
        c.execute(
            sa.text(
                "INSERT INTO accounts (name, role, units, password_hash, disabled, failed, created_at) "
                "VALUES ('wang', 'planner', 'MC-D1', '$argon2id$x', false, 0, :now)"
            ),
            {"now": now},
        )
        c.execute(
            sa.text("INSERT INTO sessions (token_sha, account_id, expires_at) VALUES ('abc', 1, :now)"), {"now": now}
        )
    engine.dispose()
    store = Store(database_url)  # opens at the newest schema
    with store.engine.connect() as c:
        assert c.execute(sa.text("SELECT name, oidc FROM accounts")).all() == [("wang", None)]
        assert c.execute(sa.text("SELECT token_sha FROM sessions")).scalars().all() == ["abc"]
        assert c.execute(sa.text("SELECT count(*) FROM units")).scalar() == 0
        assert c.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == _newest()
    store.engine.dispose()
