"""The map's frame keeps its base map: a click's message carries the scenario's layer, not the map (issue 29).

Seen in a real headless chromium on the sample: what the server sends is read off the page's websocket
(Streamlit ``ForwardMsg``; the map is the delta whose element is a ``component_instance``).
"""

from __future__ import annotations

import json
import time

import pytest

from tests.test_browser import CHROMIUM, _map_frame, _map_frame_showing, _watch_requests, biggest_gap

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (apt-get install chromium)"),
]


def _listen(page, messages: list) -> None:
    """Keep (size in bytes, the map's arguments or None) of every message the server sends the page."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    def frame(payload) -> None:
        if not isinstance(payload, bytes):
            return
        msg = ForwardMsg.FromString(payload)
        args = None
        if msg.WhichOneof("type") == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            instance = element.component_instance if element.WhichOneof("type") == "component_instance" else None
            if instance is not None and "mapframe" in instance.component_name:
                args = json.loads(instance.json_args)
        messages.append((len(payload), args, msg.WhichOneof("type")))

    page.on("websocket", lambda ws: ws.on("framereceived", frame))


def _maps(messages: list, since: int = 0) -> list[tuple[int, dict]]:
    return [(size, args) for size, args, _ in messages[since:] if args is not None]


def _click(page, frame, messages: list, dx: int, dy: int) -> list[tuple[int, dict]]:
    """Click the map's middle moved by (dx, dy) pixels; once one more centre is drawn, the map's messages since."""
    drawn, first = _drawn_centres(frame), len(messages)
    box = frame.locator(".leaflet-container").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2 + dx, box["y"] + box["height"] / 2 + dy)
    frame.wait_for_function(f"() => {_count_js()} > {drawn}", timeout=60_000)
    return _maps(messages, first)


def _reloaded(page, condition: str):
    """The map's frame once ``condition`` (a page expression) holds in it, looked up again while it reloads."""
    from playwright.sync_api import Error as PlaywrightError

    deadline = time.time() + 60
    while time.time() < deadline:
        frame = _map_frame(page)
        try:
            if frame.evaluate(f"() => Boolean(window.map) && ({condition})"):
                return frame
        except PlaywrightError:  # the frame's page is being replaced
            pass
        time.sleep(0.2)
    pytest.fail(f"the reloaded frame never showed {condition}")


def _drawn_centres(frame) -> int:
    """How many centres the frame's scenario layer draws (its markers)."""
    return frame.evaluate(f"() => {_count_js()}")


def _count_js() -> str:
    """A page expression: how many markers the frame's scenario layer draws."""
    return """(window.feature_group || []).reduce((c, group) => {
        let count = 0;
        group.eachLayer(function visit(layer) {
            if (layer.eachLayer) layer.eachLayer(visit); else if (layer.getLatLng) count += 1;
        });
        return c + count;
    }, 0)"""


def test_a_click_sends_the_layer_and_a_remounted_frame_gets_the_base_again(browser, app_url, sample):
    pytest.importorskip("playwright.sync_api")
    gap = biggest_gap(sample)
    messages, errors, outside = [], [], []
    page = browser.new_page(viewport={"width": 1600, "height": 1200})
    page.on("pageerror", lambda e: errors.append(str(e)))
    _watch_requests(page, outside)
    _listen(page, messages)
    page.goto(app_url, wait_until="domcontentloaded")
    page.get_by_text("38,245 / 38,367").first.wait_for(timeout=90_000)
    frame = _map_frame_showing(page, ".leaflet-control-layers")
    with_base = [(size, args) for size, args in _maps(messages) if "script" in args]
    assert with_base, "the base map was never sent"
    base_size, base_args = with_base[-1]
    token = frame.evaluate("() => document.documentElement.dataset.base")
    assert token == base_args["token"] and len(base_args["script"]) > 100_000
    layers = frame.locator(".leaflet-control-layers").text_content()
    page.get_by_text("新增 add").click()
    page.get_by_text("点击地图即在该处新增一个中心。").wait_for(timeout=30_000)
    frame = _map_frame(page)
    frame.evaluate(f"() => {{ window.map.setView([{gap.y}, {gap.x}], 16); }}")
    time.sleep(1.0)  # the pan settles; the mode's run is over

    sizes, before = [], _drawn_centres(frame)  # none, or the centres of a scenario this page opened with
    for n, (dx, dy) in enumerate([(0, 0), (80, -40), (-90, 50)], start=1):
        sent = _click(page, frame, messages, dx, dy)
        assert sent, f"click {n}: the map's part was not sent again"
        assert all("script" not in args and args["token"] == token for _, args in sent), f"click {n} sent the base"
        sizes.append(max(size for size, _ in sent))
    assert _drawn_centres(frame) == before + 3
    # the same frame, the same base: only the layer changed, three times
    assert frame.evaluate("() => document.documentElement.dataset.base") == token
    assert frame.locator(".leaflet-control-layers").text_content() == layers
    assert max(sizes) < base_size / 10, (sizes, base_size)

    # the frame reloads (as a move in the page does): it draws its base from its element's copy, with the scenario
    first = len(messages)
    frame.evaluate("() => { window.__before = true; location.reload(); }")
    frame = _reloaded(page, f"window.__before === undefined && {_count_js()} >= {before + 3}")
    assert frame.locator(".leaflet-control-layers").text_content() == layers
    assert not any("script" in args for _, args in _maps(messages, first))
    # remounted with nothing kept: it asks, and the server sends the base again
    first = len(messages)
    frame.evaluate("() => { window.__before = true; window.frameElement.__quarterhourBase = null; location.reload(); }")
    frame = _reloaded(page, f"window.__before === undefined && {_count_js()} >= {before + 3}")
    assert any("script" in args for _, args in _maps(messages, first)), "the base was not sent again"
    assert frame.locator(".leaflet-control-layers").text_content() == layers
    assert _drawn_centres(frame) == before + 3
    # and it still takes clicks, sending the layer only
    sent = _click(page, frame, messages, 40, 90)
    assert sent and all("script" not in args for _, args in sent)
    page.close()
    print(f"base message {base_size / 1e3:.0f} kB; click messages {[round(s / 1e3, 1) for s in sizes]} kB")
    assert errors == []
    assert outside == []


def test_the_siting_sites_are_overlays_on_the_kept_base(browser, app_url):
    """'计算选址': the sites and their reach are overlays on the same rendered base map (no new one is made for them).

    They come in a frame of their own (``mapview.Overlays``): the siting's parts rerun moves the map's frame.
    """
    pytest.importorskip("playwright.sync_api")
    messages, errors = [], []
    page = browser.new_page(viewport={"width": 1600, "height": 1400})
    page.on("pageerror", lambda e: errors.append(str(e)))
    _listen(page, messages)
    page.goto(app_url, wait_until="domcontentloaded")
    page.get_by_text("38,245 / 38,367").first.wait_for(timeout=90_000)
    frame = _map_frame_showing(page, ".leaflet-control-layers")
    token = frame.evaluate("() => document.documentElement.dataset.base")
    first = len(messages)
    page.get_by_text("选址模型", exact=True).click()
    page.get_by_text("计算选址", exact=True).click()
    page.get_by_text("新增后覆盖居民").wait_for(timeout=90_000)
    reach = "document.querySelector('.leaflet-control-layers').textContent.includes('新增中心等时圈')"
    frame = _reloaded(page, reach)
    layers = frame.locator(".leaflet-control-layers").text_content()
    kept = frame.evaluate("() => document.documentElement.dataset.base")
    page.close()
    sent = [args for _, args in _maps(messages, first)]
    assert kept == token  # the same rendered base map
    assert any(args["overlay_names"] for args in sent) and all(args["token"] == token for args in sent)
    assert layers.count("新增布点建议") == 1  # the siting's sites stand in for the run's own suggested site
    assert errors == []
