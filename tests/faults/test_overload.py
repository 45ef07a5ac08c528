"""Offered far more than it can store. Another transaction takes the Datastream row lock for 0.5 s
at a time (every insert waits for it), so ingest stores a batch of 200 about twice a second while a
device publishes 10,000 creates as fast as it can and a subscriber has notifications in flight.
Each acknowledgement lets Mosquitto 2.0.11 send up to Receive Maximum more, so only the server's
own back-pressure bounds what it takes in. The MQTT network thread is never blocked: the server
keeps its connection (keep-alive of 2 s here: the broker drops a silent client after 3 s), its
queue and memory stay bounded (the broker keeps the rest), and everything is stored."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine, text

from tests.faults.conftest import Broker, Publisher, Server, Subscriber, broker_log, make_stream, stored, wait_for

MESSAGES = 10_000
RECEIVE_MAXIMUM = 100
HIGH_WATER = 1000  # the ingest queue's mark with this Receive Maximum
KEEPALIVE_S = 2


def _throttle(db: Engine, stream: int, stop: threading.Event) -> None:
    """Hold the Datastream row lock 0.5 s, let go for 20 ms, until `stop`."""
    while not stop.is_set():
        with db.connect() as blocker, blocker.begin():
            blocker.execute(text("SELECT id FROM datastreams WHERE id = :s FOR UPDATE"), {"s": stream})
            time.sleep(0.5)
        time.sleep(0.02)


def test_overload_keeps_the_connection_and_bounds_and_stores_everything(
        db: Engine, broker: Broker, start_server: Callable[..., Server]) -> None:
    server = start_server("sta-faults-overload", STA_MQTT_RECEIVE_MAXIMUM=str(RECEIVE_MAXIMUM),
                          STA_MQTT_KEEPALIVE_S=str(KEEPALIVE_S), STA_MQTT_INGEST_BATCH="200")
    stream = make_stream(server)
    subscriber = Subscriber(broker, f"v1.1/Datastreams({stream})/Observations")
    publisher = Publisher(broker)
    rss_before = server.rss_kb()
    stop = threading.Event()
    throttle = threading.Thread(target=_throttle, args=(db, stream, stop))
    throttle.start()
    try:
        publisher.publish(stream, range(MESSAGES))  # accepted by the broker far faster than stored
        overloaded_at = time.monotonic()
        wait_for(lambda: time.monotonic() - overloaded_at > 3 * KEEPALIVE_S, 10, "a few keep-alive periods",
                 step=0.5)
        backlog = MESSAGES - stored(db, stream)[0]
        rss_overloaded = server.rss_kb()
    finally:
        stop.set()
        throttle.join()
    wait_for(lambda: stored(db, stream)[1] == MESSAGES, 120, "every message stored")
    publisher.close()
    subscriber.close()
    assert backlog > 5 * HIGH_WATER  # it was overloaded: most of it waited
    assert stored(db, stream) == (MESSAGES, MESSAGES)
    assert server.log().count("connected to MQTT broker") == 1
    assert "disconnected from MQTT broker" not in server.log()
    assert "sta-faults-overload has exceeded timeout" not in broker_log(broker)
    assert 0 < server.ingest_counter("max_queued") <= 2 * HIGH_WATER  # the mark, plus reads awaiting a PINGRESP
    assert rss_overloaded - rss_before < 30_000  # kB: the backlog stayed at the broker
