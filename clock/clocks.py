"""The three clocks behind one `Clock` protocol: `now()` (an aware UTC datetime) and asyncio sleeps
measured in the clock's own seconds."""
from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """What every time-dependent part of the system reads."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of this clock's time."""
        ...

    async def sleep_until(self, when: datetime) -> None:
        """Wait until `now() >= when` (returns at once for a time in the past)."""
        ...


class RealClock:
    """Wall-clock time."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    async def sleep_until(self, when: datetime) -> None:
        await self.sleep((when - self.now()).total_seconds())


class AcceleratedClock:
    """Real time running `factor` times faster from `start` (demos: a day in 24 minutes at 60x)."""

    def __init__(self, start: datetime, factor: float,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if factor <= 0:
            raise ValueError(f"acceleration factor must be positive, not {factor}")
        self._start = _utc(start)
        self._factor = factor
        self._monotonic = monotonic
        self._origin = monotonic()

    @property
    def factor(self) -> float:
        return self._factor

    def now(self) -> datetime:
        elapsed_s = (self._monotonic() - self._origin) * self._factor
        return self._start + timedelta(seconds=elapsed_s)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self._factor)

    async def sleep_until(self, when: datetime) -> None:
        await self.sleep((when - self.now()).total_seconds())


class SteppedClock:
    """Time that moves only when `advance`/`advance_to` is called (tests, the closed-loop simulation).

    Sleepers wake in time order; each sees `now()` equal to its own wake-up time, and the tasks it
    starts get a chance to run before the next sleeper wakes."""

    def __init__(self, start: datetime, settle_rounds: int = 20) -> None:
        self._now = _utc(start)
        self._sleepers: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._settle_rounds = settle_rounds

    def now(self) -> datetime:
        return self._now

    async def sleep(self, seconds: float) -> None:
        await self.sleep_until(self._now + timedelta(seconds=max(0.0, seconds)))

    async def sleep_until(self, when: datetime) -> None:
        when = _utc(when)
        if when <= self._now:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (when, next(self._order), future))
        await future

    @property
    def next_wakeup(self) -> datetime | None:
        """The earliest time a sleeper waits for, if any."""
        self._drop_cancelled()
        return self._sleepers[0][0] if self._sleepers else None

    async def advance(self, seconds: float) -> None:
        await self.advance_to(self._now + timedelta(seconds=seconds))

    async def advance_to(self, when: datetime) -> None:
        """Move time to `when`, waking every sleeper due on the way, in order."""
        when = _utc(when)
        if when < self._now:
            raise ValueError(f"a stepped clock does not go back ({when} < {self._now})")
        await self._settle()
        while (due := self.next_wakeup) is not None and due <= when:
            self._now = due
            while self._sleepers and self._sleepers[0][0] == due:
                _, _, future = heapq.heappop(self._sleepers)
                if not future.done():
                    future.set_result(None)
            await self._settle()
        self._now = when
        await self._settle()

    async def _settle(self) -> None:
        for _ in range(self._settle_rounds):
            await asyncio.sleep(0)

    def _drop_cancelled(self) -> None:
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)


def clock_from_env(environ: Mapping[str, str]) -> Clock:
    """`S4G_CLOCK` = `real` (default), `accelerated` (with `S4G_CLOCK_START`, an ISO time, and
    `S4G_CLOCK_FACTOR`) or `stepped` (with `S4G_CLOCK_START`; someone must advance it).
    `S4G_CLOCK_ANCHOR` (accelerated, optional): the Unix time at which the clock read `S4G_CLOCK_START`,
    so that processes started one after the other (and slow to import) all read the same time."""
    kind = environ.get("S4G_CLOCK", "real")
    if kind == "real":
        return RealClock()
    start_text = environ.get("S4G_CLOCK_START")
    start = datetime.fromisoformat(start_text) if start_text else datetime.now(UTC)
    if kind == "accelerated":
        factor = float(environ.get("S4G_CLOCK_FACTOR", "60"))
        if anchor := environ.get("S4G_CLOCK_ANCHOR"):
            start += timedelta(seconds=max(0.0, time.time() - float(anchor)) * factor)
        return AcceleratedClock(start, factor)
    if kind == "stepped":
        return SteppedClock(start)
    raise ValueError(f"S4G_CLOCK must be real, accelerated or stepped, not {kind!r}")


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"clock times are timezone-aware; {moment} has no timezone")
    return moment.astimezone(UTC)
