"""Issue 16 "Done when" (Bolzano-like residential): the site runs from sites/bolzano-residential.yaml with
SMX_DEVICES=emulated against the Fronius, DLMS and OCPP emulators and a real server; every telemetry
Datastream of D3.1 T16/T17/T18/RemoteUSM gets Observations at its declared period (on the clock) with its
unit, the powers follow the consumer convention (P_grid = P_load + P_pv + P_ess + P_ev), and a meter
switched off mid-run is reported unreachable while the other devices go on, then recovers."""
from __future__ import annotations

import asyncio
import pathlib
from typing import Any

import pytest

from adapters.ocpp.csms import CENTRAL_SYSTEMS
from adapters.ocpp.emulator import EmulatedChargePoint
from agents.cli import site_parts
from agents.commissioning import commission
from agents.runtime import RuntimeOptions, SiteRuntime
from clock import AcceleratedClock
from sta_client import StaClient
from tests.adapters.ocpp.emulated import free_port
from tests.adapters.sites.bolzano import START, Devices, site_against, start_devices, stop_devices
from tests.adapters.sites.meters import StoppableMeter
from tests.adapters.sites.observed import SiteObservations, check_periods, moment, nearest, until
from tests.client.conftest import RunningServer, client_database_url, sta_broker, sta_process  # noqa: F401

FACTOR = 2.5  # clock seconds per real second: a 5-s telemetry period is 2 real seconds
PERIOD_S = 5.0  # every device's telemetry_s in the site file
UNITS = {"P_grid": "W", "Q_grid": "var", "A_plus": "kWh", "A_minus": "kWh", "P_ess": "W", "SoC": "%", "P_pv": "W",
         "P_load": "W", "cp1.P_ev": "W", "cp1.V_ev": "V", "cp1.SoC_ev": "%", "P_ev_meter": "W", "P_pv_meter": "W",
         "P_ess_meter": "W", **{f"{m}_meter_A_{s}": "kWh" for m in ("ev", "pv", "ess") for s in ("plus", "minus")}}
MULTI_UNITS = {"V_grid": "V", "ev_meter_V": "V", "pv_meter_V": "V", "ess_meter_V": "V"}
ENOUGH = 6  # Observations per stream before the checks


async def outage(server: SiteObservations, devices: Devices, clock: AcceleratedClock) -> dict[str, Any]:
    """Switch the PCC meter off; the host says so, the battery keeps reporting; switch it on again."""
    meter = devices.meters["meter"]
    await meter.stop()
    stopped_at = clock.now()
    down = await until(lambda: server.after("meterStatus", stopped_at, lambda r: r.startswith("unreachable")), 60,
                       "the meter reported unreachable")
    others = await until(lambda: [r for r in server.after("P_ess", moment(down[0]))][2:], 60,
                         "the battery publishing during the outage")
    devices.meters["meter"] = StoppableMeter(meter.model, port=meter.port)
    await devices.meters["meter"].start()
    restarted_at = clock.now()
    back = await until(lambda: server.after("meterStatus", restarted_at, lambda r: r == "ok"), 90, "the meter back")
    fresh = await until(lambda: server.after("P_grid", restarted_at, lambda r: True), 60, "P_grid again")
    return {"down": down[0], "others": others, "back": back[0], "fresh": fresh, "stopped_at": stopped_at}


def test_bolzano_residential_site_against_its_emulators(sta_process: RunningServer,  # noqa: F811
                                                        tmp_path: pathlib.Path) -> None:
    clock = AcceleratedClock(START, FACTOR)
    csms_port = free_port()

    async def scenario() -> dict[str, Any]:
        devices = await start_devices(clock)
        site = site_against(devices, csms_port)
        client = StaClient(sta_process.settings())
        ids = await asyncio.to_thread(commission, site, client, clock.now())
        server = SiteObservations(client, ids)
        runtime = SiteRuntime(clock, sta_process.settings(), site_parts(site, ids, clock, emulated=True),
                              RuntimeOptions(tmp_path / "site.sqlite"))
        running = asyncio.create_task(runtime.run())
        wall_box = EmulatedChargePoint(f"ws://127.0.0.1:{csms_port}", "cp1", devices.charger, clock,
                                       meter_interval_s=PERIOD_S)
        charging = asyncio.create_task(wall_box.run(backoff_s=0.1, backoff_max_s=1.0))
        try:
            rows = await until(lambda: server.at_least([*UNITS, *MULTI_UNITS], ENOUGH), 180,
                               f"{ENOUGH} Observations on every telemetry stream")
            units = await asyncio.to_thread(server.units, [*UNITS, *MULTI_UNITS])
            return {"rows": rows, "units": units, "outage": await outage(server, devices, clock)}
        finally:
            charging.cancel()
            running.cancel()
            await asyncio.gather(charging, running, return_exceptions=True)
            await CENTRAL_SYSTEMS.close_all()
            client.close()
            await stop_devices(devices)

    got = asyncio.run(scenario())
    check_units_and_periods(got["units"], got["rows"])
    check_consumer_convention(got["rows"])
    check_outage(got["outage"])


def check_units_and_periods(units: dict[str, Any], rows: dict[str, list[dict[str, Any]]]) -> None:
    assert units == {**UNITS, **{key: {symbol} for key, symbol in MULTI_UNITS.items()}}
    check_periods(rows, PERIOD_S)


def check_consumer_convention(rows: dict[str, list[dict[str, Any]]]) -> None:
    """Noon in June: the PV generates (< 0), the EV and the battery consume (> 0), and the PCC meter
    sees the sum of the parts; each sub-meter agrees with its device's own report."""
    for row in rows["P_grid"][1:-1]:
        when = moment(row)
        parts = {key: nearest(rows[key], when, PERIOD_S) for key in ("P_load", "P_pv", "P_ess", "cp1.P_ev")}
        assert parts["P_pv"] < -1000 and parts["cp1.P_ev"] > 1000 and parts["P_load"] > 0, parts
        assert row["result"] == pytest.approx(sum(parts.values()), abs=0.05 * abs(parts["P_pv"]) + 200), parts
        assert nearest(rows["P_pv_meter"], when, PERIOD_S) == pytest.approx(parts["P_pv"], rel=0.05, abs=100)
        assert nearest(rows["P_ess_meter"], when, PERIOD_S) == pytest.approx(parts["P_ess"], rel=0.05, abs=100)
        assert nearest(rows["P_ev_meter"], when, PERIOD_S) == pytest.approx(parts["cp1.P_ev"], rel=0.05, abs=100)
    assert all(row["result"] > 0 for row in rows["SoC"]) and all(len(row["result"]) == 3 for row in rows["V_grid"])


def check_outage(found: dict[str, Any]) -> None:
    assert found["down"]["result"].startswith("unreachable")
    assert len(found["others"]) >= 1  # the battery's readings went on while the meter was away
    assert found["back"]["result"] == "ok" and found["fresh"]
