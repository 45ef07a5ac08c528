"""MQTT fixtures: the server's MQTT service on the session broker, and a test client that waits
for messages (`expect`)."""
from __future__ import annotations

import json
import queue
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import paho.mqtt.client as paho
import pytest
from flask import Flask
from flask.testing import FlaskClient
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine

from sta_server.app import create_app
from sta_server.mqtt.connection import broker_address
from sta_server.mqtt.service import MqttService
from sta_server.service.events import EventBus
from sta_server.settings import Settings


@pytest.fixture
def mqtt_service(settings: Settings, clean_db: Engine, broker_url: str) -> Iterator[MqttService]:
    bus = EventBus()
    mqtt_settings = replace(settings, mqtt_url=broker_url, mqtt_client_id=f"sta-test-{uuid.uuid4().hex[:8]}")
    service = MqttService(mqtt_settings, clean_db, bus)
    service.start()
    assert service.connection.connected.wait(5)
    yield service
    service.stop()


@pytest.fixture
def mqtt_app(settings: Settings, clean_db: Engine, mqtt_service: MqttService) -> Flask:
    app = create_app(settings, clean_db, mqtt_service.bus)
    app.config["STA_MQTT"] = mqtt_service
    app.testing = True
    return app


@pytest.fixture
def http(mqtt_app: Flask) -> FlaskClient:
    return mqtt_app.test_client()


class MqttTestClient:
    """A plain MQTT client as a controller or agent would use."""

    def __init__(self, url: str, service: MqttService, *, client_id: str | None = None,
                 clean: bool = True) -> None:
        host, port, *_ = broker_address(url)
        self.service = service
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id or f"t-{uuid.uuid4().hex[:8]}",
                                  protocol=paho.MQTTv311, clean_session=clean)
        self.client.on_message = lambda c, u, m: self.messages.put((m.topic, m.payload))
        self.client.connect(host, port)
        self.client.loop_start()

    def subscribe(self, topic: str, qos: int = 1, wait: bool = True) -> None:
        self.client.subscribe(topic, qos)
        if wait:
            wait_until(lambda: topic in {r.topic for b in self.service.registry.bases()
                                         for r in self.service.registry.lookup(b)})

    def publish(self, topic: str, body: Any, qos: int = 1) -> None:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.client.publish(topic, payload, qos=qos).wait_for_publish(5)

    def expect(self, topic: str, timeout: float = 15.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no message on {topic} within {timeout}s")
            try:
                got_topic, payload = self.messages.get(timeout=remaining)
            except queue.Empty:
                continue
            if got_topic == topic:
                return json.loads(payload)

    def expect_nothing(self, topic: str, timeout: float = 0.5) -> None:
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                got_topic, payload = self.messages.get(timeout=remaining)
            except queue.Empty:
                return
            assert got_topic != topic, f"unexpected message on {topic}: {payload!r}"

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def wait_until(condition: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


@pytest.fixture
def mqtt(broker_url: str, mqtt_service: MqttService) -> Iterator[MqttTestClient]:
    client = MqttTestClient(broker_url, mqtt_service)
    yield client
    client.close()
