"""The north-bound connector to the SensorThings server: drains the site's queue to MQTT.

Messages leave the outbox oldest first, QoS 1, MQTT v5 with the user property `idempotency-key`
(the key stored with the row), at most `window` unacknowledged at a time. A row is deleted when the
broker acknowledges it (PUBACK); until then it stays, so after a broker outage, a network cut or
`kill -9` of this process the same rows are published again in order under the same keys and the
server stores each once (docs/mqtt.md, "Duplicates and faults"). Nothing is handed to the MQTT
client while it is disconnected: the queue is the only buffer, so memory stays flat however long
the outage. On every new connection replay starts again from the oldest row.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from agents.outbox import Outbox, Queued

log = logging.getLogger(__name__)


class AckingPublisher(Protocol):
    """What the north-bound needs of an MQTT session (agents/mqtt_link.py adapts sta_client's)."""

    @property
    def connected(self) -> bool: ...

    def publish(self, topic: str, payload: bytes, key: str, on_ack: Callable[[bool], None]) -> None:
        """Publish with QoS 1 and `idempotency-key`=`key`, without blocking; `on_ack(ok)` runs (on any
        thread) when the broker answered, ok meaning a reason code below 0x80."""
        ...


@dataclass
class NorthboundCounters:
    sent: int = 0  # publishes handed to MQTT (replays included)
    acked: int = 0  # PUBACKs with success
    refused: int = 0  # PUBACKs with an error reason code (kept, sent again on the next connection)
    replayed: int = 0  # publishes of rows already sent on an earlier connection
    connections: int = 0


class Northbound:
    """One drain loop per site; `wake()` after a put makes it look at the queue at once."""

    def __init__(self, outbox: Outbox, link: AckingPublisher, *, window: int = 2000,
                 delete_batch: int = 500, delete_every_s: float = 0.2) -> None:
        self.outbox = outbox
        self.link = link
        self.window = window
        self.delete_batch = delete_batch
        self.delete_every_s = delete_every_s
        self.counters = NorthboundCounters()
        self._acked: list[int] = []
        self._answered: set[int] = set()
        self._wake = asyncio.Event()
        self._sent_before = 0  # highest id published on an earlier connection
        self._highest_sent = 0

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self.link.connected:
                await self._wait(0.2)
                continue
            self.counters.connections += 1
            log.info("north-bound connected: replaying %d queued messages", self.outbox.rows)
            await self._drain(loop)
            self._flush_acks()
            log.warning("north-bound disconnected: %d messages queued", self.outbox.rows)

    async def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        """Publish and delete on acknowledgement until the connection drops."""
        cursor = 0
        in_flight: set[int] = set()
        flushed_at = time.monotonic()
        self._answered.clear()
        while self.link.connected:
            in_flight -= self._answered
            self._answered.clear()
            if len(self._acked) >= self.delete_batch or time.monotonic() - flushed_at >= self.delete_every_s:
                self._flush_acks()
                flushed_at = time.monotonic()
            rows = self.outbox.peek(cursor, self.window - len(in_flight)) if len(in_flight) < self.window else []
            if rows:
                self.outbox.seal(rows[-1].id)
            for row in rows:
                self._publish(loop, row)
                in_flight.add(row.id)
            if rows:
                cursor = rows[-1].id
                await asyncio.sleep(0)
            else:
                await self._wait(self.delete_every_s if self._acked else 0.5)
        self._sent_before = self._highest_sent

    def _publish(self, loop: asyncio.AbstractEventLoop, row: Queued) -> None:
        def on_ack(ok: bool) -> None:
            loop.call_soon_threadsafe(self._on_ack, row.id, ok)

        self.link.publish(row.topic, row.payload, row.key, on_ack)
        self.counters.sent += 1
        if row.id <= self._sent_before:
            self.counters.replayed += 1
        self._highest_sent = max(self._highest_sent, row.id)

    def _on_ack(self, ident: int, ok: bool) -> None:
        self._answered.add(ident)
        if ok:
            self.counters.acked += 1
            self._acked.append(ident)
        else:
            self.counters.refused += 1
            log.error("the broker refused queued message %d; it stays queued", ident)
        self._wake.set()

    def _flush_acks(self) -> None:
        if self._acked:
            self.outbox.delete(self._acked)
            self._acked = []

    async def _wait(self, timeout_s: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout_s)
