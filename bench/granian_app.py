"""A measuring aid for bench/http_workers.py, not a run mode: the app of one HTTP worker
(sta_server.app.worker_app, settings from the environment) for a WSGI server that imports a factory,
e.g. `python -m granian --interface wsgi --factory bench.granian_app:app`. No MQTT ingest process and
no TLS client identity (the default run mode's gunicorn has both)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sta_server.app import worker_app
from sta_server.settings import Settings

if TYPE_CHECKING:
    from flask import Flask


def app() -> Flask:
    return worker_app(Settings.from_env())
