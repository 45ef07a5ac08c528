"""Limits on MQTT creates, checked as a message arrives: its size (a larger one can never be stored:
rejected), and an optional pace per topic (a token bucket). The pace never refuses a message the
broker has accepted: a message beyond the rate waits, unacknowledged, until the bucket has a token
for it (mqtt/flow.py), so a hot topic slows down and nothing is lost. The rate is per topic, i.e.
per device stream (`v1.1/Datastreams(7)/Observations`); publishers sharing a topic share its
bucket. Abusive publishers are for the broker (ACL, packet size, disconnection). See docs/limits.md."""
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


@dataclass
class _Bucket:
    tokens: float  # negative: messages already waiting for their turn
    at: float


class MessageLimits:
    """`rate_per_s` 0 means no pace."""

    def __init__(self, max_bytes: int, rate_per_s: float, burst: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_bytes = max_bytes
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def check(self, size_bytes: int) -> Refusal | None:
        """None when the message may be stored, else why it never can be."""
        if size_bytes > self.max_bytes:
            return Refusal("PayloadTooLarge", f"{size_bytes} bytes, more than the maximum of {self.max_bytes}")
        return None

    def delay(self, topic: str) -> float:
        """Seconds until a message on `topic` may be stored (0: now); its token is taken (reserved)."""
        if self.rate_per_s <= 0:
            return 0.0
        with self._lock:
            now = self.clock()
            bucket = self._buckets.get(topic)
            if bucket is None:
                self._forget_idle(now)
                bucket = self._buckets[topic] = _Bucket(float(self.burst), now)
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) * self.rate_per_s) - 1.0
            bucket.at = now
            return 0.0 if bucket.tokens >= 0 else -bucket.tokens / self.rate_per_s

    def _forget_idle(self, now: float) -> None:
        if len(self._buckets) < MAX_TOPICS:
            return
        full = [topic for topic, b in self._buckets.items()
                if b.tokens + (now - b.at) * self.rate_per_s >= self.burst]
        for topic in full:
            del self._buckets[topic]
        if len(self._buckets) >= MAX_TOPICS:  # all busy: start over rather than grow without bound
            self._buckets.clear()
