"""The day's EV load profile of a charging site (D3.1 table 10), pure: the expected uncontrolled EV load
(the LEVChAg's `evLoadForecast`) moved later wherever it would exceed the site's EV headroom, since
EVs can wait but cannot charge before they arrive."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class DayProfile:
    power_w: tuple[float, ...]
    deferred_wh: float  # energy that found no headroom in its own step (moved later)
    unserved_wh: float  # energy that found no headroom before the horizon's end


def defer_into(forecast_w: Sequence[float], headroom_w: Sequence[float], step_s: int) -> DayProfile:
    """Each step takes what is expected now plus what waits from before, up to its headroom."""
    if len(forecast_w) != len(headroom_w):
        raise ValueError(f"{len(forecast_w)} forecast values for {len(headroom_w)} headroom values")
    h = step_s / SECONDS_PER_HOUR
    waiting_w, deferred_wh, profile = 0.0, 0.0, []
    for expected, headroom in zip(forecast_w, headroom_w, strict=True):
        wanted = max(0.0, expected) + waiting_w
        power = min(wanted, max(0.0, headroom))
        waiting_w = wanted - power
        deferred_wh += max(0.0, expected - max(0.0, headroom)) * h
        profile.append(power)
    return DayProfile(tuple(profile), deferred_wh, waiting_w * h)
