"""The server's own MQTT client: privileged, MQTT v5, persistent session for ingest, manual acks."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from sta_server.mqtt import packets
from sta_server.mqtt.client import ServerClient
from sta_server.mqtt.notify import ORIGIN_PROPERTY
from sta_server.mqtt.received import Received
from sta_server.security.mqtt_identity import bind_client_id
from sta_server.settings import Settings

log = logging.getLogger(__name__)

Message = paho.MQTTMessage | Received  # a QoS 0/1 PUBLISH is decoded by mqtt/received.py
MessageHandler = Callable[[paho.Client, Any, Message], None]
PUBLISH_CHUNK = 1000  # notifications written at once
MAX_IN_FLIGHT = 30000  # unacknowledged notifications (packet ids are 16 bits)


def broker_address(url: str) -> tuple[str, int, str | None, str | None, bool]:
    """host, port, user, password, tls from `mqtt://user:pw@host:1883` (`mqtts://` for TLS)."""
    parts = urlsplit(url)
    tls = parts.scheme in ("mqtts", "ssl")
    return (parts.hostname or "127.0.0.1", parts.port or (8883 if tls else 1883), parts.username,
            parts.password, tls)


@dataclass(frozen=True)
class ClientTls:
    """TLS of the server's broker connection (`mqtts://`): the CA that signed the broker's
    certificate (None: the system CAs) and, optionally, the server's own client certificate."""

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> ClientTls:
        return cls(settings.mqtt_ca_file, settings.mqtt_cert_file, settings.mqtt_key_file)


class MqttConnection:
    def __init__(self, url: str, client_id: str, subscriptions: list[tuple[str, SubscribeOptions]],
                 on_message: MessageHandler, *, session_expiry_s: int = 3600, notify_qos: int = 0,
                 receive_maximum: int = 1000, notify_buffer: int = 10000, keepalive_s: int = 30,
                 tls_files: ClientTls | None = None) -> None:
        self.subscriptions = subscriptions
        self.notify_qos = notify_qos
        self.connected = threading.Event()
        self.generation = 0  # connections so far: an ack belongs to the connection that received
        self.on_connected: Callable[[int], None] | None = None
        self.notifications_dropped = 0
        self.notify_buffer = notify_buffer
        self.keepalive_s = keepalive_s
        self._held = 0  # notifications handed to paho since the connection went down
        host, port, user, password, tls = broker_address(url)
        self.address = (host, port)
        client_id = bind_client_id(user, client_id)  # the broker plugin admits `<user>:…` only
        self.client = ServerClient(CallbackAPIVersion.VERSION2, client_id=client_id,
                                   protocol=paho.MQTTv5, reconnect_on_failure=True)
        if user:
            self.client.username_pw_set(user, password)
        if tls:  # the broker's certificate and host name are verified
            files = tls_files or ClientTls()
            self.client.tls_set(ca_certs=files.ca_file, certfile=files.cert_file, keyfile=files.key_file)
        self.client.manual_ack_set(True)
        # No in-flight limit for notifications (`publish_notifications` bounds it): with one, paho scans
        # the window on each PUBACK for a queued message to send, and under a backlog notifications lagged.
        self.client.max_inflight_messages_set(0)
        self.client.max_queued_messages_set(0)  # paho's own queue: bounded by `publish_notification`
        self.client.reconnect_delay_set(min_delay=1, max_delay=10)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = on_message
        self._connect_properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        self._connect_properties.SessionExpiryInterval = session_expiry_s
        # The broker sends at most this many unacknowledged creates: the rest waits at the broker.
        self._connect_properties.ReceiveMaximum = receive_maximum
        self._publish_properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        self._publish_properties.UserProperty = [ORIGIN_PROPERTY]
        self._packed_properties = packets.user_properties([ORIGIN_PROPERTY])

    def hold_reading(self, hold: Callable[[], bool], busy: Callable[[], bool] | None = None) -> None:
        """Stop reading creates while `hold()` is true, read at most every 20 ms while `busy()` is
        (checked on the network thread, connected only)."""
        self.client.hold = lambda: self.connected.is_set() and hold()
        self.client.busy = busy

    def start(self, timeout_s: float = 10.0) -> None:
        host, port = self.address
        self.client.connect_async(host, port, keepalive=self.keepalive_s, clean_start=False,
                                  properties=self._connect_properties)
        self.client.loop_start()
        if not self.connected.wait(timeout_s):
            log.warning("MQTT broker %s:%s not reachable yet; retrying in the background", host, port)

    def wait_published(self, deadline: float) -> int:
        """Wait (until `deadline`, a time.monotonic()) for the broker's PUBACKs of the notifications
        in flight, while connected; how many are still unacknowledged."""
        while (left := len(self.client._out_messages)) and self.connected.is_set() and time.monotonic() < deadline:
            time.sleep(0.02)
        return left

    def stop(self) -> None:
        self.client.send_acks()  # before the DISCONNECT
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client: paho.Client, userdata: object, flags: object, reason: object,
                    properties: object) -> None:
        log.info("connected to MQTT broker %s:%s (%s)", *self.address, reason)
        self.generation += 1
        self.client.generation = self.generation
        self._held = 0
        if self.subscriptions:
            client.subscribe(self.subscriptions)
        self.connected.set()
        if self.on_connected is not None:
            self.on_connected(self.generation)

    def _on_disconnect(self, client: paho.Client, userdata: object, flags: object, reason: object,
                       properties: object) -> None:
        self.connected.clear()
        log.warning("disconnected from MQTT broker (%s); reconnecting", reason)

    def publish_notification(self, topic: str, payload: bytes) -> None:
        """Never blocks. While disconnected paho keeps up to `notify_buffer` QoS ≥ 1 notifications
        and sends them after the reconnect; QoS 0 ones and any beyond the buffer are dropped and
        counted. (Connected, paho's queue is not limited: the broker acknowledges quickly.)"""
        if not self.connected.is_set():
            if self.notify_qos == 0 or self._held >= self.notify_buffer:
                self._drop()
                return
            self._held += 1
        self.client.publish(topic, payload, qos=self.notify_qos, properties=self._publish_properties)

    def publish_notifications(self, items: list[tuple[str, bytes]]) -> None:
        """Many notifications (topic, payload) at once: one write while connected at QoS 1 (waiting
        while MAX_IN_FLIGHT are unacknowledged: back-pressure on the notifier), else one by one."""
        if self.notify_qos != 1 or not self.connected.is_set():
            for topic, payload in items:
                self.publish_notification(topic, payload)
            return
        for start in range(0, len(items), PUBLISH_CHUNK):
            while len(self.client._out_messages) >= MAX_IN_FLIGHT and self.connected.is_set():
                time.sleep(0.005)
            self.client.publish_many(items[start:start + PUBLISH_CHUNK], self._publish_properties,
                                     self._packed_properties)

    def _drop(self) -> None:
        self.notifications_dropped += 1
        if self.notifications_dropped % 1000 == 1:
            log.warning("MQTT broker unreachable: %d notifications dropped so far", self.notifications_dropped)

    def ack(self, mid: int, qos: int, generation: int | None = None) -> None:
        """Acknowledge a create. A message received on an earlier connection is not acknowledged:
        the broker has redelivered it on this one (with the same or a reused packet id), and that
        copy will be acknowledged; acking the old id could acknowledge a message not yet stored."""
        if qos == 1 and generation in (None, self.generation):
            self.client.ack_later(mid, self.generation if generation is None else generation)
        elif qos > 1 and generation in (None, self.generation):
            self.client.ack(mid, qos)


def is_own_message(message: Message) -> bool:
    properties = getattr(message, "properties", None)
    user = getattr(properties, "UserProperty", None) or []
    return ORIGIN_PROPERTY in [tuple(p) for p in user]


def user_property(message: Message, name: str) -> str | None:
    """The value of an MQTT v5 user property of a message (the first, if repeated)."""
    properties = getattr(message, "properties", None)
    for key, value in getattr(properties, "UserProperty", None) or []:
        if key == name:
            return str(value)
    return None
