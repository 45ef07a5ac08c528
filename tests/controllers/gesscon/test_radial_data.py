"""Server data to the problem (pure): step grid, forecast before persistence, prices before the tariff."""
from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from controllers.gesscon import Objective
from controllers.gesscon.radial_data import EssThing, PlanSettings, RadialData, SiteData, on_grid, problem_of
from controllers.gesscon.settings import GessconSettings, SettingsError
from controllers.gesscon.snapshot import SocReading

T0 = datetime(2026, 12, 7, tzinfo=UTC)
H = timedelta(hours=1)
SETTINGS = PlanSettings(step_s=1800, hold_s=3600, tariff_import_eur_per_kwh=0.3)


def hourly(values: list[float], start: datetime = T0) -> list[tuple[datetime, float]]:
    return [(start + i * H, v) for i, v in enumerate(values)]


def test_hourly_points_hold_for_an_hour_on_a_finer_grid() -> None:
    assert on_grid(hourly([1.0, 2.0]), T0, 1800, 4, 3600) == [1.0, 1.0, 2.0, 2.0]


def test_a_gap_or_a_late_first_point_is_no_coverage() -> None:
    assert on_grid(hourly([1.0, 2.0]), T0, 1800, 5, 3600) is None
    assert on_grid(hourly([1.0], T0 + H), T0, 1800, 2, 3600) is None
    assert on_grid(None, T0, 1800, 2, 3600) is None


def radial(site: SiteData, price: list[tuple[datetime, float]] | None = None) -> RadialData:
    ess = EssThing("h1/ess", "h1", 1, {"maxCapacity_Wh": 9600, "maxPower_W": 3000}, 5, 60, 6, 7)
    return RadialData("r1", (site,), (ess,), {"h1/ess": SocReading(50.0, 30.0)}, price,
                      {"transformerLimitIn_W": 50_000})


def test_forecasts_and_prices_make_the_problem() -> None:
    site = SiteData("h1", {"contractLimitIn_W": 11000}, load_forecast=hourly([500.0] * 24), has_pv=False)
    problem, flags = problem_of(radial(site, hourly([100.0] * 24)), T0, Objective(), SETTINGS)
    assert problem.steps == 48 and problem.sites[0].load_w == (500.0,) * 48 and problem.sites[0].flags == ()
    assert problem.prices.import_eur_per_kwh == (0.1,) * 48 and problem.prices.export_eur_per_kwh == (0.0,) * 48
    assert problem.transformer_in_w == 50_000 and problem.batteries[0].soc_initial_wh == 4800 and flags == ()


def test_a_missing_forecast_uses_the_last_measured_day_and_missing_prices_the_tariff() -> None:
    site = SiteData("h1", {}, load_last_day=hourly([700.0] * 24, T0 - 24 * H), pv_forecast=None,
                    pv_last_day=hourly([-100.0] * 24, T0 - 24 * H))
    problem, flags = problem_of(radial(site), T0, Objective(), SETTINGS)
    assert problem.sites[0].load_w == (700.0,) * 48 and problem.sites[0].pv_w == (-100.0,) * 48
    assert problem.sites[0].flags == ("h1:load:persistence", "h1:pv:persistence")
    assert problem.prices.import_eur_per_kwh == (0.3,) * 48 and flags == ("price:tariff",)


def test_a_negative_price_keeps_export_at_or_below_import() -> None:
    site = SiteData("h1", {}, load_forecast=hourly([500.0] * 24), has_pv=False)
    problem, _ = problem_of(radial(site, hourly([-20.0] * 24)), T0, Objective(), SETTINGS)
    assert problem.prices.export_eur_per_kwh == (-0.02,) * 48


def test_an_unavailable_ess_is_planned_idle_and_its_flags_dropped() -> None:
    site = SiteData("h1", {}, load_forecast=hourly([500.0] * 24), has_pv=False)
    data = radial(site)
    data = RadialData(data.radial_id, data.sites, data.batteries, {}, None)
    problem, flags = problem_of(data, T0, Objective(), SETTINGS, unavailable=frozenset({"h1/ess"}))
    assert not problem.batteries[0].available and flags == ("price:tariff",)


def test_settings_come_from_the_environment() -> None:
    settings = GessconSettings.from_env({"GESSCON_RADIALS": "fur-feeder-1, r2", "GESSCON_STEP_S": "60",
                                         "GESSCON_ACK_TIMEOUT_S": "120", "GESSCON_PRICE_KEY": "price:DK-1"})
    assert settings.radials == ("fur-feeder-1", "r2") and settings.plan.step_s == 60
    assert settings.policy.ack_timeout_s == 120 and settings.price_key == "price:DK-1"
    assert (settings.voltage_export_w, settings.voltage_import_w) == (0.0, math.inf)
    banded = GessconSettings.from_env({"GESSCON_RADIALS": "r", "GESSCON_VOLTAGE_EXPORT_W": "45000",
                                       "GESSCON_VOLTAGE_PEAK_EUR_PER_KW": "3"})
    assert (banded.voltage_export_w, banded.voltage_peak_eur_per_kw) == (45_000.0, 3.0)


@pytest.mark.parametrize("env", [{}, {"GESSCON_RADIALS": "r", "GESSCON_STEP_S": "700"},
                                 {"GESSCON_RADIALS": "r", "GESSCON_LEAD_S": "soon"},
                                 {"GESSCON_RADIALS": "r", "GESSCON_VOLTAGE_EXPORT_W": "-5"}])
def test_bad_settings_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        GessconSettings.from_env(env)
