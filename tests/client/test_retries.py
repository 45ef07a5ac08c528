"""Retries: an answer lost or held back after the server stored the create is retried with the same
idempotency key and stores nothing twice; 4xx are never retried; 503/429 wait for `Retry-After`
(seconds or HTTP-date); the budget bounds it all."""
from __future__ import annotations

import asyncio
import json
import shutil
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from sta_client import (
    AsyncStaClient,
    BadRequest,
    ClientSettings,
    NotFound,
    Query,
    ServerUnavailable,
    StaClient,
    TooManyRequests,
    TransportError,
    literal,
)
from tests.client.bodies import thing, unique
from tests.client.conftest import RunningServer
from tests.client.proxy import HeaderValue, proxy, scripted
from tests.faults.conftest import Server
from tests.mosquitto import Broker, free_port

OK: tuple[int, dict[str, HeaderValue], bytes] = (200, {}, b'{"value": []}')
UNAVAILABLE = json.dumps({"error": {"code": "ServiceUnavailable", "message": "database down"}}).encode()


def _named(sta: StaClient, name: str) -> list[int]:
    return [row["@iot.id"] for row in sta.iter("Things", Query().filter(f"name eq {literal(name)}"))]


@pytest.mark.parametrize("fault", ["lost", "timeout"])
def test_retry_after_a_lost_answer_creates_once(sta_process: RunningServer, fault: str) -> None:
    with proxy(f"http://127.0.0.1:{sta_process.server.port}") as (state, port):
        if fault == "lost":
            state.lose = 1
        else:
            state.hold_s = 4.0
        settings = sta_process.settings(base_url=f"http://127.0.0.1:{port}/v1.1", timeout_s=2.0)
        record = thing()
        with StaClient(settings) as sta:
            new_id = sta.create("Things", record)
            assert state.counts["POST /v1.1/Things"] >= 2  # the first reached the server too
            assert _named(sta, record.name or "") == [new_id]


def test_delete_whose_answer_was_lost_succeeds(sta_process: RunningServer) -> None:
    with proxy(f"http://127.0.0.1:{sta_process.server.port}") as (state, port), \
            StaClient(sta_process.settings(base_url=f"http://127.0.0.1:{port}/v1.1")) as sta:
        new_id = sta.create("Things", thing())
        state.lose, state.methods = 1, ("DELETE",)
        sta.delete(f"Things({new_id})")  # the retry meets 404: the first attempt deleted it
        assert state.counts[f"DELETE /v1.1/Things({new_id})"] == 2
        with pytest.raises(NotFound):
            sta.delete(f"Things({new_id})")  # a first attempt's 404 is an error


def test_client_errors_are_never_retried(sta_process: RunningServer) -> None:
    with proxy(f"http://127.0.0.1:{sta_process.server.port}") as (state, port), \
            StaClient(sta_process.settings(base_url=f"http://127.0.0.1:{port}/v1.1")) as sta:
        with pytest.raises(NotFound):
            sta.get("Things(987654321)")
        with pytest.raises(BadRequest):
            sta.create("Things", {"description": "no name"})
    assert state.counts["GET /v1.1/Things(987654321)"] == 1 and state.counts["POST /v1.1/Things"] == 1


@pytest.mark.parametrize(("status", "retry_after"), [(503, "1"), (429, "1"), (503, "HTTP-date in 2 s")])
def test_retry_after_is_honoured(status: int, retry_after: str) -> None:
    def in_2_s() -> str:  # made when the answer is sent; whole seconds: 1 to 2 s from then
        return format_datetime(datetime.now(UTC) + timedelta(seconds=2), usegmt=True)
    header: HeaderValue = in_2_s if retry_after.startswith("HTTP-date") else retry_after
    with scripted((status, {"Retry-After": header}, UNAVAILABLE), OK) as (script, port):
        settings = ClientSettings(base_url=f"http://127.0.0.1:{port}/v1.1", backoff_base_s=0.01, retry_budget_s=10)
        with StaClient(settings) as sta:
            assert sta.get("Things") == {"value": []}
    assert len(script.times) == 2
    assert script.times[1] - script.times[0] >= 0.9  # an HTTP-date has whole seconds


def test_creates_keep_their_key_across_retries() -> None:
    created: tuple[int, dict[str, HeaderValue], bytes] = (201, {"Location": "http://x/v1.1/Things(5)"},
                                                          b'{"@iot.id": 5}')
    with scripted((502, {}, b""), (500, {}, b"{}"), created) as (script, port):
        settings = ClientSettings(base_url=f"http://127.0.0.1:{port}/v1.1", backoff_base_s=0.01)
        with StaClient(settings) as sta:
            assert sta.create("Things", {"name": "x"}) == 5
    assert len(script.keys) == 3 and len(set(script.keys)) == 1 and script.keys[0]


def test_the_budget_ends_retries_with_the_typed_error() -> None:
    with scripted((503, {"Retry-After": "60"}, UNAVAILABLE)) as (script, port):
        settings = ClientSettings(base_url=f"http://127.0.0.1:{port}/v1.1", retry_budget_s=5)
        started = time.monotonic()
        with StaClient(settings) as sta, pytest.raises(ServerUnavailable) as raised:
            sta.get("Things")
    assert time.monotonic() - started < 10 and len(script.times) == 1  # 60 s is beyond the budget
    assert raised.value.code == "ServiceUnavailable" and raised.value.message == "database down"
    with scripted((429, {}, b"")) as (script, port):
        settings = ClientSettings(base_url=f"http://127.0.0.1:{port}/v1.1", backoff_base_s=0.01, max_attempts=3)
        with StaClient(settings) as sta, pytest.raises(TooManyRequests):
            sta.get("Things")
    assert len(script.times) == 3


def test_connection_refused_is_retried_then_raised() -> None:
    settings = ClientSettings(base_url=f"http://127.0.0.1:{free_port()}/v1.1", backoff_base_s=0.01, max_attempts=3)
    with StaClient(settings) as sta, pytest.raises(TransportError):
        sta.get("Things")


def test_async_client_retries_the_same_way(sta_process: RunningServer) -> None:
    async def create(port: int, name: str) -> int | str:
        settings = sta_process.settings(base_url=f"http://127.0.0.1:{port}/v1.1")
        async with AsyncStaClient(settings) as sta:
            return await sta.create("Things", {"name": name, "description": "d"})
    with proxy(f"http://127.0.0.1:{sta_process.server.port}") as (state, port):
        state.lose = 1
        name = unique("async")
        new_id = asyncio.run(create(port, name))
        assert state.counts["POST /v1.1/Things"] == 2
    with StaClient(sta_process.settings()) as sta:
        assert _named(sta, name) == [new_id]


def test_requests_ride_out_a_server_restart(client_database_url: str, sta_broker: Broker) -> None:
    """A real `sta-server` stopped and started again while a create is being retried."""
    server = Server(client_database_url, sta_broker.server_url, f"sta-client-restart-{uuid.uuid4().hex[:6]}")
    server.start()
    restart = threading.Timer(1.0, server.start)
    try:
        settings = ClientSettings(base_url=server.base, retry_budget_s=60, max_attempts=200, backoff_base_s=0.2,
                                  backoff_max_s=1.0)
        with StaClient(settings) as sta:
            server.stop()
            restart.start()
            record = thing()
            new_id = sta.create("Things", record)  # connection refused until the server is back
            restart.join()
            assert _named(sta, record.name or "") == [new_id]
    finally:
        if restart.is_alive():
            restart.join()
        server.stop()
        shutil.rmtree(server.log_path.parent, ignore_errors=True)
