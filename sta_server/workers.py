"""The multi-process run mode (`STA_HTTP_WORKERS` > 1, or HTTPS with `STA_TLS_CERT_FILE`): HTTP
workers, each with its own database pool and MQTT notifier, and one ingest process that takes the
MQTT creates. Plain HTTP is served by granian's WSGI workers (its HTTP layer costs a third of gunicorn
gthread's CPU, a POST about half the server CPU in all: docs/benchmarks.md); HTTPS by gunicorn, which
terminates TLS and hands the client certificate on (sta_server/tls.py; granian does not).
STA_HTTP_SERVER=gunicorn serves plain HTTP with gunicorn too."""
from __future__ import annotations

import functools
import logging
import os
import pathlib
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from gunicorn.app.base import BaseApplication

from sta_server.settings import Settings
from sta_server.supervisor import Supervisor
from sta_server.tls import gunicorn_tls_options, with_client_identity

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

log = logging.getLogger(__name__)


# The HTTP side of the default run mode: STA_HTTP_WORKERS processes (Settings) of this worker class
# with this many threads each, and idle keep-alive connections kept this many seconds. Chosen by
# measurement (bench/http_workers.py, docs/benchmarks.md); the variables are for measuring others.
HTTP_SERVER = "granian"  # or "gunicorn" (HTTPS is always gunicorn's)
WORKER_CLASS = "gthread"
THREADS = 8
KEEPALIVE_S = 2


def http_options(environ: Mapping[str, str]) -> dict[str, Any]:
    """gunicorn's worker settings from STA_HTTP_WORKER_CLASS, STA_HTTP_THREADS and
    STA_HTTP_KEEPALIVE (defaults above)."""
    threads = int(environ.get("STA_HTTP_THREADS") or THREADS)
    keepalive = int(environ.get("STA_HTTP_KEEPALIVE") or KEEPALIVE_S)
    if threads < 1 or keepalive < 0:
        raise ValueError("STA_HTTP_THREADS must be ≥ 1 and STA_HTTP_KEEPALIVE ≥ 0")
    return {"worker_class": environ.get("STA_HTTP_WORKER_CLASS") or WORKER_CLASS, "threads": threads,
            "keepalive": keepalive}


def http_server(environ: Mapping[str, str], settings: Settings) -> str:
    """Which server runs the HTTP workers: STA_HTTP_SERVER (default HTTP_SERVER); HTTPS is always
    gunicorn's (sta_server/tls.py: the client certificate's identity, the CRL reloaded)."""
    name = environ.get("STA_HTTP_SERVER") or HTTP_SERVER
    if name not in ("gunicorn", "granian"):
        raise ValueError(f"STA_HTTP_SERVER must be gunicorn or granian, not {name!r}")
    return "gunicorn" if settings.tls_cert_file else name


class Workers(BaseApplication):  # type: ignore[misc]
    """`app_factory` builds the app of one worker after the fork (pools and threads are not shared):
    sta_server.app.worker_app."""

    def __init__(self, settings: Settings, app_factory: Callable[[Settings], WSGIApplication]) -> None:
        self.settings = settings
        self.app_factory = app_factory
        super().__init__()

    def load_config(self) -> None:
        config: dict[str, Any] = {
            "bind": f"{self.settings.http_host}:{self.settings.http_port}",
            "workers": self.settings.http_workers, **http_options(os.environ),
            "loglevel": self.settings.log_level.lower(), "accesslog": None, "timeout": 120,
            # gunicorn ≥ 25.1 opens a control socket at one path per user ($HOME/.gunicorn): several
            # servers (tests, a second instance) would take it from each other; nothing here uses it
            "control_socket_disable": True,
            **gunicorn_tls_options(self.settings),
        }
        for key, value in config.items():
            if key in self.cfg.settings or key != "control_socket_disable":  # the TLS ones must exist
                self.cfg.set(key, value)

    def load(self) -> WSGIApplication:
        """The app of a worker; the identity of a TLS client certificate in each request's environ."""
        return with_client_identity(self.app_factory(self.settings))


def start_ingest_process(counters_dir: pathlib.Path | None = None, restarts: int = 0,
                         timeout_s: float = 30.0) -> subprocess.Popen[bytes]:
    """`python -m sta_server.ingest_process`, once it says (on a pipe) that it is connected; it
    writes its counters to `counters_dir` (sta_server/counters.py), with how many times the ingest
    process was restarted before it (sta_server/supervisor.py)."""
    read_end, write_end = os.pipe()
    env = dict(os.environ, STA_READY_FD=str(write_end), STA_INGEST_RESTARTS=str(restarts))
    if counters_dir is not None:
        env["STA_COUNTERS_DIR"] = str(counters_dir)
    process = subprocess.Popen([sys.executable, "-m", "sta_server.ingest_process"], env=env, pass_fds=(write_end,))
    os.close(write_end)
    try:
        ready, _, _ = select.select([read_end], [], [], timeout_s)
        if not ready or not os.read(read_end, 16):
            log.warning("the MQTT ingest process is not connected after %.0f s; serving HTTP anyway", timeout_s)
    finally:
        os.close(read_end)
    return process


def serve_workers(settings: Settings, app_factory: Callable[..., WSGIApplication]) -> None:
    """Start the ingest process (when MQTT is on) and wait until it is connected to the broker (so
    that a client that subscribes once HTTP answers is in its subscription registry), then the HTTP
    workers (`app_factory(settings, counters_dir=…)` in each); stop both together. The processes
    share their counters through files in a run directory of their own (mode 0700). The ingest
    process is restarted whenever it ends (sta_server/supervisor.py); gunicorn restarts workers."""
    parent = os.getpid()
    counters_dir = pathlib.Path(tempfile.mkdtemp(prefix="sta-counters-"))
    ingest = None
    if settings.mqtt_url:
        ingest = Supervisor("MQTT ingest process", functools.partial(start_ingest_process, counters_dir))
        ingest.start()
    log.info("serving SensorThings API on %s/v1.1 with %s workers", settings.base_url, settings.http_workers)
    make_app = functools.partial(app_factory, settings, counters_dir=counters_dir)
    try:
        if http_server(os.environ, settings) == "granian":
            serve_granian(settings, make_app)
        else:
            Workers(settings, functools.partial(app_factory, counters_dir=counters_dir)).run()
    finally:
        if os.getpid() == parent:  # a worker leaves gunicorn's loop through here too (SystemExit)
            if ingest is not None:
                ingest.stop()
            shutil.rmtree(counters_dir, ignore_errors=True)


# Plain HTTP (STA_HTTP_SERVER=granian, the default): granian's WSGI workers. granian forks its workers
# and imports their app by name: `granian_app` builds it with the factory the master left here before
# the fork.
_GRANIAN_APP: dict[str, Callable[[], WSGIApplication]] = {}


def granian_app() -> WSGIApplication:
    """The app of one granian worker; the worker leaves when its master is gone (gunicorn's workers
    check their parent themselves, granian's do not)."""
    make_app = _GRANIAN_APP["make"]  # set by serve_granian in the master before the fork
    threading.Thread(target=_leave_with_parent, args=(os.getppid(),), daemon=True, name="parent-watch").start()
    return make_app()


def _leave_with_parent(parent: int, every_s: float = 1.0) -> None:
    while os.getppid() == parent:
        time.sleep(every_s)
    log.warning("the parent process (pid %s) is gone; this HTTP worker stops", parent)
    os._exit(0)


def serve_granian(settings: Settings, make_app: Callable[[], WSGIApplication]) -> None:
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces
    from granian.log import LogLevels

    _GRANIAN_APP["make"] = make_app
    Granian(f"{__name__}:granian_app", address=settings.http_host, port=settings.http_port,
            interface=Interfaces.WSGI, workers=settings.http_workers,
            blocking_threads=http_options(os.environ)["threads"], factory=True,
            http=HTTPModes.http1, websockets=False, respawn_failed_workers=True,
            log_level=LogLevels(settings.log_level.lower())).serve()
