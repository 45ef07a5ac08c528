"""Weather inputs of the forecasts: Open-Meteo's hourly JSON and EPW/TMY files → one typed frame.

The frame (`Weather.frame`) is indexed by the UTC *start* of each step; its columns, units in names:
`ghi_w_m2` (global horizontal irradiance, mean over the step), `temp_air_c`, `cloud_cover_pct`,
and, when the source has them, `dni_w_m2`/`dhi_w_m2`. Missing columns are absent (not NaN).

Bad input, as documented in docs/forecasts.md: an empty series or one without a time axis is a
`WeatherDataError`; missing hours and NaN are filled by time interpolation when the gap is at most
`MAX_GAP_STEPS` steps, otherwise a `WeatherDataError`; negative irradiance is clipped to 0 (a
sensor/model artefact at night, logged at WARNING); local times are converted with the response's
IANA zone (the repeated hour of an autumn DST change is resolved by order; a wall time that does
not exist is an error).
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pandas as pd

log = logging.getLogger(__name__)

MAX_GAP_STEPS = 3
IRRADIANCE_COLUMNS = ("ghi_w_m2", "dni_w_m2", "dhi_w_m2")

# Open-Meteo field → our column (pvlib iotools' declarative style)
OPEN_METEO_MAP: Mapping[str, str] = {
    "shortwave_radiation": "ghi_w_m2",
    "direct_normal_irradiance": "dni_w_m2",
    "diffuse_radiation": "dhi_w_m2",
    "temperature_2m": "temp_air_c",
    "cloud_cover": "cloud_cover_pct",
    "cloudcover": "cloud_cover_pct",
}
# pvlib.iotools.read_epw column → our column
EPW_MAP: Mapping[str, str] = {
    "ghi": "ghi_w_m2",
    "dni": "dni_w_m2",
    "dhi": "dhi_w_m2",
    "temp_air": "temp_air_c",
    "total_sky_cover": "cloud_cover_pct",
}
EPW_MISSING: Mapping[str, float] = {"ghi_w_m2": 9999, "dni_w_m2": 9999, "dhi_w_m2": 9999, "temp_air_c": 99.9,
                                    "cloud_cover_pct": 99}


class WeatherDataError(ValueError):
    """A weather input that cannot become a forecast (nothing is written from it)."""


@dataclass(frozen=True)
class Weather:
    """A weather series at one point."""

    latitude: float
    longitude: float
    elevation_m: float
    step: timedelta
    frame: pd.DataFrame


def parse_open_meteo(document: Mapping[str, Any]) -> Weather:
    """Open-Meteo's forecast JSON (`hourly` block; `timeformat` iso8601 in the response's `timezone`,
    or unixtime). Open-Meteo's irradiance is the mean of the *preceding* hour, so a value labelled T
    becomes the step starting at T - 1 h."""
    hourly = document.get("hourly")
    if not isinstance(hourly, Mapping) or not hourly.get("time"):
        raise WeatherDataError("Open-Meteo document without hourly.time values")
    index = _open_meteo_times(hourly["time"], str(document.get("timezone", "GMT")))
    columns = {ours: pd.to_numeric(pd.Series(hourly[theirs], dtype="float64"), errors="coerce").to_numpy()
               for theirs, ours in OPEN_METEO_MAP.items() if theirs in hourly}
    if not columns:
        raise WeatherDataError("Open-Meteo document without any known hourly variable")
    lengths = {len(values) for values in columns.values()}
    if lengths != {len(index)}:
        raise WeatherDataError(f"Open-Meteo hourly arrays of lengths {sorted(lengths)} for {len(index)} times")
    step = timedelta(hours=1)
    frame = pd.DataFrame(columns, index=index - step)
    return Weather(float(document.get("latitude", 0.0)), float(document.get("longitude", 0.0)),
                   float(document.get("elevation", 0.0)), step, clean_weather(frame, step))


def read_epw_weather(path: str, year: int | None = None) -> Weather:
    """An EPW (TMY) file through pvlib's reader, whose index is already the start of each hour (EPW
    values cover the hour ending at the row's hour). EPW's missing-value codes (9999 for irradiance,
    99.9 for temperature, 99 for sky cover) become NaN; a column missing throughout is dropped.
    `year` moves a typical year onto a real one."""
    from pvlib.iotools import read_epw

    data, meta = read_epw(path, coerce_year=year)
    frame = data[[c for c in EPW_MAP if c in data.columns]].rename(columns=dict(EPW_MAP)).astype("float64")
    for column, missing in EPW_MISSING.items():
        if column in frame:
            frame.loc[frame[column] >= missing, column] = float("nan")
    frame = frame.dropna(axis="columns", how="all")
    if "cloud_cover_pct" in frame:
        frame["cloud_cover_pct"] = frame["cloud_cover_pct"] * 10.0  # EPW sky cover is in tenths
    frame.index = pd.DatetimeIndex(frame.index).tz_convert("UTC")
    return Weather(float(meta["latitude"]), float(meta["longitude"]), float(meta.get("altitude", 0.0)),
                   timedelta(hours=1), clean_weather(frame, timedelta(hours=1)))


def clean_weather(frame: pd.DataFrame, step: timedelta) -> pd.DataFrame:
    """The frame on a regular grid, short gaps interpolated, irradiance clipped at 0 (see module doc)."""
    if frame.empty:
        raise WeatherDataError("empty weather series")
    frame = frame[~frame.index.duplicated(keep="first")].sort_index()
    grid = pd.date_range(frame.index[0], frame.index[-1], freq=step)
    frame = frame.reindex(grid)
    for name in frame.columns:
        frame[name] = _fill_short_gaps(frame[name], name)
    present = [c for c in IRRADIANCE_COLUMNS if c in frame.columns]
    negative = int((frame[present] < 0).to_numpy().sum())
    if negative:
        log.warning("clipped %s negative irradiance values to 0", negative)
        frame[present] = frame[present].clip(lower=0.0)
    return frame


def _fill_short_gaps(values: pd.Series, name: str) -> pd.Series:
    missing = values.isna()
    if not missing.any():
        return values
    if missing.all():
        raise WeatherDataError(f"{name}: no values at all")
    run_ids = (missing != missing.shift()).cumsum()
    longest = int(missing.groupby(run_ids).sum().max())
    if longest > MAX_GAP_STEPS:
        raise WeatherDataError(f"{name}: a gap of {longest} steps (at most {MAX_GAP_STEPS} are filled)")
    log.info("%s: interpolated %s missing values", name, int(missing.sum()))
    return values.interpolate(method="time", limit_direction="both")


def _open_meteo_times(times: list[Any], zone: str) -> pd.DatetimeIndex:
    if isinstance(times[0], int | float):
        return pd.DatetimeIndex(pd.to_datetime(times, unit="s", utc=True))
    naive = pd.DatetimeIndex(pd.to_datetime(times))
    if zone.upper() in ("GMT", "UTC"):
        return naive.tz_localize("UTC")
    try:
        return naive.tz_localize(zone, ambiguous="infer", nonexistent="raise").tz_convert("UTC")
    except Exception as error:  # impossible wall times: ValueError (pandas 3), pytz's InvalidTimeError (pandas 2)
        raise WeatherDataError(f"local times in {zone} that do not exist or are ambiguous: {error}") from error
