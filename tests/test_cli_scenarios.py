"""``quarterhour scenarios``: import, list, export and review through the command, on a real SQLite workspace."""

from __future__ import annotations

import pyogrio
import pytest
from streamlit.testing.v1 import AppTest

from geo.scenario import read_scenario
from quarterhour.cli.main import main
from quarterhour.workspace import Store, local_actor
from tests.test_app_workspace import APP

SCENARIO = (
    '{"type":"FeatureCollection","features":['
    '{"type":"Feature","properties":{"action":"add","name":"新中心 甲","category":"study_room"},'
    '"geometry":{"type":"Point","coordinates":[7.4206,43.7372]}},'
    '{"type":"Feature","properties":{"action":"close","facility_id":"F003"},'
    '"geometry":{"type":"Point","coordinates":[7.41,43.73]}}]}'
)


@pytest.fixture
def db(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'workspace.sqlite'}"
    monkeypatch.setenv("QUARTERHOUR_DATABASE_URL", url)
    return url


@pytest.fixture
def scenario_file(tmp_path):
    path = tmp_path / "西北区方案.geojson"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


def test_import_list_export_review(db, scenario_file, tmp_path, capsys):
    assert main(["scenarios", "import", str(scenario_file), "--unit", "MC-D1"]) == 0
    assert "as scenario 1 '西北区方案'" in capsys.readouterr().out
    assert main(["scenarios", "list"]) == 0
    assert capsys.readouterr().out.startswith("1\t西北区方案\tMC-D1\tdraft\tv1\t")
    out = tmp_path / "out.geojson"
    assert main(["scenarios", "export", "1", "--out", str(out)]) == 0
    back = read_scenario(out)
    assert back["action"].tolist() == ["add", "close"] and back["name"].tolist()[0] == "新中心 甲"
    assert main(["scenarios", "export", "1", "--out", str(out)]) == 2  # never over a file without --force
    assert "--force" in capsys.readouterr().err
    gpkg = tmp_path / "out.gpkg"
    assert main(["scenarios", "status", "1", "submitted"]) == 0
    assert main(["scenarios", "status", "1", "reviewed", "--comment", "同意"]) == 0
    assert main(["scenarios", "export", "1", "--out", str(gpkg)]) == 0
    meta = pyogrio.read_info(gpkg, layer="changes")["dataset_metadata"]
    assert '"scenario_version": 1' in meta["parameters"] and '"scenario_status": "reviewed"' in meta["parameters"]


def test_refusals_are_one_error_line(db, scenario_file, tmp_path, capsys):
    assert main(["scenarios", "export", "7", "--out", str(tmp_path / "x.geojson")]) == 2
    assert capsys.readouterr().err.strip() == "error: no scenario 7 in the workspace. Fix: choose one from the list"
    main(["scenarios", "import", str(scenario_file)])
    assert main(["scenarios", "status", "1", "reviewed"]) == 2
    assert "is draft: it cannot become reviewed" in capsys.readouterr().err
    assert main(["scenarios", "export", "1", "--out", str(tmp_path / "x.shp")]) == 2
    assert "end --out with .geojson or .gpkg" in capsys.readouterr().err


def test_a_bad_database_is_one_error_line_without_the_password(monkeypatch, capsys):
    monkeypatch.setenv("QUARTERHOUR_DATABASE_URL", "postgresql://planner:s3cret@127.0.0.1:1/none")
    assert main(["scenarios", "list"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot open the workspace database") and "s3cret" not in err
    assert len(err.strip().splitlines()) == 1


def test_an_imported_file_opens_in_the_app_on_the_same_data(db, scenario_file):
    main(["scenarios", "import", str(scenario_file)])
    app = AppTest.from_file(str(APP), default_timeout=120).run()
    assert not app.exception
    assert any("已继续上次的方案：西北区方案" in i.value for i in app.info)
    assert [c.action for c in app.session_state["changes"]] == ["add", "close"]
    assert Store(db).scenarios(None, local_actor())[0].head == 1  # opening saved nothing new


def test_users_add_list_disable_through_the_command(db, capsys, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("西北区-planner-2026\n"))
    assert main(["users", "add", "wang", "--role", "planner", "--units", "MC-D1", "--password-stdin"]) == 0
    assert capsys.readouterr().out.strip() == "added planner 'wang' for MC-D1"
    assert main(["users", "list"]) == 2  # the workspace has an account now: a command acts as one
    assert "quarterhour login" in capsys.readouterr().err
    assert main(["users", "list", "--admin"]) == 0  # the server's operator
    listed = capsys.readouterr().out
    assert listed.startswith("wang\tplanner\tMC-D1\tenabled\tlast sign-in never") and "西北区-planner" not in listed
    assert main(["users", "disable", "wang", "--admin"]) == 0
    main(["users", "list", "--admin"])
    assert "\tdisabled\t" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["users", "add", "li", "--role", "reviewer", "--password-stdin", "--admin"]) == 2
    assert "shorter than 10 characters" in capsys.readouterr().err
