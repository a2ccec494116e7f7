"""Several planners at once on one app server, each in a real browser (issue 29 item 3).

    python benchmarks/bench_load.py --base /work/base-i29-click [--sessions 1 4 8] [--out FILE]

For each N and each app (the baseline's worktree ``--base`` and this one, interleaved: the baseline
first, then ours, for every N), the script starts a real server (``streamlit run app.py``, its own
SQLite workspace and store folder, so the autosave runs as it does for a planner), opens the page
once to warm the server's caches (not timed), then drives N headless Debian chromium browsers (one
browser process per planner, playwright's async API) through the same steps at once, on the
bundled sample:

1. **first map**: open the page; until the headline's figures and the map's layer control show;
2. **clicks**: choose 'add', click in a gap, click in another gap (a centre each), choose 'move',
   click near a facility, click in a third gap; each click timed until the scenario panel shows
   the change (the new centre's row, or the '迁移' row) and the map part's timing line has been
   written again (it is written after the comparison);
3. **siting**: open the siting tab, set k (3, 4 or 5 by planner), press '计算选址'; until the
   siting results show.

Every phase waits for all planners (they act at once, as in a review meeting), so the server's CPU
is read from ``/proc/<pid>/stat`` between phases: **CPU per click** is the server's CPU over the
four click phases divided by the clicks made (4 × N); the mode switches are apart. Peak memory is
the server's ``VmHWM``. Errors: page errors, the app's own error message, a step that timed out.

The machine is shared: the load average (``/proc/loadavg``) is printed beside each row.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
TIMEOUT_MS = 300_000
HEADLINE = "38,245 / 38,367"  # the sample's headline: the page's first figures
TICK = os.sysconf("SC_CLK_TCK")


# the server -------------------------------------------------------------------------------------------------------
@dataclass
class Server:
    """A running app server: its process, address and folder (workspace, store)."""

    proc: subprocess.Popen
    url: str
    folder: Path

    def cpu(self) -> float:
        """The server process's CPU seconds so far (user + system, all its threads)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK

    def peak_mib(self) -> float:
        """The server process's peak resident memory (``VmHWM``), MiB."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        shutil.rmtree(self.folder, ignore_errors=True)


def start_server(app_root: Path) -> Server:
    """``streamlit run app.py`` of ``app_root`` on a free port, with its own workspace and store folder."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    folder = Path(tempfile.mkdtemp(prefix="qh-load-"))
    env = {
        **os.environ,
        "PYTHONPATH": str(app_root),
        "QUARTERHOUR_DATABASE_URL": f"sqlite:///{folder / 'workspace.sqlite'}",
        "QUARTERHOUR_CACHE": str(folder / "cache"),
    }
    cmd = [sys.executable, "-m", "streamlit", "run", str(app_root / "app.py"), "--server.headless", "true"]
    cmd += ["--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    proc = subprocess.Popen(cmd, env=env, cwd=app_root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(240):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
            return Server(proc, f"http://127.0.0.1:{port}/", folder)
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    raise SystemExit(f"the app of {app_root} never answered on its port")


# one planner ------------------------------------------------------------------------------------------------------
@dataclass
class Planner:
    """One planner's browser and what was measured of it."""

    n: int
    page: object = None
    browser: object = None
    first_map: float | None = None
    clicks: list[float] = field(default_factory=list)
    siting: float | None = None
    errors: list[str] = field(default_factory=list)
    failed: bool = False

    async def step(self, what: str, coro) -> None:
        """Run one step; a failure is noted and ends this planner's run (the others go on)."""
        if self.failed:
            coro.close()
            return
        try:
            await coro
        except Exception as exc:  # a benchmark notes every failure and goes on
            self.failed = True
            self.errors.append(f"{what}: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}")


async def map_frame(page):
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        for frame in page.frames:
            try:
                if await frame.locator(".leaflet-container").count():
                    return frame
            except Exception:  # the frame was replaced while we looked: look again
                continue
        await asyncio.sleep(0.1)
    raise TimeoutError("no Leaflet map appeared")


async def timing_line(page) -> str:
    """The map part's last line (written after the comparison): its text changes with every run of the part."""
    line = page.get_by_text("本次更新用时", exact=False)
    return (await line.first.text_content()) if await line.count() else ""


async def open_page(pl: Planner, pw, url: str) -> None:
    pl.browser = await pw.chromium.launch(
        executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-quic"]
    )
    pl.page = page = await pl.browser.new_page(viewport={"width": 1600, "height": 1200})
    page.on("pageerror", lambda e: pl.errors.append(f"page error: {e}"))
    started = time.perf_counter()
    await page.goto(url, wait_until="domcontentloaded")
    await page.get_by_text(HEADLINE).first.wait_for(timeout=TIMEOUT_MS)
    frame = await map_frame(page)
    await frame.wait_for_selector(".leaflet-control-layers", timeout=TIMEOUT_MS)
    await page.get_by_text("本次更新用时", exact=False).first.wait_for(timeout=TIMEOUT_MS)
    pl.first_map = time.perf_counter() - started


async def choose_mode(pl: Planner, label: str, help_text: str) -> None:
    await pl.page.get_by_text(label, exact=True).click()
    await pl.page.get_by_text(help_text).first.wait_for(timeout=TIMEOUT_MS)


async def click_map(pl: Planner, lon: float, lat: float, *, row: str | None, note: str | None = None) -> None:
    """Click the map at (lon, lat); wait for the scenario panel to show it; the time is one click's."""
    page = pl.page
    frame = await map_frame(page)
    await frame.wait_for_function("() => window.map !== undefined", timeout=TIMEOUT_MS)
    await frame.evaluate(f"() => {{ window.map.setView([{lat}, {lon}], 16, {{animate: false}}); }}")
    await asyncio.sleep(0.5)
    xy = await frame.evaluate(f"() => window.map.latLngToContainerPoint([{lat}, {lon}])")
    box = await frame.locator(".leaflet-container").bounding_box()
    before = await timing_line(page)
    rows = await page.get_by_text(row, exact=True).count() if row else 0
    clicked = time.perf_counter()
    await page.mouse.click(box["x"] + xy["x"], box["y"] + xy["y"])
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        done = await timing_line(page) not in ("", before)
        if row:
            done = done and await page.get_by_text(row, exact=True).count() > rows
        if note:
            done = done and await page.get_by_text(note, exact=False).count() > 0
        if done:
            pl.clicks.append(time.perf_counter() - clicked)
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"the click at {lon:.5f}, {lat:.5f} was not shown")


async def run_siting(pl: Planner, k: int) -> None:
    page = pl.page
    await page.get_by_text("选址模型", exact=True).click()
    field_k = page.get_by_label("新增中心数 k")
    await field_k.fill(str(k))
    await field_k.press("Enter")
    await asyncio.sleep(1.0)  # the number is sent (a rerun of the siting part, or of the page)
    started = time.perf_counter()
    await page.get_by_text("计算选址", exact=True).click()
    await page.get_by_text("新增后覆盖居民").first.wait_for(timeout=TIMEOUT_MS)
    pl.siting = time.perf_counter() - started


async def close(pl: Planner) -> None:
    if pl.page is not None and await pl.page.get_by_text("程序出错", exact=False).count():
        pl.errors.append("the app's own error message is on the page")
    if pl.browser is not None:
        await pl.browser.close()


# a run: one server, N planners ------------------------------------------------------------------------------------
def spots() -> tuple[list, list]:
    """The sample's gaps (lon, lat of a point inside each) and facilities (lon, lat), from the CLI's pipeline."""
    sys.path.insert(0, str(ROOT))
    from analysis.pipeline import run_circle
    from geo.io import load_sample

    network, facilities, demand = load_sample()
    gaps = run_circle(network, facilities, demand).gaps.to_crs(4326).geometry
    places = facilities.to_crs(4326).geometry
    return [(p.x, p.y) for p in (g.representative_point() for g in gaps)], [(p.x, p.y) for p in places]


async def one_run(app_root: Path, n: int, gaps: list, places: list) -> dict:
    from playwright.async_api import async_playwright

    server = start_server(app_root)
    try:
        async with async_playwright() as pw:
            warm = Planner(-1)
            await warm.step("warm-up", open_page(warm, pw, server.url))
            await close(warm)
            planners = [Planner(i) for i in range(n)]
            cpu = {"start": server.cpu()}

            async def phase(name: str, make) -> None:
                await asyncio.gather(*(pl.step(name, make(pl)) for pl in planners))
                cpu[name] = server.cpu()

            def gap(pl: Planner, j: int) -> tuple[float, float]:
                return gaps[(pl.n + j) % len(gaps)]

            def near_facility(pl: Planner) -> tuple[float, float]:
                lon, lat = places[pl.n % len(places)]
                return lon, lat + 40 / 111_000  # 40 m north: a click on the map, within the 100 m snap

            await phase("open", lambda pl: open_page(pl, pw, server.url))
            await phase("mode add", lambda pl: choose_mode(pl, "新增 add", "点击地图即在该处新增一个中心。"))
            await phase("add 1", lambda pl: click_map(pl, *gap(pl, 0), row="新中心 1"))
            await phase("add 2", lambda pl: click_map(pl, *gap(pl, 1), row="新中心 2"))
            await phase("mode move", lambda pl: choose_mode(pl, "迁移 move", "先点击要迁移的设施，再点击它的新位置。"))
            await phase("pick", lambda pl: click_map(pl, *near_facility(pl), row=None, note="已选中"))
            await phase("move", lambda pl: click_map(pl, *gap(pl, 2), row="迁移"))
            await phase("siting", lambda pl: run_siting(pl, 3 + pl.n % 3))
            for pl in planners:
                await close(pl)
    finally:
        peak = server.peak_mib()
        server.stop()
    clicks = [c for pl in planners for c in pl.clicks]
    made = len(clicks)
    click_cpu = sum(cpu[b] - cpu[a] for a, b in (("mode add", "add 1"), ("add 1", "add 2"), ("mode move", "pick"),
                                               ("pick", "move")))  # fmt: skip
    sitings = [pl.siting for pl in planners if pl.siting is not None]
    return {
        "n": n,
        "first_map": [pl.first_map for pl in planners if pl.first_map is not None],
        "clicks": clicks,
        "siting": sitings,
        "cpu_per_click": click_cpu / made if made else float("nan"),
        "cpu_open": (cpu["open"] - cpu["start"]) / n,
        "cpu_mode_switch": (cpu["mode add"] - cpu["open"] + cpu["mode move"] - cpu["add 2"]) / (2 * n),
        "cpu_siting": (cpu["siting"] - cpu["move"]) / n,
        "peak_mib": peak,
        "errors": [e for pl in planners for e in pl.errors],
        "load": Path("/proc/loadavg").read_text().split()[:3],
    }


def stats(values: list[float]) -> str:
    if not values:
        return "—"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered):.2f} / {p95:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", type=Path, required=True, help="a worktree of the baseline (e.g. main at cdc0462)")
    ap.add_argument("--sessions", type=int, nargs="+", default=[1, 4, 8])
    ap.add_argument("--out", type=Path, help="also write the rows as JSON here")
    a = ap.parse_args()
    gaps, places = spots()
    rows = []
    print("| app | planners | first map s (median / p95) | click → comparison s (median / p95) | siting s "
          "(median / p95) | server CPU per click s | CPU per page open / mode switch / siting s | server peak MiB "
          "| errors | load (1, 5, 15 min) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in a.sessions:
        for name, root in (("baseline", a.base.resolve()), ("this branch", ROOT)):
            row = asyncio.run(one_run(root, n, gaps, places))
            row["app"] = name
            rows.append(row)
            print(
                f"| {name} | {n} | {stats(row['first_map'])} | {stats(row['clicks'])} | {stats(row['siting'])} | "
                f"**{row['cpu_per_click']:.2f}** | {row['cpu_open']:.2f} / {row['cpu_mode_switch']:.2f} / "
                f"{row['cpu_siting']:.2f} | {row['peak_mib']:.0f} | {len(row['errors'])} | "
                f"{' '.join(row['load'])} |",
                flush=True,
            )
            for e in row["errors"]:
                print(f"    error ({name}, N={n}): {e}", file=sys.stderr, flush=True)
    if a.out:
        a.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
