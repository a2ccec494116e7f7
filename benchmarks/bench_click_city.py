"""One planner on a 100k-node city, before and after, in a real browser, with the server's CPU per click (issue 29).

    python benchmarks/bench_click_city.py --city DIR --base /work/base-main [--repeat 3] [--runs 1]
    PY_SPY=<py-spy> python benchmarks/bench_click_city.py --city DIR --base B --only ours --py-spy /tmp/prof

DIR holds the synthetic city as ``bench_cli.py --keep DIR`` writes it. The network is prepared once
into a store (``quarterhour network``, not timed) that each server gets a copy of. For each run, the
baseline's app (``--base``, a worktree) and this one are started in turn (interleaved), each
(``streamlit run`` with no file watcher, as ``quarterhour serve`` runs it) driven by Debian chromium
through playwright as ``bench_app_browser.py`` does:

- **upload → map**: the prepared network is picked, the facilities and the city's units uploaded (each
  once the server is quiet), then the residents; timed from the residents' upload to the city's own map
  (its 1 km hexagons in the layer control, not the sample's map still on the page) painted;
- **clicks**: 'add', then ``--repeat`` clicks in gaps, the first as soon as a planner would (2 s after
  'add'); each timed from the click to the new centre in the comparison and its marker on the map's
  scenario layer; the last websocket message of the click (after it, the time is the browser's); the
  server's CPU (``/proc/<pid>/stat``, user + system) over each click and the second after it, the first
  click apart (and the CPU the server still spent between the map and the first click); MB sent per click;
- **siting k = 5**: once the server is quiet, the siting tab, k = 5 (``bench_siting_city``'s steps),
  '计算选址'; timed until its answer and the sites' layer on the map show, with the server's CPU.

``--py-spy DIR`` samples the server over each step into DIR (py-spy's raw format; a profiling aid, not a
dependency: ``PY_SPY`` names it). The load average is printed beside each row (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_app_browser import _gaps, _map_frame, _start_app

ROOT = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")
#: the scenario's layer on the map holds ``n`` centres' markers (circle markers; its reach is polygons)
MARKERS_DRAWN = """(n) => {
    const group = (window.feature_group || []).at(-1);
    if (!group) return false;
    let markers = 0;
    const walk = (layer) => {
        if (layer._layers) Object.values(layer._layers).forEach(walk);
        else if (typeof layer.getRadius === "function") markers += 1;
    };
    walk(group);
    return markers >= n;
}"""


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _start(app_root: Path, cache: Path) -> tuple[subprocess.Popen, str]:
    """The app of ``app_root`` (ours or the baseline's) on its own code, cache and workspace."""
    env = {"PYTHONPATH": str(app_root), "QUARTERHOUR_DATABASE_URL": f"sqlite:///{cache.parent / 'workspace.sqlite'}"}
    env["STREAMLIT_SERVER_FILE_WATCHER_TYPE"] = "none"  # as ``quarterhour serve`` runs it: no watching of the sources
    return _start_app(cache, app_root, env=env, wait_s=120)


def one_run(
    app_root: Path, store: Path, city: Path, spots: list, *, siting: bool = True, py_spy: Path | None = None
) -> dict:
    """One app on the city in Debian chromium: upload → map, clicks in gaps, the siting panel k = 5 (``siting``)."""
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="qh-city-"))
    shutil.copytree(store, folder / "cache")
    proc, url = _start(app_root, folder / "cache")
    out = {"clicks": [], "cpu": [], "first_map": None, "siting": None, "siting_cpu": None, "errors": []}
    out["load_start"] = _load()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=shutil.which("chromium"), args=["--no-sandbox", "--disable-gpu", "--no-first-run"]
            )
            page = browser.new_page(viewport={"width": 1600, "height": 1100})
            page.on("pageerror", lambda e: out["errors"].append(str(e)))
            frames: list[tuple[float, int]] = out.setdefault("frames", [])  # the server's websocket messages

            def watch(ws) -> None:
                ws.on("framereceived", lambda payload: frames.append((time.perf_counter(), len(payload))))

            page.on("websocket", watch)
            page.set_default_timeout(180_000)  # a click waits for its element through a loaded machine's page runs
            _to_city(page, proc, url, city, out, py_spy=py_spy)
            _clicks(page, proc, spots, out, py_spy=py_spy)
            if siting:
                _siting(page, proc, out, py_spy=py_spy)
            if page.get_by_text("程序出错", exact=False).count():
                out["errors"].append("the app's own error message is on the page")
            browser.close()
    except Exception as exc:  # a benchmark notes a failure and goes on to the other app
        out["errors"].append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    finally:
        out["load"] = _load()
        proc.terminate()
        proc.wait(60)
        shutil.rmtree(folder, ignore_errors=True)
    return out


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _to_city(page, proc: subprocess.Popen, url: str, city: Path, out: dict, *, py_spy: Path | None) -> None:
    """The prepared network picked, the facilities and the city's units uploaded, then the residents (timed)."""
    from bench_city_upload import MARK_OLD, NEW_MAP, PAINTED  # here: they import this module's ``_cpu``
    from bench_siting_city import city_inputs

    up = city_inputs(page, proc, url, city)
    spy = _spy(proc.pid, py_spy / f"upload-{os.getpid()}-{time.time():.0f}.txt") if py_spy else None
    page.evaluate(MARK_OLD)
    started = time.perf_counter()
    up.filter(has_text="居民").locator('input[type="file"]').set_input_files(str(city / "demand.gpkg"))
    page.get_by_text("7,473,495", exact=False).first.wait_for(timeout=600_000)
    # the city's own map painted (not the sample's, whose layer control is there from the start)
    page.wait_for_function(NEW_MAP, timeout=600_000, polling=50)
    page.evaluate(PAINTED)
    out["first_map"] = time.perf_counter() - started
    out["cpu_at_map"] = _cpu(proc.pid)
    _stop(spy)


def _clicks(page, proc: subprocess.Popen, spots: list, out: dict, *, py_spy: Path | None) -> None:
    """'add', then a click in each gap as a planner makes it (the first soon after the map shows)."""
    spy = _spy(proc.pid, py_spy / f"tail-{os.getpid()}-{time.time():.0f}.txt") if py_spy else None
    page.get_by_text("新增 add").click()
    page.get_by_text("点击地图即在该处新增一个中心。").wait_for(timeout=120_000)
    time.sleep(2)
    _stop(spy)
    for n, spot in enumerate(spots, start=1):
        frame = _map_frame(page)
        frame.wait_for_function("() => window.map !== undefined")
        frame.evaluate(f"() => {{ window.map.setView([{spot.y}, {spot.x}], 16, {{animate: false}}); }}")
        time.sleep(1.0)
        xy = frame.evaluate(f"() => window.map.latLngToContainerPoint([{spot.y}, {spot.x}])")
        box = frame.locator(".leaflet-container").bounding_box()
        spy = _spy(proc.pid, py_spy / f"click{n}-{os.getpid()}-{time.time():.0f}.txt") if py_spy else None
        cpu0, clicked = _cpu(proc.pid), time.perf_counter()
        if n == 1:  # what the server still did after the map showed (its page run's tail), until the first click
            out["cpu_after_map"] = cpu0 - out["cpu_at_map"]
        page.mouse.click(box["x"] + xy["x"], box["y"] + xy["y"])
        page.get_by_text(f"新中心 {n}").first.wait_for(state="attached", timeout=300_000)
        _map_frame(page).wait_for_function(MARKERS_DRAWN, arg=n, timeout=300_000)
        out["clicks"].append(time.perf_counter() - clicked)
        sent = [t for t, _ in out["frames"] if t >= clicked]  # the server's messages: the rest is the browser's
        out.setdefault("last_msg", []).append(max(sent) - clicked if sent else float("nan"))
        time.sleep(1.0)  # the part's last messages (the autosave) are in
        out["cpu"].append(_cpu(proc.pid) - cpu0)
        out.setdefault("mb", []).append(sum(b for t, b in out["frames"] if t >= clicked) / 1e6)
        _stop(spy)


def _siting(page, proc: subprocess.Popen, out: dict, *, py_spy: Path | None) -> None:
    """The siting tab, k = 5, '计算选址' once the server is quiet: until the answer and the sites' layer show."""
    from bench_siting_city import _quiet, _siting_tab

    _quiet(proc.pid)
    cpu0 = _cpu(proc.pid)
    _siting_tab(page, proc, "5")  # until the server is quiet again (what k's setting began is over)
    out["siting_set_cpu"] = _cpu(proc.pid) - cpu0
    out["load_siting"] = _load()
    spy = _spy(proc.pid, py_spy / f"siting-{os.getpid()}-{time.time():.0f}.txt") if py_spy else None
    cpu0, started = _cpu(proc.pid), time.perf_counter()
    page.get_by_text("计算选址", exact=True).first.click()
    page.get_by_text("新增后覆盖居民").first.wait_for(timeout=600_000)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:  # the new sites drawn on the map too
        if _map_frame(page).locator(".leaflet-control-layers").get_by_text("新增布点建议").count():
            break
        time.sleep(0.05)
    out["siting"] = time.perf_counter() - started
    time.sleep(1.0)  # the part's last messages
    out["siting_cpu"] = _cpu(proc.pid) - cpu0
    _stop(spy)


def _spy(pid: int, path: Path) -> subprocess.Popen:
    """py-spy sampling the server (a profiling aid, ``PY_SPY`` its path; not a dependency)."""
    from bench_siting_city import _spy as spy

    path.parent.mkdir(parents=True, exist_ok=True)
    return spy(pid, path)


def _stop(spy: subprocess.Popen | None) -> None:
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        spy.wait(120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--city", type=Path, required=True)
    ap.add_argument("--base", type=Path, required=True, help="a worktree of the baseline")
    ap.add_argument("--repeat", type=int, default=3, help="clicks per run")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--no-siting", action="store_true", help="leave the siting step out")
    ap.add_argument("--only", choices=("base", "ours"), help="one of the two (e.g. to profile it)")
    ap.add_argument("--py-spy", type=Path, help="sample the server with py-spy (PY_SPY: its path) into this folder")
    a = ap.parse_args()
    store = Path(tempfile.mkdtemp(prefix="qh-city-store-"))
    env = {**os.environ, "QUARTERHOUR_CACHE": str(store)}
    cmd = [sys.executable, "-m", "quarterhour.cli", "network", str(a.city / "network.graphml")]
    subprocess.run(cmd, check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    spots = _gaps(a.city, a.repeat)
    apps = (("baseline", a.base.resolve()), ("this branch", ROOT))
    apps = tuple(app for app in apps if not a.only or app[0].startswith({"base": "base", "ours": "this"}[a.only]))
    print(
        "| app | upload → map s | first click s | later clicks s (median; each) | their last message s "
        "| server CPU first click s "
        "| **server CPU per later click s** (median; each) | MB sent per click | server CPU map → first click s "
        "| siting k = 5 wall s | siting CPU s | CPU while k is set s | errors "
        "| load (1, 5, 15 min): start; siting; end |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    med = lambda v: f"{statistics.median(v):.2f}" if v else "—"  # noqa: E731
    each = lambda v: ", ".join(f"{c:.2f}" for c in v)  # noqa: E731
    num = lambda v: "—" if v is None else f"{v:.2f}"  # noqa: E731
    try:
        for _ in range(a.runs):
            for name, root in apps:
                r = one_run(root, store, a.city, spots, siting=not a.no_siting, py_spy=a.py_spy)
                clicks, cpu = r["clicks"], r["cpu"]
                print(
                    f"| {name} | {num(r['first_map'])} | {num(clicks[0] if clicks else None)} "
                    f"| {med(clicks[1:])} ({each(clicks[1:])}) | {med(r.get('last_msg', [])[1:])} "
                    f"| {num(cpu[0] if cpu else None)} "
                    f"| **{med(cpu[1:])}** ({each(cpu[1:])}) | {med(r.get('mb', []))} | {num(r.get('cpu_after_map'))} "
                    f"| {num(r['siting'])} | {num(r['siting_cpu'])} | {num(r.get('siting_set_cpu'))} "
                    f"| {len(r['errors'])} | {r['load_start']}; {r.get('load_siting', '—')}; {r['load']} |",
                    flush=True,
                )
                for e in r["errors"]:
                    print(f"    error ({name}): {e}", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(store, ignore_errors=True)


if __name__ == "__main__":
    main()
