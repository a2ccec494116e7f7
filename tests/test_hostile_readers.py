"""Hostile and careless inputs for every reader (Hypothesis): exit 2 with an ``error:`` line, never a traceback.

Each example writes one generated file (a table, a spreadsheet, a GeoJSON, a zip,
a GraphML or an OSM XML) and runs the real command in-process
(``quarterhour.cli.main.main``). The input files are read before the network, and the
network given is a broken file: an input the readers accept stops at the network
(exit 2 too), so no example runs an analysis. Networks are tried with
``quarterhour network FILE``, which reads and prepares one (a good one: exit 0).

How many: the ``ci`` profile (default) tries 200 inputs per reader; set
``QUARTERHOUR_HYPOTHESIS=deep`` for ``QUARTERHOUR_HYPOTHESIS_EXAMPLES`` (2000) each.
The outcomes are counted per reader, shown at the end of the session, and written
as JSON to ``$QUARTERHOUR_HOSTILE_COUNTS`` when set.

GeoJSON coordinates off the globe, Infinity and NaN among them, and zips with a bad CRC or a
damaged member are generated too (issue 15 §2 and §3 mended them: ``geo._validate.check_coordinates``,
stream-extracted zips).
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import json
import os
import re
import resource
import struct
import tempfile
import warnings
import zipfile
from collections import Counter
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quarterhour.cli.main import main

# "ci" (the default) tries the same 200 inputs on every run, so a red run is a change's doing and can be rerun;
# "deep" (QUARTERHOUR_HYPOTHESIS=deep) searches afresh each time: run it to look for new bugs.
settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "deep",
    parent=settings.get_profile("ci"),
    derandomize=False,
    max_examples=int(os.environ.get("QUARTERHOUR_HYPOTHESIS_EXAMPLES", "2000")),
)
PROFILE = settings.get_profile(os.environ.get("QUARTERHOUR_HYPOTHESIS", "ci"))

#: (reader, outcome) -> how many generated inputs ended so.
OUTCOMES: Counter[tuple[str, str]] = Counter()
#: What the refusals said, numbers and quoted values left out: how many different things the readers found wrong.
MESSAGES: Counter[str] = Counter()
STOPPED_AT_NETWORK = "broken.graphml: cannot read the street network"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, request):
    """A folder with the broken network and two small good inputs; the counts are reported when done."""
    folder = tmp_path_factory.mktemp("hostile")
    (folder / "broken.graphml").write_text("not a network", encoding="utf-8")
    # GeoJSON, not CSV: a table's duplicate-name check estimates a UTM zone (80 ms), too slow for every example.
    for name, properties in (("facilities", {"name": "A"}), ("demand", {"pop": 10})):
        feature = {
            "type": "Feature",
            "properties": properties,
            "geometry": {"type": "Point", "coordinates": [7.42, 43.73]},
        }
        collection = {"type": "FeatureCollection", "features": [feature]}
        (folder / f"{name}.geojson").write_text(json.dumps(collection), encoding="utf-8")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    yield folder
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    _report(request.config, rss_after - rss_before)


def _report(config: pytest.Config, rss_growth_kb: int) -> None:
    total = sum(OUTCOMES.values())
    lines = [
        f"hostile inputs tried: {total} (peak RSS grew {rss_growth_kb / 1024:,.0f} MB); "
        f"{len(MESSAGES)} kinds of refusal"
    ]
    lines += [f"  {reader}: {outcome}: {n}" for (reader, outcome), n in sorted(OUTCOMES.items())]
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("\n".join(lines))
    if os.environ.get("QUARTERHOUR_HOSTILE_COUNTS"):
        counts = {f"{reader} | {outcome}": n for (reader, outcome), n in sorted(OUTCOMES.items())}
        Path(os.environ["QUARTERHOUR_HOSTILE_COUNTS"]).write_text(
            json.dumps(
                {"total": total, "rss_growth_kb": rss_growth_kb, "outcomes": counts, "refusals": dict(MESSAGES)},
                indent=1,
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )


def _cli(*args: str) -> tuple[int, str]:
    """Run the command in-process: (exit status, stderr)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("default")  # as a planner's command runs: a library's warning is said, not raised
        status = main([*args, "--quiet"] if args[0] != "network" else list(args))
    return status, err.getvalue()


def _check(reader: str, status: int, stderr: str, *, may_pass: bool = False) -> None:
    """Exit 2 with an ``error:`` line naming no server folder, no traceback (exit 0 only where ``may_pass``)."""
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert "Traceback" not in stderr, stderr
    assert "site-packages" not in stderr and tempfile.gettempdir() + os.sep not in stderr, stderr  # no server path
    assert status == 2 or (may_pass and status == 0), stderr
    if status == 2:
        assert len(errors) == 1, stderr
        outcome = "exit 2, accepted (stopped at the network)" if STOPPED_AT_NETWORK in errors[0] else "exit 2, refused"
        MESSAGES[_gist(errors[0])] += 1
    else:
        outcome = "exit 0, accepted"
    OUTCOMES[reader, outcome] += 1


def _gist(error: str) -> str:
    """An error line without its file name, numbers and quoted values: what kind of refusal it is."""
    text = error.split(": ", 2)[-1].split(". Fix:")[0]
    return re.sub(r"\d+(\.\d+)?|'[^']*'|\([^)]*\)", "…", text)[:90]


def _run_with(workdir: Path, role: str, path: Path) -> tuple[int, str]:
    """``run`` with ``path`` as the ``role`` input, small good files for the others, and the broken network."""
    files = {"facilities": workdir / "facilities.geojson", "demand": workdir / "demand.geojson", role: path}
    args = ["run", "--network", str(workdir / "broken.graphml"), "--out", str(workdir / "out")]
    for name, value in files.items():
        args += [f"--{name}", str(value)]
    return _cli(*args)


# ---------------------------------------------------------------- tables (CSV, XLSX)

HEADERS = [
    "name", "名称", "category", "类别", "lon", "lat", "经度", "纬度", "x", "y", "lng", "pop", "人口",
    "facility_id", "id", "编号", "capacity", "面积", "minutes", "level", "code", "",
]  # fmt: skip
WORDS = [
    "", " ", "NaN", "nan", "Infinity", "-inf", "1e309", "-0", "0", "1", "-5", "1e3", "7.42", "43.73", "112.45", "34.62",
    "181", "-91", "95", "=1+1", "@SUM(A1)", "+1", "-1+1", "党群服务中心", "邻里中心", "service_centre", "study_room",
    "null", "None", "True", "1,000", "１２", "7.42°", "43°44'N",
]  # fmt: skip
# A cell: a word planners write, a number of any size, or any text (quotes, commas, newlines, any script).
CELL = st.one_of(
    st.sampled_from(WORDS),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(-200, 200).map(lambda v: f"{v:.5f}"),
    st.integers(-(10**20), 10**20).map(str),
    st.text(max_size=12),
)
HEADER = st.one_of(st.sampled_from(HEADERS), st.text(max_size=8))
ROWS = st.lists(st.lists(CELL, min_size=0, max_size=7), min_size=0, max_size=6)
ENCODINGS = ["utf-8", "utf-8", "utf-8", "utf-8-sig", "gb18030", "gb18030", "utf-16", "latin-1"]


# The columns each table may have, those it needs, and what a careful planner puts in each.
NAMES = {
    "facilities": ["name", "名称", "category", "类别", "lon", "lat", "经度", "纬度", "facility_id", "capacity"],
    "demand": ["lon", "lat", "经度", "纬度", "pop", "人口", "demand_id"],
    "categories": ["category", "minutes", "capacity", "类别"],
}
NEEDED = {"facilities": ["name", "lon", "lat"], "demand": ["lon", "lat", "pop"], "categories": ["category", "minutes"]}
CATEGORY_WORDS = ["service_centre", "study_room", "党群服务中心", "邻里中心", "城市书房", "elderly_care", "bank"]
PLAUSIBLE = {
    "lon": st.floats(7.40, 7.45).map(lambda v: f"{v:.5f}"),
    "lat": st.floats(43.72, 43.75).map(lambda v: f"{v:.5f}"),
    "pop": st.integers(0, 500).map(str),
    "category": st.sampled_from(CATEGORY_WORDS),
    "minutes": st.integers(1, 30).map(str),
    "capacity": st.integers(1, 900).map(str),
}
for ours, theirs in (("lon", "经度"), ("lat", "纬度"), ("pop", "人口"), ("category", "类别")):
    PLAUSIBLE[theirs] = PLAUSIBLE[ours]


@st.composite
def table(draw: st.DrawFn, role: str, cell: st.SearchStrategy, header: st.SearchStrategy) -> tuple[list, list]:
    """(headers, rows): careful (the needed columns, plausible values, now and then a careless cell) or careless."""
    if draw(st.booleans()):  # careful
        extra = draw(st.lists(st.sampled_from(NAMES[role]), max_size=3, unique=True))
        headers = draw(st.permutations(list(dict.fromkeys(NEEDED[role] + extra))))
        rows = [
            [draw(PLAUSIBLE.get(h, cell) if draw(st.integers(1, 12)) > 1 else cell) for h in headers]
            for _ in range(draw(st.integers(1, 5)))
        ]
        return headers, rows
    headers = draw(st.lists(st.one_of(st.sampled_from(NAMES[role]), header), max_size=6))
    return headers, draw(st.lists(st.lists(cell, max_size=7), max_size=6))


@st.composite
def csv_bytes(draw: st.DrawFn, role: str) -> bytes:
    """A CSV as planners' tools write it: careful or careless (ragged rows, odd encodings, cut short); or any bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=200))
    headers, rows = draw(table(role, CELL, HEADER))
    text = io.StringIO()
    writer = csv.writer(text, delimiter=draw(st.sampled_from([",", ",", ",", ";", "\t"])))
    writer.writerow(headers)
    writer.writerows(rows)
    data = text.getvalue().encode(draw(st.sampled_from(ENCODINGS)), errors="replace")
    return data[: draw(st.integers(0, len(data)))] if draw(st.integers(0, 4)) == 0 and data else data


XLSX_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)  # openpyxl: no control characters
XLSX_CELL = st.one_of(
    st.sampled_from(WORDS),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(10**15), 10**15),
    XLSX_TEXT,
)


@st.composite
def xlsx_bytes(draw: st.DrawFn, role: str) -> bytes:
    """A workbook, careful or careless, or one broken as a file: cut short, a zip of other files, a DTD, any bytes."""
    how = draw(st.sampled_from(["sheet"] * 5 + ["cut", "other zip", "dtd", "bytes", "no part"]))
    if how == "bytes":
        return draw(st.binary(max_size=200))
    if how == "other zip":
        # a member name as zipfile writes one: it cuts a name at its first NUL, and an empty name is no member
        member = st.text(st.characters(exclude_characters="\x00/"), min_size=1, max_size=12)
        return _zip({draw(member): b"hello"})
    headers, rows = draw(table(role, XLSX_CELL, XLSX_TEXT))
    width = max([len(headers), *map(len, rows)])
    headers = list(dict.fromkeys(headers + [f"extra{i}" for i in range(width)]))[:width]  # unique, as wide as a row
    buffer = io.BytesIO()
    pd.DataFrame([r + [None] * (width - len(r)) for r in rows], columns=headers, dtype=object).to_excel(
        buffer, index=False
    )
    data = buffer.getvalue()
    if how == "cut":  # where, as a share: the workbook's bytes (its zipped creation time) change with the clock
        return data[: int(draw(st.floats(0, 1, exclude_max=True)) * len(data))]
    if how in ("dtd", "no part"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = {n: archive.read(n) for n in archive.namelist()}
        name = draw(st.sampled_from(sorted(parts)))
        if how == "no part":
            del parts[name]
        else:
            parts[name] = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + parts[name]
        return _zip(parts)
    return data


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@PROFILE
@given(role=st.sampled_from(sorted(NAMES)), data=st.data())
def test_csv_tables(workdir, role, data):
    path = workdir / f"hostile_{role}.csv"
    path.write_bytes(data.draw(csv_bytes(role)))
    _check(f"{role} CSV", *_run_with(workdir, role, path))


@PROFILE
@given(role=st.sampled_from(sorted(NAMES)), data=st.data())
def test_xlsx_tables(workdir, role, data):
    path = workdir / f"hostile_{role}.xlsx"
    path.write_bytes(data.draw(xlsx_bytes(role)))
    _check(f"{role} XLSX", *_run_with(workdir, role, path))


# ---------------------------------------------------------------- GeoJSON

# Any coordinates: off the globe ([400, 100], 1e300), Infinity and NaN (json.dumps writes them; GDAL reads them).
NUMBER = st.floats(allow_nan=True, allow_infinity=True)
POSITION = st.one_of(
    st.tuples(st.floats(7.40, 7.45), st.floats(43.72, 43.75)).map(list),
    st.tuples(NUMBER, NUMBER).map(list),
    st.lists(NUMBER, max_size=4),  # too few or too many numbers
)
RING = st.lists(POSITION, max_size=6)


def _geometry(kind: str, coordinates: object) -> dict:
    return {"type": kind, "coordinates": coordinates}


GEOMETRY = st.one_of(
    st.none(),
    POSITION.map(lambda p: _geometry("Point", p)),
    st.lists(POSITION, max_size=5).map(lambda c: _geometry("MultiPoint", c)),
    st.lists(POSITION, max_size=5).map(lambda c: _geometry("LineString", c)),
    st.lists(RING, max_size=3).map(lambda c: _geometry("Polygon", c)),
    st.lists(st.lists(RING, max_size=2), max_size=2).map(lambda c: _geometry("MultiPolygon", c)),
    st.builds(dict, type=st.text(max_size=10), coordinates=st.lists(NUMBER, max_size=3)),
    st.just({"type": "GeometryCollection", "geometries": []}),
)
PROPERTY_KEYS = st.one_of(
    st.sampled_from(["name", "category", "pop", "level", "code", "facility_id", "demand_id", "capacity"]),
    st.text(max_size=8),
)
PROPERTY_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([*WORDS, "city", "district", "community", "service_centre"]),
    st.text(max_size=10),
    st.lists(st.integers(), max_size=2),
)
CARELESS_FEATURE = st.fixed_dictionaries(
    {"type": st.just("Feature"), "geometry": GEOMETRY, "properties": st.dictionaries(PROPERTY_KEYS, PROPERTY_VALUES)}
)
# Careful features of each role: Monaco points with a name or residents, or boxes with a level and a code.
CAREFUL_PROPERTIES = {
    "facilities": st.fixed_dictionaries(
        {"name": st.text(max_size=8)}, optional={"category": st.sampled_from(CATEGORY_WORDS)}
    ),
    "demand": st.fixed_dictionaries({"pop": st.integers(0, 500)}),
    "boundaries": st.fixed_dictionaries(
        {"level": st.sampled_from(["city", "district", "community"]), "code": st.text(max_size=4)},
        optional={"name": st.text(max_size=6)},
    ),
}
POINT = st.tuples(st.floats(7.40, 7.45), st.floats(43.72, 43.75)).map(lambda p: _geometry("Point", list(p)))
BOX = st.tuples(st.floats(7.40, 7.44), st.floats(43.72, 43.74), st.floats(0.001, 0.01)).map(
    lambda b: _geometry("Polygon", [[[b[0], b[1]], [b[0] + b[2], b[1]], [b[0] + b[2], b[1] + b[2]], [b[0], b[1]]]])
)
CRS_NAMES = ["EPSG:4326", "urn:ogc:def:crs:OGC:1.3:CRS84", "EPSG:3857", "EPSG:999999", 'PROJCS["bad', ""]


@st.composite
def feature(draw: st.DrawFn, role: str, shape: st.SearchStrategy) -> dict:
    """A careful feature of ``role`` (now and then a careless one)."""
    if draw(st.integers(1, 8)) == 1:
        return draw(CARELESS_FEATURE)
    return {"type": "Feature", "geometry": draw(shape), "properties": draw(CAREFUL_PROPERTIES[role])}


@st.composite
def geojson_bytes(draw: st.DrawFn, role: str = "facilities") -> bytes:
    """A FeatureCollection, careful or careless (any geometry, any properties), a stated CRS or none; or broken."""
    how = draw(st.sampled_from(["careful", "careful", "careless", "careless", "cut", "not a collection", "bytes"]))
    if how == "bytes":
        return draw(st.binary(max_size=200))
    if how == "not a collection":
        doc = draw(st.one_of(st.lists(st.integers(), max_size=2), st.integers(), st.text(max_size=5), CARELESS_FEATURE))
    else:
        shape = BOX if role == "boundaries" else draw(st.sampled_from([POINT, POINT, POINT, BOX]))
        features = feature(role, shape) if how == "careful" else CARELESS_FEATURE
        doc = {"type": "FeatureCollection", "features": draw(st.lists(features, max_size=5))}
        if draw(st.integers(0, 3)) == 0:
            name = draw(st.one_of(st.sampled_from(CRS_NAMES), st.text(max_size=10)))
            doc["crs"] = {"type": "name", "properties": {"name": name}}
    data = json.dumps(doc, ensure_ascii=draw(st.booleans())).encode()  # NaN and Infinity too: not JSON
    return data[: draw(st.integers(0, len(data)))] if how == "cut" else data


@PROFILE
@given(role=st.sampled_from(["facilities", "demand", "boundaries"]), data=st.data())
def test_geojson(workdir, role, data):
    path = workdir / f"hostile_{role}.geojson"
    path.write_bytes(data.draw(geojson_bytes(role)))
    _check(f"{role} GeoJSON", *_run_with(workdir, role, path))


# ---------------------------------------------------------------- zips


@functools.cache
def _shapefile(polygons: bool, n: int) -> dict[str, bytes]:
    """The parts of a real small Shapefile of ``n`` points or polygons (made once)."""
    import geopandas as gpd
    import shapely

    geometry = [
        shapely.box(7.4, 43.7, 7.41 + i / 100, 43.71) if polygons else shapely.Point(7.42, 43.73) for i in range(n)
    ]
    frame = gpd.GeoDataFrame({"name": ["A"] * n, "level": ["city"] * n}, geometry=geometry, crs=4326)
    with tempfile.TemporaryDirectory() as tmp:
        frame.to_file(Path(tmp) / "layer.shp")
        return {p.name: p.read_bytes() for p in Path(tmp).iterdir()}


@st.composite
def shapefile_parts(draw: st.DrawFn) -> dict[str, bytes]:
    """The parts of a real small Shapefile (points or polygons), each possibly cut short or swapped for bytes."""
    parts = dict(_shapefile(draw(st.booleans()), draw(st.integers(1, 3))))
    for name in draw(st.lists(st.sampled_from(sorted(parts)), max_size=2, unique=True)):
        data = parts[name]
        parts[name] = draw(st.one_of(st.binary(max_size=64), st.integers(0, len(data)).map(lambda i, d=data: d[:i])))
    if draw(st.booleans()):
        parts["layer.prj"] = draw(st.sampled_from([b'PROJCS["bad', b'AUTHORITY["EPSG","999999"]', b""]))
    return parts


MEMBER_NAMES = st.one_of(
    st.sampled_from([
        "a.geojson", "b.geojson", "layer.gpkg", "a.shp", "notes.txt", "dir/", "dir/a.geojson", "../evil.geojson",
        "/abs.geojson", "C:\\x.geojson", "..", "a/../../b.shp",
    ]),
    # Any other name, but a surrogate or NUL: zipfile cannot write those.
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), min_size=1, max_size=12),
)  # fmt: skip


@st.composite
def zip_bytes(draw: st.DrawFn) -> bytes:
    """A zip as planners send layers: a Shapefile's parts, GeoJSON, odd names, or not a zip at all.

    Now and then one member's packed bytes are flipped: a bad CRC, or a member that does not unpack.
    """
    how = draw(st.sampled_from(["shapefile", "shapefile", "members", "members", "bytes"]))
    if how == "bytes":
        return draw(st.binary(max_size=200))
    members = draw(shapefile_parts()) if how == "shapefile" else {}
    extra = draw(st.lists(st.tuples(MEMBER_NAMES, st.one_of(geojson_bytes(), st.binary(max_size=64))), max_size=3))
    members.update(dict(extra))
    data = _zip(members)
    return _flip_a_byte(draw, data) if draw(st.integers(0, 3)) == 0 else data


def _flip_a_byte(draw: st.DrawFn, data: bytes) -> bytes:
    """The zip with one byte of one member's packed data flipped (its CRC no longer matches, or it will not unpack)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        packed = [m for m in archive.infolist() if m.compress_size]
    if not packed:
        return data
    member = draw(st.sampled_from(packed))
    out = bytearray(data)
    name_len, extra_len = struct.unpack("<HH", out[member.header_offset + 26 : member.header_offset + 30])
    start = member.header_offset + 30 + name_len + extra_len
    out[start + draw(st.integers(0, member.compress_size - 1))] ^= draw(st.integers(1, 255))
    return bytes(out)


@PROFILE
@given(role=st.sampled_from(["facilities", "demand", "boundaries"]), content=zip_bytes())
def test_zips(workdir, role, content):
    path = workdir / f"hostile_{role}.zip"
    path.write_bytes(content)
    _check(f"{role} zip", *_run_with(workdir, role, path))


# ---------------------------------------------------------------- networks (GraphML, OSM XML)

COORDINATE = st.one_of(
    st.floats(-180, 180).map(repr),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", "x", "1e400", "[1, 2]", "{}", "[[[[[[[[[[]]]]]]]]]]"]),
    st.none(),  # no value: the node lacks it
)
NODE_ID = st.one_of(st.integers(0, 8), st.integers(-(2**70), 2**70), st.sampled_from(["a", "", "1.5", "0x1"]))
GRAPH_CRS = st.one_of(
    st.sampled_from(["epsg:4326", "EPSG:32632", "epsg:2263", "EPSG:4978", "epsg:999999", 'PROJCS["bad', "", "x"]),
    st.text(max_size=10),
    st.none(),
)
EDGE_VALUE = st.one_of(st.floats().map(repr), st.text(max_size=8), st.sampled_from(["True", "False", "maybe"]))


def _linestring(points: list[tuple[float, float]]) -> str:
    return "LINESTRING (" + ", ".join(f"{x!r} {y!r}" for x, y in points) + ")"


GEOMETRY_WKT = st.one_of(
    st.lists(st.tuples(st.floats(7.4, 7.45), st.floats(43.72, 43.75)), min_size=2, max_size=4).map(_linestring),
    st.sampled_from(["LINESTRING (", "POINT (1 2)", "LINESTRING EMPTY", "", "garbage"]),
)


def _data(key: str, value: object) -> str:
    return "" if value is None else f"<data key={quoteattr(key)}>{escape(str(value))}</data>"


# A careful network: small integer ids, lon/lat near Monaco or anywhere on the globe, edges between its nodes.
GOOD_ID = st.integers(1, 8)
GOOD_LON = st.one_of(st.floats(7.40, 7.45), st.floats(-180, 180)).map(repr)
GOOD_LAT = st.one_of(st.floats(43.72, 43.75), st.floats(-90, 90)).map(repr)


@st.composite
def graph_parts(draw: st.DrawFn) -> tuple[list, list, object]:
    """(nodes, edges, crs) of a small graph: careful, with now and then one careless part; or careless throughout."""
    careful = draw(st.booleans())

    def pick(good: st.SearchStrategy, bad: st.SearchStrategy, odds: int = 8) -> object:
        """Careful: the good part, but once in ``odds`` the careless one; careless: always that."""
        return draw(good if careful and draw(st.integers(1, odds)) > 1 else bad)

    ids = pick(st.lists(GOOD_ID, min_size=2, max_size=6, unique=True), st.lists(NODE_ID, max_size=6)) or [0]
    nodes = [(n, pick(GOOD_LON, COORDINATE, 30), pick(GOOD_LAT, COORDINATE, 30)) for n in ids]
    end = st.sampled_from(ids)
    edges = [
        (pick(end, st.one_of(end, NODE_ID), 30), pick(end, st.one_of(end, NODE_ID), 30), pick(st.just({}), EDGE_VALUES))
        for _ in range(draw(st.integers(0 if not careful else 1, 8)))
    ]
    return nodes, edges, pick(st.sampled_from(["epsg:4326", "EPSG:4326"]), GRAPH_CRS)


EDGE_VALUES = st.dictionaries(
    st.sampled_from(["length", "oneway", "osmid", "geometry", "reversed"]), st.one_of(EDGE_VALUE, GEOMETRY_WKT)
)


@st.composite
def graphml_text(draw: st.DrawFn) -> str:
    """A small GraphML as osmnx writes it, carelessly: any CRS, ids, coordinates, edges to nodes not given."""
    nodes, edges, crs = draw(graph_parts())
    keys = [("crs", "graph"), ("simplified", "graph"), ("x", "node"), ("y", "node"), ("street_count", "node")]
    keys += [(k, "edge") for k in ("length", "oneway", "osmid", "geometry", "reversed")]
    out = ['<?xml version="1.0" encoding="utf-8"?>', '<graphml xmlns="http://graphml.graphdrawing.org/xmlns">']
    out += [f'<key id="{k}" for="{scope}" attr.name="{k}" attr.type="string"/>' for k, scope in keys]
    out.append('<graph edgedefault="directed">' + _data("crs", crs))
    if draw(st.booleans()):
        out.append(_data("simplified", draw(st.sampled_from(["True", "False", "yes"]))))
    for n, x, y in nodes:
        out.append(f"<node id={quoteattr(str(n))}>{_data('x', x)}{_data('y', y)}</node>")
    for u, v, values in edges:
        body = "".join(_data(k, value) for k, value in values.items())
        out.append(f"<edge source={quoteattr(str(u))} target={quoteattr(str(v))}>{body}</edge>")
    out.append("</graph></graphml>")
    return "\n".join(out)


@st.composite
def osm_text(draw: st.DrawFn) -> str:
    """A small OSM XML: nodes with any lat/lon, ways through nodes given or not, walkable tags or not."""
    nodes, edges, _ = draw(graph_parts())
    out = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6">']
    for n, lon, lat in nodes:
        attrs = "".join(f" {k}={quoteattr(str(v))}" for k, v in (("lat", lat), ("lon", lon)) if v is not None)
        out.append(f"<node id={quoteattr(str(n))}{attrs}/>")
    highway = st.sampled_from(["footway", "footway", "residential", "motorway", "", "x"])
    for way_id, (u, v, _) in enumerate(edges, start=100):
        tags = "".join(f"<tag k={quoteattr(k)} v={quoteattr(draw(highway))}/>" for k in ("highway",))
        out.append(f'<way id="{way_id}"><nd ref={quoteattr(str(u))}/><nd ref={quoteattr(str(v))}/>{tags}</way>')
    out.append("</osm>")
    return "\n".join(out)


@st.composite
def network_file(draw: st.DrawFn) -> tuple[str, bytes]:
    """(suffix, bytes) of a network file: GraphML or OSM XML, whole, cut short, with a DTD, or any bytes."""
    suffix = draw(st.sampled_from([".graphml", ".graphml", ".osm", ".osm", ".pbf"]))
    if suffix == ".pbf":
        return suffix, draw(st.binary(max_size=200))
    text = draw(graphml_text() if suffix == ".graphml" else osm_text())
    how = draw(st.sampled_from(["whole"] * 6 + ["cut", "dtd", "bytes"]))
    data = text.encode()
    if how == "cut":
        data = data[: draw(st.integers(0, len(data)))]
    elif how == "dtd":
        data = data.replace(b"?>", b'?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>', 1)
    elif how == "bytes":
        data = draw(st.binary(max_size=200))
    return suffix, data


@PROFILE
@given(network=network_file())
def test_network_files(workdir, network):
    suffix, data = network
    path = workdir / f"hostile_network{suffix}"
    path.write_bytes(data)
    status, stderr = _cli("network", str(path), "--cache-dir", str(workdir / "cache"))
    _check(f"network {suffix}", status, stderr, may_pass=True)


# ---------------------------------------------------------------- the cases issue 15 §4 names, one by one


def _graphml(crs: str | None = "epsg:4326", nodes=((1, 7.42, 43.73), (2, 7.43, 43.73)), edges=((1, 2),)) -> str:
    keys = "".join(
        f'<key id="{k}" for="{scope}" attr.name="{k}" attr.type="string"/>'
        for k, scope in (("crs", "graph"), ("x", "node"), ("y", "node"))
    )
    body = _data("crs", crs)
    body += "".join(f'<node id="{n}">{_data("x", x)}{_data("y", y)}</node>' for n, x, y in nodes)
    body += "".join(f'<edge source="{u}" target="{v}"/>' for u, v in edges)
    return f'<?xml version="1.0"?><graphml xmlns="http://graphml.graphdrawing.org/xmlns">{keys}<graph>{body}</graph></graphml>'


LAUGHS = '<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
XXE = '<!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
NETWORK_CASES = {
    "empty.graphml": ("", "the network file is empty"),
    "cut.osm": ('<?xml version="1.0"?><osm version="0.6"><node id="1" lat="1"', "unclosed token"),
    "laughs.graphml": (_graphml().replace("?>", "?>" + LAUGHS, 1), "declares XML entities"),
    "xxe.osm": (f'<?xml version="1.0"?>{XXE}<osm version="0.6">&e;</osm>', "declares XML entities"),
    "no_x.graphml": (
        _graphml(nodes=((1, None, 43.7), (2, 7.4, 43.7))),
        "1 node has no coordinates (x, y), the first is node 1",
    ),
    "no_crs.graphml": (_graphml(crs=None), "states no coordinate reference system"),
    "epsg.graphml": (_graphml(crs="epsg:999999"), "'epsg:999999' is not one PROJ knows"),
    "wkt.graphml": (_graphml(crs='PROJCS["bad'), "'PROJCS[\"bad' is not one PROJ knows"),
    "missing_node.graphml": (_graphml(edges=((1, 2), (2, 3))), "the first is node 3: an edge leads to a node"),
    "off_earth.graphml": (
        _graphml(nodes=((1, 400, 100), (2, 500, 100))),
        "2 nodes lie off the Earth in the network's CRS (EPSG:4326), the first is node 1 at (400, 100)",
    ),
    "polar.graphml": (_graphml(nodes=((1, 7.4, 89.5), (2, 7.5, 89.6))), "no UTM zone covers the network"),
    "garbage.osm.pbf": ("garbage", "cannot read the OSM extract (PBF error"),
}


@pytest.mark.parametrize("name", sorted(NETWORK_CASES))
def test_network_files_the_issue_names(tmp_path, name):
    text, said = NETWORK_CASES[name]
    (tmp_path / name).write_text(text, encoding="utf-8")
    status, stderr = _cli("network", str(tmp_path / name), "--cache-dir", str(tmp_path / "cache"))
    assert status == 2, stderr
    [error] = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert error.startswith(f"error: {name}: ") and said in error, error
    assert error.count("Fix: ") == 1 and error.count("cannot read") <= 1, error  # said once, never wrapped twice


def _workbook(tmp_path: Path) -> bytes:
    pd.DataFrame({"name": ["A"], "lon": [7.42], "lat": [43.73]}).to_excel(tmp_path / "good.xlsx", index=False)
    return (tmp_path / "good.xlsx").read_bytes()


def _with_dtd(workbook: bytes, dtd: str, reference: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(workbook)) as archive:
        parts = {n: archive.read(n) for n in archive.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    row = f'<row r="3"><c r="A3" t="inlineStr"><is><t>{reference}</t></is></c></row>'
    parts["xl/worksheets/sheet1.xml"] = (dtd + sheet.replace("</sheetData>", row + "</sheetData>")).encode()
    return _zip(parts)


@pytest.mark.parametrize(
    ("case", "said"),
    [
        ("zip of other files", "is a zip of other files (notes.txt), not an .xlsx workbook"),
        ("xxe", "declares XML entities (<!DOCTYPE …> in xl/worksheets/sheet1.xml), which Excel never writes"),
        ("billion laughs", "declares XML entities"),
        ("not a zip", "is not an .xlsx workbook (not a zip)"),
    ],
)
def test_workbooks_the_issue_names(workdir, tmp_path, case, said):
    good = _workbook(tmp_path)
    content = {
        "zip of other files": _zip({"notes.txt": b"hello"}),
        "xxe": _with_dtd(good, XXE, "&e;"),
        "billion laughs": _with_dtd(good, LAUGHS, "&b;"),
        "not a zip": b"name,lon,lat\n",
    }[case]
    path = tmp_path / "设施.xlsx"
    path.write_bytes(content)
    status, stderr = _run_with(workdir, "facilities", path)
    assert status == 2, stderr
    [error] = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert error.startswith("error: 设施.xlsx: the facilities") and said in error, error
    assert "open it in Excel or WPS and save it again as .xlsx" in error


@pytest.mark.parametrize("role", ["facilities", "boundaries", "demand"])
def test_a_bad_zip_is_refused_alike_for_every_role_with_no_server_path(workdir, tmp_path, role):
    path = tmp_path / "units.zip"
    path.write_bytes(_zip({"a.geojson": b'{"type": "Feat'}))
    status, stderr = _run_with(workdir, role, path)
    assert status == 2, stderr
    [error] = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert "'a.geojson' not recognized as being in a supported file format" in error, error
    assert "/vsizip/" not in error and tempfile.gettempdir() not in error and "It might help" not in error


def test_a_projected_network_in_feet_is_projected_to_metres(tmp_path):
    from geo.io import read_network
    from geo.network import prepare_network

    feet = _graphml(crs="epsg:2263", nodes=((1, 980000.0, 200000.0), (2, 981000.0, 200000.0)))  # New York, US feet
    (tmp_path / "ny.graphml").write_text(feet, encoding="utf-8")
    network = prepare_network(read_network(tmp_path / "ny.graphml"))
    assert network.crs.to_epsg() == 32618  # UTM 18N, in metres
    assert network.edges["length_m"].iloc[0] == pytest.approx(1000 * 0.3048006, rel=1e-3)
