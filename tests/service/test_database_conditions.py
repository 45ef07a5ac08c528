"""One classification of database errors for every channel (service/database_errors.py): a write
that waits on a lock past STA_STATEMENT_TIMEOUT_MS is a 503 QueryTimeout over HTTP whichever driver
call hit it (a COPY included), and over MQTT the message stays unacknowledged and is stored once
the lock goes."""
from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import psycopg
import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from sta_server.app import create_app
from sta_server.errors import BadRequest, Conflict, Forbidden, QueryTimeout, ServiceUnavailable
from sta_server.mqtt.service import MqttService
from sta_server.service.database_errors import classify, waits_again
from sta_server.service.events import EventBus
from sta_server.settings import Settings
from sta_server.sql.engine import make_engine
from sta_server.sql.tables import TABLES
from tests.conftest import LOCATION, datastream_body
from tests.mqtt.conftest import MqttTestClient, wait_until

TIMEOUT_MS = 300
_obs = TABLES["observations"]
_streams = TABLES["datastreams"]


@pytest.fixture
def slow(settings: Settings, clean_db: Engine) -> Iterator[tuple[Settings, Engine]]:
    """Settings and an engine with a short statement timeout."""
    short = replace(settings, statement_timeout_ms=TIMEOUT_MS)
    engine = make_engine(short)
    yield short, engine
    engine.dispose()


@pytest.fixture
def stream(client: FlaskClient) -> int:
    body = datastream_body(properties={"senmlName": "ess/power"})
    body["Thing"] = {"name": "ESS", "description": "battery", "Locations": [LOCATION]}
    response = client.post("/v1.1/Datastreams", json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return int(response.get_json()["@iot.id"])


@contextmanager
def locked_stream(engine: Engine, stream: int) -> Iterator[None]:
    """Another connection holds the Datastream's row FOR UPDATE: an insert of its Observations
    waits on the foreign key's row lock."""
    with engine.connect() as conn, conn.begin():
        conn.execute(select(_streams.c.id).where(_streams.c.id == stream).with_for_update())
        yield


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(_obs)).scalar_one())


REQUESTS = {
    "POST": ("Observations", lambda s: {"result": 1, "Datastream": {"@iot.id": s}}, "application/json"),
    "POST navigation": ("Datastreams({})/Observations", lambda s: {"result": 1}, "application/json"),
    "CreateObservations": ("CreateObservations", lambda s: [{
        "Datastream": {"@iot.id": s}, "components": ["phenomenonTime", "result"],
        "dataArray": [["2026-01-01T00:00:00Z", 1], ["2026-01-01T00:01:00Z", 2]]}], "application/json"),
    "SenML": ("SenML", lambda s: [{"n": "ess/power", "v": 1}], "application/senml+json"),
}


@pytest.mark.parametrize("channel", list(REQUESTS))
def test_a_write_waiting_on_a_lock_past_the_statement_timeout_is_503_query_timeout(
        slow: tuple[Settings, Engine], clean_db: Engine, stream: int, channel: str) -> None:
    path, body, content_type = REQUESTS[channel]
    client = create_app(slow[0], slow[1]).test_client()
    before = _count(clean_db)
    with locked_stream(clean_db, stream):
        response = client.post(f"/v1.1/{path.format(stream)}", data=json.dumps(body(stream)),
                               content_type=content_type)
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "QueryTimeout"
    assert _count(clean_db) == before


def test_the_same_write_in_a_batch_answers_503_query_timeout(
        slow: tuple[Settings, Engine], clean_db: Engine, stream: int) -> None:
    client = create_app(slow[0], slow[1]).test_client()
    batch = {"requests": [{"id": "1", "method": "post", "url": "Observations",
                           "body": {"result": 1, "Datastream": {"@iot.id": stream}}}]}
    with locked_stream(clean_db, stream):
        answer = client.post("/v1.1/$batch", json=batch).get_json()["responses"][0]
    assert answer["status"] == 503 and answer["body"]["error"]["code"] == "QueryTimeout"


@contextmanager
def ingesting(settings: Settings, engine: Engine, broker_url: str) -> Iterator[tuple[MqttService, MqttTestClient]]:
    """An MQTT service storing creates through `engine`, and a publisher."""
    mqtt_settings = replace(settings, mqtt_url=broker_url, mqtt_client_id=f"sta-test-{uuid.uuid4().hex[:8]}")
    service = MqttService(mqtt_settings, engine, EventBus())
    service.start()
    publisher = None
    try:
        assert service.connection.connected.wait(5)
        publisher = MqttTestClient(broker_url, service)
        yield service, publisher
    finally:
        if publisher is not None:
            publisher.close()
        service.stop()


def test_an_mqtt_create_waiting_on_a_lock_is_kept_and_stored_once_the_lock_goes(
        slow: tuple[Settings, Engine], clean_db: Engine, stream: int, broker_url: str,
        caplog: pytest.LogCaptureFixture) -> None:
    settings, engine = slow
    with ingesting(settings, engine, broker_url) as (service, publisher):
        before = _count(clean_db)
        caplog.set_level(logging.WARNING, logger="sta_server.mqtt.ingest_retry")
        with locked_stream(clean_db, stream):
            publisher.publish(f"v1.1/Datastreams({stream})/Observations", {"result": 42})
            wait_until(lambda: any("QueryTimeout" in r.getMessage() for r in caplog.records), timeout=20)
            assert _count(clean_db) == before  # not stored, and not given up: retried
        wait_until(lambda: _count(clean_db) == before + 1, timeout=30)
        stats = service.ingest.stats
        assert stats.rejected == 0 and stats.accepted == 1, stats


class _Orig(Exception):
    def __init__(self, sqlstate: str | None) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(("error", "expected", "transient"), [
    (OperationalError("stmt", None, _Orig("57014")), QueryTimeout, True),
    (psycopg.errors.QueryCanceled("raw COPY"), QueryTimeout, True),
    (OperationalError("stmt", None, _Orig("08006")), ServiceUnavailable, True),
    (OperationalError("stmt", None, _Orig("40P01")), ServiceUnavailable, True),
    (PoolTimeout("pool"), ServiceUnavailable, True),
    (psycopg.OperationalError("connection lost"), ServiceUnavailable, True),
    (DataError("stmt", None, _Orig("22003")), BadRequest, False),
    (psycopg.DataError("NUL in text"), BadRequest, False),
    (IntegrityError("stmt", None, _Orig("23503")), Conflict, False),
    (IntegrityError("stmt", None, _Orig("23502")), BadRequest, False),
    (OperationalError("stmt", None, _Orig("42501")), Forbidden, False),
])
def test_database_errors_mean_the_same_whichever_call_raised_them(
        error: Exception, expected: type, transient: bool) -> None:
    known = classify(error)
    assert type(known) is expected
    assert known is not None and known.transient is transient


def test_a_conflict_between_transactions_says_so_and_may_be_tried_again_at_once() -> None:
    """A deadlock is a 503 that names the conflict (not an unreachable database); a one-statement
    path may hand it to the rule set's path (a second try usually passes), never a timeout."""
    deadlock = OperationalError("stmt", None, _Orig("40P01"))
    known = classify(deadlock)
    assert known is not None and "concurrent change" in known.message
    assert not waits_again(deadlock) and not waits_again(IntegrityError("stmt", None, _Orig("23503")))
    assert waits_again(OperationalError("stmt", None, _Orig("57014")))
    assert waits_again(psycopg.OperationalError("connection lost"))


def test_an_unknown_error_is_no_database_condition() -> None:
    assert classify(ValueError("a bug")) is None


@contextmanager
def read_only(engine: Engine, *pools: Engine) -> Iterator[None]:
    """The database turns read-only (as a hot standby or `default_transaction_read_only` does) for the
    connections opened from now on; the pools are emptied so that they open new ones."""
    database = engine.url.database

    def alter(setting: str) -> None:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f'ALTER DATABASE "{database}" {setting}')
        for pool in pools:
            pool.dispose()

    alter("SET default_transaction_read_only = on")
    try:
        yield
    finally:
        alter("RESET default_transaction_read_only")


def test_a_write_to_a_read_only_database_is_503_not_500(
        settings: Settings, clean_db: Engine, stream: int) -> None:
    engine = make_engine(settings)
    try:
        client = create_app(settings, engine).test_client()
        with read_only(clean_db, engine):
            response = client.post(f"/v1.1/Datastreams({stream})/Observations", json={"result": 1})
        assert response.status_code == 503, response.get_data(as_text=True)
        assert response.get_json()["error"]["code"] == "ServiceUnavailable"
    finally:
        engine.dispose()


def test_mqtt_creates_while_the_database_is_read_only_are_kept_and_stored_afterwards(
        settings: Settings, clean_db: Engine, stream: int, broker_url: str,
        caplog: pytest.LogCaptureFixture) -> None:
    """Red team: a hot standby / read-only window made the ingest reject and acknowledge every create."""
    engine = make_engine(settings)
    try:
        with ingesting(settings, engine, broker_url) as (service, publisher):
            before = _count(clean_db)
            caplog.set_level(logging.WARNING, logger="sta_server.mqtt.ingest_retry")
            with read_only(clean_db, engine):
                for value in range(3):
                    publisher.publish(f"v1.1/Datastreams({stream})/Observations", {"result": value})
                wait_until(lambda: any("ServiceUnavailable" in r.getMessage() for r in caplog.records), timeout=20)
                assert _count(clean_db) == before  # not stored, and not given up: retried
            wait_until(lambda: _count(clean_db) == before + 3, timeout=30)
            stats = service.ingest.stats
            assert stats.rejected == 0 and stats.accepted == 3, stats
    finally:
        engine.dispose()
