"""The server's own MQTT client: privileged, MQTT v5, persistent session for ingest, manual acks."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from sta_server.mqtt.notify import ORIGIN_PROPERTY

log = logging.getLogger(__name__)

MessageHandler = Callable[[paho.Client, Any, paho.MQTTMessage], None]


def broker_address(url: str) -> tuple[str, int, str | None, str | None, bool]:
    """host, port, user, password, tls from `mqtt://user:pw@host:1883` (`mqtts://` for TLS)."""
    parts = urlsplit(url)
    tls = parts.scheme in ("mqtts", "ssl")
    return (parts.hostname or "127.0.0.1", parts.port or (8883 if tls else 1883), parts.username,
            parts.password, tls)


class MqttConnection:
    def __init__(self, url: str, client_id: str, subscriptions: list[tuple[str, SubscribeOptions]],
                 on_message: MessageHandler, *, session_expiry_s: int = 3600, notify_qos: int = 0) -> None:
        self.subscriptions = subscriptions
        self.notify_qos = notify_qos
        self.connected = threading.Event()
        host, port, user, password, tls = broker_address(url)
        self.address = (host, port)
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=paho.MQTTv5, reconnect_on_failure=True)
        if user:
            self.client.username_pw_set(user, password)
        if tls:
            self.client.tls_set()
        self.client.manual_ack_set(True)
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = on_message
        self._connect_properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        self._connect_properties.SessionExpiryInterval = session_expiry_s
        self._publish_properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        self._publish_properties.UserProperty = [ORIGIN_PROPERTY]

    def start(self, timeout_s: float = 10.0) -> None:
        host, port = self.address
        self.client.connect_async(host, port, keepalive=30, clean_start=False,
                                  properties=self._connect_properties)
        self.client.loop_start()
        if not self.connected.wait(timeout_s):
            log.warning("MQTT broker %s:%s not reachable yet; retrying in the background", host, port)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client: paho.Client, userdata: object, flags: object, reason: object,
                    properties: object) -> None:
        log.info("connected to MQTT broker %s:%s (%s)", *self.address, reason)
        if self.subscriptions:
            client.subscribe(self.subscriptions)
        self.connected.set()

    def _on_disconnect(self, client: paho.Client, userdata: object, flags: object, reason: object,
                       properties: object) -> None:
        self.connected.clear()
        log.warning("disconnected from MQTT broker (%s); reconnecting", reason)

    def publish_notification(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=self.notify_qos, properties=self._publish_properties)

    def ack(self, mid: int, qos: int) -> None:
        if qos > 0:
            self.client.ack(mid, qos)


def is_own_message(message: paho.MQTTMessage) -> bool:
    properties = getattr(message, "properties", None)
    user = getattr(properties, "UserProperty", None) or []
    return ORIGIN_PROPERTY in [tuple(p) for p in user]
