"""The merged reach from one walk-time pass equals the union of every facility's isochrone (issue 13)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from analysis.isochrones import _own_pieces, facility_isochrones, merge_isochrones, reached_lines
from analysis.pipeline import run_circle
from analysis.reachgrid import GRID_M, TRACE_CELLS, reach_grid
from analysis.traveltime import nearest_times, speed_ms
from geo import snap_points

BANDS = (5.0, 10.0, 15.0)


@pytest.fixture(scope="module")
def united(sample):
    """The sample's merged reach the slow, exact way: each facility's isochrones, then their union."""
    network, facilities, _ = sample
    iso = facility_isochrones(network, facilities, snap_points(facilities, network), minutes=BANDS)
    return merge_isochrones(iso).set_index("minutes").geometry


def test_streets_within_the_band_of_their_nearest_facility_are_the_union(sample, united):
    """The idea behind the grid: a place is reached by some facility exactly when a street near it is
    reached by its nearest one. Buffering those streets once gives the union (to float noise)."""
    network, facilities, _ = sample
    snaps = snap_points(facilities, network)
    nearest = nearest_times(network, snaps, snaps.iloc[:0], limit_s=max(BANDS) * 60)
    for band in BANDS:
        lines = reached_lines(network, nearest.node_s, band * 60)
        own, _ = _own_pieces(network, facilities.geometry.to_numpy(), snaps, band * 60, speed_ms(4.5))
        direct = shapely.union_all(shapely.buffer(np.concatenate([lines, own]), 50, quad_segs=2))
        exact = united[band]
        assert shapely.symmetric_difference(direct, exact).area < 1e-4 * exact.area
        # 4 m: buffers are polygons within 3.8 m of a circle; 1 m²: the run fills smaller holes (float noise)
        assert shapely.difference(direct.buffer(-4), exact).area < 1.0
        assert shapely.difference(exact.buffer(-4), direct).area < 1.0


def _streets_reach(sample, band: float, side_m: float) -> shapely.Geometry:
    """The places within ``side_m`` of a street walked within ``band`` of its nearest facility (exact)."""
    network, facilities, _ = sample
    snaps = snap_points(facilities, network)
    nearest = nearest_times(network, snaps, snaps.iloc[:0], limit_s=max(BANDS) * 60)
    lines = reached_lines(network, nearest.node_s, band * 60)
    own, _ = _own_pieces(network, facilities.geometry.to_numpy(), snaps, band * 60, speed_ms(4.5))
    return shapely.union_all(shapely.buffer(np.concatenate([lines, own]), side_m, quad_segs=8))


@pytest.mark.parametrize(("cell_m", "trace_cells"), [(GRID_M, 1), (GRID_M, TRACE_CELLS), (20.0, TRACE_CELLS)])
def test_the_grid_traces_the_union_within_two_cells(sample, united, cell_m, trace_cells):
    """The traced reach holds every place within 50 m less two cells of a street reached in the band,
    and nothing beyond 50 m and a cell and a half; its area is within 5 % of the exact union's (10 m cells).
    Traced on blocks of 2 x 2 cells (the default) or on the cells' own staircase alike."""
    network, facilities, _ = sample
    snaps = snap_points(facilities, network)
    grid = reach_grid(network, facilities, snaps, minutes=BANDS, cell_m=cell_m, trace_cells=trace_cells)
    assert grid["minutes"].tolist() == list(BANDS)
    prev = None
    for band, geom in zip(grid["minutes"], grid.geometry, strict=True):
        assert geom.is_valid and not geom.is_empty
        assert shapely.difference(_streets_reach(sample, band, 50 - 2 * cell_m), geom).area < 1.0
        assert shapely.difference(geom, _streets_reach(sample, band, 50 + 1.5 * cell_m)).area < 1.0
        assert abs(geom.area / united[band].area - 1) < 0.005 * cell_m  # 5 % at 10 m
        if prev is not None:
            assert shapely.difference(prev, geom).area < 1e-6  # bands nest
        prev = geom


def test_the_run_draws_the_grid_reach_when_asked(sample):
    network, facilities, demand = sample
    run = run_circle(network, facilities, demand, isochrones=("merged",), reach_cell_m=GRID_M, n_sites=0)
    assert len(run.isochrones) == 0 and run.reach["minutes"].tolist() == [15.0]
    exact = run_circle(network, facilities, demand, isochrones=("merged",), n_sites=0)
    assert run.summary == exact.summary
    assert run.reach.geometry.iloc[0].within(exact.reach.geometry.iloc[0].buffer(1.5 * GRID_M))


def test_facilities_off_the_streets_reach_nothing_without_a_crash(sample):
    """Facilities no street is near (another city's list on these streets): an empty reach, not a crash."""
    network, facilities, _ = sample
    far = facilities.translate(50_000, 0)
    snaps = snap_points(far, network)
    assert not snaps["on_network"].any()
    grid = reach_grid(network, far, snaps, minutes=BANDS)
    assert len(grid) == len(BANDS) and grid.geometry.is_empty.all()
