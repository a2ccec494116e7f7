"""The app in a real headless browser (Debian chromium): the map draws, and nothing leaves the machine.

A browser test that needs no workspace of its own asks for ``app_url`` (tests/conftest.py: one server for all of
them); one that does (accounts, a scenario of its own) starts its own with ``_serve``. Every browser test asks for
``browser`` (tests/conftest.py: one chromium for the session) and opens its own page or context.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (apt-get install chromium)"),
]


def _serve(database: Path):
    """The app on a free port of 127.0.0.1, saving its scenarios into ``database`` (SQLite); yields its URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
        # its own cache: networks other tests prepared would be chosen for the uploads (ui.sidebar, issue 26)
        env={
            **os.environ,
            "QUARTERHOUR_DATABASE_URL": f"sqlite:///{database}",
            "QUARTERHOUR_CACHE": str(database.parent / "cache"),
        },
    )
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("the app never answered on its port")
        yield f"http://127.0.0.1:{port}/"
    finally:
        # Streamlit takes 5-10 s to stop on SIGTERM; a test server holds nothing worth waiting for (its SQLite
        # workspace is committed as it goes), so it gets 1.5 s, then SIGKILL.
        proc.terminate()
        try:
            proc.wait(1.5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def test_map_renders_offline(browser, app_url, tmp_path):
    errors, outside = [], []
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.on("pageerror", lambda e: errors.append(str(e)))
    _watch_requests(page, outside)
    page.goto(app_url, wait_until="domcontentloaded")
    frame = _map_frame_showing(page, ".leaflet-control-layers")
    box = frame.locator(".leaflet-container").bounding_box()
    assert box["width"] > 600 and box["height"] > 400
    # Vector layers are drawn (canvas renderer) and the layer control speaks Chinese.
    assert frame.locator(".leaflet-overlay-pane canvas, .leaflet-overlay-pane svg").count() >= 1
    assert "15 分钟等时圈" in frame.locator(".leaflet-control-layers").text_content()
    page.get_by_text("38,245 / 38,367").first.wait_for(timeout=30_000)
    shot = Path(os.environ.get("QUARTERHOUR_SHOT", tmp_path / "app.png"))
    page.screenshot(path=str(shot), full_page=True)
    page.close()
    assert errors == []
    assert outside == []
    assert shot.stat().st_size > 50_000


def _launch(p):
    return p.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    )


def _watch_requests(page, outside: list) -> None:
    """Note every request that would leave this machine (CDNs, tile servers)."""
    local = ("http://127.0.0.1", "data:", "blob:", "about:")
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(local) else None)


def _map_frame(page):
    from playwright.sync_api import Error as PlaywrightError

    deadline = time.time() + 120
    while time.time() < deadline:
        for frame in page.frames:
            try:
                if frame.locator(".leaflet-container").count():
                    return frame
            except PlaywrightError:  # the frame was replaced while we looked (the app ran again): look again
                continue
        time.sleep(0.3)
    pytest.fail("no Leaflet map appeared")


def _map_frame_showing(page, selector: str):
    """The map's frame once ``selector`` shows in it; a frame a later page run replaces is looked up again."""
    from playwright.sync_api import Error as PlaywrightError

    deadline = time.time() + 120
    while time.time() < deadline:
        frame = _map_frame(page)
        try:
            frame.wait_for_selector(selector, timeout=10_000)
            return frame
        except PlaywrightError:  # detached (the run drew the map anew) or not yet shown: look again
            continue
    pytest.fail(f"the map never showed {selector}")


def test_click_adds_a_centre_and_the_coverage_follows(browser, app_url, tmp_path, sample):
    """A planner picks 'add', clicks in the biggest gap, and sees who gains; the console stays clean."""
    gap = biggest_gap(sample)
    errors, console, outside = [], [], []
    page = browser.new_page(viewport={"width": 1600, "height": 1100})
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    _watch_requests(page, outside)
    page.goto(app_url, wait_until="domcontentloaded")
    _map_frame_showing(page, ".leaflet-control-layers")
    page.get_by_text("38,245 / 38,367").first.wait_for(timeout=60_000)
    page.get_by_text("新增 add").click()
    page.get_by_text("点击地图即在该处新增一个中心。").wait_for(timeout=30_000)
    frame = _map_frame(page)
    frame.wait_for_function("() => window.map !== undefined")
    frame.evaluate(f"() => {{ window.map.setView([{gap.y}, {gap.x}], 16); }}")
    time.sleep(0.5)  # the pan settles
    xy = frame.evaluate(f"() => window.map.latLngToContainerPoint([{gap.y}, {gap.x}])")
    box = frame.locator(".leaflet-container").bounding_box()
    clicked = time.perf_counter()
    page.mouse.click(box["x"] + xy["x"], box["y"] + xy["y"])
    page.get_by_text("现状与方案对比").wait_for(timeout=30_000)
    page.get_by_text("新中心 1").first.wait_for(state="attached", timeout=30_000)  # a cell of the table
    seconds = time.perf_counter() - clicked
    frame = _map_frame(page)
    frame.wait_for_function("() => (window.feature_group || []).length > 0")  # the new centre is drawn
    time.sleep(1)
    shot = Path(os.environ.get("QUARTERHOUR_SHOT_DIR", tmp_path)) / "app_after_click.png"
    page.screenshot(path=str(shot), full_page=True)
    gained = page.get_by_text("新增覆盖", exact=False).first.text_content()
    page.close()
    print(f"click to updated coverage: {seconds:.2f} s")
    assert errors == [] and console == [], (errors, console)
    assert outside == []
    assert "新增覆盖" in gained and not gained.startswith("新增覆盖 0 人")


def test_uploading_a_planners_spreadsheet(browser, app_url, tmp_path):
    """A facility list with Chinese headers replaces the sample's; a broken one is explained, not a traceback."""
    sync_api = pytest.importorskip("playwright.sync_api")
    good = tmp_path / "党群服务中心.csv"
    good.write_text(
        "名称,类别,经度,纬度\n摩纳哥城党群服务中心,党群服务中心,7.4206,43.7315\n港口邻里中心,邻里中心,7.4245,43.7360\n",
        encoding="utf-8",
    )
    bad = tmp_path / "没有坐标.csv"
    bad.write_text("名称,类别,地址\n服务中心,党群服务中心,中州中路 1 号\n", encoding="utf-8")
    errors = []
    page = browser.new_page(viewport={"width": 1600, "height": 1100})
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(app_url, wait_until="domcontentloaded")
    page.get_by_text("38,245 / 38,367").first.wait_for(timeout=60_000)
    page.get_by_text("数据", exact=True).click()
    uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text="服务设施")
    uploader.locator('input[type="file"]').set_input_files(str(good))
    facilities = page.locator('[data-testid="stMetric"]').filter(has_text="服务设施")
    sync_api.expect(facilities.locator('[data-testid="stMetricValue"]')).to_have_text("2", timeout=60_000)
    read_note = page.get_by_text("党群服务中心.csv：2 个服务设施")
    read_note.wait_for(state="attached", timeout=30_000)
    if not read_note.is_visible():  # in the "what was read" expander, closed unless opened before
        page.get_by_text("读取了什么").click()
    read_note.wait_for(timeout=30_000)
    uploader.locator('input[type="file"]').set_input_files(str(bad))
    alert = page.locator('[data-testid="stAlert"]').filter(has_text="没有坐标.csv")
    alert.first.wait_for(timeout=60_000)
    text = alert.first.text_content()
    # The page goes on with the last data that worked (replacing a file passes through "no file": the
    # sample), with the error above it; the map is still there.
    page.get_by_text("下面仍显示上一次成功读取的数据").wait_for(timeout=30_000)
    sync_api.expect(facilities.locator('[data-testid="stMetricValue"]')).to_have_text(re.compile(r"^\d+$"))
    assert _map_frame(page) is not None
    page.screenshot(path=str(Path(os.environ.get("QUARTERHOUR_SHOT_DIR", tmp_path)) / "app_bad_upload.png"))
    page.close()
    assert errors == []
    # said in the page's language (issue 25): the file, the column, what is missing, and the fix
    assert "Traceback" not in text and "缺少经度列" in text and "办法" in text and "longitude" in text, text


def test_facilities_of_another_city_keep_the_map_and_say_why(browser, app_url, tmp_path):
    """Two Luoyang centres on the Monaco sample: the map is drawn, and the message says where, how far and why."""
    far = tmp_path / "洛阳党群服务中心.csv"
    far.write_text(
        "名称,类别,经度,纬度\n洛阳老城党群服务中心,党群服务中心,112.4700,34.6830\n"
        "西工区城市书房,城市书房,112.4430,34.6650\n",
        encoding="utf-8",
    )
    errors = []
    page = browser.new_page(viewport={"width": 1600, "height": 1100})
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(app_url, wait_until="domcontentloaded")
    page.get_by_text("38,245 / 38,367").first.wait_for(timeout=60_000)
    page.get_by_text("数据", exact=True).click()
    uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text="服务设施")
    uploader.locator('input[type="file"]').set_input_files(str(far))
    alert = page.locator('[data-testid="stAlert"]').filter(has_text="没有服务设施在路网上")
    alert.first.wait_for(timeout=90_000)
    text = alert.first.text_content()
    frame = _map_frame_showing(page, ".leaflet-control-layers")
    assert frame.locator(".leaflet-overlay-pane canvas, .leaflet-overlay-pane svg").count() >= 1
    time.sleep(1)
    shot = Path(os.environ.get("QUARTERHOUR_SHOT_DIR", tmp_path)) / "app_no_facility_on_network.png"
    page.screenshot(path=str(shot), full_page=True)
    bug = page.get_by_text("程序出错").count()
    page.close()
    assert errors == [] and bug == 0
    assert "2 个服务设施中没有一个位于道路 300 米以内" in text and "相距约 8," in text and "坐标系" in text


def test_sites_show_on_the_map_after_one_click(browser, app_url, tmp_path):
    """'计算选址' once: the siting table and the sites on the map in the same update (looked at in the shot)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    page = browser.new_page(viewport={"width": 1600, "height": 1400})
    page.goto(app_url, wait_until="domcontentloaded")
    page.get_by_text("38,245 / 38,367").first.wait_for(timeout=60_000)
    page.get_by_text("选址模型", exact=True).click()
    page.get_by_text("计算选址", exact=True).click()
    page.get_by_text("新增后覆盖居民").wait_for(timeout=90_000)
    layers = ""
    for _ in range(30):  # the map's frame is replaced once, with the sites
        try:
            layers = _map_frame(page).locator(".leaflet-control-layers").text_content(timeout=5_000)
        except sync_api.Error:
            layers = ""
        if "新增中心等时圈" in layers:
            break
        time.sleep(1)
    shot = Path(os.environ.get("QUARTERHOUR_SHOT_DIR", tmp_path)) / "app_sites_one_click.png"
    page.screenshot(path=str(shot), full_page=True)
    page.close()
    assert "新增中心等时圈" in layers  # the siting model's reach: on the map without a second interaction


_GAP: list = []  # (the session's sample, its biggest gap): run_circle of the sample once for every browser test


def biggest_gap(sample):
    """A point (lon/lat) in the sample's biggest coverage gap, where a new centre adds residents."""
    from analysis.pipeline import run_circle

    if not _GAP or _GAP[0] is not sample:
        network, facilities, demand = sample
        gap = run_circle(network, facilities, demand).gaps.to_crs(4326).geometry.iloc[0].representative_point()
        _GAP[:] = [sample, gap]
    return _GAP[1]


def add_centre(page, gap) -> str:
    """On the sample's page: add a centre at ``gap`` by its coordinates; the comparison's gains line, once saved."""
    page.get_by_text("38,245 / 38,367").first.wait_for(timeout=60_000)
    page.get_by_label("或按坐标新增（经度, 纬度，WGS-84）").fill(f"{gap.x:.6f}, {gap.y:.6f}")
    page.get_by_role("button", name="新增", exact=True).click()
    line = page.get_by_text("新增覆盖", exact=False).first
    line.wait_for(timeout=60_000)
    before = line.text_content()
    page.get_by_text("当前方案：", exact=False).first.wait_for(timeout=30_000)
    return before


def resumed_scenario(page, shots: Path, prefix: str) -> str:
    """After a reload: the scenario resumed with its centre on the map; screenshots; the gains line."""
    page.get_by_text("已继续上次的方案", exact=False).first.wait_for(timeout=60_000)
    line = page.get_by_text("新增覆盖", exact=False).first
    line.wait_for(timeout=60_000)
    after = line.text_content()
    page.get_by_text("新中心 1").first.wait_for(state="attached", timeout=30_000)
    _map_frame_showing(page, ".leaflet-control-layers")
    time.sleep(1)
    page.screenshot(path=str(shots / f"{prefix}_after_reload.png"), full_page=True)
    page.get_by_text("当前方案：", exact=False).first.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / f"{prefix}_panel_after_reload.png"))
    return after


def test_a_scenario_outlives_a_reload(browser, tmp_path, sample):
    """Add a centre, reload the page: the scenario is still there with the same figures (issue 16)."""
    gap = biggest_gap(sample)
    shots = Path(os.environ.get("QUARTERHOUR_SHOT_DIR", tmp_path))
    errors = []
    server = _serve(tmp_path / "workspace.sqlite")
    url = next(server)
    try:
        page = browser.new_page(viewport={"width": 1600, "height": 1300})
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url, wait_until="domcontentloaded")
        before = add_centre(page, gap)
        page.screenshot(path=str(shots / "workspace_before_reload.png"), full_page=True)
        page.reload(wait_until="domcontentloaded")
        after = resumed_scenario(page, shots, "workspace")
        page.close()
    finally:
        server.close()
    assert errors == []
    assert after == before and not before.startswith("新增覆盖 0 人"), (before, after)
