"""The simulated house's physics feed without a simulation: the option, the pure parsing of the server's answer,
and the fallback to the house's own models when the server cannot be reached (counted, never raised).
With a real server and simulation: tests/simulation/test_june_day_loop.py."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.simulated.connectors import SimulatedHouse, build_house
from adapters.simulated.load import load_power_w
from adapters.simulated.meter import NOMINAL_V, SimulatedMeter
from adapters.simulated.physics_feed import PhysicsFeed, PhysicsOptions, parse_latest
from adapters.simulated.pv import pv_power_w
from clock import SteppedClock
from sta_client import ClientSettings

NOON = datetime(2026, 6, 21, 12, tzinfo=UTC)


def test_the_option_names_the_site() -> None:
    assert PhysicsOptions.from_options({"pv_kwp": 5}) is None
    assert PhysicsOptions.from_options({"physics": {"source": "own"}}) is None
    found = PhysicsOptions.from_options({"physics": {"source": "simulation", "site": "fur-1", "max_age_s": 900}})
    assert found == PhysicsOptions("fur-1", 900.0, 60.0, 1.0)
    shared = PhysicsOptions.from_options({"physics": {"source": "simulation", "site": "fur-4", "share": 0.2}})
    assert shared is not None and shared.share == 0.2
    with pytest.raises(ValueError, match="site id"):
        PhysicsOptions.from_options({"physics": {"source": "simulation"}})
    with pytest.raises(ValueError, match="share"):
        PhysicsOptions.from_options({"physics": {"source": "simulation", "site": "fur-4", "share": 0}})


def test_the_newest_values_are_parsed_by_key() -> None:
    things = [{"Datastreams": [
        {"properties": {"key": "physics.P_pv"}, "Observations": [{"phenomenonTime": "2026-06-21T12:00:00Z",
                                                                 "result": -4000.5}]},
        {"properties": {"key": "physics.V"}, "Observations": []},
        {"properties": {"key": "physics.P_load"}, "Observations": [{"phenomenonTime": "2026-06-21T12:00:00Z",
                                                                   "result": "n/a"}]},
        {"properties": {"key": "P_ess"}, "Observations": [{"phenomenonTime": "2026-06-21T12:00:00Z", "result": 1}]},
    ]}]
    assert parse_latest(things) == {"physics.P_pv": (NOON, -4000.5)}


def test_an_unreachable_server_leaves_the_house_on_its_own_models() -> None:
    unreachable = ClientSettings(base_url="http://127.0.0.1:9/v1.1", timeout_s=0.5, connect_timeout_s=0.5,
                                 retry_budget_s=0.0, max_attempts=1)

    async def scenario() -> tuple[SimulatedHouse, dict[str, Any]]:
        clock = SteppedClock(NOON)
        house = build_house("ess", {"seed": 3, "physics": {"source": "simulation", "site": "fur-1"}}, clock)
        assert house.physics is not None
        house.physics = PhysicsFeed(house.physics.options, unreachable)
        await house.start()
        await clock.advance(60)
        readings = {r.datastream: r.value for r in await house.read()}
        await house.stop()
        return house, readings

    house, readings = asyncio.run(scenario())
    moment = NOON + timedelta(seconds=60)
    assert readings["P_pv"] == pytest.approx(pv_power_w(house.pv, moment), abs=0.01)
    assert readings["P_load"] == pytest.approx(load_power_w(house.load, moment), abs=0.01)
    assert house.voltage_v() is None
    assert house.physics is not None
    assert house.physics.counters["physics_errors"] == 1
    assert house.physics.counters["stale:physics.P_pv"] >= 1 and house.physics.counters["stale:physics.P_load"] >= 1


def test_the_meter_voltage_follows_the_grid_voltage_when_given() -> None:
    meter = SimulatedMeter("meter", SteppedClock(NOON), {"ess": "grid_power"}, ohms=0.15)
    own = meter.values(-3000.0)["voltages"]
    fed = meter.values(-3000.0, grid_v=240.0)["voltages"]
    assert [round(f - o, 3) for f, o in zip(fed, own, strict=True)] == [round(240.0 - NOMINAL_V, 3)] * 3
