"""The simulated house's physics feed without a simulation: the option, the pure parsing of the server's answer,
and the fallback to the house's own models when the server cannot be reached (counted, never raised).
With a real server and simulation: tests/simulation/test_june_day_loop.py."""
from __future__ import annotations

import asyncio
import pathlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from adapters.simulated.connectors import SimulatedHouse, build_house
from adapters.simulated.load import load_power_w
from adapters.simulated.meter import NOMINAL_V, SimulatedMeter
from adapters.simulated.physics_feed import PhysicsFeed, PhysicsOptions, house_shares, parse_latest
from adapters.simulated.pv import pv_power_w
from clock import SteppedClock
from sta_client import ClientSettings
from tests.conftest import ROOT

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


def test_pv_and_load_shares_differ_and_own_keys_stay_with_the_house() -> None:
    found = PhysicsOptions.from_options({"physics": {"source": "simulation", "site": "fur-6", "load_share": 0.144,
                                                     "own": ["physics.P_pv"]}})
    assert found is not None
    assert (found.share_of("physics.P_pv"), found.share_of("physics.P_load"), found.share_of("physics.V")) == \
        (1.0, 0.144, 1.0)
    feed = PhysicsFeed(found)
    feed._values = {"physics.P_pv": (NOON, -10000.0), "physics.P_load": (NOON, 2000.0), "physics.V": (NOON, 236.5)}
    later = NOON + timedelta(minutes=5)
    assert feed.value("physics.P_pv", later) is None  # own PV model, not counted as stale
    assert feed.value("physics.P_load", later) == pytest.approx(288.0)
    assert feed.value("physics.V", later) == 236.5
    assert not feed.counters
    split = PhysicsOptions.from_options({"physics": {"source": "simulation", "site": "fur-4", "share": 0.5,
                                                     "pv_share": 0.217}})
    assert split is not None and (split.share_of("physics.P_pv"), split.share_of("physics.P_load")) == (0.217, 0.5)
    with pytest.raises(ValueError, match="pv_share"):
        PhysicsOptions.from_options({"physics": {"source": "simulation", "site": "fur-4", "pv_share": 1.5}})
    with pytest.raises(ValueError, match="own"):
        PhysicsOptions.from_options({"physics": {"source": "simulation", "site": "fur-4", "own": ["P_pv"]}})


def test_a_house_share_is_its_size_against_its_bus() -> None:
    # fur-4 at bus 13 of 1-LV-rural1--2-sw: 23 kW of SimBench PV, profile loads of 4,490 kWh a year
    assert house_shares(5, 4100, 23.0, 4490) == {"pv_share": 0.217, "load_share": 0.913}
    # a bus without SimBench PV: the house's own PV model, load (and voltage) from the simulation
    assert house_shares(3, 3500, 0.0, 24314) == {"load_share": 0.144, "own": ["physics.P_pv"]}
    # a house bigger than its bus's elements takes all of them
    assert house_shares(50, 9000, 23.0, 4490) == {"pv_share": 1.0, "load_share": 1.0}
    assert house_shares(5, 4000, 23.0, 0) == {"own": ["physics.P_load"], "pv_share": 0.217}


def test_the_district_houses_options_follow_the_mapping() -> None:
    """sites/district/fur-4 … fur-8: the options are house_shares of each house on its bus (docs/district.md)."""
    buses = {13: (23.0, 4490), 8: (19.0, 8083), 10: (0.0, 24314), 12: (0.0, 26937), 14: (0.0, 18940)}
    for site in ("fur-4", "fur-5", "fur-6", "fur-7", "fur-8"):
        raw = yaml.safe_load(pathlib.Path(ROOT, "sites", "district", f"{site}.yaml").read_text())
        options = next(d for d in raw["devices"] if d["key"] == "ess")["connector"]["options"]
        physics = options["physics"]
        assert (physics["source"], physics["site"]) == ("simulation", site)
        expected = house_shares(options["pv_kwp"], options["annual_kwh"], *buses[int(raw["site"]["properties"]["bus"])])
        assert {k: v for k, v in physics.items() if k not in ("source", "site")} == expected, site
