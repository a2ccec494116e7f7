"""Hostile inputs for the readers issue 27 found holes in (Hypothesis): rasters, scenario files, batch units, and
every name that becomes a path.

Each reader is called directly (``geo.raster``, ``geo.scenario.read_scenario``, ``quarterhour.batch.run.read_units``)
on one generated file: it either refuses with an ``InputError`` (a planner's message: exit 2 in the CLI) or gives
what the rest of the tool may trust: residents that are a finite, plausible count; changes with known actions and
printable names; unit codes that are plain folder names. Names are tried on ``quarterhour.gis.outdir``: a name made
from any text is one plain name of bounded bytes that a real folder can be made with, and stays in its parent.

How many: the ``ci`` profile (default) tries 25 inputs per reader (the same each run); set
``QUARTERHOUR_HYPOTHESIS=deep`` for ``QUARTERHOUR_HYPOTHESIS_EXAMPLES`` (2000) each, searched afresh. The outcomes
are counted per reader and shown at the end of the module (``pytest -rA`` or ``-s``).
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
import warnings
from collections import Counter
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rasterio.crs import CRS
from rasterio.transform import Affine

from geo import InputError, load_sample
from geo._validate import MAX_RESIDENTS
from geo.raster import open_raster, read_window
from geo.scenario import SCENARIO_ACTIONS, read_scenario
from quarterhour.batch.run import read_units
from quarterhour.gis.outdir import MAX_NAME_BYTES, inside, safe_part
from quarterhour.pack.report import unit_folders

settings.register_profile(
    "paths-ci",
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "paths-deep",
    parent=settings.get_profile("paths-ci"),
    derandomize=False,
    max_examples=int(os.environ.get("QUARTERHOUR_HYPOTHESIS_EXAMPLES", "2000")),
)
PROFILE = settings.get_profile("paths-deep" if os.environ.get("QUARTERHOUR_HYPOTHESIS") == "deep" else "paths-ci")

#: (reader, outcome) -> how many generated inputs ended so.
OUTCOMES: Counter[tuple[str, str]] = Counter()
#: (reader, what the refusal said, numbers and quoted values left out) -> how many.
MESSAGES: Counter[tuple[str, str]] = Counter()
LON, LAT = 7.4200, 43.7350
#: Text a planner's file may hold: control characters, path parts, 4-byte characters, Chinese, long runs.
NASTY = [
    "..", "../victim", "/etc/passwd", "../../x", "a/b", "C:\\x", "~", ".", "\x00", "\x01", "\x1b[31m", "\x7f", "\x9b",
    "\t", "\n", "𝔘" * 70, "𠀀" * 60, "党群服务中心", "Q" * 300, " ", "", "con", "aux.txt", "\udcd6",
]  # fmt: skip
TEXT = st.one_of(
    st.sampled_from(NASTY), st.text(max_size=20), st.lists(st.sampled_from(NASTY), max_size=4).map("".join)
)


@pytest.fixture(scope="module")
def sample(request):
    yield load_sample()
    lines = [f"hostile inputs tried (issue 27 readers): {sum(OUTCOMES.values())}"]
    lines += [f"  {reader}: {outcome}: {n}" for (reader, outcome), n in sorted(OUTCOMES.items())]
    lines += [f"    {reader} refused: {gist}: {n}" for (reader, gist), n in sorted(MESSAGES.items())]
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("\n".join(lines))
    if os.environ.get("QUARTERHOUR_HOSTILE_COUNTS"):
        path = Path(os.environ["QUARTERHOUR_HOSTILE_COUNTS"]).with_suffix(".paths.json")
        path.write_text(json.dumps({f"{r} | {o}": n for (r, o), n in sorted(OUTCOMES.items())}, indent=1), "utf-8")


def _raw(text: str) -> bool:
    """Whether ``text`` still holds what breaks spreadsheets, XML and terminals (control characters, stray bytes)."""
    return bool(re.search("[\x00-\x1f\x7f-\x9f\ud800-\udfff]", text))


def _quietly(read, *args):
    """Call a reader as a planner's command runs it: a library's warning is said, not raised."""
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        return read(*args)


def _refused(reader: str, exc: InputError) -> None:
    message = str(exc)
    assert "Fix:" in message or "fix" in message.lower(), message
    assert tempfile.gettempdir() + os.sep not in message, message  # no server path
    OUTCOMES[reader, "refused (InputError, exit 2)"] += 1
    gist = re.sub(r"\d[\d,.]*|'[^']*'|\([^)]*\)", "…", message.split(": ", 1)[-1].split(". Fix:")[0])
    MESSAGES[reader, gist[:80]] += 1


# ---------------------------------------------------------------- rasters

DTYPES = ["uint8", "int16", "int32", "float32", "float64"]
VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.sampled_from([0.0, -1.0, 1e-30, 1e-45, 1.7e38, 3e38, -9999.0, 255.0, 1.0, 12.5]),
)


@st.composite
def raster(draw: st.DrawFn, network) -> dict:
    """A small GeoTIFF's recipe: shape, dtype, values, nodata, CRS, transform (careful or careless)."""
    b = network.nodes.total_bounds
    rows, cols = draw(st.integers(1, 30)), draw(st.integers(1, 30))
    crs = draw(st.sampled_from(["net", "net", "net", "4326", "local", None]))
    cell = draw(st.sampled_from([(b[2] - b[0] + 40) / cols, 1e-3, 0.5, 5000.0, -50.0]))
    careful = draw(st.booleans())  # a planner's raster: residents per cell, in the streets' CRS, over them
    if careful:
        crs, cell = "net", (b[2] - b[0] + 40) / cols
    fill = draw(st.lists(st.floats(0.5, 200) if careful else VALUES, min_size=1, max_size=6))
    index = draw(st.lists(st.integers(0, len(fill) - 1), min_size=rows * cols, max_size=rows * cols))
    return {
        "rows": rows,
        "cols": cols,
        "dtype": draw(st.sampled_from(DTYPES)),
        "values": np.asarray(fill)[index].reshape(rows, cols),
        "nodata": draw(st.sampled_from([None, -1.0, 0.0, -9999.0, float("nan")])),
        "crs": crs,
        "transform": Affine(
            abs(cell) if crs != "4326" else 1e-3,
            0,
            b[0] - 20 if crs != "4326" else LON - 0.01,
            0,
            -cell if crs != "4326" else -1e-3,
            b[3] + 20 if crs != "4326" else LAT + 0.01,
        ),
    }


def _write(path: Path, recipe: dict, network) -> Path:
    crs = {"net": network.crs, "4326": "EPSG:4326", None: None}.get(recipe["crs"]) or (
        CRS.from_wkt('LOCAL_CS["site",LOCAL_DATUM["x",0],UNIT["metre",1],AXIS["X",EAST],AXIS["Y",NORTH]]')
        if recipe["crs"] == "local"
        else None
    )
    dtype = recipe["dtype"]
    with np.errstate(all="ignore"):
        values = recipe["values"]
        if np.issubdtype(np.dtype(dtype), np.integer):
            info = np.iinfo(dtype)
            values = np.clip(np.nan_to_num(values, nan=0, posinf=info.max, neginf=info.min), info.min, info.max)
        data = values.astype(dtype)
    nodata = recipe["nodata"]
    if nodata is not None and np.issubdtype(np.dtype(dtype), np.integer):
        nodata = None if math.isnan(nodata) or nodata < np.iinfo(dtype).min else nodata
    with rasterio.open(path, "w", driver="GTiff", width=recipe["cols"], height=recipe["rows"], count=1, dtype=dtype,
                       crs=crs, transform=recipe["transform"], nodata=nodata, compress="deflate") as dst:  # fmt: skip
        dst.write(data, 1)
    return path


@PROFILE
@given(data=st.data())
def test_rasters(sample, tmp_path_factory, data):
    network, _, _ = sample
    recipe = data.draw(raster(network))
    path = _write(tmp_path_factory.mktemp("r") / "residents.tif", recipe, network)
    if data.draw(st.booleans()) and data.draw(st.booleans()):  # now and then a damaged file
        raw = bytearray(path.read_bytes())
        cut = data.draw(st.integers(0, len(raw)))
        path.write_bytes(bytes(raw[:cut]) + data.draw(st.binary(max_size=64)))
    try:
        cells = _quietly(
            read_window, _quietly(open_raster, path), tuple(network.nodes.total_bounds), network.crs.to_wkt()
        )
    except InputError as exc:
        _refused("raster", exc)
        return
    pop = cells["pop"].to_numpy()
    assert len(pop) and np.isfinite(pop).all() and (pop > 0).all()
    assert 1 <= math.fsum(pop) <= MAX_RESIDENTS
    OUTCOMES["raster", "accepted (a finite, plausible count)"] += 1


# ---------------------------------------------------------------- scenario files

GEOMETRY = st.one_of(
    st.tuples(st.floats(7.40, 7.45), st.floats(43.72, 43.75)).map(lambda p: {"type": "Point", "coordinates": list(p)}),
    st.sampled_from(
        [
            None,
            {"type": "Point", "coordinates": []},
            {"type": "LineString", "coordinates": [[7.4, 43.7], [7.41, 43.71]]},
            {"type": "Point", "coordinates": [1e308, -1e308]},
        ]
    ),
)
PROPERTY = st.one_of(TEXT, st.none(), st.integers(), st.floats(allow_nan=False, allow_infinity=False))
ACTION = st.one_of(st.sampled_from([*SCENARIO_ACTIONS, "ADD ", "Close", "delete", ""]), TEXT)


@PROFILE
@given(data=st.data())
def test_scenario_files(sample, tmp_path_factory, data):
    careful = data.draw(st.booleans())  # a planner's file: known actions, ids where needed, points; any names
    features = [
        {
            "type": "Feature",
            "properties": {
                "action": data.draw(st.sampled_from(SCENARIO_ACTIONS) if careful else ACTION),
                "facility_id": data.draw(st.sampled_from(["F1", "F2"]) if careful else PROPERTY),
                "name": data.draw(PROPERTY),
                "category": data.draw(st.one_of(st.sampled_from(["study_room", "bank", None]), TEXT)),
            },
            "geometry": data.draw(GEOMETRY if not careful else GEOMETRY.filter(lambda g: bool(g and g["coordinates"]))),
        }
        for _ in range(data.draw(st.integers(0, 6)))
    ]
    path = tmp_path_factory.mktemp("s") / "scenario.geojson"
    text = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=data.draw(st.booleans()))
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        changes = _quietly(read_scenario, path)
    except InputError as exc:
        _refused("scenario file", exc)
        return
    assert set(changes["action"]) <= set(SCENARIO_ACTIONS)
    assert not any(_raw(v) for v in changes["name"] if isinstance(v, str))
    OUTCOMES["scenario file", "accepted (known actions, printable names)"] += 1


# ---------------------------------------------------------------- batch units


@PROFILE
@given(
    codes=st.one_of(
        st.lists(TEXT, min_size=1, max_size=4),  # careless: any text
        st.lists(
            st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9_.-]{0,10}[A-Za-z0-9])?", fullmatch=True),
            min_size=1,
            max_size=4,
            unique=True,
        ),
    ),
    names=st.lists(TEXT, min_size=4, max_size=4),
    level=st.booleans(),
)
def test_batch_units(sample, tmp_path_factory, codes, names, level):
    folder = tmp_path_factory.mktemp("u")
    boxes = [shapely.box(LON + i * 1e-3, LAT, LON + (i + 1) * 1e-3, LAT + 1e-3) for i in range(len(codes))]
    cols = {"code": codes, "name": names[: len(codes)]}
    if level:
        cols["level"] = ["district"] * len(codes)
    try:
        gpd.GeoDataFrame(cols, geometry=boxes, crs=4326).to_file(folder / "units.geojson")
    except (UnicodeError, ValueError):  # text GDAL cannot write (lone surrogates): not a file a planner can have
        OUTCOMES["batch units", "not writable as a file (skipped)"] += 1
        return
    try:
        units, _ = _quietly(read_units, folder / "units.geojson")
    except InputError as exc:
        _refused("batch units", exc)
        return
    out = folder / "out"
    for code in units["code"]:
        made = inside(out, code)  # the one way a unit's folder is made: refuses anything else
        made.mkdir(parents=True)
        assert made.parent == out and made.resolve().is_relative_to(out.resolve())
    assert not any(_raw(n) for n in units["name"].astype(str))
    OUTCOMES["batch units", "accepted (codes are plain folder names)"] += 1


# ---------------------------------------------------------------- names that become paths


@PROFILE
@given(texts=st.lists(TEXT, min_size=1, max_size=5))
def test_names_that_become_paths(tmp_path_factory, texts):
    parent = tmp_path_factory.mktemp("n")
    for text in texts:
        name = safe_part(text)
        assert name and len(name.encode("utf-8")) <= MAX_NAME_BYTES and not name.startswith(".")
        path = inside(parent, name)
        path.mkdir(exist_ok=True)  # a real folder of that name can be made: no ENAMETOOLONG, no escape
        assert path.resolve().parent == parent.resolve()
        (path / "x.zip").write_bytes(b"")  # a download's name
    folders = unit_folders({f"{i}{t}": t for i, t in enumerate(texts)})
    assert len({f.casefold() for f in folders.values()}) == len(folders)
    for folder in folders.values():
        assert inside(parent, folder).resolve().parent == parent.resolve()
        assert len(folder.encode("utf-8")) <= MAX_NAME_BYTES + 9  # the tag of names that clean alike
    OUTCOMES["names as paths", "made safe (one plain name, in its parent)"] += len(texts)
