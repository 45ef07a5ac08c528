"""OCPP faults: malformed frames, CallError, Rejected/NotSupported profiles, "Accepted" without effect,
unknown connector ids, a reconnect storm and a charger clock that is off. Each gives a log line and a
refusal or a link reading; the CSMS keeps serving."""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Subprotocol

from adapters.connector import Command, CommandResult, Reading
from adapters.ocpp.connector import OcppConnector, build_ocpp, ocpp_settings
from adapters.ocpp.csms import CENTRAL_SYSTEMS
from adapters.ocpp.emulator import EmulatedChargePoint, EmulatorFaults
from adapters.ocpp.session import ConnectorState
from clock import AcceleratedClock
from tests.adapters.ocpp.emulated import START, charger, charging_site, free_port


def limit(watts: float) -> Command:
    return Command("cp1", "cp1.ev_load_reduction", {"maxPower": watts})


async def raw_charge_point(url: str) -> ClientConnection:
    return await connect(url, subprotocols=[Subprotocol("ocpp1.6")], open_timeout=5)


async def exchange(connection: ClientConnection, frame: str) -> Any:
    await connection.send(frame)
    return json.loads(await asyncio.wait_for(connection.recv(), 5))


def test_malformed_frames_are_logged_and_the_connection_stays_up(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> tuple[Any, Any, list[Reading], int]:
        async with charging_site() as loop:
            other = OcppConnector("cp9", ocpp_settings("cp9", {}), loop.clock, loop.central)
            await other.start()
            connection = await raw_charge_point(f"{loop.central.url}/cp9")
            await connection.send("this is not JSON")
            await connection.send('[2, "only-two"]')
            invalid = await exchange(connection, '[2, "m1", "MeterValues", {"connectorId": "one", "meterValue": []}]')
            heartbeat = await exchange(connection, '[2, "h1", "Heartbeat", {}]')
            await connection.close()
            readings = await other.read()
            await other.stop()
            return invalid, heartbeat, readings, loop.central.counters.malformed
    with caplog.at_level(logging.WARNING, "adapters.ocpp"):
        invalid, heartbeat, readings, malformed = asyncio.run(scenario())
    assert invalid[0] == 4 and invalid[1] == "m1"  # a CallError for the payload the schema refuses
    assert heartbeat[0] == 3 and "currentTime" in heartbeat[2]  # still served
    assert malformed == 2
    assert [r.datastream for r in readings] == ["cp9.ocppLink", "cp9.ocppLink"]
    assert all(str(r.value).startswith("malformed frame") for r in readings)
    assert "charge point cp9: malformed frame" in caplog.text


def test_a_call_error_is_a_refusal_and_a_link_reading() -> None:
    async def scenario() -> tuple[CommandResult, list[Any]]:
        async with charging_site(EmulatorFaults(call_error=True)) as loop:
            await loop.until(lambda: bool(loop.values("cp1.P_ev")))
            result = await loop.device.write(limit(3000))
            await loop.poll()
            return result, loop.values("cp1.ocppLink")
    result, notes = asyncio.run(scenario())
    assert not result.accepted and "CallError NotSupported" in result.reason
    assert notes == [result.reason]


@pytest.mark.parametrize("status", ["Rejected", "NotSupported"])
def test_a_refused_profile_is_a_refusal(status: str) -> None:
    async def scenario() -> tuple[CommandResult, list[Any]]:
        async with charging_site(EmulatorFaults(profile_status=status)) as loop:
            await loop.until(lambda: bool(loop.values("cp1.P_ev")))
            result = await loop.device.write(limit(3000))
            loop.readings.clear()
            await loop.until(lambda: len(loop.values("cp1.P_ev")) >= 2)
            return result, loop.values("cp1.P_ev")
    result, powers = asyncio.run(scenario())
    assert not result.accepted and result.reason == f"SetChargingProfile {status}"
    assert powers[-1] == pytest.approx(7400.0)  # nothing changed on the charger


def test_accepted_without_effect_is_caught_by_the_composite_schedule() -> None:
    async def scenario() -> CommandResult:
        async with charging_site(EmulatorFaults(ignore_profiles=True)) as loop:
            await loop.until(lambda: bool(loop.values("cp1.P_ev")))
            return await loop.device.write(limit(3000))
    result = asyncio.run(scenario())
    assert not result.accepted and "not in force" in result.reason and "7400" in result.reason


def test_unknown_connector_ids() -> None:
    async def scenario() -> tuple[CommandResult, list[Reading], int, CommandResult]:
        async with charging_site() as loop:
            await loop.until(lambda: bool(loop.values("cp1.P_ev")))
            second = OcppConnector("cp1b", ocpp_settings("cp1b", {"charge_point_id": "cp1", "connector_id": 2}),
                                   loop.clock, loop.central)
            await second.start()
            refused = await second.write(Command("cp1b", "x", {"maxPower": 1000}))
            session = loop.emulator.session
            assert session is not None
            await session.call(_meter_values(7))  # the charger reports a connector nobody knows
            notes = [r for r in await second.read() if r.datastream == "cp1b.ocppLink"]
            await second.stop()
            still = await loop.device.write(limit(2000))
            return refused, notes, loop.central.counters.unknown_connector, still
    refused, notes, unknown, still = asyncio.run(scenario())
    assert not refused.accepted and refused.reason == "SetChargingProfile Rejected"
    assert [n.value for n in notes] == ["SetChargingProfile Rejected", "MeterValues for unknown connector 7"]
    assert unknown == 1
    assert still.accepted


def _meter_values(connector_id: int) -> Any:
    from ocpp.v16 import call
    return call.MeterValues(connector_id=connector_id, meter_value=[{
        "timestamp": "2026-12-07T20:00:00Z", "sampled_value": [{"value": "1.0", "measurand": "Power.Active.Import"}]}])


def test_a_reconnect_storm_ends_with_one_live_session() -> None:
    async def scenario() -> tuple[int, CommandResult, int]:
        async with charging_site() as loop:
            await loop.until(lambda: bool(loop.values("cp1.P_ev")))
            storm = [await raw_charge_point(f"{loop.central.url}/cp1") for _ in range(30)]
            for connection in storm:
                await connection.close()
            await loop.until(lambda: loop.emulator.connections > 1 and "cp1" in loop.central.sessions
                             and loop.emulator.session is not None and loop.emulator.reported.get(1) is not None)
            result = await accepted_after_reconnects(loop.device, limit(2500))
            return loop.central.counters.replaced, result, len(loop.central.sessions)
    replaced, result, sessions = asyncio.run(scenario())
    assert replaced >= 30  # every storm connection replaced the one before
    assert result.accepted and result.in_force["maxPower"] == pytest.approx(2500)
    assert sessions == 1


async def accepted_after_reconnects(device: OcppConnector, order: Command, timeout_s: float = 10.0) -> CommandResult:
    """The command, sent again while the charge point's connection is being replaced (ConnectionError)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        try:
            return await device.write(order)
        except ConnectionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.1)


def test_a_charger_clock_that_is_off_is_corrected() -> None:
    async def scenario() -> tuple[list[Reading], CommandResult, list[Any], list[Reading], Any]:
        async with charging_site(EmulatorFaults(clock_offset_s=-7200, sync_clock=False)) as loop:
            await loop.until(lambda: len(loop.values("cp1.P_ev")) >= 2)
            powers = [r for r in loop.readings if r.datastream == "cp1.P_ev"]
            notes = [r for r in loop.readings if r.datastream == "cp1.ocppLink"]
            result = await loop.device.write(limit(3000))  # an Absolute profile in the charger's time
            loop.readings.clear()
            await loop.until(lambda: len(loop.values("cp1.P_ev")) >= 3)
            return powers, result, loop.values("cp1.P_ev"), notes, loop.clock.now()
    powers, result, after, notes, now = asyncio.run(scenario())
    assert all(abs((r.time - now).total_seconds()) < 600 for r in powers)  # not two hours back
    assert "chargerTime" in powers[-1].parameters and powers[-1].parameters["clockOffset_s"] < -7000
    assert result.accepted and after[-1] == pytest.approx(3000.0)
    assert [n.value for n in notes] == ["charger clock off by -7200 s: its times are corrected"]


def test_readings_of_a_disconnected_charge_point_raise_connection_error() -> None:
    async def scenario() -> None:
        async with charging_site() as loop:
            other = OcppConnector("cp5", ocpp_settings("cp5", {}), loop.clock, loop.central)
            await other.start()
            assert isinstance(other.state, ConnectorState)
            with pytest.raises(ConnectionError, match="not connected"):
                await other.read()
            with pytest.raises(ConnectionError):
                await other.write(Command("cp5", "x", {"maxPower": 1000}))
            await other.stop()
    asyncio.run(scenario())


@pytest.mark.parametrize("offered", [None, ["ocpp2.0.1"]])
def test_a_connection_without_the_ocpp16_subprotocol_is_refused(offered: list[str] | None) -> None:
    async def scenario() -> int:
        async with charging_site() as loop:
            protocols = [Subprotocol(p) for p in offered] if offered else None
            with pytest.raises(InvalidStatus) as refused:
                await connect(f"{loop.central.url}/cp1", subprotocols=protocols, open_timeout=5)
            await loop.until(lambda: len(loop.values("cp1.P_ev")) >= 1)  # the charger is still served
            return refused.value.response.status_code
    assert asyncio.run(scenario()) == 400


def test_the_runtime_restarting_the_connector_does_not_shut_the_charger_out() -> None:
    """The host stops a connector whose read failed (the charger is not connected yet) and starts it again
    after a back-off: the shared CSMS lingers, the charge point connects and boots meanwhile."""
    async def scenario() -> tuple[bool, list[Reading], bool]:
        clock = AcceleratedClock(START, 20.0)
        port = free_port()
        device = build_ocpp("cp1", {"listen_port": port, "timeout_s": 5}, clock)
        await device.start()
        with pytest.raises(ConnectionError):
            await device.read()
        await device.stop()  # the host's reaction to the failed read
        emulator = EmulatedChargePoint(f"ws://127.0.0.1:{port}", "cp1", charger(), clock, meter_interval_s=2.0)
        running = asyncio.create_task(emulator.run(backoff_s=0.05, backoff_max_s=0.5))
        try:
            deadline = asyncio.get_running_loop().time() + 10
            while emulator.reported.get(1) is None and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.05)
            await device.start()  # after the back-off
            readings = await device.read()
            result = await device.write(limit(3000))
            assert device.central is not None
            return device.central.session("cp1").booted, readings, result.accepted
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
            await device.stop()
            await CENTRAL_SYSTEMS.close_all()
    booted, readings, accepted = asyncio.run(scenario())
    assert booted and accepted
    assert "Preparing" in [r.value for r in readings]  # sent while the connector was stopped, kept


def test_a_cancellation_lost_while_an_answer_arrives_still_cancels_the_caller() -> None:
    """On 3.11 the library's `wait_for` can drop a cancellation that meets the answer (CPython gh-86296);
    the next call's answer re-raises it, so an emulator or a connector cancelled then still stops."""
    async def swallowed_then_call(loop: Any) -> str:
        asyncio.current_task().cancel()  # type: ignore[union-attr]
        with contextlib.suppress(asyncio.CancelledError):  # lost, as wait_for loses it (no uncancel)
            await asyncio.sleep(0)
        try:
            await loop.emulator.session.heartbeat()
        except asyncio.CancelledError:
            return "cancelled"
        return "carried on"

    async def scenario() -> str:
        async with charging_site() as loop:
            await loop.until(lambda: loop.emulator.session is not None and bool(loop.values("cp1.P_ev")))
            return await asyncio.create_task(swallowed_then_call(loop))
    assert asyncio.run(scenario()) == "cancelled"
