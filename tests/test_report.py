"""The review pack: quarterhour report on the bundled sample, every file checked against the run."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest
from PIL import Image

from analysis import columns as C
from analysis.coverage import assign_units
from analysis.pipeline import run_circle
from analysis.units import UnitLayers, split_by_unit
from geo import load_sample, read_boundaries, read_facilities, sample_paths
from quarterhour.cli.main import main
from quarterhour.gis.export import provenance
from quarterhour.pack.report import PACK_FILES, PackOptions, build_pack, safe_name, write_pack
from quarterhour.pack.units import pack_workers
from quarterhour.render.staticmap import cjk_font, figure_png, unit_map

SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://x","y")'
SHOTS = Path(__file__).resolve().parent.parent / "out" / "report"  # PNGs to look at (git-ignored)


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    """One pack of the sample's districts, with two hostile facility names; and the run to check it against."""
    tmp = tmp_path_factory.mktemp("pack")
    fac = gpd.read_file(sample_paths()["facilities"])
    fac.loc[fac.index[1], "name"] = SCRIPT  # F002 and F003 lie in district MC-D3
    fac.loc[fac.index[2], "name"] = FORMULA
    fac.to_file(tmp / "facilities.geojson", driver="GeoJSON")
    out = tmp / "pack"
    args = ["report", "--out", str(out), "--level", "district", "--k", "3"]
    args += ["--facilities", str(tmp / "facilities.geojson"), "--boundaries", str(sample_paths()["boundaries"])]
    assert main(args) == 0
    net, _, dem = load_sample()
    units = {k: v.to_crs(net.crs) for k, v in read_boundaries(sample_paths()["boundaries"]).items()}
    facilities = read_facilities(tmp / "facilities.geojson").to_crs(net.crs)
    result = run_circle(net, facilities, dem, boundaries=units, isochrones=("facility",))
    return out, result, args


def unit_dirs(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if p.is_dir())


def test_pack_has_one_folder_per_district_and_a_summary(pack):
    out, result, _ = pack
    names = [p.name for p in unit_dirs(out)]
    table = result.levels["district"]
    assert names == sorted(safe_name(c, n) for c, n in zip(table["code"], table["name"], strict=True))
    assert names[0] == "MC-D1_西北区_made-up_district"
    for d in unit_dirs(out):
        assert sorted(p.name for p in d.iterdir()) == sorted(PACK_FILES)  # no temporary file left behind
    top = sorted(p.name for p in out.iterdir() if p.is_file())
    assert top == ["overview.png", "summary.html", "summary.pdf", "summary.xlsx"]


def test_geopackages_add_up_to_the_run(pack):
    out, result, _ = pack
    table = result.levels["district"].set_index("code")
    f_code = assign_units(result.facilities, result.levels["district"])
    totals = {"pop": 0.0, "covered": 0.0, "facilities": 0, "gaps": 0.0, "sites": 0.0}
    for d in unit_dirs(out):
        path = d / "layers.gpkg"
        code = d.name.split("_")[0]
        layers = set(pyogrio.list_layers(path)[:, 0])
        assert {"facilities", "demand", "isochrones", "coverage_district", "gaps", "sites"} <= layers
        fac = gpd.read_file(path, layer="facilities")
        assert sorted(fac["facility_id"]) == sorted(f_code.index[f_code == code])  # the facilities inside the unit
        assert len(fac) == table.loc[code, "n_facilities"]
        dem = gpd.read_file(path, layer="demand")
        own = gpd.read_file(path, layer="coverage_district")
        assert len(own) == 1 and own.loc[0, "code"] == code
        assert dem["pop"].sum() == pytest.approx(own.loc[0, "pop"])
        assert dem.loc[dem["covered"], "pop"].sum() == pytest.approx(own.loc[0, "pop_covered"])
        gaps = gpd.read_file(path, layer="gaps")
        assert gaps["pop_uncovered"].sum() == pytest.approx(own.loc[0, "pop_uncovered"])  # gaps add up to the unit
        assert list(gaps["rank"]) == list(range(1, len(gaps) + 1))
        sites = gpd.read_file(path, layer="sites")
        assert len(sites) <= 3 and (sites["pop_new"] > 0).all()
        assert sites["pop_new"].sum() <= own.loc[0, "pop_uncovered"] + 1e-9
        if len(sites):  # new sites lie in the unit, and their reach is there too
            assert sites.to_crs(result.demand.crs).within(table.loc[code, "geometry"].buffer(1)).all()
            assert len(gpd.read_file(path, layer="site_isochrones")) == len(sites)
        iso = gpd.read_file(path, layer="isochrones")
        assert iso.is_valid.all() and iso.to_crs(result.demand.crs).within(table.loc[code, "geometry"].buffer(1)).all()
        meta = pyogrio.read_info(path, layer="gaps")["dataset_metadata"]
        assert json.loads(meta["parameters"])["level"] == "district"
        assert meta["input.facilities"].startswith("facilities.geojson sha256:")
        totals["pop"] += dem["pop"].sum()
        totals["covered"] += dem.loc[dem["covered"], "pop"].sum()
        totals["facilities"] += len(fac)
        totals["gaps"] += gaps["pop_uncovered"].sum()
        totals["sites"] += sites["pop_new"].sum()
    s = result.summary
    assert totals["pop"] == pytest.approx(s.pop_total)
    assert totals["covered"] == pytest.approx(s.pop_covered)  # residents covered add up to the city total
    assert totals["gaps"] == pytest.approx(s.pop_uncovered)
    assert totals["facilities"] == table["n_facilities"].sum() == len(result.facilities)
    assert totals["sites"] > 0  # the sample leaves residents out in two districts: sites are suggested there
    wb = openpyxl.load_workbook(out / "summary.xlsx")
    ranking = list(wb.worksheets[0].iter_rows(values_only=True))
    assert ranking[0][:3] == ("排名", "代码", "名称")
    left_out = [row[4] for row in ranking[1:]]
    assert left_out == sorted(left_out, reverse=True) and sum(left_out) == pytest.approx(s.pop_uncovered)


def test_hostile_names_are_inert_everywhere(pack):
    out, _, _ = pack
    d3 = next(d for d in unit_dirs(out) if d.name.startswith("MC-D3"))
    page = (d3 / "report.html").read_text("utf-8")
    assert SCRIPT not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page.lower()
    assert "http://x" not in page.replace("&quot;http://x&quot;", "")  # the link only as escaped text
    for html in [*out.glob("*.html"), *out.glob("*/*.html")]:  # self-contained: no other host
        text = html.read_text("utf-8")
        assert 'src="http' not in text and "href=" not in text and "<link" not in text and "@import" not in text
    ws = openpyxl.load_workbook(d3 / "tables.xlsx")["服务设施"]
    cells = {c.value: c for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    assert "'" + FORMULA in cells and cells["'" + FORMULA].data_type == "s"
    assert not any(c.data_type == "f" for row in ws.iter_rows() for c in row)
    assert SCRIPT in cells  # kept as text in the spreadsheet, where it does nothing
    fac = gpd.read_file(d3 / "layers.gpkg", layer="facilities")
    assert FORMULA in set(fac["name"])  # the GIS layer keeps the data as it is


def test_pdf_pages_render_and_are_not_blank(pack):
    pdfium = pytest.importorskip("pypdfium2")
    out, _, _ = pack
    SHOTS.mkdir(parents=True, exist_ok=True)
    d3 = next(d for d in unit_dirs(out) if d.name.startswith("MC-D3"))
    for pdf_path, shot in ((d3 / "report.pdf", "unit_page1.png"), (out / "summary.pdf", "summary_page1.png")):
        doc = pdfium.PdfDocument(pdf_path)
        assert len(doc) >= 2
        image = doc[0].render(scale=1.5).to_pil()
        pixels = np.asarray(image.convert("L"))
        assert (pixels < 128).mean() > 0.01  # ink on the page
        image.save(SHOTS / shot)  # in colour, to look at
        text = doc[0].get_textpage().get_text_range()
        if cjk_font():
            assert "覆盖率" in text  # Chinese as real text, from an embedded font
        doc.close()
    (SHOTS / "unit_map.png").write_bytes((d3 / "map.png").read_bytes())
    assert (d3 / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_existing_pack_is_not_overwritten_without_force(pack, capsys):
    out, _, args = pack
    summary = out / "summary.html"
    before = summary.stat().st_mtime_ns
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and "--force" in err[-1] and "already holds files" in err[-1]
    assert summary.stat().st_mtime_ns == before


def test_build_pack_for_the_app_is_one_unit_zip(pack):
    _, result, _ = pack
    net = load_sample()[0]
    prov = provenance({"minutes": 15}, sample_paths())
    data = build_pack(result, net, PackOptions(level="district", k=2, lang="en"), code="MC-D2", provenance=prov)
    zf = zipfile.ZipFile(io.BytesIO(data))
    folder = "MC-D2_东北区_made-up_district"
    assert sorted(zf.namelist()) == sorted(f"{folder}/{f}" for f in PACK_FILES)
    page = zf.read(f"{folder}/report.html").decode()
    assert "Coverage by unit" in page and "data:image/png;base64," in page
    assert prov["inputs"]["network"]["sha256"] in page
    with pytest.raises(Exception, match="no district with code XX"):
        build_pack(result, net, PackOptions(level="district"), code="XX", provenance=prov)


def test_level_missing_from_the_boundaries_is_one_error(tmp_path, capsys):
    code = main(["report", "--out", str(tmp_path / "p"), "--boundaries", "luoyang", "--level", "community"])
    assert code == 2
    assert "no 'community' level" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()


def test_a_long_table_prints_its_first_rows_and_says_where_the_rest_is():
    """A district's thousand gap zones: one PDF page and a pointer to the spreadsheet; the HTML keeps every row."""
    import re

    import pandas as pd

    from quarterhour.pack.documents import PDF_TABLE_ROWS, Block, html_document, pdf_document

    table = pd.DataFrame({"rank": range(1, 1001), "residents": [1000 - i for i in range(1000)]})
    block = Block("table", table=table, full_in="tables.xlsx")
    pdf = pdf_document([block], "gaps", "en")
    assert re.findall(rb"/Count (\d+)", pdf) == [b"1"]  # one page (the whole table takes 22)
    page = html_document([block], "gaps", "en")
    assert page.count("<tr>") >= 1000  # the web page keeps the whole table
    assert PDF_TABLE_ROWS < 1000


def _same_file(a: Path, b: Path) -> None:
    """Two packs' files hold the same: bytes, but a PDF's creation time, a spreadsheet's cells, a GeoPackage's rows.

    (The times a file was made are left out: its PDF creation date, the styles' ``update_time``.)
    """
    if a.suffix == ".pdf":
        stamp = re.compile(rb"/CreationDate \(D:[^)]*\)")
        assert stamp.sub(b"", a.read_bytes()) == stamp.sub(b"", b.read_bytes()), a.name
    elif a.suffix == ".xlsx":
        wa, wb = openpyxl.load_workbook(a), openpyxl.load_workbook(b)
        assert wa.sheetnames == wb.sheetnames
        for sa, sb in zip(wa.worksheets, wb.worksheets, strict=True):
            assert list(sa.iter_rows(values_only=True)) == list(sb.iter_rows(values_only=True)), a.name
    elif a.suffix == ".gpkg":
        names = pyogrio.list_layers(a)[:, 0].tolist()
        assert names == pyogrio.list_layers(b)[:, 0].tolist()
        for layer in names:
            read = [pyogrio.read_dataframe(p, layer=layer).drop(columns="update_time", errors="ignore") for p in (a, b)]
            pd.testing.assert_frame_equal(*read)
        assert pyogrio.read_info(a, layer=0)["dataset_metadata"] == pyogrio.read_info(b, layer=0)["dataset_metadata"]
    else:
        assert a.read_bytes() == b.read_bytes(), a.name


def test_units_made_in_worker_processes_give_the_serial_pack(pack, tmp_path):
    _, result, _ = pack
    net, _, _ = load_sample()
    prov = provenance({"level": "district"}, sample_paths())
    opts = PackOptions(level="district", k=2, lang="en")
    codes = ["MC-D1", "MC-D3"]  # two units on two workers, the biggest first; written in order
    serial = write_pack(result, net, opts, out=tmp_path / "serial", provenance=prov, codes=codes, workers=1)
    forked = write_pack(result, net, opts, out=tmp_path / "forked", provenance=prov, codes=codes, workers=2)
    assert [p.relative_to(tmp_path / "serial") for p in serial] == [p.relative_to(tmp_path / "forked") for p in forked]
    for a, b in zip(serial, forked, strict=True):
        _same_file(a, b)
    if sys.platform == "linux":  # the second pack's units were made in two other processes
        assert pack_workers(len(codes), 2) == 2


def test_reach_drawn_as_one_path_looks_as_its_union(pack):
    """A unit map's reach is its isochrones drawn as one path (no union of them): the map is the union's map."""
    _, result, _ = pack
    net, _, _ = load_sample()
    unit = split_by_unit(result, "district", ["MC-D1"])["MC-D1"]
    assert len(unit.isochrones) > 5  # overlapping isochrones, some with holes
    union = unit.isochrones.dissolve(C.BAND_MIN, as_index=False)  # what the map drew before, one polygon a band

    def pixels(u: UnitLayers) -> np.ndarray:
        png = figure_png(unit_map(net, u, minutes=15, lang="en"), lang="en")
        return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)

    parts, united = pixels(unit), pixels(replace(unit, isochrones=union))
    assert parts.shape == united.shape
    differ = np.abs(parts - united).max(axis=2) > 0
    assert differ.mean() < 5e-4  # the same picture: a few edge pixels (0.013 % on the sample) of 1.2 million


def _children(pid: int) -> list[int]:
    kids = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        kids += [int(k) for k in task.read_text().split()]
    return kids


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(sys.platform != "linux", reason="the units are made in forked workers on Linux")
def test_a_killed_report_leaves_no_worker_behind(tmp_path):
    """``kill -9`` of the command ends its workers too: none is left holding the pack folder's lock."""
    args = ["report", "--out", str(tmp_path / "pack"), "--level", "district", "--k", "1", "--quiet"]
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen([sys.executable, "-m", "quarterhour.cli", *args], cwd=root, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    try:
        end = time.monotonic() + 120
        while len(workers := _children(proc.pid)) < 2:  # the units are being made
            assert proc.poll() is None and time.monotonic() < end, "the command ended before its workers started"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        end = time.monotonic() + 10
        while any(_running(w) for w in workers) and time.monotonic() < end:
            time.sleep(0.05)
        assert not [w for w in workers if _running(w)], "a worker outlived the command"
    finally:
        proc.kill()
        for w in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(w, signal.SIGKILL)
