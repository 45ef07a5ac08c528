"""pysunspec2 against the pymodbus emulator over 127.0.0.1: scan, readings, set-points read back, faults."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pymodbus.constants import ExcCodes

from adapters.connector import Command
from adapters.sunspec.connector import SunSpecConnector, build_sunspec
from adapters.sunspec.emulator import SunSpecEmulator
from adapters.sunspec.errors import DeviceUnreachable, ModbusExceptionCode, NotSunSpec
from adapters.sunspec.hybrid import build_hybrid
from clock import SteppedClock
from tests.adapters.sunspec.emulated import HOUSE, START, sunspec_device


def connector(port: int, clock: SteppedClock, **options: Any) -> SunSpecConnector:
    return build_sunspec("ess", {"port": port, "timeout_s": 1.0, **options}, clock)


def test_scan_finds_models_and_reads_scaled_values() -> None:
    async def scenario() -> tuple[dict[str, Any], dict[str, Any], Any]:
        clock = SteppedClock(START)
        async with sunspec_device(clock) as emulator:
            device = connector(emulator.port, clock)
            await device.start()
            await clock.advance(60)
            readings = {r.datastream: r.value for r in await device.read()}
            await device.stop()
            return device.identity, readings, emulator.inverter.state
    identity, readings, state = asyncio.run(scenario())
    assert identity["Mn"] == "Fronius" and identity["Md"] == "Symo Hybrid 5.0-3-S"
    assert readings["P_inv"] == pytest.approx(state.inverter_w, abs=1)
    assert readings["P_inv"] < 0  # a June morning: the inverter produces (consumer sign)
    assert readings["SoC"] == pytest.approx(state.soc_pct, abs=0.1) and readings["SoC"] > 50  # charging on surplus
    assert readings["V_L1"] == pytest.approx(state.voltages_v[0], abs=0.1)
    assert readings["invStatus"] == "MPPT" and readings["f_grid"] == 50.0


def test_setpoint_is_written_and_acknowledged_from_the_read_back() -> None:
    async def scenario() -> tuple[Any, Any, float, Any]:
        clock = SteppedClock(START)
        async with sunspec_device(clock) as emulator:
            device = connector(emulator.port, clock)
            await device.start()
            result = await device.write(Command("ess", "ess_setpoint", {"powerSetpoint": -1600}))
            await clock.advance(30)
            emulator.inverter.advance()
            battery_w = emulator.inverter.battery.power_w
            released = await device.write(Command("ess", "ess_setpoint", {"powerSetpoint": None}))
            await device.stop()
            return result, emulator.inverter.control, battery_w, released
    result, control, battery_w, released = asyncio.run(scenario())
    assert result.accepted and result.in_force["powerSetpoint"] == pytest.approx(-1600)
    assert (control.mode, control.revert_s) == (0, 0)  # released at the end
    assert battery_w == pytest.approx(-1600)
    assert released.accepted and released.in_force["powerSetpoint"] is None


def test_revert_timer_releases_the_battery() -> None:
    async def scenario() -> tuple[int, int]:
        clock = SteppedClock(START)
        async with sunspec_device(clock) as emulator:
            device = connector(emulator.port, clock, revert_s=60)
            await device.start()
            await device.write(Command("ess", "ess_setpoint", {"powerSetpoint": 1000}))
            before = int((await device.storage.call(device.client.read_storage))[0].mode)
            await clock.advance(61)
            after = int((await device.storage.call(device.client.read_storage))[0].mode)
            await device.stop()
            return before, after
    assert asyncio.run(scenario()) == (3, 0)


def test_changed_scale_factor_keeps_the_physical_value() -> None:
    async def scenario() -> tuple[float, float, float]:
        clock = SteppedClock(START)
        async with sunspec_device(clock) as emulator:
            device = connector(emulator.port, clock)
            await device.start()
            first = next(r.value for r in await device.read() if r.datastream == "P_inv")
            emulator.faults.w_sf = 1  # W now counts tens of watts
            second = next(r.value for r in await device.read() if r.datastream == "P_inv")
            await device.stop()
            return float(str(first)), float(str(second)), emulator.inverter.state.inverter_w
    first, second, true_w = asyncio.run(scenario())
    assert first == pytest.approx(true_w, abs=1) and second == pytest.approx(true_w, abs=5)
    assert second % 10 == 0


def test_missing_marker_is_not_sunspec() -> None:
    async def scenario() -> None:
        clock = SteppedClock(START)
        async with sunspec_device(clock) as emulator:
            emulator.faults.marker = b"Sun?"
            device = connector(emulator.port, clock)
            await device.start()
    with pytest.raises(NotSunSpec, match="no SunS marker"):
        asyncio.run(scenario())


def test_exception_code_on_read_is_a_device_fault_and_on_write_a_refusal() -> None:
    async def scenario() -> tuple[Exception | None, Any]:
        clock = SteppedClock(START)
        async with sunspec_device(clock) as emulator:
            device = connector(emulator.port, clock)
            await device.start()
            emulator.faults.exception = ExcCodes.DEVICE_BUSY
            error: Exception | None = None
            try:
                await device.read()
            except ModbusExceptionCode as raised:
                error = raised
            result = await device.write(Command("ess", "ess_setpoint", {"powerSetpoint": 500}))
            emulator.faults.exception = None
            assert len(await device.read()) > 5  # the same connection serves again
            await device.stop()
            return error, result
    error, result = asyncio.run(scenario())
    assert isinstance(error, ConnectionError) and "Modbus exception 6" in str(error)
    assert not result.accepted and "Modbus exception 6" in result.reason


def test_out_of_range_write_is_refused_with_exception_3() -> None:
    async def scenario() -> str:
        clock = SteppedClock(START)
        async with sunspec_device(clock) as emulator:
            device = connector(emulator.port, clock)
            await device.start()
            try:
                await device.storage.call(lambda: device.client.write_points(124, {"InWRte": 150.0}))
            except ModbusExceptionCode as error:
                return str(error)
            finally:
                await device.stop()
            return "written"
    assert asyncio.run(scenario()).startswith("Modbus exception 3")


def test_timeout_raises_connection_error_and_the_next_start_recovers() -> None:
    async def scenario() -> tuple[Exception | None, int]:
        clock = SteppedClock(START)
        async with sunspec_device(clock) as emulator:
            device = connector(emulator.port, clock, timeout_s=0.3)
            await device.start()
            emulator.faults.delay_s = 1.0
            error: Exception | None = None
            try:
                await device.read()
            except DeviceUnreachable as raised:
                error = raised
            emulator.faults.delay_s = 0.0
            await device.stop()
            await device.start()
            count = len(await device.read())
            await device.stop()
            return error, count
    error, count = asyncio.run(scenario())
    assert isinstance(error, ConnectionError) and "timeout" in str(error)
    assert count > 5


def test_inverter_without_storage_is_read_and_refuses_setpoints() -> None:
    async def scenario() -> tuple[set[str], Any]:
        clock = SteppedClock(START)
        emulator = SunSpecEmulator(build_hybrid(HOUSE, clock), storage=False)
        await emulator.start()
        device = connector(emulator.port, clock)
        try:
            await device.start()
            await clock.advance(10)
            keys = {r.datastream for r in await device.read()}
            return keys, await device.write(Command("pv", "pv_setpoint", {"powerSetpoint": 0}))
        finally:
            await device.stop()
            await emulator.stop()
    keys, result = asyncio.run(scenario())
    assert "P_inv" in keys and "SoC" not in keys
    assert not result.accepted and "no SunSpec model 124" in result.reason


def test_storage_required_but_missing_is_not_sunspec_enough() -> None:
    async def scenario() -> None:
        clock = SteppedClock(START)
        emulator = SunSpecEmulator(build_hybrid(HOUSE, clock), storage=False)
        await emulator.start()
        try:
            await connector(emulator.port, clock, required_models=[1, 124]).start()
        finally:
            await emulator.stop()
    with pytest.raises(NotSunSpec, match=r"models \[124\] missing"):
        asyncio.run(scenario())
