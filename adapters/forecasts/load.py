"""Household/site load forecast: seasonal-naive over the site's own history, with a standard-profile
fallback.

- Seasonal naive (weekly season): the forecast for a step is the site's mean load at the same
  *local* wall time seven days earlier (so a DST change keeps 19:00 at 19:00); steps whose week-ago
  value is missing fall back to the previous day's same wall time, then to the standard profile.
- Standard profile: `data/h0_like_profile.csv`, an hourly shape in the manner of the BDEW H0
  household profile (winter 1 Nov–20 Mar, summer 15 May–14 Sep, transition otherwise; workday,
  Saturday, Sunday), hand-written for this project (not the BDEW table) and scaled so that a year of
  it sums to the site's annual consumption (`annualConsumption_kWh`, 3,500 kWh by default).
"""
from __future__ import annotations

import csv
import functools
import pathlib
from datetime import date, timedelta

import numpy as np
import pandas as pd

PROFILE_FILE = pathlib.Path(__file__).parent / "data" / "h0_like_profile.csv"
DEFAULT_ANNUAL_KWH = 3500.0
_PROFILE_YEAR = 2026


@functools.cache
def standard_profile() -> dict[tuple[str, str], tuple[float, ...]]:
    """(season, day type) → 24 hourly values, in W per 1,000 kWh/a before scaling."""
    with PROFILE_FILE.open(newline="") as handle:
        return {(row["season"], row["day_type"]): tuple(float(row[f"h{h:02d}"]) for h in range(24))
                for row in csv.DictReader(handle)}


def season_of(day: date) -> str:
    """The H0 season of a day (BDEW's boundaries)."""
    md = (day.month, day.day)
    if md >= (11, 1) or md <= (3, 20):
        return "winter"
    if (5, 15) <= md <= (9, 14):
        return "summer"
    return "transition"


def day_type_of(day: date) -> str:
    return {5: "saturday", 6: "sunday"}.get(day.weekday(), "workday")


def profile_w(times_utc: pd.DatetimeIndex, zone: str, annual_kwh: float = DEFAULT_ANNUAL_KWH) -> pd.Series:
    """The standard profile at these step starts (the local hour's value), in W for `annual_kwh`."""
    local = times_utc.tz_convert(zone)
    table = standard_profile()
    raw = np.array([table[(season_of(t.date()), day_type_of(t.date()))][t.hour] for t in local])
    return pd.Series(raw * annual_kwh / _profile_year_kwh(), index=times_utc)


def load_forecast_w(history_w: pd.Series, times_utc: pd.DatetimeIndex, zone: str,
                    annual_kwh: float = DEFAULT_ANNUAL_KWH) -> pd.Series:
    """Mean load (W) per step starting at `times_utc`, from `history_w` (mean W per step, indexed by
    step start, UTC; may be empty) — see the module doc for the rule and its fallbacks."""
    history = history_w.dropna()
    history = history[~history.index.duplicated(keep="last")]
    forecast = pd.Series(np.nan, index=times_utc, dtype="float64")
    for days in (7, 1):
        earlier = _same_wall_time(times_utc, zone, days)
        known = history.reindex(earlier).to_numpy()
        forecast = forecast.fillna(pd.Series(known, index=times_utc))
    fallback = profile_w(times_utc, zone, annual_kwh)
    return forecast.fillna(fallback).clip(lower=0.0).rename("load_w")


def _same_wall_time(times_utc: pd.DatetimeIndex, zone: str, days: int) -> pd.DatetimeIndex:
    local = times_utc.tz_convert(zone).tz_localize(None) - timedelta(days=days)
    return local.tz_localize(zone, ambiguous="NaT", nonexistent="NaT").tz_convert("UTC")


@functools.cache
def _profile_year_kwh() -> float:
    """The raw profile's energy over a whole year (kWh), the scale's denominator."""
    table = standard_profile()
    total_wh = 0.0
    day = date(_PROFILE_YEAR, 1, 1)
    while day.year == _PROFILE_YEAR:
        total_wh += sum(table[(season_of(day), day_type_of(day))])
        day += timedelta(days=1)
    return total_wh / 1000.0
