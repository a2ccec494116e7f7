"""Demand from buildings, grids and areas: weights add up to the stated totals."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from analysis import columns as C
from analysis.demand import PERSONS_PER_M2, demand_from_areas, demand_from_buildings, prepare_demand
from geo import InputError
from tests.conftest import TOY_CRS


def polygons(boxes, **columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=[shapely.box(*b) for b in boxes], crs=TOY_CRS)


def test_buildings_floor_area_and_scaling():
    b = polygons([(0, 0, 10, 10), (20, 0, 40, 10), (50, 0, 60, 10)], levels=[2, 1, np.nan])
    raw = demand_from_buildings(b)
    # floor areas 200, 200 and 100 x median(2, 1) = 150 m²
    np.testing.assert_allclose(raw[C.POP], np.array([200, 200, 150]) * PERSONS_PER_M2)
    scaled = demand_from_buildings(b, total=1100)
    np.testing.assert_allclose(scaled[C.POP], [400, 400, 300])
    assert (scaled["source"] == "buildings").all()
    assert scaled.geometry.within(shapely.union_all(b.geometry.values)).all()


def test_areas_spread_over_buildings_inside_keep_each_total():
    areas = polygons([(0, 0, 100, 100), (100, 0, 200, 100), (0, 100, 100, 200)], pop=[300.0, 50.0, 80.0])
    buildings = polygons([(10, 10, 20, 20), (30, 30, 50, 50), (110, 10, 120, 20)], levels=[1, 1, 3])
    out = demand_from_areas(areas, buildings=buildings, grid_m=50)
    joined = gpd.sjoin(out, areas[["geometry"]], predicate="within")
    totals = joined.groupby("index_right")[C.POP].sum()
    np.testing.assert_allclose(totals.sort_index().to_numpy(), [300, 50, 80])
    # Area 0 splits 100 : 400 by floor area; area 2 has no building and falls back to its grid (4 cells).
    np.testing.assert_allclose(sorted(joined.loc[joined["index_right"] == 0, C.POP]), [60, 240])
    assert (joined["index_right"] == 2).sum() == 4
    assert set(out["source"]) == {"areas+buildings", "areas+grid"}
    assert out[C.POP].sum() == pytest.approx(430)


def test_prepare_demand_says_how():
    areas = polygons([(0, 0, 100, 100)], pop=[120.0])
    out, how = prepare_demand(areas, total=240)
    assert out[C.POP].sum() == pytest.approx(240)
    assert "areas" in str(how) and "scaled to 240" in str(how)
    footprints = polygons([(0, 0, 10, 10)])
    out, how = prepare_demand(footprints, total=7)
    assert out[C.POP].tolist() == [7.0] and "building footprints" in str(how)
    with pytest.raises(InputError, match="more than 0"):
        prepare_demand(areas, total=0)
