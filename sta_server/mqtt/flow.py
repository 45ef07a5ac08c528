"""Flow control of MQTT creates: the ingest queue, which never blocks the MQTT network thread, and
rate-limited logging of rejected messages.

The queue has a high-water mark instead of a hard bound: `put` always succeeds (the network thread
must keep serving keep-alive and notifications), and the network thread stops *reading* the socket
while the queue is at its mark (mqtt/connection.py), so the broker keeps what the database cannot
take yet. Messages paced by the per-topic rate (mqtt/limits.py) wait in the queue, unacknowledged,
until their turn: they hold back the flow, they are never dropped."""
from __future__ import annotations

import heapq
import itertools
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class IngestQueue(Generic[T]):
    """FIFO of ready items plus items due later (`put(item, delay_s)`); `get` follows
    `queue.Queue.get` (blocks, raises `queue.Empty` after `timeout`)."""

    def __init__(self, high_water: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.high_water = high_water
        self.clock = clock
        self._ready: deque[T] = deque()
        self._later: list[tuple[float, int, T]] = []
        self._order = itertools.count()
        self._cond = threading.Condition()

    def put(self, item: T, delay_s: float = 0.0) -> None:
        """Never blocks."""
        with self._cond:
            if delay_s > 0:
                heapq.heappush(self._later, (self.clock() + delay_s, next(self._order), item))
            else:
                self._ready.append(item)
            self._cond.notify()

    def get(self, block: bool = True, timeout: float | None = None) -> T:
        deadline = None if timeout is None else self.clock() + timeout
        with self._cond:
            while True:
                now = self.clock()
                while self._later and self._later[0][0] <= now:
                    self._ready.append(heapq.heappop(self._later)[2])
                if self._ready:
                    return self._ready.popleft()
                waits = [t - now for t in (deadline, self._later[0][0] if self._later else None) if t is not None]
                if not block or (deadline is not None and deadline <= now):
                    raise queue.Empty
                self._cond.wait(min(waits) if waits else None)

    def qsize(self) -> int:
        with self._cond:
            return len(self._ready) + len(self._later)

    def waiting(self) -> int:
        """Items held back by pacing."""
        with self._cond:
            return len(self._later)

    def full(self) -> bool:
        """At the high-water mark: the network thread should stop reading (it never blocks here)."""
        return self.qsize() >= self.high_water


class RejectLog:
    """WARNING lines for rejected messages, at most `first` per `window_s`; the rest of a window is
    summed up by error code in one line when the window is over (`flush`, or the next rejection)."""

    def __init__(self, window_s: float = 10.0, first: int = 10, clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self.first = first
        self.clock = clock
        self._lock = threading.Lock()
        self._started = clock()
        self._shown = 0
        self._hidden: dict[str, int] = {}

    def note(self, topic: str, code: str, reason: str) -> None:
        self.flush()
        with self._lock:
            show = self._shown < self.first
            if show:
                self._shown += 1
            else:
                self._hidden[code] = self._hidden.get(code, 0) + 1
        if show:
            log.warning("rejected MQTT message on %s: %s", topic, reason)

    def flush(self) -> None:
        """End the window if it is over; its hidden rejections in one line."""
        with self._lock:
            now = self.clock()
            if now - self._started < self.window_s:
                return
            hidden, self._hidden, self._shown, self._started = self._hidden, {}, 0, now
        if hidden:
            total = sum(hidden.values())
            by_code = ", ".join(f"{code} {count}" for code, count in sorted(hidden.items()))
            log.warning("%d more MQTT messages rejected in %.0f s, not logged one by one (%s)",
                        total, self.window_s, by_code)
