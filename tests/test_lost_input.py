"""Issue 29 (lost-input): a planner's upload sent while the page starts a new run is kept, not silently lost.

The upload's first step is the browser asking the server where to send the file; Streamlit's answer waits in
the session's outgoing queue, and a new run of the page starting before the queue is flushed threw it away
(``quarterhour/ui/replies.py``): the browser never sent the file and the uploader showed nothing.
"""

from __future__ import annotations

import time

import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.runtime.forward_msg_queue import ForwardMsgQueue

from quarterhour.ui.replies import REPLIES, keep_replies


def _queued() -> ForwardMsgQueue:
    """A session's outgoing queue as a run left it: a delta, the answer to an upload's request, the run's end."""
    queue = ForwardMsgQueue()
    delta = ForwardMsg()
    delta.metadata.delta_path[:] = [0, 0]
    delta.delta.new_element.markdown.body = "drawn by the run that is replaced"
    answer = ForwardMsg()
    answer.file_urls_response.response_id = "upload-1"
    answer.file_urls_response.file_urls.add(file_id="f1", upload_url="/_stcore/upload_file/s/f1")
    finished = ForwardMsg()
    finished.script_finished = ForwardMsg.FINISHED_SUCCESSFULLY
    for msg in (delta, answer, finished):
        queue.enqueue(msg)
    return queue


def test_a_new_run_keeps_the_answer_to_an_upload_request():
    """A new run's start (``AppSession._clear_queue``): the page's deltas go, the upload's answer stays."""
    keep_replies()
    keep_replies()  # once per process, however often the page calls it
    queue = _queued()
    queue.clear(retain_lifecycle_msgs=True, fragment_ids_this_run=None)  # a new run of the whole page starts
    kinds = [m.WhichOneof("type") for m in queue.flush()]
    assert "file_urls_response" in kinds and "delta" not in kinds and "script_finished" in kinds, kinds
    queue = _queued()
    queue.clear(retain_lifecycle_msgs=True, fragment_ids_this_run=["a part"])  # a part's own rerun: as before
    assert [m.WhichOneof("type") for m in queue.flush()].count("file_urls_response") == 1
    queue = _queued()
    queue.clear()  # the session ends: everything goes, as before
    assert queue.flush() == []
    assert "file_urls_response" in REPLIES


@pytest.mark.browser
def test_a_click_on_the_map_while_the_page_runs_is_taken(browser, app_url, sample, tmp_path):
    """'Add'; a bad upload (its error and "kept the previous data" go above the map); a click in a gap on the map
    while that run's news has not reached the browser: the centre is added once the page catches up.

    The browser hears nothing of the upload's run until after the click (its messages are held back, as a busy
    server's are), so the click names the map's part as the browser last saw it. Before, the run's messages
    moved the part down the page and gave it a new id; Streamlit dropped the click sent to the old one.
    """
    import re

    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    from tests.test_browser import _map_frame, biggest_gap

    gap = biggest_gap(sample)
    bad = tmp_path / "没有坐标.csv"
    bad.write_text("名称,类别,地址\n服务中心,党群服务中心,中州中路 1 号\n", encoding="utf-8")
    held: list = []
    hold = {"on": False}

    def through(ws) -> None:  # the app's stream, with the server's news held back while ``hold["on"]``
        server = ws.connect_to_server()

        def down(message) -> None:
            kind = ForwardMsg.FromString(message).WhichOneof("type") if isinstance(message, bytes) else None
            if hold["on"] and kind != "file_urls_response":  # the upload itself goes through
                held.append(message)
            else:
                ws.send(message)

        server.on_message(down)
        ws.on_message(server.send)
        hold["ws"] = ws

    page = browser.new_page(viewport={"width": 1600, "height": 1100})
    page.route_web_socket(re.compile(r".*_stcore/stream.*"), through)
    page.goto(app_url, wait_until="domcontentloaded")
    page.get_by_text("38,245 / 38,367").first.wait_for(timeout=90_000)
    page.get_by_text("新增 add").click()
    page.get_by_text("点击地图即在该处新增一个中心。").wait_for(timeout=30_000)
    _settled(page)
    frame = _map_frame(page)
    frame.wait_for_function("() => window.map !== undefined")
    frame.evaluate(f"() => {{ window.map.setView([{gap.y}, {gap.x}], 16); }}")
    page.wait_for_timeout(500)
    xy = frame.evaluate(f"() => window.map.latLngToContainerPoint([{gap.y}, {gap.x}])")
    box = frame.locator(".leaflet-container").bounding_box()
    hold["on"] = True
    page.get_by_text("数据", exact=True).click()
    uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text="服务设施")
    uploader.locator('input[type="file"]').set_input_files(str(bad))
    page.wait_for_timeout(8_000)  # the server reads the file and runs the page meanwhile
    page.mouse.click(box["x"] + xy["x"], box["y"] + xy["y"])  # on the map as the browser still shows it
    page.wait_for_timeout(1_500)
    hold["on"] = False
    for message in held:
        hold["ws"].send(message)
    page.get_by_text("下面仍显示上一次成功读取的数据").wait_for(timeout=60_000)
    page.get_by_text("新中心 1").first.wait_for(state="attached", timeout=60_000)  # a cell of the changes' table
    page.close()
    assert len(held) > 10  # the run's news was held back while the planner clicked


# a file dropped on the facilities' uploader in the same moment as a click on the sidebar that reruns the page
_RACE = """([text, name, choice]) => {
  const labels = [...document.querySelectorAll('[data-testid=stSidebar] label')];
  const option = labels.find(l => l.innerText.includes(choice));
  const up = [...document.querySelectorAll('[data-testid=stFileUploader]')].find(u => u.innerText.includes('服务设施'));
  const input = up.querySelector('input[type=file]');
  const files = new DataTransfer();
  files.items.add(new File([text], name, {type: 'text/csv'}));
  option.click();
  input.files = files.files;
  input.dispatchEvent(new Event('change', {bubbles: true}));
}"""


@pytest.mark.browser
def test_an_upload_dropped_as_the_page_reruns_is_kept(browser, app_url):
    """Drop a facilities file in the same moment as a change that reruns a busy page, three times: each is read.

    The server answered the upload's request, then the change's new run cleared the answer before the
    browser had it (Debian chromium, before the fix: about one try in three lost, the uploader empty and
    the page on the previous facilities, with no word said).
    """
    sync_api = pytest.importorskip("playwright.sync_api")
    page = browser.new_page(viewport={"width": 1600, "height": 1100})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(app_url, wait_until="domcontentloaded")
    page.get_by_text("38,245 / 38,367").first.wait_for(timeout=90_000)
    page.get_by_text("数据", exact=True).click()
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="服务设施")
    metric = metric.locator('[data-testid="stMetricValue"]')
    uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text="服务设施")
    took = []
    for n in (2, 3, 4):  # n facilities, so each file's own count shows once it is read
        rows = "".join(f"中心{i},邻里中心,{7.4206 + 0.0008 * i:.4f},{43.7315 + 0.0009 * i:.4f}\n" for i in range(n))
        name = f"设施{n}.csv"
        page.locator("[data-testid=stSidebar] label").filter(has_text="自行车").first.click()  # a run that computes
        time.sleep(0.3)
        started = time.perf_counter()
        page.evaluate(_RACE, ["名称,类别,经度,纬度\n" + rows, name, "步行 walk"])
        uploader.get_by_text(name).wait_for(timeout=60_000)  # the browser sent the file: the uploader holds it
        sync_api.expect(metric).to_have_text(str(n), timeout=90_000)  # and the page read it
        took.append(time.perf_counter() - started)
    page.close()
    print("dropped → read (s):", ", ".join(f"{s:.1f}" for s in took))
    assert errors == []


def _settled(page, timeout: float = 60.0) -> None:
    """Wait until the page's run is over (Streamlit marks the app ``notRunning`` for a second on end)."""
    quiet, deadline = 0, time.time() + timeout
    while quiet < 4 and time.time() < deadline:
        running = page.locator('[data-testid="stApp"][data-test-script-state="running"]').count()
        quiet = 0 if running else quiet + 1
        time.sleep(0.25)


@pytest.mark.browser
def test_a_message_above_the_map_leaves_the_map_in_place(browser, app_url, tmp_path):
    """A bad upload writes its error and "kept the previous data" above the map: the map's frame stays the same.

    Before, the messages moved the map's part down the page: its frame was remade (a click on it during the run
    went to a frame being thrown away) and its part's id changed (a click sent to the old id was dropped).
    """
    from tests.test_browser import _map_frame

    bad = tmp_path / "没有坐标.csv"
    bad.write_text("名称,类别,地址\n服务中心,党群服务中心,中州中路 1 号\n", encoding="utf-8")
    page = browser.new_page(viewport={"width": 1600, "height": 1100})
    page.goto(app_url, wait_until="domcontentloaded")
    page.get_by_text("38,245 / 38,367").first.wait_for(timeout=90_000)
    _map_frame(page).wait_for_selector(".leaflet-control-layers", timeout=60_000)
    maps = "[...document.querySelectorAll('iframe')].filter(f => f.title.includes('mapframe'))"
    assert page.evaluate(f"() => {maps}.map(f => (f.__before = true)).length") == 1
    page.get_by_text("数据", exact=True).click()
    uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text="服务设施")
    uploader.locator('input[type="file"]').set_input_files(str(bad))
    page.get_by_text("下面仍显示上一次成功读取的数据").wait_for(timeout=60_000)
    _settled(page)  # the run is over: the map's part has been drawn again
    kept = page.evaluate(f"() => {maps}.map(f => f.__before === true)")
    page.close()
    assert kept == [True], kept  # the same frame, not a new one
