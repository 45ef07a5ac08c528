"""The HTTP API fuzzed from its committed OpenAPI document (openapi/openapi.json) with schemathesis,
in process (WSGI) on the tests' database: no answer may be a 5xx. A sample of operations per
entity type keeps the run short; STA_FUZZ_SCALE widens it (see conftest.py)."""
from __future__ import annotations

import base64
import os
from dataclasses import replace
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import settings
from schemathesis.checks import not_a_server_error
from sqlalchemy import Engine, text

from sta_server.app import create_app
from sta_server.security import users
from sta_server.security.principal import SERVER
from sta_server.settings import Settings
from sta_server.sql.tables import TABLES
from tests.conftest import LOCATION, ROOT, datastream_body
from tests.fuzz.conftest import SCALE, examples

OPENAPI = os.path.join(ROOT, "openapi", "openapi.json")
# Collections, one entity and one navigation of the core types, and the actions; everything at scale > 1.
SAMPLE = (r"^/(\$batch|CreateObservations|SenML|(Things|Datastreams|Observations|Locations)(\(\{id\}\))?"
          r"|Things\(\{id\}\)/Datastreams|Datastreams\(\{id\}\)/Observations)$")


FUZZ_USERS = {"admin": ("admin", ()), "agent": ("device_agent", ("site:F",))}


@pytest.fixture(scope="module", params=sorted(FUZZ_USERS))
def auth_headers(request: pytest.FixtureRequest) -> dict[str, str]:
    """Every fuzzed request is sent by an administrator, then by a device agent (row-level
    security and write permissions under fuzzing)."""
    token = base64.b64encode(f"{request.param}:fuzz-{request.param}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


schema = schemathesis.openapi.from_path(OPENAPI)
if SCALE == 1:
    schema = schema.include(path_regex=SAMPLE)


@pytest.fixture(scope="module")
def api_app(settings: Settings, engine: Engine) -> Flask:
    """The app under test (authentication on), on a database with a few entities to hit, the
    first Thing on the agent's site."""
    names = ", ".join(f'"{name}"' for name in TABLES)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        for name, (role, grants) in FUZZ_USERS.items():
            users.add_user(conn, SERVER, name, role, f"fuzz-{name}", grants)
    app = create_app(replace(settings, auth=True), engine)
    client = app.test_client()
    admin = {"Authorization": "Basic " + base64.b64encode(b"admin:fuzz-admin").decode()}
    body = datastream_body()
    body["Thing"] = {"name": "Fuzzed thing", "description": "t", "Locations": [LOCATION]}
    assert client.post("/v1.1/Datastreams", json=body, headers=admin).status_code == 201
    observation = {"result": 1, "phenomenonTime": "2024-01-01T00:00:00Z", "Datastream": {"@iot.id": 1}}
    assert client.post("/v1.1/Observations", json=observation, headers=admin).status_code == 201
    with engine.begin() as conn:
        users.label_things(conn, SERVER, [1], add=["site:F"])
    return app


@schema.parametrize()
@settings(max_examples=examples(4))
def test_no_server_error(case: Any, api_app: Flask, auth_headers: dict[str, str]) -> None:
    response = case.call(app=api_app, headers=auth_headers)  # in process (WSGI)
    case.validate_response(response, checks=[not_a_server_error],
                           transport_kwargs={"app": api_app})
