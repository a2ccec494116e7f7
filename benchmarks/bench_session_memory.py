"""Memory per added planner on one app process behind nginx (issue 29 item 2).

    python benchmarks/bench_session_memory.py [--sessions 5]

Starts ``quarterhour serve --workers 1`` (real nginx, one Streamlit process) on a fresh
workspace and store, then opens the bundled sample in ``--sessions`` headless Debian chromium
pages one after another, each kept open (its session alive), waiting for each page's headline.
After each it reads the Streamlit process's resident memory (RSS and USS, psutil). The network
is a ``st.cache_resource`` keyed by its store entry, so a session should add its own page state
only, not a network: the figure per added session is (memory with N sessions − with 1) / (N − 1).
Prints the table and the machine's load beside it.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(serve: subprocess.Popen) -> psutil.Process:
    for child in psutil.Process(serve.pid).children(recursive=True):
        if "streamlit" in " ".join(child.cmdline()):
            return child
    raise SystemExit("no Streamlit process under serve")


def _memory(proc: psutil.Process) -> tuple[float, float]:
    time.sleep(2)  # the rerun's temporaries freed
    info = proc.memory_full_info()
    return info.rss / MIB, info.uss / MIB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="qh-mem-"))
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QUARTERHOUR_STORE_KEY": os.environ.get("QUARTERHOUR_STORE_KEY", "b")}
    serve = subprocess.Popen(
        [
            *(sys.executable, "-m", "quarterhour.cli", "serve", "--workers", "1", "--port", str(port)),
            *("--db", f"sqlite:///{tmp / 'ws.sqlite'}", "--store", str(tmp / "store"), "--run-dir", str(tmp / "run")),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    ready = threading.Event()
    threading.Thread(
        target=lambda: [ready.set() for line in serve.stdout if line.startswith("serving")], daemon=True
    ).start()
    if not ready.wait(120):
        serve.kill()
        raise SystemExit("serve did not start")
    worker = _worker(serve)
    rows = [("0 (started)", *_memory(worker), os.getloadavg()[0])]
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
            for n in range(1, args.sessions + 1):
                page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
                started = time.perf_counter()
                page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
                page.get_by_text("38,245 / 38,367").wait_for(timeout=180_000)
                took = time.perf_counter() - started
                rss, uss = _memory(worker)
                rows.append((f"{n} ({took:.1f} s to the headline)", rss, uss, os.getloadavg()[0]))
                print(f"{n} sessions: RSS {rss:.0f} MiB, USS {uss:.0f} MiB", flush=True)
            browser.close()
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(60)
    print("\n| sessions open | RSS (MiB) | USS (MiB) | load (1 min) |\n|---|---|---|---|")
    for name, rss, uss, load in rows:
        print(f"| {name} | {rss:.0f} | {uss:.0f} | {load:.1f} |")
    n = len(rows) - 2
    if n >= 1:
        per_rss = (rows[-1][1] - rows[1][1]) / n
        per_uss = (rows[-1][2] - rows[1][2]) / n
        print(
            f"\nper added session: {per_rss:.1f} MiB RSS, {per_uss:.1f} MiB USS (first session: "
            f"{rows[1][1] - rows[0][1]:.0f} MiB RSS, the network and the sample's analysis)"
        )


if __name__ == "__main__":
    main()
