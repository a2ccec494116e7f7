"""Gated compounds read in the wrong coordinate system are told, and the planner's choice puts the walls right.

A 高德 AOI export is GCJ-02 lon/lat in a file that says WGS-84: read as it says, every wall lies 300-700 m off
in Luoyang and cuts the wrong streets. Read as the file says (``auto``), the compounds' edges and gates are
judged against the streets and the notes say which system fits; chosen (``gcj02``), they are converted.
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely

from analysis.compounds import compound_notes
from geo import prepare_network
from geo.chinacrs import gcj02_to_bd09, wgs84_to_gcj02
from geo.compounds import read_walls, walled_network
from geo.notes import note_in
from geo.snap import snap_points
from tests.test_compounds import _write_monaco_inputs, monaco  # noqa: F401  (a compound over a block of Monaco)

STEP = 0.002  # degrees: blocks of about 180 m by 220 m
LONS, LATS = np.arange(112.40, 112.52, STEP), np.arange(34.62, 34.70, STEP)


@pytest.fixture(scope="module")
def luoyang_grid():
    """A street grid over Luoyang (WGS-84 corners)."""
    g = nx.MultiDiGraph(crs="EPSG:4326")
    for i, lon in enumerate(LONS):
        for j, lat in enumerate(LATS):
            g.add_node((i, j), x=lon, y=lat)
    for i in range(len(LONS)):
        for j in range(len(LATS)):
            for di, dj in ((1, 0), (0, 1)):
                if i + di < len(LONS) and j + dj < len(LATS):
                    g.add_edge((i, j), (i + di, j + dj), length=200.0)
                    g.add_edge((i + di, j + dj), (i, j), length=200.0)
    return prepare_network(nx.convert_node_labels_to_integers(g))


def _compounds(move=None):
    """Eight compounds of 2 x 2 blocks (walls 0.0001° inside the streets round them), two gates each.

    Inside each, the two streets that cross it meet at its middle corner; its gates open the western and
    southern ones, so the eastern and northern are cut: 16 segments cut in all.
    """
    inset = 0.0001
    polys, gates = [], []
    for k in range(8):
        i, j = 4 + 6 * k, 5 + 4 * (k % 4)
        w, s, e, n = LONS[i] + inset, LATS[j] + inset, LONS[i + 2] - inset, LATS[j + 2] - inset
        ring = np.array([(w, s), (e, s), (e, n), (w, n), (w, s)])
        gate = np.array([(w, LATS[j + 1]), (LONS[i + 1], s)])  # where the inner streets cross the west, south walls
        if move is not None:
            ring, gate = np.column_stack(move(*ring.T)), np.column_stack(move(*gate.T))
        polys.append(shapely.Polygon(ring))
        gates.extend(shapely.points(gate))
    names = [f"小区{k + 1}" for k in range(8)]
    return (
        gpd.GeoDataFrame({"name": names}, geometry=polys, crs=4326),
        gpd.GeoDataFrame({"name": [f"门{k}" for k in range(len(gates))]}, geometry=gates, crs=4326),
    )


def _files(tmp_path, move=None, tag="wgs"):
    compounds, gates = _compounds(move)
    cpath, gpath = tmp_path / f"compounds_{tag}.geojson", tmp_path / f"gates_{tag}.geojson"
    compounds.to_file(cpath)
    gates.to_file(gpath)
    return cpath, gpath


def _bd09(lon, lat):
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def _notes(net, walled):
    residents = gpd.GeoDataFrame({"pop": [10.0]}, geometry=[shapely.Point(LONS[5], LATS[6])], crs=4326)
    residents = residents.to_crs(net.crs)
    return compound_notes(
        walled, residents.iloc[:0], residents, snap_points(residents, walled), speed_kmh=4.5, max_snap_m=500
    )


def test_walls_in_wgs84_are_kept_and_cut_the_inner_streets(luoyang_grid, tmp_path):
    cpath, gpath = _files(tmp_path)
    walled = walled_network(luoyang_grid, read_walls(cpath, gpath))
    report = walled.derived["compounds"].report
    assert report["gated"] == 8 and report["cut"] == 16 and report["gates_off"] == 0
    file, choice = walled.derived["compounds_crs"]
    assert file == cpath.name and choice.how == "declared" and choice.looks is None
    assert not [n for n in _notes(luoyang_grid, walled) if n.key == "compounds_crs_looks"]


@pytest.mark.parametrize(("system", "move"), [("gcj02", wgs84_to_gcj02), ("bd09", _bd09)])
def test_walls_in_a_china_system_are_told_and_put_right_when_chosen(luoyang_grid, tmp_path, system, move):
    cpath, gpath = _files(tmp_path, move, system)
    as_read = walled_network(luoyang_grid, read_walls(cpath, gpath))  # auto: as the file says, judged
    _, choice = as_read.derived["compounds_crs"]
    assert choice.looks == system, choice.metres
    assert choice.metres[system] < 15 < choice.metres["wgs84"]
    told = [n for n in _notes(luoyang_grid, as_read) if n.key == "compounds_crs_looks"]
    assert len(told) == 1
    short = {"gcj02": "GCJ-02", "bd09": "BD-09"}[system]
    zh, en = note_in(told[0], "zh"), note_in(told[0], "en")
    assert short in zh and "高德" in zh and short in en and "--compounds-crs" in en
    assert as_read.derived["compounds"].report["cut"] != 16  # read as WGS-84 the walls cut other streets

    chosen = walled_network(luoyang_grid, read_walls(cpath, gpath, system=system))
    assert chosen.derived["compounds_crs"][1].how == "given"
    right = walled_network(luoyang_grid, read_walls(*_files(tmp_path)))
    assert chosen.derived["compounds"].report == right.derived["compounds"].report
    np.testing.assert_array_equal(chosen.edges["compound"], right.edges["compound"])
    moved = read_walls(cpath, gpath, system=system).compounds.to_crs(luoyang_grid.crs).geometry
    truth = _compounds()[0].to_crs(luoyang_grid.crs).geometry
    assert shapely.hausdorff_distance(moved.to_numpy(), truth.to_numpy()).max() < 1.0  # within a metre


def test_the_cli_says_it_in_the_planners_language(luoyang_grid, tmp_path):
    """``quarterhour run`` on GCJ-02 compounds, Chinese messages: the note is in Chinese and names the choice."""
    import argparse

    from quarterhour.cli.compounds import read_compound_inputs, walled

    cpath, gpath = _files(tmp_path, wgs84_to_gcj02, "gcj")
    args = argparse.Namespace(compounds=cpath, gates=gpath, network=None, compounds_crs="auto", gate_m=20.0)
    got = read_compound_inputs(args)
    facilities = gpd.GeoDataFrame(geometry=[], crs=4326)
    net, _ = walled(args, luoyang_grid, got, facilities)
    (note,) = [n for n in _notes(luoyang_grid, net) if n.key == "compounds_crs_looks"]
    assert note_in(note, "zh").startswith(f"{cpath.name}：小区边界和出入口按 GCJ-02 读时离街道更近")


@pytest.mark.slow  # the whole app on the sample, walled: about 10 s on a loaded machine
def test_the_app_asks_the_compounds_system_and_walls_with_the_copy(monaco, tmp_path, monkeypatch):  # noqa: F811
    """The data panel offers the compounds; their system is asked once they are uploaded; a choice walls with copies.

    On the Monaco sample (outside China, where GCJ-02 is WGS-84) the converted copies wall the same streets: the
    figure is the walled one, and the planner's file names stay in the record.
    """
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from quarterhour.ui import state as S

    monkeypatch.setenv("QUARTERHOUR_DATABASE_URL", f"sqlite:///{tmp_path / 'workspace.sqlite'}")
    compounds, gates = _write_monaco_inputs(monaco, tmp_path)
    app = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=180).run()
    assert "封闭小区边界（面，或 OSM 文件；可选）" in [u.proto.label for u in app.get("file_uploader")]
    assert S.COMPOUNDS_CRS not in [s.key for s in app.selectbox]  # no compounds: nothing to ask
    app.file_uploader(key=S.COMPOUNDS_FILE).set_value(("示例小区.geojson", compounds.read_bytes(), "application/json"))
    app.run()
    app.file_uploader(key=S.GATES_FILE).set_value(("小区出入口.geojson", gates.read_bytes(), "application/json"))
    walled_figure = app.run().metric[0].value
    choice = app.selectbox(key=S.COMPOUNDS_CRS)
    assert choice.value == "auto" and list(choice.options)[1].startswith("GCJ-02")
    choice.set_value("gcj02")
    app.run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert app.metric[0].value == walled_figure
    names = sorted(app.session_state[S.UPLOAD_NAMES].values())
    assert "示例小区 (gcj02).gpkg" in names and "小区出入口 (gcj02).gpkg" in names
