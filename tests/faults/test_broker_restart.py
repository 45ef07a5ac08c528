"""Mosquitto restarted: HTTP keeps answering (publishing never blocks a request), the server
reconnects, resubscribes and resumes ingest and notifications; notifications of changes made
during the outage reach persistent subscribers after it; subscribers are notified whatever the
order in which they and the server reconnect."""
from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

import httpx
from sqlalchemy import Engine

from tests.faults.conftest import Broker, Publisher, Server, Subscriber, make_stream, stored, wait_for

MESSAGES = 500


def _post(server: Server, stream: int, result: int) -> tuple[int, float, int]:
    """(status, seconds, @iot.id) of an HTTP create."""
    started = time.monotonic()
    response = httpx.post(f"{server.base}/Datastreams({stream})/Observations", timeout=30,
                          json={"phenomenonTime": "2026-01-01T00:00:00Z", "result": result})
    return response.status_code, time.monotonic() - started, int(response.json()["@iot.id"])


def _until_notified(server: Server, stream: int, subscriber: Subscriber) -> int:
    """Create until a notification arrives (the server has learnt the subscription); how many."""
    for attempt in range(1, 50):
        _post(server, stream, -attempt)
        time.sleep(0.2)
        if subscriber.ids:
            return attempt
    raise AssertionError("the subscriber was never notified")


def test_broker_restart_keeps_http_up_and_resumes_mqtt(db: Engine, broker: Broker,
                                                       start_server: Callable[..., Server]) -> None:
    server = start_server()
    stream = make_stream(server)
    subscriber = Subscriber(broker, f"v1.1/Datastreams({stream})/Observations")
    created = _until_notified(server, stream, subscriber)
    broker.stop()
    during = [_post(server, stream, 10_000 + n) for n in range(3)]
    broker.start()
    wait_for(lambda: server.log().count("connected to MQTT broker") >= 2, 30, "the server's reconnect")
    outage_ids = {ident for _, _, ident in during}
    wait_for(lambda: outage_ids <= set(subscriber.ids), 30, "the notifications of the outage")
    subscriber.subscribe()  # clients subscribe again on (re)connect; this one once the server is back
    time.sleep(3)  # a registry rebuilt after a reconnect once forgot the rest after a grace period
    publisher = Publisher(broker)
    publisher.publish(stream, range(MESSAGES))
    expected = created + len(during) + MESSAGES
    wait_for(lambda: stored(db, stream)[1] == expected, 60, "every message stored")
    last_outage_id = max(outage_ids)
    wait_for(lambda: len({i for i in subscriber.ids if i > last_outage_id}) == MESSAGES, 30,
             "the notifications of the new creates")
    publisher.close()
    subscriber.close()
    assert all(status == 201 and elapsed < 5 for status, elapsed, _ in during)
    assert stored(db, stream) == (expected, expected)


def test_subscribers_reconnecting_before_and_after_the_server_are_all_notified(
        db: Engine, broker: Broker, start_server: Callable[..., Server]) -> None:
    server = start_server()
    assert server.process is not None
    stream = make_stream(server)
    topic = f"v1.1/Datastreams({stream})/Observations"
    early, early_clean = Subscriber(broker, topic), Subscriber(broker, topic, clean=True)
    for subscriber in (early, early_clean):
        _until_notified(server, stream, subscriber)
    os.kill(server.process.pid, signal.SIGSTOP)  # the server cannot reconnect before the subscribers
    try:
        broker.stop()
        broker.start()
        wait_for(lambda: early.subscribed >= 2 and early_clean.subscribed >= 2, 30, "the resubscriptions")
    finally:
        os.kill(server.process.pid, signal.SIGCONT)
    wait_for(lambda: server.log().count("connected to MQTT broker") >= 2, 30, "the server's reconnect")
    late = Subscriber(broker, topic, clean=True)  # subscribes once the server is back
    wait_for(lambda: late.subscribed >= 1, 10, "the late subscription")
    time.sleep(3)  # a registry rebuilt after a reconnect once forgot the rest after a grace period
    before = max(early.ids + early_clean.ids)
    publisher = Publisher(broker)
    publisher.publish(stream, range(MESSAGES))
    wait_for(lambda: stored(db, stream)[0] >= MESSAGES, 60, "the creates stored")
    subscribers = {"early": early, "early clean": early_clean, "late": late}
    try:
        wait_for(lambda: all(len({i for i in s.ids if i > before}) == MESSAGES for s in subscribers.values()),
                 30, "every subscriber notified of every create")
    finally:
        counts = {name: len({i for i in s.ids if i > before}) for name, s in subscribers.items()}
        publisher.close()
        for subscriber in subscribers.values():
            subscriber.close()
    assert counts == dict.fromkeys(subscribers, MESSAGES)
