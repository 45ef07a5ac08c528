"""The north-bound connector to the SensorThings server: drains the site's queue to MQTT.

Messages leave the outbox oldest first, QoS 1, MQTT v5 with the user property `idempotency-key`
(the key stored with the row), at most `window` unacknowledged at a time. A row is deleted when the
broker acknowledges it (PUBACK); until then it stays, so after a broker outage, a network cut or
`kill -9` of this process the same rows are published again in order under the same keys and the
server stores each once (docs/mqtt.md, "Duplicates and faults"). Nothing is handed to the MQTT
client while it is disconnected: the queue is the only buffer, so memory stays flat however long
the outage. On every new connection replay starts again from the oldest row.

A PUBACK is not delivery: Mosquitto acknowledges with 0x10 "no matching subscribers" when the
server's session is gone (it expired while the server was away: the message is dropped), and a
broker crash loses what it acknowledged since its last autosave (10 s). So a row whose PUBACK is
0x10 or an error stays queued and is published again after a back-off (5 s doubling to 60 s), and
a row acknowledged with success is deleted only `hold_s` (30 s, three autosave intervals) later;
until then a reconnection publishes it again under its key (the server stores it once).
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from agents.outbox import Outbox, Queued

log = logging.getLogger(__name__)


class AckingPublisher(Protocol):
    """What the north-bound needs of an MQTT session (agents/server_link.py adapts sta_client's)."""

    @property
    def connected(self) -> bool: ...

    def publish(self, topic: str, payload: bytes, key: str, on_ack: Callable[[int], None]) -> None:
        """Publish with QoS 1 and `idempotency-key`=`key`, without blocking; `on_ack(reason_code)`
        runs (on any thread) when the broker answered."""
        ...


NO_MATCHING_SUBSCRIBERS = 0x10
RETRY_FIRST_S, RETRY_MAX_S = 5.0, 60.0


def delivered(code: int) -> bool:
    """Taken by the broker for a subscriber (0x10: nobody will ever read it; >= 0x80: refused)."""
    return code < 0x80 and code != NO_MATCHING_SUBSCRIBERS


@dataclass
class NorthboundCounters:
    sent: int = 0  # publishes handed to MQTT (replays included)
    acked: int = 0  # PUBACKs with success
    refused: int = 0  # PUBACKs with an error reason code (kept, published again after a back-off)
    unrouted: int = 0  # PUBACKs 0x10 "no matching subscribers": the server's session is gone (kept, again)
    replayed: int = 0  # publishes of rows already sent on an earlier connection
    connections: int = 0


class Northbound:
    """One drain loop per site; `wake()` after a put makes it look at the queue at once."""

    def __init__(self, outbox: Outbox, link: AckingPublisher, *, window: int = 2000,
                 delete_every_s: float = 0.2, hold_s: float = 30.0) -> None:
        self.outbox = outbox
        self.link = link
        self.window = window
        self.delete_every_s = delete_every_s
        self.hold_s = hold_s
        self.counters = NorthboundCounters()
        self._held: deque[tuple[float, int]] = deque()  # (PUBACK time, row id), oldest first
        self._answered: set[int] = set()
        self._retry: dict[int, float] = {}  # row id -> when to publish it again
        self._retry_s = RETRY_FIRST_S
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
            self._held.clear()  # published again on the next connection, then held again
            self._retry.clear()
            log.warning("north-bound disconnected: %d messages queued", self.outbox.rows)

    async def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        """Publish, retry what was not delivered, delete what was held long enough; until the
        connection drops."""
        cursor = 0
        in_flight: set[int] = set()
        self._answered.clear()
        while self.link.connected:
            in_flight -= self._answered
            self._answered.clear()
            self._forget_held()
            room = self.window - len(in_flight)
            rows = self._due_retries(room) if room > 0 else []
            fresh = self.outbox.peek(cursor, room - len(rows)) if room - len(rows) > 0 else []
            if fresh:
                cursor = fresh[-1].id
                self.outbox.seal(cursor)
            for row in rows + fresh:
                self._publish(loop, row)
                in_flight.add(row.id)
            if rows or fresh:
                await asyncio.sleep(0)
            else:
                await self._wait(self.delete_every_s if self._held else 0.5)
        self._sent_before = self._highest_sent

    def _due_retries(self, room: int) -> list[Queued]:
        now = time.monotonic()
        due = sorted(ident for ident, when in self._retry.items() if when <= now)[:room]
        rows = [row for ident in due for row in self.outbox.peek(ident - 1, 1) if row.id == ident]
        for ident in due:
            del self._retry[ident]
        return rows

    def _publish(self, loop: asyncio.AbstractEventLoop, row: Queued) -> None:
        def on_ack(code: int) -> None:
            loop.call_soon_threadsafe(self._on_ack, row.id, code)

        self.link.publish(row.topic, row.payload, row.key, on_ack)
        self.counters.sent += 1
        if row.id <= self._sent_before:
            self.counters.replayed += 1
        self._highest_sent = max(self._highest_sent, row.id)

    def _on_ack(self, ident: int, code: int) -> None:
        self._answered.add(ident)
        if delivered(code):
            self.counters.acked += 1
            self._held.append((time.monotonic(), ident))
            self._retry_s = RETRY_FIRST_S
        else:
            if code == NO_MATCHING_SUBSCRIBERS:
                self.counters.unrouted += 1
            else:
                self.counters.refused += 1
            self._retry[ident] = time.monotonic() + self._retry_s
            if self.counters.unrouted + self.counters.refused in (1, 10, 100) or self._retry_s >= RETRY_MAX_S:
                log.error("the broker did not deliver queued message %d (reason 0x%02x%s); kept, again in %.0f s",
                          ident, code, ": no server subscribed" if code == NO_MATCHING_SUBSCRIBERS else "",
                          self._retry_s)
            self._retry_s = min(self._retry_s * 2, RETRY_MAX_S)
        self._wake.set()

    def _forget_held(self) -> None:
        """Delete rows acknowledged more than `hold_s` ago."""
        limit = time.monotonic() - self.hold_s
        done = []
        while self._held and self._held[0][0] <= limit:
            done.append(self._held.popleft()[1])
        if done:
            self.outbox.delete(done)

    async def _wait(self, timeout_s: float) -> None:
        """Until `wake()` or `timeout_s`. (Not `asyncio.wait_for`: on 3.11 it can swallow a
        cancellation that arrives as the event is set, CPython gh-86296, and the task never stops.)"""
        self._wake.clear()
        waiter = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({waiter}, timeout=timeout_s)
        finally:
            waiter.cancel()
