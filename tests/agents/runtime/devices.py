"""A device for the runtime tests: every poll reads one value per stream, a pure function of the
poll's clock time and the stream, and remembers what it returned (what the host accepted)."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from adapters.connector import Command, CommandResult, Reading
from clock import Clock


def value_of(moment: datetime, stream: int) -> float:
    return float(int(moment.timestamp()) % 10_000_000 * 100 + stream)


class CountingDevice:
    def __init__(self, clock: Clock, keys: Sequence[str], device: str = "dev") -> None:
        self.clock = clock
        self.keys = list(keys)
        self._device = device
        self.readings: list[Reading] = []

    @property
    def device(self) -> str:
        return self._device

    async def start(self) -> None:
        return None

    async def read(self) -> list[Reading]:
        now = self.clock.now()
        readings = [Reading(key, value_of(now, n), now) for n, key in enumerate(self.keys)]
        self.readings.extend(readings)
        return readings

    async def write(self, command: Command) -> CommandResult:
        return CommandResult(False, "read-only test device")

    async def stop(self) -> None:
        return None
