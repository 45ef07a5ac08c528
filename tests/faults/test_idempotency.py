"""Retries and redeliveries carrying an idempotency key create one entity (docs/reliability.md)."""
from __future__ import annotations

import threading
import uuid

import httpx
from sqlalchemy import Engine

from tests.faults.conftest import Broker, Publisher, Server, make_stream, stored, wait_for

OBSERVATION = {"phenomenonTime": "2026-01-01T00:00:00Z", "result": 7}


def _create(server: Server, stream: int, key: str, body: object = OBSERVATION) -> httpx.Response:
    return httpx.post(f"{server.base}/Datastreams({stream})/Observations", json=body, timeout=30,
                      headers={"Idempotency-Key": key})


def test_http_retry_with_the_same_key_gets_the_first_entity(db: Engine, shared_server: Server) -> None:
    server = shared_server
    stream = make_stream(server)
    key = uuid.uuid4().hex
    first, retry = _create(server, stream, key), _create(server, stream, key)
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert retry.headers["Location"] == first.headers["Location"]
    assert stored(db, stream) == (1, 1)


def test_concurrent_retries_create_one_entity(db: Engine, shared_server: Server) -> None:
    server = shared_server
    stream = make_stream(server)
    key = uuid.uuid4().hex
    answers: list[httpx.Response] = []
    threads = [threading.Thread(target=lambda: answers.append(_create(server, stream, key))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {answer.status_code for answer in answers} == {201}
    assert len({answer.json()["@iot.id"] for answer in answers}) == 1
    assert stored(db, stream) == (1, 1)


def test_key_reused_for_another_request_is_a_conflict(db: Engine, shared_server: Server) -> None:
    server = shared_server
    stream = make_stream(server)
    key = uuid.uuid4().hex
    _create(server, stream, key)
    assert _create(server, stream, key, {**OBSERVATION, "result": 8}).status_code == 409


def test_mqtt_redelivery_with_the_same_key_is_stored_once(db: Engine, broker: Broker, shared_server: Server) -> None:
    server = shared_server
    stream = make_stream(server)
    publisher = Publisher(broker)
    duplicates = server.ingest_counter("duplicates")
    publisher.publish(stream, range(100))
    publisher.publish(stream, range(100))  # the same keys again, as a redelivery would carry
    publisher.publish(stream, range(100, 110), keyed=False)
    wait_for(lambda: stored(db, stream)[0] == 110, 20, "the messages stored")
    wait_for(lambda: server.ingest_counter("duplicates") == duplicates + 100, 20, "the duplicates counted")
    publisher.close()
    assert stored(db, stream) == (110, 110)


def test_create_observations_retry_is_stored_once(db: Engine, shared_server: Server) -> None:
    stream = make_stream(shared_server)
    body = [{"Datastream": {"@iot.id": stream}, "components": ["phenomenonTime", "result"],
             "dataArray@iot.count": 2, "dataArray": [["2026-01-01T00:00:00Z", 1], ["2026-01-01T00:01:00Z", 2]]}]
    key = uuid.uuid4().hex
    answers = [httpx.post(f"{shared_server.base}/CreateObservations", json=body, timeout=30,
                          headers={"Idempotency-Key": key}) for _ in range(2)]
    assert [answer.status_code for answer in answers] == [201, 201]
    assert answers[1].json() == answers[0].json()
    assert stored(db, stream) == (2, 2)
