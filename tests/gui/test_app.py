"""The app shell with Flask's test client, against a server address nobody listens on: what a user sees
when the SensorThings server cannot be reached, and the login's own rules."""
from __future__ import annotations

from dataclasses import replace

import pytest
from flask import Flask

from gui.app import create_app
from gui.auth import CLIENT_SETTINGS, LOGINS, _safe_next
from gui.settings import GuiSettings
from tests.mosquitto import free_port


@pytest.fixture()
def app() -> Flask:
    app = create_app(GuiSettings(sta_url=f"http://127.0.0.1:{free_port()}/v1.1", secret_key="s" * 32))
    # quick give-up (the GUI's own defaults retry for 5 s)
    app.extensions[CLIENT_SETTINGS] = replace(app.extensions[CLIENT_SETTINGS], retry_budget_s=0.5, max_attempts=2,
                                              backoff_base_s=0.01)
    return app


def test_pages_and_live_credentials_need_a_login(app: Flask) -> None:
    client = app.test_client()
    for path in ("/", "/home/h7", "/home/h7/history", "/session/mqtt"):
        answer = client.get(path)
        assert answer.status_code == 302 and answer.headers["Location"].startswith("/login"), path
    assert client.post("/home/h7/setpoint", data={"power_kw": "1"}).status_code == 302


def test_a_login_while_the_server_is_unreachable_says_so(app: Flask) -> None:
    answer = app.test_client().post("/login", data={"username": "alice", "password": "pw"})
    assert answer.status_code == 401
    assert b"The server could not be asked" in answer.data


def test_a_page_whose_server_is_unreachable_is_a_502_with_the_reason(app: Flask) -> None:
    client = app.test_client()
    login_id = app.extensions[LOGINS].add("alice", "pw")
    with client.session_transaction() as session:
        session["login_id"] = login_id
    answer = client.get("/home/h7")
    assert answer.status_code == 502
    assert b"could not be reached" in answer.data
    live = client.get("/session/mqtt")
    assert live.json == {"url": "ws://127.0.0.1:18831", "username": "alice", "password": "pw",
                         "clientIdPrefix": "alice:gui-"}
    assert live.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(("target", "safe"), [("/home/h7?period=day", True), ("//evil.example/x", False),
                                              ("/\\evil.example", False), ("https://evil.example", False),
                                              (None, False)])
def test_after_login_only_a_local_path_is_followed(app: Flask, target: str | None, safe: bool) -> None:
    with app.test_request_context():
        assert (_safe_next(target) == target) is safe
