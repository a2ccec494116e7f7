"""Hostile inputs, third round (issue 27, items 1-6): names that become paths, raster bombs, big scenario files.

Each test is one finding of the probe, made in ``tmp_path``, run through the real command or reader.
Memory is the peak RSS of a fresh child process (``/usr/bin/time -f %M``, as in ``test_inputs_bounds``).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from geo import InputError, sample_paths
from quarterhour.batch import read_units
from quarterhour.cli import main
from quarterhour.outdir import MAX_NAME_BYTES, inside, safe_part
from quarterhour.report import safe_name, unit_folders

LON, LAT = 7.4200, 43.7350


def _units(path: Path, codes: list[str], *, level: str | None = "district", names: list[str] | None = None) -> Path:
    boxes = [shapely.box(LON + i * 1e-3, LAT, LON + (i + 1) * 1e-3, LAT + 1e-3) for i in range(len(codes))]
    cols = {"code": codes, "name": names or [f"n{i}" for i in range(len(codes))]}
    if level:
        cols["level"] = [level] * len(codes)
    gpd.GeoDataFrame(cols, geometry=boxes, crs=4326).to_file(path)
    return path


# 1. Names from data never leave their folder -------------------------------------------------------------------


@pytest.mark.parametrize("code", ["../victim", "/tmp/abs", "../../x", "..", "a/b", "a\x01b", "Q" * 300])
@pytest.mark.parametrize("level", ["district", None])
def test_batch_unit_codes_that_are_not_plain_names_are_refused(tmp_path, code, level):
    path = _units(tmp_path / "u.geojson", ["Q1", code], level=level)
    with pytest.raises(InputError, match="cannot be a folder's name") as info:
        read_units(path)
    assert "Fix:" in str(info.value) or "fix" in str(info.value).lower()
    assert len(str(info.value)) < 600  # a 300-character code is cut in the message


def test_batch_with_an_escaping_level_code_writes_nothing_outside(tmp_path, capsys):
    sample = sample_paths()
    units = _units(tmp_path / "levels.geojson", ["D1", "../victim"])
    (tmp_path / "victim").mkdir()
    out = tmp_path / "batch" / "out"
    args = ["batch", "--units", str(units), "--network", str(sample["network"]), "--facilities"]
    args += [str(sample["facilities"]), "--demand", str(sample["demand"]), "--out", str(out), "--quiet"]
    assert main(args) == 2
    assert "cannot be a folder's name" in capsys.readouterr().err
    assert not any((tmp_path / "victim").iterdir()) and not out.exists()


def test_every_name_from_data_is_one_plain_name_of_bounded_bytes():
    for text in ["../victim", "/etc/passwd", "../../x", "..", ".", "", "a\x00b\x01c", "𝔘" * 300, "C:\\x", "~/x"]:
        name = safe_part(text)
        assert name and "/" not in name and "\\" not in name and not name.startswith(".")
        assert len(name.encode("utf-8")) <= MAX_NAME_BYTES
        assert inside("parent", name).parent == Path("parent")
    for bad in ["../x", "/abs", "a/b", "..", "", "x" * (MAX_NAME_BYTES + 1)]:
        with pytest.raises(InputError, match="cannot be a file or folder name"):
            inside("parent", bad)
    # the pack's unit folders go through the same function: 4-byte characters are cut by bytes, not characters
    assert len(safe_name("C1", "𝔘" * 200).encode("utf-8")) <= MAX_NAME_BYTES
    folders = unit_folders({"../a": "𝔘" * 200, "/a": "𝔘" * 200})
    assert len(set(folders.values())) == 2
    assert all(len(f.encode("utf-8")) <= MAX_NAME_BYTES + 9 and "/" not in f for f in folders.values())


# 2. An empty --out ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["run"], ["report", "--level", "district"], ["batch", "--units", "luoyang"]])
def test_empty_out_is_refused(tmp_path, monkeypatch, capsys, command):
    monkeypatch.chdir(tmp_path)
    sample = sample_paths()
    args = [*command, "--network", str(sample["network"]), "--facilities", str(sample["facilities"])]
    with pytest.raises(SystemExit) as info:
        main([*args, "--demand", str(sample["demand"]), "--out", "", "--quiet"])
    assert info.value.code == 2
    assert "argument --out: is empty" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
