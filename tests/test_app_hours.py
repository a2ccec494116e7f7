"""The app at a time of the week (issue 31): the time control, and the headline that says the time."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from quarterhour.ui import state as S

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
    any_time = "任意时间（有设施开放时）"
    weeks = [d.value for d in app.dataframe if d.value.shape[1] == 3 and d.value.iloc[0, 0] == any_time]
    assert len(weeks) == 1 and weeks[0].iloc[0, 2] == 99.7  # the week's windows under the headline


def test_a_new_centre_closed_at_the_time_asked_does_not_serve_then():
    import geopandas as gpd
    import shapely

    from geo import read_facilities, sample_paths
    from geo.hours import parse_at
    from quarterhour.ui.compute import _open_changes
    from quarterhour.ui.values import Params

    facilities = read_facilities(sample_paths()["facilities"].with_name("facilities_hours.csv"))
    changes = gpd.GeoDataFrame(
        {
            "action": ["add", "add", "close"],
            "facility_id": [None, None, "F001"],
            "category": ["study_room", "liaison_point", None],
        },
        geometry=[shapely.Point(7.42, 43.73)] * 3,
        crs=4326,
    )
    base = Params(15.0, 4.5, ("study_room", "liaison_point"), (), ())
    evening = Params(15.0, 4.5, ("study_room", "liaison_point"), (), (), at=parse_at("周三 19:00"))
    assert len(_open_changes(changes, facilities, base)) == 3  # any time: every change counts
    kept = _open_changes(changes, facilities, evening)
    # the study rooms' commonest hours have them open at 19:00, the liaison points' (post offices) do not
    assert kept["category"].iloc[0] == "study_room" and kept["facility_id"].tolist()[1:] == ["F001"]
    assert kept["action"].tolist() == ["add", "close"]
