"""A backlog larger than the broker's old queue bound (100,000) while the database is stopped: the
broker, sized as scripts/services.sh sizes the project broker, holds it all; the server raises its
alarm (ERROR line, GET /metrics) at half of the bound it is told, its memory stays flat, and once
the database is back every acknowledged message is stored, once."""
from __future__ import annotations

import time
from collections.abc import Callable

import httpx
from sqlalchemy import Engine

from tests.faults.conftest import Broker, Cluster, Server, make_stream, stored, wait_for
from tests.faults.publish import acknowledged, run_publishers

MESSAGES = 110_000
TOLD_BOUND = 200_000  # the server's alarm at half of it: 100,000 held


def test_backlog_beyond_the_old_bound_is_all_stored(db: Engine, cluster: Cluster, broker: Broker,
                                                    start_server: Callable[..., Server]) -> None:
    server = start_server(STA_MQTT_BROKER_QUEUE_MESSAGES=str(TOLD_BOUND))
    stream = make_stream(server)
    rss_before = server.rss_kb()
    cluster.stop()
    try:
        publishers = run_publishers(broker.port, stream, 0, MESSAGES, processes=4)
        sent = acknowledged(publishers)
        wait_for(lambda: "MQTT broker queue at" in server.log(), 15, "the broker queue alarm")
        metrics = httpx.get(f"http://127.0.0.1:{server.port}/metrics", timeout=10).text
        rss_held = server.rss_kb()
    finally:
        cluster.start()
    started = time.monotonic()
    wait_for(lambda: stored(db, stream)[1] == MESSAGES, 240, "every acknowledged message stored")
    print(f"stored {MESSAGES} in {time.monotonic() - started:.1f} s after the database came back")
    assert sent == MESSAGES
    assert stored(db, stream) == (MESSAGES, MESSAGES)
    assert "sta_mqtt_broker_queue_alarm 1" in metrics
    assert rss_held - rss_before < 50_000  # kB: the backlog stayed at the broker
    assert "MQTT broker dropped" not in server.log()
