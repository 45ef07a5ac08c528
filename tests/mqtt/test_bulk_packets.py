"""The server's connection writes notifications and acknowledgements in batches (mqtt/packets.py):
each notification still arrives once, in order, marked as the server's; an acknowledged create is
not delivered again after a restart, one not acknowledged is."""
from __future__ import annotations

import queue
import uuid

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.subscribeoptions import SubscribeOptions

from sta_server.mqtt import packets, received
from sta_server.mqtt.connection import MqttConnection, broker_address
from sta_server.mqtt.notify import ORIGIN_PROPERTY
from sta_server.security.mqtt_identity import bind_client_id
from tests.mqtt.conftest import wait_until


def _client(url: str, on_message: paho.CallbackOnMessage) -> paho.Client:
    """A client of the URL's user (the server's: topics outside `v1.1/#`, which the servers of
    other tests on the same broker would take as creates)."""
    host, port, user, password, _ = broker_address(url)
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=bind_client_id(user, f"t-{uuid.uuid4().hex[:8]}"),
                         protocol=paho.MQTTv5)
    if user:
        client.username_pw_set(user, password)
    client.on_message = on_message
    client.connect(host, port)
    client.loop_start()
    return client


def test_batched_notifications_arrive_once_in_order_marked(broker_url: str) -> None:
    topic = f"test/bulk/{uuid.uuid4().hex[:8]}"
    got: queue.Queue[tuple[bytes, list[tuple[str, str]]]] = queue.Queue()
    subscriber = _client(broker_url, lambda c, u, m: got.put((bytes(m.payload),
                                                              getattr(m.properties, "UserProperty", []))))
    subscriber.subscribe(topic, qos=1)
    server = MqttConnection(broker_url, f"sta-test-{uuid.uuid4().hex[:8]}", [], lambda c, u, m: None, notify_qos=1)
    server.start()
    try:
        assert server.connected.wait(5)
        wait_until(subscriber.is_connected, 5)
        count = 2500  # more than one write (PUBLISH_CHUNK)
        server.publish_notifications([(topic, str(n).encode()) for n in range(count)])
        received = [got.get(timeout=15) for _ in range(count)]
        assert [int(payload) for payload, _ in received] == list(range(count))
        assert all(ORIGIN_PROPERTY in properties for _, properties in received)
        wait_until(lambda: not server.client._out_messages, 10)  # every one acknowledged by the broker
    finally:
        server.stop()
        subscriber.loop_stop()
        subscriber.disconnect()


def test_creates_not_acknowledged_are_redelivered(broker_url: str) -> None:
    """Acknowledgements go out in batches; what was not acknowledged comes again after a restart.
    (Mosquitto 2.0.11 may also deliver again some acknowledged just before the stop, with paho's own
    per-message acks as well: at least once.)"""
    topic, client_id = f"test/acks/{uuid.uuid4().hex[:8]}", f"sta-test-{uuid.uuid4().hex[:8]}"
    subscriptions = [(topic, SubscribeOptions(qos=1))]
    first: queue.Queue[paho.MQTTMessage] = queue.Queue()
    server = MqttConnection(broker_url, client_id, subscriptions, lambda c, u, m: first.put(m), receive_maximum=1000)
    server.start()
    publisher = _client(broker_url, lambda c, u, m: None)
    try:
        assert server.connected.wait(5)
        wait_until(publisher.is_connected, 5)
        for n in range(500):
            publisher.publish(topic, str(n).encode(), qos=1)
        messages = [first.get(timeout=15) for _ in range(500)]
        for message in messages[:300]:
            server.ack(message.mid, message.qos, server.generation)
        server.stop()
        again: queue.Queue[paho.MQTTMessage] = queue.Queue()
        server = MqttConnection(broker_url, client_id, subscriptions, lambda c, u, m: again.put(m))
        server.start()
        seen: set[int] = set()
        while not set(range(300, 500)) <= seen:
            message = again.get(timeout=15)
            seen.add(int(message.payload))
            server.ack(message.mid, message.qos, server.generation)
    finally:
        server.stop()
        publisher.loop_stop()
        publisher.disconnect()


def test_pubacks_encode_each_packet_id() -> None:
    assert packets.pubacks([1, 258, 65535]) == b"\x40\x02\x00\x01" + b"\x40\x02\x01\x02" + b"\x40\x02\xff\xff"
    assert packets.remaining_length(321) == b"\xc1\x02"


def test_publish_decoded_in_one_pass_as_paho_decodes_it() -> None:
    properties = b"\x01\x01" + b"\x02\x00\x00\x00\x3c" + packets.user_properties(
        [("sta-publisher", "site-a"), ("idempotency-key", "k-1")])[1:]
    block = packets.remaining_length(len(properties)) + properties
    raw = packets.publish_qos1(b"v1.1/Datastreams(7)/Observations", 513, block, b'{"result":1}')
    body = raw[1 + len(packets.remaining_length(len(raw) - 2)):]
    message = received.decode_publish(raw[0] | 0x01, body)
    assert message is not None
    assert (message.topic, message.mid, message.qos, message.retain, message.payload) == (
        "v1.1/Datastreams(7)/Observations", 513, 1, True, b'{"result":1}')
    assert message.properties.UserProperty == [("sta-publisher", "site-a"), ("idempotency-key", "k-1")]
    assert received.decode_publish(0x34, body) is None  # QoS 2: paho's
    unknown = packets.publish_qos1(b"t", 1, b"\x02\x7f\x00", b"x")
    assert received.decode_publish(unknown[0], unknown[2:]) is None  # a property it does not know: paho's
