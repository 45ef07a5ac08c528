"""The hybrid inverter (the Fronius and SunSpec emulators' device) on the grid simulation's physics (pure: the
feed's values set as the server would give them): its PV and house load are the shares of the bus's, its
voltage the bus's; stale values and keys left to it fall back to its own models (counted). The Fronius
emulator's command line and Solar API with the feed. With a real server and simulation:
tests/district/test_district_report.py (the DLMS meters and houses of the district)."""
from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.fronius.emulator import FroniusEmulator
from adapters.simulated.load import load_power_w
from adapters.simulated.physics_feed import PhysicsFeed, add_physics_arguments, physics_option
from adapters.simulated.pv import pv_power_w
from adapters.sunspec.hybrid import build_hybrid
from clock import SteppedClock

NOON = datetime(2026, 6, 21, 12, tzinfo=UTC)
HOUSE = {"pv_kwp": 5, "max_capacity_wh": 4500, "max_power_w": 2400, "annual_kwh": 4500, "seed": 11,
         "latitude_deg": 56.83, "longitude_deg": 8.99}


def fed(physics: dict[str, Any], clock: SteppedClock) -> Any:
    inverter = build_hybrid({**HOUSE, "physics": {"source": "simulation", "site": "fur-1", **physics}}, clock)
    assert isinstance(inverter.physics, PhysicsFeed)
    inverter.physics._values = {"physics.P_pv": (NOON, -20000.0), "physics.P_load": (NOON, 3000.0),
                                "physics.V": (NOON, 238.0)}
    return inverter


def test_pv_load_and_voltage_follow_the_feed_times_the_shares() -> None:
    clock = SteppedClock(NOON + timedelta(minutes=5))
    inverter = fed({"pv_share": 0.125, "load_share": 0.5}, clock)
    assert inverter.physics is not None
    inverter.physics.counters.clear()  # built before the first read: counted stale then
    state = inverter.advance()
    assert state.pv_w == pytest.approx(-2500.0) and state.load_w == pytest.approx(1500.0)
    assert state.voltages_v == (238.0, 238.4, 237.7)
    # self-consumption on the simulation's values: the battery takes the 1,000 W surplus
    assert inverter.battery.setpoint_w == pytest.approx(1000.0)
    assert not +inverter.physics.counters


def test_stale_values_and_own_keys_fall_back_to_the_inverter_s_models() -> None:
    clock = SteppedClock(NOON + timedelta(minutes=5))
    stale = fed({"max_age_s": 60}, clock)
    state = stale.advance()
    now = clock.now()
    assert state.pv_w == pytest.approx(round(pv_power_w(stale.pv, now), 1))
    assert state.load_w == pytest.approx(round(load_power_w(stale.load, now), 1))
    assert abs(state.voltages_v[0] - 230.0) < 5  # the own model around 230 V, not the stale 238 V
    assert stale.physics is not None and stale.physics.counters["stale:physics.P_pv"] >= 1
    assert stale.physics.counters["stale:physics.P_load"] >= 1
    own_pv = fed({"load_share": 0.5, "own": ["physics.P_pv"]}, clock)
    state = own_pv.advance()
    assert state.pv_w == pytest.approx(round(pv_power_w(own_pv.pv, now), 1)) and state.pv_w < -1000
    assert state.load_w == pytest.approx(1500.0)


def test_the_fronius_emulator_serves_the_simulated_pv_and_load() -> None:
    clock = SteppedClock(NOON + timedelta(minutes=1))
    emulator = FroniusEmulator(fed({"pv_share": 0.125, "load_share": 0.5}, clock), clock)
    status, body = emulator.answer("/solar_api/v1/GetPowerFlowRealtimeData.fcgi")
    site = json.loads(body)["Body"]["Data"]["Site"]
    assert status == 200 and site["P_PV"] == pytest.approx(2500.0) and site["P_Load"] == pytest.approx(-1500.0)


def test_the_command_line_gives_the_site_file_s_physics_option() -> None:
    parser = argparse.ArgumentParser()
    add_physics_arguments(parser)
    args = parser.parse_args(["--physics-site", "fur-2", "--load-share", "0.435", "--own", "physics.P_pv"])
    assert physics_option(args) == {"source": "simulation", "site": "fur-2", "pv_share": None, "load_share": 0.435,
                                    "own": ["physics.P_pv"], "refresh_s": 60.0}
    assert physics_option(parser.parse_args([])) is None
