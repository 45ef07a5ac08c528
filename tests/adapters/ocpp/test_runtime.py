"""Issue 16 "Done when" (OCPP): the Bolzano residential site runs from its site file with
SMX_DEVICES=emulated, its wall box an emulated OCPP 1.6J charge point connected to the CSMS of the field
process, against a real server. An EV load-reduction Task on `cp1.ev_load_reduction` is accepted by the
LEVChAg, ends as a charging profile the charger accepted and shows in force (GetCompositeSchedule), and
the charger's power, as Observations from MeterValues, drops to the limit."""
from __future__ import annotations

import asyncio
import dataclasses
import pathlib
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from adapters.ocpp.csms import CENTRAL_SYSTEMS
from adapters.ocpp.emulator import EmulatedChargePoint
from agents.cli import site_parts
from agents.commissioning import commission
from agents.runtime import RuntimeOptions, SiteRuntime
from agents.site import ConnectorSpec, DeviceKind, SiteSpec
from clock import AcceleratedClock
from sta_client import Query, StaClient
from tests.adapters.ocpp.emulated import START, charger, free_port
from tests.agents.commission.conftest import example_site
from tests.client.conftest import RunningServer, client_database_url, sta_broker, sta_process  # noqa: F401

LIMIT_W = 3000.0


def residential_site(port: int) -> SiteSpec:
    """sites/bolzano-residential.yaml with an id of its own: the wall box's emulated (OCPP) connector on
    `port`, the ESS simulated, no meters (a simulated meter cannot measure an OCPP charger), only the
    LEVChAg (a short cycle, a cheap forecast)."""
    site = example_site("bolzano-residential")
    devices = []
    for device in site.devices:
        if device.connector is None or device.kind is DeviceKind.METER:  # meters measure the wall box: none here
            devices.append(dataclasses.replace(device, connector=None))
            continue
        options = dict(device.connector.options)
        if device.kind is DeviceKind.CHARGEPOINT:
            options["emulated"] = {**options["emulated"], "listen_port": port, "telemetry_s": 2}
        else:
            options.pop("emulated", None)
        devices.append(dataclasses.replace(device, connector=ConnectorSpec(device.connector.kind, options)))
    plugins = tuple(dataclasses.replace(p, options={**p.options, "cycle_s": 10, "forecast_draws": 2})
                    for p in site.plugins if p.kind == "levchag")
    return dataclasses.replace(site, devices=tuple(devices), plugins=plugins)


async def until(condition: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (found := await asyncio.to_thread(condition)):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.3)
    return found


def observations(client: StaClient, stream_id: int | str) -> list[dict[str, Any]]:
    query = Query().select("phenomenonTime", "result", "parameters").orderby("phenomenonTime asc").top(1000)
    return list(client.iter(f"Datastreams({stream_id})/Observations", query))


def after(rows: list[dict[str, Any]], moment: datetime) -> list[dict[str, Any]]:
    return [o for o in rows if datetime.fromisoformat(o["phenomenonTime"].replace("Z", "+00:00")) > moment]


def test_ev_load_reduction_task_ends_as_a_profile_in_force_and_the_power_drops(
        sta_process: RunningServer, tmp_path: pathlib.Path) -> None:  # noqa: F811
    clock = AcceleratedClock(START, 10.0)
    port = free_port()

    async def scenario() -> dict[str, Any]:
        site = residential_site(port)
        client = StaClient(sta_process.settings())
        ids = await asyncio.to_thread(commission, site, client, clock.now())
        runtime = SiteRuntime(clock, sta_process.settings(), site_parts(site, ids, clock, emulated=True),
                              RuntimeOptions(tmp_path / "site.sqlite"))
        running = asyncio.create_task(runtime.run())
        emulator = EmulatedChargePoint(f"ws://127.0.0.1:{port}", "cp1", charger(), clock, meter_interval_s=2.0)
        charging = asyncio.create_task(emulator.run(backoff_s=0.1, backoff_max_s=1.0))
        power_stream = ids.datastreams["cp1.P_ev"]
        try:
            await until(runtime.session.connected.is_set, 15, "the MQTT connection")
            await until(lambda: [o for o in observations(client, power_stream) if o["result"] > 7000], 60,
                        "the EV charging at full power")
            asked_at = clock.now()
            task_id = await asyncio.to_thread(client.create_task, ids.capabilities["cp1.ev_load_reduction"], {
                "startTime": (asked_at - timedelta(minutes=1)).isoformat(), "maxPowerProfile": [LIMIT_W] * 4})
            acks = await until(lambda: [o for o in observations(client, ids.datastreams["setpointAccepted"])
                                        if o["parameters"].get("taskId") == task_id], 60, "the Task's acceptance")
            reduced = await until(lambda: [o for o in after(observations(client, power_stream), asked_at)
                                           if o["result"] <= LIMIT_W], 60, "the power at the limit")
            status = observations(client, ids.datastreams["cp1.ocppLink"])
            return {"ack": acks[0], "reduced": reduced, "profiles": list(emulator.charger.profiles.values()),
                    "sent": runtime.parts.plugins[0].sent, "status": status}  # type: ignore[attr-defined]
        finally:
            charging.cancel()
            running.cancel()
            await asyncio.gather(charging, running, return_exceptions=True)
            await CENTRAL_SYSTEMS.close_all()
            client.close()

    got = asyncio.run(scenario())
    assert got["ack"]["result"] is True
    assert [(p.purpose, p.unit, p.periods[0][:2]) for p in got["profiles"]] == [("TxDefaultProfile", "W", (0, LIMIT_W))]
    assert got["sent"]["cp1"] == (LIMIT_W, True)  # the LEVChAg's command came back accepted (read back)
    assert got["reduced"][-1]["result"] == pytest.approx(LIMIT_W)
    assert got["status"][-1]["result"] == "ok"  # the host's status of the OCPP link (unreachable until it came)
