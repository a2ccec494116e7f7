"""The map's frame (quarterhour/ui/mapview.py): the base sent once, then only the scenario's layer; asked, again."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import pytest
import shapely
import streamlit_folium as sf
from streamlit.testing.v1 import AppTest

from analysis.pipeline import run_circle
from geo import load_sample
from quarterhour.render.webmap import draw_map, map_data, scenario_layer
from quarterhour.ui.mapview import FRAME, _needs_base, component_args, render_base


def _ids_out(text: str) -> str:
    """Folium's random element ids taken out (two drawings of one map differ only in them)."""
    return re.sub(r"_[0-9a-f]{32}", "_id", text)


def _layer(network):
    new = gpd.GeoDataFrame(
        {"name": ["new"], "change": ["add"]}, geometry=[shapely.Point(network.nodes.x.iloc[0], network.nodes.y.iloc[0])]
    ).set_crs(network.crs)
    return scenario_layer(new, new.iloc[:0], gpd.GeoDataFrame(geometry=[], crs=network.crs))


def _st_folium_args(m, layer, monkeypatch) -> dict:
    """What st_folium itself hands to streamlit-folium's component for this map and layer."""
    sent = {}
    monkeypatch.setattr(sf, "_component_func", lambda **kw: sent.update(kw))
    sf.st_folium(m, key="map", height=620, use_container_width=True, returned_objects=["last_clicked"],
                 feature_group_to_add=layer)  # fmt: skip
    return sent


@pytest.fixture(scope="module")
def md():
    network, facilities, demand = load_sample()
    return network, map_data(run_circle(network, facilities, demand, minutes=10), network)


def test_the_base_is_what_st_folium_draws_and_a_click_carries_only_the_layer(md, monkeypatch):
    network, data = md
    expected = _st_folium_args(draw_map(data), _layer(network), monkeypatch)
    base = render_base(draw_map(data), key="map")
    full = component_args(base, _layer(network), height=620, returned=["last_clicked"], with_base=True)
    for name in ("script", "html", "header"):  # the frame runs the same Leaflet script (window.map = map_div)
        assert _ids_out(full[name]) == _ids_out(expected[name]), name
    assert _ids_out(full["layer"]) == _ids_out(expected["feature_group"])
    assert full["css_links"] == full["js_links"] == []  # Leaflet comes from the frame's folder, not in the message
    assert expected["js_links"][0].startswith("data:text/javascript")  # where st_folium sends it every time
    for _ in range(2):  # the base is reused: a click's message has the layer, not the map
        click = component_args(base, _layer(network), height=620, returned=["last_clicked"])
        assert "script" not in click and click["token"] == base.token and click["overlays"] == ""
        assert "map_div.addLayer(feature_group_feature_group_0)" in click["layer"]
        assert len(json.dumps(click)) < len(json.dumps(full)) / 20
        assert len(base.map._children) == len(draw_map(data)._children)  # the layer is taken off the shared map
    assert component_args(base, None, height=620, returned=["last_clicked"])["layer"] == ""
    assert render_base(draw_map(data), key="map").token != base.token  # each rendering is named anew


def test_the_base_goes_once_per_frame_and_again_when_the_frame_asks():
    state: dict = {}
    assert _needs_base(state, "frame-a", "t1")  # a frame this session never sent it to
    assert not _needs_base(state, "frame-a", "t1")  # a click: the frame holds it
    state["frame-a"] = {"last_clicked": {"lat": 1.0, "lng": 2.0}}
    assert not _needs_base(state, "frame-a", "t1")
    state["frame-a"] = {"last_clicked": None, "want": "t1", "ask": "n1"}  # remounted: it holds nothing
    assert _needs_base(state, "frame-a", "t1")
    assert not _needs_base(state, "frame-a", "t1")  # the same ask, already answered (its value stays)
    state["frame-a"] = {"last_clicked": None, "want": "t1", "ask": "n2"}  # the answer was lost: it asks again
    assert _needs_base(state, "frame-a", "t1")
    state["frame-a"] = {"last_clicked": None, "want": "t0", "ask": "n3"}  # an ask for a base no longer shown
    assert not _needs_base(state, "frame-a", "t1")
    assert _needs_base(state, "frame-a", "t2")  # a new base for the same frame
    assert _needs_base(state, "frame-b", "t2")  # a new frame


def _page():
    """A page with the map and a button that reruns it (the frame's key is in the session's MAP_KEYS)."""
    import streamlit as st

    from analysis.pipeline import run_circle
    from geo import load_sample
    from quarterhour.render.webmap import map_data
    from quarterhour.ui.mapview import show_map

    @st.cache_resource
    def data():
        network, facilities, demand = load_sample()
        return map_data(run_circle(network, facilities, demand, minutes=10), network)

    show_map(data(), None, key="map")
    st.button("again")


def _frame_args(at: AppTest) -> dict:
    (element,) = [e for e in at.get("component_instance")]
    assert "mapframe" in element.proto.component_name
    return json.loads(element.proto.json_args)


def test_a_page_sends_the_base_once_and_a_remounted_frame_gets_it(md):
    at = AppTest.from_function(_page, default_timeout=120).run()
    first = _frame_args(at)
    assert "script" in first and len(first["script"]) > 100_000
    at.button[0].click().run()
    second = _frame_args(at)
    assert "script" not in second and second["token"] == first["token"]
    (frame_key,) = at.session_state["qh_map_keys"]
    at.session_state[frame_key] = {"last_clicked": None, "want": first["token"], "ask": "reloaded"}
    at.run()  # the frame's value (its ask) reruns the page
    asked = _frame_args(at)
    assert asked["script"] == first["script"]
    at.button[0].click().run()
    assert "script" not in _frame_args(at)
    assert not at.exception


def test_the_frame_is_served_from_its_folder_with_leaflet():
    page = (FRAME / "index.html").read_text(encoding="utf-8")
    assert 'src="leaflet/leaflet.js"' in page and 'href="leaflet/leaflet.css"' in page
    assert (FRAME / "leaflet" / "leaflet.js").is_file() and (FRAME / "mapframe.js").is_file()
    assert "http" not in page.replace("http-equiv", "")  # nothing from another host
    assert "streamlit:componentReady" in (FRAME / "mapframe.js").read_text(encoding="utf-8")


def test_overlays_are_layers_of_their_own_on_the_kept_base(md):
    from quarterhour.render.maplayers import site_layers
    from quarterhour.ui.mapview import Overlays

    network, data = md
    base = render_base(draw_map(data), key="map")
    sites = gpd.GeoDataFrame(
        {"site_id": ["S01", "S02"]}, geometry=list(network.nodes.geometry.iloc[:2]), crs=network.crs
    )
    layers = tuple(site_layers(sites, "zh"))
    args = component_args(base, None, height=620, returned=["last_clicked"], overlays=Overlays(layers, ("x",)))
    assert "script" not in args and args["overlay_names"] == [layer.name for layer in layers] and args["hide"] == ["x"]
    assert args["overlays"].count("window.feature_group.push(") == len(layers)
    assert set(re.findall(r'"site_id": "(S\d+)"', args["overlays"])) == {"S01", "S02"}
    assert len(base.map._children) == len(draw_map(data)._children)  # taken off the shared map again
    assert component_args(base, None, height=620, returned=["last_clicked"])["overlays"] == ""
