"""Aggregate EV charging forecast of one charging site from arrival/departure/energy distributions.

Model (uncontrolled charging, the baseline the LEVChAg/GEVChCon then shape): each of `vehicles`
EVs plugs in once a day at a local time ~ Normal(arrival_mean_h, arrival_sd_h), charges at
`charger_kw` for d = min(energy_kwh / charger_kw, mean plug-in duration) hours, and leaves. The
expected site power at time t is vehicles · charger_kw · P(arrival ≤ t < arrival + d), counting
arrivals of the day before as well (evening sessions run past midnight); each step's value is the
mean over the step (five sub-samples). Defaults are the Bolzano commercial car park's (S4G D4.7:
plug-in 18.76 ± 1.3 h, unplug 7.32 ± 0.78 h, 18.7 kWh batteries, half of it recharged, 7 kW).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

SUB_SAMPLES = 5
SESSION_SHARE_OF_BATTERY = 0.5
ALIASES = {"arrival_std_h": "arrival_sd_h", "departure_std_h": "departure_sd_h"}


class EvParameterError(ValueError):
    """Distributions that do not describe charging sessions."""


@dataclass(frozen=True)
class EvDistributions:
    vehicles: int = 22
    arrival_mean_h: float = 18.76
    arrival_sd_h: float = 1.3
    departure_mean_h: float = 7.32
    departure_sd_h: float = 0.78
    energy_kwh: float = 9.35
    charger_kw: float = 7.0

    @classmethod
    def from_properties(cls, properties: Mapping[str, Any]) -> EvDistributions:
        """From a charging site's `properties.evForecast` object: keys as the field names, or the site
        files' `arrival_std_h`, `departure_std_h` and `battery_kwh` (a session recharges half of it)."""
        given = properties.get("evForecast", {})
        if not isinstance(given, Mapping):
            raise EvParameterError("properties.evForecast is not an object")
        given = {**{ours: given[theirs] for theirs, ours in ALIASES.items() if theirs in given}, **given}
        if "energy_kwh" not in given and isinstance(given.get("battery_kwh"), int | float):
            given["energy_kwh"] = given["battery_kwh"] * SESSION_SHARE_OF_BATTERY
        known = {name: given[name] for name in cls.__dataclass_fields__ if name in given}
        try:
            made = cls(**{name: type(getattr(cls(), name))(value) for name, value in known.items()})
        except (TypeError, ValueError) as error:
            raise EvParameterError(f"properties.evForecast: {error}") from error
        if made.vehicles < 0 or made.charger_kw <= 0 or made.energy_kwh < 0 or made.arrival_sd_h <= 0:
            raise EvParameterError(f"EV distributions out of range: {made}")
        return made

    @property
    def session_h(self) -> float:
        plugged_h = (self.departure_mean_h - self.arrival_mean_h) % 24
        return min(self.energy_kwh / self.charger_kw, plugged_h)


def ev_forecast_w(distributions: EvDistributions, times_utc: pd.DatetimeIndex, zone: str) -> pd.Series:
    """Expected aggregate charging power (W, ≥ 0) per step starting at `times_utc`."""
    if len(times_utc) == 0:
        return pd.Series(dtype="float64", index=times_utc)
    step = times_utc[1] - times_utc[0] if len(times_utc) > 1 else pd.Timedelta(hours=1)
    offsets = [(i + 0.5) / SUB_SAMPLES for i in range(SUB_SAMPLES)]
    samples = np.zeros(len(times_utc))
    for fraction in offsets:
        local = (times_utc + step * fraction).tz_convert(zone)
        hours = np.array([t.hour + t.minute / 60 + t.second / 3600 for t in local])
        samples += _charging_probability(hours, distributions)
    power_w = distributions.vehicles * distributions.charger_kw * 1000.0 * samples / SUB_SAMPLES
    return pd.Series(power_w, index=times_utc, name="ev_w")


def _charging_probability(hours: np.ndarray, d: EvDistributions) -> np.ndarray:
    """P(arrival ≤ t < arrival + session) for arrivals today or yesterday (t in local hours)."""
    total = np.zeros_like(hours, dtype="float64")
    for shift in (0.0, 24.0):
        t = hours + shift
        started = _normal_cdf((t - d.arrival_mean_h) / d.arrival_sd_h)
        ended = _normal_cdf((t - d.session_h - d.arrival_mean_h) / d.arrival_sd_h)
        total += started - ended
    clipped: np.ndarray = np.clip(total, 0.0, 1.0)
    return clipped


def _normal_cdf(z: np.ndarray) -> np.ndarray:
    return np.array([0.5 * (1.0 + math.erf(value / math.sqrt(2.0))) for value in z])
