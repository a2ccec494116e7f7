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


def test_pbf_extract_reads_as_the_sample_network():
    from pathlib import Path

    from geo import read_network, sample_paths

    pbf = Path(__file__).resolve().parent.parent / "data" / "source" / "monaco.osm.pbf"
    from_pbf, bundled = read_network(pbf), read_network(sample_paths()["network"])
    assert from_pbf.number_of_nodes() == bundled.number_of_nodes() == 2564
    assert from_pbf.number_of_edges() == bundled.number_of_edges()


def test_download_offline_says_so_and_the_cache_serves(tmp_path, monkeypatch):
    import hashlib
    import shutil

    import osmnx as ox

    from geo import sample_paths
    from geo.osm import download_walk_network

    monkeypatch.setattr(ox.settings, "overpass_url", "http://127.0.0.1:9/api")  # nothing listens there
    monkeypatch.setattr(ox.settings, "nominatim_url", "http://127.0.0.1:9/")
    with pytest.raises(InputError, match=r"cannot reach OpenStreetMap.*offline.*give --network FILE"):
        download_walk_network(place="洛阳市老城区", cache_dir=tmp_path)
    # A network fetched before is read from the cache, with no connection at all.
    key = hashlib.sha1(b"walk|place=Monaco").hexdigest()[:16]
    shutil.copy(sample_paths()["network"], tmp_path / f"{key}.graphml")
    assert download_walk_network(place="Monaco", cache_dir=tmp_path).number_of_nodes() == 2564


def test_clip_and_consolidate(sample):
    from geo import prepare_network, read_boundaries, read_network, sample_paths

    graph = read_network(sample_paths()["network"])
    quarter = read_boundaries(sample_paths()["boundaries"])["subdistrict"].to_crs(4326).geometry.iloc[0]
    clipped = prepare_network(graph, clip_to=quarter)
    assert 0 < clipped.n_nodes < sample[0].n_nodes
    merged = prepare_network(graph, consolidate_m=10)
    assert merged.n_nodes < sample[0].n_nodes
    assert merged.crs == sample[0].crs


def _zip(path, members: dict[str, bytes]):
    import zipfile

    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)


def test_zipped_shapefile_and_unsafe_zips(tmp_path):
    fac = gpd.read_file("data/sample/facilities.geojson")[["facility_id", "name", "category", "geometry"]]
    fac.rename(columns={"facility_id": "fid_"}).to_file(tmp_path / "centres.shp", engine="pyogrio")
    files = {p.name: p.read_bytes() for p in tmp_path.glob("centres.*")}
    _zip(tmp_path / "ok.zip", files)
    assert len(read_facilities(tmp_path / "ok.zip")) == 20
    _zip(tmp_path / "evil.zip", {**files, "../../etc/cron.d/x": b"boom"})
    with pytest.raises(InputError, match=r"evil.zip: the zip holds an unsafe path '../../etc/cron.d/x'"):
        read_facilities(tmp_path / "evil.zip")
    _zip(tmp_path / "abs.zip", {**files, "/tmp/x.shp": b""})
    with pytest.raises(InputError, match=r"unsafe path '/tmp/x\.shp'"):
        read_facilities(tmp_path / "abs.zip")
    _zip(tmp_path / "win.zip", {**files, "..\\\\x.dbf": b""})
    with pytest.raises(InputError, match="unsafe path"):
        read_facilities(tmp_path / "win.zip")
    _zip(tmp_path / "two.zip", {**files, "other.shp": files["centres.shp"]})
    with pytest.raises(InputError, match=r"exactly one \.shp"):
        read_facilities(tmp_path / "two.zip")
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not a readable zip"):
        read_facilities(tmp_path / "bad.zip")


def test_oversized_no_crs_and_invalid_geometry(tmp_path, monkeypatch):
    import geo.io

    monkeypatch.setattr(geo.io, "MAX_INPUT_MB", 0.001)  # 1 KB: the sample's facilities are 6 KB
    with pytest.raises(InputError, match=r"facilities.geojson: the facilities file is .* MB, over the"):
        read_facilities("data/sample/facilities.geojson")
    monkeypatch.undo()
    nocrs = gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.Point(1, 2)], crs=None)
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        nocrs.to_file(tmp_path / "nocrs.gpkg")
    with pytest.raises(InputError, match="has no coordinate reference system"):
        read_facilities(tmp_path / "nocrs.gpkg")
    bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])  # self-crossing: invalid
    gpd.GeoDataFrame({"level": ["district"], "code": ["D1"]}, geometry=[bowtie], crs=4326).to_file(
        tmp_path / "bow.geojson"
    )
    repaired = read_boundaries(tmp_path / "bow.geojson")["district"]
    assert repaired.is_valid.all() and shapely.area(repaired.geometry.iloc[0]) == pytest.approx(0.5)  # both lobes


def test_rows_without_geometry_are_named(tmp_path):
    (tmp_path / "f.geojson").write_text(
        '{"type": "FeatureCollection", "features": ['
        '{"type": "Feature", "properties": {"name": "a"}, "geometry": {"type": "Point", "coordinates": [7.4, 43.7]}},'
        '{"type": "Feature", "properties": {"name": "b"}, "geometry": null}]}',
        encoding="utf-8",
    )
    with pytest.raises(InputError, match=r"f.geojson, row 2, column 'geometry': 1 rows have no geometry"):
        read_facilities(tmp_path / "f.geojson")


def _geojson_stating(crs_member: str, xy: tuple[float, float]) -> str:
    return (
        '{"type": "FeatureCollection", "crs": ' + crs_member + ', "features": ['
        '{"type": "Feature", "properties": {"name": "a"}, '
        f'"geometry": {{"type": "Point", "coordinates": [{xy[0]}, {xy[1]}]}}}}]}}'
    )


def test_a_geojson_crs_member_is_obeyed_or_refused(tmp_path):
    """GDAL reads a GeoJSON whose ``crs`` member names an unknown code as WGS-84, in silence: we refuse it."""
    unknown = tmp_path / "unknown.geojson"
    unknown.write_text(
        _geojson_stating('{"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::999999"}}', (7.42, 43.73))
    )
    with pytest.raises(
        InputError,
        match=r"unknown.geojson, column 'crs': .*'urn:ogc:def:crs:EPSG::999999', which is not one PROJ knows",
    ):
        read_facilities(unknown)
    mercator = tmp_path / "mercator.geojson"
    mercator.write_text(_geojson_stating('{"type": "name", "properties": {"name": "EPSG:3857"}}', (826000, 5421000)))
    assert read_facilities(mercator).crs.to_epsg() == 3857  # a known one is used as stated
    assert read_facilities("data/sample/facilities.geojson").crs.to_epsg() == 4326  # states CRS84: lon/lat


def test_snapping_points_in_another_crs_names_both_and_the_fix():
    from geo import load_sample, snap_points

    network, facilities, _ = load_sample()
    other = facilities.to_crs(3857)  # Web Mercator: metres, but not the network's UTM zone
    assert other.crs != network.crs
    with pytest.raises(InputError, match=r"the points to snap are in .+, the street network in .+Fix: reproject"):
        snap_points(other, network)
    with pytest.raises(InputError, match=r"not a projected CRS in metres\. Fix: project it first"):
        snap_points(facilities.to_crs(4326), network)
