"""The map on the page: the base drawn once per setting; a rerun sends only the scenario's layer.

``st_folium`` turns the whole folium map into Leaflet script on every rerun:
at city scale that is about 2 s of Jinja rendering of a 9.6 MB page per click
(benchmarks/README.md). The base map does not change with a click, only the
scenario layer does. So this module renders the base once per map and
basemap (cached for the server), and on each rerun renders only the scenario's
feature group and hands both to streamlit-folium's own component, exactly as
``st_folium(m, feature_group_to_add=layer)`` would. The component's front end
keeps its map when the base script is unchanged and swaps the feature group
only.

It calls streamlit-folium's helpers (``_get_html``, ``_get_header``,
``_get_map_string``, ``_get_feature_group_string``, ``_component_func``);
``tests/test_mapview.py`` checks that what it sends equals what ``st_folium``
sends for the same map and layer, so an upgrade that changes them fails a test,
not the page.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import folium
import streamlit as st
import streamlit_folium as sf
from streamlit.proto.WidgetStates_pb2 import WidgetState as WidgetStateProto
from streamlit.runtime.scriptrunner import get_script_run_ctx

from quarterhour.render.webmap import MapData, draw_map
from quarterhour.ui import state as S

__all__ = ["BaseMap", "component_args", "old_map_click", "render_base", "show_map"]


@dataclass
class BaseMap:
    """A base map rendered once: what ``st_folium`` computes from it on every rerun."""

    map: folium.Map
    script: str
    header: str
    html: str
    map_id: str
    zoom: object
    css_links: list[str]
    js_links: list[str]
    script_hash: str  #: the component's key part that depends on the script (a regex over the whole page)
    lock: threading.Lock = field(default_factory=threading.Lock)  #: a layer is drawn on the shared map


def _links(m: folium.Map) -> tuple[list[str], list[str]]:
    """The CSS and JS links of every element, as ``st_folium`` gathers them (ours are data: URIs, no CDN)."""
    css, js = [], []

    def walk(element: object):
        yield element
        for child in getattr(element, "_children", {}).values():
            yield from walk(child)

    for element in walk(m):
        css.extend(href for _, href in getattr(element, "default_css", []))
        js.extend(src for _, src in getattr(element, "default_js", []))
    return list(dict.fromkeys(css)), list(dict.fromkeys(js))


def render_base(m: folium.Map, *, key: str) -> BaseMap:
    """Render ``m`` as ``st_folium`` does, once.

    Parameters
    ----------
    m
        The base map (``quarterhour.render.webmap.draw_map``).
    key
        The component's Streamlit key (part of its identity, as in ``st_folium``).

    Returns
    -------
    BaseMap
        The script, header, HTML, id and links the component needs (the bounds only when asked for).
    """
    m.get_root().render()
    m.render()
    html, header = sf._get_html(m), sf._get_header(m)  # before the script: making it alters the map
    script = sf._get_map_string(m)
    css, js = _links(m)
    return BaseMap(
        map=m,
        script=script,
        header=header,
        html=html,
        map_id=sf.get_full_id(m),
        zoom=m.options.get("zoom"),
        css_links=css,
        js_links=js,
        script_hash=sf.generate_js_hash(script, key, False),
    )


def component_args(base: BaseMap, layer: folium.FeatureGroup | None, *, height: int, returned: list[str]) -> dict:
    """The arguments ``st_folium(base.map, feature_group_to_add=layer, …)`` gives streamlit-folium's component.

    Parameters
    ----------
    base
        The rendered base map.
    layer
        The scenario's feature group, or None.
    height
        The map's height in pixels (its width follows the container).
    returned
        The objects the component sends back (e.g. ``["last_clicked"]``).

    Returns
    -------
    dict
        Keyword arguments for the component (without ``on_change``).
    """
    group = None
    if layer is not None:
        with base.lock:  # the feature group is rendered as a child of the shared map, then taken off it again
            group = sf._get_feature_group_string(layer, map=base.map, idx=0)
            base.map._children.pop(layer.get_name(), None)
    defaults = {"last_clicked": None, "zoom": base.zoom}
    if "bounds" in returned:  # folium walks every coordinate of every layer for it: only when asked
        defaults["bounds"] = _bounds(base.map)
    return {
        "script": base.script,
        "header": base.header,
        "html": base.html,
        "id": base.map_id,
        "key": base.script_hash,
        "height": height,
        "width": None,
        "returned_objects": returned,
        "default": {k: v for k, v in defaults.items() if k in returned},
        "zoom": None,
        "center": None,
        "feature_group": group,
        "return_on_hover": False,
        "layer_control": None,
        "pixelated": False,
        "css_links": base.css_links,
        "js_links": base.js_links,
        "wrap_longitude": False,
    }


def _bounds(m: folium.Map) -> dict:
    """The extent of everything on ``m``, as the component reports it."""
    (south, west), (north, east) = m.get_bounds()
    return {"_southWest": {"lat": south, "lng": west}, "_northEast": {"lat": north, "lng": east}}


@st.cache_resource(show_spinner=False, max_entries=16)
def _base(token: str, _data: MapData, basemap: str, tianditu_key: str, key: str) -> BaseMap:
    """The rendered base map of one ``MapData`` (by its token) and basemap, for the server's sessions."""
    return render_base(draw_map(_data, basemap=basemap, tianditu_key=tianditu_key), key=key)


def show_map(
    data: MapData,
    layer: folium.FeatureGroup | None,
    *,
    key: str,
    basemap: str = "none",
    tianditu_key: str = "",
    height: int = 620,
    returned: tuple[str, ...] = ("last_clicked",),
    on_change: Callable[[], None] | None = None,
) -> dict | None:
    """Show the map of ``data`` with ``layer`` on top; returns what the component sends back.

    Parameters
    ----------
    data
        The map's layers (``quarterhour.render.webmap.map_data``, cached by the app).
    layer
        The scenario's feature group (changes with every click), or None.
    key
        The Streamlit key: ``st.session_state[key]`` holds the component's last answer.
    basemap, tianditu_key
        As for ``quarterhour.render.webmap.draw_map``.
    height
        The map's height in pixels.
    returned
        The objects the component sends back.
    on_change
        Called after ``st.session_state[key]`` holds the component's new answer (a widget callback).

    Returns
    -------
    dict or None
        The component's answer (e.g. ``{"last_clicked": {"lat": …, "lng": …}}``).
    """
    base = _base(data.token, data, basemap, tianditu_key, key)
    args = component_args(base, layer, height=height, returned=list(returned))
    drawn = [k for k in st.session_state.get(S.MAP_KEYS, []) if k != args["key"]]
    st.session_state[S.MAP_KEYS] = [*drawn[-7:], args["key"]]  # issue 29: a click on an earlier map is found

    def stored() -> None:
        st.session_state[key] = st.session_state.get(args["key"], {})
        if on_change is not None:
            on_change()

    return sf._component_func(**args, on_change=stored)


def old_map_click() -> dict | None:
    """A click the browser sent from a map this session drew before the one now on the page, if any (issue 29).

    The map's component is keyed by its base map: when a page run redraws the map for new data or settings, a
    click made on the previous map during that run comes back under the previous component's id, which the new
    run no longer holds, so no callback takes it. The browser still sends it with the part's rerun; Streamlit
    keeps such a value for the run it came with (unread, as sent). This finds it there.

    Returns
    -------
    dict or None
        The click (``{"lat": …, "lng": …}``), or None.
    """
    keys = st.session_state.get(S.MAP_KEYS, [])
    ctx = get_script_run_ctx()
    state = getattr(getattr(ctx, "session_state", None), "_state", None)
    widgets = getattr(getattr(state, "_new_widget_state", None), "states", None)
    if len(keys) < 2 or not isinstance(widgets, dict):
        return None
    earlier = tuple(f"-{k}" for k in keys[:-1])
    for widget_id, held in list(widgets.items()):
        if not widget_id.endswith(earlier):
            continue
        value = held.value
        if isinstance(value, WidgetStateProto):  # as sent by the browser
            value = json.loads(value.json_value) if value.WhichOneof("value") == "json_value" else None
        clicked = value.get("last_clicked") if isinstance(value, dict) else None
        if clicked:
            return clicked
    return None
