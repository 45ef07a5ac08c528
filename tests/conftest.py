"""Shared fixtures: a throwaway PostGIS database per session, migrated with Alembic; a Flask test
client; truncation between tests; small builders."""
from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, make_url, text

from sta_server.app import create_app
from sta_server.settings import Settings, normalise_database_url
from sta_server.sql.engine import make_engine
from sta_server.sql.tables import TABLES
from tests.mosquitto import Broker

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _admin_url() -> str:
    return normalise_database_url(Settings.from_env().database_url)


@contextmanager
def throwaway_database(server_url: str) -> Iterator[str]:
    """The URL of a new, empty database on the server of `server_url`, dropped afterwards."""
    admin = make_url(server_url)
    name = f"sta_test_{uuid.uuid4().hex[:10]}"
    admin_engine = create_engine(admin.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin_engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin_engine.dispose()


def alembic_config(url: str) -> Config:
    """Alembic's configuration for the database at `url` (migrations of this checkout)."""
    config = Config(os.path.join(ROOT, "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url)
    config.attributes["configure_logger"] = False
    return config


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A new database on the configured server, dropped at the end of the session."""
    with throwaway_database(_admin_url()) as url:
        yield url


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, service_root_url="http://sta.test/api", mqtt_url=None, auth=False)


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    command.upgrade(alembic_config(settings.database_url), "head")
    engine = make_engine(settings)
    yield engine
    engine.dispose()


@pytest.fixture
def clean_db(engine: Engine) -> Engine:
    names = ", ".join(f'"{name}"' for name in TABLES)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    return engine


@pytest.fixture
def client(settings: Settings, clean_db: Engine) -> FlaskClient:
    app = create_app(settings, clean_db)
    app.testing = True
    return app.test_client()


BASE = "http://sta.test/api/v1.1"


def post(client: FlaskClient, path: str, body: Any, status: int = 201) -> Any:
    response = client.post(f"/v1.1/{path}", json=body)
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def get(client: FlaskClient, path: str, status: int = 200, **params: str) -> Any:
    response = client.get(f"/v1.1/{path}", query_string=params)
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def make_thing(client: FlaskClient, name: str = "Battery 1", **extra: Any) -> Any:
    return post(client, "Things", {"name": name, "description": f"{name} thing", **extra})


LOCATION = {
    "name": "Site A", "description": "USM site", "encodingType": "application/geo+json",
    "location": {"type": "Point", "coordinates": [8.95, 46.0]},
}


def datastream_body(name: str = "ESS power", **extra: Any) -> dict[str, Any]:
    return {
        "name": name, "description": f"{name} stream",
        "unitOfMeasurement": {"name": "Watt", "symbol": "W", "definition": "http://unitsofmeasure.org/ucum.html#W"},
        "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
        "Sensor": {"name": "Inverter meter", "description": "meter", "encodingType": "application/pdf",
                   "metadata": "https://example.org/meter.pdf"},
        "ObservedProperty": {"name": "Active power", "description": "AC active power",
                             "definition": "http://example.org/def/ActivePower"},
        **extra,
    }


def make_datastream(client: FlaskClient, thing_id: int | None = None, **extra: Any) -> Any:
    body = datastream_body(**extra)
    if thing_id is None:
        body["Thing"] = {"name": "Thing of stream", "description": "t", "Locations": [LOCATION]}
    else:
        body["Thing"] = {"@iot.id": thing_id}
    return post(client, "Datastreams", body)


# --- MQTT: a Mosquitto of the test session's own, on a free port -------------------------------


@pytest.fixture(scope="session")
def broker_url() -> Iterator[str]:
    """STA_TEST_MQTT_URL if given, else a fresh Mosquitto for this test session."""
    given = os.environ.get("STA_TEST_MQTT_URL")
    if given:
        yield given
        return
    broker = Broker()
    broker.start()
    try:
        yield broker.server_url
    finally:
        broker.remove()


_EXIT_STATUS: list[int] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _EXIT_STATUS.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """End the process once pytest has reported: the native protocol stacks of the adapters (c104,
    libiec61850) leave threads that can abort CPython's own finalization (exit 134 after every test
    passed), which would hide the real result."""
    if _EXIT_STATUS:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_EXIT_STATUS[-1])
