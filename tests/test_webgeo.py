"""The map's geometry, made fast: each fast step against the slower, independent way it replaced (Monaco sample)."""

from __future__ import annotations

import base64
import io
import json
from dataclasses import replace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from PIL import Image

from analysis.pipeline import run_circle
from geo import read_boundaries, sample_paths, snap_points
from quarterhour.render.webgeo import draw_streets_ahead, feature_collection, fill_holes, street_picture, to_wgs84


@pytest.fixture(scope="module")
def run(sample):
    network, facilities, demand = sample
    units = {k: v.to_crs(network.crs) for k, v in read_boundaries(sample_paths()["boundaries"]).items()}
    return run_circle(network, facilities, demand, bands=(5, 10), boundaries=units)


def test_the_geojson_is_what_geopandas_writes(run):
    layers = [run.facilities, run.demand.head(300), run.gaps, run.reach, run.levels["district"]]
    for gdf in layers:
        out = to_wgs84(gdf.drop(columns=[c for c in gdf.columns if c.startswith("_")]), simplify_m=2.0)
        assert feature_collection(out.reset_index(drop=True)) == json.loads(out.reset_index(drop=True).to_json())


def test_small_holes_are_filled_as_one_polygon_at_a_time_would(run):
    polygons = shapely.get_parts(run.reach.geometry.to_numpy())
    for min_area in (0.0, 2_000.0, 10_000.0, 1e12):
        expected = [
            shapely.Polygon(p.exterior, [r for r in p.interiors if shapely.Polygon(r).area >= min_area])
            for p in polygons
        ]
        assert shapely.equals(fill_holes(polygons, min_area), expected).all()
    assert len(fill_holes(np.array([], dtype=object), 1.0)) == 0


@pytest.mark.parametrize("simplify_m", [2.0, 8.0])
def test_simplified_outlines_stay_within_their_tolerance(run, simplify_m):
    """Douglas-Peucker on every part at once: each drawn outline within ``simplify_m`` (and the metre of
    rounding) of the exact one, valid; what vanishes is only rings too small to draw (under 20 x its square)."""
    reach = run.reach[["geometry"]]
    out = to_wgs84(reach, simplify_m=simplify_m).to_crs(reach.crs)  # and back, rounded to about a metre
    for row, before in reach.geometry.items():
        after = shapely.union_all(out.geometry[out.index == row].to_numpy())
        assert shapely.is_valid(after)
        drawn = shapely.points(shapely.get_coordinates(shapely.segmentize(after.boundary, 1.0)))
        assert shapely.distance(drawn, before.boundary).max() <= simplify_m + 1.0
        rings = shapely.get_rings(shapely.get_parts(before))
        gone = [r for r in rings if shapely.distance(shapely.points(r.coords), after.boundary).max() > simplify_m + 1.0]
        assert all(shapely.Polygon(r).area < 20 * simplify_m**2 for r in gone)
        assert shapely.symmetric_difference(before, after).area <= 0.015 * before.area


def test_the_street_picture_lights_the_streets(sample):
    """Every street corner falls on (or next to) a lit pixel of the picture, and the picture is not lit all over."""
    network = sample[0]
    uri, ((south, west), (north, east)) = street_picture(network, max_px=800)
    alpha = np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))))[..., 1]
    merc = gpd.GeoSeries(network.nodes.geometry, crs=network.crs).to_crs(3857)
    (x0, y0), (x1, y1) = shapely.get_coordinates(
        gpd.GeoSeries(shapely.points([(west, south), (east, north)]), crs=4326).to_crs(3857).values
    )
    h, w = alpha.shape
    col = np.clip(((merc.x - x0) / (x1 - x0) * w).astype(int), 0, w - 1)
    row = np.clip(((y1 - merc.y) / (y1 - y0) * h).astype(int), 0, h - 1)
    lit = np.pad(alpha > 0, 1)
    near = np.any([lit[1 + dr : 1 + dr + h, 1 + dc : 1 + dc + w] for dr in (-1, 0, 1) for dc in (-1, 0, 1)], axis=0)
    assert near[row, col].mean() > 0.99  # within a pixel (the picture's side is a whole number of pixels)
    assert 0.01 < (alpha > 0).mean() < 0.5


def test_the_picture_drawn_ahead_is_the_picture(sample):
    network = sample[0]
    ahead = replace(network, derived={})
    draw_streets_ahead(ahead, max_px=300)
    assert street_picture(ahead, max_px=300) == street_picture(replace(network, derived={}), max_px=300)


def test_the_residents_snapped_once_give_the_same_run(sample):
    """The app hands the run its residents' snaps (made when they were read): the same run as snapping afresh."""
    network, facilities, demand = sample
    fresh = run_circle(network, facilities, demand, isochrones=(), n_sites=0)
    kept = run_circle(network, facilities, demand, isochrones=(), n_sites=0, demand_snap=snap_points(demand, network))
    pd.testing.assert_frame_equal(kept.demand.drop(columns="geometry"), fresh.demand.drop(columns="geometry"))
    assert kept.summary == fresh.summary
