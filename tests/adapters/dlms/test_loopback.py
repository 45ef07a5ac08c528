"""The dlms connector against the meter emulator on 127.0.0.1 (DLMS TCP wrapper): readings with their
scalers and units, the emulator's model behind them, and the faults: a refused association, garbled
frames, timeouts, a scaler changed between reads, a meter that is not there."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest

from adapters.connector import Command
from adapters.dlms.connector import DlmsConnector, build_dlms
from adapters.dlms.emulator import MeterEmulator, build_meter
from adapters.dlms.errors import AssociationRefused, GarbledFrame, MeterUnreachable
from clock import SteppedClock

NOON = datetime(2026, 6, 21, 10, 30, tzinfo=UTC)  # Bolzano, clear sky: the PV exports
T = TypeVar("T")


def run(scenario: Callable[[MeterEmulator, DlmsConnector, SteppedClock], Awaitable[T]],
        meter_password: str | None = None, **options: Any) -> T:
    async def main() -> T:
        clock = SteppedClock(NOON)
        emulator = MeterEmulator(build_meter(clock, annual_kwh=5200, pv_kwp=10, seed=18), password=meter_password)
        await emulator.start()
        connector = build_dlms("meter", {"port": emulator.port, "timeout_s": 0.5, **options}, clock)
        try:
            return await scenario(emulator, connector, clock)
        finally:
            await connector.stop()
            await emulator.stop()
    return asyncio.run(main())


def values(readings: list[Any]) -> dict[str, Any]:
    return {reading.datastream: reading.value for reading in readings}


def test_a_poll_reads_every_register_with_its_scaler_and_unit() -> None:
    async def scenario(emulator: MeterEmulator, connector: DlmsConnector, clock: SteppedClock) -> None:
        await connector.start()
        first = values(await connector.read())
        registers = emulator.model.registers()
        assert first["P_grid"] == pytest.approx(registers["active_import"] - registers["active_export"], abs=1)
        assert first["P_grid"] < -3000  # noon PV export, consumer sign
        assert first["Q_grid"] < 0 and all(230 < v < 235 for v in first["V_grid"])  # export lifts the voltage
        assert first["A_plus"] == pytest.approx(1250.0) and first["A_minus"] == pytest.approx(310.0)
        await clock.advance(3600)
        later = values(await connector.read())
        assert later["A_minus"] - first["A_minus"] == pytest.approx(-first["P_grid"] / 1000, rel=0.1)
        assert emulator.associations == 1  # one association serves every poll
    run(scenario)


def test_a_scaler_changed_between_reads_is_applied() -> None:
    async def scenario(emulator: MeterEmulator, connector: DlmsConnector, clock: SteppedClock) -> None:
        await connector.start()
        before = values(await connector.read())
        emulator.faults.scalers = {"active_export": 1, "energy_export": 3}  # now daW and kWh counts
        after = values(await connector.read())
        assert after["P_grid"] == pytest.approx(before["P_grid"], abs=10)
        assert after["A_minus"] == pytest.approx(before["A_minus"], abs=1)
    run(scenario)


def test_keys_name_other_streams_and_drop_unwanted_ones() -> None:
    async def scenario(emulator: MeterEmulator, connector: DlmsConnector, clock: SteppedClock) -> list[str]:
        await connector.start()
        return sorted(values(await connector.read()))
    keys = {"power": "P_ev_meter", "reactive_power": "", "voltages": "", "energy_import": "", "energy_export": "",
            "active_export": "P_minus"}
    assert run(scenario, keys=keys) == ["P_ev_meter", "P_minus"]


def test_a_refused_association_is_a_connection_error_until_the_meter_accepts() -> None:
    async def scenario(emulator: MeterEmulator, connector: DlmsConnector, clock: SteppedClock) -> None:
        with pytest.raises(AssociationRefused, match="REJECTED_PERMANENT"):
            await connector.start()
        assert emulator.associations == 0
        emulator.faults.refuse_association = True  # a meter refusing everyone (e.g. its association busy)
        with pytest.raises(AssociationRefused):
            await build_dlms("meter", {"port": emulator.port, "password": "00000000"}, clock).start()
        emulator.faults.refuse_association = False
        good = build_dlms("meter", {"port": emulator.port, "password": "00000000", "timeout_s": 0.5}, clock)
        try:
            await good.start()
            assert "P_grid" in values(await good.read())
        finally:
            await good.stop()
    run(scenario, meter_password="00000000", password="wrong")


def test_garbled_frames_close_the_connection_and_a_restart_recovers() -> None:
    async def scenario(emulator: MeterEmulator, connector: DlmsConnector, clock: SteppedClock) -> None:
        await connector.start()
        emulator.faults.garble = True
        with pytest.raises(GarbledFrame, match="wrapper version"):
            await connector.read()
        with pytest.raises(MeterUnreachable, match="not connected"):
            await connector.read()
        emulator.faults.garble = False
        await connector.start()
        assert "P_grid" in values(await connector.read())
    run(scenario)


def test_a_meter_that_does_not_answer_times_out() -> None:
    async def scenario(emulator: MeterEmulator, connector: DlmsConnector, clock: SteppedClock) -> None:
        await connector.start()
        emulator.faults.delay_s = 2.0
        with pytest.raises(MeterUnreachable, match="TimeoutError"):
            await connector.read()
    run(scenario)


def test_no_meter_on_the_port_and_no_commands() -> None:
    async def scenario(emulator: MeterEmulator, connector: DlmsConnector, clock: SteppedClock) -> None:
        await emulator.stop()
        await asyncio.sleep(0)
        absent = build_dlms("meter", {"port": 1, "timeout_s": 0.5}, clock)
        with pytest.raises(MeterUnreachable):
            await absent.start()
        result = await connector.write(Command("meter", "anything", {}))
        assert not result.accepted and "no commands" in result.reason
    run(scenario)


def test_per_phase_powers_are_read_when_their_key_is_set() -> None:
    """T19 "P×3": P+ − P− of L1..L3 (OBIS 1.0.21/41/61.7.0.255 and 22/42/62) as one MultiDatastream reading
    that sums to the meter's total power; without the key the registers are not asked for."""
    async def scenario(emulator: MeterEmulator, connector: DlmsConnector, clock: SteppedClock) -> dict[str, Any]:
        await connector.start()
        return values(await connector.read())

    found = run(scenario, keys={"phase_powers": "P_grid_phases"})
    phases = found["P_grid_phases"]
    assert len(phases) == 3 and all(p < 0 for p in phases)  # noon: every phase exports
    assert sum(phases) == pytest.approx(found["P_grid"], abs=3) and len(set(phases)) == 3
    assert "P_grid_phases" not in run(scenario)
    plain = build_dlms("meter", {}, SteppedClock(NOON))
    assert len(plain.variables) == 9 and len(build_dlms("m", {"keys": {"phase_powers": "x"}}, SteppedClock(NOON))
                                              .variables) == 15
