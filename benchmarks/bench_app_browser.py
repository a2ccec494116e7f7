"""The app at city scale as a planner sees it, in a real browser (issue 13 item 6).

    python benchmarks/bench_app_browser.py --city DIR [--repeat 3]

DIR holds the synthetic 100k city as ``bench_cli.py --keep DIR`` writes it
(network.graphml, facilities.geojson, demand.gpkg). The script prepares the
network into a fresh store (``quarterhour network``, not timed), starts the app
(``streamlit run app.py``) on that store, and drives Debian chromium through
playwright:

- **first map**: the planner picks the prepared network and uploads the
  facilities and the residents; timed from the residents' upload to the map
  drawn with the city's headline figures (the goal: ≤ 10 s);
- **click**: the planner chooses 'add' and clicks in a gap; timed from the
  click to the comparison showing the new centre and the centre drawn on the
  map (the goal: ≤ 1 s), ``--repeat`` times at different gaps (median quoted).

It prints the times, the requests that left the machine (none expected) and
writes screenshots next to DIR.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _start_app(
    cache: Path, root: Path = ROOT, *, env: dict | None = None, wait_s: float = 60, script: Path | None = None
) -> tuple[subprocess.Popen, str]:
    """``streamlit run`` of ``root``'s app.py (or ``script``, from ``root``) on a free port, ``cache`` its cache."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # its own workspace: a scenario an earlier run saved in the user's would be resumed and change what is timed
    fresh = {"QUARTERHOUR_CACHE": str(cache), "QUARTERHOUR_DATABASE_URL": f"sqlite:///{cache / 'workspace.sqlite'}"}
    env = {**os.environ, **fresh, **(env or {})}
    cmd = [sys.executable, "-m", "streamlit", "run", str(script or root / "app.py"), "--server.headless", "true"]
    cmd += ["--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    proc = subprocess.Popen(cmd, env=env, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(int(wait_s / 0.5)):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
            return proc, f"http://127.0.0.1:{port}/"
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    raise SystemExit(f"the app of {root} never answered on its port")


def _map_frame(page, timeout_s: float = 300):
    from playwright.sync_api import Error as PlaywrightError

    deadline = time.time() + timeout_s
    while time.time() < deadline:
        for frame in page.frames:
            try:
                if frame.locator(".leaflet-container").count():
                    return frame
            except PlaywrightError:
                continue
        time.sleep(0.1)
    raise SystemExit("no Leaflet map appeared")


def _gaps(city: Path, n: int) -> list:
    """The centres of ``n`` of the city's biggest gaps in lon/lat (a run with the CLI's answer, not timed)."""
    out = Path(tempfile.mkdtemp())
    cmd = [sys.executable, "-m", "quarterhour.cli", "run", "--network", str(city / "network.graphml")]
    cmd += ["--facilities", str(city / "facilities.geojson"), "--demand", str(city / "demand.gpkg")]
    cmd += ["--minutes", "15", "--out", str(out / "run"), "--quiet"]
    subprocess.run(cmd, check=True, cwd=ROOT, env={**os.environ})
    import geopandas as gpd

    gaps = gpd.read_file(out / "run" / "coverage.gpkg", layer="gaps").to_crs(4326)
    return [g.representative_point() for g in gaps.geometry.iloc[: n * 3 : 3]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--city", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright

    cache = Path(tempfile.mkdtemp(prefix="qh-store-"))
    os.environ["QUARTERHOUR_CACHE"] = str(cache)
    subprocess.run(
        [sys.executable, "-m", "quarterhour.cli", "network", str(a.city / "network.graphml")],
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    spots = _gaps(a.city, a.repeat)
    proc, url = _start_app(cache)
    outside, errors, clicks = [], [], []
    local = ("http://127.0.0.1", "data:", "blob:", "about:")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=shutil.which("chromium"), args=["--no-sandbox", "--disable-gpu", "--no-first-run"]
            )
            page = browser.new_page(viewport={"width": 1600, "height": 1100})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(local) else None)
            page.goto(url, wait_until="domcontentloaded")
            page.get_by_text("38,245 / 38,367").wait_for(timeout=120_000)  # the sample first
            page.get_by_text("数据", exact=True).click()
            page.get_by_text("已整理的路网", exact=False).first.click()
            page.get_by_text("选择已整理的路网").wait_for(timeout=60_000)
            page.locator('[data-testid="stSelectbox"]').filter(has_text="选择已整理的路网").click()
            page.get_by_role("option").filter(has_text="100,489").click()  # the city, not the sample
            up = page.locator('[data-testid="stFileUploader"]')
            up.filter(has_text="服务设施").locator('input[type="file"]').set_input_files(
                str(a.city / "facilities.geojson")
            )
            time.sleep(3)  # the facilities are read (the page warns that residents are missing)
            started = time.perf_counter()
            up.filter(has_text="居民").locator('input[type="file"]').set_input_files(str(a.city / "demand.gpkg"))
            try:
                page.get_by_text("7,473,495", exact=False).first.wait_for(timeout=300_000)
            except Exception:  # say what the page shows instead
                page.screenshot(path=str(a.city / "app_city_stuck.png"), full_page=True)
                print(page.locator("section.main").inner_text()[:3000], file=sys.stderr)
                raise
            frame = _map_frame(page)
            frame.wait_for_selector(".leaflet-control-layers", timeout=600_000)
            first_map = time.perf_counter() - started
            print(f"first map (residents uploaded -> map and figures): {first_map:.1f} s (goal <= 10 s)", flush=True)
            page.screenshot(path=str(a.city / "app_city_first_map.png"))
            page.get_by_text("新增 add").click()
            page.get_by_text("点击地图即在该处新增一个中心。").wait_for(timeout=60_000)
            for n, spot in enumerate(spots, start=1):
                frame = _map_frame(page)
                frame.wait_for_function("() => window.map !== undefined")
                frame.evaluate(f"() => {{ window.map.setView([{spot.y}, {spot.x}], 16); }}")
                time.sleep(1.0)
                xy = frame.evaluate(f"() => window.map.latLngToContainerPoint([{spot.y}, {spot.x}])")
                box = frame.locator(".leaflet-container").bounding_box()
                clicked = time.perf_counter()
                page.mouse.click(box["x"] + xy["x"], box["y"] + xy["y"])
                try:
                    page.get_by_text(f"新中心 {n}").first.wait_for(state="attached", timeout=120_000)
                except Exception:
                    page.screenshot(path=str(a.city / "app_city_click_failed.png"))
                    raise
                _map_frame(page).wait_for_function(
                    "() => (window.feature_group || []).length > 0 && "
                    "Object.keys(window.feature_group.at(-1)._layers || {}).length > 0",
                    timeout=120_000,
                )
                clicks.append(time.perf_counter() - clicked)
                time.sleep(1.0)
            page.screenshot(path=str(a.city / "app_city_after_clicks.png"))
            browser.close()
    finally:
        proc.terminate()
        proc.wait(60)
        shutil.rmtree(cache, ignore_errors=True)
    print(
        f"click -> new centre in the comparison and on the map: median {statistics.median(clicks):.2f} s "
        f"of {', '.join(f'{c:.2f}' for c in clicks)} (goal <= 1 s)"
    )
    print(f"page errors: {errors or 'none'}; requests leaving the machine: {outside or 'none'}")


if __name__ == "__main__":
    main()
