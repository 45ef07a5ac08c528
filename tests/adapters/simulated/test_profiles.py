"""PV and household load profiles: shapes, energies, determinism."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.simulated.load import H0_HOURLY, LoadSpec, load_power_w
from adapters.simulated.pv import PvSpec, pv_power_w

JUNE = datetime(2026, 6, 21, tzinfo=UTC)
DECEMBER = datetime(2026, 12, 21, tzinfo=UTC)


def _day(start: datetime, step_min: int = 5) -> list[datetime]:
    return [start + timedelta(minutes=m) for m in range(0, 24 * 60, step_min)]


def test_pv_generates_by_day_and_not_at_night() -> None:
    spec = PvSpec(kwp=6)
    assert pv_power_w(spec, JUNE.replace(hour=0)) == 0.0
    noon = pv_power_w(spec, JUNE.replace(hour=11, minute=24))  # solar noon at 9 deg E
    assert -6_000 < noon < -3_500


def test_a_june_day_yields_more_than_a_december_day() -> None:
    spec = PvSpec(kwp=6)
    june_wh = -sum(pv_power_w(spec, t) for t in _day(JUNE)) * 5 / 60
    december_wh = -sum(pv_power_w(spec, t) for t in _day(DECEMBER)) * 5 / 60
    assert 30_000 < june_wh < 45_000  # ~6 kWh per kWp on a clear June day at 55 N
    assert december_wh < june_wh / 5


def test_clouds_damp_the_output() -> None:
    noon = JUNE.replace(hour=11)
    assert pv_power_w(PvSpec(kwp=6, cloudiness=1.0), noon) == pytest.approx(0.25 * pv_power_w(PvSpec(kwp=6), noon))


def test_the_h0_shape_has_mean_one() -> None:
    assert sum(H0_HOURLY) / 24 == pytest.approx(1.0)


def test_a_year_of_load_is_near_its_annual_energy() -> None:
    spec = LoadSpec(annual_kwh=4000, seasonal_amplitude=0.2)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    hours = [start + timedelta(hours=h, minutes=30) for h in range(8760)]
    assert sum(load_power_w(spec, t) for t in hours) / 1000 == pytest.approx(4000, rel=0.01)


def test_load_noise_is_reproducible_by_seed() -> None:
    times = _day(JUNE, 1)
    first = [load_power_w(LoadSpec(seed=7), t) for t in times]
    again = [load_power_w(LoadSpec(seed=7), t) for t in times]
    other = [load_power_w(LoadSpec(seed=8), t) for t in times]
    assert first == again
    assert first != other
    assert min(first) > 0
