"""The app at a time of the week (issue 31): the time control, and the headline that says the time."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ui import state as S

APP = Path(__file__).resolve().parent.parent / "app.py"


@pytest.fixture(autouse=True)
def _own_workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("QUARTERHOUR_DATABASE_URL", f"sqlite:///{tmp_path / 'workspace.sqlite'}")


def test_the_time_control_puts_the_time_in_the_headline():
    app = AppTest.from_file(str(APP), default_timeout=180).run()
    assert not app.exception
    assert not [h for h in app.subheader if "开放设施覆盖" in h.value]  # any time: no time said
    app.select_slider(key=S.HOURS_AT).set_value(2 * 1440 + 19 * 60).run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    said = [h.value for h in app.subheader if "开放设施覆盖" in h.value]
    # the sample's facilities give no hours: each counts as always open, so all 20 are open then
    assert said == ["周三 19:00 开放设施覆盖：99.7%（20 个设施中 20 个开放）"], said
    assert app.metric[0].value == "38,245 / 38,367"
