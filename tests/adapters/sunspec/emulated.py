"""A running SunSpec emulator for tests (stepped clock, a June day at Bolzano)."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from adapters.sunspec.emulator import SunSpecEmulator
from adapters.sunspec.hybrid import build_hybrid
from clock import SteppedClock

START = datetime(2026, 6, 21, 10, 0, tzinfo=UTC)
HOUSE = {"max_capacity_wh": 9600, "max_power_w": 6400, "min_soc_pct": 5, "max_soc_pct": 100, "pv_kwp": 10,
         "annual_kwh": 5200, "seed": 18, "latitude_deg": 46.4983, "longitude_deg": 11.3548, "soc_pct": 50}


@asynccontextmanager
async def sunspec_device(clock: SteppedClock) -> AsyncIterator[SunSpecEmulator]:
    emulator = SunSpecEmulator(build_hybrid(HOUSE, clock))
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()
