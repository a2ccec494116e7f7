"""A click on the map reruns only the map and its panel (issue 29 item 1), seen in a real browser.

What the server sends the browser is read off the page's websocket: every message of a run is a
Streamlit ``ForwardMsg``; an element drawn outside a ``st.fragment`` (the sidebar, the headline, the
tabs' tables) carries no fragment id. After a click, the comparison must show the new centre and
nothing outside the map's part may have been sent again.
"""

from __future__ import annotations

import time

import pytest

from tests.test_browser import CHROMIUM, _map_frame, _serve, biggest_gap

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (apt-get install chromium)"),
]


def _listen(page, messages: list) -> None:
    """Keep every ForwardMsg the server sends the page, parsed."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    def frame(payload) -> None:
        if isinstance(payload, bytes):
            messages.append(ForwardMsg.FromString(payload))

    page.on("websocket", lambda ws: ws.on("framereceived", frame))


def _metric(page, label: str) -> str:
    box = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return box.locator('[data-testid="stMetricValue"]').text_content()


def test_a_click_reruns_only_the_map_and_updates_the_comparison(browser, tmp_path, sample):
    pytest.importorskip("playwright.sync_api")
    gap = biggest_gap(sample)
    messages, errors = [], []
    server = _serve(tmp_path / "workspace.sqlite")
    url = next(server)
    try:
        page = browser.new_page(viewport={"width": 1600, "height": 1200})
        page.on("pageerror", lambda e: errors.append(str(e)))
        _listen(page, messages)
        page.goto(url, wait_until="domcontentloaded")
        page.get_by_text("38,245 / 38,367").first.wait_for(timeout=60_000)
        page.get_by_text("新增 add").click()
        page.get_by_text("点击地图即在该处新增一个中心。").wait_for(timeout=30_000)
        frame = _map_frame(page)
        frame.wait_for_function("() => window.map !== undefined")
        frame.evaluate(f"() => {{ window.map.setView([{gap.y}, {gap.x}], 16); }}")
        time.sleep(1.0)  # the pan settles; the mode's run is over
        compared_before = page.get_by_text("现状与方案对比").count()
        xy = frame.evaluate(f"() => window.map.latLngToContainerPoint([{gap.y}, {gap.x}])")
        box = frame.locator(".leaflet-container").bounding_box()
        first = len(messages)
        page.mouse.click(box["x"] + xy["x"], box["y"] + xy["y"])
        page.get_by_text("新中心 1").first.wait_for(state="attached", timeout=60_000)
        line = page.get_by_text("新增覆盖", exact=False).first
        line.wait_for(timeout=60_000)
        time.sleep(1.0)  # the run's last messages arrive
        gained, now, then = line.text_content(), _metric(page, "现状"), _metric(page, "方案")
        sidebar_still = page.locator('[data-testid="stSidebar"]').get_by_text("数据", exact=True).count()
        page.close()
    finally:
        server.close()
    after = messages[first:]
    deltas = [m for m in after if m.WhichOneof("type") == "delta"]
    outside = [m for m in deltas if not m.delta.fragment_id]
    in_sidebar = [m for m in deltas if list(m.metadata.delta_path)[:1] == [1]]
    finished = [m for m in after if m.WhichOneof("type") == "script_finished"]
    assert errors == []
    # the comparison came with the click: absent before, the scenario's figure above the current one after
    assert compared_before == 0
    assert not gained.startswith("新增覆盖 0 人"), gained
    assert int(then.replace(",", "")) > int(now.replace(",", "")), (now, then)
    # the server sent the map's part again, and nothing else: no sidebar, headline or tab element
    assert deltas and finished
    assert outside == [] and in_sidebar == [], (len(outside), len(in_sidebar), len(deltas))
    assert len({m.delta.fragment_id for m in deltas}) == 1
    assert sidebar_still  # the sidebar is still on the page, as it was
