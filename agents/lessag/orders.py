"""Orders the LESSAg has accepted (day schedules and single set-points, from the grid or the residential
user), and the claim on the ESS power each makes at a time.

A claim pulls the local objective towards its power with a weight `priority / priority_max`: the top
priority is followed exactly (within limits), lower ones are blended (S4G's grid profile as a soft
target). A user's claim ranks below every grid claim."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum


class Source(IntEnum):
    """Who gave an order; a higher source is applied later, so it wins."""

    USER = 1
    GRID = 2


@dataclass(frozen=True)
class Claim:
    power_w: float
    priority: int
    priority_max: int
    source: Source
    task_id: int | str

    @property
    def weight(self) -> float:
        return min(1.0, max(0.0, self.priority / self.priority_max))


@dataclass(frozen=True)
class Order:
    """A power profile from `start`: `resolution_s` per value; a single set-point has one value held
    until `stop` (None: until replaced)."""

    task_id: int | str
    source: Source
    start: datetime
    power_w: tuple[float, ...]
    priority: tuple[int, ...]  # one per value, or one for all
    priority_max: int
    resolution_s: float | None = None
    stop: datetime | None = None

    @property
    def end(self) -> datetime | None:
        if self.resolution_s is None:
            return self.stop
        return self.start + timedelta(seconds=self.resolution_s * len(self.power_w))

    def covers(self, when: datetime) -> bool:
        end = self.end
        return self.start <= when and (end is None or when < end)

    def claim_at(self, when: datetime) -> Claim | None:
        if not self.covers(when):
            return None
        step = 0 if self.resolution_s is None else int((when - self.start).total_seconds() // self.resolution_s)
        priority = self.priority[step] if len(self.priority) > 1 else self.priority[0]
        return Claim(self.power_w[step], priority, self.priority_max, self.source, self.task_id)


class OrderBook:
    """Accepted orders, newest last; per source, the newest order covering a time makes its claim."""

    def __init__(self) -> None:
        self._orders: list[Order] = []

    def add(self, order: Order) -> None:
        self._orders.append(order)

    def claims_at(self, when: datetime) -> list[Claim]:
        """At most one claim per source, lowest source first."""
        claims: dict[Source, Claim] = {}
        for order in reversed(self._orders):
            if order.source not in claims and (claim := order.claim_at(when)) is not None:
                claims[order.source] = claim
        return [claims[source] for source in sorted(claims)]

    def prune(self, before: datetime) -> None:
        """Forget orders that ended before `before`."""
        self._orders = [o for o in self._orders if (end := o.end) is None or end > before]

    def __len__(self) -> int:
        return len(self._orders)
