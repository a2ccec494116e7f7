"""Issue 30 part 2: gated compounds (封闭小区) and their gates, checked against networkx."""

from __future__ import annotations

import itertools

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely

from analysis.traveltime import nearest_times, od_table
from geo.compounds import read_compounds, read_gates, wall_network
from geo.io import load_sample
from geo.network import network_from_arrays
from geo.snap import snap_points

CRS = "EPSG:32631"
ONE_MS = 3.6  # km/h: one metre a second, so seconds are metres


def _grid(n: int = 5, step: float = 100.0):
    xy = np.array([(i * step, j * step) for j in range(n) for i in range(n)])
    u, v = [], []
    for j in range(n):
        for i in range(n):
            if i + 1 < n:
                u.append(j * n + i), v.append(j * n + i + 1)
            if j + 1 < n:
                u.append(j * n + i), v.append((j + 1) * n + i)
    return xy, np.array(u), np.array(v)


def _points(xy: list[tuple[float, float]], **cols) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(cols, geometry=shapely.points(np.array(xy, dtype=float)), crs=CRS)


def _nx_reference(xy, u, v, keep) -> nx.Graph:
    g = nx.Graph()
    for a, b in zip(u[keep], v[keep], strict=True):
        g.add_edge(int(a), int(b), weight=float(np.hypot(*(xy[a] - xy[b]))))
    return g


def test_toy_compound_one_gate_far_side():
    """A 5x5 grid; the compound holds the 4 middle nodes; its one gate is on the east side.

    A resident inside walks out through the gate and round the compound to a facility west of it.
    """
    xy, u, v = _grid()
    net = network_from_arrays(xy, u, v, crs=CRS)
    box = shapely.box(150, 150, 350, 350)
    walled = wall_network(net, _points([(0, 0)], name=["A"]).set_geometry([box]), _points([(352, 300)]))
    # Independent: segments with one end inside the box and one outside are walls, but the one through the gate.
    inside = (xy[:, 0] > 150) & (xy[:, 0] < 350) & (xy[:, 1] > 150) & (xy[:, 1] < 350)
    gate = (u == 18) & (v == 19)  # (300, 300) - (400, 300)
    keep = (inside[u] == inside[v]) | gate
    ref = _nx_reference(xy, u, v, keep)
    assert len(walled.edges) == keep.sum()
    # The resident at (210, 205): 5 m to the street (200,200)-(300,200), 10 m from its west end.
    # The facility at (100, 195): on (100,100)-(100,200), 95 m from its south end.
    res = _points([(210, 205), (120, 205)], pop=[1, 1])
    fac = _points([(100, 195)], name=["f"])
    t = nearest_times(walled, snap_points(fac, walled), snap_points(res, walled), speed_kmh=ONE_MS).point_s
    # The two points join the reference graph at the ends of their streets: "F" (5 m south of node 11 at
    # (100, 200)) and "R" (5 m off the street, 10 m east of node 12 at (200, 200)).
    ref.add_edge("F", 6, weight=95), ref.add_edge("F", 11, weight=5)
    ref.add_edge("R", 12, weight=5 + 10), ref.add_edge("R", 13, weight=5 + 90)
    path = nx.shortest_path(ref, "R", "F", weight="weight")
    assert t[0] == pytest.approx(nx.path_weight(ref, path, weight="weight"))
    assert (18, 19) in itertools.pairwise(path)  # out through the gate
    # Through the gate: it goes out at the east side, so the walk is far longer than straight west.
    open_t = nearest_times(net, snap_points(fac, net), snap_points(res, net), speed_kmh=ONE_MS).point_s
    assert open_t[0] == pytest.approx(5 + 10 + 100 + 5)
    assert t[0] > 3 * open_t[0]
    assert t[1] == pytest.approx(open_t[1])  # outside, untouched: on (100,200)-(200,200) 20 m from it


def test_toy_no_gate_is_open_and_compound_only():
    xy, u, v = _grid()
    net = network_from_arrays(xy, u, v, crs=CRS)
    box = gpd.GeoDataFrame({"name": ["A"]}, geometry=[shapely.box(150, 150, 350, 350)], crs=CRS)
    unwalled = wall_network(net, box, _points([(0, 0)]))  # its gate is not on its edge: open
    assert unwalled.edges is net.edges and unwalled.derived["compounds_open"]["open"] == ["A"]
    assert "compound" not in snap_points(_points([(210, 205)]), unwalled)
    walled = wall_network(net, box, _points([(352, 300)]))
    res = _points([(210, 205), (120, 205)], pop=[1, 1])
    fac = _points([(290, 295)], name=["liaison"], compound_only=["yes"])
    fs, ds = snap_points(fac, walled), snap_points(res, walled)
    assert list(ds["compound"]) == [0, -1] and list(fs["only"]) == [0]
    t = nearest_times(walled, fs, ds, speed_kmh=ONE_MS)
    assert t.point_s[0] == pytest.approx(5 + 10 + 100 + 90 + 5)  # its own resident, inside (either way round)
    assert np.isinf(t.point_s[1])  # the outside resident is not served
    od = od_table(walled, fs, ds, cutoff_s=10_000, speed_kmh=ONE_MS)
    assert list(od["target"]) == [0]
    assert od["seconds"].iloc[0] == pytest.approx(t.point_s[0])
    # Its reach (isochrones) stays on its compound's streets.
    from analysis.traveltime import reached_pairs

    reached = reached_pairs(walled, fs, cutoff_s=10_000, speed_kmh=ONE_MS)["edge"]
    assert set(walled.edges["compound"].to_numpy()[reached]) == {0} and len(reached) == 5
    served = nearest_times(walled, fs.assign(only=-1), ds, speed_kmh=ONE_MS).point_s
    assert np.isfinite(served[1]) and served[1] > 400  # without the flag: served, through the gate


@pytest.fixture(scope="module")
def monaco():
    net, _, _ = load_sample()
    x, y = net.nodes.loc[6458624521, ["x", "y"]]
    box = shapely.box(x - 70, y - 70, x + 70, y + 70)  # over a real block of Monaco
    gates = net.nodes.loc[[4940692947, 1079045459], ["geometry"]]  # two real nodes just outside its edge
    compound = gpd.GeoDataFrame({"name": ["block"]}, geometry=[box], crs=net.crs)
    walled = wall_network(net, compound, gpd.GeoDataFrame(gates, geometry="geometry", crs=net.crs))
    return net, walled, box, gates.geometry.to_numpy()


def test_monaco_walks_match_networkx_with_walls(monaco):
    net, walled, box, gates = monaco
    e = net.edges
    pts = net.nodes.geometry.to_numpy()
    strictly = shapely.contains_properly(box, pts)
    g = nx.Graph()
    cut = 0
    for a, b, geom, length in zip(e["u"], e["v"], e.geometry, e["length_m"], strict=True):
        crossing = strictly[a] != strictly[b] or (
            not strictly[a] and not strictly[b] and geom.intersects(box) and not geom.within(box)
        )
        crossing = crossing and geom.crosses(box)
        if crossing:
            where = geom.intersection(box.boundary)
            if not all(min(p.distance(q) for q in gates) <= 20 for p in shapely.get_parts(where)):
                cut += 1
                continue
        if g.has_edge(a, b):
            length = min(length, g[a][b]["weight"])
        g.add_edge(a, b, weight=length)
    assert cut > 5 and len(net.edges) - len(walled.edges) == cut
    # Residents at real nodes inside the block and outside it; the facility at a real node outside.
    inside = [n for n in np.flatnonzero(strictly) if n in g and g.degree(n) > 0][:4]
    outside = [int(net.nodes.index.get_loc(i)) for i in (1784106917, 25177167)]
    facility = int(net.nodes.index.get_loc(6482464711))
    who = inside + outside
    res = gpd.GeoDataFrame({"pop": np.ones(len(who))}, geometry=pts[who], crs=net.crs)
    fac = gpd.GeoDataFrame({"name": ["f"]}, geometry=[pts[facility]], crs=net.crs)
    t = nearest_times(walled, snap_points(fac, walled), snap_points(res, walled), speed_kmh=ONE_MS).point_s
    ref = nx.single_source_dijkstra_path_length(g, facility, weight="weight")
    np.testing.assert_allclose(t, [ref[n] for n in who], rtol=1e-9)
    before = nearest_times(net, snap_points(fac, net), snap_points(res, net), speed_kmh=ONE_MS).point_s
    assert (t[: len(inside)] > before[: len(inside)] + 1).any()  # the walls lengthen some walks from inside


def test_osm_source_gates_and_compounds():
    """An OSM source gives its gate / entrance nodes and its walled areas by themselves."""
    gates = read_gates("data/source/monaco.osm.pbf")
    assert len(gates) > 50 and gates.crs.to_epsg() == 4326
    walled = read_compounds("data/source/monaco.osm.pbf")
    assert len(walled) >= 1 and walled.geom_type.isin(["Polygon", "MultiPolygon"]).all()


def _write_monaco_inputs(monaco, folder):
    net, _, box, gates = monaco
    compounds = folder / "compounds.geojson"
    gpd.GeoDataFrame({"name": ["示例小区"]}, geometry=[box], crs=net.crs).to_crs(4326).to_file(compounds)
    gates_file = folder / "gates.geojson"
    gpd.GeoDataFrame(geometry=list(gates), crs=net.crs).to_crs(4326).to_file(gates_file)
    return compounds, gates_file


@pytest.mark.slow  # a whole run of the sample: about 6 s on a loaded machine
def test_cli_run_with_compounds(monaco, tmp_path, capsys):
    from quarterhour.cli.main import main

    net, walled, box, _ = monaco
    compounds, gates_file = _write_monaco_inputs(monaco, tmp_path)
    args = ["run", "--minutes", "5", "--compounds", str(compounds), "--gates", str(gates_file)]
    assert main([*args, "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "1 gated compounds walled (2 gates on their edges" in err and "90th percentile" in err
    got = gpd.read_file(tmp_path / "out" / "coverage.gpkg", layer="demand").to_crs(net.crs)
    _, fac, dem = load_sample()
    t = nearest_times(walled, snap_points(fac, walled), snap_points(dem, walled)).point_s / 60
    t[np.isinf(t)] = np.nan  # a part of the block no gate opens: written as no walk
    inside = shapely.contains_properly(box, got.geometry.to_numpy())
    assert inside.sum() >= 5
    np.testing.assert_allclose(got["minutes"].to_numpy()[inside], t[inside], rtol=1e-6)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--gates", "GATES"], "--gates needs --compounds"),
        (["--compounds", "GATES"], "compounds"),
        (["--compounds", "COMPOUNDS", "--compound-only", "NOPE"], "--compound-only: no facility with id NOPE"),
    ],
)
def test_cli_compounds_refused(monaco, tmp_path, capsys, extra, message):
    from quarterhour.cli.main import main

    compounds, gates_file = _write_monaco_inputs(monaco, tmp_path)
    extra = [str(gates_file) if a == "GATES" else str(compounds) if a == "COMPOUNDS" else a for a in extra]
    assert main(["run", *extra, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.slow  # the app's whole run of the sample: about 15 s on a loaded machine
def test_app_run_with_compounds(monaco, tmp_path):
    """The app's run (``ui.compute``) with compounds and gates uploaded: walled walks, the notes say the toll."""
    from quarterhour.i18n import note_text
    from quarterhour.ui.compute import compute, network_of
    from quarterhour.ui.files import app_provenance
    from quarterhour.ui.values import SAMPLE, Inputs, Params

    net, walled, box, _ = monaco
    compounds, gates_file = _write_monaco_inputs(monaco, tmp_path)
    inputs = Inputs(compounds=str(compounds), gates=str(gates_file))
    assert len(network_of(inputs).edges) == len(walled.edges) < len(network_of(Inputs()).edges)
    params = Params(15.0, 4.5, ("service_centre", "neighbourhood_centre", "liaison_point", "study_room"), (), (15.0,))
    result = compute(inputs, SAMPLE, params)
    said = [note_text(n, "zh") for n in result.skipped]
    assert any(s.startswith("1 个封闭小区按围墙计算（边界上 2 个出入口") for s in said)
    dem = result.demand.to_crs(net.crs)
    inside = shapely.contains_properly(box, dem.geometry.to_numpy())
    _, fac, sample_dem = load_sample()
    t = nearest_times(walled, snap_points(fac, walled), snap_points(sample_dem, walled)).point_s / 60
    got = dem["minutes"].to_numpy()[inside]
    np.testing.assert_allclose(np.nan_to_num(got, nan=np.inf), t[inside], rtol=1e-6)
    assert {"compounds", "gates"} <= set(app_provenance(inputs, SAMPLE, params)["inputs"])


@pytest.mark.slow  # a batch unit's whole run, in this process: about 20 s on a loaded machine
def test_batch_unit_honours_the_compounds(monaco, tmp_path):
    """A batch unit (run in this process, as a worker runs it) is walled as ``quarterhour run`` is."""
    from geo import sample_paths
    from quarterhour.batch.run import BatchInputs, prepare_batch
    from quarterhour.batch.unit import BatchOptions, run_unit

    net, _, box, _ = monaco
    compounds, gates_file = _write_monaco_inputs(monaco, tmp_path)
    paths = sample_paths()
    x0, y0, x1, y1 = gpd.GeoSeries([box], crs=net.crs).to_crs(4326).total_bounds
    units = tmp_path / "units.geojson"
    unit = shapely.box(x0 - 0.002, y0 - 0.002, x1 + 0.002, y1 + 0.002)  # the block and its streets around
    gpd.GeoDataFrame({"code": ["B1"], "name": ["街区"]}, geometry=[unit], crs=4326).to_file(units)
    options = BatchOptions(minutes=15)
    inputs = BatchInputs(
        units, paths["network"], paths["facilities"], paths["demand"], options=options, compounds=compounds
    )
    prepared = prepare_batch(BatchInputs(**{**inputs.__dict__, "gates": gates_file}))
    (job,) = prepared.jobs
    assert job.walls is not None and len(job.walls[0]) == 1 and len(job.walls[1]) == 2
    assert {"compounds", "gates"} <= set(job.inputs)  # a rerun knows when the walls change
    outcome = run_unit(prepared.entry, job, options, prepared.provenance, prepared.digest)
    assert outcome.ok
    (tmp_path / "unit.gpkg").write_bytes(outcome.gpkg)
    got = gpd.read_file(tmp_path / "unit.gpkg", layer="demand").to_crs(net.crs)
    inside = shapely.contains_properly(box, got.geometry.to_numpy())
    assert inside.sum() >= 5
    # Open, on the whole network, the inside residents walk no farther; walled, some walk farther.
    fac = job.facilities
    open_t = nearest_times(net, snap_points(fac, net), snap_points(got, net)).point_s[inside] / 60
    a = np.nan_to_num(got["minutes"].to_numpy()[inside], nan=np.inf)
    assert (a >= open_t - 1e-6).all() and (a > open_t + 0.01).any()


def test_scenario_on_the_walled_network(monaco):
    """A centre added inside the compound (the scenario): quick (from the baseline) equals a fresh run, walls hold."""
    import pandas as pd

    from analysis.scenario import baseline, evaluate

    net, walled, box, _ = monaco
    _, fac, dem = load_sample()
    spot = box.centroid
    ch = gpd.GeoDataFrame(
        pd.DataFrame(
            [("add", None, "联络点", "liaison_point", spot)],
            columns=["action", "facility_id", "name", "category", "geometry"],
        ),
        crs=net.crs,
    )
    d_snap = snap_points(dem, walled)
    b = baseline(walled, fac, dem, d_snap, minutes=5)
    quick = evaluate(walled, fac, dem, d_snap, ch, base=b, minutes=5)
    slow = evaluate(walled, fac, dem, d_snap, ch, minutes=5)
    np.testing.assert_allclose(quick.demand["minutes"], slow.demand["minutes"], rtol=0, atol=1e-9)
    assert snap_points(ch, walled)["compound"].tolist() == [0]  # the new centre stands inside: on its streets
    inside = shapely.contains_properly(box, dem.geometry.to_numpy())
    walled_min = slow.demand["minutes"].fillna(np.inf).to_numpy()
    assert (walled_min[inside] < b.demand["minutes"].fillna(np.inf).to_numpy()[inside]).any()  # served inside


def test_toy_wall_through_street_corners():
    """A compound drawn along the street centre lines: its wall runs through corners, so inside segments end on it.

    The 5x5 grid's box (100,100)-(300,300) holds one corner strictly, (200,200); its four segments end on the wall
    at corners that lead outside, so all are cut but the one to the gate at (300,200). The streets along the
    wall stay public.
    """
    xy, u, v = _grid()
    net = network_from_arrays(xy, u, v, crs=CRS)
    box = gpd.GeoDataFrame({"name": ["A"]}, geometry=[shapely.box(100, 100, 300, 300)], crs=CRS)
    walled = wall_network(net, box, _points([(300, 200)]))
    centre, gate_end = 12, 13  # (200, 200), (300, 200)
    at_centre = (u == centre) | (v == centre)
    keep = ~at_centre | ((u == centre) & (v == gate_end))
    assert len(walled.edges) == keep.sum() and walled.derived["compounds"].report["cut"] == 3
    ref = _nx_reference(xy, u, v, keep)
    # The resident at (205, 210) joins the one segment left at the centre: 10 m off it, 5 m along it.
    ref.add_edge("R", centre, weight=10 + 5), ref.add_edge("R", gate_end, weight=10 + 95)
    res, fac = _points([(205, 210)], pop=[1]), _points([(0, 200)], name=["f"])
    t = nearest_times(walled, snap_points(fac, walled), snap_points(res, walled), speed_kmh=ONE_MS).point_s
    assert t[0] == pytest.approx(nx.shortest_path_length(ref, "R", 10, weight="weight"))  # node 10 is (0, 200)
    assert t[0] == pytest.approx(605)


def test_toy_compound_with_no_street_inside():
    """A compound in one block, no street inside (as OSM often has it): its people walk straight to the gate."""
    xy, u, v = _grid()
    net = network_from_arrays(xy, u, v, crs=CRS)
    box = gpd.GeoDataFrame({"name": ["A"]}, geometry=[shapely.box(120, 120, 180, 180)], crs=CRS)
    walled = wall_network(net, box, _points([(150, 118)]))  # 2 m from its wall, 18 m from the street south
    assert len(walled.edges) == len(net.edges)  # no street crosses its wall: nothing is cut
    res = _points([(150, 160), (150, 90)], pop=[1, 1])
    fac = _points([(140, 150)], name=["liaison"], compound_only=["是"])
    fs, ds = snap_points(fac, walled), snap_points(res, walled)
    to_gate_r, to_gate_f = 42 + 18, np.hypot(10, 32) + 18
    assert ds["offset_m"].iloc[0] == pytest.approx(to_gate_r) and ds["pos_m"].iloc[0] == pytest.approx(50)
    assert fs["offset_m"].iloc[0] == pytest.approx(to_gate_f)
    t = nearest_times(walled, fs, ds, speed_kmh=ONE_MS).point_s
    assert t[0] == pytest.approx(to_gate_r + to_gate_f) and np.isinf(t[1])  # its own resident only
    od = od_table(walled, fs, ds, cutoff_s=10_000, speed_kmh=ONE_MS)
    assert list(od["target"]) == [0] and od["seconds"].iloc[0] == pytest.approx(t[0])


def test_gates_from_a_table_of_lon_lat(monaco, tmp_path):
    """Gates listed as a spreadsheet (名称, 经度, 纬度) are the same gates as the GeoJSON's points."""
    import argparse

    import pandas as pd

    from quarterhour.cli.compounds import read_compound_inputs

    compounds, gates_file = _write_monaco_inputs(monaco, tmp_path)
    points = gpd.read_file(gates_file)
    table = tmp_path / "出入口.csv"
    pd.DataFrame({"名称": ["东门", "北门"], "经度": points.geometry.x, "纬度": points.geometry.y}).to_csv(
        table, index=False, encoding="gbk"
    )
    args = argparse.Namespace(compounds=compounds, gates=table, network=None, compounds_crs="wgs84")
    got = read_compound_inputs(args)
    np.testing.assert_allclose(shapely.get_coordinates(got.gates.geometry), shapely.get_coordinates(points.geometry))
    net, walled, _, _ = monaco
    again = wall_network(net, got.compounds, got.gates)
    assert len(again.edges) == len(walled.edges)
