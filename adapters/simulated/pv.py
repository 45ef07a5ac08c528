"""A clear-sky-ish PV day from the peak power, with no data and no internet.

The sun's elevation comes from the day of the year, the UTC time and the site's latitude/longitude
(declination and hour angle, solar time = UTC + longitude/15 h, no equation of time); the output is
`kwp * sin(elevation) ** 1.2 * performance_ratio`, a shape close to a clear day's AC output.
Consumer sign convention: the reading is <= 0 (generation)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class PvSpec:
    kwp: float
    latitude_deg: float = 55.0  # Fur (DK)
    longitude_deg: float = 9.0
    performance_ratio: float = 0.85
    cloudiness: float = 0.0  # 0 clear .. 1 overcast (a constant damping factor)


def sun_elevation_sin(latitude_deg: float, longitude_deg: float, when: datetime) -> float:
    """sin of the sun's elevation at `when` (aware) over the given place; negative at night."""
    when = when.astimezone(UTC)
    day_of_year = when.timetuple().tm_yday
    declination = math.radians(23.45) * math.sin(2 * math.pi * (284 + day_of_year) / 365)
    utc_hours = when.hour + when.minute / 60 + when.second / 3600
    solar_hours = utc_hours + longitude_deg / 15
    hour_angle = math.radians(15 * (solar_hours - 12))
    latitude = math.radians(latitude_deg)
    return (math.sin(latitude) * math.sin(declination)
            + math.cos(latitude) * math.cos(declination) * math.cos(hour_angle))


def pv_power_w(spec: PvSpec, when: datetime) -> float:
    """Generated AC power at `when`, consumer convention (<= 0)."""
    elevation = sun_elevation_sin(spec.latitude_deg, spec.longitude_deg, when)
    if elevation <= 0:
        return 0.0
    clear_w = spec.kwp * 1000 * math.pow(elevation, 1.2) * spec.performance_ratio
    return -clear_w * (1 - 0.75 * spec.cloudiness)

