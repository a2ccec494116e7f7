"""Accounts against both real databases: argon2 hashes, wrong and disabled refused, failures slowed, sessions expire."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from quarterhour.workspace import NotAllowed, ProjectKey, Store
from quarterhour.workspace.accounts import FREE_TRIES, Accounts, SignInRefused

PASSWORD = "西北区-planner-2026"


@pytest.fixture
def store(database_url) -> Store:
    s = Store(database_url)
    yield s
    s.engine.dispose()


@pytest.fixture
def accounts(store) -> Accounts:
    a = Accounts(store)
    a.add("wang", PASSWORD, role="planner", units=("MC-D1",))
    a.add("li", "东北区-planner-2026", role="planner", units=("MC-D2",))
    a.add("zhao", "city-reviewer-2026", role="reviewer")
    return a


def test_passwords_are_kept_only_as_argon2_hashes(store, accounts):
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT name, password_hash FROM accounts")).all()
    assert all(h.startswith("$argon2id$") for _, h in rows)
    with store.engine.connect() as conn:
        dump = " ".join(str(v) for table in ("accounts", "sessions")
                        for row in conn.execute(sa.text(f"SELECT * FROM {table}")) for v in row)  # fmt: skip
    assert PASSWORD not in dump


def test_sign_in_gives_the_role_and_units(accounts):
    token, who = accounts.sign_in("wang", PASSWORD)
    assert (who.name, who.role, who.units) == ("wang", "planner", ("MC-D1",))
    assert accounts.actor(token) == who
    accounts.sign_out(token)
    assert accounts.actor(token) is None


def test_a_wrong_password_and_an_unknown_name_get_the_same_refusal(accounts):
    with pytest.raises(SignInRefused, match="wrong name or password") as wrong:
        accounts.sign_in("wang", "not-the-password")
    with pytest.raises(SignInRefused) as unknown:
        accounts.sign_in("nobody", "not-the-password")
    assert str(wrong.value) == str(unknown.value)


def test_a_disabled_account_cannot_sign_in_and_its_sessions_end(accounts):
    token, _ = accounts.sign_in("li", "东北区-planner-2026")
    accounts.disable("li")
    assert accounts.actor(token) is None
    with pytest.raises(SignInRefused, match="wrong name or password"):  # the same answer as a wrong password
        accounts.sign_in("li", "东北区-planner-2026")
    assert [a.disabled for a in accounts.list() if a.name == "li"] == [True]


def test_repeated_failures_are_slowed_down(accounts):
    now = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
    for _ in range(FREE_TRIES):
        with pytest.raises(SignInRefused, match="wrong name or password"):
            accounts.sign_in("wang", "guess", now=now)
    with pytest.raises(SignInRefused, match="the next try is checked in 1 s"):
        accounts.sign_in("wang", PASSWORD, now=now)  # even the right password waits
    later = now + dt.timedelta(seconds=2)
    with pytest.raises(SignInRefused, match="wrong name or password"):
        accounts.sign_in("wang", "guess", now=later)
    with pytest.raises(SignInRefused, match="checked in 2 s"):
        accounts.sign_in("wang", PASSWORD, now=later)
    _, who = accounts.sign_in("wang", PASSWORD, now=later + dt.timedelta(seconds=3))
    assert who.name == "wang"


def test_sessions_expire(accounts, monkeypatch):
    monkeypatch.setenv("QUARTERHOUR_SESSION_HOURS", "8")
    now = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
    token, who = accounts.sign_in("zhao", "city-reviewer-2026", now=now)
    assert accounts.actor(token, now=now + dt.timedelta(hours=7, minutes=59)) == who
    assert accounts.actor(token, now=now + dt.timedelta(hours=8)) is None


def test_accounts_refuse_what_they_cannot_be(accounts):
    with pytest.raises(Exception, match="already an account 'wang'"):
        accounts.add("wang", PASSWORD, role="planner", units=("MC-D1",))
    with pytest.raises(Exception, match="needs the units"):
        accounts.add("chen", PASSWORD, role="planner")
    with pytest.raises(Exception, match="shorter than"):
        accounts.add("chen", "short", role="reviewer")
    with pytest.raises(Exception, match="unknown role"):
        accounts.add("chen", PASSWORD, role="mayor")


def test_a_signed_in_planner_cannot_reach_another_districts_scenarios(store, accounts):
    project = store.project(ProjectKey("n", "f", "r", "u"))
    store.set_units(project, {}, {"MC-D2": "POLYGON ((7.41 43.72, 7.44 43.72, 7.44 43.75, 7.41 43.75, 7.41 43.72))"})
    _, li = accounts.sign_in("li", "东北区-planner-2026")
    _, wang = accounts.sign_in("wang", PASSWORD)
    theirs = store.create(project, "东北区方案", "MC-D2", li, changes=[("add", None, "x", "study_room", 7.42, 43.73)])
    assert store.scenarios(project, wang) == []
    for attempt in (
        lambda: store.open(theirs.id, wang),
        lambda: store.save(theirs.id, [], base=1, who=wang),
        lambda: store.versions(theirs.id, wang),
        lambda: store.set_status(theirs.id, "submitted", wang),
    ):
        with pytest.raises(NotAllowed):
            attempt()


def test_single_sign_on_maps_the_organisations_identity_to_an_enabled_account(accounts):
    accounts.add("zhou", None, role="planner", units=("410302",), oidc="Zhou@Luoyang.gov.cn")
    accounts.add("sun", "a-password-too-2026", role="reviewer", oidc="7c1e-sub")
    verified = {"is_logged_in": True, "email_verified": True}
    who = accounts.sso_actor({**verified, "email": "ZHOU@luoyang.gov.cn", "sub": "x"})
    assert (who.name, who.role, who.units) == ("zhou", "planner", ("410302",))
    assert accounts.sso_actor({**verified, "email": "sun@elsewhere.org", "sub": "7c1e-sub"}).name == "sun"  # the sub
    assert [a.last_sign_in is not None for a in accounts.list() if a.name == "zhou"] == [True]
    assert [a.oidc for a in accounts.list() if a.name == "zhou"] == ["zhou@luoyang.gov.cn"]
    with pytest.raises(SignInRefused, match=r"no workspace account for nobody@example\.org"):
        accounts.sso_actor({**verified, "email": "nobody@example.org"})
    # only the boolean true says an e-mail is verified: "false", 0, "true", missing do not count
    for unverified in (False, "false", 0, "0", "true", None):
        with pytest.raises(SignInRefused, match="no workspace account for y"):
            accounts.sso_actor({"email": "zhou@luoyang.gov.cn", "email_verified": unverified, "sub": "y"})
    # a subject that contains @ is a subject, never the account of that e-mail
    with pytest.raises(SignInRefused, match=r"no workspace account for zhou@luoyang\.gov\.cn"):
        accounts.sso_actor({"sub": "zhou@luoyang.gov.cn"})
    with pytest.raises(SignInRefused, match="no workspace account"):  # the subject exactly, not in another case
        accounts.sso_actor({"sub": "7C1E-SUB"})
    with pytest.raises(SignInRefused, match="no verified e-mail or subject"):
        accounts.sso_actor({"is_logged_in": True, "email": "zhou@luoyang.gov.cn"})
    with pytest.raises(SignInRefused, match="wrong name or password"):  # no password matches a single sign-on account
        accounts.sign_in("zhou", "!sso-only")
    accounts.disable("zhou")
    with pytest.raises(SignInRefused, match="disabled"):
        accounts.sso_actor({**verified, "email": "zhou@luoyang.gov.cn"})
    with pytest.raises(Exception, match="already signs in as another account"):
        accounts.add("zhou2", None, role="reviewer", oidc="zhou@LUOYANG.gov.cn")
    with pytest.raises(Exception, match="shorter than"):  # without an identity, a password is needed
        accounts.add("qian", None, role="reviewer")


def test_users_add_oidc_through_the_command(database_url, monkeypatch, capsys):
    from quarterhour.cli.main import main

    monkeypatch.setenv("QUARTERHOUR_DATABASE_URL", database_url)
    args = ["users", "add", "zhou", "--role", "planner", "--units", "410302", "--oidc", "zhou@luoyang.gov.cn"]
    assert main(args) == 0  # no password asked: the account signs in only through single sign-on
    out = capsys.readouterr().out.strip()
    assert out == "added planner 'zhou' for 410302, signing in as zhou@luoyang.gov.cn through single sign-on"
    assert main(["users", "list", "--admin"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("\tsingle sign-on zhou@luoyang.gov.cn")
    assert main(["users", "add", "zhou-2", *args[3:], "--admin"]) == 2
    assert "error: 'zhou@luoyang.gov.cn' already signs in as another account" in capsys.readouterr().err
    from quarterhour.workspace import open_store

    open_store(database_url).engine.dispose()  # the command's store: its connections closed before the database goes
