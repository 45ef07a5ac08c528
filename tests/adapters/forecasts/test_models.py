"""The pure models: PV (pvlib chain, parameters from Thing properties, cloud scaling), load
(seasonal naive, standard-profile fallback, DST), EV aggregate, and the run checks."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from adapters.forecasts.ev import EvDistributions, EvParameterError, ev_forecast_w
from adapters.forecasts.load import load_forecast_w, profile_w
from adapters.forecasts.pv import PvParameterError, PvParams, cloud_cover_ghi_w_m2, prepare_weather, pv_power_w
from adapters.forecasts.runs import ForecastError, ForecastRun, check_run, day_steps, rows_of, run_id
from adapters.forecasts.weather import Weather, parse_open_meteo
from tests.adapters.forecasts.conftest import fixture_json, fixture_path

PV_BAND = 0.05
FUR_PV = PvParams(5.0, 35.0, 180.0, 14.0)
EMPTY = pd.Series([], index=pd.DatetimeIndex([], tz="UTC"), dtype="float64")


def _fur_day_w() -> pd.Series:
    weather = parse_open_meteo(fixture_json("open_meteo_fur_2026-06-20.json"))
    day = pd.date_range("2026-06-21T00:00Z", periods=24, freq="h")
    frame = weather.frame.loc[day]
    return pv_power_w(prepare_weather(Weather(weather.latitude, weather.longitude, weather.elevation_m,
                                              weather.step, frame)), FUR_PV)


def test_pv_energy_on_the_clear_sky_day_is_within_the_band_of_the_simulated_actual() -> None:
    forecast_kwh = _fur_day_w().sum() / 1000.0
    measured = pd.read_csv(fixture_path("pv_measured_fur_2026-06-21.csv"), index_col=0)["power_w"]
    actual_kwh = measured.sum() * (5 / 60) / 1000.0
    assert abs(forecast_kwh - actual_kwh) / actual_kwh <= PV_BAND, (forecast_kwh, actual_kwh)


def test_pv_power_is_zero_at_night_and_bounded_by_the_system() -> None:
    power = _fur_day_w()
    assert (power >= 0).all() and power.max() <= 5000
    assert power.iloc[0] == 0.0 and power.iloc[23] == 0.0 and power.idxmax().hour in (10, 11, 12)


def test_pv_parameters_come_from_thing_properties() -> None:
    params = PvParams.from_properties({"peakPower_kWp": 10, "tilt_deg": 20, "azimuth_deg": 90, "losses_pct": 10})
    assert params == PvParams(10.0, 20.0, 90.0, 10.0)
    assert PvParams.from_properties({"maxPower_W": 5000}).kwp == 5.0


@pytest.mark.parametrize("properties", [{}, {"peakPower_kWp": -1}, {"peakPower_kWp": 5, "tilt_deg": 120},
                                        {"peakPower_kWp": 5, "losses_pct": 100}])
def test_pv_properties_that_describe_no_system_are_refused(properties: dict[str, float]) -> None:
    with pytest.raises(PvParameterError):
        PvParams.from_properties(properties)


def test_cloud_cover_scaling_is_kasten_czeplak() -> None:
    clear = pd.Series([800.0, 800.0, 800.0])
    scaled = cloud_cover_ghi_w_m2(clear, pd.Series([0.0, 50.0, 100.0]))
    assert scaled.tolist() == pytest.approx([800.0, 800 * (1 - 0.75 * 0.5 ** 3.4), 200.0])


def test_pv_from_cloud_cover_alone_uses_the_scaled_clear_sky() -> None:
    weather = parse_open_meteo(fixture_json("open_meteo_fur_2026-06-20.json"))
    frame = weather.frame.loc["2026-06-21"].drop(columns=["ghi_w_m2"])
    only_cloud = Weather(weather.latitude, weather.longitude, weather.elevation_m, weather.step, frame)
    overcast = Weather(weather.latitude, weather.longitude, weather.elevation_m, weather.step,
                       frame.assign(cloud_cover_pct=100.0))
    clear_kwh = pv_power_w(prepare_weather(only_cloud), FUR_PV).sum() / 1000
    overcast_kwh = pv_power_w(prepare_weather(overcast), FUR_PV).sum() / 1000
    assert abs(clear_kwh - _fur_day_w().sum() / 1000) / clear_kwh < 0.03  # the fixture day is clear
    assert overcast_kwh < 0.4 * clear_kwh


def test_load_is_seasonal_naive_in_local_wall_time_across_dst() -> None:
    steps = day_steps(date(2026, 3, 29), "Europe/Rome", timedelta(hours=1))  # 23 hours
    week_ago = day_steps(date(2026, 3, 22), "Europe/Rome", timedelta(hours=1))
    history = pd.Series([100.0 * local.hour for local in week_ago.tz_convert("Europe/Rome")], index=week_ago)
    forecast = load_forecast_w(history, steps, "Europe/Rome")
    assert len(forecast) == 23
    assert [v / 100 for v in forecast] == [float(t.hour) for t in steps.tz_convert("Europe/Rome")]


def test_load_falls_back_to_the_previous_day_then_to_the_profile() -> None:
    steps = day_steps(date(2026, 6, 21), "Europe/Copenhagen", timedelta(hours=1))
    yesterday = steps - timedelta(days=1)
    history = pd.Series(700.0, index=yesterday[:12])
    forecast = load_forecast_w(history, steps, "Europe/Copenhagen", annual_kwh=3500)
    assert (forecast.iloc[:12] == 700.0).all()
    assert forecast.iloc[12:].tolist() == pytest.approx(profile_w(steps, "Europe/Copenhagen", 3500).iloc[12:].tolist())


def test_the_standard_profile_sums_to_the_annual_consumption() -> None:
    year = pd.date_range("2026-01-01T00:00", "2027-01-01T00:00", freq="h", inclusive="left", tz="Europe/Rome")
    energy_kwh = profile_w(year.tz_convert("UTC"), "Europe/Rome", 3500).sum() / 1000
    assert energy_kwh == pytest.approx(3500, rel=0.01)


def test_an_empty_history_gives_the_profile() -> None:
    steps = day_steps(date(2026, 10, 25), "Europe/Rome", timedelta(hours=1))
    forecast = load_forecast_w(EMPTY, steps, "Europe/Rome")
    assert len(forecast) == 25 and forecast.notna().all() and (forecast > 0).all()


def test_ev_aggregate_peaks_in_the_evening_and_carries_the_energy() -> None:
    steps = day_steps(date(2026, 6, 21), "Europe/Rome", timedelta(minutes=15))
    ev = EvDistributions(vehicles=22, charger_kw=7.0, energy_kwh=9.35)
    power = ev_forecast_w(ev, steps, "Europe/Rome")
    assert 18 <= power.idxmax().tz_convert("Europe/Rome").hour <= 21
    assert power.sum() * 0.25 / 1000 == pytest.approx(22 * 9.35, rel=0.02)
    assert power.max() <= 22 * 7000


def test_ev_distributions_from_properties_are_checked() -> None:
    assert EvDistributions.from_properties({"evForecast": {"vehicles": "3"}}).vehicles == 3
    site_file = EvDistributions.from_properties({"evForecast": {"arrival_std_h": 2.0, "battery_kwh": 20}})
    assert (site_file.arrival_sd_h, site_file.energy_kwh) == (2.0, 10.0)
    with pytest.raises(EvParameterError):
        EvDistributions.from_properties({"evForecast": {"charger_kw": 0}})
    with pytest.raises(EvParameterError):
        EvDistributions.from_properties({"evForecast": {"vehicles": "many"}})


@pytest.mark.parametrize(("day", "zone", "hours"), [(date(2026, 3, 29), "Europe/Rome", 23),
                                                    (date(2026, 10, 25), "Europe/Bucharest", 25),
                                                    (date(2026, 6, 21), "Europe/Copenhagen", 24)])
def test_a_local_day_has_23_24_or_25_hours(day: date, zone: str, hours: int) -> None:
    assert len(day_steps(day, zone, timedelta(hours=1))) == hours
    assert len(day_steps(day, zone, timedelta(minutes=15))) == hours * 4


def test_run_rows_carry_interval_issue_time_and_run_id() -> None:
    issued = datetime(2026, 6, 20, 20, tzinfo=UTC)
    index = pd.date_range("2026-06-20T22:00Z", periods=2, freq="h")
    run = ForecastRun("pv", "P_pv_forecast", issued, timedelta(hours=1), pd.Series([-1.0, -2.0], index=index), "w")
    check_run(run)
    assert rows_of(run)[1] == ["2026-06-20T23:00:00Z/2026-06-21T00:00:00Z", -2.0, "2026-06-20T20:00:00Z",
                               {"run": "pv@2026-06-20T20:00:00Z", "source": "w"}]
    assert run.run_id == run_id("pv", issued)


@pytest.mark.parametrize("values", [pd.Series([1.0, np.nan]), pd.Series([1.0, np.inf])])
def test_runs_with_nan_or_infinite_steps_are_refused(values: pd.Series) -> None:
    values.index = pd.date_range("2026-06-20T22:00Z", periods=2, freq="h")
    with pytest.raises(ForecastError, match="finite"):
        check_run(ForecastRun("pv", "k", datetime(2026, 6, 20, tzinfo=UTC), timedelta(hours=1), values))


def test_runs_with_irregular_steps_are_refused() -> None:
    index = pd.DatetimeIndex(["2026-06-20T22:00Z", "2026-06-21T00:00Z"])
    with pytest.raises(ForecastError, match="regular"):
        check_run(ForecastRun("pv", "k", datetime(2026, 6, 20, tzinfo=UTC), timedelta(hours=1),
                              pd.Series([1.0, 2.0], index=index)))


def test_the_fleet_computation_equals_the_modelchain() -> None:
    from adapters.forecasts.pv_fleet import pv_fleet_w

    weather = parse_open_meteo(fixture_json("open_meteo_fur_2026-06-20.json"))
    frame = weather.frame.loc["2026-06-20T12:00Z":"2026-06-22T12:00Z"]
    inputs = prepare_weather(Weather(weather.latitude, weather.longitude, weather.elevation_m, weather.step, frame))
    systems = [PvParams(3.0 + i, 10.0 + 8 * i, 100.0 + 30 * i, 10.0 + i, 2.5 if i == 2 else None) for i in range(6)]
    for fleet, params in zip(pv_fleet_w(inputs, systems), systems, strict=True):
        reference = pv_power_w(inputs, params)
        assert (fleet.index == reference.index).all()
        assert np.abs(fleet - reference).max() < 0.5  # W
    assert pv_fleet_w(inputs, systems)[2].max() <= 2500.0  # the AC limit holds


def test_pv_energy_is_within_the_band_of_the_fur_house_emulator() -> None:
    """Against the PV the Fur house's `simulated-house` connector emulates (adapters/simulated/pv.py,
    5 kWp at the site's position), integrated minute by minute over the clear-sky fixture day."""
    from adapters.simulated.pv import PvSpec
    from adapters.simulated.pv import pv_power_w as emulated_w

    spec = PvSpec(5.0, 56.8312, 8.9871)
    start = datetime(2026, 6, 21, tzinfo=UTC)
    emulated_kwh = -sum(emulated_w(spec, start + timedelta(minutes=i, seconds=30)) for i in range(1440)) / 60 / 1000
    forecast_kwh = _fur_day_w().sum() / 1000.0
    assert abs(forecast_kwh - emulated_kwh) / emulated_kwh <= PV_BAND, (forecast_kwh, emulated_kwh)
