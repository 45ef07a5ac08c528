"""Offered far more than it can store: with the Datastream row locked by another transaction every
insert waits (a storage rate of zero) while publishers keep sending. The MQTT network thread is
never blocked: the server keeps its connection (keep-alive of 2 s here, so the broker would drop a
silent client after 3 s; the lock is held for 10 s), its queue and memory stay bounded (the broker
keeps the rest), and once the lock is gone everything is stored."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine, text

from tests.faults.conftest import Broker, Publisher, Server, broker_log, make_stream, stored, wait_for

MESSAGES = 10_000
RECEIVE_MAXIMUM = 100
HIGH_WATER = 1000  # the ingest queue's mark with this Receive Maximum
KEEPALIVE_S = 2
LOCKED_S = 10


def test_overload_keeps_the_connection_and_bounds_and_stores_everything(
        db: Engine, broker: Broker, start_server: Callable[..., Server]) -> None:
    server = start_server("sta-faults-overload", STA_MQTT_RECEIVE_MAXIMUM=str(RECEIVE_MAXIMUM),
                          STA_MQTT_KEEPALIVE_S=str(KEEPALIVE_S))
    stream = make_stream(server)
    publisher = Publisher(broker)
    rss_before = server.rss_kb()
    with db.connect() as blocker, blocker.begin():
        blocker.execute(text("SELECT id FROM datastreams WHERE id = :s FOR UPDATE"), {"s": stream})
        locked_at = time.monotonic()
        sender = threading.Thread(target=publisher.publish, args=(stream, range(MESSAGES)))
        sender.start()  # accepted by the broker, not storable yet
        sender.join()
        wait_for(lambda: time.monotonic() - locked_at > LOCKED_S, LOCKED_S + 1, "the lock's time", step=0.5)
        assert stored(db, stream) == (0, 0)
        rss_blocked = server.rss_kb()
        deepest = server.ingest_counter("max_queued")
    wait_for(lambda: stored(db, stream)[1] == MESSAGES, 120, "every message stored after the lock")
    publisher.close()
    assert stored(db, stream) == (MESSAGES, MESSAGES)
    assert server.log().count("connected to MQTT broker") == 1
    assert "disconnected from MQTT broker" not in server.log()
    assert "sta-faults-overload has exceeded timeout" not in broker_log(broker)
    assert 0 < deepest <= 2 * HIGH_WATER  # at the mark, plus what came in while a PINGRESP was awaited
    assert rss_blocked - rss_before < 30_000  # kB: the backlog stayed at the broker
