"""Issue 32 (iso-margin): the gap zones' squares united along rows of like-sized zones are, to the bit, each zone's
own union as one zone at a time made it."""

from __future__ import annotations

import numpy as np
import shapely

from analysis.gaps import _cell_unions, _touching, _zone_polygons


def _zones(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random grid cells (a large ragged zone with holes, many small ones, singletons) and each one's zone."""
    rng = np.random.default_rng(seed)
    big = np.argwhere(rng.random((40, 40)) < 0.7)  # ragged: holes and lone cells in it
    small = rng.integers(0, 400, size=(300, 2)) * 3 + 200  # apart from the big one, a few touching
    blobs = [  # zones of 2 to 49 cells, apart from the rest
        np.argwhere(rng.random((side, side)) < 0.8) + np.array([-100 - 10 * k, 0]) for k, side in enumerate(range(2, 8))
    ]
    cells = np.unique(np.concatenate([big, small, *blobs]), axis=0)
    return cells, _touching(cells)


def test_row_unions_are_each_zones_own():
    for seed in range(3):
        cells, zone = _zones(seed)
        order = np.argsort(zone, kind="stable")
        sizes = np.bincount(zone)
        assert sizes.max() > 500 and (sizes == 1).sum() > 100 and len(np.unique(sizes)) > 3
        ij = cells[order]
        boxes = shapely.box(ij[:, 0] * 50.0, ij[:, 1] * 50.0, (ij[:, 0] + 1) * 50.0, (ij[:, 1] + 1) * 50.0)
        got = _cell_unions(ij, 50.0, sizes)
        each = [shapely.coverage_union_all(b) for b in np.split(boxes, np.cumsum(sizes)[:-1])]
        assert len(got) == len(each) == zone.max() + 1
        assert all(shapely.equals_exact(a, b, tolerance=0) for a, b in zip(each, got, strict=True))
        # an independent check: each zone's land is its cells' area, and it holds every cell's centre
        assert np.allclose(shapely.area(got), sizes * 50.0**2)
        centres = shapely.points((ij + 0.5) * 50.0)
        assert shapely.contains(got[zone[order]], centres).all()


def test_zone_polygons_reuse_the_shapes_given_and_unite_the_rest():
    cells, zone = _zones(7)
    drawn = _zone_polygons(cells, zone, 50.0, {})
    keys = [k for k, _ in drawn]
    kept = {keys[0]: shapely.Point(0, 0), keys[-1]: shapely.Point(1, 1)}
    again = _zone_polygons(cells, zone, 50.0, kept)
    assert again[0][1] is kept[keys[0]] and again[-1][1] is kept[keys[-1]]
    assert all(shapely.equals_exact(a[1], b[1], tolerance=0) for a, b in zip(drawn[1:-1], again[1:-1], strict=True))
