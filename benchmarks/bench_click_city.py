"""One planner on a 100k-node city, before and after, in a real browser, with the server's CPU per click (issue 29).

    python benchmarks/bench_click_city.py --city DIR --base /work/base-click-speed [--repeat 3] [--runs 1]

DIR holds the synthetic city as ``bench_cli.py --keep DIR`` writes it. The network is prepared once
into a store (``quarterhour network``, not timed) that each server gets a copy of. For each run, the
baseline's app (``--base``, a worktree) and this one are started in turn (interleaved), each driven
by Debian chromium through playwright as ``bench_app_browser.py`` does:

- **upload → map**: the prepared network is picked, the facilities uploaded, then the residents;
  timed from the residents' upload to the map and the city's headline figures;
- **clicks**: 'add', then ``--repeat`` clicks in gaps; each timed from the click to the new centre in
  the comparison and on the map; the server's CPU (``/proc/<pid>/stat``, user + system) over each click;
- **siting k = 5**: the siting tab, k = 5, '计算选址'; timed until its results show.

The load average is printed beside each row (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_app_browser import _gaps, _map_frame, _start_app

ROOT = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _start(app_root: Path, cache: Path) -> tuple[subprocess.Popen, str]:
    """The app of ``app_root`` (ours or the baseline's) on its own code, cache and workspace."""
    env = {"PYTHONPATH": str(app_root), "QUARTERHOUR_DATABASE_URL": f"sqlite:///{cache.parent / 'workspace.sqlite'}"}
    return _start_app(cache, app_root, env=env, wait_s=120)


def one_run(app_root: Path, store: Path, city: Path, spots: list, *, siting: bool = True) -> dict:
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="qh-city-"))
    shutil.copytree(store, folder / "cache")
    proc, url = _start(app_root, folder / "cache")
    out = {"clicks": [], "cpu": [], "first_map": None, "siting": None, "errors": []}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=shutil.which("chromium"), args=["--no-sandbox", "--disable-gpu", "--no-first-run"]
            )
            page = browser.new_page(viewport={"width": 1600, "height": 1100})
            page.on("pageerror", lambda e: out["errors"].append(str(e)))
            page.goto(url, wait_until="domcontentloaded")
            page.get_by_text("38,245 / 38,367").wait_for(timeout=300_000)  # the sample first
            page.get_by_text("数据", exact=True).click()
            page.get_by_text("已整理的路网", exact=False).first.click()
            page.get_by_text("选择已整理的路网").wait_for(timeout=60_000)
            page.locator('[data-testid="stSelectbox"]').filter(has_text="选择已整理的路网").click()
            page.get_by_role("option").filter(has_text="100,489").click()
            up = page.locator('[data-testid="stFileUploader"]')
            up.filter(has_text="服务设施").locator('input[type="file"]').set_input_files(
                str(city / "facilities.geojson")
            )
            time.sleep(3)
            started = time.perf_counter()
            up.filter(has_text="居民").locator('input[type="file"]').set_input_files(str(city / "demand.gpkg"))
            page.get_by_text("7,473,495", exact=False).first.wait_for(timeout=600_000)
            _map_frame(page).wait_for_selector(".leaflet-control-layers", timeout=600_000)
            out["first_map"] = time.perf_counter() - started
            page.get_by_text("新增 add").click()
            page.get_by_text("点击地图即在该处新增一个中心。").wait_for(timeout=120_000)
            time.sleep(2)
            for n, spot in enumerate(spots, start=1):
                frame = _map_frame(page)
                frame.wait_for_function("() => window.map !== undefined")
                frame.evaluate(f"() => {{ window.map.setView([{spot.y}, {spot.x}], 16, {{animate: false}}); }}")
                time.sleep(1.0)
                xy = frame.evaluate(f"() => window.map.latLngToContainerPoint([{spot.y}, {spot.x}])")
                box = frame.locator(".leaflet-container").bounding_box()
                cpu0, clicked = _cpu(proc.pid), time.perf_counter()
                page.mouse.click(box["x"] + xy["x"], box["y"] + xy["y"])
                page.get_by_text(f"新中心 {n}").first.wait_for(state="attached", timeout=300_000)
                _map_frame(page).wait_for_function(
                    "() => (window.feature_group || []).length > 0 && "
                    "Object.keys(window.feature_group.at(-1)._layers || {}).length > 0",
                    timeout=300_000,
                )
                out["clicks"].append(time.perf_counter() - clicked)
                time.sleep(1.0)  # the part's last messages (the autosave) are in
                out["cpu"].append(_cpu(proc.pid) - cpu0)
            if not siting:
                browser.close()
                return out
            page.get_by_text("选址模型", exact=True).click()
            field = page.get_by_label("新增中心数 k")
            field.fill("5")
            field.press("Enter")
            time.sleep(2.0)
            started = time.perf_counter()
            page.get_by_text("计算选址", exact=True).click()
            page.get_by_text("新增后覆盖居民").first.wait_for(timeout=600_000)
            out["siting"] = time.perf_counter() - started
            if page.get_by_text("程序出错", exact=False).count():
                out["errors"].append("the app's own error message is on the page")
            browser.close()
    except Exception as exc:  # a benchmark notes a failure and goes on to the other app
        out["errors"].append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    finally:
        out["load"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
        proc.terminate()
        proc.wait(60)
        shutil.rmtree(folder, ignore_errors=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--city", type=Path, required=True)
    ap.add_argument("--base", type=Path, required=True, help="a worktree of the baseline")
    ap.add_argument("--repeat", type=int, default=3, help="clicks per run")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--no-siting", action="store_true", help="leave the siting step out")
    a = ap.parse_args()
    store = Path(tempfile.mkdtemp(prefix="qh-city-store-"))
    env = {**os.environ, "QUARTERHOUR_CACHE": str(store)}
    cmd = [sys.executable, "-m", "quarterhour.cli", "network", str(a.city / "network.graphml")]
    subprocess.run(cmd, check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    spots = _gaps(a.city, a.repeat)
    print(
        "| app | upload → map s | click s (median of each) | server CPU per click s (median) | siting k = 5 s "
        "| errors | load (1, 5, 15 min) |"
    )
    print("|---|---|---|---|---|---|---|")
    try:
        for _ in range(a.runs):
            for name, root in (("baseline", a.base.resolve()), ("this branch", ROOT)):
                r = one_run(root, store, a.city, spots, siting=not a.no_siting)
                med = lambda v: f"{statistics.median(v):.2f}" if v else "—"  # noqa: E731
                print(
                    f"| {name} | {r['first_map'] or float('nan'):.1f} | {med(r['clicks'])} "
                    f"({', '.join(f'{c:.2f}' for c in r['clicks'])}) | **{med(r['cpu'])}** "
                    f"({', '.join(f'{c:.2f}' for c in r['cpu'])}) | {r['siting'] or float('nan'):.1f} "
                    f"| {len(r['errors'])} | {r['load']} |",
                    flush=True,
                )
                for e in r["errors"]:
                    print(f"    error ({name}): {e}", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(store, ignore_errors=True)


if __name__ == "__main__":
    main()
