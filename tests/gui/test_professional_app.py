"""The professional blueprint without a browser: a server that does not answer gives a 502 page with the
reason (never a traceback), and a command's "Back" link never leaves the GUI."""
from __future__ import annotations

import pytest
from flask import Flask

from gui.app import create_app
from gui.auth import LOGINS
from gui.logins import LoginStore
from gui.professional.views import _local_path, chart_points
from gui.settings import GuiSettings
from tests.mosquitto import free_port


@pytest.fixture()
def app_without_server() -> Flask:
    """The GUI pointed at a port where nothing listens, with one login already made."""
    settings = GuiSettings(sta_url=f"http://127.0.0.1:{free_port()}/v1.1", secret_key="x" * 32,
                           sta_timeout_s=1.0, sta_retry_budget_s=0.2)
    return create_app(settings)


def test_a_server_that_does_not_answer_gives_a_502_page(app_without_server: Flask) -> None:
    client = app_without_server.test_client()
    login_id = app_without_server.extensions[LOGINS].add("ops", "secret")
    assert isinstance(app_without_server.extensions[LOGINS], LoginStore)
    with client.session_transaction() as session:
        session["login_id"] = login_id
    for path in ("/pro/", "/pro/control", "/pro/whatif", "/pro/ess"):
        answer = client.get(path)
        assert answer.status_code == 502, path
        assert b'id="pro-server-error"' in answer.data and b"Traceback" not in answer.data


def test_nobody_logged_in_is_sent_to_the_login(app_without_server: Flask) -> None:
    answer = app_without_server.test_client().get("/pro/control")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


@pytest.mark.parametrize(("target", "kept"), [("/pro/control", "/pro/control"), ("//evil.example/x", None),
                                              ("javascript:alert(1)", None), ("https://evil.example", None),
                                              ("", None), (None, None)])
def test_the_back_link_stays_on_the_site(target: str | None, kept: str | None) -> None:
    assert _local_path(target) == kept


def test_the_charts_history_is_numeric_and_oldest_first() -> None:
    points = chart_points([{"phenomenonTime": "2026-06-21T00:10:00Z", "result": 5},
                           {"phenomenonTime": "2026-06-21T00:05:00Z", "result": 4.5},
                           {"phenomenonTime": "2026-06-21T00:00:00Z", "result": "n/a"},
                           {"phenomenonTime": "2026-06-21T00:00:00Z", "result": True}])
    assert points == [(1782000300.0, 4.5), (1782000600.0, 5.0)]
