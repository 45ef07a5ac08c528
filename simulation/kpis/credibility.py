"""Data credibility (D6.3 section 2.4): the share of expected samples received, S4G's target ≥ 95 %
(e.g. 17,280 five-second samples a day). A sample slot counts once however many samples fell in it,
so duplicates and bursts cannot make up for gaps."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

TARGET = 0.95


@dataclass(frozen=True)
class Credibility:
    expected: int
    received: int  # occupied slots

    @property
    def share(self) -> float | None:
        return None if self.expected == 0 else min(1.0, self.received / self.expected)

    @property
    def ok(self) -> bool | None:
        share = self.share
        return None if share is None else share >= TARGET


def expected_samples(start: datetime, end: datetime, period_s: float) -> int:
    if period_s <= 0:
        raise ValueError(f"sample period must be positive, not {period_s}")
    return max(0, int((end - start).total_seconds() // period_s))


def occupied_slots(times: Iterable[datetime], start: datetime, end: datetime, period_s: float) -> int:
    """Distinct `period_s` slots from `start` (up to `end`, exclusive) holding at least one sample."""
    slots = {int((time - start).total_seconds() // period_s) for time in times if start <= time < end}
    return len(slots)


def credibility(times: Iterable[datetime], start: datetime, end: datetime, period_s: float) -> Credibility:
    return Credibility(expected_samples(start, end, period_s), occupied_slots(times, start, end, period_s))
