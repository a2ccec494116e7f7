"""Readers refuse the wrong kind of geometry, naming the file, the row and the column."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from geo import InputError, read_boundaries, read_facilities
from geo.io import read_polygons


def test_wrong_geometry_kinds_are_named(tmp_path):
    pts = gpd.GeoDataFrame(
        {"name": ["a", "b"], "level": "district"}, geometry=[shapely.box(0, 0, 1, 1), shapely.Point(5, 5)], crs=4326
    )
    pts.to_file(tmp_path / "mixed.geojson")
    with pytest.raises(InputError, match=r"mixed.geojson, row 1, column 'geometry': facilities must be points"):
        read_facilities(tmp_path / "mixed.geojson")
    with pytest.raises(InputError, match=r"row 2, column 'geometry': district boundaries must be polygons"):
        read_boundaries(tmp_path / "mixed.geojson")
    with pytest.raises(InputError, match=r"row 2, column 'geometry': exclusion areas must be polygons"):
        read_polygons(tmp_path / "mixed.geojson", what="exclusion areas")


def test_empty_and_missing_files(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_facilities(tmp_path / "nope.geojson")
    (tmp_path / "empty.geojson").write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    with pytest.raises(InputError, match="has no rows"):
        read_facilities(tmp_path / "empty.geojson")
