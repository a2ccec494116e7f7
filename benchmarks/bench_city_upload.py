"""A 100k city's residents upload → map, one planner, in a real browser: where the seconds go (issue 29).

    python benchmarks/bench_city_upload.py --city DIR --base /work/base-x [--runs 3] [--profile /tmp/prof]

DIR holds the synthetic city as ``bench_cli.py --keep DIR`` writes it. Its network is prepared once into a
store (``quarterhour network``, not timed) that each server gets a copy of. Each run starts the app (the
baseline's, ``--base``, and this one in turn: interleaved), opens the page in Debian chromium (playwright),
picks the prepared network, uploads the facilities and the city's units (``boundaries.gpkg``), then the
residents, and times from the residents' upload:

- **first message**: the first websocket message after the upload (the page run begins);
- **last message**: the last websocket message of that run (the server's part is over), and the bytes received;
- **headline**: the city's residents in the headline;
- **map**: a new Leaflet map in the map's frame, whose layer control names the city's residents' 1 km hexagons
  (the runs before, on the sample's residents, draw 500 m ones), painted (two animation frames after);
- the server's CPU (``/proc/<pid>/stat``) over the same span, and the load average;
- **progress**: the page's text is sampled every 0.1 s for a progress line (the baseline's spinners and step bar,
  this branch's box of stages): when one first shows, and the longest time before the map with none shown.

``--profile DIR`` (this branch only): the app is run under a wrapper that profiles each page run with
cProfile into ``DIR/<start>-<seconds>.prof`` (read them with ``python -m pstats``); the timings then include
the profiler's cost.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from bench_app_browser import _start_app
from bench_click_city import _cpu

ROOT = Path(__file__).resolve().parent.parent
CITY_HEADLINE = "7,473,495"
CITY_NETWORK = "100,489"

WRAPPER = textwrap.dedent(
    """
    import cProfile, os, sys, time
    sys.path.insert(0, os.environ["QH_ROOT"])
    import app
    from quarterhour.ui import state as S
    from quarterhour.ui.errors import page_edge
    try:
        from quarterhour.ui.progress import running
    except ImportError:  # the baseline
        from contextlib import nullcontext as running
    prof, t0 = cProfile.Profile(), time.time()
    prof.enable()
    try:
        with page_edge(S.LANG), running(S.LANG):
            app.main()
    finally:
        prof.disable()
        prof.dump_stats(f"{os.environ['QH_PROFILE_DIR']}/{t0:.3f}-{time.time() - t0:.2f}.prof")
    """
)


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def start_app(root: Path, cache: Path, profile: Path | None = None) -> tuple[subprocess.Popen, str]:
    """``streamlit run`` of ``root``'s app on a free port, its own cache and workspace (``profile``: the wrapper)."""
    env = {"PYTHONPATH": str(root), "QUARTERHOUR_DATABASE_URL": f"sqlite:///{cache.parent / 'workspace.sqlite'}"}
    script = root / "app.py"
    if profile is not None:
        profile.mkdir(parents=True, exist_ok=True)
        script = cache.parent / "profiled_app.py"
        script.write_text(WRAPPER, encoding="utf-8")
        env |= {"QH_ROOT": str(root), "QH_PROFILE_DIR": str(profile)}
    return _start_app(cache, root, env=env, wait_s=120, script=script)


NEW_MAP = """() => {
  const f = Array.from(document.querySelectorAll('iframe'));
  for (const el of f) {
    const w = el.contentWindow;
    try {
      const control = w.document.querySelector('.leaflet-control-layers');
      // the city's own map: its residents drawn as 1 km hexagons (the sample's residents: 500 m)
      if (w.map && !w.map.__old && control && control.textContent.includes('1000 米六边形')) return true;
    } catch (e) {}
  }
  return false;
}"""

MARK_OLD = """() => {
  for (const el of document.querySelectorAll('iframe')) {
    try { if (el.contentWindow.map) el.contentWindow.map.__old = true; } catch (e) {}
  }
}"""

#: what says the page is working: the baseline's spinners and step bar, this branch's stages
PROGRESS_WORDS = ("正在读取居民与设施", "计算中", r"第 \d+/\d+ 步", "正在绘制地图")
PROGRESS_WORDS += ("读取居民文件", "把居民放到街道上", "分析覆盖", "保存到工作区", "绘制地图")
WATCH = """() => {
  const words = new RegExp(WORDS);
  window.__qhSamples = [];
  window.__qhStart = performance.now();
  window.__qhWatch = setInterval(() => {
    const seen = words.exec(document.body.textContent || "");
    window.__qhSamples.push([(performance.now() - window.__qhStart) / 1000, seen ? seen[0] : ""]);
  }, 100);
}"""

PAINTED = """() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => done(true))))"""


def progress_gaps(samples: list, until: float) -> dict:
    """When progress first showed, the longest time before the map with none, and what showed, in order.

    ``samples``: the page's (seconds, progress text shown or '') every 0.1 s; ``until``: the map's time.
    """
    shown = [t for t, said in samples if said and t <= until]
    first = shown[0] if shown else None
    marks = [0.0, *shown, until]
    order = list(dict.fromkeys(said for t, said in samples if said and t <= until))
    return {"progress_first": first, "progress_gap": max(b - a for a, b in itertools.pairwise(marks)), "said": order}


def one_run(
    root: Path, store: Path, city: Path, profile: Path | None = None, *, timeout_s: float = 600, settle_s: float = 3
) -> dict:
    """One planner's city upload on ``root``'s app; the times in seconds from the residents' upload."""
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="qh-upload-"))
    shutil.copytree(store, folder / "cache")
    proc, url = start_app(root, folder / "cache", profile)
    out: dict = {"errors": []}
    where = ["start"]
    frames: list[tuple[float, int]] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=shutil.which("chromium"), args=["--no-sandbox", "--disable-gpu", "--no-first-run"]
            )
            page = browser.new_page(viewport={"width": 1600, "height": 1100})
            page.on("pageerror", lambda e: out["errors"].append(str(e)))

            def watch(ws) -> None:
                ws.on("framereceived", lambda payload: frames.append((time.perf_counter(), len(payload))))

            page.on("websocket", watch)
            page.goto(url, wait_until="domcontentloaded")
            where[0] = "sample page"
            page.get_by_text("38,245 / 38,367").first.wait_for(timeout=300_000)
            where[0] = "network"
            page.get_by_text("数据", exact=True).click()
            page.get_by_text("已整理的路网", exact=False).first.click()
            page.get_by_text("选择已整理的路网").wait_for(timeout=60_000)
            page.locator('[data-testid="stSelectbox"]').filter(has_text="选择已整理的路网").click()
            page.get_by_role("option").filter(has_text=CITY_NETWORK).click()
            up = page.locator('[data-testid="stFileUploader"]')
            where[0] = "facilities"
            fac = up.filter(has_text="服务设施")
            fac.locator('input[type="file"]').set_input_files(str(city / "facilities.geojson"))
            fac.get_by_text("facilities.geojson").wait_for(timeout=300_000)
            where[0] = "units"
            page.get_by_text("上传边界文件", exact=False).first.click()
            units = up.filter(has_text="含 level、code、name")
            units.locator('input[type="file"]').set_input_files(str(city / "boundaries.gpkg"))
            units.get_by_text("boundaries.gpkg").wait_for(timeout=300_000)
            time.sleep(5)  # the units' run is over: quiet
            where[0] = "residents"
            page.evaluate(MARK_OLD)
            cpu0, started = _cpu(proc.pid), time.perf_counter()
            out["load_before"] = _load()
            frames.clear()
            page.evaluate(WATCH.replace("WORDS", json.dumps("|".join(PROGRESS_WORDS))))
            up.filter(has_text="居民").locator('input[type="file"]').set_input_files(str(city / "demand.gpkg"))
            page.get_by_text(CITY_HEADLINE, exact=False).first.wait_for(timeout=timeout_s * 1000)
            out["headline"] = time.perf_counter() - started
            page.wait_for_function(NEW_MAP, timeout=timeout_s * 1000, polling=50)
            out["map_script"] = time.perf_counter() - started
            page.evaluate(PAINTED)
            out["map"] = time.perf_counter() - started
            samples = page.evaluate("() => { clearInterval(window.__qhWatch); return window.__qhSamples; }")
            out |= progress_gaps(samples, out["map_script"])
            time.sleep(settle_s)  # the run's last messages (the autosave, the tabs)
            later = [(t - started, n) for t, n in frames if t >= started]
            out["first_msg"] = later[0][0] if later else None
            out["last_msg"] = later[-1][0] if later else None
            out["mb"] = sum(n for _, n in later) / 1e6
            out["biggest_mb"] = max((n for _, n in later), default=0) / 1e6
            out["cpu"] = _cpu(proc.pid) - cpu0
            if page.get_by_text("程序出错", exact=False).count():
                out["errors"].append("the app's own error message is on the page")
            browser.close()
    except Exception as exc:  # a benchmark notes a failure and goes on to the other app
        out["errors"].append(f"{where[0]}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    finally:
        out["load"] = _load()
        proc.terminate()
        proc.wait(60)
        shutil.rmtree(folder, ignore_errors=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--city", type=Path, required=True)
    ap.add_argument("--base", type=Path, help="a worktree of the baseline (interleaved with this one)")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--profile", type=Path, help="profile this branch's page runs into this folder (no baseline)")
    ap.add_argument("--settle", type=float, default=3, help="seconds to wait after the map for the run's end")
    ap.add_argument("--store", type=Path, help="a store holding the city's prepared network already")
    a = ap.parse_args()
    store = a.store or Path(tempfile.mkdtemp(prefix="qh-city-store-"))
    if a.store is None:
        env = {**os.environ, "QUARTERHOUR_CACHE": str(store)}
        cmd = [sys.executable, "-m", "quarterhour.cli", "network", str(a.city / "network.graphml")]
        subprocess.run(cmd, check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    apps = [("this branch", ROOT)] if a.base is None or a.profile else [("base", a.base.resolve()), ("ours", ROOT)]
    cols = ("progress_first", "progress_gap", "headline", "map_script", "map", "last_msg", "cpu", "mb")
    print("| app | run | " + " | ".join(cols) + " | errors | load before → after |")
    print("|---" * (len(cols) + 4) + "|")
    rows: dict[str, list[dict]] = {name: [] for name, _ in apps}
    for run in range(1, a.runs + 1):
        for name, root in apps:
            r = one_run(root, store, a.city, a.profile, settle_s=a.settle)
            rows[name].append(r)
            cells = " | ".join(f"{r[c]:.2f}" if isinstance(r.get(c), float) else "—" for c in cols)
            loads = f"{r.get('load_before')} → {r['load']}"
            print(f"| {name} | {run} | {cells} | {len(r['errors'])} | {loads} |", flush=True)
            for e in r["errors"]:
                print(f"    error ({name}): {e}", file=sys.stderr, flush=True)
            print(f"    progress shown ({name}): {' → '.join(r.get('said', []))}", file=sys.stderr, flush=True)
    print("\nmedians:")
    for name, rs in rows.items():
        med = {c: statistics.median(v) for c in cols if (v := [r[c] for r in rs if isinstance(r.get(c), float)])}
        print(f"| {name} | " + " | ".join(f"{med[c]:.2f}" if c in med else "—" for c in cols) + " |")
    if a.store is None:
        shutil.rmtree(store, ignore_errors=True)


if __name__ == "__main__":
    main()
