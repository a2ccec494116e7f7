"""``quarterhour serve --workers N``: the app on N Streamlit processes behind nginx, for a city's planners at once.

Streamlit runs every session of one process in that process, so planners' clicks queue behind one
another on one core. ``serve`` starts N ``streamlit run app.py`` processes on free ports of
127.0.0.1 and one nginx (the Debian package, run as the calling user with its own pid, log and
temporary files in the run folder) in front of them:

- **Sticky sessions.** A planner's page, its files and its websocket must reach the process that
  holds their session (an upload is an HTTP request to the session's process). A new browser goes to
  the process with the fewest open connections (``least_conn``: websockets stay open, so this counts
  planners); the response sets the cookie ``quarterhour_process`` to that process's number, and every
  later request with the cookie goes to the same process (a reload, a dropped websocket that
  reconnects, an upload). ``ip_hash`` would put every planner behind one office proxy on one process.
  If that process is down, the next one answers and the cookie follows it.
- **Websockets** are passed through (``Upgrade``/``Connection``), never timed out while a page is open.
- **One workspace, one store.** Every process reads the same database (``--db``, else
  ``QUARTERHOUR_DATABASE_URL``; PostgreSQL for several processes, SQLite works too) and the same network
  store (``--store``, else ``QUARTERHOUR_CACHE``); the database is migrated once, before the processes
  start. They share one Streamlit cookie secret (made per run), so any process accepts another's.
- **One network per process.** ``quarterhour.ui.compute.load_network`` is a ``st.cache_resource`` keyed by the
  store entry: a process holds each network once, whatever the number of sessions on it.

SIGINT and SIGTERM stop nginx and every process and wait for them (exit 0); SIGHUP reloads nginx's
configuration (a renewed certificate) without dropping a planner's work: a websocket that nginx closes
reconnects to the same process and its session. A process that dies is started again. Each response
says which process answered in the header ``X-Quarterhour-Process`` (its number), and ``access.log``
in the run folder names the cookie and the process's address for every request.

The heavy steps (a city's first analysis, siting, a pack) stay in the page's process, on purpose:
their results (the network's arrays, the baseline a click is computed from) are needed in that
process's memory afterwards, and sending a city's network and result to a Dask worker and back costs
more than the step on the 2-core servers a district has; N processes already use N cores.
``quarterhour batch`` is where Dask pays.
"""

from __future__ import annotations

import argparse
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from geo.errors import InputError

__all__ = ["ServeOptions", "add_serve_parser", "nginx_config", "serve_command"]

#: The cookie that keeps a browser on its process.
COOKIE = "quarterhour_process"
#: The upload limit nginx lets through: Streamlit's own (``.streamlit/config.toml`` server.maxUploadSize).
MAX_BODY_MB = 100
APP = Path(__file__).resolve().parents[2] / "app.py"


@dataclass(frozen=True)
class ServeOptions:
    """What ``serve`` starts: ``workers`` processes behind nginx on ``host:port``, its files in ``run_dir``."""

    workers: int
    port: int
    run_dir: Path
    host: str = "127.0.0.1"
    db: str | None = None
    store: Path | None = None
    app: Path = APP
    tls_cert: Path | None = None
    tls_key: Path | None = None
    worker_ports: tuple[int, ...] = field(default=())


def nginx_config(options: ServeOptions) -> str:
    """The nginx configuration for ``options`` (its ``worker_ports`` chosen), with every path in the run folder.

    Examples
    --------
    >>> text = nginx_config(ServeOptions(workers=2, port=8080, run_dir=Path("/srv/qh"), worker_ports=(9001, 9002)))
    >>> "server 127.0.0.1:9001;" in text and "listen 127.0.0.1:8080;" in text
    True
    """
    run = options.run_dir
    ports = options.worker_ports
    servers = "\n".join(f"        server 127.0.0.1:{p};" for p in ports)
    pinned = []
    for i, p in enumerate(ports, 1):
        backups = "".join(f"\n        server 127.0.0.1:{q} backup;" for q in ports if q != p)
        pinned.append(f"    upstream quarterhour_{i} {{\n        server 127.0.0.1:{p};{backups}\n    }}")
    by_cookie = "\n".join(f"        {i} quarterhour_{i};" for i in range(1, len(ports) + 1))
    by_address = "\n".join(f'        "~127\\.0\\.0\\.1:{p}$" {i};' for i, p in enumerate(ports, 1))
    tls = ""
    listen = f"listen {options.host}:{options.port};"
    if options.tls_cert is not None:
        listen = f"listen {options.host}:{options.port} ssl;"
        tls = (
            f"        ssl_certificate {options.tls_cert};\n        ssl_certificate_key {options.tls_key};\n"
            "        ssl_protocols TLSv1.2 TLSv1.3;\n"
            '        add_header Strict-Transport-Security "max-age=31536000" always;\n'
        )
    secure = "; Secure" if options.tls_cert is not None else ""
    # nginx started by root runs its workers as "nobody", who could not write the run folder: keep the user
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};\n" if os.geteuid() == 0 else ""
    return f"""# Written by `quarterhour serve` ({len(ports)} processes); rewritten at every start (deploy/: by hand).
{user}worker_processes 1;
daemon off;
pid {run}/nginx.pid;
error_log {run}/error.log warn;
worker_shutdown_timeout 2s;  # a reload closes old websockets after 2 s; browsers reconnect to their process

events {{
    worker_connections 4096;
}}

http {{
    client_body_temp_path {run}/temp/client_body;
    proxy_temp_path {run}/temp/proxy;
    fastcgi_temp_path {run}/temp/fastcgi;
    uwsgi_temp_path {run}/temp/uwsgi;
    scgi_temp_path {run}/temp/scgi;
    log_format quarterhour '$remote_addr [$time_local] "$request" $status $body_bytes_sent '
                           'cookie=$cookie_{COOKIE} process=$quarterhour_process upstream=$upstream_addr';
    access_log {run}/access.log quarterhour;
    server_tokens off;
    client_max_body_size {MAX_BODY_MB}m;

    map $http_upgrade $connection_upgrade {{
        default upgrade;
        "" close;
    }}
    # A browser with the cookie goes to its process; a new one to the least busy.
    map $cookie_{COOKIE} $quarterhour_upstream {{
        default quarterhour;
{by_cookie}
    }}
    # Which process answered (the last address tried): its number, for the cookie and the header.
    map $upstream_addr $quarterhour_process {{
        default "";
{by_address}
    }}
    map $quarterhour_process $quarterhour_cookie {{
        "" "";
        default "{COOKIE}=$quarterhour_process; Path=/; HttpOnly; SameSite=Lax{secure}";
    }}
    upstream quarterhour {{
        least_conn;
        zone quarterhour 64k;
{servers}
    }}
{chr(10).join(pinned)}

    server {{
        {listen}
{tls}        location / {{
            proxy_pass http://$quarterhour_upstream;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_read_timeout 1d;
            proxy_send_timeout 1d;
            proxy_buffering off;
            proxy_request_buffering off;
            add_header Set-Cookie $quarterhour_cookie always;
            add_header X-Quarterhour-Process $quarterhour_process always;
        }}
    }}
}}
"""


def _free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _nginx() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if found is None:
        raise InputError("serve_nginx_not_installed")
    return found


def _check(options: ServeOptions) -> None:
    """Refuse, before anything starts, what would fail later: no app, a busy port, half a certificate."""
    if not options.app.is_file():
        raise InputError("serve_no_app")
    if (options.tls_cert is None) != (options.tls_key is None):
        raise InputError("serve_tls_pair")
    for path in (options.tls_cert, options.tls_key):
        if path is not None and not path.is_file():
            raise InputError("serve_tls_file_missing", file=path.name)
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as nginx binds: a just-closed port is free
        try:
            s.bind((options.host, options.port))
        except OSError as exc:
            raise InputError(
                "serve_cannot_listen", host=options.host, port=options.port, strerror=exc.strerror
            ) from None


def _migrate(db: str | None) -> None:
    """Open the workspace once, so its migrations run before N processes would race to run them."""
    from quarterhour.workspace.db import database_url, open_engine

    open_engine(database_url(db)).dispose()


def _environment(options: ServeOptions) -> dict[str, str]:
    env = dict(os.environ)
    if options.db:
        env["QUARTERHOUR_DATABASE_URL"] = options.db
    if options.store is not None:
        env["QUARTERHOUR_CACHE"] = str(options.store)
    env.setdefault("STREAMLIT_SERVER_COOKIE_SECRET", secrets.token_hex(32))  # one secret for every process
    return env


class _Farm:
    """The running processes: N Streamlit workers and nginx; started, watched, restarted, stopped."""

    def __init__(self, options: ServeOptions, env: dict[str, str]) -> None:
        self.options, self.env = options, env
        self.workers: dict[int, subprocess.Popen] = {}
        self.started: dict[int, float] = {}
        self.nginx: subprocess.Popen | None = None

    def start_worker(self, port: int) -> None:
        log = (self.options.run_dir / f"worker-{port}.log").open("ab")
        command = [sys.executable, "-m", "streamlit", "run", str(self.options.app)]
        command += ["--server.headless", "true", "--server.address", "127.0.0.1", "--server.port", str(port)]
        command += ["--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
        self.workers[port] = subprocess.Popen(
            command,
            cwd=self.options.app.parent,  # its .streamlit/config.toml
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C reaches serve, which stops them in order
        )
        log.close()
        self.started[port] = time.monotonic()

    def wait_ready(self, timeout_s: float = 180.0) -> None:
        deadline = time.monotonic() + timeout_s
        waiting = set(self.workers)
        while waiting:
            for port in list(waiting):
                if self.workers[port].poll() is not None:
                    raise InputError(
                        "serve_app_stopped_at_start", file=f"worker-{port}.log", port=port, run_dir=self.options.run_dir
                    )
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).close()
                    waiting.discard(port)
                except OSError:
                    pass
            if waiting and time.monotonic() > deadline:
                raise InputError("serve_app_no_answer", timeout_s=timeout_s)
            if waiting:
                time.sleep(0.3)

    def start_nginx(self) -> None:
        run = self.options.run_dir
        out = (run / "nginx.out").open("ab")
        self.nginx = subprocess.Popen(
            [_nginx(), "-e", str(run / "error.log"), "-p", str(run), "-c", str(run / "nginx.conf")],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        out.close()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.nginx.poll() is not None:
                raise InputError("serve_nginx_stopped_at_start", file="error.log", run=run)
            with socket.socket() as s:
                s.settimeout(1)
                if s.connect_ex((self.options.host, self.options.port)) == 0:
                    return
            time.sleep(0.1)
        raise InputError("serve_nginx_no_listen", file="error.log", run=run)

    def watch(self) -> None:
        """Start again a worker that died (said on stderr; not within 10 s of its last start); nginx dying ends all."""
        for port, proc in list(self.workers.items()):
            if proc.poll() is not None and time.monotonic() - self.started[port] > 10:
                print(
                    f"note: the app's process on port {port} stopped ({proc.returncode}); starting it again",
                    file=sys.stderr,
                )
                self.start_worker(port)
        if self.nginx is not None and self.nginx.poll() is not None:
            raise InputError("serve_nginx_stopped", file="error.log", run_dir=self.options.run_dir)

    def reload(self) -> None:
        if self.nginx is not None and self.nginx.poll() is None:
            self.nginx.send_signal(signal.SIGHUP)

    def stop(self, timeout_s: float = 15.0) -> None:
        procs = [p for p in (self.nginx, *self.workers.values()) if p is not None]
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGQUIT if proc is self.nginx else signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for proc in procs:
            try:
                proc.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def serve(options: ServeOptions, *, stop: threading.Event, reload: threading.Event | None = None) -> int:
    """Run the farm until ``stop`` is set; every process is stopped and waited for on the way out.

    Parameters
    ----------
    options
        The farm; its ``worker_ports`` are chosen here when empty.
    stop
        Set (by SIGINT/SIGTERM in ``serve_command``) to stop everything.
    reload
        Set (by SIGHUP) to reload nginx's configuration.

    Returns
    -------
    int
        0 once everything has stopped.
    """
    _check(options)
    _nginx()
    _migrate(options.db)
    if not options.worker_ports:
        ports = set()
        while len(ports) < options.workers:
            ports.add(_free_port())
        options = ServeOptions(**{**options.__dict__, "worker_ports": tuple(sorted(ports))})
    run = options.run_dir
    for sub in ("temp/client_body", "temp/proxy", "temp/fastcgi", "temp/uwsgi", "temp/scgi"):
        (run / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
    run.chmod(0o700)
    (run / "nginx.conf").write_text(nginx_config(options), encoding="utf-8")
    farm = _Farm(options, _environment(options))
    try:
        for port in options.worker_ports:
            farm.start_worker(port)
        farm.wait_ready()
        farm.start_nginx()
        scheme = "https" if options.tls_cert else "http"
        print(
            f"serving on {scheme}://{options.host}:{options.port}/ : {options.workers} processes "
            f"(127.0.0.1:{', '.join(map(str, options.worker_ports))}) behind nginx; files in {run}; "
            "Ctrl-C or SIGTERM stops all",
            flush=True,
        )
        while not stop.wait(0.5):
            if reload is not None and reload.is_set():
                reload.clear()
                farm.reload()
            farm.watch()
    finally:
        farm.stop()
    print("stopped: nginx and every process", flush=True)
    return 0


def _workers(text: str) -> int:
    from quarterhour.cli.args import whole_number  # here: cli_args registers this parser

    return whole_number(text, least=1)


def _port(text: str) -> int:
    from quarterhour.cli.args import whole_number

    port = whole_number(text, least=1)
    if port > 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port (1 to 65535)")
    return port


def add_serve_parser(sub: argparse._SubParsersAction) -> None:
    """``quarterhour serve --workers N [--port P] [--host H] [--db URL] [--store DIR] [--run-dir DIR]``."""
    p = sub.add_parser(
        "serve",
        help="the app on N processes behind nginx (sticky sessions, websockets), for many planners at once",
        description="Start N 'streamlit run app.py' processes on free ports of 127.0.0.1 and nginx in front of "
        "them on --host:--port, all sharing one workspace database and one network store. Ctrl-C or SIGTERM "
        "stops them all; SIGHUP reloads nginx. See the README's section for the IT department.",
    )
    p.add_argument("--workers", type=_workers, default=2, help="Streamlit processes (default 2; about one per core)")
    p.add_argument("--port", type=_port, default=8501, help="nginx's port (default 8501)")
    p.add_argument("--host", default="127.0.0.1", help="nginx's address (default 127.0.0.1; 0.0.0.0: every one)")
    p.add_argument("--db", help="the workspace database URL (default: $QUARTERHOUR_DATABASE_URL, else SQLite)")
    p.add_argument("--store", type=Path, help="the network store folder (default: $QUARTERHOUR_CACHE, else the user's)")
    p.add_argument("--run-dir", type=Path, help="nginx.conf, pid, logs (default: <store>/serve-<port>)")
    p.add_argument("--tls-cert", type=Path, help="serve https with this certificate (PEM; with --tls-key)")
    p.add_argument("--tls-key", type=Path, help="the certificate's private key (PEM)")
    p.add_argument("--app", type=Path, default=APP, help=argparse.SUPPRESS)


def serve_command(args: argparse.Namespace) -> int:
    """``quarterhour serve``: until SIGINT or SIGTERM."""
    from geo.store import cache_root

    run_dir = args.run_dir or cache_root(args.store) / f"serve-{args.port}"
    options = ServeOptions(
        workers=args.workers,
        port=args.port,
        host=args.host,
        run_dir=Path(run_dir).absolute(),
        db=args.db,
        store=args.store.absolute() if args.store else None,
        app=args.app.absolute(),
        tls_cert=args.tls_cert.absolute() if args.tls_cert else None,
        tls_key=args.tls_key.absolute() if args.tls_key else None,
    )
    stop, reload = threading.Event(), threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGHUP, lambda *_: reload.set())
    return serve(options, stop=stop, reload=reload)
