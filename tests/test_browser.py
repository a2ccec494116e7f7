"""The app in a real headless browser (Debian chromium): the map draws, and nothing leaves the machine."""

from __future__ import annotations

import os
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


@pytest.fixture(scope="module")
def app_url():
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
        proc.terminate()
        proc.wait(10)


def test_map_renders_offline(app_url, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    errors, outside = [], []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
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
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on(
            "request",
            lambda r: (
                outside.append(r.url)
                if not r.url.startswith(("http://127.0.0.1", "data:", "blob:", "about:"))
                else None
            ),
        )
        page.goto(app_url, wait_until="domcontentloaded")
        deadline, frame = time.time() + 120, None
        while time.time() < deadline and frame is None:
            frame = next((f for f in page.frames if f.locator(".leaflet-container").count()), None)
            time.sleep(0.5)
        assert frame is not None, "no Leaflet map appeared"
        frame.wait_for_selector(".leaflet-control-layers", timeout=30_000)
        box = frame.locator(".leaflet-container").bounding_box()
        assert box["width"] > 600 and box["height"] > 400
        # Vector layers are drawn (canvas renderer) and the layer control speaks Chinese.
        assert frame.locator(".leaflet-overlay-pane canvas, .leaflet-overlay-pane svg").count() >= 1
        assert "15 分钟等时圈" in frame.locator(".leaflet-control-layers").text_content()
        page.get_by_text("38,245 / 38,367").wait_for(timeout=30_000)
        shot = Path(os.environ.get("QUARTERHOUR_SHOT", tmp_path / "app.png"))
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert errors == []
    assert outside == []
    assert shot.stat().st_size > 50_000
