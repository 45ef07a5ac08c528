"""The application factory and the entry point (`sta-server`)."""
from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy import Engine

from sta_server.api.entities import blueprint
from sta_server.api.errors import register_error_handlers
from sta_server.service.events import EventBus
from sta_server.settings import Settings
from sta_server.sql.engine import make_engine

log = logging.getLogger(__name__)


def create_app(settings: Settings, engine: Engine | None = None, events: EventBus | None = None) -> Flask:
    app = Flask(__name__)
    app.config["STA_EVENTS"] = events or EventBus()
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.config["STA_SETTINGS"] = settings
    app.config["STA_ENGINE"] = engine or make_engine(settings)
    app.register_blueprint(blueprint)
    register_error_handlers(app)
    return app


def main(settings: Settings | None = None) -> None:
    settings = settings or Settings.from_env()
    logging.basicConfig(level=settings.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(settings)
    log.info("serving SensorThings API on %s/v1.1", settings.base_url)
    from waitress import serve

    serve(app, host=settings.http_host, port=settings.http_port, threads=8)
