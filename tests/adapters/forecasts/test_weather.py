"""Weather parsing (pure): Open-Meteo JSON in GMT, local time across DST and unixtime; EPW via pvlib;
and the bad inputs: missing hours, NaN, negative irradiance, empty series, impossible local times."""
from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any

import pandas as pd
import pytest

from adapters.forecasts.runs import day_steps
from adapters.forecasts.weather import MAX_GAP_STEPS, WeatherDataError, parse_open_meteo, read_epw_weather
from tests.adapters.forecasts.conftest import fixture_json, fixture_path

FUR = "open_meteo_fur_2026-06-20.json"
BOLZANO_AUTUMN = "open_meteo_bolzano_2026-10-24.json"
BUCHAREST_SPRING = "open_meteo_bucharest_2026-03-28.json"


def _with(name: str, variable: str, changes: dict[int, Any]) -> dict[str, Any]:
    document = copy.deepcopy(fixture_json(name))
    for index, value in changes.items():
        document["hourly"][variable][index] = value
    return document


def test_open_meteo_values_become_steps_starting_an_hour_before_their_label() -> None:
    document = fixture_json(FUR)
    weather = parse_open_meteo(document)
    assert weather.frame.index[0] == pd.Timestamp("2026-06-20T00:00Z")  # labelled 01:00: the hour before
    assert weather.frame["ghi_w_m2"].iloc[12] == document["hourly"]["shortwave_radiation"][12]
    assert (weather.latitude, weather.longitude, weather.step) == (56.8, 8.9, timedelta(hours=1))
    assert set(weather.frame.columns) == {"ghi_w_m2", "temp_air_c", "cloud_cover_pct"}


def test_local_times_across_the_autumn_change_give_25_steps_on_that_day() -> None:
    weather = parse_open_meteo(fixture_json(BOLZANO_AUTUMN))
    steps = day_steps(date(2026, 10, 25), "Europe/Rome", weather.step)
    assert len(steps) == 25
    assert steps.isin(weather.frame.index).all() and weather.frame.index.is_unique


def test_unixtime_across_the_spring_change_gives_23_steps_on_that_day() -> None:
    weather = parse_open_meteo(fixture_json(BUCHAREST_SPRING))
    steps = day_steps(date(2026, 3, 29), "Europe/Bucharest", weather.step)
    assert len(steps) == 23 and steps.isin(weather.frame.index).all()


def test_a_local_time_that_does_not_exist_is_an_error() -> None:
    document = copy.deepcopy(fixture_json(BOLZANO_AUTUMN))
    document["timezone"] = "Europe/Rome"
    document["hourly"]["time"][5] = "2026-03-29T02:30"  # skipped by the spring change
    with pytest.raises(WeatherDataError, match="do not exist|ambiguous"):
        parse_open_meteo(document)


def test_short_gaps_of_nan_are_interpolated() -> None:
    document = _with(FUR, "shortwave_radiation", {30: None, 31: None})
    original = fixture_json(FUR)["hourly"]["shortwave_radiation"]
    frame = parse_open_meteo(document).frame
    assert frame["ghi_w_m2"].notna().all()
    assert min(original[29], original[32]) <= frame["ghi_w_m2"].iloc[30] <= max(original[29], original[32])


def test_missing_hours_are_filled_when_short() -> None:
    document = copy.deepcopy(fixture_json(FUR))
    for variable in document["hourly"]:
        del document["hourly"][variable][40]
    frame = parse_open_meteo(document).frame
    assert len(frame) == 72 and frame.notna().all().all()


def test_a_long_gap_is_an_error() -> None:
    document = _with(FUR, "shortwave_radiation", {i: None for i in range(30, 31 + MAX_GAP_STEPS)})
    with pytest.raises(WeatherDataError, match="gap"):
        parse_open_meteo(document)


def test_negative_irradiance_is_clipped_to_zero(caplog: pytest.LogCaptureFixture) -> None:
    frame = parse_open_meteo(_with(FUR, "shortwave_radiation", {0: -3.5, 1: -0.2})).frame
    assert frame["ghi_w_m2"].iloc[0] == 0.0 and frame["ghi_w_m2"].iloc[1] == 0.0
    assert "negative irradiance" in caplog.text


@pytest.mark.parametrize("hourly", [{}, {"time": []}, {"time": ["2026-06-20T00:00"]}])
def test_an_empty_series_is_an_error(hourly: dict[str, Any]) -> None:
    with pytest.raises(WeatherDataError):
        parse_open_meteo({"latitude": 1.0, "longitude": 2.0, "hourly": hourly})


def test_arrays_of_different_lengths_are_an_error() -> None:
    document = copy.deepcopy(fixture_json(FUR))
    document["hourly"]["cloud_cover"].pop()
    with pytest.raises(WeatherDataError, match="lengths"):
        parse_open_meteo(document)


def test_epw_through_pvlib_reader() -> None:
    weather = read_epw_weather(str(fixture_path("tmy_fur_2days.epw")), year=2026)
    assert (weather.latitude, weather.longitude) == (56.8, 8.9)
    assert weather.frame.index[0] == pd.Timestamp("2026-06-20T00:00Z") and len(weather.frame) == 48
    assert "dni_w_m2" not in weather.frame  # 9999 (missing) throughout: dropped, not NaN
    assert weather.frame["cloud_cover_pct"].max() <= 100 and weather.frame["ghi_w_m2"].max() > 500
