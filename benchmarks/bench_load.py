"""Several planners at once on the app, each in a real browser, on one process or several (issue 29 item 3).

    python benchmarks/bench_load.py --quick                         # sample, N = 1, 4; 1 and 2 processes (~5 min)
    python benchmarks/bench_load.py --city /tmp/city100k [--base /work/base-x] [--out rows.json]   # the full run
    python benchmarks/bench_load.py --sessions 1 4 8 16 --workers 1 2 --city-sessions 1 4 --city DIR

Every run starts the app as it is deployed: ``quarterhour serve --workers W`` (the real nginx of the
Debian package in front of W ``streamlit run app.py`` processes, sticky sessions by cookie), on its own
SQLite workspace (``--postgres``: a throwaway PostgreSQL cluster, one fresh database per run) and its
own store folder, so the autosave runs as it does for a planner. It opens the page once per process
(not timed; each warm page stays open until every process has one, so nginx sends them to different
processes), then drives N planners at once, each in its own context (own cookies, own session) of ONE
headless Debian chromium (lighter than N browsers: one browser process, a renderer per page), through:

1. **first map**: the sample: open the page, until the headline's figures, the map's layer control
   and the map part's timing line show. The city (``--city DIR`` as ``bench_cli.py --keep DIR`` writes
   it; its network prepared into the run's store, not timed): open the page, pick the prepared
   network, upload the facilities, then the residents; timed from the residents' upload to the
   city's headline figures and the map;
2. **clicks**: choose 'add', click in a gap, click in another gap (a centre each), choose 'move',
   click near a facility, click in a third gap; each click timed until the scenario panel shows the
   change (the new centre's row, the '已选中' note, or the '迁移' row) and the map part's timing line
   has been written again (it is written after the comparison);
3. **siting**: open the siting tab, set k (3, 4 or 5 by planner), press '计算选址'; until the results show.

Every phase waits for all planners (they act at once, as in a review meeting). Measured:

- times (median and p95, nearest rank) of the first map, the clicks, the siting;
- **server CPU per click**: the app processes' user + system CPU (psutil, summed over the W
  processes) over the four click phases ÷ clicks made; page opens and siting apart, per planner;
- **browser CPU per click**: the same for the benchmark's chromium processes (browser, renderers, GPU; psutil),
  and the **bytes received per click**: what the page's websocket received from the click until it was shown;
- **peak memory per process** (``VmHWM`` of each Streamlit process) and **memory per added
  session**: the processes' resident memory with every planner's first map shown, less the same
  after the warm pages (sample; the warm pages closed), ÷ N; and across rows, (RSS at N − RSS at
  1) ÷ (N − 1) for the same data, app and processes;
- **errors**: a planner's session fails on a page error, a websocket error, the app's own error
  message (or a Streamlit exception box), or a step that timed out (``--timeout``, default 600 s
  per step); the run goes on with the others, and every failure is printed. Websockets closed while
  the page was open (reconnects) are counted apart;
- which process each planner's page came from (the ``X-Quarterhour-Process`` header);
- the load average before and after each run (``/proc/loadavg``; the machine may be shared) and the
  run's wall time.

With ``--base DIR`` (a worktree of the baseline) every row is run for the baseline first and then for
this worktree, interleaved. The script prints a ready markdown table (``--out`` also writes the rows
as JSON) and the whole run's time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SAMPLE_HEADLINE = "38,245 / 38,367"  # the sample's headline: the page's first figures
CITY_HEADLINE = "7,473,495"  # the synthetic 100k city's residents, in its headline
CITY_NETWORK = "100,489"  # the city's prepared network, as the store's list names it
MIB = 1024 * 1024
APP_ERROR = "程序出错"
SHOTS: Path | None = None  # --shots: a screenshot of every failed step goes here


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# the app: quarterhour serve ---------------------------------------------------------------------------------------
@dataclass
class Farm:
    """``quarterhour serve --workers W``: its process, nginx's address, the Streamlit processes, the run folder."""

    proc: subprocess.Popen
    url: str
    folder: Path
    workers: list[psutil.Process]
    said: list[str]

    def cpu(self) -> float:
        """The app processes' CPU seconds so far (user + system, all their threads), summed."""
        total = 0.0
        for w in self.workers:
            with contextlib.suppress(psutil.Error):
                t = w.cpu_times()
                total += t.user + t.system
        return total

    def rss(self) -> list[float]:
        """Each app process's resident memory now, MiB."""
        out = []
        for w in self.workers:
            try:
                out.append(w.memory_info().rss / MIB)
            except psutil.Error:
                out.append(float("nan"))
        return out

    def peaks(self) -> list[float]:
        """Each app process's peak resident memory (``VmHWM``), MiB."""
        out = []
        for w in self.workers:
            try:
                lines = Path(f"/proc/{w.pid}/status").read_text().splitlines()
                out.append(next(int(x.split()[1]) / 1024 for x in lines if x.startswith("VmHWM:")))
            except (OSError, StopIteration):
                out.append(float("nan"))
        return out

    def alive(self) -> bool:
        """Whether every app process still runs (none died during the run)."""
        return all(w.is_running() for w in self.workers)

    def stop(self) -> None:
        """SIGTERM to serve (it stops nginx and every process and waits for them); its folder removed."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        for w in self.workers:  # serve waits for them; should one be left, end it (our own children only)
            with contextlib.suppress(psutil.Error):
                w.kill()
        shutil.rmtree(self.folder, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_farm(app_root: Path, workers: int, db: str, store: Path | None, folder: Path) -> Farm:
    """``quarterhour serve --workers`` of ``app_root`` on a free port; returns once it says it is serving."""
    port = free_port()
    store = store if store is not None else folder / "store"
    cmd = [sys.executable, "-m", "quarterhour.cli", "serve", "--workers", str(workers), "--port", str(port)]
    cmd += ["--db", db, "--store", str(store), "--run-dir", str(folder / "run")]
    env = {**os.environ, "PYTHONPATH": str(app_root)}
    proc = subprocess.Popen(cmd, env=env, cwd=app_root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    said: list[str] = []
    ready = threading.Event()

    def read() -> None:
        for line in proc.stdout:
            said.append(line)
            if line.startswith("serving on"):
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + 300
    while not ready.wait(0.5):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise RuntimeError(f"serve of {app_root} did not start: {''.join(said)[-600:]}")
    apps = [c for c in psutil.Process(proc.pid).children(recursive=True) if "streamlit" in " ".join(c.cmdline())]
    if len(apps) != workers:
        raise RuntimeError(f"serve started {len(apps)} Streamlit processes, not {workers}")
    return Farm(proc, f"http://127.0.0.1:{port}/", folder, apps, said)


def prepare_store(app_root: Path, city: Path, store: Path) -> None:
    """The city's network into ``store`` with ``app_root``'s ``quarterhour network`` (once per app; not timed)."""
    if (store / ".load-bench-ready").exists():
        return
    env = {**os.environ, "PYTHONPATH": str(app_root), "QUARTERHOUR_CACHE": str(store)}
    cmd = [sys.executable, "-m", "quarterhour.cli", "network", str(city / "network.graphml")]
    subprocess.run(cmd, check=True, cwd=app_root, env=env, stdout=subprocess.DEVNULL)
    (store / ".load-bench-ready").touch()


def chromium_cpu(by_kind: dict[str, float] | None = None) -> float:
    """The CPU seconds (user + system) of the chromium processes this benchmark started (browser, renderers, GPU).

    ``by_kind``, when given, receives the same split by process kind (``renderer``, ``gpu-process``, ``browser``...).
    """
    total = 0.0
    for proc in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if "chrom" in proc.name().lower():
                t = proc.cpu_times()
                total += t.user + t.system
                if by_kind is not None:
                    kind = next((a[7:] for a in proc.cmdline() if a.startswith("--type=")), "browser")
                    by_kind[kind] = by_kind.get(kind, 0.0) + t.user + t.system
    return total


# one planner ------------------------------------------------------------------------------------------------------
@dataclass
class Planner:
    """One planner's browser context and page, and what was measured of them."""

    n: int
    timeout_s: float
    context: object = None
    page: object = None
    process: str = "?"
    first_map: float | None = None
    clicks: list[float] = field(default_factory=list)
    siting: float | None = None
    page_errors: list[str] = field(default_factory=list)
    ws_errors: list[str] = field(default_factory=list)
    ws_closed: int = 0
    timeouts: list[str] = field(default_factory=list)
    step_errors: list[str] = field(default_factory=list)
    app_error: bool = False
    ws_bytes: int = 0  # bytes the server sent this page over its websockets so far
    click_bytes: list[int] = field(default_factory=list)  # bytes received per click (click → shown)
    runs_done: int = 0  # the server's "script finished" messages to this page so far (page and part runs)
    closing: bool = False  # its page is being closed: a websocket closing now is no reconnect
    stopped: bool = False  # a step failed: the planner's later steps are skipped

    @property
    def failed(self) -> bool:
        """The session failed: a step failed or timed out, a page or websocket error, the app's error message."""
        return bool(self.stopped or self.page_errors or self.ws_errors or self.app_error)

    async def step(self, what: str, coro) -> None:
        """Run one step; a failure is noted and ends this planner's run (the others go on)."""
        if self.stopped:
            coro.close()
            return
        try:
            await asyncio.wait_for(coro, self.timeout_s + 120)  # the steps time out themselves; a safety net
        except Exception as exc:  # a benchmark notes every failure and goes on
            self.stopped = True
            text = f"{what}: {type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:200]}"
            is_timeout = isinstance(exc, TimeoutError | asyncio.TimeoutError) or "Timeout" in type(exc).__name__
            (self.timeouts if is_timeout else self.step_errors).append(text)
            if SHOTS is not None and self.page is not None:  # what the planner saw when the step failed
                with contextlib.suppress(Exception):
                    SHOTS.mkdir(parents=True, exist_ok=True)
                    name = f"{time.strftime('%H%M%S')}-planner{self.n}-{what.replace(' ', '_')}.png"
                    await self.page.screenshot(path=str(SHOTS / name), full_page=True, timeout=60_000)


async def map_frame(pl: Planner):
    deadline = time.monotonic() + pl.timeout_s
    while time.monotonic() < deadline:
        for frame in pl.page.frames:
            try:
                if await frame.locator(".leaflet-container").count():
                    return frame
            except Exception:  # the frame was replaced while we looked: look again
                continue
        await asyncio.sleep(0.2)
    raise TimeoutError("no Leaflet map appeared")


async def timing_line(page) -> str:
    """The map part's last line (written after the comparison): its text changes with every run of the part."""
    line = page.get_by_text("本次更新用时", exact=False)
    return (await line.first.text_content()) if await line.count() else ""


async def new_page(pl: Planner, browser) -> None:
    pl.context = await browser.new_context(viewport={"width": 1600, "height": 1200})
    pl.context.set_default_timeout(pl.timeout_s * 1000)
    pl.page = page = await pl.context.new_page()
    page.on("pageerror", lambda e: pl.page_errors.append(f"page error: {str(e)[:200]}"))

    def on_socket(ws) -> None:
        ws.on("socketerror", lambda e: pl.ws_errors.append(f"websocket error: {str(e)[:200]}"))

        def received(payload) -> None:
            pl.ws_bytes += len(payload)
            if isinstance(payload, bytes) and finished(payload):
                pl.runs_done += 1

        ws.on("framereceived", received)

        def closed(_ws) -> None:
            if not pl.page.is_closed() and not pl.closing:
                pl.ws_closed += 1

        ws.on("close", closed)

    page.on("websocket", on_socket)


def finished(payload: bytes) -> bool:
    """Whether a websocket message from the server is its "script finished" (a run of the page or of a part)."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    msg = ForwardMsg()
    try:
        msg.ParseFromString(payload)
    except Exception:  # not a ForwardMsg
        return False
    return msg.WhichOneof("type") == "script_finished"


async def open_sample(pl: Planner, browser, url: str) -> None:
    await new_page(pl, browser)
    started = time.perf_counter()
    response = await pl.page.goto(url, wait_until="domcontentloaded")
    pl.process = response.headers.get("x-quarterhour-process", "?") if response else "?"
    await shown(pl, SAMPLE_HEADLINE)
    frame = await map_frame(pl)
    await frame.wait_for_selector(".leaflet-control-layers")
    await pl.page.get_by_text("本次更新用时", exact=False).first.wait_for()
    pl.first_map = time.perf_counter() - started


async def open_city(pl: Planner, browser, url: str, city: Path) -> None:
    """The sample's page, then the city: the prepared network picked; facilities, units and residents uploaded."""
    await new_page(pl, browser)
    page = pl.page
    response = await page.goto(url, wait_until="domcontentloaded")
    pl.process = response.headers.get("x-quarterhour-process", "?") if response else "?"
    await page.get_by_text(SAMPLE_HEADLINE).first.wait_for()
    await page.get_by_text("数据", exact=True).click()
    await page.get_by_text("已整理的路网", exact=False).first.click()
    await page.get_by_text("选择已整理的路网").wait_for()
    await page.locator('[data-testid="stSelectbox"]').filter(has_text="选择已整理的路网").click()
    await page.get_by_role("option").filter(has_text=CITY_NETWORK).click()
    up = page.locator('[data-testid="stFileUploader"]')
    await up.filter(has_text="服务设施").locator('input[type="file"]').set_input_files(str(city / "facilities.geojson"))
    # the facilities are read: their file shows in its uploader (an upload sent during an unfinished run of the
    # page can be lost, and the residents' upload would then run the city with the sample's facilities)
    await up.filter(has_text="服务设施").get_by_text("facilities.geojson").wait_for()
    # the city's own review units (the sample's lie in Monaco: the levels and the siting would mean nothing)
    await page.get_by_text("上传边界文件", exact=False).first.click()
    units = up.filter(has_text="含 level、code、name")
    await units.locator('input[type="file"]').set_input_files(str(city / "boundaries.gpkg"))
    await units.get_by_text("boundaries.gpkg").wait_for()
    await asyncio.sleep(3)
    started = time.perf_counter()
    await up.filter(has_text="居民").locator('input[type="file"]').set_input_files(str(city / "demand.gpkg"))
    await shown(pl, CITY_HEADLINE)
    frame = await map_frame(pl)
    await frame.wait_for_selector(".leaflet-control-layers")
    pl.first_map = time.perf_counter() - started


async def shown(pl: Planner, text: str, *, exact: bool = False) -> None:
    """Wait until ``text`` shows; the app's own error message (or a Streamlit exception box) ends the wait at once."""
    page = pl.page
    wanted = page.get_by_text(text, exact=exact).first
    bad = page.get_by_text(APP_ERROR, exact=False).or_(page.locator('[data-testid="stException"]')).first
    await wanted.or_(bad).wait_for()
    if await bad.count() and not await wanted.count():
        pl.app_error = True
        said = (await bad.text_content() or "").strip()
        raise RuntimeError(f"the app's error message: {said[:200]}")


async def choose_mode(pl: Planner, label: str, help_text: str) -> None:
    await pl.page.get_by_text(label, exact=True).click()
    await pl.page.get_by_text(help_text).first.wait_for()


async def click_map(pl: Planner, lon: float, lat: float, *, row: str | None, note: str | None = None) -> None:
    """Click the map at (lon, lat); wait for the scenario panel to show it; the time is one click's."""
    page = pl.page
    frame = await map_frame(pl)
    await frame.wait_for_function("() => window.map !== undefined")
    await frame.evaluate(f"() => {{ window.map.setView([{lat}, {lon}], 16, {{animate: false}}); }}")
    await asyncio.sleep(0.5)
    xy = await frame.evaluate(f"() => window.map.latLngToContainerPoint([{lat}, {lon}])")
    box = await frame.locator(".leaflet-container").bounding_box()
    before = await timing_line(page)
    rows = await page.get_by_text(row, exact=True).count() if row else 0
    sent, runs = pl.ws_bytes, pl.runs_done
    clicked = time.perf_counter()
    await page.mouse.click(box["x"] + xy["x"], box["y"] + xy["y"])
    deadline = time.monotonic() + pl.timeout_s
    while time.monotonic() < deadline:
        # the timing line is new, or the run the click made has finished: two clicks' lines can read the same
        # ('0.19 秒（方案计算 0.14 秒）' twice: the wait then never ended; a run of 2026-12-08)
        line = await timing_line(page)
        done = line not in ("", before) or (line != "" and pl.runs_done > runs)
        if row:
            done = done and await page.get_by_text(row, exact=True).count() > rows
        if note:
            done = done and await page.get_by_text(note, exact=False).count() > 0
        if done:
            pl.clicks.append(time.perf_counter() - clicked)
            pl.click_bytes.append(pl.ws_bytes - sent)
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"the click at {lon:.5f}, {lat:.5f} was not shown within {pl.timeout_s:.0f} s")


async def run_siting(pl: Planner, k: int) -> None:
    page = pl.page
    await page.get_by_text("选址模型", exact=True).click()
    field_k = page.get_by_label("新增中心数 k")
    await field_k.fill(str(k))
    await field_k.press("Enter")
    await asyncio.sleep(1.0)  # the number is sent (a rerun of the siting part, or of the page)
    started = time.perf_counter()
    await page.get_by_text("计算选址", exact=True).click()
    await shown(pl, "新增后覆盖居民")
    pl.siting = time.perf_counter() - started


async def close(pl: Planner) -> None:
    pl.closing = True
    if pl.page is not None and not pl.page.is_closed():
        with contextlib.suppress(Exception):
            if await pl.page.get_by_text(APP_ERROR, exact=False).count():
                pl.app_error = True
            if await pl.page.locator('[data-testid="stException"]').count():
                pl.app_error = True
    if pl.context is not None:
        with contextlib.suppress(Exception):
            await pl.context.close()


# a run: one farm, N planners --------------------------------------------------------------------------------------
def sample_spots() -> tuple[list, list]:
    """The sample's gaps (lon, lat of a point inside each) and facilities (lon, lat), from the CLI's pipeline."""
    sys.path.insert(0, str(ROOT))
    from analysis.pipeline import run_circle
    from geo.io import load_sample

    network, facilities, demand = load_sample()
    gaps = run_circle(network, facilities, demand).gaps.geometry
    places = facilities.to_crs(4326).geometry
    return spread(gaps, 64), [(p.x, p.y) for p in places]


def spread(gaps, count: int) -> list[tuple[float, float]]:
    """``count`` points inside the gaps (metres; 30 m from their edges), the gaps taken in turn, lon/lat.

    The sample has 4 gaps: planners clicking the same few points would make the same changes, and a
    process's caches (``scenario``, ``siting``: keyed by the changes) would answer the later ones.
    Distinct points give every planner its own changes, as in a review meeting.
    """
    import geopandas as gpd
    import numpy as np
    import shapely

    rng = np.random.default_rng(29)
    inner = [g.buffer(-30) for g in gaps]
    inner = [g if not g.is_empty else g0.representative_point().buffer(1) for g, g0 in zip(inner, gaps, strict=True)]
    per = -(-count // len(inner))
    found: list[list] = []
    for poly in inner:
        x0, y0, x1, y1 = poly.bounds
        points: list = []
        for _ in range(per * 500):
            if len(points) == per:
                break
            p = shapely.Point(rng.uniform(x0, x1), rng.uniform(y0, y1))
            if poly.contains(p):
                points.append(p)
        found.append(points or [poly.representative_point()])
    turns = [p for i in range(per) for points in found for p in points[i : i + 1]][:count]
    lonlat = gpd.GeoSeries(turns, crs=gaps.crs).to_crs(4326)
    return [(p.x, p.y) for p in lonlat]


def city_spots(city: Path) -> tuple[list, list]:
    """The city's gaps (from ``quarterhour run``, once; kept beside the city) and its facilities, lon/lat."""
    import geopandas as gpd

    kept = city / "load-bench-spots.json"
    if kept.exists():
        got = json.loads(kept.read_text())
        return [tuple(g) for g in got["gaps"]], [tuple(p) for p in got["places"]]
    out = Path(tempfile.mkdtemp(prefix="qh-load-gaps-"))
    cmd = [sys.executable, "-m", "quarterhour.cli", "run", "--network", str(city / "network.graphml")]
    cmd += ["--facilities", str(city / "facilities.geojson"), "--demand", str(city / "demand.gpkg")]
    cmd += ["--minutes", "15", "--out", str(out / "run"), "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QUARTERHOUR_CACHE": str(out / "store")}
    subprocess.run(cmd, check=True, cwd=ROOT, env=env)
    gaps = gpd.read_file(out / "run" / "coverage.gpkg", layer="gaps").geometry
    area = gaps.to_crs(gaps.estimate_utm_crs()).area.to_numpy()
    gaps = gaps.iloc[area.argsort()[::-1]].to_crs(4326)  # the biggest first: a click well inside a gap
    places = gpd.read_file(city / "facilities.geojson").to_crs(4326).geometry
    got = {
        "gaps": [(p.x, p.y) for p in (g.representative_point() for g in gaps.iloc[:60])],
        "places": [(p.x, p.y) for p in places],
    }
    kept.write_text(json.dumps(got))
    shutil.rmtree(out, ignore_errors=True)
    return got["gaps"], got["places"]


async def one_run(farm: Farm, n: int, spots: tuple[list, list], city: Path | None, timeout_s: float) -> dict:
    from playwright.async_api import async_playwright

    gaps, places = spots
    cpu: dict[str, float] = {}
    browser_cpu: dict[str, float] = {"idle_per_s": float("nan")}
    kinds_before: dict[str, float] = {}
    kinds_after: dict[str, float] = {}
    rss: dict[str, list[float]] = {}
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage"],
        )
        try:
            warm = [Planner(-1 - i, timeout_s) for i in range(len(farm.workers))]
            for pl in warm:  # one after another, each kept open: nginx sends the next to another process
                await pl.step("warm-up", open_sample(pl, browser, farm.url))
            for pl in warm:
                await close(pl)
            await asyncio.sleep(2)  # the warm pages' last messages handled
            warm_errors = [e for pl in warm for e in pl.timeouts + pl.step_errors + pl.page_errors]
            planners = [Planner(i, timeout_s) for i in range(n)]
            cpu["start"], rss["warm"] = farm.cpu(), farm.rss()
            browser_cpu["start"] = chromium_cpu()

            async def phase(name: str, make) -> None:
                began = time.monotonic()
                await asyncio.gather(*(pl.step(name, make(pl)) for pl in planners))
                cpu[name] = farm.cpu()
                browser_cpu[name] = chromium_cpu()
                failed = sum(pl.stopped for pl in planners)
                print(f"    {name}: {time.monotonic() - began:.0f} s, {failed} failed, load {load()}", file=sys.stderr)

            def gap(pl: Planner, j: int) -> tuple[float, float]:
                return gaps[(3 * pl.n + j) % len(gaps)]

            def near_facility(pl: Planner) -> tuple[float, float]:
                lon, lat = places[(7 * pl.n) % len(places)]
                return lon, lat + 40 / 111_000  # 40 m north: a click on the map, within the 100 m snap

            if city is None:
                await phase("open", lambda pl: open_sample(pl, browser, farm.url))
            else:
                await phase("open", lambda pl: open_city(pl, browser, farm.url, city))
            await asyncio.sleep(2)
            rss["open"] = farm.rss()
            idle0 = chromium_cpu()
            await asyncio.sleep(5)  # every page open, nothing asked: what the browser spends idle
            browser_cpu["idle_per_s"] = (chromium_cpu() - idle0) / 5
            chromium_cpu(kinds_before)
            await phase("mode add", lambda pl: choose_mode(pl, "新增 add", "点击地图即在该处新增一个中心。"))
            await phase("add 1", lambda pl: click_map(pl, *gap(pl, 0), row="新中心 1"))
            await phase("add 2", lambda pl: click_map(pl, *gap(pl, 1), row="新中心 2"))
            await phase("mode move", lambda pl: choose_mode(pl, "迁移 move", "先点击要迁移的设施，再点击它的新位置。"))
            await phase("pick", lambda pl: click_map(pl, *near_facility(pl), row=None, note="已选中"))
            await phase("move", lambda pl: click_map(pl, *gap(pl, 2), row="迁移"))
            chromium_cpu(kinds_after)
            await phase("siting", lambda pl: run_siting(pl, 3 + pl.n % 3))
            for pl in planners:
                await close(pl)
        finally:
            with contextlib.suppress(Exception):
                await browser.close()
    clicks = [c for pl in planners for c in pl.clicks]
    click_phases = (("mode add", "add 1"), ("add 1", "add 2"), ("mode move", "pick"), ("pick", "move"))
    click_cpu = sum(cpu[b] - cpu[a] for a, b in click_phases)
    click_browser_cpu = sum(browser_cpu[b] - browser_cpu[a] for a, b in click_phases)
    mib_per_session = (sum(rss["open"]) - sum(rss["warm"])) / n
    return {
        "n": n,
        "first_map": [pl.first_map for pl in planners if pl.first_map is not None],
        "clicks": clicks,
        "siting": [pl.siting for pl in planners if pl.siting is not None],
        "cpu_per_click": click_cpu / len(clicks) if clicks else float("nan"),
        "browser_cpu_per_click": click_browser_cpu / len(clicks) if clicks else float("nan"),
        "click_kb": [b / 1e3 for pl in planners for b in pl.click_bytes],
        "browser_idle_cpu_per_s": browser_cpu["idle_per_s"],
        # the browser's CPU from 'add' to the last click (both modes' switches too) by process kind, per click
        "browser_cpu_by_kind_per_click": {
            k: (kinds_after.get(k, 0.0) - kinds_before.get(k, 0.0)) / max(1, len(clicks)) for k in kinds_after
        },
        "cpu_open": (cpu["open"] - cpu["start"]) / n,
        "cpu_siting": (cpu["siting"] - cpu["move"]) / n,
        "rss_warm": rss["warm"],
        "rss_open": rss["open"],
        "mib_per_session": mib_per_session,
        "per_process": dict(sorted(Counter(pl.process for pl in planners).items())),
        "failed": sum(pl.failed for pl in planners),
        "page_errors": [e for pl in planners for e in pl.page_errors],
        "ws_errors": [e for pl in planners for e in pl.ws_errors],
        "ws_closed": sum(pl.ws_closed for pl in planners),
        "timeouts": [f"planner {pl.n}: {e}" for pl in planners for e in pl.timeouts],
        "step_errors": [f"planner {pl.n}: {e}" for pl in planners for e in pl.step_errors],
        "app_errors": sum(pl.app_error for pl in planners),
        "warm_errors": warm_errors,
    }


def stats(values: list[float]) -> str:
    """Median / p95 (nearest rank) of ``values``; one value alone; a dash for none."""
    if not values:
        return "—"
    ordered = sorted(values)
    if len(ordered) == 1:
        return f"{ordered[0]:.2f}"
    p95 = ordered[max(0, -(-95 * len(ordered) // 100) - 1)]
    return f"{statistics.median(ordered):.2f} / {p95:.2f}"


HEADER = (
    "| data | app | processes | planners | first map s | click → comparison s | siting s | **server CPU per click** s "
    "| browser CPU per click s | kB received per click (median / max) "
    "| CPU per page open / siting s | peak per process MiB | MiB per added session | planners per process "
    "| failed sessions (page / ws / app / timeouts; ws reconnects) | load before → after | run s |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def line(row: dict) -> str:
    if "crash" in row:
        return (
            f"| {row['data']} | {row['app']} | {row['workers']} | {row['n']} | — | — | — | — | — | — | — | — | — | — | "
            f"run failed: {row['crash'][:120]} | {row['load_before']} → {row['load_after']} | {row['wall']:.0f} |"
        )
    spread = " + ".join(str(v) for v in row["per_process"].values())
    kb = f"{statistics.median(row['click_kb']):.0f} / {max(row['click_kb']):.0f}" if row["click_kb"] else "—"
    errors = (
        f"{row['failed']} of {row['n']} ({len(row['page_errors'])} / {len(row['ws_errors'])} / {row['app_errors']} / "
        f"{len(row['timeouts'])}; {row['ws_closed']})"
    )
    return (
        f"| {row['data']} | {row['app']} | {row['workers']} | {row['n']} | {stats(row['first_map'])} | "
        f"{stats(row['clicks'])} | {stats(row['siting'])} | **{row['cpu_per_click']:.2f}** | "
        f"{row['browser_cpu_per_click']:.2f} | {kb} | "
        f"{row['cpu_open']:.2f} / {row['cpu_siting']:.2f} | {' + '.join(f'{p:.0f}' for p in row['peaks'])} | "
        f"{row['mib_per_session']:.1f} | {spread} | {errors} | {row['load_before']} → {row['load_after']} | "
        f"{row['wall']:.0f} |"
    )


def memory_lines(rows: list[dict]) -> list[str]:
    """(RSS with N planners − with 1) ÷ (N − 1), summed over the processes, for the same data, app and processes."""
    out = []
    ones = {(r["data"], r["app"], r["workers"]): r for r in rows if r["n"] == 1 and "crash" not in r}
    for r in rows:
        one = ones.get((r["data"], r["app"], r["workers"]))
        if r["n"] > 1 and one is not None and "crash" not in r:
            per = (sum(r["rss_open"]) - sum(one["rss_open"])) / (r["n"] - 1)
            out.append(
                f"| {r['data']} | {r['app']} | {r['workers']} | {r['n']} | {sum(one['rss_open']):.0f} | "
                f"{sum(r['rss_open']):.0f} | **{per:.1f}** |"
            )
    return out


def run_row(a: argparse.Namespace, work: Path, server: str | None, spots: dict, *, data: str, n: int, workers: int,
            app: tuple[str, Path]) -> dict:  # fmt: skip
    """One row: a fresh farm of ``app`` with ``workers`` processes, ``n`` planners on ``data``; failures noted."""
    name, root = app
    folder = Path(tempfile.mkdtemp(prefix="run-", dir=work))
    row = {"data": data, "app": name, "workers": workers, "n": n, "load_before": load()}
    started = time.monotonic()
    farm = None
    try:
        db = f"sqlite:///{folder / 'workspace.sqlite'}"
        if server is not None:
            from tests.conftest import new_postgres_database

            db = new_postgres_database(server)
        store = None
        if data == "city":
            store = folder / "store"
            shutil.copytree(work / f"store-{name}", store)
        farm = start_farm(root, workers, db, store, folder)
        row |= asyncio.run(one_run(farm, n, spots[data], a.city if data == "city" else None, a.timeout))
        row["peaks"] = farm.peaks()
        row["alive"] = farm.alive()
    except Exception as exc:  # a run that cannot finish is a row too
        row["crash"] = f"{type(exc).__name__}: {exc}"
    finally:
        if farm is not None:
            farm.stop()
        shutil.rmtree(folder, ignore_errors=True)
    row["wall"], row["load_after"] = time.monotonic() - started, load()
    for key in ("page_errors", "ws_errors", "timeouts", "step_errors", "warm_errors"):
        for e in row.get(key, []):
            print(f"    {key} ({data}, {name}, {workers} processes, N={n}): {e}", file=sys.stderr, flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", type=Path, help="a worktree of the baseline: each row run for it first, interleaved")
    ap.add_argument("--sessions", type=int, nargs="*", default=[1, 4, 8, 16], help="planners at once (sample)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="app processes behind nginx")
    ap.add_argument("--city", type=Path, help="a synthetic city as `bench_cli.py --keep DIR` writes it")
    ap.add_argument("--city-sessions", type=int, nargs="+", default=[1, 4], help="planners at once (city)")
    ap.add_argument("--quick", action="store_true", help="sample only, N = 1 and 4, 1 and 2 processes (~5 min)")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds a step may take before it counts as failed")
    ap.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL workspace, not SQLite")
    ap.add_argument("--out", type=Path, help="also write the rows as JSON here")
    ap.add_argument("--shots", type=Path, help="a screenshot of every failed step goes into this folder")
    a = ap.parse_args()
    global SHOTS
    SHOTS = a.shots
    if a.quick:
        a.sessions, a.city = [1, 4], None
    apps = ([("baseline", a.base.resolve())] if a.base else []) + [("this branch", ROOT)]
    began = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="qh-load-"))
    plan = [("sample", n, w) for n in a.sessions for w in a.workers]
    if a.city:
        plan += [("city", n, w) for n in a.city_sessions for w in a.workers]
    spots = {"sample": sample_spots()}
    if a.city:
        spots["city"] = city_spots(a.city)
        for name, root in apps:
            prepare_store(root, a.city, work / f"store-{name}")
    print(f"{len(plan) * len(apps)} runs; prepared in {time.monotonic() - began:.0f} s", file=sys.stderr, flush=True)
    pg = contextlib.nullcontext(None)
    if a.postgres:
        sys.path.insert(0, str(ROOT))
        from tests.pgserver import postgres_cluster

        pg = postgres_cluster()
    rows: list[dict] = []
    with pg as server:
        print(HEADER, flush=True)
        for data, n, workers in plan:
            for name, root in apps:
                row = run_row(a, work, server, spots, data=data, n=n, workers=workers, app=(name, root))
                rows.append(row)
                print(line(row), flush=True)
                if a.out:
                    a.out.write_text(json.dumps(rows, indent=1))
    shutil.rmtree(work, ignore_errors=True)
    memory = memory_lines(rows)
    if memory:
        print("\nMemory per added session, across rows: (RSS of the app processes with every first map shown, at N "
              "− at 1) ÷ (N − 1)\n")  # fmt: skip
        print("| data | app | processes | planners | RSS at 1 MiB | RSS at N MiB | **MiB per added session** |")
        print("|---|---|---|---|---|---|---|")
        print("\n".join(memory))
    print(f"\nthe whole run: {(time.monotonic() - began) / 60:.1f} min ({len(rows)} runs)", flush=True)


if __name__ == "__main__":
    main()
