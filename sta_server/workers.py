"""The multi-process run mode (`STA_HTTP_WORKERS` > 1, or HTTPS with `STA_TLS_CERT_FILE`): gunicorn
HTTP workers, each with its own database pool and MQTT notifier, and one ingest process that takes
the MQTT creates. With TLS, gunicorn terminates it (sta_server/tls.py)."""
from __future__ import annotations

import logging
import os
import select
import subprocess
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from sta_server.settings import Settings
from sta_server.tls import gunicorn_tls_options, with_client_identity

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

log = logging.getLogger(__name__)


def worker_app(settings: Settings) -> Flask:
    """The app of one worker, built after the fork (pools and threads are not shared)."""
    from sta_server.app import MQTT_CONFORMANCE, create_app
    from sta_server.mqtt.service import MqttService
    from sta_server.service.events import EventBus
    from sta_server.sql.engine import make_engine

    engine = make_engine(settings)
    events = EventBus()
    app = create_app(settings, engine, events)
    if settings.mqtt_url:
        notifier = MqttService(settings, engine, events, ingest=False)
        notifier.start()
        app.config["STA_EXTRA_CONFORMANCE"] = MQTT_CONFORMANCE
        app.config["STA_MQTT"] = notifier
    return app


class Workers(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings,
                 app_factory: Callable[[Settings], WSGIApplication] = worker_app) -> None:
        self.settings = settings
        self.app_factory = app_factory
        super().__init__()

    def load_config(self) -> None:
        config: dict[str, Any] = {
            "bind": f"{self.settings.http_host}:{self.settings.http_port}",
            "workers": self.settings.http_workers, "worker_class": "gthread", "threads": 8,
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


def start_ingest_process(timeout_s: float = 30.0) -> subprocess.Popen[bytes]:
    """`python -m sta_server.ingest_process`, once it says (on a pipe) that it is connected."""
    read_end, write_end = os.pipe()
    env = dict(os.environ, STA_READY_FD=str(write_end))
    process = subprocess.Popen([sys.executable, "-m", "sta_server.ingest_process"], env=env, pass_fds=(write_end,))
    os.close(write_end)
    try:
        ready, _, _ = select.select([read_end], [], [], timeout_s)
        if not ready or not os.read(read_end, 16):
            log.warning("the MQTT ingest process is not connected after %.0f s; serving HTTP anyway", timeout_s)
    finally:
        os.close(read_end)
    return process


def serve_workers(settings: Settings) -> None:
    """Start the ingest process (when MQTT is on) and wait until it is connected to the broker (so
    that a client that subscribes once HTTP answers is in its subscription registry), then the HTTP
    workers; stop both together."""
    ingest = start_ingest_process() if settings.mqtt_url else None
    log.info("serving SensorThings API on %s/v1.1 with %s workers", settings.base_url, settings.http_workers)
    try:
        Workers(settings).run()
    finally:
        if ingest is not None:
            ingest.terminate()
            ingest.wait(timeout=30)
