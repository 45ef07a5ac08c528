"""Broker restarts (a persistent Mosquitto of this test's own, restarted on its port): sessions
reconnect by themselves, subscriptions are renewed, and a QoS 1 publish made while the broker was
down is sent after the reconnect and its PUBACK reported with the original message."""
from __future__ import annotations

import queue
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from sta_client import ClientSettings, MqttSession, Notification, Publication
from tests.mosquitto import Broker

TOPIC = "v1.1/Things(1)"


def wait_until(condition: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def broker() -> Iterator[Broker]:
    started = Broker(persistent=True)
    started.add_user("field", "field-secret")
    started.start()
    yield started
    started.remove()


def session(broker: Broker, name: str) -> MqttSession:
    # a named user: Mosquitto 2.0.11 drops what is published for an anonymous persistent session
    # between a restart and its reconnect (tests/mosquitto.py `add_user`)
    settings = ClientSettings(mqtt_url=f"mqtt://field:field-secret@127.0.0.1:{broker.port}")
    return MqttSession(settings, f"field:{name}-{uuid.uuid4().hex[:8]}")


def test_sessions_come_back_after_a_broker_restart(broker: Broker) -> None:
    got: queue.Queue[Notification] = queue.Queue()
    acks: queue.Queue[tuple[Publication, int]] = queue.Queue()
    subscriber, publisher = session(broker, "sub"), session(broker, "pub")
    subscriber.subscribe(TOPIC, got.put)
    for client in (subscriber, publisher):
        client.start()
        client.wait_connected(10)
    try:
        assert publisher.publish(TOPIC, {"n": 1}).wait(10) < 128
        assert got.get(timeout=10).body == {"n": 1}
        broker.stop()
        wait_until(lambda: not publisher.connected.is_set() and not subscriber.connected.is_set(), 10, "disconnect")
        while_down = publisher.publish(TOPIC, {"n": 2}, [("idempotency-key", "k-2")],
                                       on_ack=lambda p, code: acks.put((p, code)))
        assert while_down.reason_code is None and publisher.unacknowledged >= 1
        broker.start()
        publication, code = acks.get(timeout=40)  # paho's reconnect back-off starts at 1 s
        assert publication is while_down and publication.idempotency_key == "k-2" and code < 128
        wait_until(subscriber.connected.is_set, 30, "the subscriber's reconnect")
        assert subscriber.session_present
        bodies = [got.get(timeout=10).body]
        if bodies[0] != {"n": 2}:
            bodies.append(got.get(timeout=10).body)
        assert {"n": 2} in bodies
        publisher.publish(TOPIC, {"n": 3}).wait(10)
        while (body := got.get(timeout=10).body) != {"n": 3}:
            assert body == {"n": 2}  # at most a redelivery of the message in flight
    finally:
        subscriber.close()
        publisher.close()


def test_a_handler_may_subscribe_without_blocking_the_network_thread(broker: Broker) -> None:
    got: queue.Queue[Notification] = queue.Queue()
    took: list[float] = []
    client = session(broker, "chain")

    def first(notification: Notification) -> None:
        started = time.monotonic()
        client.subscribe("v1.1/Things(2)", got.put)  # from paho's thread: no wait for the SUBACK
        took.append(time.monotonic() - started)
        got.put(notification)
    client.subscribe(TOPIC, first)
    client.start()
    try:
        client.wait_connected(10)
        client.publish(TOPIC, {"n": 1}).wait(10)
        assert got.get(timeout=10).topic == TOPIC and took[0] < 1.0
        wait_until(lambda: client.publish("v1.1/Things(2)", {"n": 2}).wait(10) < 128 and not got.empty(), 10,
                   "a message on the second subscription")
        assert got.get(timeout=1).topic == "v1.1/Things(2)"
    finally:
        client.close()
