"""The workspace in the app (AppTest): changes saved as made, a new session goes on with them, versions, review."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.test_app import _biggest_gap_lonlat
from workspace import Store, local_actor

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
