"""A household load from a standard profile (a BDEW-H0-like weekday shape), scaled by the yearly energy.

The hourly shape is interpolated by minute, raised in winter (the H0 dynamisation, approximated by a
cosine of the day of the year) and, with a seed, given a reproducible per-minute noise so a day does
not look drawn with a ruler. Consumer sign convention: the reading is >= 0."""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime

HOURS_PER_YEAR = 8760.0

# Relative household demand per hour of the day (mean 1 after normalising), H0-like weekday.
_H0_SHAPE = (70, 55, 48, 45, 45, 52, 80, 110, 120, 118, 115, 125,
             140, 130, 110, 100, 105, 135, 170, 185, 175, 155, 125, 95)
H0_HOURLY: tuple[float, ...] = tuple(v * 24 / sum(_H0_SHAPE) for v in _H0_SHAPE)


@dataclass(frozen=True)
class LoadSpec:
    annual_kwh: float = 4000.0
    seasonal_amplitude: float = 0.2  # winter +20 %, summer -20 %
    noise_fraction: float = 0.1  # per-minute noise, +-10 %
    seed: int | None = None


def shape_factor(when: datetime) -> float:
    """The H0 weekday factor at `when` (local solar day taken as UTC), linearly between hours."""
    when = when.astimezone(UTC)
    hours = when.hour + when.minute / 60 + when.second / 3600
    low = int(hours) % 24
    frac = hours - int(hours)
    return H0_HOURLY[low] * (1 - frac) + H0_HOURLY[(low + 1) % 24] * frac


def seasonal_factor(amplitude: float, when: datetime) -> float:
    """1 + amplitude at mid-January, 1 - amplitude at mid-July."""
    day = when.astimezone(UTC).timetuple().tm_yday
    return 1 + amplitude * math.cos(2 * math.pi * (day - 15) / 365)


def load_power_w(spec: LoadSpec, when: datetime) -> float:
    """Household consumption at `when` (W, >= 0)."""
    mean_w = spec.annual_kwh * 1000 / HOURS_PER_YEAR
    power_w = mean_w * shape_factor(when) * seasonal_factor(spec.seasonal_amplitude, when)
    if spec.seed is not None and spec.noise_fraction > 0:
        minute = int(when.timestamp() // 60)
        noise = random.Random(f"{spec.seed}:{minute}").uniform(-1, 1)
        power_w *= 1 + spec.noise_fraction * noise
    return max(0.0, power_w)
