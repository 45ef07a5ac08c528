"""The field process's side of the benchmarks: a synthetic device, this process's CPU and memory.
Imports nothing of the bench harness (SQLAlchemy, Alembic), so a process measuring itself holds only
what a field process holds."""
from __future__ import annotations

import os
import resource
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from adapters.connector import Command, CommandResult, Reading
from clock import Clock


class SyntheticMeter:
    """A device whose streams read a value derived from the clock (no network: the cost measured is
    the runtime's, not a protocol's)."""

    def __init__(self, device: str, clock: Clock, keys: Sequence[str]) -> None:
        self._device, self.clock, self.keys = device, clock, list(keys)

    @property
    def device(self) -> str:
        return self._device

    async def start(self) -> None:
        return None

    async def read(self) -> list[Reading]:
        now = self.clock.now()
        return [Reading(key, round(1000 + n + now.timestamp() % 100, 3), now) for n, key in enumerate(self.keys)]

    async def write(self, command: Command) -> CommandResult:
        return CommandResult(False, "read-only")

    async def stop(self) -> None:
        return None


def readings_at(keys: Sequence[str], moment: datetime, poll: int) -> list[Reading]:
    return [Reading(key, float(poll * 100 + n), moment) for n, key in enumerate(keys)]


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def memory_kb() -> dict[str, int]:
    """VmRSS and VmHWM of this process."""
    with open("/proc/self/status") as status:
        fields = dict(line.split(":", 1) for line in status if line.startswith(("VmRSS", "VmHWM")))
    return {name: int(value.split()[0]) for name, value in fields.items()}


def machine() -> dict[str, Any]:
    return {"cores": os.cpu_count(), "load_average_1m_5m_15m": list(os.getloadavg()),
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
