"""The map on the page: its frame keeps the base map; a rerun sends the scenario's layer, the base only when asked.

The base map (the analysis's layers, a rendered folium map: 0.6 MB of Leaflet script on the sample, several
MB for a city) does not change with a click; only the scenario's layer does. ``st_folium`` hands its
component the whole map on every rerun, so the browser received and parsed it again per click. This module
renders the base once per map and basemap (``render_base``, cached for the server) and shows it in a frame
of our own (``quarterhour/assets/index.html`` + ``mapframe.js``: a Streamlit component without a build step,
Leaflet served from that folder once and cached by the browser, nothing from any other host):

- the server remembers which base (``BaseMap.token``) it sent to which frame (the component's key) and sends
  the base's script, HTML and styles only when it has not, or when the frame asks for it;
- the frame keeps the base it drew and swaps only the scenario's layer per render; when a render names a
  base it does not hold and brings none (the frame was remounted or reloaded), it asks with a value
  ``{"want": token, "ask": nonce}`` and the part's rerun sends the base (``_needs_base``); it first looks for
  a copy it keeps on its own ``<iframe>`` element (same origin), so a reloaded or moved frame draws at once;
- layers that come and go on the same base (the siting's sites: ``Overlays``) are drawn as overlays of their
  own in the base's layer control, not as a new base map.

A click comes back as ``{"last_clicked": {"lat": …, "lng": …}}`` in ``st.session_state[key]``, as
``st_folium``'s. The base's and the layer's Leaflet script are made with streamlit-folium's helpers
(``_get_html``, ``_get_header``, ``_get_map_string``, ``_get_feature_group_string``): the frame finds
``window.map`` and the layers where streamlit-folium's would.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import folium
import streamlit as st
import streamlit.components.v1 as components
import streamlit_folium as sf
from streamlit.proto.WidgetStates_pb2 import WidgetState as WidgetStateProto
from streamlit.runtime.scriptrunner import get_script_run_ctx

from quarterhour.render.webmap import Layer, MapData, draw_map, layer_group
from quarterhour.ui import state as S

__all__ = [
    "FRAME",
    "BaseMap",
    "Overlays",
    "component_args",
    "old_map_click",
    "overlay_script",
    "render_base",
    "show_map",
]

FRAME = Path(__file__).resolve().parent.parent / "assets"  #: the map frame's folder (index.html, Leaflet)
_frame = components.declare_component("mapframe", path=str(FRAME))
_SENT = "qh_map_base_sent"  #: (component key, base token) of the base this session last sent a frame
_ANSWERED = "qh_map_base_answered"  #: the frame's last ask for the base that a run answered
_OWN = ("want", "ask")  #: the frame's fields of its value that are not the planner's (the ask for the base)
_LEAFLET = ("leaflet", "leaflet_css")  #: ``OfflineMap``'s own assets: the frame has them from its folder


@dataclass
class BaseMap:
    """A base map rendered once: the frame's script, HTML and styles, and a token naming this rendering."""

    map: folium.Map
    script: str
    header: str
    html: str
    map_id: str
    zoom: object
    css_links: list[str]  #: other than Leaflet's (which the frame has from its folder)
    js_links: list[str]
    script_hash: str  #: the component's key (the script, folium's random ids out, and the Streamlit key)
    token: str = field(default_factory=lambda: uuid.uuid4().hex)  #: names this rendering to the frame
    lock: threading.Lock = field(default_factory=threading.Lock)  #: a layer is drawn on the shared map


def _links(m: folium.Map) -> tuple[list[str], list[str]]:
    """The CSS and JS links of every element but Leaflet's own (the frame loads those from its folder)."""
    css, js = [], []

    def walk(element: object):
        yield element
        for child in getattr(element, "_children", {}).values():
            yield from walk(child)

    for element in walk(m):
        css.extend(href for name, href in getattr(element, "default_css", []) if name not in _LEAFLET)
        js.extend(src for name, src in getattr(element, "default_js", []) if name not in _LEAFLET)
    return list(dict.fromkeys(css)), list(dict.fromkeys(js))


def render_base(m: folium.Map, *, key: str) -> BaseMap:
    """Render ``m`` for the frame, once.

    Parameters
    ----------
    m
        The base map (``quarterhour.render.webmap.draw_map``).
    key
        The component's Streamlit key (part of its identity).

    Returns
    -------
    BaseMap
        The script, header, HTML, id and links the frame needs (the bounds only when asked for), a new token.
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


def layer_script(base: BaseMap, layer: folium.FeatureGroup | None) -> str:
    """The Leaflet script that adds ``layer`` to the frame's map (into ``window.feature_group``); "" for None."""
    if layer is None:
        return ""
    with base.lock:  # the feature group is rendered as a child of the shared map, then taken off it again
        code = sf._get_feature_group_string(layer, map=base.map, idx=0)
        base.map._children.pop(layer.get_name(), None)
    return code


@dataclass(frozen=True)
class Overlays:
    """Layers drawn on the kept base as overlays of their own (in its layer control), e.g. the siting's sites.

    ``hide``: the names of the base's overlays they stand in for (the run's own suggested site), taken off the map
    and the layer control while they show. ``token`` names them in the frame's key: new overlays get a new
    frame (as a new base map did), because Streamlit moves the map's frame in the page when the siting's
    parts rerun, and a moved frame's messages no longer reach Streamlit (its component listens to the old one).
    """

    layers: tuple[Layer, ...] = ()
    hide: tuple[str, ...] = ()
    token: str = field(default_factory=lambda: uuid.uuid4().hex)


def overlay_script(base: BaseMap, layers: tuple[Layer, ...] | list[Layer]) -> str:
    """The Leaflet script that adds each of ``layers`` to the frame's map, in order, as a feature group of its own.

    Each group is pushed into ``window.feature_group``; the frame evaluates the script with a list of its own
    there and adds the groups to the layer control under ``[layer.name for layer in layers]``.
    """
    codes = []
    with base.lock:  # rendered as children of the shared map, then taken off it again
        for i, layer in enumerate(layers):
            group = layer_group(layer)
            codes.append(sf._get_feature_group_string(group, map=base.map, idx=f"overlay_{i}"))
            base.map._children.pop(group.get_name(), None)
    return "\n".join(codes)


def component_args(
    base: BaseMap,
    layer: folium.FeatureGroup | None,
    *,
    height: int,
    returned: list[str],
    with_base: bool = False,
    overlays: Overlays = Overlays(),
) -> dict:
    """What the frame is sent: the base's token, the layer, and the base itself only ``with_base``.

    Parameters
    ----------
    base
        The rendered base map.
    layer
        The scenario's feature group, or None.
    height
        The map's height in pixels (its width follows the container).
    returned
        The objects the frame sends back (``last_clicked``, ``zoom``, ``bounds``, ``center``).
    with_base
        Send the base's script, HTML, header and links (the frame does not hold it).
    overlays
        Layers drawn on the base as overlays of their own (the siting's sites), and the base's overlays they hide.

    Returns
    -------
    dict
        Keyword arguments for the component (without ``key``, ``default`` and ``on_change``).
    """
    args = {
        "token": base.token,
        "layer": layer_script(base, layer),
        "overlays": overlay_script(base, overlays.layers),
        "overlay_names": [layer.name for layer in overlays.layers],
        "hide": list(overlays.hide),
        "height": height,
        "returned": list(returned),
    }
    if with_base:
        args |= {
            "script": base.script,
            "html": base.html,
            "header": base.header,
            "css_links": base.css_links,
            "js_links": base.js_links,
        }
    return args


def _defaults(base: BaseMap, returned: list[str]) -> dict:
    """The answer before the frame sends one, as ``st_folium``'s."""
    defaults = {"last_clicked": None, "zoom": base.zoom, "center": None}
    if "bounds" in returned:  # folium walks every coordinate of every layer for it: only when asked
        defaults["bounds"] = _bounds(base.map)
    return {k: v for k, v in defaults.items() if k in returned}


def _bounds(m: folium.Map) -> dict:
    """The extent of everything on ``m``, as the frame reports it."""
    (south, west), (north, east) = m.get_bounds()
    return {"_southWest": {"lat": south, "lng": west}, "_northEast": {"lat": north, "lng": east}}


def _needs_base(state, frame_key: str, token: str) -> bool:
    """Whether this run sends the frame ``frame_key`` the base ``token`` (and remembers that it did).

    The base goes when this session has not sent it to this frame, or when the frame asks for it (its value
    ``{"want": token, "ask": nonce}``, a nonce no run answered yet: it was remounted and holds nothing).

    Parameters
    ----------
    state
        The session's state (``st.session_state``; a dict in tests).
    frame_key
        The component's key.
    token
        The base's token (``BaseMap.token``).
    """
    value = state.get(frame_key) or {}
    ask = value.get("ask") if isinstance(value, dict) and value.get("want") == token else None
    asked = ask is not None and ask != state.get(_ANSWERED)
    if asked:
        state[_ANSWERED] = ask
    sent = tuple(state.get(_SENT) or ()) == (frame_key, token)
    state[_SENT] = (frame_key, token)
    return asked or not sent


@st.cache_resource(show_spinner=False, max_entries=16)
def _base(token: str, _data: MapData, basemap: str, tianditu_key: str, key: str) -> BaseMap:
    """The rendered base map of one ``MapData`` (by its token) and basemap, for the server's sessions."""
    return render_base(draw_map(_data, basemap=basemap, tianditu_key=tianditu_key), key=key)


def _planners(value: object, returned: tuple[str, ...]) -> dict:
    """The frame's value without its own fields: what the page reads (``{"last_clicked": …}``)."""
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if k not in _OWN and k in returned}


def show_map(  # noqa: PLR0913 -- keyword-only options, each documented (as st_folium's)
    data: MapData,
    layer: folium.FeatureGroup | None,
    *,
    key: str,
    basemap: str = "none",
    tianditu_key: str = "",
    height: int = 620,
    returned: tuple[str, ...] = ("last_clicked",),
    on_change: Callable[[], None] | None = None,
    overlays: Overlays = Overlays(),
) -> dict | None:
    """Show the map of ``data`` with ``layer`` on top; returns what the frame sends back.

    Parameters
    ----------
    data
        The map's layers (``quarterhour.render.webmap.map_data``, cached by the app).
    layer
        The scenario's feature group (changes with every click), or None.
    key
        The Streamlit key: ``st.session_state[key]`` holds the frame's last answer.
    basemap, tianditu_key
        As for ``quarterhour.render.webmap.draw_map``.
    height
        The map's height in pixels.
    returned
        The objects the frame sends back.
    on_change
        Called after ``st.session_state[key]`` holds the frame's new answer (a widget callback).
    overlays
        Layers drawn on the kept base as overlays of their own (the siting's sites: no new base map for them).

    Returns
    -------
    dict or None
        The frame's answer (e.g. ``{"last_clicked": {"lat": …, "lng": …}}``).
    """
    base = _base(data.token, data, basemap, tianditu_key, key)
    frame_key = base.script_hash
    if overlays.layers:  # a frame of their own (see Overlays); the base is rendered once all the same
        frame_key = hashlib.sha256(f"{base.script_hash}-{overlays.token}".encode()).hexdigest()
    with_base = _needs_base(st.session_state, frame_key, base.token)
    args = component_args(base, layer, height=height, returned=list(returned), with_base=with_base, overlays=overlays)
    drawn = [k for k in st.session_state.get(S.MAP_KEYS, []) if k != frame_key]
    st.session_state[S.MAP_KEYS] = [*drawn[-7:], frame_key]  # issue 29: a click on an earlier map is found

    def stored() -> None:
        st.session_state[key] = _planners(st.session_state.get(frame_key), returned)
        if on_change is not None:
            on_change()

    default = _defaults(base, list(returned))
    value = _frame(**args, key=frame_key, default=default, on_change=stored)
    return _planners(value, returned) or None


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
