"""The Fronius connector against the emulator on 127.0.0.1: JSON readings that agree with the device,
a battery set-point over SunSpec model 124 that shows in the JSON, HTTP 500, truncated JSON, night."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest

from adapters.connector import Command
from adapters.fronius.connector import FroniusConnector, build_fronius
from adapters.fronius.emulator import FroniusEmulator
from adapters.sunspec.hybrid import build_hybrid
from clock import SteppedClock
from tests.adapters.sunspec.emulated import HOUSE, START

T = TypeVar("T")


@asynccontextmanager
async def fronius(clock: SteppedClock) -> AsyncIterator[tuple[FroniusEmulator, FroniusConnector]]:
    emulator = FroniusEmulator(build_hybrid(HOUSE, clock), clock)
    await emulator.start()
    connector = build_fronius("ess", {"url": emulator.url, "modbus_port": emulator.modbus_port, "timeout_s": 1.0},
                              clock)
    try:
        await connector.start()
        yield emulator, connector
    finally:
        await connector.stop()
        await emulator.stop()


def run(scenario: Callable[[FroniusEmulator, FroniusConnector, SteppedClock], Awaitable[T]],
        start: datetime = START) -> T:
    async def main() -> T:
        clock = SteppedClock(start)
        async with fronius(clock) as (emulator, connector):
            return await scenario(emulator, connector, clock)
    return asyncio.run(main())


def test_readings_agree_with_the_device() -> None:
    async def scenario(emulator: FroniusEmulator, connector: FroniusConnector, clock: SteppedClock) -> Any:
        await clock.advance(10)
        return {r.datastream: r.value for r in await connector.read()}, emulator.inverter.state
    got, state = run(scenario)
    assert got["P_pv"] == pytest.approx(state.pv_w, abs=0.2) and got["P_pv"] < -1000
    assert got["P_ess"] == pytest.approx(state.ess_w, abs=0.2)
    assert got["P_load"] == pytest.approx(state.load_w, abs=0.2)
    assert got["P_grid"] == pytest.approx(got["P_load"] + got["P_pv"] + got["P_ess"], abs=1)
    assert got["SoC"] == pytest.approx(state.soc_pct, abs=0.1)
    assert got["essStatus"] == "7"


def test_setpoint_ends_in_model_124_and_shows_in_the_json() -> None:
    async def scenario(emulator: FroniusEmulator, connector: FroniusConnector, clock: SteppedClock) -> Any:
        result = await connector.write(Command("ess", "ess_setpoint", {"powerSetpoint": -2000}, task_id=7))
        registers = emulator.sunspec.models[124]
        written = (registers.StorCtl_Mod.value, registers.InWRte.value, registers.OutWRte.value)
        await clock.advance(10)
        readings = {r.datastream: r.value for r in await connector.read()}
        return result, written, readings
    result, written, readings = run(scenario)
    assert result.accepted and result.in_force["powerSetpoint"] == pytest.approx(-2000)
    assert written == (3, -3125, 3125)  # -31.25 % of WChaMax 6,400 W, InOutWRte_SF -2
    assert readings["P_ess"] == pytest.approx(-2000, abs=1)  # discharging, though the sun shines


def test_night_reads_pv_as_zero_and_the_battery_discharges() -> None:
    async def scenario(emulator: FroniusEmulator, connector: FroniusConnector, clock: SteppedClock) -> Any:
        await clock.advance(10)
        return {r.datastream: r for r in await connector.read()}
    got = run(scenario, datetime(2026, 6, 21, 22, 0, tzinfo=UTC))
    assert got["P_pv"].value == 0.0 and got["P_pv"].parameters == {"null": True}
    assert got["P_ess"].value < 0  # the battery runs the house at night (self-consumption)


@pytest.mark.parametrize(("fault", "message"), [({"status": 500}, "HTTP 500"),
                                                ({"truncate": True}, "invalid or truncated JSON"),
                                                ({"api_code": 8}, "Status.Code 8")])
def test_bad_answers_are_device_faults_and_the_device_recovers(fault: dict[str, Any], message: str) -> None:
    async def scenario(emulator: FroniusEmulator, connector: FroniusConnector, clock: SteppedClock) -> Any:
        for name, value in fault.items():
            setattr(emulator.faults, name, value)
        try:
            await connector.read()
        except ConnectionError as error:
            raised: Exception | None = error
        else:
            raised = None
        emulator.faults.status, emulator.faults.truncate, emulator.faults.api_code = 200, False, 0
        return raised, len(await connector.read())
    raised, count = run(scenario)
    assert isinstance(raised, ConnectionError) and message in str(raised)
    assert count >= 10


def test_unreachable_device_raises_connection_error() -> None:
    async def scenario() -> Exception:
        clock = SteppedClock(START)
        connector = build_fronius("ess", {"url": "http://127.0.0.1:9", "modbus_port": 9, "timeout_s": 0.5}, clock)
        try:
            await connector.start()
        except ConnectionError as error:
            return error
        finally:
            await connector.stop()
        raise AssertionError("started against nothing")
    assert "scan 127.0.0.1:9" in str(asyncio.run(scenario()))


def test_without_a_modbus_link_the_connector_reads_and_refuses_commands() -> None:
    async def scenario() -> tuple[int, Any]:
        clock = SteppedClock(START)
        emulator = FroniusEmulator(build_hybrid(HOUSE, clock), clock)
        await emulator.start()
        connector = build_fronius("ess", {"url": emulator.url, "modbus_port": None}, clock)
        try:
            await connector.start()
            return len(await connector.read()), await connector.write(Command("ess", "x", {"powerSetpoint": 1}))
        finally:
            await connector.stop()
            await emulator.stop()
    count, result = asyncio.run(scenario())
    assert count >= 10 and not result.accepted and "read-only" in result.reason
