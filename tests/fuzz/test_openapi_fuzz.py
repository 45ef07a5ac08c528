"""The HTTP API fuzzed from its committed OpenAPI document (openapi/openapi.json) with schemathesis,
in process (WSGI) on the tests' database: no answer may be a 5xx. A sample of operations per
entity type keeps the run short; STA_FUZZ_SCALE widens it (see conftest.py)."""
from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import settings
from schemathesis.checks import not_a_server_error
from sqlalchemy import Engine, text

from sta_server.app import create_app
from sta_server.settings import Settings
from sta_server.sql.tables import TABLES
from tests.conftest import LOCATION, ROOT, datastream_body
from tests.fuzz.conftest import SCALE, examples

OPENAPI = os.path.join(ROOT, "openapi", "openapi.json")
# Collections, one entity and one navigation of the core types, and the actions; everything at scale > 1.
SAMPLE = (r"^/(\$batch|CreateObservations|SenML|(Things|Datastreams|Observations|Locations)(\(\{id\}\))?"
          r"|Things\(\{id\}\)/Datastreams|Datastreams\(\{id\}\)/Observations)$")


@pytest.fixture(scope="module")
def auth_headers() -> dict[str, str]:
    """Headers sent with every fuzzed request (an Authorization header once the tests run with auth)."""
    return {}


schema = schemathesis.openapi.from_path(OPENAPI)
if SCALE == 1:
    schema = schema.include(path_regex=SAMPLE)


@pytest.fixture(scope="module")
def api_app(settings: Settings, engine: Engine) -> Flask:
    """The app under test, on a database with a few entities to hit."""
    names = ", ".join(f'"{name}"' for name in TABLES)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    app = create_app(settings, engine)
    client = app.test_client()
    body = datastream_body()
    body["Thing"] = {"name": "Fuzzed thing", "description": "t", "Locations": [LOCATION]}
    assert client.post("/v1.1/Datastreams", json=body).status_code == 201
    observation = {"result": 1, "phenomenonTime": "2024-01-01T00:00:00Z", "Datastream": {"@iot.id": 1}}
    assert client.post("/v1.1/Observations", json=observation).status_code == 201
    return app


@schema.parametrize()
@settings(max_examples=examples(4))
def test_no_server_error(case: Any, api_app: Flask, auth_headers: dict[str, str]) -> None:
    response = case.call(app=api_app, headers=auth_headers)  # in process (WSGI)
    case.validate_response(response, checks=[not_a_server_error],
                           transport_kwargs={"app": api_app})
