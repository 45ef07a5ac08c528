"""A per-topic pace never drops what the broker acknowledged: with a pace of 500/s (burst 500) a
backlog on one topic redelivered after the server was away, and a publisher offering the same topic
as fast as it can meanwhile (thousands a second), are all stored; nothing is rejected, the excess
waits. (The pace is low so that it holds messages back even on a busy machine.)"""
from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import Engine

from tests.faults.conftest import Broker, Publisher, Server, make_stream, stored, wait_for

BACKLOG = 3000
HOT = 3000
PACE = {"STA_MQTT_RATE_PER_TOPIC": "500", "STA_MQTT_BURST_PER_TOPIC": "500"}


def test_hot_topic_and_redelivered_backlog_are_all_stored(db: Engine, broker: Broker,
                                                          start_server: Callable[..., Server]) -> None:
    first = start_server("sta-faults-hot", **PACE)
    stream = make_stream(first)
    first.kill()  # the server away: its session at the broker keeps what comes
    backlog = Publisher(broker)
    backlog.publish(stream, range(BACKLOG))  # all acknowledged by the broker
    server = start_server("sta-faults-hot", **PACE)
    hot = Publisher(broker)
    sender = threading.Thread(target=hot.publish, args=(stream, range(BACKLOG, BACKLOG + HOT)))
    sender.start()
    sender.join()
    wait_for(lambda: stored(db, stream)[1] == BACKLOG + HOT, 60, "every acknowledged message stored")
    backlog.close()
    hot.close()
    assert stored(db, stream) == (BACKLOG + HOT, BACKLOG + HOT)
    wait_for(lambda: server.ingest_counter("accepted") == BACKLOG + HOT, 10, "the last ingest report")
    assert server.ingest_counter("rejected") == 0
    assert server.ingest_counter("paced") > BACKLOG  # the pace did hold messages back
