"""EV sessions read from a charge point's status and power Observations."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from controllers.gevchcon.sessions import EvAssumptions, PointReadings, delivered_wh, estimate, plugged_since

T0 = datetime(2026, 12, 6, 18, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_the_plug_in_is_the_start_of_the_last_non_idle_run() -> None:
    statuses = [(at(0), "Charging"), (at(5), "Available"), (at(10), "Available"), (at(15), "Charging"),
                (at(20), "SuspendedEVSE"), (at(25), "Charging")]
    assert plugged_since(statuses) == at(15)
    assert plugged_since([*statuses, (at(30), "Available")]) is None
    assert plugged_since([]) is None


def test_delivered_energy_integrates_the_mean_powers_since_the_plug_in() -> None:
    powers = [(at(0), 5000.0), (at(15), 6000.0), (at(30), 7000.0), (at(60), 0.0)]
    # each reading is the mean over the interval it ends: 6 kW for 0-15, 7 kW for 15-30, 0 for 30-60
    assert delivered_wh(powers, at(0)) == pytest.approx(6000 / 4 + 7000 / 4 + 0)


def test_an_estimate_assumes_the_need_and_the_departure_of_the_site() -> None:
    point = PointReadings("cp1", 7400, [(at(0), "Available"), (at(15), "Charging"), (at(30), "Charging")],
                          [(at(15), 0.0), (at(30), 4000.0)])
    ev = estimate(point, at(30), EvAssumptions(energy_need_wh=9000, departure_h=7.5))
    assert ev is not None and ev.plugged_since == at(15)
    assert ev.remaining_wh == pytest.approx(9000 - 1000)
    assert ev.departure == datetime(2026, 12, 7, 7, 30, tzinfo=UTC)


def test_an_overstaying_ev_gets_more_time_and_a_full_one_needs_nothing() -> None:
    morning = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    point = PointReadings("cp1", 7400, [(at(0), "Charging"), (morning, "SuspendedEV")], [])
    ev = estimate(point, morning, EvAssumptions(departure_h=7.0, overstay_s=1800))
    assert ev is not None and ev.departure == morning + timedelta(minutes=30)
    assert ev.full and ev.remaining_wh == 0
