"""MQTT devices and subscribers of the fault tests, and what a stream stored."""
from __future__ import annotations

import json
import uuid
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import Engine, text

from tests.mosquitto import Broker


class Publisher:
    """A device publishing Observations with QoS 1 and an idempotency key per message."""

    def __init__(self, broker: Broker, client_id: str | None = None) -> None:
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id or f"dev-{uuid.uuid4().hex[:6]}",
                                  protocol=paho.MQTTv5)
        self.client.max_inflight_messages_set(500)
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        self.device = uuid.uuid4().hex[:6]

    def publish(self, stream: int, numbers: range, keyed: bool = True) -> None:
        """Publish one Observation per number and wait until the broker has accepted each (PUBACK 0;
        in slices: paho has 65,535 packet ids)."""
        for start in range(numbers.start, numbers.stop, 20_000):
            self._publish(stream, range(start, min(start + 20_000, numbers.stop)), keyed)

    def _publish(self, stream: int, numbers: range, keyed: bool) -> None:
        infos = []
        for number in numbers:
            properties: Any = None
            if keyed:
                properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
                properties.UserProperty = [("idempotency-key", f"{self.device}/{number}")]
            body = f'{{"phenomenonTime":"2026-01-01T00:00:00Z","result":{number}}}'
            infos.append(self.client.publish(f"v1.1/Datastreams({stream})/Observations", body, qos=1,
                                             properties=properties))
        for info in infos:
            info.wait_for_publish(30)
            assert info.is_published()

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def stored(engine: Engine, stream: int) -> tuple[int, int]:
    """(rows, distinct results) of a Datastream's Observations."""
    with engine.connect() as conn:
        row = conn.execute(text("SELECT count(*), count(DISTINCT result_number) FROM observations "
                                "WHERE datastream_id = :s"), {"s": stream}).one()
    return int(row[0]), int(row[1])


class Subscriber:
    """A persistent-session MQTT v5 client (as an agent would be) that collects the @iot.id of
    the notifications it receives and subscribes again on every connect."""

    def __init__(self, broker: Broker, topic: str, *, clean: bool = False) -> None:
        self.topic = topic
        self.ids: list[int] = []
        self.subscribed = 0  # SUBACKs so far
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"sub-{uuid.uuid4().hex[:6]}",
                                  protocol=paho.MQTTv5)
        self.client.on_message = self._on_message
        self.client.on_connect = lambda client, *_: self.subscribe()
        self.client.on_subscribe = lambda *_: setattr(self, "subscribed", self.subscribed + 1)
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = 0 if clean else 300
        self.client.connect("127.0.0.1", broker.port, clean_start=clean, properties=properties)
        self.client.loop_start()

    def subscribe(self) -> None:
        self.client.subscribe(self.topic, qos=1)

    def _on_message(self, client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        body = json.loads(message.payload)
        if "@iot.id" in body:
            self.ids.append(int(body["@iot.id"]))

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
