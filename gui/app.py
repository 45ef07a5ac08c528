"""`create_app(settings) -> Flask`: the GUI's pages, each a blueprint.

Blueprints: `auth` (login, logout, the page's MQTT credentials), `home` (the start page),
`residential` (one household, `/home/…`), and the professional GUI (`gui.professional`, `/pro`)."""
from __future__ import annotations

import importlib
import logging
from datetime import timedelta

from flask import Flask, redirect, render_template, url_for
from werkzeug.wrappers import Response

from gui import auth, home, residential
from gui.logins import LoginStore
from gui.settings import GuiSettings
from sta_client import ClientSettings
from sta_client.errors import StaError, Unauthorized

log = logging.getLogger(__name__)


def server_error(error: StaError) -> tuple[str, int] | Response:
    """What the server answered a view's read (a 401: the user's login no longer holds — disabled, or the
    password changed — so the login ends; else the server's message, or that it is unreachable: 502)."""
    if isinstance(error, Unauthorized):
        auth.end_login()
        return redirect(url_for("auth.login"))
    log.warning("a page's request to the server failed: %s", error)
    status = error.status if 400 <= error.status < 500 else 502
    return render_template("error.html", message=error.message, status=status), status


def create_app(settings: GuiSettings) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=settings.secret_key, GUI_MQTT_WS_URL=settings.mqtt_ws_url,
                      GUI_TIMEZONE=settings.timezone, SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Lax", PERMANENT_SESSION_LIFETIME=timedelta(
                          seconds=settings.session_max_age_s))
    app.extensions[auth.LOGINS] = LoginStore(settings.session_max_age_s)
    app.extensions[auth.CLIENT_SETTINGS] = ClientSettings(
        base_url=settings.sta_url, timeout_s=settings.sta_timeout_s, retry_budget_s=settings.sta_retry_budget_s,
        max_attempts=3)
    app.teardown_appcontext(auth.close_client)
    app.register_error_handler(StaError, server_error)
    app.context_processor(lambda: {"login": auth.current_login()})
    app.register_blueprint(auth.blueprint)
    app.register_blueprint(home.blueprint)
    app.register_blueprint(residential.blueprint)
    # the professional GUI (helper "guipro") registers itself here: one line
    app.register_blueprint(importlib.import_module("gui.professional").blueprint)
    return app
