"""The modbus-ess connector against the emulator on 127.0.0.1: the set-point ends as the register value
within one command cycle and is acknowledged from the read-back; watchdog; exception codes; timeout."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
from pymodbus.constants import ExcCodes

from adapters.connector import Command
from adapters.modbus_ess.connector import ModbusEssConnector, build_modbus_ess
from adapters.modbus_ess.emulator import ModbusEssEmulator, build_ess
from adapters.modbus_ess.registers import words_to_int
from clock import SteppedClock

START = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
T = TypeVar("T")


def run(scenario: Callable[[ModbusEssEmulator, ModbusEssConnector, SteppedClock], Awaitable[T]],
        **options: Any) -> T:
    async def main() -> T:
        clock = SteppedClock(START)
        emulator = ModbusEssEmulator(build_ess({"max_capacity_wh": 75000, "max_power_w": 30000}, clock))
        await emulator.start()
        connector = build_modbus_ess("ess", {"port": emulator.port, "timeout_s": 0.5, **options}, clock)
        try:
            await connector.start()
            return await scenario(emulator, connector, clock)
        finally:
            await connector.stop()
            await emulator.stop()
    return asyncio.run(main())


def setpoint(power_w: float | None) -> Command:
    return Command("ess", "ess_setpoint", {"powerSetpoint": power_w}, task_id=1)


def test_setpoint_ends_as_the_register_value_and_is_acknowledged() -> None:
    async def scenario(emulator: ModbusEssEmulator, connector: ModbusEssConnector, clock: SteppedClock) -> Any:
        result = await connector.write(setpoint(-20_000))
        holding = list(emulator.holding)
        await clock.advance(60)
        readings = {r.datastream: r.value for r in await connector.read()}
        return result, holding, readings
    result, holding, readings = run(scenario)
    assert result.accepted and result.in_force["powerSetpoint"] == -20_000
    assert words_to_int(holding[:2], signed=True) == 20_000 and holding[2:] == [960, 1]  # generator sign
    assert readings["P_ess"] == -20_000 and readings["P_ess_out"] == 20_000
    assert readings["essStatus"] == "discharging" and readings["SoC"] < 50


def test_watchdog_lapses_to_standby_and_release_hands_back() -> None:
    async def scenario(emulator: ModbusEssEmulator, connector: ModbusEssConnector, clock: SteppedClock) -> Any:
        await connector.write(setpoint(10_000))
        await clock.advance(961)
        await connector.read()
        await clock.advance(10)
        lapsed = {r.datastream: r.value for r in await connector.read()}
        released = await connector.write(setpoint(None))
        return lapsed, released, {r.datastream: r.value for r in await connector.read()}
    lapsed, released, after = run(scenario)
    assert lapsed["P_ess"] == 0 and lapsed["essStatus"] == "standby"
    assert released.accepted and after["essStatus"] == "local"


def test_out_of_range_setpoint_is_refused_with_exception_3() -> None:
    async def scenario(emulator: ModbusEssEmulator, connector: ModbusEssConnector, clock: SteppedClock) -> Any:
        return await connector.write(setpoint(45_000)), list(emulator.holding)
    result, holding = run(scenario)
    assert not result.accepted and "Modbus exception 3 (illegal data value)" in result.reason
    assert holding == [0, 0, 0, 0]


def test_exception_code_on_read_is_a_device_fault() -> None:
    async def scenario(emulator: ModbusEssEmulator, connector: ModbusEssConnector, clock: SteppedClock) -> Any:
        emulator.faults.exception = ExcCodes.DEVICE_FAILURE
        with pytest.raises(ConnectionError, match="Modbus exception 4"):
            await connector.read()
        emulator.faults.exception = None
        return len(await connector.read())
    assert run(scenario) == 6  # P_ess, P_ess_in, P_ess_out, V_ess, SoC, essStatus


def test_timeout_raises_connection_error_and_a_new_start_recovers() -> None:
    async def scenario(emulator: ModbusEssEmulator, connector: ModbusEssConnector, clock: SteppedClock) -> Any:
        emulator.faults.delay_s = 1.5
        with pytest.raises(ConnectionError):
            await connector.read()
        emulator.faults.delay_s = 0.0
        await connector.start()
        return len(await connector.read())
    assert run(scenario) == 6  # P_ess, P_ess_in, P_ess_out, V_ess, SoC, essStatus


def test_unreachable_device_raises_connection_error() -> None:
    async def scenario() -> None:
        connector = build_modbus_ess("ess", {"port": 9, "timeout_s": 0.5}, SteppedClock(START))
        await connector.start()
    with pytest.raises(ConnectionError, match="127.0.0.1:9"):
        asyncio.run(scenario())
