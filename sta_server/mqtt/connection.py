"""The server's own MQTT client: privileged, MQTT v5, persistent session for ingest, manual acks."""
from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.client import PUBACK, PUBLISH
from paho.mqtt.enums import CallbackAPIVersion, MessageState, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from sta_server.mqtt import packets
from sta_server.mqtt.notify import ORIGIN_PROPERTY
from sta_server.security.mqtt_identity import bind_client_id
from sta_server.settings import Settings

log = logging.getLogger(__name__)

MessageHandler = Callable[[paho.Client, Any, paho.MQTTMessage], None]
PAUSE_STEP_S = 0.02  # while reading is held, the network loop looks again this often
READ_CHUNK = 1 << 16  # bytes asked of the socket at once
READ_PACKETS = 1000  # packets read before the network loop looks at its writes again
PUBLISH_CHUNK = 1000  # notifications written at once
MAX_IN_FLIGHT = 30000  # unacknowledged notifications (packet ids are 16 bits)


class _Client(paho.Client):
    """paho's client whose network thread stops *reading* while `hold()` says so (the ingest queue
    is at its mark), and keeps writing (acknowledgements, notifications, PINGREQ). Mosquitto 2.0.11
    does not keep to the Receive Maximum (each PUBACK lets up to that many more through), so not
    reading is what keeps the rest at the broker: TCP flow control. While a PINGREQ is unanswered
    it reads anyway, up to the PINGRESP, so the connection stays up."""

    hold: Callable[[], bool] | None = None
    held_s = 0.0  # time spent not reading, in total
    generation = 0  # the connection an acknowledgement must belong to (MqttConnection.generation)
    _read_buffer = b""  # what the last recv brought and paho has not asked for yet
    _read_at = 0
    _read_from: object = None  # the socket it came from (a new connection starts afresh)

    def _holding(self) -> bool:
        return self.hold is not None and self._ping_t == 0 and self.hold()

    def _buffered(self) -> bool:
        return self._read_at < len(self._read_buffer) and self._read_from is self._sock

    def _sock_recv(self, bufsize: int) -> bytes:
        """paho asks for a packet in pieces (1 byte, the length byte by byte, the rest): one recv
        of up to READ_CHUNK bytes serves many packets instead of three system calls for each."""
        if not self._buffered():
            self._read_from = self._sock
            self._read_buffer, self._read_at = super()._sock_recv(max(bufsize, READ_CHUNK)), 0
            if not self._read_buffer:
                return self._read_buffer  # the connection is closed
        start = self._read_at
        self._read_at = min(start + bufsize, len(self._read_buffer))
        return self._read_buffer[start:self._read_at]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._acks: list[tuple[int, int]] = []  # (generation, packet id) to acknowledge, in order
        self._acks_lock = threading.Lock()

    def ack_later(self, mid: int, generation: int) -> None:
        """A PUBACK, sent with the others due by the network thread's next round (one write and
        one wake-up for a batch instead of one each)."""
        with self._acks_lock:
            self._acks.append((generation, mid))
            first = len(self._acks) == 1
        if first and self._sockpairW is not None:
            with contextlib.suppress(BlockingIOError):
                self._sockpairW.send(b"0")  # paho's own wake-up of select()

    def send_acks(self) -> None:
        """Those of the current connection: a message received on an earlier one was redelivered."""
        with self._acks_lock:
            due, self._acks = self._acks, []
        mids = [mid for generation, mid in due if generation == self.generation]
        if mids and self._sock is not None:
            self._packet_queue(PUBACK, packets.pubacks(mids), 0, 1)

    def publish_many(self, items: list[tuple[str, bytes]], properties: Properties, packed: bytes) -> None:
        """QoS 1 PUBLISHes in one write, each kept as paho keeps its own (until its PUBACK; sent
        again after a reconnect). Connected only, and with fewer than 65,535 messages in flight."""
        info = paho.MQTTMessageInfo(0)  # one for the batch: nothing waits on it
        chunks = []
        with self._out_message_mutex:
            for topic, payload in items:
                mid = self._mid_generate()
                while mid in self._out_messages:
                    mid = self._mid_generate()
                message = paho.MQTTMessage(mid, topic.encode())
                message.payload, message.qos, message.properties, message.info = payload, 1, properties, info
                message.state, message.timestamp = MessageState.MQTT_MS_WAIT_FOR_PUBACK, time.monotonic()
                self._out_messages[mid] = message
                self._inflight_messages += 1
                chunks.append(packets.publish_qos1(message._topic, mid, packed, payload))
        self._packet_queue(PUBLISH, b"".join(chunks), 0, 1)

    def _loop(self, timeout: float = 1.0) -> MQTTErrorCode:
        """paho waits for the socket to be readable before it reads: what is in the buffer already
        is read without waiting (unless reading is held). Acknowledgements due go out first."""
        if self._acks:
            self.send_acks()
        ready = self._buffered() and not self._holding()
        rc = super()._loop(0.0 if ready else timeout)
        if rc == MQTTErrorCode.MQTT_ERR_SUCCESS and self._buffered() and not self._holding():
            rc = self.loop_read()
        return rc

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        if self._holding():
            # paho calls this when the socket is readable: the broker is alive and sending. Saying so
            # keeps paho from a PINGREQ whose PINGRESP waits behind all that is unread; it still sends
            # one when it has written nothing for a keep-alive period (no acks: the broker sends little).
            with self._msgtime_mutex:
                self._last_bytes_received = time.monotonic()
            time.sleep(PAUSE_STEP_S)  # the socket stays readable: do not spin
            self.held_s += PAUSE_STEP_S
        # paho reads one packet per call unless messages of its own are in flight: read what has
        # come (each packet checks the hold first), up to READ_PACKETS, then look at the writes
        for _ in range(READ_PACKETS):
            if self._sock is None:
                return MQTTErrorCode.MQTT_ERR_NO_CONN
            rc = self._packet_read()
            if rc > 0:
                return self._loop_rc_handle(rc)
            if rc == MQTTErrorCode.MQTT_ERR_AGAIN:
                break
        return MQTTErrorCode.MQTT_ERR_SUCCESS

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
        # Outgoing notifications in flight: no limit. With one, paho scans every message in flight on
        # each PUBACK to find a queued one to send (O(limit) per notification: at 1,000 it took most
        # of the ingest process's CPU at a few thousand notifications per second). QoS 1 PUBLISHes
        # are acknowledged by the broker as they arrive, so it holds none of them for long.
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
