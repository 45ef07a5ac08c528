"""The iec61850 connector against the emulated energy router over MMS on 127.0.0.1: measurements, a mode
with grid limits and a storage set-point acknowledged from the attributes in force, and the faults: a
refused write (invalid mode put back by the router; the server denying writes), missing nodes, no router."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest

from adapters.connector import Command
from adapters.iec61850.connector import Iec61850Connector, MissingNodes, RouterUnreachable, build_iec61850
from adapters.iec61850.emulator import RouterEmulator, build_router
from clock import SteppedClock

NOON = datetime(2026, 6, 21, 10, 0, tzinfo=UTC)  # Bucharest, clear sky
T = TypeVar("T")


def run(scenario: Callable[[RouterEmulator, Iec61850Connector], Awaitable[T]], missing: Iterable[str] = ()) -> T:
    async def main() -> T:
        clock = SteppedClock(NOON)
        emulator = RouterEmulator(build_router(clock), missing_nodes=missing)
        await emulator.start()
        connector = build_iec61850("er", {"port": emulator.port, "timeout_s": 2, "confirm_s": 2}, clock)
        try:
            await connector.start()
            return await scenario(emulator, connector)
        finally:
            await connector.stop()
            await emulator.stop()
    return asyncio.run(main())


def values(readings: list[Any]) -> dict[str, Any]:
    return {reading.datastream: reading.value for reading in readings}


def test_measurements_of_every_node() -> None:
    async def scenario(emulator: RouterEmulator, connector: Iec61850Connector) -> dict[str, Any]:
        return values(await connector.read())
    found = run(scenario)
    assert set(found) == {"P_ac", "P_pv", "P_ess", "SoC", "V_dc", "P_dc_link", "erMode", "P_dc_setpoint"}
    assert found["P_pv"] < -1000 and found["SoC"] == pytest.approx(50, abs=1) and found["erMode"] == 1


def test_a_mode_with_limits_and_a_setpoint_are_acknowledged_from_the_read_back() -> None:
    async def scenario(emulator: RouterEmulator, connector: Iec61850Connector) -> None:
        result = await connector.write(Command("er", "er_mode", {"operationMode": 4, "gridPowerMax": 2500}, 1))
        assert result.accepted, result.reason
        assert result.in_force["operationMode"] == 4 and result.in_force["gridPowerMax"] == 2500
        assert values(await connector.read())["erMode"] == 4
        setpoint = await connector.write(Command("er", "ess_setpoint", {"powerSetpoint": -1500}, 2))
        assert setpoint.accepted and setpoint.in_force["powerSetpoint"] == -1500
        limits = await connector.write(Command("er", "er_limits", {"gridPower": [-2000, 2000]}, 3))
        assert limits.accepted and emulator.router.settings.grid_min_w == -2000
    run(scenario)


def test_refused_writes() -> None:
    async def scenario(emulator: RouterEmulator, connector: Iec61850Connector) -> None:
        invalid = await connector.write(Command("er", "er_mode", {"operationMode": 7}, 1))
        assert not invalid.accepted and "holds" in invalid.reason and invalid.in_force["operationMode"] == 1
        assert emulator.refused == ["operation mode 7 is not 1-5"]
        emulator.deny_writes()
        denied = await connector.write(Command("er", "er_mode", {"operationMode": 2}, 2))
        assert not denied.accepted and "access-denied" in denied.reason
        bad = await connector.write(Command("er", "er_mode", {"operationMode": "two"}, 3))
        assert not bad.accepted and "finite number" in bad.reason
        assert "erMode" in values(await connector.read())  # the connector goes on serving
    run(scenario)


def test_missing_nodes_are_left_out_or_refuse_the_device() -> None:
    async def without_battery(emulator: RouterEmulator, connector: Iec61850Connector) -> set[str]:
        return set(values(await connector.read()))
    assert "SoC" not in run(without_battery, missing=["ZBTC1"])

    async def not_a_router(emulator: RouterEmulator, connector: Iec61850Connector) -> None:
        with pytest.raises(MissingNodes, match="MMXU1"):
            await connector.read()
    run(not_a_router, missing=["MMXU1"])


def test_no_router_on_the_port() -> None:
    async def scenario() -> None:
        connector = build_iec61850("er", {"port": 1, "timeout_s": 1}, SteppedClock(NOON))
        with pytest.raises(RouterUnreachable):
            await connector.start()
        with pytest.raises(RouterUnreachable, match="not connected"):
            await connector.read()
    asyncio.run(scenario())
