"""A clean stop of the ingest process (SIGTERM, as a deploy or the supervisor does) while it still
holds notifications of what it stored: it stops taking creates, publishes them and waits for the
broker's PUBACKs before it disconnects; every stored Observation reaches a persistent subscriber
(red team finding F5: 16,977 of 20,000 were never notified)."""
from __future__ import annotations

import json
import os
import signal
import uuid
from collections.abc import Callable

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import Engine, text

from tests.faults.conftest import Publisher, Server, Subscriber, make_stream, wait_for
from tests.mosquitto import Broker

BODIES = 4
ROWS = 5000


def _ingest_pid(server: Server) -> int:
    (pid,) = [pid for pid, command in server.children().items() if "sta_server.ingest_process" in command]
    return pid


def _publish_bodies(broker: Broker, stream: int) -> None:
    """CreateObservations bodies of ROWS rows with an idempotency key each; returns after the PUBACKs
    (the server acknowledges a body once it is stored)."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"dev-{uuid.uuid4().hex[:6]}", protocol=paho.MQTTv5)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    infos = []
    for body in range(BODIES):
        rows = [[f"2026-01-01T00:00:{n % 60:02d}Z", body * ROWS + n] for n in range(ROWS)]
        payload = json.dumps([{"Datastream": {"@iot.id": stream}, "components": ["phenomenonTime", "result"],
                               "dataArray": rows}])
        properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        properties.UserProperty = [("idempotency-key", f"stop-{body}")]
        infos.append(client.publish("v1.1/CreateObservations", payload, qos=1, properties=properties))
    for info in infos:
        info.wait_for_publish(120)
        assert info.is_published()
    client.loop_stop()
    client.disconnect()


def test_sigterm_of_the_ingest_process_notifies_everything_it_stored(
        db: Engine, broker: Broker, start_server: Callable[..., Server]) -> None:
    server = start_server(STA_HTTP_WORKERS="2")
    wait_for(lambda: "MQTT ingest process running" in server.log(), 20, "the ingest process")
    stream = make_stream(server)
    subscriber = Subscriber(broker, f"v1.1/Datastreams({stream})/Observations")
    publisher = Publisher(broker)
    try:
        wait_for(lambda: subscriber.subscribed >= 1, 10, "the subscription")
        publisher.publish(stream, range(-1, 0))  # known to the server once its notification arrives
        wait_for(lambda: len(subscriber.ids) == 1, 30, "the first notification")
        first = _ingest_pid(server)
        _publish_bodies(broker, stream)
        os.kill(first, signal.SIGTERM)  # right after the last PUBACK: its notifications still pending
        wait_for(lambda: "MQTT ingest process is running again" in server.log(), 60, "the ingest restart")
        with db.connect() as conn:
            ids = set(conn.execute(text("SELECT id FROM observations WHERE datastream_id = :s"),
                                   {"s": stream}).scalars())
        assert len(ids) == 1 + BODIES * ROWS
        wait_for(lambda: set(subscriber.ids) >= ids, 60, "every stored Observation notified")
    finally:
        publisher.close()
        subscriber.close()
    assert "notifications not acknowledged by the broker" not in server.log()
