"""The MQTT side of the security tests: a broker that admits only the users generated from the
user store (with the project's broker plugin, tests/mosquitto.py), the server connected to it with
`STA_MQTT_IDENTITY=broker`, and clients of the grid's users (client id `<user>:t-…`)."""
from __future__ import annotations

import json
import queue
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import paho.mqtt.client as paho
import pytest
from flask.testing import FlaskClient
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import Engine, text

from sta_server.app import create_app
from sta_server.mqtt.service import MqttService
from sta_server.security.broker_files import sync
from sta_server.service.events import EventBus
from sta_server.settings import Settings
from tests.mosquitto import Broker
from tests.mqtt.conftest import wait_until
from tests.security.conftest import Grid, password

SERVER_ACL = "user sta-server\ntopic readwrite #\ntopic read $SYS/#\n"
Platform = tuple[FlaskClient, MqttService, Settings]


def start_secure_broker(plugin: bool = True) -> Broker:
    """A broker that admits only the users of the generated password file (`plugin=False`: an
    outside broker, which does not name publishers)."""
    broker = Broker()
    conf = broker.folder / "mosquitto.conf"
    text_ = conf.read_text().replace("allow_anonymous true", "allow_anonymous false")
    if not plugin:
        text_ = "\n".join(line for line in text_.splitlines() if not line.startswith("plugin")) + "\n"
    conf.write_text(text_ + f"pid_file {broker.folder}/mosquitto.pid\n")
    shutil.copy(broker.folder / "passwd", broker.folder / "passwd.base")
    (broker.folder / "acl.base").write_text(SERVER_ACL)
    (broker.folder / "acl").write_text(SERVER_ACL)
    broker.start()
    wait_until((broker.folder / "mosquitto.pid").exists, 10)
    return broker


@pytest.fixture(scope="module")
def secure_broker() -> Iterator[Broker]:
    broker = start_secure_broker()
    yield broker
    broker.remove()


class Client:
    """An MQTT v5 client of one user (`None`: anonymous); its id is `<user>:t-…` unless given."""

    def __init__(self, broker: Broker, user: str | None, secret: str | None = None, *,
                 client_id: str | None = None, clean: bool = True) -> None:
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.connected: queue.Queue[int] = queue.Queue()
        self.subacks: queue.Queue[list[int]] = queue.Queue()
        self.pubacks: queue.Queue[tuple[int, int]] = queue.Queue()
        suffix = f"t-{uuid.uuid4().hex[:8]}"
        self.client_id = client_id or (f"{user}:{suffix}" if user else suffix)
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=paho.MQTTv5)
        if user is not None:
            self.client.username_pw_set(user, secret if secret is not None else password(user))
        self.client.on_message = lambda c, u, m: self.messages.put((m.topic, m.payload))
        self.client.on_connect = lambda c, u, f, rc, p: self.connected.put(rc.value)
        self.client.on_subscribe = lambda c, u, mid, codes, p: self.subacks.put([int(x.value) for x in codes])
        self.client.on_publish = lambda c, u, mid, code, p: self.pubacks.put((mid, int(code.value)))
        connect = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        connect.SessionExpiryInterval = 0 if clean else 3600
        self.client.connect("127.0.0.1", broker.port, clean_start=clean, properties=connect)
        self.client.loop_start()
        self.rc = self.connected.get(timeout=10)

    def subscribe(self, topic: str) -> int:
        self.client.subscribe(topic, 1)
        return self.subacks.get(timeout=10)[0]

    def publish(self, topic: str, body: Any, **user_properties: str) -> int:
        """QoS 1; the broker's PUBACK reason code (0: accepted, 135: refused by its ACL)."""
        properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        if user_properties:
            properties.UserProperty = [(k.replace("_", "-"), v) for k, v in user_properties.items()]
        sent = self.client.publish(topic, json.dumps(body).encode(), qos=1, properties=properties)
        sent.wait_for_publish(5)
        while True:
            mid, code = self.pubacks.get(timeout=5)
            if mid == sent.mid:
                return code

    def received(self, topic: str, timeout: float) -> list[Any]:
        found = []
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                got, payload = self.messages.get(timeout=remaining)
            except queue.Empty:
                break
            if got == topic:
                found.append(json.loads(payload))
        return found

    def until(self, topic: str, timeout: float = 10) -> list[tuple[str, Any]]:
        """Everything received up to and including the first message on `topic`."""
        got: list[tuple[str, Any]] = []
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            name, payload = self.messages.get(timeout=remaining)
            got.append((name, json.loads(payload)))
            if name == topic:
                return got
        raise AssertionError(f"nothing on {topic}: {got}")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def start_platform(broker: Broker, settings: Settings, engine: Engine,
                   identity: str = "broker") -> tuple[Platform, Any]:
    settings = replace(settings, mqtt_url=broker.server_url, mqtt_auth_dir=str(broker.folder),
                       mqtt_client_id=f"sta-test-{uuid.uuid4().hex[:8]}", mqtt_identity=identity)
    bus = EventBus()
    service = MqttService(settings, engine, bus)
    service.start()
    assert service.connection.connected.wait(5)
    app = create_app(settings, engine, bus)
    app.config["STA_MQTT"] = service
    app.testing = True

    def stop() -> None:
        app.config["STA_BROKER_FILES"].stop()
        service.stop()
    return (app.test_client(), service, settings), stop


@pytest.fixture
def platform(secure_broker: Broker, secure_settings: Settings, secure_app: Any,
             clean_db: Engine) -> Iterator[Platform]:
    started, stop = start_platform(secure_broker, secure_settings, clean_db)
    yield started
    stop()


def acl_text(broker: Broker) -> str:
    return (broker.folder / "acl").read_text()


def wait_for_acl(broker: Broker, line: str) -> None:
    wait_until(lambda: line in acl_text(broker).splitlines(), 15)
    time.sleep(0.3)  # the broker re-reads its files on SIGHUP


@pytest.fixture
def mqtt_grid(platform: Platform, grid: Grid, secure_broker: Broker, clean_db: Engine) -> Grid:
    with clean_db.connect() as conn:  # the grid was made through another app: sync once by hand
        sync(conn, platform[2])
    wait_for_acl(secure_broker, f"topic readwrite v1.1/Datastreams({grid.stream_a})/Observations")
    return grid


def subscribed(service: MqttService, topic: str) -> bool:
    return topic in {r.topic for b in service.registry.bases() for r in service.registry.lookup(b)}


def results(engine: Engine, stream: int | None = None) -> list[float]:
    """The numeric results stored (in one Datastream), in id order."""
    where = "" if stream is None else f" WHERE datastream_id = {int(stream)}"
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(text(f"SELECT result_number FROM observations{where} ORDER BY id"))]
