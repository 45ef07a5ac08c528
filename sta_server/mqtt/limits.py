"""Limits on MQTT creates, checked as a message arrives (before it is queued): its size, and a token
bucket per topic. The broker does not tell the server who published a message, so the rate is per
topic, i.e. per device stream (`v1.1/Datastreams(7)/Observations`); publishers sharing a topic
(`v1.1/Observations`) share its bucket. See docs/limits.md."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_TOPICS = 100_000  # buckets kept; beyond this the full (idle) ones are forgotten


@dataclass(frozen=True)
class Refusal:
    code: str
    reason: str
    log: bool  # False for the repeats of a rate refusal (counted, not logged one by one)


@dataclass
class _Bucket:
    tokens: float
    at: float
    refused: int = 0  # refusals in a row


class MessageLimits:
    """`rate_per_s` 0 means no rate limit."""

    def __init__(self, max_bytes: int, rate_per_s: float, burst: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_bytes = max_bytes
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def check(self, topic: str, size_bytes: int) -> Refusal | None:
        """None when the message may be stored, else why not."""
        if size_bytes > self.max_bytes:
            return Refusal("PayloadTooLarge", f"{size_bytes} bytes, more than the maximum of {self.max_bytes}",
                           log=True)
        if self.rate_per_s <= 0:
            return None
        with self._lock:
            return self._take(topic)

    def _take(self, topic: str) -> Refusal | None:
        now = self.clock()
        bucket = self._buckets.get(topic)
        if bucket is None:
            self._forget_idle(now)
            bucket = self._buckets[topic] = _Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) * self.rate_per_s)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            bucket.refused = 0
            return None
        bucket.refused += 1
        shown = bucket.refused in (1, 10, 100) or bucket.refused % 1000 == 0
        return Refusal("RateLimited", f"more than {self.rate_per_s:g} messages/s (burst {self.burst}) on this "
                       f"topic; {bucket.refused} refused in a row", log=shown)

    def _forget_idle(self, now: float) -> None:
        if len(self._buckets) < MAX_TOPICS:
            return
        full = [topic for topic, b in self._buckets.items()
                if b.tokens + (now - b.at) * self.rate_per_s >= self.burst]
        for topic in full:
            del self._buckets[topic]
        if len(self._buckets) >= MAX_TOPICS:  # all busy: start over rather than grow without bound
            self._buckets.clear()
