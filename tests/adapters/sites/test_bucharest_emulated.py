"""Issue 16 "Done when" (Bucharest-like prosumer): the site runs from sites/bucharest-prosumer.yaml with
SMX_DEVICES=emulated against the energy-router emulator (IEC 61850 MMS) and two DLMS meters (PCC, AC loads)
and a real server; every telemetry Datastream of D3.1 T15/T19 gets Observations at its declared period
with its unit, and the powers follow the consumer convention (P_grid = P_load + P_ac of the router)."""
from __future__ import annotations

import asyncio
import dataclasses
import pathlib
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.iec61850.emulator import RouterEmulator, build_router
from adapters.iec61850.router import EnergyRouter
from adapters.simulated.load import LoadSpec, load_power_w
from agents.cli import connector_choice, site_parts
from agents.commissioning import commission
from agents.runtime import RuntimeOptions, SiteRuntime
from agents.site import ConnectorSpec, SiteSpec
from clock import AcceleratedClock, Clock
from sta_client import StaClient
from tests.adapters.sites.meters import LinkedMeter, StoppableMeter
from tests.adapters.sites.observed import SiteObservations, check_periods, moment, nearest, until
from tests.agents.commission.conftest import example_site
from tests.client.conftest import RunningServer, client_database_url, sta_broker, sta_process  # noqa: F401

START = datetime(2026, 6, 21, 9, 30, tzinfo=UTC)  # Bucharest, noon in June: the router's PV produces
FACTOR = 2.5
PERIOD_S = 5.0  # every device's telemetry_s in the site file
UNITS = {"P_grid": "W", "A_plus": "kWh", "A_minus": "kWh", "P_load": "W", "load_meter_A_plus": "kWh",
         "load_meter_A_minus": "kWh", "P_ess": "W", "SoC": "%", "P_pv": "W", "P_ac": "W", "V_dc": "V",
         "P_dc_link": "W", "P_dc_setpoint": "W"}
MULTI_UNITS = {"V_grid": "V", "load_meter_V": "V", "P_grid_phases": "W"}
ENOUGH = 6


@dataclasses.dataclass
class Devices:
    router: EnergyRouter
    emulator: RouterEmulator
    meters: dict[str, StoppableMeter]


async def start_devices(clock: Clock) -> Devices:
    options = connector_choice(example_site("bucharest-prosumer").device("er"), emulated=True)[1]
    router = build_router(clock, float(str(options["max_capacity_wh"])), float(str(options["max_power_w"])))
    emulator = RouterEmulator(router)
    await emulator.start()
    load = LoadSpec(3000.0, seed=40)

    def router_ac() -> float:
        return float(router.values()["MMXU1.TotW.mag.f"])

    sources = {"load-meter": lambda: load_power_w(load, clock.now()),
               "meter": lambda: load_power_w(load, clock.now()) + router_ac()}
    meters = {key: StoppableMeter(LinkedMeter(source, clock)) for key, source in sources.items()}
    for meter in meters.values():
        await meter.start()
    return Devices(router, emulator, meters)


def site_against(devices: Devices) -> SiteSpec:
    """sites/bucharest-prosumer.yaml, every connector pointed at its emulator, no plug-ins."""
    site = example_site("bucharest-prosumer")
    replaced = []
    for device in site.devices:
        if device.connector is None:
            replaced.append(device)
            continue
        options = dict(device.connector.options)
        if device.key == "er":
            options["emulated"] = {**options["emulated"], "port": devices.emulator.port}
        else:
            options["emulated"] = {**options["emulated"], "port": devices.meters[device.key].port, "timeout_s": 1.0}
        replaced.append(dataclasses.replace(device, connector=ConnectorSpec(device.connector.kind, options)))
    return dataclasses.replace(site, devices=tuple(replaced), plugins=())


def test_bucharest_prosumer_site_against_its_emulators(sta_process: RunningServer,  # noqa: F811
                                                       tmp_path: pathlib.Path) -> None:
    clock = AcceleratedClock(START, FACTOR)

    async def scenario() -> dict[str, Any]:
        devices = await start_devices(clock)
        site = site_against(devices)
        client = StaClient(sta_process.settings())
        ids = await asyncio.to_thread(commission, site, client, clock.now())
        server = SiteObservations(client, ids)
        runtime = SiteRuntime(clock, sta_process.settings(), site_parts(site, ids, clock, emulated=True),
                              RuntimeOptions(tmp_path / "site.sqlite"))
        running = asyncio.create_task(runtime.run())
        try:
            rows = await until(lambda: server.at_least([*UNITS, *MULTI_UNITS, "erMode"], ENOUGH), 180,
                               f"{ENOUGH} Observations on every telemetry stream")
            return {"rows": rows, "units": await asyncio.to_thread(server.units, [*UNITS, *MULTI_UNITS]),
                    "status": await asyncio.to_thread(server.rows, "meterStatus")}
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
            client.close()
            await devices.emulator.stop()
            for meter in devices.meters.values():
                await meter.stop()

    got = asyncio.run(scenario())
    assert got["units"] == {**UNITS, **{key: {symbol} for key, symbol in MULTI_UNITS.items()}}
    check_periods(got["rows"], PERIOD_S)
    check_consumer_convention(got["rows"])
    assert got["status"][-1]["result"] == "ok"


def check_consumer_convention(rows: dict[str, list[dict[str, Any]]]) -> None:
    """The router's PV generates (< 0), the house consumes (> 0), and the PCC meter sees the loads plus
    the router's AC power."""
    for row in rows["P_grid"][1:-1]:
        when: datetime = moment(row)
        parts = {key: nearest(rows[key], when, PERIOD_S) for key in ("P_load", "P_ac", "P_pv", "P_ess")}
        assert parts["P_pv"] < -500 and parts["P_load"] > 0, parts
        assert row["result"] == pytest.approx(parts["P_load"] + parts["P_ac"], abs=0.05 * abs(parts["P_pv"]) + 200)
    for row in rows["P_grid_phases"]:  # T19 "P×3": the PCC meter's per-phase powers add up to its P_grid
        assert len(row["result"]) == 3
        assert sum(row["result"]) == pytest.approx(nearest(rows["P_grid"], moment(row), 0.5), abs=5)
    assert all(row["result"] in (1, 2, 3, 4, 5) for row in rows["erMode"])
