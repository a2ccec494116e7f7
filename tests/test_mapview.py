"""The map component: the cached base and the scenario layer sent as st_folium sends them."""

from __future__ import annotations

import re

import geopandas as gpd
import shapely
import streamlit_folium as sf

from analysis.pipeline import run_circle
from geo import load_sample
from quarterhour.render.webmap import draw_map, map_data, scenario_layer
from quarterhour.ui.mapview import component_args, render_base


def _ids_out(text: str) -> str:
    """Folium's random element ids taken out (two drawings of one map differ only in them)."""
    return re.sub(r"_[0-9a-f]{32}", "_id", text)


def _layer(network):
    new = gpd.GeoDataFrame(
        {"name": ["new"], "change": ["add"]}, geometry=[shapely.Point(network.nodes.x.iloc[0], network.nodes.y.iloc[0])]
    ).set_crs(network.crs)
    return scenario_layer(new, new.iloc[:0], gpd.GeoDataFrame(geometry=[], crs=network.crs))


def _st_folium_args(m, layer, monkeypatch, returned=("last_clicked",)) -> dict:
    """What st_folium itself hands to streamlit-folium's component for this map and layer."""
    sent = {}
    monkeypatch.setattr(sf, "_component_func", lambda **kw: sent.update(kw))
    sf.st_folium(
        m,
        key="map",
        height=620,
        use_container_width=True,
        returned_objects=list(returned),
        feature_group_to_add=layer,
    )
    sent.pop("on_change")
    return sent


def test_the_cached_base_sends_what_st_folium_sends(monkeypatch):
    network, facilities, demand = load_sample()
    md = map_data(run_circle(network, facilities, demand, minutes=10), network)
    expected = _st_folium_args(draw_map(md), _layer(network), monkeypatch)
    base = render_base(draw_map(md), key="map")
    for _ in range(2):  # the base is reused: a second layer on it sends the same
        got = component_args(base, _layer(network), height=620, returned=["last_clicked"])
        assert got.keys() == expected.keys()
        for name in expected:
            if isinstance(expected[name], str):
                assert _ids_out(got[name]) == _ids_out(expected[name]), name
            else:
                assert got[name] == expected[name], name
        assert "map_div.addLayer(feature_group_feature_group_0)" in got["feature_group"]
        assert len(base.map._children) == len(draw_map(md)._children)  # the layer is taken off the shared map
    assert component_args(base, None, height=620, returned=["last_clicked"])["feature_group"] is None
    asked = ["last_clicked", "bounds"]  # the extent walks every coordinate: made only when asked, as st_folium's
    assert (
        component_args(base, None, height=620, returned=asked)["default"]
        == (_st_folium_args(draw_map(md), None, monkeypatch, returned=asked)["default"])
    )


def test_a_new_map_data_has_a_new_token():
    network, facilities, demand = load_sample()
    result = run_circle(network, facilities, demand, minutes=10)
    assert map_data(result, network).token != map_data(result, network).token
