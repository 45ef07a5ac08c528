"""From what the server holds to the problem's inputs (pure): Thing properties, the latest SoC and the
forecast series, with the issue's fallbacks — a missing forecast becomes persistence (the last day measured,
flagged), a stale SoC (older than 15 min) is planned conservatively (from the minimum SoC, flagged)."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from planning.inputs import EssParams, ProblemError, SiteForecast

STALE_SOC_S = 900.0


@dataclass(frozen=True)
class SocReading:
    """The latest `SoC` Observation of an ESS: % and its age at planning time (s)."""

    soc_pct: float
    age_s: float


def _number(properties: Mapping[str, Any], name: str, default: float | None = None) -> float:
    if name not in properties and default is not None:
        return default
    value = properties.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ProblemError(f"Thing property {name} must be a finite number, got {value!r}")
    return float(value)


def ess_params(key: str, site_id: str, properties: Mapping[str, Any], soc: SocReading | None, *,
               efficiency: float = 0.95, wear_eur_per_kwh: float = 0.0) -> tuple[EssParams, tuple[str, ...]]:
    """An ESS Thing's properties (S4G-SYSTEM.md §1.2 names) and its latest SoC; flags say what was assumed."""
    capacity = _number(properties, "maxCapacity_Wh")
    power = _number(properties, "maxPower_W")
    min_pct = _number(properties, "minSoC_pct", 0.0)
    max_pct = _number(properties, "maxSoC_pct", 100.0)
    flags: tuple[str, ...] = ()
    if soc is None or soc.age_s > STALE_SOC_S:
        start_pct, flags = min_pct, (f"{key}:soc-stale",)
    else:
        start_pct = min(max(soc.soc_pct, 0.0), 100.0)
    ess = EssParams(key, site_id, capacity, power, power, capacity * start_pct / 100, min_pct, max_pct,
                    efficiency, efficiency, wear_eur_per_kwh)
    return ess, flags


def series(name: str, forecast: Sequence[float] | None, last_day: Sequence[float] | None,
           steps: int) -> tuple[tuple[float, ...], tuple[str, ...]]:
    """The forecast when it covers the day, else the last measured day (persistence, flagged), else zeros."""
    if forecast is not None and len(forecast) == steps:
        return tuple(map(float, forecast)), ()
    if last_day is not None and len(last_day) == steps:
        return tuple(map(float, last_day)), (f"{name}:persistence",)
    return (0.0,) * steps, (f"{name}:missing",)


def site_forecast(site_id: str, properties: Mapping[str, Any], steps: int, *,
                  load: Sequence[float] | None, pv: Sequence[float] | None,
                  load_last_day: Sequence[float] | None = None,
                  pv_last_day: Sequence[float] | None = None) -> SiteForecast:
    """A site Thing's contract limits (absent = unlimited) and its load/PV forecasts with fallbacks."""
    load_w, load_flags = series(f"{site_id}:load", load, load_last_day, steps)
    pv_w, pv_flags = series(f"{site_id}:pv", pv, pv_last_day, steps)
    return SiteForecast(site_id, load_w, tuple(min(v, 0.0) for v in pv_w),
                        _number(properties, "contractLimitIn_W", math.inf),
                        _number(properties, "contractLimitOut_W", math.inf), load_flags + pv_flags)
