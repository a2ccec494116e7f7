"""The folium map, rendered to HTML: layers present, nothing loaded from another host."""

from __future__ import annotations

import base64
import json
import re

import pytest

from analysis.pipeline import run_circle
from quarterhour.render.webmap import build_map, map_html


@pytest.fixture(scope="module")
def page(sample) -> str:
    network, facilities, demand = sample
    return map_html(build_map(run_circle(network, facilities, demand, minutes=5), network))


def test_no_asset_comes_from_another_host(page):
    sources = re.findall(r"<script[^>]+src=\"([^\"]*)\"", page) + re.findall(r"<link[^>]+href=\"([^\"]*)\"", page)
    assert sources and all(src.startswith("data:") for src in sources), [s[:40] for s in sources]
    assert not re.findall(r"url\(\s*['\"]?(?:https?:)?//", page)
    assert "tile.openstreetmap.org" not in page  # the online basemap is opt-in
    assert "L.map(" in page or "L.map (" in page  # Leaflet used, and inlined:
    assert any(base64.b64decode(src.split(",", 1)[1]).startswith(b"/* @preserve\n * Leaflet 1.9.4") for src in sources)


def shows(page: str, text: str) -> bool:
    """Text in the page as HTML, or inside the JSON that folium writes for layer names and data."""
    return text in page or json.dumps(text)[1:-1] in page


def test_layers_legend_and_attribution(page):
    for label in ("步行路网", "5 分钟等时圈", "未覆盖居民点", "服务盲区", "新增布点建议", "党群服务中心", "图例"):
        assert shows(page, label), label
    assert "OpenStreetMap" in page and "contributors" in page
    assert shows(page, "Bibliothèque Louis Notari")
    assert len(page) < 10_000_000


def test_english_labels_and_opt_in_basemap(sample):
    network, facilities, demand = sample
    page = map_html(build_map(run_circle(network, facilities, demand), network, lang="en", basemap=True))
    assert shows(page, "15-minute reach") and shows(page, "uncovered residents")
    assert "tile.openstreetmap.org" in page


def test_life_circle_bands_and_catchments(sample):
    network, facilities, demand = sample
    result = run_circle(network, facilities, demand, minutes=15, bands=(5, 10))
    page = map_html(build_map(result, network))
    for label in ("5 分钟等时圈", "10 分钟等时圈", "15 分钟等时圈", "就近服务范围"):
        assert shows(page, label), label


def test_names_are_inert_in_the_page(sample):
    network, facilities, demand = sample
    evil = facilities.copy()
    evil.loc[evil.index[0], "name"] = "<script>alert(1)</script>"
    evil.loc[evil.index[1], "name"] = '<img src=x onerror="alert(2)">'
    evil.loc[evil.index[2], "name"] = "X{{ 7*7 }}Y{% if true %}Z{% endif %}"  # folium renders scripts with Jinja
    page = map_html(build_map(run_circle(network, evil, demand), network))
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "X49Y" not in page and "X&#123;&#123; 7*7 &#125;&#125;Y" in page.replace("\\u0026", "&")
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert shows(page, escaped) or escaped.replace("&", "\\u0026") in page  # folium writes & as \u0026


def test_a_whole_city_of_points_becomes_hexagons(sample, monkeypatch):
    from quarterhour.render import webmap

    network, facilities, demand = sample
    result = run_circle(network, facilities, demand, minutes=5, isochrones=("facility", "merged"))
    small = map_html(build_map(result, network))
    monkeypatch.setattr(webmap, "MAX_POINTS", 100)
    big = map_html(build_map(result, network))
    assert shows(small, "未覆盖居民点") and not shows(big, "未覆盖居民点")
    assert shows(big, "居民覆盖率（1000 米六边形）") and len(big) < len(small)


def test_every_feature_has_a_drawable_geometry(sample):
    """Rounding to a metre can collapse slivers: none reaches the page as a null or a mixed collection."""
    from geo import read_boundaries, sample_paths
    from quarterhour.render.webmap import map_data

    network, facilities, demand = sample
    units = {k: v.to_crs(network.crs) for k, v in read_boundaries(sample_paths()["boundaries"]).items()}
    data = map_data(run_circle(network, facilities, demand, bands=(5, 10), boundaries=units), network)
    for layer in data.layers:
        for feature in layer.data["features"]:
            geometry = feature["geometry"]
            assert geometry and geometry["type"] != "GeometryCollection" and geometry["coordinates"], layer.name
