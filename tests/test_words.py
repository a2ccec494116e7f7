"""Issue 25 item 5: every note and error in the planner's language, from one catalogue (geo/locale/*.toml).

The catalogue is checked whole (both languages, the same placeholders, Chinese without English words); the code
against it (each key it raises is there, with every placeholder given); and the faces end to end: the CLI on a
Chinese system or with ``--lang zh`` (a real subprocess, exit 2), and the real app in Chinese (AppTest).
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from geo.errors import InputError
from geo.notes import note, note_in
from geo.words import catalogue, placeholders
from quarterhour.cli.auth import cli_lang
from quarterhour.cli.main import main
from quarterhour.i18n import error_words, note_text, t

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import i18n_migrate  # noqa: E402 (the merge tool, a script beside the package)

#: Words a Chinese message may carry in Latin letters: names of formats, software, standards and services, units.
#: Anything code-like passes too (an option --k and its value, a file name x.csv, a command, a column name in “quotes”,
#: a token with a digit, an underscore, a dot, a slash or a colon) and an acronym in capitals (CSV, EPSG, MCLP).
ALLOWED = {
    "GeoJSON", "GeoPackage", "GeoTIFF", "GraphML", "Shapefile", "OpenStreetMap", "WorldPop", "LandScan",
    "Excel", "WPS", "QGIS", "Dask", "Overpass", "Nominatim", "zip", "osmnx", "gdalwarp", "gdalinfo", "ogr2ogr",
    "osmium", "extract", "chmod", "quarterhour", "login", "network", "run", "sum", "km", "m", "MB", "km²", "x", "y",
    "add", "move", "close", "way", "FILE", "N", "facility_id", "ppp", "luoyang", "sqlite", "code", "name", "level",
    "pop", "lon", "lat", "out", "LINESTRING", "data", "key", "epsg", "tif", "tcp", "crs", "xlsx", "export",
}  # fmt: skip
_CODE = re.compile(r"[-_./:=<>()\[\]\d@$*`\\]")


def _english_words(text: str) -> list[str]:
    """The Latin-letter words of a Chinese message that are neither allowed names nor code."""
    text = re.sub(r"\{[^{}]*\}", " ", text)  # placeholders
    text = re.sub(r"“[^”\s]*”|`[^`]*`", " ", text)  # a quoted column name or value; a command in backticks
    runs = [
        r.lstrip("('\"").rstrip(",.;:)'\"!?") for r in re.findall(r"[\x21-\x7e²]+", text)
    ]  # Latin runs, edges trimmed
    return [
        r
        for i, r in enumerate(runs)
        if re.search(r"[A-Za-z]", r)
        and r not in ALLOWED
        and not _CODE.search(r)
        and not (r.isupper() and len(r) > 1)
        and not (i and runs[i - 1].startswith("--"))  # an option's value: --standard minutes
    ]


def _texts(lang: str) -> dict[str, str]:
    """Every text of the catalogue by a path (``notes.key``, ``errors.key.fix``)."""
    cat = catalogue(lang)
    out = {f"notes.{k}": v for k, v in cat["notes"].items()}
    out |= {f"fixes.{k}": v for k, v in cat.get("fixes", {}).items()}
    out |= {f"frame.{k}": v for k, v in cat["frame"].items()}
    for key, entry in cat["errors"].items():
        out |= {f"errors.{key}.{part}": text for part, text in entry.items()}
    return out


def test_every_key_has_both_languages_and_the_same_placeholders():
    zh, en = _texts("zh"), _texts("en")
    singular = {k for k in en if k.endswith(".problem_one")}  # English's "1 node has": Chinese needs no such form
    assert set(zh) == set(en) - singular, sorted(set(zh) ^ (set(en) - singular))
    for path, english in en.items():
        if path in singular:
            assert placeholders(english) <= placeholders(en[path.replace("problem_one", "problem")]), path
            continue
        assert placeholders(zh[path]) == placeholders(english), (path, zh[path], english)
    assert len(catalogue("en")["errors"]) >= 180 and len(catalogue("en")["notes"]) >= 50


def test_no_chinese_message_carries_english_words():
    found = {path: _english_words(text) for path, text in _texts("zh").items()}
    assert not {p: w for p, w in found.items() if w}, {p: w for p, w in found.items() if w}
    assert _english_words("没有“pop”列；用 --k 3，或 EPSG:4326 的 GeoJSON，见 x.csv") == []  # allowed: code, names
    assert _english_words("the residents table has no rows") == ["the", "residents", "table", "has", "no", "rows"]
    assert all(re.search(r"[^\x00-\x7f]", w) for w in catalogue("zh")["words"].values())  # said in Chinese


def _keyed_calls() -> list[tuple[str, ast.Call]]:
    calls = []
    for package in i18n_migrate.PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and getattr(node.func, "id", None) == "InputError"
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and re.fullmatch(r"[a-z][a-z0-9_]*", str(node.args[0].value))
                ):
                    calls.append((f"{path.relative_to(ROOT)}:{node.lineno}", node))
    return calls


def test_each_key_the_code_raises_is_in_the_catalogue_with_every_placeholder_given():
    en = catalogue("en")["errors"]
    calls = _keyed_calls()
    assert len(calls) >= 150
    for where, call in calls:
        key = call.args[0].value
        assert key in en, f"{where}: no error '{key}' in geo/locale/en.toml"
        given = {k.arg for k in call.keywords}
        if None in given:  # **values: checked when it runs
            continue
        needed = set().union(*(placeholders(t) for part, t in en[key].items() if part != "fix" or "fix" not in given))
        assert needed <= given, f"{where}: {key} needs {sorted(needed - given)}"


def test_old_style_errors_still_work_and_the_ones_left_are_listed():
    old = InputError("no 'pop' column", file="demand.csv", fix="add a column 'pop'")
    assert str(old) == error_words(old, "zh") == "demand.csv: no 'pop' column. Fix: add a column 'pop'"
    assert old.key is None
    with pytest.raises(TypeError, match="no error 'not a key'"):
        InputError("not a key", n=1)  # values without a key: a mistake the author hears of at once
    keys = set(catalogue("en")["errors"])
    left = i18n_migrate.old_style_sites(keys)
    for site in left:  # each names a real line
        path, line, _ = site.split(":", 2)
        assert (ROOT / path).read_text(encoding="utf-8").splitlines()[int(line) - 1].strip(), site
    if left:  # visible in the summary (-ra), not failing yet: the lead converts the merged stragglers
        pytest.xfail(
            f"{len(left)} old-style error sites left (python tools/i18n_migrate.py lists them):\n" + "\n".join(left)
        )


def test_the_python_tables_hold_no_note_or_error_words():
    """Nothing left in ``_TEXT`` (``note_``/``err_``) or ``NOTES_EN`` to move: after a merge, run the tool."""
    assert i18n_migrate.move_tables(dry=True) == [], "run: python tools/i18n_migrate.py"


def test_an_error_and_a_note_are_said_in_each_language():
    e = InputError("tables_value_not_number", file="设施.csv", row=4, column="经度", value="东经112")
    assert (
        str(e) == "设施.csv, row 4, column '经度': '东经112' is not a number. Fix: give decimal degrees, e.g. 112.4540"
    )
    assert (
        e.in_lang("zh")
        == error_words(e, "zh")
        == "设施.csv，第 4 行，列“经度”：“东经112”不是数字。办法：请用十进制度数，如 112.4540"
    )
    one = InputError("network_nodes_len_where_no", file="a.graphml", n=1, ids_where_0=7)
    many = InputError("network_nodes_len_where_no", file="a.graphml", n=3, ids_where_0=7)
    assert "1 node has no coordinates" in str(one) and "3 nodes have no coordinates" in str(many)
    assert "3 个节点没有坐标" in many.in_lang("zh")
    what = InputError("tables_what_table_has_no", file="d.csv", what="residents")  # an English value said in Chinese
    assert what.in_lang("zh") == "d.csv：居民表没有数据行。办法：检查给出的文件是否正确"
    assert t("err_too_long_row", "zh", what=note("field_name"), n=401, limit=400, row=1).startswith(
        "第 1 项改动：名称长 401 个字符"
    )  # a panel's refusal by its key: a value called row is the message's, not the frame's
    n = note("facilities_off", n=2, max_snap_m=300, names=["甲中心", "乙中心"])
    assert note_in(n, "zh") == note_text(n, "zh") == "2 个服务设施距最近道路超过 300 米，未纳入：甲中心、乙中心"
    assert str(n) == note_in(n, "en") == "2 facilities more than 300 m from any street were left out: 甲中心, 乙中心"


def test_the_cli_language_is_its_option_then_the_setting_then_the_locale(monkeypatch):
    for name in ("QUARTERHOUR_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    assert cli_lang([]) == "en"  # no locale at all: the language of the command's help
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert cli_lang(["run"]) == "zh"
    monkeypatch.setenv("LC_ALL", "C.UTF-8")  # LC_ALL rules over LANG, as in POSIX
    assert cli_lang(["run"]) == "en"
    monkeypatch.setenv("QUARTERHOUR_LANG", "zh")
    assert cli_lang(["run"]) == "zh"
    assert cli_lang(["--lang", "en", "run"]) == cli_lang(["report", "x", "--lang=en"]) == "en"


@pytest.fixture(scope="module")
def bad_facilities(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("words") / "设施.csv"
    path.write_text("名称,类别,经度,纬度\n甲中心,党群服务中心,东经112,34.6\n", encoding="utf-8")
    return path


def test_the_cli_on_a_chinese_system_says_a_bad_file_in_chinese(bad_facilities, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES", "QUARTERHOUR_LANG")}
    env |= {"LANG": "zh_CN.UTF-8", "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "quarterhour.cli", "run", "--facilities", str(bad_facilities), "--out", str(tmp_path)]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 2, proc.stderr
    *notes, error = proc.stderr.strip().splitlines()
    assert error == "error: 设施.csv，第 2 行，列“经度”：“东经112”不是数字。办法：请用十进制度数，如 112.4540"
    assert notes and all(line.startswith("note: 未给出 --") for line in notes), notes  # the sample's, in Chinese
    flags = [line.removeprefix("note: 未给出 ").split("：")[0] for line in notes]
    assert flags == ["--network", "--demand"], notes  # the flags a planner types (a value's words are translated)
    assert not [w for line in notes for w in _english_words(line.removeprefix("note: "))], notes
    assert not _english_words(error.removeprefix("error: ")) and "Traceback" not in proc.stderr


def test_the_cli_with_lang_zh_says_a_bad_file_in_chinese(bad_facilities, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.delenv("QUARTERHOUR_LANG", raising=False)
    argv = ["run", "--facilities", str(bad_facilities), "--out", str(tmp_path)]
    assert main(["--lang", "zh", *argv]) == 2
    assert (
        capsys.readouterr()
        .err.splitlines()[-1]
        .startswith("error: 设施.csv，第 2 行，列“经度”：“东经112”不是数字。办法：")
    )
    assert main(argv) == 2  # C locale, no option: English, as before
    assert (
        capsys.readouterr()
        .err.splitlines()[-1]
        .startswith("error: 设施.csv, row 2, column '经度': '东经112' is not a number. Fix:")
    )


@pytest.mark.slow  # the whole app, twice: about 12 s on a loaded machine
def test_the_app_in_chinese_says_a_bad_upload_in_chinese(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("QUARTERHOUR_DATABASE_URL", f"sqlite:///{tmp_path / 'workspace.sqlite'}")
    monkeypatch.setenv("QUARTERHOUR_CACHE", str(tmp_path / "cache"))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    data = "名称,类别,经度,纬度\n甲中心,党群服务中心,东经112,34.6\n".encode()
    app.file_uploader(key="facilities_file").set_value(("我的设施.csv", data, "text/csv")).run()
    said = [e.value for e in app.error]
    assert any("“东经112”不是数字。办法：请用十进制度数" in s for s in said), said
    assert not any(_english_words(s) for s in said), said
    app.radio(key="lang").set_value("en").run()
    assert any("'东经112' is not a number. Fix: give decimal degrees" in e.value for e in app.error)


def test_a_flag_named_in_a_chinese_message_is_the_flag_as_typed(tmp_path):
    """A flag in a message is never translated as a word ('--居民-crs' does not exist; '--demand-crs' does)."""
    from geo.tables import read_point_table

    path = tmp_path / "居民.csv"
    path.write_text("lon,lat,pop\n2.35,48.85,10\n", encoding="utf-8")  # Paris: outside China, said to be GCJ-02
    with pytest.raises(InputError) as caught:
        read_point_table(path, what="demand", crs="gcj02")
    said = caught.value.in_lang("zh")
    assert "--demand-crs" in said and "居民-crs" not in said, said


def test_a_value_quoted_from_the_planners_file_is_shown_as_written():
    """A cell that happens to be one of the catalogue's words ('demand') is quoted as it is in the file."""
    said = InputError("tables_value_not_number", file="a.csv", row=3, column="经度", value="demand").in_lang("zh")
    assert "“demand”不是数字" in said, said
    assert note_in(note("facilities_read", file="centres.csv", n=2), "zh") == "centres.csv：2 个服务设施"
