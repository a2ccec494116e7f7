"""Siting at city scale, before and after: ``quarterhour site`` k = 5 as a whole process, and the app's siting panel.

    python benchmarks/bench_siting_city.py --city DIR --base /work/base-city-siting [--runs 3] [--no-app]

DIR holds the synthetic 100k city as ``bench_cli.py --keep DIR`` writes it (network.graphml,
facilities.geojson, demand.gpkg, boundaries.gpkg). The network is prepared once into a store
(``quarterhour network``, not timed) that every process reads. Then, for each run, the baseline
(``--base``, a worktree) and this checkout in turn (interleaved):

- **CLI**: ``quarterhour site --model mclp --k 5`` with the city's units, a child process timed by wall
  clock, its CPU (user + system, ``os.wait4``) and peak RSS; the siting step's own time from its
  step line (``[4/5] siting … 2.3 s``);
- **app** (unless ``--no-app``): the app (``streamlit run``, with no file watcher, as ``quarterhour serve``
  runs it) driven by Debian chromium as
  ``bench_click_city.py`` does: the prepared network picked, the facilities, the city's units and the
  residents uploaded (not timed); once the server is quiet (its page run, with the downloads' files, is
  over: under 0.05 s of CPU in a second), the siting tab, k = 5, '计算选址', timed until the answer
  ('新增后覆盖居民') and the new sites on the map ('新增布点建议' in the layers) show; the server's
  CPU (``/proc/<pid>/stat``, user + system) over that step. Then k = 3 on the same panel: timed until
  the answer's figure changes, its CPU until the server is quiet again.

Medians are printed, with the load average beside each row (the machine is shared).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_app_browser import _map_frame, _start_app
from bench_click_city import _cpu

ROOT = Path(__file__).resolve().parent.parent


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def cli_run(root: Path, city: Path, store: Path, out: Path) -> dict:
    """``quarterhour site`` k = 5 of ``root``'s code: wall, CPU, peak RSS and the siting step's time."""
    cmd = [sys.executable, "-m", "quarterhour.cli", "site", "--network", str(city / "network.graphml")]
    cmd += ["--facilities", str(city / "facilities.geojson"), "--demand", str(city / "demand.gpkg")]
    cmd += ["--boundaries", str(city / "boundaries.gpkg"), "--model", "mclp", "--k", "5"]
    cmd += ["--out", str(out), "--force"]
    env = {**os.environ, "PYTHONPATH": str(root), "QUARTERHOUR_CACHE": str(store)}
    load = _load()
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    said = proc.stdout.read() + proc.stderr.read()
    step = re.search(r"siting … ([0-9.]+) s", said)
    answer = next((ln for ln in said.splitlines() if ln.startswith("residents covered")), "")
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "peak_mb": usage.ru_maxrss / 1024,
        "step": float(step.group(1)) if step else float("nan"),
        "ok": os.waitstatus_to_exitcode(status) == 0,
        "answer": answer.split("; wrote")[0],
        "sites": [ln.strip().split(", mean")[0] for ln in said.splitlines() if ln.startswith("  S")],
        "load": load,
    }


def app_run(root: Path, city: Path, store: Path, *, py_spy: Path | None = None) -> dict:
    """The app's siting panel, k = 5, on the city: wall until the answer and the sites' map show; server CPU."""
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="qh-siting-"))
    shutil.copytree(store, folder / "cache")
    env = {"PYTHONPATH": str(root), "QUARTERHOUR_DATABASE_URL": f"sqlite:///{folder / 'workspace.sqlite'}"}
    env["STREAMLIT_SERVER_FILE_WATCHER_TYPE"] = "none"  # as ``quarterhour serve`` runs it: no watching of the sources
    proc, url = _start_app(folder / "cache", root, env=env, wait_s=120)
    out = {"siting": None, "cpu": None, "again": None, "cpu_again": None, "errors": [], "load": _load()}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=shutil.which("chromium"), args=["--no-sandbox", "--disable-gpu", "--no-first-run"]
            )
            page = browser.new_page(viewport={"width": 1600, "height": 1100})
            try:
                _drive(page, proc, url, city, out, py_spy=py_spy)
            except Exception:
                if os.environ.get("BENCH_SHOTS"):  # where it stopped, for a look
                    with contextlib.suppress(Exception):
                        page.screenshot(path=str(Path(os.environ["BENCH_SHOTS"]) / f"failed-{time.time():.0f}.png"))
                raise
            browser.close()
    except Exception as exc:  # a benchmark notes a failure and goes on to the other app
        out["errors"].append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    finally:
        proc.terminate()
        proc.wait(60)
        shutil.rmtree(folder, ignore_errors=True)
    return out


def _drive(page, proc: subprocess.Popen, url: str, city: Path, out: dict, *, py_spy: Path | None) -> None:
    """The planner's steps on an open page (``app_run``)."""
    page.on("pageerror", lambda e: out["errors"].append(str(e)))
    page.set_default_timeout(180_000)  # a click waits for its element through a loaded machine's page runs
    up = city_inputs(page, proc, url, city)
    up.filter(has_text="居民").locator('input[type="file"]').set_input_files(str(city / "demand.gpkg"))
    page.get_by_text("7,473,495", exact=False).first.wait_for(timeout=600_000)
    _map_frame(page).wait_for_selector(".leaflet-control-layers", timeout=600_000)
    time.sleep(3)  # the page's last messages are in
    out["idle_wait"] = _quiet(proc.pid)  # the page's first run (its downloads' files) is over
    _siting_tab(page, proc, "5")
    out["load"] = _load()
    spy = _spy(proc.pid, py_spy) if py_spy else None
    cpu0, started = _cpu(proc.pid), time.perf_counter()
    page.get_by_text("计算选址", exact=True).first.click()
    page.get_by_text("新增后覆盖居民").first.wait_for(timeout=600_000)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:  # the new sites drawn on the map too
        frame = _map_frame(page)
        if frame.locator(".leaflet-control-layers").get_by_text("新增布点建议").count():
            break
        time.sleep(0.05)
    out["siting"] = time.perf_counter() - started
    time.sleep(1.0)  # the part's last messages
    out["cpu"] = _cpu(proc.pid) - cpu0
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        spy.wait(120)
    # another k on the same panel: the coverage is the same (the app keeps it, on this branch)
    after = page.locator('[data-testid="stMetric"]').filter(has_text="新增后覆盖居民").first
    said = after.text_content()
    _siting_tab(page, proc, "3")
    cpu0, started = _cpu(proc.pid), time.perf_counter()
    page.get_by_text("计算选址", exact=True).first.click()
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and after.text_content() == said:
        time.sleep(0.05)
    out["again"] = time.perf_counter() - started
    _quiet(proc.pid)
    out["cpu_again"] = _cpu(proc.pid) - cpu0
    if page.get_by_text("程序出错", exact=False).count():
        out["errors"].append("the app's own error message is on the page")


def _siting_tab(page, proc: subprocess.Popen, k: str):
    """The siting tab open with ``k`` set and the server quiet (a page run can redraw the tabs: then again)."""
    for _ in range(5):
        page.get_by_role("tab", name="选址模型").first.click()
        field = page.get_by_label("新增中心数 k")
        field.fill(k)
        field.press("Enter")
        time.sleep(3.0)  # the number is sent (a rerun of the siting part)
        _quiet(proc.pid)
        page.get_by_role("tab", name="选址模型").first.click()
        if field.input_value() == k and page.get_by_text("计算选址", exact=True).first.is_visible():
            return field
    raise RuntimeError("the siting tab did not keep k")


def city_inputs(page, proc: subprocess.Popen, url: str, city: Path):
    """The sample's page, then the city's prepared network picked, its facilities and its own units uploaded.

    Each upload once the server is quiet (one sent during a page run can be lost); returns the page's
    uploaders, the residents' still to be given (``bench_click_city`` times that one).
    """
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_text("38,245 / 38,367").wait_for(timeout=300_000)  # the sample first
    page.get_by_text("数据", exact=True).click()
    page.get_by_text("已整理的路网", exact=False).first.click()
    page.get_by_text("选择已整理的路网").wait_for(timeout=60_000)
    page.locator('[data-testid="stSelectbox"]').filter(has_text="选择已整理的路网").click()
    page.get_by_role("option").filter(has_text="100,489").click()
    up = page.locator('[data-testid="stFileUploader"]')
    _quiet(proc.pid)  # each upload once the page's run is over (one sent during a run can be lost)
    up.filter(has_text="服务设施").locator('input[type="file"]').set_input_files(str(city / "facilities.geojson"))
    up.filter(has_text="服务设施").get_by_text("facilities.geojson").wait_for(timeout=300_000)
    _quiet(proc.pid)
    # the city's own units: the sample's lie in Monaco, where the siting finds no candidate
    page.get_by_text("上传边界文件", exact=False).first.click()
    units = up.filter(has_text="含 level、code、name")
    units.locator('input[type="file"]').set_input_files(str(city / "boundaries.gpkg"))
    units.get_by_text("boundaries.gpkg").wait_for(timeout=300_000)
    time.sleep(3)
    _quiet(proc.pid)
    return up


def _quiet(pid: int, *, below_s: float = 0.05, timeout_s: float = 300) -> float:
    """Wait until the server spends under ``below_s`` of CPU in a second (its runs are over); the seconds waited."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout_s:
        cpu0 = _cpu(pid)
        time.sleep(1.0)
        if _cpu(pid) - cpu0 < below_s:
            break
    return time.perf_counter() - started


def _spy(pid: int, out: Path) -> subprocess.Popen:
    """py-spy (if given: a profiling aid, not a dependency) sampling the server until stopped, to ``out`` (raw)."""
    cmd = [os.environ.get("PY_SPY", "py-spy"), "record", "-p", str(pid), "-o", str(out), "-f", "raw", "-r", "50"]
    spy = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    return spy


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--city", type=Path, required=True)
    ap.add_argument("--base", type=Path, required=True, help="a worktree of the baseline")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-app", action="store_true", help="the command only")
    ap.add_argument("--no-cli", action="store_true", help="the app only")
    ap.add_argument("--only", choices=("base", "ours"), help="one of the two (e.g. to profile it)")
    ap.add_argument("--py-spy", type=Path, help="sample the server's siting step with py-spy into this folder")
    a = ap.parse_args()
    store = Path(tempfile.mkdtemp(prefix="qh-siting-store-"))
    work = Path(tempfile.mkdtemp(prefix="qh-siting-out-"))
    env = {**os.environ, "QUARTERHOUR_CACHE": str(store)}
    cmd = [sys.executable, "-m", "quarterhour.cli", "network", str(a.city / "network.graphml")]
    subprocess.run(cmd, check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    apps = (("main 45c2986", a.base.resolve()), ("this branch", ROOT))
    apps = tuple(app for app in apps if not a.only or app[0].startswith({"base": "main", "ours": "this"}[a.only]))
    cli: dict[str, list] = {n: [] for n, _ in apps}
    app: dict[str, list] = {n: [] for n, _ in apps}
    try:
        for run in range(a.runs):
            for name, root in apps:
                if not a.no_cli:
                    r = cli_run(root, a.city, store, work / f"{run}-{name.split()[0]}")
                    cli[name].append(r)
                    print(
                        f"cli {name}: wall {r['wall']:.2f} s, CPU {r['cpu']:.2f} s, siting step {r['step']:.1f} s, "
                        f"peak {r['peak_mb']:.0f} MiB, ok {r['ok']}, load {r['load']}\n    {r['answer']}\n"
                        f"    {r['sites']}",
                        flush=True,
                    )
                if not a.no_app:
                    spy = a.py_spy / f"{name.split()[0]}-{run}.txt" if a.py_spy else None
                    r = app_run(root, a.city, store, py_spy=spy)
                    app[name].append(r)
                    print(
                        f"app {name}: siting panel {r['siting'] or float('nan'):.2f} s, server CPU "
                        f"{r['cpu'] or float('nan'):.2f} s; then k = 3: {r['again'] or float('nan'):.2f} s, CPU "
                        f"{r['cpu_again'] or float('nan'):.2f} s; errors {r['errors']}, load {r['load']}",
                        flush=True,
                    )
    finally:
        shutil.rmtree(store, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    med = lambda v: statistics.median(v) if v else float("nan")  # noqa: E731
    print("\n| step | app | wall s (median; each) | CPU s (median) | load (1, 5, 15 min) at each run's start |")
    print("|---|---|---|---|---|")
    for name, _ in apps:
        rows = cli[name]
        if rows:
            walls, cpus, steps = [r["wall"] for r in rows], [r["cpu"] for r in rows], [r["step"] for r in rows]
            print(
                f"| `site` k = 5, whole process | {name} | **{med(walls):.2f}** "
                f"({', '.join(f'{w:.2f}' for w in walls)}) "
                f"| {med(cpus):.2f} | {'; '.join(r['load'] for r in rows)} |"
            )
            print(f"| its siting step | {name} | {med(steps):.1f} ({', '.join(f'{s:.1f}' for s in steps)}) | — | |")
    for name, _ in apps:
        rows = [r for r in app[name] if r["siting"] is not None]
        if rows:
            walls, cpus = [r["siting"] for r in rows], [r["cpu"] for r in rows]
            print(
                f"| app siting panel k = 5 | {name} | **{med(walls):.2f}** ({', '.join(f'{w:.2f}' for w in walls)}) "
                f"| {med(cpus):.2f} | {'; '.join(r['load'] for r in rows)} |"
            )
            again = [r for r in rows if r["again"] is not None]
            if again:
                walls, cpus = [r["again"] for r in again], [r["cpu_again"] for r in again]
                print(
                    f"| then k = 3 on the same panel | {name} | **{med(walls):.2f}** "
                    f"({', '.join(f'{w:.2f}' for w in walls)}) | {med(cpus):.2f} | |"
                )


if __name__ == "__main__":
    main()
