"""Each facility's reach built from its blocks is the union of its streets' buffers (issue 13: the fast path)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from analysis.isochrones import QUAD_SEGS, STREET_SIDE_M, _cut, _own_pieces
from analysis.streetbuffer import street_buffer
from analysis.traveltime import reach_table, reached_segments, speed_ms
from geo import snap_points

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
