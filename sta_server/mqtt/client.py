"""The server's paho client: it stops *reading* while the ingest queue is at its mark (and keeps
writing), reads the socket in large chunks, decodes QoS 0/1 PUBLISHes in one pass
(mqtt/received.py), and writes acknowledgements and notifications in batches (mqtt/packets.py)."""
from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.client import PUBACK, PUBLISH
from paho.mqtt.enums import MessageState, MQTTErrorCode
from paho.mqtt.properties import Properties

from sta_server.mqtt import packets
from sta_server.mqtt.received import decode_publish

log = logging.getLogger(__name__)
PAUSE_STEP_S = 0.02  # while reading is held, the network loop looks again this often
READ_CHUNK = 1 << 16  # bytes asked of the socket at once
READ_PACKETS = 1000  # packets read before the network loop looks at its writes again


class ServerClient(paho.Client):
    """paho's client whose network thread stops *reading* while `hold()` says so (the ingest queue
    is at its mark), and keeps writing (acknowledgements, notifications, PINGREQ). Mosquitto 2.0.11
    does not keep to the Receive Maximum (each PUBACK lets up to that many more through), so not
    reading is what keeps the rest at the broker: TCP flow control. While a PINGREQ is unanswered
    it reads anyway, up to the PINGRESP, so the connection stays up."""

    hold: Callable[[], bool] | None = None
    busy: Callable[[], bool] | None = None  # the ingest has a full batch waiting: read less often
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
        """Those of the current connection: a message received on an earlier one was redelivered.
        Taken and queued under the lock, so that a DISCONNECT queued after this call (`stop`) is
        never written before acknowledgements another thread was queueing at the same time."""
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

    def _handle_publish(self) -> MQTTErrorCode:
        """QoS 0/1 messages straight to `on_message` (mqtt/received.py; no filtered callbacks are
        used here), the rest through paho."""
        message = decode_publish(self._in_packet["command"], bytes(self._in_packet["packet"]))
        if message is None or self.on_message is None:
            return super()._handle_publish()
        with self._in_callback_mutex:
            try:
                self.on_message(self, self._userdata, message)  # type: ignore[arg-type]
            except Exception as error:
                log.error("MQTT message handler failed: %s", error)
                if not self.suppress_exceptions:
                    raise
        if message.qos == 1 and not self._manual_ack:
            return self._send_puback(message.mid)
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def _handle_pubackcomp(self, cmd: Any) -> MQTTErrorCode:
        """A PUBACK without properties (the broker's answer to each notification) in a few steps:
        what paho does for it (the message done, one fewer in flight) without decoding a reason
        code object and a Properties per packet (a fifth of the process's CPU under load)."""
        packet = self._in_packet["packet"]
        if cmd != "PUBACK" or self.on_publish is not None or len(packet) not in (2, 3):
            return super()._handle_pubackcomp(cmd)
        mid = (packet[0] << 8) | packet[1]
        with self._out_message_mutex:
            message = self._out_messages.pop(mid, None)
            if message is None:
                return MQTTErrorCode.MQTT_ERR_SUCCESS
            message.info._set_as_published()
            if message.qos > 0:
                self._inflight_messages -= 1
                if self._max_inflight_messages > 0:
                    return self._update_inflight()
        return MQTTErrorCode.MQTT_ERR_SUCCESS

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
        elif self.busy is not None and self.busy():
            # Reading now would not store anything sooner, and every wake-up of this thread takes the
            # GIL from the ingest thread (on a loaded machine each hand-over waits for the scheduler):
            # at most one read per PAUSE_STEP_S, of all that has come meanwhile.
            time.sleep(PAUSE_STEP_S)
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
