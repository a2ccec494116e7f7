"""Issue 30 (part 2's leftover) and issue 28's rule: a reload does not lose the gated compounds and their gates.

The app's compounds and gates uploads are kept with the project (``quarterhour.ui.project``) and are part of its
name (``quarterhour.workspace.keys.project_for``): a new session of the account gets them back, and the walled
figures with them, never the open network's.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from quarterhour.workspace import open_store
from quarterhour.workspace.projects import Projects
from tests.test_compounds import _write_monaco_inputs, monaco  # noqa: F401  (the compound over a block of Monaco)
from tests.test_projects import WANG, _accounts, add, db, figure, gap, sign_in  # noqa: F401  (the house's fixtures)


@pytest.mark.slow  # two sessions of the whole app, one walled network: about 12 s on a loaded machine
def test_the_compounds_and_gates_come_back_with_the_walled_figures(db, gap, monaco, tmp_path):  # noqa: F811
    _accounts(db)
    store = open_store(db)
    compounds, gates = _write_monaco_inputs(monaco, tmp_path)
    first = sign_in("wang", "西北区-planner-2026")
    open_figure = first.metric[0].value  # residents within 15 minutes' walk, on the open streets
    first.file_uploader(key="compounds_file").set_value(
        ("示例小区.geojson", compounds.read_bytes(), "application/json")
    )
    first.run()
    first.file_uploader(key="gates_file").set_value(("小区出入口.geojson", gates.read_bytes(), "application/json"))
    walled_figure = first.run().metric[0].value
    assert walled_figure != open_figure  # the walls count: else this test would say nothing
    planned = figure(add(first, gap), "方案")  # saved: the scenario's first version, on the walled network

    again = sign_in("wang", "西北区-planner-2026")  # a reload, another machine, a restart: a new session
    assert not again.error, [e.value for e in again.error]
    kept = again.session_state["ws_kept"]
    for key, path, name in (
        ("compounds_file", compounds, "示例小区.geojson"),
        ("gates_file", gates, "小区出入口.geojson"),
    ):
        assert Path(kept[key]).read_bytes() == path.read_bytes()
        assert any(f"已从项目恢复：{name}" in c.value for c in again.sidebar.caption)
    assert again.metric[0].value == walled_figure
    assert len(again.session_state["changes"]) == 1 and figure(again, "方案") == planned
    (scenario,) = store.scenarios(None, WANG)
    pinned = Projects(store).version_inputs(scenario.id, 1, WANG)  # the version pins the walls it was computed on
    assert pinned["compounds"]["sha256"] == hashlib.sha256(compounds.read_bytes()).hexdigest()
    assert pinned["gates"]["sha256"] == hashlib.sha256(gates.read_bytes()).hexdigest()


def test_scenarios_import_finds_the_walled_project(db, monaco, tmp_path, capsys):  # noqa: F811
    """``quarterhour scenarios import --compounds --gates`` puts the scenario on the app's project of the same data."""
    from quarterhour.cli.main import main
    from quarterhour.workspace import local_actor
    from quarterhour.workspace.keys import project_for
    from tests.test_cli_scenarios import SCENARIO

    compounds, gates = _write_monaco_inputs(monaco, tmp_path)
    changes = tmp_path / "方案.geojson"
    changes.write_text(SCENARIO, encoding="utf-8")
    walls = ["--compounds", str(compounds), "--gates", str(gates)]
    assert main(["scenarios", "import", str(changes), *walls]) == 0
    store = open_store(db)
    (made,) = store.scenarios(None, local_actor())
    copy = tmp_path / "小区.geojson"  # the app keeps an upload under another name: the content names the project
    copy.write_bytes(compounds.read_bytes())
    assert made.project_id == store.project(project_for(None, None, None, None, walls=(copy, gates)))
    assert made.project_id != store.project(project_for(None, None, None, None))  # not the open network's
    assert made.project_id != store.project(project_for(None, None, None, None, walls=(compounds, None)))
    assert main(["scenarios", "import", str(changes), "--gates", str(gates)]) == 2
    assert "--gates needs --compounds" in capsys.readouterr().err
    assert len(store.scenarios(None, local_actor())) == 1  # the refused import saved nothing
