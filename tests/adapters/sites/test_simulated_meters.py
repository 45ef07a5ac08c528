"""A plain simulated run (no SMX_DEVICES) of the Bolzano and Bucharest sites: the `simulated-meter` connectors
measure the simulated devices, so every meter stream gets Observations, each meter publishing the power of what
it measures (consumer sign), and the house no longer publishes the PCC's P_grid itself."""
from __future__ import annotations

import asyncio
import pathlib
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.simulated.connectors import CONNECTOR_KINDS
from adapters.simulated.meter import SimulatedMeter, UnmeasurableDevice, link_meters
from agents.cli import site_parts
from agents.commissioning import commission
from agents.runtime import RuntimeOptions, SiteRuntime
from clock import AcceleratedClock, SteppedClock
from sta_client import StaClient
from tests.adapters.sites.observed import SiteObservations, moment, nearest, until
from tests.agents.commission.conftest import example_site
from tests.client.conftest import RunningServer, client_database_url, sta_broker, sta_process  # noqa: F401

START = datetime(2026, 6, 21, 10, 0, tzinfo=UTC)
METER_STREAMS = {
    "bolzano-residential": {"P_grid": "W", "Q_grid": "var", "A_plus": "kWh", "A_minus": "kWh", "V_grid": "V",
                            "P_ev_meter": "W", "ev_meter_V": "V", "P_pv_meter": "W", "pv_meter_V": "V",
                            "P_ess_meter": "W", "ess_meter_A_plus": "kWh", "ess_meter_V": "V", "P_ess": "W",
                            "P_pv": "W", "cp1.P_ev": "W", "P_load": "W"},
    "bolzano-commercial": {"P_grid": "W", "Q_grid": "var", "A_plus": "kWh", "V_grid": "V", "P_grid_phases": "W",
                           "P_ess": "W", "P_pv": "W", "P_load": "W", **{f"cp{n}.P_ev": "W" for n in range(1, 6)}},
    "bucharest-prosumer": {"P_grid": "W", "A_plus": "kWh", "A_minus": "kWh", "V_grid": "V", "P_grid_phases": "W",
                           "P_load": "W", "load_meter_A_plus": "kWh", "load_meter_V": "V", "P_pv": "W", "P_ess": "W"},
}


def test_a_simulated_meter_reads_the_sum_of_what_it_measures() -> None:
    clock = SteppedClock(START)
    house = CONNECTOR_KINDS["simulated-house"]("ess", {"pv_kwp": 10, "seed": 1}, clock)
    point = CONNECTOR_KINDS["simulated-chargepoint"]("cp1", {"seed": 1}, clock)
    meter = CONNECTOR_KINDS["simulated-meter"]("meter", {"measures": {"ess": "grid_power", "cp1": "power"},
                                                          "keys": {"phase_powers": "P3"}}, clock)
    assert isinstance(meter, SimulatedMeter)
    link_meters({"ess": house, "cp1": point, "meter": meter})

    async def read() -> dict[str, Any]:
        await meter.start()
        first = {r.datastream: r.value for r in await meter.read()}
        await clock.advance(3600)
        return {"first": first, "hour": {r.datastream: r.value for r in await meter.read()}}

    got = asyncio.run(read())
    expected = house.power_of("grid_power") + point.power_of("power")
    hour = got["hour"]
    assert hour["P_grid"] == pytest.approx(expected, abs=0.01) and expected < -1000  # noon in June: exporting
    assert hour["Q_grid"] < 0 and sum(hour["P3"]) == pytest.approx(expected, abs=0.01)
    assert all(225 < v < 236 for v in hour["V_grid"]) and hour["V_grid"][0] > 230.0  # export raises the voltage
    assert hour["A_minus"] == pytest.approx(got["first"]["A_minus"] + -expected / 1000, rel=1e-6)
    assert hour["A_plus"] == got["first"]["A_plus"]


def test_a_simulated_meter_of_a_device_without_a_simulated_connector_is_refused() -> None:
    meter = CONNECTOR_KINDS["simulated-meter"]("meter", {"measures": {"ess": "grid_power"}}, SteppedClock(START))
    with pytest.raises(UnmeasurableDevice, match="ess"):
        link_meters({"meter": meter})


@pytest.mark.parametrize("name", sorted(METER_STREAMS))
def test_a_simulated_run_publishes_the_meters(name: str, sta_process: RunningServer,  # noqa: F811
                                              tmp_path: pathlib.Path) -> None:
    clock = AcceleratedClock(START, 5.0)
    site = example_site(name)
    site = site.__class__(**{**site.__dict__, "plugins": ()})
    keys = METER_STREAMS[name]

    async def scenario() -> dict[str, list[dict[str, Any]]]:
        client = StaClient(sta_process.settings())
        ids = await asyncio.to_thread(commission, site, client, clock.now())
        server = SiteObservations(client, ids)
        runtime = SiteRuntime(clock, sta_process.settings(), site_parts(site, ids, clock),
                              RuntimeOptions(tmp_path / "site.sqlite"))
        running = asyncio.create_task(runtime.run())
        try:
            found: dict[str, list[dict[str, Any]]] = await until(lambda: server.at_least(keys, 4), 120,
                                                                 "4 Observations on every meter stream")
            return found
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
            client.close()

    rows = asyncio.run(scenario())
    pcc = "P_grid"
    for row in rows[pcc][1:-1]:  # the PCC meter measures the house (and the wall box): P_grid = the parts' sum
        when = moment(row)
        parts = ("P_load", "P_pv", "P_ess", *(key for key in keys if key.endswith(".P_ev")))
        total = sum(nearest(rows[key], when, 10) for key in parts)
        assert row["result"] == pytest.approx(total, abs=0.1 * abs(total) + 300), (when, total)
    assert all(len(row["result"]) == 3 for row in rows["V_grid"])
    for row in rows.get("P_grid_phases", []):  # the per-phase split adds up to the meter's total
        assert sum(row["result"]) == pytest.approx(nearest(rows[pcc], moment(row), 0.5), abs=0.01)
