"""Issue 32 (iso-faces): the network's faces made once and kept in its store entry; the isochrones looked up
among them are the per-facility way's land, to float noise."""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
import shapely

import geo.store
from analysis import columns as C
from analysis.isochrones import QUAD_SEGS, STREET_SIDE_M, facility_isochrones, kept_faces, substrings
from analysis.streetbuffer import blocks_from_faces, street_buffer, street_buffer_of_blocks
from geo import sample_paths, snap_points
from geo.faces import CORE_M, CORE_QUAD_SEGS, FACE_FILES, network_faces
from geo.network import StreetNetwork
from geo.store import _mac, store_network, store_secret

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from synthetic_city import synthetic_city


def _with_faces(network: StreetNetwork, faces: object) -> StreetNetwork:
    """The same streets with ``faces`` kept (or none)."""
    derived = {"faces": faces} if faces is not None else {}
    return StreetNetwork(network.graph, network.nodes, network.edges, network.crs, derived)


def _assert_same(a: np.ndarray, b: np.ndarray) -> None:
    """The same land to float noise: 1e-9 of the area, 1e-6 m."""
    assert len(a) == len(b) and len(a)
    assert shapely.is_valid(b).all()
    assert (shapely.area(shapely.symmetric_difference(a, b)) <= 1e-9 * shapely.area(a)).all()
    assert (shapely.hausdorff_distance(shapely.boundary(a), shapely.boundary(b)) <= 1e-6).all()


def test_the_kept_cores_are_the_isochrones_street_side():
    assert (CORE_M, CORE_QUAD_SEGS) == (STREET_SIDE_M, QUAD_SEGS)


@pytest.mark.parametrize("city", ["monaco", "grid"])
def test_isochrones_from_the_kept_faces_are_the_per_facility_way(sample, city):
    """Every band's polygon of every facility, from the faces looked up, is the per-facility way's: on the Monaco
    sample (curving streets, bridges, the cutoff mid-segment) and on a 5,000-corner grid city."""
    if city == "monaco":
        network, facilities, _ = sample
        minutes = (5, 10, 15)
    else:
        network, facilities, _ = synthetic_city(5_000, n_facilities=40, n_residents=10, seed=11)
        minutes = (10, 15)
    snaps = snap_points(facilities, network)
    faces = network_faces(network.edges.geometry.to_numpy())
    assert faces.n_faces > 100 and (faces.piece_faces >= 0).any(axis=1).mean() > 0.5
    with_faces = _with_faces(network, faces)
    assert kept_faces(with_faces) is faces and kept_faces(network) is None
    fast = facility_isochrones(with_faces, facilities, snaps, minutes=minutes)
    each = facility_isochrones(network, facilities, snaps, minutes=minutes, use_faces=False)
    assert (fast[C.FACILITY_ID].to_numpy() == each[C.FACILITY_ID].to_numpy()).all()
    _assert_same(each.geometry.to_numpy(), fast.geometry.to_numpy())


def _square(x: float, y: float, side: float) -> list[shapely.LineString]:
    corners = [(x, y), (x + side, y), (x + side, y + side), (x, y + side), (x, y)]
    return [shapely.LineString(corners[i : i + 2]) for i in range(4)]


def test_faces_joined_by_a_street_walked_from_both_ends_make_one_block():
    """Two squares sharing a street walked from both ends but not in the middle: one block of two faces, as
    ``polygonize`` finds it; a square walked all round with an island square inside (not walked): no block
    (its face has a hole); and walks that only partly go round a face: none. Each the plain ``street_buffer``."""
    segments = np.array(
        [
            *_square(0, 0, 300),
            *_square(300, 0, 300),
            *_square(2000, 0, 600),
            *_square(2200, 200, 200),
        ]
    )
    faces = network_faces(segments)
    length = shapely.length(segments)
    shared = (1, 7)  # the first square's right edge, drawn again as the second's left edge: one noded piece
    walks = {
        "two faces, one block": [(e, 0.0, length[e]) for e in range(8) if e not in shared]
        + [(1, 0.0, 120.0), (7, 0.0, 100.0)],
        "island": [(e, 0.0, length[e]) for e in range(8, 12)],
        "half round": [(0, 0.0, 300.0), (1, 0.0, 300.0), (2, 0.0, 150.0)],
    }
    n_blocks = {"two faces, one block": 1, "island": 0, "half round": 0}
    tree = network_faces(segments[[0, 1, 4]])  # no face at all: every walked piece is loose
    assert tree.n_faces == 0 and (tree.piece_faces == -1).all()
    lines, source, edge, start, end = _walk(segments[[0, 1, 4]], [(0, 0.0, 300.0), (1, 0.0, 120.0)])
    blocks, loose, _ = blocks_from_faces(tree, lines, source, edge=edge, start_m=start, end_m=end)
    assert blocks == [[]] and len(loose) == 2
    got = street_buffer_of_blocks(tree, blocks[0], lines, loose, STREET_SIDE_M, quad_segs=QUAD_SEGS)
    _assert_same(np.array([street_buffer(lines, STREET_SIDE_M, quad_segs=QUAD_SEGS)]), np.array([got]))
    for name, walk in walks.items():
        lines, source, edge, start, end = _walk(segments, walk)
        blocks, loose, loose_source = blocks_from_faces(faces, lines, source, edge=edge, start_m=start, end_m=end)
        assert len(blocks[0]) == n_blocks[name], name
        got = street_buffer_of_blocks(faces, blocks[0], lines, loose, STREET_SIDE_M, quad_segs=QUAD_SEGS)
        _assert_same(np.array([street_buffer(lines, STREET_SIDE_M, quad_segs=QUAD_SEGS)]), np.array([got]))
        assert (loose_source == 0).all()
        if name == "two faces, one block":  # the two ends of the middle street lie inside the block: loose
            assert [len(group) for group in blocks[0]] == [2]
            assert shapely.equals(shapely.union_all(loose), shapely.union_all(lines[-2:]))
        else:  # no block: every piece is loose
            assert shapely.equals(shapely.union_all(loose), shapely.union_all(lines))


def _walk(segments: np.ndarray, walk: list) -> tuple[np.ndarray, ...]:
    edge = np.array([w[0] for w in walk])
    start, end = np.array([w[1] for w in walk]), np.array([w[2] for w in walk])
    return substrings(segments[edge], start, end), np.zeros(len(edge), dtype=np.int64), edge, start, end


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """The Monaco sample's network stored (its faces kept), and read back."""
    cache = tmp_path_factory.mktemp("faces-store")
    graphml = sample_paths()["network"]
    first = store_network(graphml, cache_dir=cache)
    return cache, graphml, first


def test_the_store_keeps_the_faces_and_reads_them_on_first_use(stored, sample):
    cache, graphml, first = stored
    again = store_network(graphml, cache_dir=cache)
    assert first.built and not again.built
    record = again.manifest["faces"]
    assert set(FACE_FILES) <= set(again.manifest["files"]) and record["core_m"] == CORE_M
    reader = again.network.derived["faces"]
    assert callable(reader) and pickle.loads(pickle.dumps(reader)).entry == reader.entry  # read when first asked
    kept = kept_faces(again.network)
    made = network_faces(again.network.edges.geometry.to_numpy())
    assert kept.n_faces == made.n_faces == record["count"]
    assert (kept.polygons_wkb == made.polygons_wkb).all() and (kept.cores_wkb == made.cores_wkb).all()
    assert shapely.equals_exact(kept.polygons(), made.polygons(), 0).all() and len(kept.cores()) == kept.n_faces
    assert (kept.piece_faces == made.piece_faces).all() and (kept.piece_edge == made.piece_edge).all()
    assert np.array_equal(kept.piece_s0, made.piece_s0) and np.array_equal(kept.piece_s1, made.piece_s1)
    _, facilities, _ = sample
    snaps = snap_points(facilities, again.network)
    fast = facility_isochrones(again.network, facilities, snaps, minutes=(10,))
    each = facility_isochrones(again.network, facilities, snaps, minutes=(10,), use_faces=False)
    _assert_same(each.geometry.to_numpy(), fast.geometry.to_numpy())


def test_an_entry_written_before_or_with_damaged_faces_still_gives_the_isochrones(stored, sample, caplog):
    """An entry without faces (written before issue 32's iso-faces) is read as it was; one whose faces' file is
    damaged is read too, and its isochrones made the per-facility way (a warning says so)."""
    cache, graphml, first = stored
    _, facilities, _ = sample
    entry = first.path
    manifest = json.loads((entry / "manifest.json").read_text(encoding="utf-8"))
    (entry / FACE_FILES[0]).write_bytes((entry / FACE_FILES[0]).read_bytes()[:-10])  # damaged
    damaged = store_network(graphml, cache_dir=cache)
    assert not damaged.built and kept_faces(damaged.network) is None
    assert "unusable" in caplog.text
    snaps = snap_points(facilities, damaged.network)
    want = facility_isochrones(damaged.network, facilities, snaps, minutes=(10,), use_faces=False)
    _assert_same(
        want.geometry.to_numpy(),
        facility_isochrones(damaged.network, facilities, snaps, minutes=(10,)).geometry.to_numpy(),
    )
    for name in FACE_FILES:  # as an older version wrote it
        (entry / name).unlink()
        manifest["files"].pop(name)
    manifest.pop("faces")
    manifest.pop("mac")
    manifest["mac"] = _mac(manifest, store_secret(cache))
    (entry / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    older = store_network(graphml, cache_dir=cache)
    assert not older.built and "faces" not in older.network.derived and kept_faces(older.network) is None
    got = facility_isochrones(older.network, facilities, snaps, minutes=(10,))
    _assert_same(want.geometry.to_numpy(), got.geometry.to_numpy())


def test_a_network_too_large_keeps_no_faces(tmp_path, monkeypatch, caplog):
    """Above ``FACES_MAX_SEGMENTS`` (their making's peak memory) an entry keeps no faces, and says so in the log."""
    monkeypatch.setattr(geo.store, "FACES_MAX_SEGMENTS", 1000)  # the Monaco sample has 3,657 segments
    with caplog.at_level("INFO", logger="geo.store"):
        stored = store_network(sample_paths()["network"], cache_dir=tmp_path)
    assert "faces" not in stored.manifest and not set(FACE_FILES) & set(stored.manifest["files"])
    assert "not kept: 3657 segments" in caplog.text
    again = store_network(sample_paths()["network"], cache_dir=tmp_path)
    assert not again.built and kept_faces(again.network) is None
