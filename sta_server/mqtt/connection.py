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
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from sta_server.mqtt.notify import ORIGIN_PROPERTY
from sta_server.security.mqtt_identity import bind_client_id
from sta_server.settings import Settings

log = logging.getLogger(__name__)

MessageHandler = Callable[[paho.Client, Any, paho.MQTTMessage], None]
PAUSE_STEP_S = 0.02  # while reading is held, the network loop looks again this often


class _Client(paho.Client):
    """paho's client whose network thread stops *reading* while `hold()` says so (the ingest queue
    is at its mark), and keeps writing (acknowledgements, notifications, PINGREQ). Mosquitto 2.0.11
    does not keep to the Receive Maximum (each PUBACK lets up to that many more through), so not
    reading is what keeps the rest at the broker: TCP flow control. While a PINGREQ is unanswered
    it reads anyway, up to the PINGRESP, so the connection stays up."""

    hold: Callable[[], bool] | None = None
    held_s = 0.0  # time spent not reading, in total

    def _holding(self) -> bool:
        return self.hold is not None and self._ping_t == 0 and self.hold()

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        if self._holding():
            # paho calls this when the socket is readable: the broker is alive and sending. Saying so
            # keeps paho from a PINGREQ whose PINGRESP waits behind all that is unread; it still sends
            # one when it has written nothing for a keep-alive period (no acks: the broker sends little).
            with self._msgtime_mutex:
                self._last_bytes_received = time.monotonic()
            time.sleep(PAUSE_STEP_S)  # the socket stays readable: do not spin
            self.held_s += PAUSE_STEP_S
        return super().loop_read(max_packets)

    def _packet_write(self) -> MQTTErrorCode:
        """paho 2.2 notes the time of its last write only when a write stalls, so it sends a PINGREQ
        every keep-alive period however busy the connection is; written packets count here."""
        pending = len(self._out_packet)
        rc = super()._packet_write()
        if len(self._out_packet) < pending:
            with self._msgtime_mutex:
                self._last_msg_out = time.monotonic()
        return rc

    def _packet_read(self) -> MQTTErrorCode:
        """One packet, checked before each: paho's loop_read reads as many packets as messages are in
        flight either way (thousands while notifications are), whatever it is asked for."""
        if self._holding():
            return MQTTErrorCode.MQTT_ERR_AGAIN  # "nothing to read now"; a partly read packet waits
        return super()._packet_read()


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
        self.client = _Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                              protocol=paho.MQTTv5, reconnect_on_failure=True)
        if user:
            self.client.username_pw_set(user, password)
        if tls:  # the broker's certificate and host name are verified
            files = tls_files or ClientTls()
            self.client.tls_set(ca_certs=files.ca_file, certfile=files.cert_file, keyfile=files.key_file)
        self.client.manual_ack_set(True)
        self.client.max_inflight_messages_set(1000)  # outgoing notifications in flight
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

    def hold_reading(self, hold: Callable[[], bool]) -> None:
        """Stop reading creates while `hold()` is true (checked on the network thread, connected only)."""
        self.client.hold = lambda: self.connected.is_set() and hold()

    def start(self, timeout_s: float = 10.0) -> None:
        host, port = self.address
        self.client.connect_async(host, port, keepalive=self.keepalive_s, clean_start=False,
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
        self.generation += 1
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

    def _drop(self) -> None:
        self.notifications_dropped += 1
        if self.notifications_dropped % 1000 == 1:
            log.warning("MQTT broker unreachable: %d notifications dropped so far", self.notifications_dropped)

    def ack(self, mid: int, qos: int, generation: int | None = None) -> None:
        """Acknowledge a create. A message received on an earlier connection is not acknowledged:
        the broker has redelivered it on this one (with the same or a reused packet id), and that
        copy will be acknowledged; acking the old id could acknowledge a message not yet stored."""
        if qos > 0 and generation in (None, self.generation):
            self.client.ack(mid, qos)


def is_own_message(message: paho.MQTTMessage) -> bool:
    properties = getattr(message, "properties", None)
    user = getattr(properties, "UserProperty", None) or []
    return ORIGIN_PROPERTY in [tuple(p) for p in user]


def user_property(message: paho.MQTTMessage, name: str) -> str | None:
    """The value of an MQTT v5 user property of a message (the first, if repeated)."""
    properties = getattr(message, "properties", None)
    for key, value in getattr(properties, "UserProperty", None) or []:
        if key == name:
            return str(value)
    return None
