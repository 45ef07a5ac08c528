"""Login and logout with the server's users, and `sta()`: the logged-in user's `StaClient`.

A login is checked by asking the server for one Thing with the given name and password (401: wrong);
the credentials then stay in the GUI process (`logins.LoginStore`), never in the cookie."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Blueprint, current_app, g, jsonify, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from gui.logins import Login, LoginStore
from sta_client import ClientSettings, Query, StaClient
from sta_client.errors import StaError, Unauthorized

log = logging.getLogger(__name__)
blueprint = Blueprint("auth", __name__)
F = TypeVar("F", bound=Callable[..., Any])
LOGINS = "gui.logins"
CLIENT_SETTINGS = "gui.client_settings"


def login_store() -> LoginStore:
    return cast(LoginStore, current_app.extensions[LOGINS])


def current_login() -> Login | None:
    """The logged-in user of this request, or None."""
    if "login" not in g:
        g.login = login_store().find(session.get("login_id"))
    return cast(Login | None, g.login)


def settings_for(username: str, password: str) -> ClientSettings:
    base = cast(ClientSettings, current_app.extensions[CLIENT_SETTINGS])
    return replace(base, username=username, password=password)


def sta() -> StaClient:
    """The StaClient of the logged-in user (one per request, closed when the request ends). Only
    for views behind `login_required`."""
    if "sta" not in g:
        login = current_login()
        if login is None:
            raise RuntimeError("sta() needs a logged-in user (decorate the view with login_required)")
        g.sta = StaClient(settings_for(login.username, login.password))
    return cast(StaClient, g.sta)


def close_client(_: BaseException | None) -> None:
    client = g.pop("sta", None)
    if client is not None:
        client.close()


def login_required(view: F) -> F:
    """Redirect to the login page (and back) when nobody is logged in."""
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_login() is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)
    return cast(F, wrapped)


def check_credentials(username: str, password: str) -> str | None:
    """None when the server accepts the user, else the reason to show."""
    try:
        with StaClient(settings_for(username, password)) as client:
            client.page("Things", Query().top(1).select("id"))
    except Unauthorized:
        return "Wrong user name or password."
    except StaError as error:
        log.warning("login of %s: the server answered %s", username, error)
        return f"The server could not be asked: {error.message}"
    return None


def _safe_next(target: str | None) -> str:
    """Only a path of this site (no `//host`, `/\\host` or scheme): no open redirect."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return url_for("home.index")


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    error = None
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        error = "Give a user name and a password." if not username or not password else \
            check_credentials(username, password)
        if error is None:
            login_store().remove(session.get("login_id"))
            session.clear()
            session["login_id"] = login_store().add(username, password)
            session.permanent = True
            log.info("login: %s", username)
            return redirect(_safe_next(request.args.get("next")))
    status = 401 if error else 200
    return render_template("login.html", error=error), status  # type: ignore[return-value]


def end_login() -> None:
    login_store().remove(session.get("login_id"))
    session.clear()


@blueprint.route("/logout", methods=["POST"])
def logout() -> Response:
    end_login()
    return redirect(url_for("auth.login"))


@blueprint.route("/session/mqtt")
@login_required
def mqtt_session() -> Response:
    """What the page's script needs to open MQTT over WebSockets as the logged-in user (the broker
    admits the server's users with the same passwords). Same origin, behind the session cookie."""
    login = cast(Login, current_login())
    answer = jsonify(url=current_app.config["GUI_MQTT_WS_URL"], username=login.username, password=login.password,
                     clientIdPrefix=login.mqtt_client_id_prefix)
    answer.headers["Cache-Control"] = "no-store"
    return answer
