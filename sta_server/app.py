"""The application factory and the entry point (`sta-server`)."""
from __future__ import annotations

import logging
import pathlib

from flask import Flask
from sqlalchemy import Engine
from waitress import serve

from sta_server.api import batch, metrics
from sta_server.api.entities import blueprint
from sta_server.api.errors import register_error_handlers
from sta_server.api.metrics import COUNTERS_DIR
from sta_server.api.openapi import register_openapi
from sta_server.api.root import mqtt_endpoints
from sta_server.counters import CounterWriter
from sta_server.mqtt.service import MqttService
from sta_server.security.authenticate import register_authentication
from sta_server.security.broker_files import BrokerFileKeeper
from sta_server.service.events import EventBus
from sta_server.settings import Settings
from sta_server.sql import partitions
from sta_server.sql.engine import make_engine

log = logging.getLogger(__name__)


def create_app(settings: Settings, engine: Engine | None = None, events: EventBus | None = None) -> Flask:
    app = Flask(__name__)
    app.config["STA_EVENTS"] = events or EventBus()
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.config["STA_SETTINGS"] = settings
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes  # larger bodies: 413 (docs/limits.md)
    app.config["STA_ENGINE"] = engine or make_engine(settings)
    app.register_blueprint(blueprint)
    app.register_blueprint(batch.blueprint)
    app.register_blueprint(metrics.blueprint)
    register_openapi(app, settings.base_url)  # before the error handlers: they replace smorest's
    register_error_handlers(app)
    register_authentication(app)
    if settings.auth and settings.mqtt_auth_dir:
        keeper = BrokerFileKeeper(app.config["STA_ENGINE"], settings)
        app.config["STA_EVENTS"].subscribe(keeper.on_events)
        app.config["STA_BROKER_FILES"] = keeper
        keeper.start()
    return app


def worker_app(settings: Settings, counters_dir: pathlib.Path | None = None) -> Flask:
    """The app of one HTTP worker of the multi-process mode (sta_server/workers.py), built after the
    fork (pools and threads are not shared); its counters go to `counters_dir` for `/metrics`."""
    engine = make_engine(settings)
    events = EventBus()
    app = create_app(settings, engine, events)
    if settings.mqtt_url:
        notifier = MqttService(settings, engine, events, ingest=False)
        notifier.start()
        app.config["STA_MQTT_ENDPOINTS"] = mqtt_endpoints(settings)
        app.config["STA_MQTT"] = notifier
        if counters_dir is not None:
            CounterWriter(counters_dir, notifier.counters).start()
            app.config[COUNTERS_DIR] = counters_dir
    return app


def main(settings: Settings | None = None) -> None:
    settings = settings or Settings.from_env()
    logging.basicConfig(level=settings.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if settings.http_workers > 1 or settings.tls_cert_file:  # waitress has no TLS: gunicorn
        from sta_server.workers import serve_workers

        partitions.run_once(settings)  # then periodically in the ingest process (when MQTT is on)
        serve_workers(settings, worker_app)
        return
    engine = make_engine(settings)
    events = EventBus()
    app = create_app(settings, engine, events)
    keeper = partitions.PartitionKeeper(engine, settings.partition_months_ahead)
    keeper.start()
    mqtt = MqttService(settings, engine, events) if settings.mqtt_url else None
    if mqtt is not None:
        mqtt.start()
        app.config["STA_MQTT_ENDPOINTS"] = mqtt_endpoints(settings)
        app.config["STA_MQTT"] = mqtt
    log.info("serving SensorThings API on %s/v1.1", settings.base_url)
    try:
        serve(app, host=settings.http_host, port=settings.http_port, threads=8)
    finally:
        keeper.stop()
        if mqtt is not None:
            mqtt.stop()
