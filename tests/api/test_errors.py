"""Every error answers with the OData JSON body `{"error": {"code", "message", "target"?}}`."""
from __future__ import annotations

import logging

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from werkzeug.test import TestResponse

from sta_server.app import create_app
from sta_server.settings import Settings
from tests.conftest import make_thing

SECRET = 'relation "secret_table" does not exist'


def _error(response: TestResponse, status: int) -> dict[str, str]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert list(body) == ["error"]
    error: dict[str, str] = body["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    return error


@pytest.mark.parametrize("path", ["/v1.1/Gadgets", "/v1.1/Things(1)/Gadgets", "/v3/Things", "/nowhere"])
def test_unknown_path_is_404_json(client: FlaskClient, path: str) -> None:
    _error(client.get(path), 404)


def test_missing_entity_is_404_not_found(client: FlaskClient) -> None:
    assert _error(client.get("/v1.1/Things(42)"), 404)["code"] == "NotFound"


def test_non_integer_id_is_404(client: FlaskClient) -> None:
    _error(client.get("/v1.1/Things(abc)"), 404)


def test_unsupported_http_method_is_405_json_with_allow(client: FlaskClient) -> None:
    response = client.open("/v1.1/Things", method="TRACE")
    assert _error(response, 405)["code"] == "MethodNotAllowed"
    assert "GET" in response.headers["Allow"]


def test_verb_not_allowed_on_resource_is_405(client: FlaskClient) -> None:
    thing = make_thing(client)["@iot.id"]
    assert _error(client.post(f"/v1.1/Things({thing})/name", json={}), 405)["code"] == "MethodNotAllowed"


@pytest.mark.parametrize("params", [
    {"$top": "many"}, {"$top": "-1"}, {"$skip": "x"}, {"$filter": "name eq"},
    {"$filter": "nosuch eq 1"}, {"$orderby": "name sideways"}, {"$expand": "Gadgets"},
    {"$select": "colour"}, {"$count": "maybe"},
])
def test_invalid_query_is_400_json(client: FlaskClient, params: dict[str, str]) -> None:
    assert _error(client.get("/v1.1/Things", query_string=params), 400)["code"] == "InvalidQuery"


def test_invalid_body_is_400_with_target(client: FlaskClient) -> None:
    error = _error(client.post("/v1.1/Things", json={"description": "no name"}), 400)
    assert error["target"] == "name"


def test_malformed_json_is_400(client: FlaskClient) -> None:
    _error(client.post("/v1.1/Things", data=b"{", content_type="application/json"), 400)


@pytest.fixture
def failing_app(settings: Settings, clean_db: Engine) -> Flask:
    app = create_app(settings, clean_db)

    @app.get("/v1.1/boom")
    def boom() -> None:
        raise RuntimeError(SECRET)

    return app


def test_unexpected_error_is_500_without_details(failing_app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        response = failing_app.test_client().get("/v1.1/boom")
    error = _error(response, 500)
    assert SECRET not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert set(error) == {"code", "message"}
    assert any(record.exc_info for record in caplog.records)
