"""Device faults seen by the plug-in host (agents/host.py) with the real connectors and emulators: a
Fronius answering HTTP 500 is reported on its status stream, retried with back-off and back when it
answers again, while the Modbus ESS beside it is polled on time throughout."""
from __future__ import annotations

import asyncio
import pathlib
import time
from datetime import UTC, datetime

from adapters.connector import Command, CommandResult, Reading
from adapters.fronius.connector import build_fronius
from adapters.fronius.emulator import FroniusEmulator
from adapters.modbus_ess.connector import build_modbus_ess
from adapters.modbus_ess.emulator import ModbusEssEmulator, build_ess
from adapters.sunspec.hybrid import build_hybrid
from agents.host import Host, Poll
from agents.observation_messages import StreamRef
from agents.outbox import Outbox
from agents.task_ledger import TaskLedger
from clock import SteppedClock
from tests.adapters.sunspec.emulated import HOUSE

START = datetime(2026, 6, 21, 10, 0, tzinfo=UTC)
KEYS = ["P_ess", "SoC", "P_pv", "P_load", "P_grid", "essStatus", "grid.P_ess", "grid.SoC", "grid.state", "grid.status"]
STREAMS = {key: StreamRef(n, f"s/{key}") for n, key in enumerate(KEYS, 1)}


class Traced:
    """A connector that counts its reads in flight (a stepped clock must wait for real I/O)."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.in_flight = 0
        self.reads = 0

    @property
    def device(self) -> str:
        return str(self.inner.device)  # type: ignore[attr-defined]

    async def start(self) -> None:
        await self.inner.start()  # type: ignore[attr-defined]

    async def read(self) -> list[Reading]:
        self.in_flight += 1
        try:
            return list(await self.inner.read())  # type: ignore[attr-defined]
        finally:
            self.in_flight -= 1
            self.reads += 1

    async def write(self, command: Command) -> CommandResult:
        result: CommandResult = await self.inner.write(command)  # type: ignore[attr-defined]
        return result

    async def stop(self) -> None:
        await self.inner.stop()  # type: ignore[attr-defined]


async def settled(*devices: Traced) -> None:
    """Give the woken poll loops a moment to start their reads, then wait for the reads to finish."""
    await asyncio.sleep(0.2)
    deadline = time.monotonic() + 15
    while any(d.in_flight for d in devices):
        assert time.monotonic() < deadline, "a read never finished"
        await asyncio.sleep(0.02)


def test_fronius_fault_is_reported_retried_and_cleared_while_the_ess_goes_on(tmp_path: pathlib.Path) -> None:
    clock = SteppedClock(START)

    async def scenario() -> dict[str, object]:
        fronius = FroniusEmulator(build_hybrid(HOUSE, clock), clock)
        grid = ModbusEssEmulator(build_ess({}, clock))
        await fronius.start()
        await grid.start()
        house = Traced(build_fronius("ess", {"url": fronius.url, "modbus_port": fronius.modbus_port}, clock))
        keys = {"ess_power": "grid.P_ess", "soc": "grid.SoC", "state": "grid.state"}
        ess = Traced(build_modbus_ess("grid", {"port": grid.port, "keys": keys}, clock))
        outbox = Outbox(tmp_path / "site.sqlite")
        host = Host(clock, outbox, TaskLedger(outbox.connection), STREAMS, [Poll(house, 10.0), Poll(ess, 10.0)], [],
                    {"ess": "essStatus", "grid": "grid.status"})
        running = asyncio.create_task(host.run())
        seen: dict[str, object] = {}
        try:
            await clock.advance(0)
            await settled(house, ess)
            fronius.faults.status = 500
            for _ in range(30):  # five minutes of 500s
                await clock.advance(10)
                await settled(house, ess)
            status = host.latest("essStatus")
            seen.update(failing=dict(host.counters.failing), status=status.value if status else None,
                        house_reads=house.reads, ess_reads=ess.reads)
            fronius.faults.status = 200
            for _ in range(36):  # the back-off has reached 160 s: six minutes more
                await clock.advance(10)
                await settled(house, ess)
            status = host.latest("essStatus")
            seen.update(after=status.value if status else None, failing_after=dict(host.counters.failing),
                        ess_reads_after=ess.reads, p_ess=host.latest("P_ess"))
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
            await fronius.stop()
            await grid.stop()
        return seen

    seen = asyncio.run(scenario())
    assert str(seen["status"]).startswith("unreachable: ") and "HTTP 500" in str(seen["status"])
    failing = seen["failing"]
    assert isinstance(failing, dict) and 4 <= failing["ess"] <= 6  # 10, 20, 40, 80 s … not every 10 s
    assert "grid" not in failing and seen["ess_reads"] == 31  # the other device, every 10 s
    # back: the host wrote "ok" on the restart, then the inverter's own status code (7 = Running) follows
    assert seen["after"] == "7" and "ess" not in seen["failing_after"]  # type: ignore[operator]
    assert seen["ess_reads_after"] == 67 and seen["p_ess"] is not None
