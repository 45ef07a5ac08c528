"""Ingest slower than the broker: with the Datastream row locked by another transaction every
insert waits; the server's queue stays bounded (the broker keeps the rest), memory stays flat,
and once the lock is gone everything is stored."""
from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Engine, text

from tests.faults.conftest import Broker, Publisher, Server, make_stream, stored, wait_for

MESSAGES = 4000
RECEIVE_MAXIMUM = 100
QUEUE_BOUND = 1000  # the ingest queue of a server with this Receive Maximum


def test_overload_keeps_the_queue_bounded_and_stores_everything(db: Engine, broker: Broker,
                                                                start_server: Callable[..., Server]) -> None:
    server = start_server(STA_MQTT_RECEIVE_MAXIMUM=str(RECEIVE_MAXIMUM))
    stream = make_stream(server)
    publisher = Publisher(broker)
    rss_before = server.rss_kb()
    with db.connect() as blocker, blocker.begin():
        blocker.execute(text("SELECT id FROM datastreams WHERE id = :s FOR UPDATE"), {"s": stream})
        publisher.publish(stream, range(MESSAGES))  # accepted by the broker, not yet storable
        time.sleep(3)  # past a few reports of the ingest counters
        assert stored(db, stream) == (0, 0)
        rss_blocked = server.rss_kb()
    wait_for(lambda: stored(db, stream)[1] == MESSAGES, 90, "every message stored after the lock")
    publisher.close()
    assert stored(db, stream) == (MESSAGES, MESSAGES)
    assert 0 < server.ingest_counter("max_queued") <= QUEUE_BOUND
    assert rss_blocked - rss_before < 30_000  # kB: the backlog stayed at the broker
