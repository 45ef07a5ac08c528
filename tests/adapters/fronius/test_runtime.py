"""Issue 16 "Done when" (Fronius): the Bolzano residential site runs from its site file with
SMX_DEVICES=emulated against the Fronius emulator and a real server; an ESS set-point Task ends as model
124's register values on the emulator within one LESSAg command cycle and is acknowledged from the
read-back (`P_dc_setpoint` = what the inverter reports, with the Task's id)."""
from __future__ import annotations

import asyncio
import dataclasses
import pathlib
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from adapters.fronius.emulator import FroniusEmulator
from adapters.sunspec.hybrid import build_hybrid
from agents.cli import connector_choice, site_parts
from agents.commissioning import SiteIds, commission
from agents.runtime import RuntimeOptions, SiteRuntime
from agents.site import ConnectorSpec, DeviceKind, SiteSpec
from clock import SteppedClock
from sta_client import Query, StaClient
from tests.adapters.sunspec.emulated import START
from tests.agents.commission.conftest import example_site
from tests.client.conftest import RunningServer, client_database_url, sta_broker, sta_process  # noqa: F401

CYCLE_S = 60


def residential_site(emulator: FroniusEmulator) -> SiteSpec:
    """sites/bolzano-residential.yaml with an id of its own, its ESS's emulated connector pointed at this
    emulator's ports, the charge point and the LEVChAg left out (other adapters' business)."""
    site = example_site("bolzano-residential")
    devices = []
    for device in site.devices:
        if device.kind is DeviceKind.CHARGEPOINT:
            continue
        if device.key == "ess" and device.connector is not None:
            emulated = {**device.connector.options["emulated"], "url": emulator.url,
                        "modbus_port": emulator.modbus_port, "timeout_s": 2.0}
            connector = ConnectorSpec(device.connector.kind, {**device.connector.options, "emulated": emulated})
            devices.append(dataclasses.replace(device, connector=connector))
            continue
        devices.append(device)
    plugins = tuple(p for p in site.plugins if p.kind == "lessag")
    return dataclasses.replace(site, devices=tuple(devices), plugins=plugins)


async def until(condition: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (found := await asyncio.to_thread(condition)):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.2)
    return found


def stepper(clock: SteppedClock, runtime: SiteRuntime) -> Callable[[], Awaitable[None]]:
    """Advance the clock by one telemetry period and wait for the poll it makes (real I/O takes real time,
    a stepped clock would otherwise run past it)."""
    async def step() -> None:
        polls = runtime.host.counters.polls
        await clock.advance(5)
        await until(lambda: runtime.host.counters.polls > polls, 15, "the poll")
    return step


def observations(client: StaClient, stream_id: int | str) -> list[dict[str, Any]]:
    query = Query().select("phenomenonTime", "result", "parameters").orderby("phenomenonTime asc").top(1000)
    return list(client.iter(f"Datastreams({stream_id})/Observations", query))


def matching(client: StaClient, stream_id: int | str, keep: Callable[[dict[str, Any]], bool]) -> Callable[[], Any]:
    return lambda: [o for o in observations(client, stream_id) if keep(o)]


async def drive(clock: SteppedClock, runtime: SiteRuntime, client: StaClient, ids: SiteIds,
                emulator: FroniusEmulator) -> dict[str, Any]:
    """Telemetry flowing, a set-point Task, one LESSAg cycle; what the server and the emulator then hold."""
    await until(runtime.session.connected.is_set, 15, "the MQTT connection")
    step = stepper(clock, runtime)
    for _ in range(4):
        await step()
    task_id = await asyncio.to_thread(client.create_task, ids.capabilities["ess_setpoint"], {
        "powerSetpoint": -2000, "priority": 10, "startTime": (START - timedelta(minutes=1)).isoformat()})
    acks = await until(matching(client, ids.datastreams["setpointAccepted"],
                                lambda o: o["parameters"].get("taskId") == task_id), 60, "the Task's acceptance")
    asked_at = clock.now()
    for _ in range(CYCLE_S // 5):  # one LESSAg cycle at 5-s telemetry
        await step()
    registers = emulator.sunspec.models[124]
    written = (registers.StorCtl_Mod.value, registers.InWRte.cvalue, registers.OutWRte.cvalue)
    in_force = await until(matching(client, ids.datastreams["P_dc_setpoint"],
                                    lambda o: o["parameters"].get("taskId") == task_id), 60, "the set-point in force")
    for _ in range(3):  # two full telemetry intervals under the new set-point
        await step()
    measured = await until(matching(client, ids.datastreams["P_ess"], lambda o: o["result"] < -1990), 60,
                           "the battery discharging")
    return {"ack": acks[0], "asked_at": asked_at, "written": written, "in_force": in_force[0],
            "measured": measured[0], "wchamax": emulator.inverter.wchamax_w}


def test_ess_setpoint_task_ends_in_the_inverter_registers(sta_process: RunningServer,  # noqa: F811
                                                          tmp_path: pathlib.Path) -> None:
    clock = SteppedClock(START)

    async def scenario() -> dict[str, Any]:
        ess_options = connector_choice(example_site("bolzano-residential").device("ess"), emulated=True)[1]
        emulator = FroniusEmulator(build_hybrid(ess_options, clock), clock)
        await emulator.start()
        site = residential_site(emulator)
        client = StaClient(sta_process.settings())
        ids = await asyncio.to_thread(commission, site, client, clock.now())
        runtime = SiteRuntime(clock, sta_process.settings(), site_parts(site, ids, clock, emulated=True),
                              RuntimeOptions(tmp_path / "site.sqlite"))
        running = asyncio.create_task(runtime.run())
        try:
            return await drive(clock, runtime, client, ids, emulator)
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
            client.close()
            await emulator.stop()

    got = asyncio.run(scenario())
    assert got["ack"]["result"] is True
    mode, in_pct, out_pct = got["written"]
    assert mode == 3 and in_pct == pytest.approx(-2000 / got["wchamax"] * 100, abs=0.01) and out_pct == -in_pct
    assert got["in_force"]["result"] == pytest.approx(-2000, abs=0.64)  # read back from model 124
    set_at = datetime.fromisoformat(got["in_force"]["phenomenonTime"].replace("Z", "+00:00"))
    assert (set_at - got["asked_at"]).total_seconds() <= CYCLE_S  # within one command cycle
    assert got["measured"]["result"] == pytest.approx(-2000, abs=1)  # and the Solar API shows it
