"""EV sessions and the simulated charge point."""
from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest

from adapters.simulated.ev import ChargePoint, EvFleetSpec, EvSession, draw_sessions, expected_load_profile_w

T0 = datetime(2026, 6, 1, 17, tzinfo=UTC)


def _run(point: ChargePoint, start: datetime, hours: float, step_s: int = 10) -> list[float]:
    powers = []
    for n in range(int(hours * 3600 / step_s)):
        point.advance_to(start + timedelta(seconds=(n + 1) * step_s))
        powers.append(point.power_w)
    return powers


def test_sessions_are_reproducible_and_plausible() -> None:
    first = draw_sessions(EvFleetSpec(), random.Random(3), date(2026, 6, 1), 60)
    again = draw_sessions(EvFleetSpec(), random.Random(3), date(2026, 6, 1), 60)
    assert first == again
    assert 40 <= len(first) <= 60
    arrivals_h = [s.arrival.hour + s.arrival.minute / 60 for s in first]
    assert 17.5 < sum(arrivals_h) / len(arrivals_h) < 20
    assert all(s.departure > s.arrival and s.energy_need_wh <= 18_700 for s in first)


def test_a_car_charges_its_need_then_stops() -> None:
    session = EvSession(T0 + timedelta(hours=1), T0 + timedelta(hours=14), 7_400, 7_400)
    point = ChargePoint(11_000, [session], T0)
    powers = _run(point, T0, 4)
    assert powers[0] == 0.0 and point.status() == "SuspendedEV"
    assert sum(powers) * 10 / 3600 == pytest.approx(7_400)
    assert max(powers) == pytest.approx(7_400)


def test_a_load_reduction_limit_caps_the_power() -> None:
    session = EvSession(T0, T0 + timedelta(hours=14), 10_000, 7_400)
    point = ChargePoint(7_400, [session], T0)
    assert point.set_limit(2_000) == 2_000
    powers = _run(point, T0, 1)
    assert max(powers) == pytest.approx(2_000)
    assert point.status() == "Charging"
    point.set_limit(0)
    _run(point, T0 + timedelta(hours=1), 0.1)
    assert point.power_w == 0.0 and point.status() == "SuspendedEVSE"


def test_the_car_leaves_and_the_point_is_available() -> None:
    session = EvSession(T0, T0 + timedelta(hours=1), 50_000, 7_400)
    point = ChargePoint(7_400, [session], T0)
    _run(point, T0, 2)
    assert point.status() == "Available" and point.power_w == 0.0


def test_the_expected_profile_peaks_in_the_evening() -> None:
    start = datetime(2026, 6, 2, tzinfo=UTC)
    profile = expected_load_profile_w(EvFleetSpec(), 7_400, start, 900, 96, random.Random(1), draws=50)
    assert len(profile) == 96
    evening = max(profile[72:88])  # 18:00-22:00
    assert evening > 2 * max(profile[40:60])  # 10:00-15:00
    assert all(0 <= p <= 7_400 for p in profile)
