"""A fixed grid for the security tests: two sites on two radials, one public Thing, and one user
of each role, all through the real server with authentication on (HTTP Basic)."""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass, replace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from sta_server.app import create_app
from sta_server.security import users
from sta_server.security.principal import Principal
from sta_server.settings import Settings
from tests.s4g_capabilities import ESS_SETPOINT

SETUP = Principal("test-setup", "admin", channel="cli")
# user -> (role, grants)
USERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "admin": ("admin", ()),
    "operator": ("grid_operator", ("radial:R1",)),
    "aggregator": ("aggregator", ("site:A",)),
    "agent": ("device_agent", ("site:A",)),
    "agent-b": ("device_agent", ("site:B",)),
    "resident": ("resident", ("site:A",)),
    "neighbour": ("resident", ("site:B",)),
}


def password(name: str) -> str:
    return f"pw-{name}-secret"


def basic(name: str, secret: str | None = None) -> dict[str, str]:
    token = base64.b64encode(f"{name}:{secret or password(name)}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


class As:
    """Requests of one user (or anonymous, name None) to /v1.1."""

    def __init__(self, client: FlaskClient, name: str | None, headers: dict[str, str] | None = None) -> None:
        self.client = client
        self.headers = headers if headers is not None else (basic(name) if name else {})

    def call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> tuple[int, Any]:
        url = path if path.startswith("/") else f"/v1.1/{path}"
        data = None if body is None else (body if isinstance(body, bytes | str) else json.dumps(body))
        headers = {**self.headers, **kwargs.pop("headers", {})}
        response = self.client.open(url, method=method, data=data, headers=headers,
                                    content_type=kwargs.pop("content_type", "application/json"), **kwargs)
        text = response.get_data(as_text=True)
        try:
            return response.status_code, json.loads(text) if text else None
        except ValueError:
            return response.status_code, text

    def get(self, path: str, **kwargs: Any) -> tuple[int, Any]:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> tuple[int, Any]:
        return self.call("POST", path, body, **kwargs)

    def ids(self, path: str) -> list[int]:
        status, body = self.get(path)
        assert status == 200, (path, status, body)
        return sorted(entity["@iot.id"] for entity in body["value"])


@dataclass
class Grid:
    """The ids of the fixed data set."""

    thing_a: int
    thing_b: int
    thing_public: int
    stream_a: int
    stream_b: int
    stream_public: int
    capability_a: int
    capability_b: int
    capability_public: int
    location_a: int
    location_b: int
    shared_location: int
    sensor_b_only: int
    observations_a: list[int]
    observations_b: list[int]


@pytest.fixture
def secure_settings(settings: Settings) -> Settings:
    return replace(settings, auth=True, anonymous="off")


@pytest.fixture
def secure_app(secure_settings: Settings, clean_db: Engine) -> Flask:
    with clean_db.begin() as conn:
        for name, (role, grants) in USERS.items():
            users.add_user(conn, SETUP, name, role, password(name), grants)
    app = create_app(secure_settings, clean_db)
    app.testing = True
    return app


@pytest.fixture
def secure_client(secure_app: Flask) -> FlaskClient:
    return secure_app.test_client()


def _thing(admin: As, name: str, location: dict[str, Any], sensor: dict[str, Any] | None = None) -> dict[str, Any]:
    body = {
        "name": name, "description": f"site {name}", "Locations": [location],
        "Datastreams": [{
            "name": f"{name} power", "description": "active power", "observationType":
            "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
            "unitOfMeasurement": {"name": "watt", "symbol": "W", "definition": "http://qudt.org/vocab/unit/W"},
            "Sensor": sensor or {"name": f"{name} meter", "description": "meter", "encodingType": "text/html",
                                 "metadata": "https://example.org/meter"},
            "ObservedProperty": {"name": f"{name} power", "definition": "https://example.org/P",
                                 "description": "active power"},
        }],
        "TaskingCapabilities": [{
            "name": f"{name} set-point", "description": "ESS set-point", "taskingParameters": ESS_SETPOINT,
            "Actuator": {"name": f"{name} inverter", "description": "inverter", "encodingType": "text/html",
                         "metadata": "https://example.org/inverter"},
        }],
    }
    status, thing = admin.post("Things?$expand=Datastreams,TaskingCapabilities,Locations", body)
    assert status == 201, thing
    return thing


def _location(name: str, lon: float) -> dict[str, Any]:
    return {"name": name, "description": f"{name} site", "encodingType": "application/geo+json",
            "location": {"type": "Point", "coordinates": [lon, 45.0]}}


@pytest.fixture
def grid(secure_client: FlaskClient, clean_db: Engine) -> Grid:
    admin = As(secure_client, "admin")
    a = _thing(admin, "A", _location("site A", 11.0))
    b = _thing(admin, "B", _location("site B", 12.0))
    public = _thing(admin, "P", _location("site P", 13.0))
    ids: dict[str, int] = {}
    for key, thing in (("a", a), ("b", b), ("p", public)):
        status, body = admin.get(f"Things({thing['@iot.id']})?$expand=Datastreams,TaskingCapabilities,Locations")
        ids[f"thing_{key}"] = body["@iot.id"]
        ids[f"stream_{key}"] = body["Datastreams"][0]["@iot.id"]
        ids[f"capability_{key}"] = body["TaskingCapabilities"][0]["@iot.id"]
        ids[f"location_{key}"] = body["Locations"][0]["@iot.id"]
    status, shared = admin.post("Locations", {**_location("feeder cabinet", 11.5),
                                              "Things": [{"@iot.id": ids["thing_a"]}, {"@iot.id": ids["thing_b"]}]})
    assert status == 201, shared
    status, sensor_b = admin.get(f"Datastreams({ids['stream_b']})/Sensor")
    observations: dict[str, list[int]] = {"a": [], "b": []}
    for key in ("a", "b"):
        for value in (1.0, 2.0, 3.0):
            status, obs = admin.post(f"Datastreams({ids[f'stream_{key}']})/Observations",
                                     {"result": value, "phenomenonTime": f"2026-01-01T0{int(value)}:00:00Z"})
            assert status == 201, obs
            observations[key].append(obs["@iot.id"])
    with clean_db.begin() as conn:
        users.label_things(conn, SETUP, [ids["thing_a"]], add=["site:A", "radial:R1"])
        users.label_things(conn, SETUP, [ids["thing_b"]], add=["site:B", "radial:R2"])
        users.label_things(conn, SETUP, [ids["thing_p"]], add=["public"])
    return Grid(ids["thing_a"], ids["thing_b"], ids["thing_p"], ids["stream_a"], ids["stream_b"], ids["stream_p"],
                ids["capability_a"], ids["capability_b"], ids["capability_p"], ids["location_a"], ids["location_b"],
                shared["@iot.id"], sensor_b["@iot.id"], observations["a"], observations["b"])


from tests.security.mqtt_platform import mqtt_grid, platform, secure_broker  # noqa: E402, F401  (fixtures)
