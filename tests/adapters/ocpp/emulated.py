"""A CSMS, an `ocpp` connector and an emulated charge point over 127.0.0.1 on an accelerated clock, with
an EV plugged in from an hour before the start until the next morning."""
from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.connector import Reading
from adapters.ocpp.charger import Charger, Outlet
from adapters.ocpp.connector import OcppConnector, ocpp_settings
from adapters.ocpp.csms import CentralSystem
from adapters.ocpp.emulator import EmulatedChargePoint, EmulatorFaults
from adapters.ocpp.profiles import Electrical
from adapters.simulated.ev import ChargePoint, EvSession
from clock import AcceleratedClock, Clock

START = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)
FACTOR = 20.0  # clock seconds per real second
METER_INTERVAL_S = 2.0  # clock seconds (0.1 s real)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def charger(max_power_w: float = 7400.0, units: Sequence[str] = ("W", "A"), phases: int = 1) -> Charger:
    session = EvSession(START - timedelta(hours=1), START + timedelta(hours=10), 15_000.0, max_power_w)
    return Charger([Outlet(ChargePoint(max_power_w, [session], START))], Electrical(230.0, phases), tuple(units))


@dataclass
class Loop:
    clock: AcceleratedClock
    central: CentralSystem
    device: OcppConnector
    emulator: EmulatedChargePoint
    readings: list[Reading]

    async def poll(self) -> list[Reading]:
        fresh = await self.device.read()
        self.readings.extend(fresh)
        return fresh

    async def until(self, condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
        """Poll the connector until `condition` holds (AssertionError after `timeout_s` real seconds)."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while not condition():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"condition not met within {timeout_s} s")
            await asyncio.sleep(0.05)
            with suppress(ConnectionError):
                await self.poll()

    def values(self, key: str) -> list[Any]:
        return [r.value for r in self.readings if r.datastream == key]


@asynccontextmanager
async def charging_site(faults: EmulatorFaults | None = None, units: Sequence[str] = ("W", "A"),
                        clock: Clock | None = None, meter_interval_s: float | None = None,
                        **options: Any) -> AsyncIterator[Loop]:
    """The connector of device `cp1` (charge point `cp1`, connector 1) and a charging EV."""
    accelerated = AcceleratedClock(START, FACTOR)
    clock = clock or accelerated
    central = CentralSystem(clock, max_skew_s=60.0, timeout_s=5.0, meter_interval_s=meter_interval_s)
    await central.start()
    device = OcppConnector("cp1", ocpp_settings("cp1", options), clock, central)
    await device.start()
    emulator = EmulatedChargePoint(central.url, "cp1", charger(units=units), clock,
                                   meter_interval_s=METER_INTERVAL_S, faults=faults or EmulatorFaults())
    running = asyncio.create_task(emulator.run(backoff_s=0.05, backoff_max_s=0.5))
    try:
        yield Loop(accelerated, central, device, emulator, [])
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await device.stop()
        await central.close()
