"""The DLMS meter emulator's household on the grid simulation's physics (pure: the feed's values set as the
server would give them): the PCC power is the shares of the bus's load and PV, the phase voltages sag/rise
around the bus voltage; a key left to the meter's own model, and stale values, fall back to it. The
command line's physics option. With a real server and simulation: tests/district/test_district_report.py."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.dlms.emulator import build_meter, main, physics_options
from adapters.dlms.meter import NOMINAL_V
from adapters.simulated.load import load_power_w
from adapters.simulated.physics_feed import PhysicsFeed, PhysicsOptions
from clock import SteppedClock

NOON = datetime(2026, 6, 21, 12, tzinfo=UTC)


def fed(options: PhysicsOptions, at: datetime) -> PhysicsFeed:
    feed = PhysicsFeed(options)
    feed._values = {"physics.P_pv": (at, -20000.0), "physics.P_load": (at, 3000.0), "physics.V": (at, 238.0)}
    return feed


def test_the_meter_measures_the_house_share_of_the_bus_at_the_bus_voltage() -> None:
    clock = SteppedClock(NOON + timedelta(minutes=5))
    meter = build_meter(clock, 4500, 5, 11, physics=fed(PhysicsOptions("fur-1", pv_share=0.125, load_share=0.5), NOON))
    power = 0.5 * 3000.0 - 0.125 * 20000.0  # -1,000 W: exporting
    assert meter.power_w(clock.now()) == pytest.approx(power)
    registers = meter.registers()
    assert registers["active_export"] == pytest.approx(1000.0) and registers["active_import"] == 0.0
    mean_v = (registers["voltage_l1"] + registers["voltage_l2"] + registers["voltage_l3"]) / 3
    assert mean_v == pytest.approx(238.0 - 0.15 * power / 3 / NOMINAL_V + (0.4 - 0.3 + 0.1) / 3)


def test_own_keys_and_stale_values_fall_back_to_the_meter_s_models() -> None:
    clock = SteppedClock(NOON + timedelta(minutes=5))
    own_pv = build_meter(clock, 4500, 0, 11,
                         physics=fed(PhysicsOptions("fur-2", load_share=0.5, own=frozenset({"physics.P_pv"})), NOON))
    assert own_pv.power_w(clock.now()) == pytest.approx(1500.0)  # no own PV (0 kWp), the load's share
    stale = build_meter(clock, 4500, 0, 11, physics=fed(PhysicsOptions("fur-1", max_age_s=60), NOON))
    assert stale.power_w(clock.now()) == pytest.approx(load_power_w(stale.spec.load, clock.now()))
    registers = stale.registers()
    assert abs(registers["voltage_l1"] - NOMINAL_V) < 5  # around 230 V, not the stale 238 V
    assert stale.physics is not None and stale.physics.counters["stale:physics.P_load"] >= 1


def test_the_command_line_names_the_site_and_its_shares(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[PhysicsOptions | None] = []

    async def serve(args: object, clock: object) -> None:
        seen.append(physics_options(args))  # type: ignore[arg-type]

    monkeypatch.setattr("adapters.dlms.emulator.serve", serve)
    main(["--port", "0", "--physics-site", "fur-2", "--load-share", "0.435", "--own", "physics.P_pv"])
    main(["--port", "0"])
    assert seen == [PhysicsOptions("fur-2", load_share=0.435, own=frozenset({"physics.P_pv"})), None]
