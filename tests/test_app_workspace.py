"""The workspace in the app (AppTest): changes saved as made, a new session goes on with them, versions, review."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from streamlit.testing.v1 import AppTest

from quarterhour.cli.scenarios import _unit_tree
from quarterhour.workspace import Actor, Store, local_actor
from quarterhour.workspace.keys import project_for
from tests.test_app import _biggest_gap_lonlat, media  # noqa: F401 - media is a fixture

APP = Path(__file__).resolve().parent.parent / "app.py"


@pytest.fixture(scope="module")
def gap(sample) -> str:
    lon, lat = _biggest_gap_lonlat(sample)
    return f"{lon:.6f}, {lat:.6f}"


@pytest.fixture
def db(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'workspace.sqlite'}"
    monkeypatch.setenv("QUARTERHOUR_DATABASE_URL", url)
    return url


def new_session() -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=120).run()


def add(app: AppTest, lonlat: str) -> AppTest:
    app.text_input(key="lonlat").set_value(lonlat)
    next(b for b in app.button if b.label == "新增").click().run()
    assert not app.exception, app.exception
    return app


def figure(app: AppTest, label: str) -> str:
    labels = [m.label for m in app.metric]
    return app.metric[labels.index(label)].value


def test_a_change_is_saved_as_made_and_a_new_session_goes_on_with_it(db, gap):
    first = add(new_session(), gap)
    covered = figure(first, "方案")
    assert covered != "38,245"
    again = new_session()  # a refresh: a new session on the same server and database
    assert not again.exception and not again.error, [e.value for e in again.error]
    assert any("已继续上次的方案" in i.value for i in again.info)
    assert figure(again, "方案") == covered and figure(again, "现状") == "38,245"
    store = Store(db)
    listed = store.scenarios(1, local_actor())
    assert len(listed) == 1 and listed[0].head == 1
    assert [c.action for c in store.open(listed[0].id, local_actor()).changes] == ["add"]


def test_the_time_asked_comes_back_with_the_scenario(db, gap):
    """A scenario looked at on weekday evenings reopens at that time (its figures were computed then)."""
    from geo.hours import parse_at

    evening = parse_at("周三 19:00")
    first = new_session()
    first.select_slider(key="hours_at").set_value(evening).run()
    add(first, gap)
    covered = figure(first, "方案")
    again = new_session()
    assert not again.exception and not again.error, [e.value for e in again.error]
    assert again.select_slider(key="hours_at").value == evening
    assert figure(again, "方案") == covered


SECOND = "7.4300, 43.7400"  # a second new centre, anywhere on the sample's streets


def test_the_parameters_come_back_with_the_scenario(db, gap):
    first = new_session()
    first.select_slider(key="minutes").set_value(10).run()
    add(first, gap)
    covered, gained = figure(first, "方案"), first.caption
    again = new_session()
    assert again.select_slider(key="minutes").value == 10
    assert figure(again, "方案") == covered
    assert [c.value for c in again.caption if "新增覆盖" in c.value] == [
        c.value for c in gained if "新增覆盖" in c.value
    ]


def test_any_version_reopens_and_the_next_change_goes_on_top(db, gap):
    app = add(new_session(), gap)
    one = figure(app, "方案")
    add(app, SECOND)
    two = figure(app, "方案")
    assert app.selectbox(key="ws_version_pick").options[0].startswith("第 2 版")
    app.selectbox(key="ws_version_pick").set_value(1).run()
    app.button(key="ws_open_version").click().run()
    assert not app.exception
    assert figure(app, "方案") == one and len(app.session_state["changes"]) == 1
    assert any("已打开方案" in s.value for s in app.success)
    add(app, SECOND)
    assert figure(app, "方案") == two
    sc = Store(db).scenarios(1, local_actor())[0]
    assert sc.head == 3 and len(Store(db).open(sc.id, local_actor()).changes) == 2


def test_a_save_overtaken_by_another_session_is_refused_and_the_newer_shown(db, gap):
    add(new_session(), gap)  # version 1
    one, two = new_session(), new_session()  # two tabs on the same scenario
    add(one, SECOND)  # version 2
    add(two, "7.4250, 43.7330")  # made on version 1: refused
    assert any("你的这次保存未执行" in e.value and "version 2" in e.value for e in two.error)
    assert [c.lon for c in two.session_state["changes"]] == [c.lon for c in one.session_state["changes"]]
    assert Store(db).scenarios(1, local_actor())[0].head == 2


def test_submitted_and_reviewed_with_a_comment(db, gap):
    app = add(new_session(), gap)
    app.button(key="ws_submit").click().run()
    assert any("已提交审核" in c.value for c in app.caption)
    app.text_area(key="ws_comment").set_value("同意，请补充联络点")
    app.button(key="ws_review").click().run()
    assert not app.exception
    assert any("已审核" in c.value for c in app.caption)
    assert any("审核第 1 版：同意，请补充联络点" in c.value for c in app.caption)
    sc = Store(db).scenarios(1, local_actor())[0]
    assert (sc.status, sc.review_comment, sc.status_version) == ("reviewed", "同意，请补充联络点", 1)


def test_two_scenarios_side_by_side(db, gap):
    app = add(new_session(), gap)
    first = figure(app, "方案")
    app.text_input(key="ws_name").set_value("方案乙")
    next(b for b in app.button if b.label == "新建方案").click().run()
    assert not app.session_state["changes"]
    add(app, SECOND)
    listed = Store(db).scenarios(1, local_actor())
    names = [s.name for s in listed]
    assert names[0] == "方案乙" and len(names) == 2
    app.selectbox(key="ws_other").set_value(listed[1].id).run()
    assert not app.exception
    table = next(df.value for df in app.dataframe if "指标" in df.value.columns)
    assert list(table.columns) == ["指标", "方案乙", names[1]]
    assert table.set_index("指标").loc["覆盖居民", names[1]] == first
    rates = next(df.value for df in app.dataframe if "方案乙 %" in df.value.columns)
    assert len(rates) == 32  # the sample's communities


def test_the_scenarios_review_pack_names_its_version_and_status(db, gap, tmp_path, media):  # noqa: F811
    app = add(new_session(), gap)
    app.button(key="ws_submit").click().run()
    app.button(key="ws_pack").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    button = next(b for b in app.get("download_button") if b.proto.label.startswith("下载方案评审材料"))
    assert button.proto.label == "下载方案评审材料（第 1 版，已提交审核）"
    with zipfile.ZipFile(io.BytesIO(media(button))) as pack:
        gpkg = next(n for n in pack.namelist() if n.endswith(".gpkg"))
        html = next(n for n in pack.namelist() if n.endswith(".html"))
        (tmp_path / "pack.gpkg").write_bytes(pack.read(gpkg))
        page = pack.read(html).decode()
    meta = pyogrio.read_info(tmp_path / "pack.gpkg", layer=0)["dataset_metadata"]["parameters"]
    assert '"scenario_version": 1' in meta and '"scenario_status": "submitted"' in meta
    assert "submitted" in page and "scenario_version" in page
    facilities = gpd.read_file(tmp_path / "pack.gpkg", layer="facilities")
    assert len(facilities) == 21  # the sample's 20 and the scenario's new centre


def sign_in(app: AppTest, name: str, password: str) -> AppTest:
    app.text_input(key="account_name").set_value(name)
    app.text_input(key="password").set_value(password)
    next(b for b in app.button if b.label == "登录").click().run()
    assert not app.exception, app.exception
    return app


@pytest.fixture
def accounts(db):
    from quarterhour.workspace.accounts import Accounts

    store = Store(db)
    a = Accounts(store)
    a.add("wang", "西北区-planner-2026", role="planner", units=("MC-D1",))
    a.add("li", "东北区-planner-2026", role="planner", units=("MC-D2",))
    a.add("zhao", "city-reviewer-2026", role="reviewer")
    project = store.project(project_for(None, None, None, None))
    store.set_units(project, *_unit_tree(None))  # the sample's unit tree and polygons, as the app records them
    theirs = store.create(project, "东北区方案", "MC-D2", Actor("li", "planner", ("MC-D2",)),
                          changes=[("add", None, "东北新中心", "study_room", 7.4300, 43.7400)])  # fmt: skip
    return a, theirs


def test_with_accounts_the_app_asks_to_sign_in_and_refuses_wrong_and_disabled(accounts):
    a, _ = accounts
    app = new_session()
    assert not app.metric and app.subheader[0].value == "登录"  # nothing of the data before signing in
    sign_in(app, "wang", "not-the-password")
    assert any("账号或密码不正确" in e.value for e in app.error) and not app.metric
    a.disable("li")
    sign_in(app, "li", "东北区-planner-2026")  # a disabled account: the same answer as a wrong password
    assert any("账号或密码不正确" in e.value for e in app.error) and not app.metric
    sign_in(app, "wang", "西北区-planner-2026")
    assert figure(app, "覆盖率") == "99.7%"
    assert any("已登录：wang（规划人员）" in c.value for c in app.sidebar.caption)


def test_a_planner_sees_and_makes_only_their_units_scenarios(accounts, gap, db):
    _, theirs = accounts
    app = sign_in(new_session(), "wang", "西北区-planner-2026")
    assert not app.session_state["changes"]  # another district's scenario is never reopened for them
    assert "ws_pick" not in [s.key for s in app.selectbox]  # nor listed
    assert app.selectbox(key="ws_unit").options == ["MC-D1 西北区 (made-up district)"]
    add(app, gap)  # the sample's biggest gap lies outside 西北区 (MC-D1): refused, in the planner's language
    assert any("位于您负责的单元（MC-D1）之外" in e.value for e in app.error), [e.value for e in app.error]
    assert not app.session_state["changes"]  # the page shows what is saved, not the refused change
    assert Store(db).scenarios(None, Actor("zhao", "reviewer"))[0].author == "li"  # nothing of wang's saved
    add(app, "7.422796, 43.740172")  # a point inside MC-D1
    mine = [s for s in Store(db).scenarios(None, Actor("zhao", "reviewer")) if s.author == "wang"]
    assert len(mine) == 1 and mine[0].unit == "MC-D1"
    reviewer = sign_in(new_session(), "zhao", "city-reviewer-2026")
    listed = reviewer.selectbox(key="ws_pick").options  # the city reviewer sees both districts'
    assert len(listed) == 2 and any(o.startswith(f"{theirs.name} · MC-D2") for o in listed)


def _cookie_scripts(app: AppTest) -> list[str]:
    return [h.proto.body for h in app.get("html") if "quarterhour_session" in h.proto.body]


def test_the_browser_keeps_the_token_not_the_password_and_forgets_it_on_sign_out(accounts):
    app = sign_in(new_session(), "wang", "西北区-planner-2026")
    token = app.session_state["token"]
    kept = _cookie_scripts(app)
    assert len(kept) == 1 and f"quarterhour_session={token}; Path=/; Max-Age=28800; SameSite=Strict" in kept[0]
    assert all("西北区-planner-2026" not in h.proto.body for h in app.get("html"))
    app.run()  # the next page does not ask again
    assert _cookie_scripts(app) == []
    next(b for b in app.sidebar.button if b.label == "退出登录").click().run()
    assert app.subheader[0].value == "登录" and "token" not in app.session_state
    from quarterhour.workspace.accounts import Accounts

    assert Accounts(Store(os.environ["QUARTERHOUR_DATABASE_URL"])).actor(token) is None  # ended on the server


AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "x" * 32,
    "client_id": "qh",
    "client_secret": "s",
    "server_metadata_url": "https://sso.example.org/.well-known/openid-configuration",
}


def test_without_single_sign_on_configured_there_is_no_organisation_button(accounts):
    app = new_session()
    assert "sign_in_sso" not in [b.key for b in app.button]
    with_sso = AppTest.from_file(str(APP), default_timeout=120)
    with_sso.secrets["auth"] = AUTH
    with_sso.run()
    assert next(b for b in with_sso.button if b.key == "sign_in_sso").label == "使用单位账号登录"


def test_a_person_signed_in_by_the_organisation_acts_as_their_account(accounts):
    a, _ = accounts
    a.add("zhou", None, role="planner", units=("MC-D3",), oidc="Zhou@Luoyang.gov.cn")
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.secrets["auth"] = AUTH
    app.user = {"is_logged_in": True, "email": "zhou@luoyang.gov.cn", "email_verified": True, "sub": "8f2c"}
    app.run()
    assert not app.exception
    assert any("已登录：zhou（规划人员）" in c.value for c in app.sidebar.caption)
    assert figure(app, "覆盖率") == "99.7%"
    units = app.selectbox(key="ws_unit").options  # the district's and those inside it (unit tree)
    assert units[0].startswith("MC-D3") and any(u.startswith("MC-S01-1") for u in units)
    stranger = AppTest.from_file(str(APP), default_timeout=120)
    stranger.secrets["auth"] = AUTH
    stranger.user = {"is_logged_in": True, "email": "nobody@example.org", "email_verified": True}
    stranger.run()
    assert any("没有与 nobody@example.org 对应的账号" in e.value for e in stranger.error)
    assert not stranger.metric
