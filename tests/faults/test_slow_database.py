"""A slow database (issue 14 §2): a row locked past the statement timeout. Every create the broker
acknowledged while the lock was held is stored once it goes, none twice; HTTP creates meanwhile
answer 503 QueryTimeout (docs/writes.md)."""
from __future__ import annotations

from collections.abc import Callable

import httpx
from sqlalchemy import Engine, text

from tests.faults.conftest import Broker, Publisher, Server, make_stream, stored, wait_for

MESSAGES = 500


def test_a_row_locked_past_the_statement_timeout_loses_no_acknowledged_create(
        db: Engine, broker: Broker, start_server: Callable[..., Server]) -> None:
    server = start_server(STA_STATEMENT_TIMEOUT_MS="300")
    stream = make_stream(server)
    publisher = Publisher(broker)
    with db.connect() as locker, locker.begin():
        locker.execute(text("SELECT id FROM datastreams WHERE id = :s FOR UPDATE"), {"s": stream})
        publisher.publish(stream, range(MESSAGES))  # every one acknowledged by the broker (PUBACK 0)
        wait_for(lambda: "during MQTT ingest (QueryTimeout)" in server.log(), 30, "the ingest's first timeout")
        response = httpx.post(f"{server.base}/Datastreams({stream})/Observations", json={"result": -1}, timeout=30)
        assert stored(db, stream) == (0, 0)
    assert response.status_code == 503 and response.json()["error"]["code"] == "QueryTimeout"
    wait_for(lambda: stored(db, stream)[0] >= MESSAGES, 60, "every acknowledged create stored after the lock")
    publisher.close()
    assert stored(db, stream) == (MESSAGES, MESSAGES)
    wait_for(lambda: server.ingest_counter("accepted") == MESSAGES, 10, "the ingest's report")
    assert server.ingest_counter("rejected") == 0
