"""The simulated house and charge point behind the Connector protocol, on a stepped clock."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from adapters.connector import Command, Connector, Reading
from adapters.simulated.connectors import CONNECTOR_KINDS, SimulatedChargePoint
from clock import SteppedClock

NOON = datetime(2026, 6, 21, 11, tzinfo=UTC)


def _values(readings: list[Reading]) -> dict[str, object]:
    return {r.datastream: r.value for r in readings}


async def _house(clock: SteppedClock, **options: object) -> Connector:
    house = CONNECTOR_KINDS["simulated-house"]("ess", {"seed": 1, **options}, clock)
    await house.start()
    return house


def test_the_pcc_balances_load_pv_and_battery() -> None:
    async def scenario() -> dict[str, object]:
        clock = SteppedClock(NOON)
        house = await _house(clock)
        result = await house.write(Command("ess", "ess_setpoint", {"powerSetpoint": 2000}))
        assert result.accepted and result.in_force["powerSetpoint"] == 2000
        await clock.advance(10)
        return _values(await house.read())

    values = asyncio.run(scenario())
    assert values["P_ess"] == pytest.approx(2000)
    assert values["P_grid"] == pytest.approx(values["P_load"] + values["P_pv"] + 2000, abs=0.01)  # type: ignore[operator]
    assert values["P_pv"] < -3000  # type: ignore[operator]


def test_pv_curtailment_limits_generation() -> None:
    async def scenario() -> dict[str, object]:
        clock = SteppedClock(NOON)
        house = await _house(clock)
        await house.write(Command("ess", "ess_setpoint", {"powerSetpoint": 0, "pvLimit": 1000}))
        await clock.advance(10)
        return _values(await house.read())

    assert asyncio.run(scenario())["P_pv"] == pytest.approx(-1000)


def test_soc_moves_with_clock_time() -> None:
    async def scenario() -> list[float]:
        clock = SteppedClock(NOON)
        house = await _house(clock, max_capacity_wh=10_000, soc_pct=50, charge_efficiency=1.0)
        await house.write(Command("ess", "ess_setpoint", {"powerSetpoint": 5000}))
        socs = []
        for _ in range(2):
            await clock.advance(360)
            socs.append(float(_values(await house.read())["SoC"]))  # type: ignore[arg-type]
        return socs

    assert asyncio.run(scenario()) == pytest.approx([55.0, 60.0])


def test_a_command_without_a_power_is_refused() -> None:
    async def scenario() -> bool:
        house = await _house(SteppedClock(NOON))
        return (await house.write(Command("ess", "ess_setpoint", {"power": "high"}))).accepted

    assert asyncio.run(scenario()) is False


def test_the_charge_point_reports_power_and_status() -> None:
    async def scenario() -> dict[str, object]:
        clock = SteppedClock(datetime(2026, 6, 1, 12, tzinfo=UTC))
        point = CONNECTOR_KINDS["simulated-chargepoint"]("cp1", {"seed": 2, "max_power_w": 7400}, clock)
        assert isinstance(point, SimulatedChargePoint)
        await point.start()
        result = await point.write(Command("cp1", "ev_load_reduction", {"maxPower": 3000}))
        assert result.in_force["maxPower"] == 3000
        await clock.advance_to(point.point.sessions[0].arrival)
        await point.read()
        await clock.advance(10)
        return _values(await point.read())

    values = asyncio.run(scenario())
    assert values["cpStatus"] == "Charging"
    assert values["P_ev"] == pytest.approx(3000)
