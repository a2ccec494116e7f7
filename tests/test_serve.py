"""``quarterhour serve`` (issue 29): the app on several processes behind a real nginx, each planner kept on theirs."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy

from quarterhour.cli.serve import ServeOptions, nginx_config
from quarterhour.workspace.db import database_url
from tests.conftest import new_postgres_database
from tests.test_browser import CHROMIUM, add_centre, biggest_gap

ROOT = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)

needs_nginx = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@needs_nginx
@pytest.mark.parametrize("tls", [False, True])
def test_nginx_accepts_the_written_config(tmp_path, tls):
    """The config ``serve`` writes passes ``nginx -t`` (the real binary, as the calling user), with and without TLS."""
    cert, key = _certificate(tmp_path) if tls else (None, None)
    options = ServeOptions(
        workers=3, port=_free_port(), run_dir=tmp_path, worker_ports=(9101, 9102, 9103), tls_cert=cert, tls_key=key
    )
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / "temp" / sub).mkdir(parents=True)
    (tmp_path / "nginx.conf").write_text(nginx_config(options), encoding="utf-8")
    done = subprocess.run(
        [NGINX, "-t", "-e", str(tmp_path / "error.log"), "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "syntax is ok" in done.stderr
    text = (tmp_path / "nginx.conf").read_text(encoding="utf-8")
    assert text.count("server 127.0.0.1:9102") == 4  # in the pool, its own upstream, the two others' backup
    assert ("ssl_certificate" in text) is tls


def _certificate(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@needs_nginx
def test_the_deploy_site_file_passes_nginx_t(tmp_path):
    """deploy/nginx-quarterhour.conf, as the Debian package's nginx includes it (inside http {}), with its
    certificate paths pointed at a fresh self-signed pair."""
    cert, key = _certificate(tmp_path)
    site = (ROOT / "deploy" / "nginx-quarterhour.conf").read_text(encoding="utf-8")
    site = site.replace("/etc/ssl/certs/quarterhour.pem", str(cert)).replace(
        "/etc/ssl/private/quarterhour.key", str(key)
    )
    site = site.replace("listen 80;", f"listen 127.0.0.1:{_free_port()};")
    site = site.replace("listen 443 ssl;", f"listen 127.0.0.1:{_free_port()} ssl;")
    temps = "".join(
        f"    {kind}_temp_path {tmp_path}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nevents {{}}\nhttp {{\n{temps}    access_log off;\n{site}\n}}\n", encoding="utf-8"
    )
    done = subprocess.run(
        [NGINX, "-t", "-e", str(tmp_path / "error.log"), "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    services = [
        (ROOT / "deploy" / n).read_text(encoding="utf-8") for n in ("quarterhour@.service", "quarterhour-serve.service")
    ]
    ports = set(re.findall(r"~127\\\.0\\\.0\\\.1:(\d+)\$", site))  # the cookie's map
    assert ports == set(re.findall(r"server 127\.0\.0\.1:(\d+);", site)) == {"8601", "8602"}  # one list of ports
    assert all("EnvironmentFile=/etc/quarterhour/env" in text for text in services)


def test_a_busy_port_is_refused_before_anything_starts(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "quarterhour.cli", "serve", "--port", str(port), "--run-dir", str(tmp_path / "r")],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    assert done.stderr.startswith("error: cannot listen on 127.0.0.1:") and "--port" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()  # nothing written, nothing started


def _start_serve(tmp_path: Path, port: int, db: str) -> tuple[subprocess.Popen, Path, list[str]]:
    """``quarterhour serve --workers 2`` on ``port`` and the workspace ``db``; returns once it says it is serving."""
    run = tmp_path / "run"
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "quarterhour.cli", "serve", "--workers", "2", "--port", str(port)),
            *("--db", db, "--store", str(tmp_path / "store")),
            *("--run-dir", str(run)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("serving on"):
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(90):
        proc.kill()
        pytest.fail(f"serve did not start: {''.join(lines)}")
    return proc, run, lines


def _stream_lines(run: Path) -> list[tuple[str, str]]:
    """(cookie, upstream) of every websocket nginx logged (a websocket is logged when it closes)."""
    log = (run / "access.log").read_text(encoding="utf-8")
    return re.findall(r'"GET /_stcore/stream [^"]*" 101 .*cookie=(\S+) process=\S* upstream=(\S+)', log)


@pytest.mark.slow
@pytest.mark.browser
@needs_nginx
@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (apt-get install chromium)")
def test_two_planners_through_nginx_stay_on_their_own_processes(browser, tmp_path, sample, postgres_url):
    """Two browsers through nginx land on the two processes, which share one PostgreSQL workspace; an nginx reload
    drops both websockets, and each reconnects to its own process and session: A's centre and language, B's
    untouched page."""
    pytest.importorskip("playwright.sync_api")
    gap = biggest_gap(sample)
    port = _free_port()
    t0 = time.monotonic()
    db = new_postgres_database(postgres_url)
    proc, run, said = _start_serve(tmp_path, port, db)
    print(f"serving after {time.monotonic() - t0:.1f} s")
    url = f"http://127.0.0.1:{port}/"
    errors: list[str] = []
    try:
        pages, sockets, processes = [], {0: [], 1: []}, []
        for i in range(2):  # B opens once A's websocket is open: a new planner goes to the least busy process
            page = browser.new_context(viewport={"width": 1500, "height": 1200}).new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("websocket", lambda ws, i=i: sockets[i].append(ws.url))
            processes.append(page.goto(url, wait_until="domcontentloaded").headers["x-quarterhour-process"])
            while not sockets[i]:  # its websocket is open: B goes to the other process
                page.wait_for_timeout(100)
            pages.append(page)
        for i, page in enumerate(pages):  # the two processes draw their first maps at once
            page.get_by_text("38,245 / 38,367").first.wait_for(timeout=90_000)
            print(f"page {i} drawn after {time.monotonic() - t0:.1f} s")
        a, b = pages
        assert sorted(processes) == ["1", "2"]  # two processes, one each
        add_centre(a, gap)  # A: a centre, then English; B: nothing changed
        a.get_by_text("English", exact=True).click()
        a.get_by_text("residents newly covered,", exact=False).first.wait_for(timeout=30_000)
        print(f"centre added after {time.monotonic() - t0:.1f} s")
        proc.send_signal(signal.SIGHUP)  # serve reloads nginx: old workers close the websockets after 2 s
        deadline = time.monotonic() + 30
        while min(len(sockets[0]), len(sockets[1])) < 2 and time.monotonic() < deadline:
            a.wait_for_timeout(200)
        assert len(sockets[0]) >= 2 and len(sockets[1]) >= 2, sockets  # both reconnected
        a.get_by_text("15-minute party-service circle").first.wait_for(timeout=30_000)
        a.get_by_text("residents newly covered,", exact=False).first.wait_for(timeout=30_000)
        a.get_by_text("新中心 1").first.wait_for(state="attached", timeout=30_000)  # the centre keeps its name
        b.get_by_text("38,245 / 38,367").first.wait_for(timeout=30_000)
        b.get_by_text("一刻钟党建服务圈").first.wait_for(timeout=30_000)
        assert b.get_by_text("新中心 1").count() == 0 and b.get_by_text("失去覆盖", exact=False).count() == 0
        assert a.get_by_text("一刻钟党建服务圈").count() == 0  # A's session, not a new one resumed in Chinese
        print(f"reconnected after {time.monotonic() - t0:.1f} s")
        for page in pages:  # a reload: the page again from the cookie's process
            assert (
                page.reload(wait_until="domcontentloaded").headers["x-quarterhour-process"]
                == processes[pages.index(page)]
            )
        for page in pages:  # their websockets close (nginx logs a websocket when it closes)
            page.context.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        status = proc.wait(30)
        proc.stdout.close()
    assert status == 0 and "stopped: nginx and every process" in "".join(said)
    assert errors == []
    pid = int((run / "nginx.pid").read_text()) if (run / "nginx.pid").exists() else None
    assert pid is None or not Path(f"/proc/{pid}").exists()
    for worker in re.findall(r"worker-(\d+)\.log", " ".join(p.name for p in run.iterdir())):
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{worker}/_stcore/health", timeout=2)
    streams = _stream_lines(run)
    by_cookie: dict[str, set[str]] = {}
    for cookie, upstream in streams:
        by_cookie.setdefault(cookie, set()).add(upstream)
    assert sorted(by_cookie) == ["1", "2"], streams  # every websocket carried its process's cookie
    assert all(len(ups) == 1 for ups in by_cookie.values()), streams  # and reached that process, each time
    assert by_cookie["1"] != by_cookie["2"]
    assert len(streams) >= 4  # two per planner at least: before and after the reload
    engine = sqlalchemy.create_engine(database_url(db))
    with engine.connect() as conn:  # A's centre, saved by process 1 into the workspace every process shares
        saved = conn.execute(sqlalchemy.text("SELECT count(*) FROM changes")).scalar_one()
    engine.dispose()
    assert saved >= 1
