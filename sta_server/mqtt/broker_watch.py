"""The broker's queue, watched from its `$SYS` counters: an alarm long before the bound.

Mosquitto keeps every QoS 1 message queued for the server's persistent session in memory (and in
its persistence file) up to `max_queued_messages` / `max_queued_bytes` per client; beyond that it
drops what it queues for the session *after* acknowledging it to the publisher (docs/reliability.md,
"The broker's queue"). `$SYS/broker/store/messages/{count,bytes}` say how much the broker holds (all
sessions together: an upper bound of the server's queue) and `$SYS/broker/publish/messages/dropped`
how many it dropped, every `sys_interval` seconds. Crossing `ALARM_FRACTION` of the configured bound
is logged at ERROR (and shown in GET /metrics); so is every drop."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

log = logging.getLogger(__name__)

STORE_COUNT = "$SYS/broker/store/messages/count"
STORE_BYTES = "$SYS/broker/store/messages/bytes"
DROPPED = "$SYS/broker/publish/messages/dropped"
SYS_TOPICS = (STORE_COUNT, STORE_BYTES, DROPPED)
ALARM_FRACTION = 0.5


@dataclass
class BrokerQueue:
    messages: int = -1  # -1: not reported (yet)
    bytes: int = -1
    dropped: int = -1
    alarm: bool = False


class BrokerWatch:
    """`max_messages`/`max_bytes`: the broker's configured bound (0: none); `log_alarms`: only the
    process that takes creates logs, every process shows the metrics."""

    def __init__(self, max_messages: int, max_bytes: int, *, log_alarms: bool = True) -> None:
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self.log_alarms = log_alarms
        self.state = BrokerQueue()
        self._lock = threading.Lock()

    def feed(self, topic: str, payload: str) -> bool:
        """Take a `$SYS` counter; False for other topics."""
        if topic not in SYS_TOPICS:
            return False
        try:
            value = int(payload.strip())
        except ValueError:
            return True
        with self._lock:
            if topic == DROPPED:
                self._dropped(value)
            else:
                self.state.messages = value if topic == STORE_COUNT else self.state.messages
                self.state.bytes = value if topic == STORE_BYTES else self.state.bytes
                self._check()
        return True

    def fill(self) -> float:
        """The larger of messages/bound and bytes/bound (0 when unbounded or not reported)."""
        parts = [self.state.messages / self.max_messages if self.max_messages and self.state.messages > 0 else 0.0,
                 self.state.bytes / self.max_bytes if self.max_bytes and self.state.bytes > 0 else 0.0]
        return max(parts)

    def _check(self) -> None:
        fill = self.fill()
        if fill >= ALARM_FRACTION and not self.state.alarm:
            self.state.alarm = True
            self._say(logging.ERROR, "MQTT broker queue at %.0f%% of its bound (%d messages, %d bytes; bound %d "
                      "messages, %d bytes): the database is not keeping up, messages will be dropped at 100%%",
                      100 * fill, self.state.messages, self.state.bytes, self.max_messages, self.max_bytes)
        elif fill < ALARM_FRACTION / 2 and self.state.alarm:
            self.state.alarm = False
            self._say(logging.WARNING, "MQTT broker queue back to %.0f%% of its bound", 100 * fill)

    def _dropped(self, value: int) -> None:
        before, self.state.dropped = self.state.dropped, value
        if before >= 0 and value > before:
            self._say(logging.ERROR, "MQTT broker dropped %d messages (%d since it started): a queue bound was "
                      "reached", value - before, value)

    def _say(self, level: int, message: str, *args: object) -> None:
        if self.log_alarms:
            log.log(level, message, *args)
