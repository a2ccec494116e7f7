"""Each facility's reach built from its blocks is the union of its streets' buffers (issue 13: the fast path)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import shapely

from analysis import columns as C
from analysis.isochrones import QUAD_SEGS, STREET_SIDE_M, _cut, _drop_slivers, _own_pieces, facility_isochrones
from analysis.streetbuffer import _honest, street_buffer
from analysis.traveltime import reach_table, reached_segments, speed_ms
from geo import snap_points

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from synthetic_city import synthetic_city

#: Both ways inscribe the same circles with polygons; GEOS rounds a join's chord count, so each edge may sit up
#: to 50 m x (1 - cos 33.75°) = 8.4 m inside the true circle, in practice under 4 m on the sample.
HAUSDORFF_M = 4.0
AREA_SHARE = 5e-4


@pytest.fixture(scope="module")
def pieces_by_facility(sample):
    """Per facility and band on the Monaco sample: the street pieces walked, as ``facility_isochrones`` cuts them."""
    network, facilities, _ = sample
    snaps = snap_points(facilities, network)
    pairs = reached_segments(network, reach_table(network, snaps, cutoff_s=900))
    out = []
    for band in (5, 10, 15):
        pieces, source = _cut(network, pairs, band * 60, speed_ms(4.5))
        own, own_source = _own_pieces(network, facilities.geometry.to_numpy(), snaps, band * 60, speed_ms(4.5))
        pieces, source = np.concatenate([pieces, own]), np.concatenate([source, own_source])
        out += [pieces[source == s] for s in np.unique(source)]
    return out


def test_the_blocks_way_equals_the_union_of_the_buffers(pieces_by_facility):
    """The same land as buffering every piece and uniting (the way before), within the circles' approximation.

    GEOS can leave a false hole 28 m from a curving street (it does on the sample): such results are made
    again the plain way, so no edge comes nearer a street than a round join's chords.
    """
    inner = STREET_SIDE_M * np.cos(3 * np.pi / (8 * QUAD_SEGS)) - 1.0
    for lines in pieces_by_facility:
        fast = street_buffer(lines, STREET_SIDE_M, quad_segs=QUAD_SEGS)
        plain = shapely.union_all(shapely.buffer(lines, STREET_SIDE_M, quad_segs=QUAD_SEGS))
        assert fast.is_valid and shapely.get_type_id(fast) in (3, 6)
        assert shapely.symmetric_difference(fast, plain).area <= AREA_SHARE * plain.area
        assert shapely.hausdorff_distance(fast.boundary, plain.boundary) <= HAUSDORFF_M
        assert not shapely.dwithin(fast.boundary, shapely.union_all(lines), inner)


def test_nothing_reached_is_empty_and_a_lone_street_is_its_buffer():
    assert street_buffer(np.array([], dtype=object), 50, quad_segs=2).is_empty
    line = shapely.LineString([(0, 0), (100, 0)])
    assert street_buffer(np.array([line]), 50, quad_segs=2).equals(line.buffer(50, quad_segs=2))


def _plain(lines: np.ndarray) -> shapely.Geometry:
    """The independent reference: every piece buffered on its own, then united."""
    return shapely.union_all(shapely.buffer(lines, STREET_SIDE_M, quad_segs=QUAD_SEGS))


def _assert_same_land(fast: shapely.Geometry, plain: shapely.Geometry) -> None:
    assert fast.is_valid and shapely.get_type_id(fast) in (3, 6)
    assert shapely.symmetric_difference(fast, plain).area <= AREA_SHARE * plain.area
    assert shapely.hausdorff_distance(fast.boundary, plain.boundary) <= HAUSDORFF_M


def _by_overlays(lines: np.ndarray) -> shapely.Geometry:
    """The blocks' way as it was before issue 32, every step an overlay: the outward buffer less the cores, then
    united with the loose lines' buffers united."""
    noded = shapely.union_all(lines)
    faces, cuts, dangles, invalid = shapely.polygonize_full([noded])
    blocks = shapely.get_parts(faces)
    loose = shapely.get_parts(np.array([cuts, dangles, invalid], dtype=object))
    out = shapely.buffer(shapely.coverage_union_all(blocks), STREET_SIDE_M, quad_segs=QUAD_SEGS)
    cores = shapely.buffer(blocks, -STREET_SIDE_M, quad_segs=QUAD_SEGS)
    out = shapely.difference(out, shapely.union_all(cores))
    fast = shapely.union(out, _plain(loose)) if len(loose) else out
    return fast if _honest(fast, noded, STREET_SIDE_M, QUAD_SEGS) else _plain(lines)


def test_many_facilities_on_a_grid_city_keep_the_overlays_answer():
    """Issue 32: 40 facilities' 15-minute isochrones on a 5,000-corner city, as ``facility_isochrones`` draws them,
    are the overlays' answer to float noise, and the union of their pieces' buffers within the circles' chords
    (up to 8.4 m here, see ``HAUSDORFF_M``; slivers under 1 m² dropped from every side, as the layer does)."""
    network, facilities, _ = synthetic_city(5_000, n_facilities=40, n_residents=10, seed=11)
    snaps = snap_points(facilities, network)
    iso = facility_isochrones(network, facilities, snaps, minutes=(15,))
    pairs = reached_segments(network, reach_table(network, snaps, cutoff_s=900))
    pieces, source = _cut(network, pairs, 900, speed_ms(4.5))
    own, own_source = _own_pieces(network, facilities.geometry.to_numpy(), snaps, 900, speed_ms(4.5))
    pieces, source = np.concatenate([pieces, own]), np.concatenate([source, own_source])
    got = dict(zip(iso[C.FACILITY_ID], iso.geometry, strict=True))
    assert len(got) == 40
    holes = 0
    for s in np.unique(source):
        fast = got[snaps.index[s]]
        before, plain = _drop_slivers(np.array([_by_overlays(pieces[source == s]), _plain(pieces[source == s])]))
        assert fast.is_valid and shapely.symmetric_difference(fast, before).area <= 1e-9 * before.area
        assert shapely.hausdorff_distance(fast.boundary, before.boundary) <= 1e-6
        assert shapely.symmetric_difference(fast, plain).area <= AREA_SHARE * plain.area
        assert shapely.hausdorff_distance(fast.boundary, plain.boundary) <= STREET_SIDE_M * (1 - np.cos(3 * np.pi / 16))
        holes += int(shapely.get_num_interior_rings(shapely.get_parts(fast)).sum())
    assert holes > 40 * 20  # the blocks' unreached cores (100-200 m blocks, 50 m a side) are there, as holes


def test_cores_a_dead_end_reaches_into_islands_and_parts_apart():
    """The cases the cores-as-holes way hands to an overlay: a dead end inside a block reaching its core, a block
    around an island block (its core has a hole), and two reaches apart (the outline has two parts)."""

    def square(x, y, side):
        return shapely.LineString([(x, y), (x + side, y), (x + side, y + side), (x, y + side), (x, y)])

    dead_end = shapely.LineString([(0, 150), (120, 150)])
    island = np.array([square(2000, 0, 600), square(2200, 200, 200), shapely.LineString([(2000, 300), (2200, 300)])])
    apart = np.array([square(0, 5000, 300), square(1000, 5000, 300), shapely.LineString([(300, 5150), (340, 5150)])])
    for lines in (np.array([square(0, 0, 300), dead_end]), island, island[:2], apart, np.concatenate([island, apart])):
        noded = shapely.union_all(lines)
        fast = street_buffer(lines, STREET_SIDE_M, quad_segs=QUAD_SEGS)
        _assert_same_land(fast, _plain(lines))
        assert not shapely.dwithin(fast.boundary, noded, STREET_SIDE_M * np.cos(3 * np.pi / 8 / QUAD_SEGS) - 1.0)
    block = street_buffer(np.array([square(0, 0, 300), dead_end]), STREET_SIDE_M, quad_segs=QUAD_SEGS)
    assert block.contains(shapely.Point(160, 150)) and not block.contains(shapely.Point(200, 150))
    ring = street_buffer(island, STREET_SIDE_M, quad_segs=QUAD_SEGS)
    assert ring.contains(shapely.Point(2300, 430)) and not ring.intersects(
        shapely.MultiPoint([(2300, 300), (2500, 300)])
    )
