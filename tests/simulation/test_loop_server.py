"""The closed loop against a real server: a site's battery power read through sta_client goes into the
power flow, voltages, loadings and losses come back as Observations with the FeatureOfInterest of
their bus or line (found with st_within), phase voltages as a MultiDatastream, a device without a bus
is reported in the status Observation, commissioning is idempotent, and `run` steps on the clock."""
from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from clock import SteppedClock
from simulation.commission import commission
from simulation.geometry import LonLat
from simulation.grid import GridModel, Injection
from simulation.loop import ClosedLoop, LoopSettings
from sta_client import EntityId, Query, StaClient, entity_path, string_literal
from tests.client.conftest import RunningServer, client_database_url, sta_broker, sta_process  # noqa: F401

T0 = datetime(2026, 6, 21, 11, 0, tzinfo=UTC)
FUR = LonLat(8.9871, 56.8312)
OM = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"


def op_id(sta: StaClient, key: str) -> EntityId:
    definition = f"urn:s4g:op:{key}"
    found = list(sta.iter("ObservedProperties", Query().filter(f"definition eq {string_literal(definition)}")))
    if found:
        existing: EntityId = found[0]["@iot.id"]
        return existing
    return sta.create("ObservedProperties", {"name": key, "definition": definition, "description": key})


def device(sta: StaClient, site_id: str, key: str, kind: str, op: str, where: LonLat) -> EntityId:
    """A device Thing at a position with its power Datastream; returns the Datastream's id."""
    body = {"name": f"{site_id}/{key}", "description": kind, "properties": {"siteId": site_id, "key": key,
                                                                           "kind": kind},
            "Locations": [{"name": f"{site_id}/{key}", "description": "position",
                           "encodingType": "application/geo+json",
                           "location": {"type": "Point", "coordinates": [where.lon, where.lat]}}],
            "Datastreams": [{"name": f"{site_id}/{key} power", "description": "power", "observationType": OM,
                             "unitOfMeasurement": {"name": "watt", "symbol": "W", "definition": "ucum:W"},
                             "properties": {"siteId": site_id, "key": "P"},
                             "ObservedProperty": {"@iot.id": op_id(sta, op)},
                             "Sensor": {"name": f"{site_id}/{key}", "description": "test", "encodingType": "text/plain",
                                        "metadata": "test"}}]}
    thing = sta.create("Things", body)
    stream: EntityId = sta.page(entity_path("Things", thing, "Datastreams")).values[0]["@iot.id"]
    return stream


@pytest.fixture()
def site(sta_process: RunningServer) -> tuple[str, EntityId]:  # noqa: F811
    """A Fur-like house on bus 7 (the property on its site Thing) with a battery discharging 3 kW, and
    a charger of another site with no bus, far from the grid (Bucharest)."""
    site_id = f"sim-house-{uuid.uuid4().hex[:8]}"
    with StaClient(sta_process.settings()) as sta:
        sta.create("Things", {"name": site_id, "description": "site", "properties": {
            "siteId": site_id, "key": "site", "kind": "site", "bus": "7"}})
        battery = device(sta, site_id, "ess", "ess", "ess-power", FUR)
        assert sta.create_observations(battery, ["phenomenonTime", "result"],
                                       [[(T0 - timedelta(minutes=5)).isoformat(), -3000.0]]) != ["error"]
        device(sta, f"{site_id}-lost", "cp", "chargepoint", "ev-power", LonLat(26.0494, 44.4386))
    return site_id, battery


def loop_for(sta: StaClient, site_id: str) -> ClosedLoop:
    model = GridModel.load("fur", FUR, label=f"fur-{site_id}")
    settings = LoopSettings(site_ids=frozenset({site_id, f"{site_id}-lost"}))
    return ClosedLoop(model, sta, settings)


def latest(sta: StaClient, path: str) -> dict[str, Any]:
    query = Query().orderby("phenomenonTime desc").top(1).expand("FeatureOfInterest")
    rows: list[dict[str, Any]] = sta.page(f"{path}/Observations", query).values
    assert rows, f"no Observations in {path}"
    return rows[0]


def test_a_step_uses_the_battery_and_writes_queryable_results(sta_process: RunningServer,  # noqa: F811
                                                              site: tuple[str, EntityId]) -> None:
    site_id, _ = site
    with StaClient(sta_process.settings()) as sta:
        loop = loop_for(sta, site_id)
        ids = loop.setup()
        result = loop.step(T0)
        assert result.status == "ok"
        from simulation.devices import latest_power_w
        assert [latest_power_w(sta, d, T0, timedelta(hours=1)) for d in loop.devices] == [-3000.0, None]
        assert loop.counters["stale_readings"] == 0
        direct = GridModel.load("fur")
        assert result.vm_pu == pytest.approx(direct.run_step(T0, [Injection(7, -3000.0)]).vm_pu, abs=1e-9)
        assert result.vm_pu[7] > direct.run_step(T0).vm_pu[7]

        voltage = latest(sta, entity_path("Datastreams", ids.datastreams["bus7.vm"]))
        assert voltage["result"] == pytest.approx(result.vm_pu[7], abs=1e-6)
        assert voltage["FeatureOfInterest"]["feature"]["type"] == "Point"
        loading = latest(sta, entity_path("Datastreams", ids.datastreams["line0.loading"]))
        assert loading["result"] == pytest.approx(result.line_loading_pct[0], abs=1e-5)
        assert loading["FeatureOfInterest"]["feature"]["type"] == "LineString"
        phases = latest(sta, entity_path("MultiDatastreams", ids.multidatastreams["bus7.V"]))
        assert phases["result"] == pytest.approx([result.vm_pu[7] * 400 / 3 ** 0.5] * 3, abs=1e-2)

        status = latest(sta, entity_path("Datastreams", ids.datastreams["grid.status"]))
        assert status["result"] == "ok"
        assert status["parameters"]["devicesWithoutBus"] == [f"{site_id}-lost/cp"]
        assert status["parameters"]["counters"]["thing_without_bus"] == 1
        assert status["parameters"]["devices"] == 1


def test_bus_observations_are_found_with_st_within(sta_process: RunningServer,  # noqa: F811
                                                   site: tuple[str, EntityId]) -> None:
    site_id, _ = site
    with StaClient(sta_process.settings()) as sta:
        loop = loop_for(sta, site_id)
        ids = loop.setup()
        loop.step(T0)
        point = loop.model.points[7]
        d = 1e-4
        ring = ", ".join(f"{x} {y}" for x, y in ((point.lon - d, point.lat - d), (point.lon + d, point.lat - d),
                                                 (point.lon + d, point.lat + d), (point.lon - d, point.lat + d),
                                                 (point.lon - d, point.lat - d)))
        query = Query().filter(f"st_within(FeatureOfInterest/feature, geography'POLYGON(({ring}))')")
        rows = list(sta.iter(entity_path("Things", ids.thing, "Datastreams"),
                             Query().filter(f"Observations/any(o: st_within(o/FeatureOfInterest/feature, "
                                            f"geography'POLYGON(({ring}))'))").select("properties")))
        assert [row["properties"]["key"] for row in rows] == ["bus7.vm"]
        observations = list(sta.iter(entity_path("Datastreams", ids.datastreams["bus7.vm"], "Observations"), query))
        assert len(observations) == 1


def test_commissioning_twice_creates_nothing(sta_process: RunningServer,  # noqa: F811
                                             site: tuple[str, EntityId]) -> None:
    site_id, _ = site
    with StaClient(sta_process.settings()) as sta:
        loop = loop_for(sta, site_id)
        first = loop.setup()
        second = commission(sta, loop.model, [7])
        assert (second.thing, second.datastreams, second.multidatastreams, second.features) == (
            first.thing, first.datastreams, first.multidatastreams, first.features)
        count = sta.get(entity_path("Things", first.thing, "Datastreams"), Query().count().top(0))["@iot.count"]
        assert count == len(first.datastreams) == 14 + 13 * 3 + 6
        sta.delete(entity_path("Datastreams", first.datastreams["bus3.vm"]))
        third = commission(sta, loop.model, [7, 3])
        assert third.datastreams["bus3.vm"] != first.datastreams["bus3.vm"]
        assert {k: v for k, v in third.datastreams.items() if k != "bus3.vm"} == {
            k: v for k, v in first.datastreams.items() if k != "bus3.vm"}
        assert set(third.multidatastreams) == {"bus7.V", "bus3.V"}


async def until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not await asyncio.to_thread(condition):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.1)


def test_run_steps_on_the_clock_and_a_gap_is_a_status(sta_process: RunningServer,  # noqa: F811
                                                      site: tuple[str, EntityId]) -> None:
    site_id, _ = site
    with StaClient(sta_process.settings()) as sta:
        loop = loop_for(sta, site_id)
        ids = loop.setup()
        gap_row = loop.model.profiles.row_of(T0 + timedelta(minutes=15))
        loop.model.profiles.sgen_p_mw.iloc[gap_row or 0, 0] = float("nan")
        clock = SteppedClock(T0)
        stop = asyncio.Event()
        status_path = entity_path("Datastreams", ids.datastreams["grid.status"], "Observations")

        def statuses() -> list[str]:
            rows = sta.iter(status_path, Query().orderby("phenomenonTime asc").select("result"))
            return [str(row["result"]) for row in rows]

        def written(count: int) -> Callable[[], bool]:
            return lambda: len(statuses()) == count

        async def scenario() -> None:
            running = asyncio.create_task(loop.run(clock, stop))
            for step in (1, 2, 3):
                await until(written(step), 30, f"step {step}")
                await clock.advance(900)
            stop.set()
            await clock.advance(900)
            await asyncio.wait_for(running, 30)

        asyncio.run(scenario())
        assert statuses()[:3] == ["ok", "gap", "ok"]
        assert loop.counters["profile_gaps"] == 1
