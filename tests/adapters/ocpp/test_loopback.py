"""The CSMS and the emulated charge point over 127.0.0.1: boot, status and meter values as readings,
charging profiles in W and A verified from the composite schedule, availability, remote start/stop."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest

from adapters.connector import Command, CommandResult
from adapters.ocpp.connector import build_ocpp
from adapters.ocpp.csms import CENTRAL_SYSTEMS
from adapters.ocpp.emulator import EmulatedChargePoint
from clock import AcceleratedClock
from tests.adapters.ocpp.emulated import START, charger, charging_site, free_port


def command(**parameters: Any) -> Command:
    return Command("cp1", "cp1.ev_load_reduction", parameters)


def test_boot_status_and_meter_values_become_readings() -> None:
    async def scenario() -> tuple[dict[str, list[Any]], int | None]:
        async with charging_site() as loop:
            await loop.until(lambda: "Charging" in loop.values("cp1.cpStatus") and len(loop.values("cp1.P_ev")) > 2)
            assert loop.device.state is not None
            keys = ("cp1.P_ev", "cp1.V_ev", "cp1.SoC_ev", "cp1.E_ev", "cp1.cpStatus")
            return {key: loop.values(key) for key in keys}, loop.device.state.transaction_id
    values, transaction_id = asyncio.run(scenario())
    assert values["cp1.P_ev"][-1] == pytest.approx(7400.0)
    assert values["cp1.V_ev"][-1] == 230.0
    assert 0 < values["cp1.SoC_ev"][0] <= values["cp1.SoC_ev"][-1] < 100
    assert values["cp1.E_ev"][-1] > 0
    assert values["cp1.cpStatus"][0] == "Preparing" and values["cp1.cpStatus"][-1] == "Charging"
    assert transaction_id == 1


def test_a_limit_in_w_is_verified_and_the_power_drops_to_it() -> None:
    async def scenario() -> tuple[CommandResult, list[Any], Any]:
        async with charging_site() as loop:
            await loop.until(lambda: 7400.0 in loop.values("cp1.P_ev"))
            result = await loop.device.write(command(maxPower=3000.0))
            await loop.device.read()  # what arrived while the profile was set
            loop.readings.clear()
            await loop.until(lambda: len(loop.values("cp1.P_ev")) >= 3)
            return result, loop.values("cp1.P_ev"), list(loop.emulator.charger.profiles.values())
    result, powers, profiles = asyncio.run(scenario())
    assert result.accepted and result.in_force["maxPower"] == pytest.approx(3000.0)
    assert result.in_force["unit"] == "W"
    assert powers[-1] == pytest.approx(3000.0)
    assert max(powers[1:]) <= 3000.0  # the first may be the mean of the interval before the profile
    assert [(p.purpose, p.unit, p.periods[0][:2]) for p in profiles] == [("TxDefaultProfile", "W", (0, 3000.0))]


def test_a_charger_taking_only_amps_gets_amps_rounded_down_to_one_decimal() -> None:
    async def scenario() -> tuple[CommandResult, list[Any]]:
        async with charging_site(units=("A",)) as loop:
            await loop.until(lambda: 7400.0 in loop.values("cp1.P_ev"))
            result = await loop.device.write(command(maxPower=3000.0))
            loop.readings.clear()
            await loop.until(lambda: len(loop.values("cp1.P_ev")) >= 3)
            return result, loop.values("cp1.P_ev")
    result, powers = asyncio.run(scenario())
    assert result.accepted and result.in_force["unit"] == "A"
    assert result.in_force["maxPower"] == pytest.approx(13.0 * 230)  # 3000 W / 230 V = 13.04 A -> 13.0 A
    assert powers[-1] == pytest.approx(2990.0)


def test_a_tx_profile_goes_to_the_running_transaction() -> None:
    async def scenario() -> tuple[CommandResult, list[Any]]:
        async with charging_site(purpose="TxProfile") as loop:
            await loop.until(lambda: 7400.0 in loop.values("cp1.P_ev"))
            result = await loop.device.write(command(maxPower=4600.0))
            return result, [(p.purpose, p.transaction_id) for p in loop.emulator.charger.profiles.values()]
    result, profiles = asyncio.run(scenario())
    assert result.accepted and result.in_force["maxPower"] == pytest.approx(4600.0)
    assert profiles == [("TxProfile", 1)]


def test_availability_and_remote_stop_and_start() -> None:
    async def scenario() -> list[Any]:
        async with charging_site() as loop:
            await loop.until(lambda: "Charging" in loop.values("cp1.cpStatus"))
            assert (await loop.device.write(command(enabled=False))).accepted
            await loop.until(lambda: loop.values("cp1.cpStatus")[-1] == "Unavailable")
            await loop.until(lambda: loop.values("cp1.P_ev")[-1] == 0.0)
            assert (await loop.device.write(command(enabled=True))).accepted
            await loop.until(lambda: loop.values("cp1.cpStatus")[-1] == "Charging")
            assert (await loop.device.write(command(transaction="stop"))).accepted
            await loop.until(lambda: loop.values("cp1.cpStatus")[-1] == "Finishing")
            assert loop.device.state is not None and loop.device.state.transaction_id is None
            assert (await loop.device.write(command(transaction="start", idTag="TAG-1"))).accepted
            await loop.until(lambda: loop.values("cp1.cpStatus")[-1] == "Charging")
            return loop.values("cp1.cpStatus")
    statuses = asyncio.run(scenario())
    assert statuses[-1] == "Charging"


def test_the_csms_sets_the_chargers_meter_interval_after_boot() -> None:
    async def scenario() -> float:
        async with charging_site(meter_interval_s=1.0) as loop:
            await loop.until(lambda: loop.emulator.meter_interval_s == 1.0)
            return loop.emulator.meter_interval_s
    assert asyncio.run(scenario()) == 1.0  # was 2 s: ChangeConfiguration MeterValueSampleInterval = 1


def test_devices_on_one_address_share_one_csms() -> None:
    """Three wall boxes of a site (connector kind `ocpp`, one listen port), each its own charge point."""
    async def scenario() -> tuple[int, list[float], int]:
        clock = AcceleratedClock(START, 20.0)
        port = free_port()
        devices = [build_ocpp(f"cp{n}", {"listen_port": port, "timeout_s": 5}, clock) for n in (1, 2, 3)]
        for device in devices:
            await device.start()
        emulators = [EmulatedChargePoint(f"ws://127.0.0.1:{port}", f"cp{n}", charger(), clock, meter_interval_s=2.0)
                     for n in (1, 2, 3)]
        running = [asyncio.create_task(e.run(backoff_s=0.05, backoff_max_s=0.5)) for e in emulators]
        try:
            centrals = {id(device.central) for device in devices}
            deadline = asyncio.get_running_loop().time() + 10
            while not all(e.reported.get(1) == "Charging" for e in emulators):
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.05)
            results = [await device.write(command(maxPower=1000.0 * n)) for n, device in enumerate(devices, 1)]
            limits = [float(r.in_force["maxPower"]) for r in results if r.accepted]
            assert devices[0].central is not None
            return len(centrals), limits, len(devices[0].central.sessions)
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            for device in devices:
                await device.stop()
            await CENTRAL_SYSTEMS.close_all()
    servers, limits, sessions = asyncio.run(scenario())
    assert servers == 1 and sessions == 3
    assert limits == [1000.0, 2000.0, 3000.0]
