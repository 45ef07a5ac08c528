"""What the loop reads of one radial from the server (plain data), and the pure step from it to the
day-ahead problem: series on the plan's step grid, forecast before persistence, prices before the tariff."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from controllers.gesscon.snapshot import SocReading, ess_params, site_forecast
from planning.inputs import EssParams, Objective, Prices, RadialProblem, SiteForecast

Points = Sequence[tuple[datetime, float]]  # (phenomenonTime, value), any order
DAY = timedelta(days=1)


@dataclass(frozen=True)
class EssThing:
    """An ESS Thing of the radial: `key` is `<siteId>/<Thing key>`; ids of what the loop uses."""

    key: str
    site_id: str
    thing_id: int | str
    properties: Mapping[str, Any]
    schedule_capability: int | str | None
    resolution_s: int
    soc_stream: int | str | None
    ack_stream: int | str | None


@dataclass(frozen=True)
class SiteData:
    """A site Thing of the radial and its series: forecasts (latest issued run per step) and the last
    measured day (hourly means before the plan's start), PV summed over the site's PV Things."""

    site_id: str
    properties: Mapping[str, Any]
    load_forecast: Points | None = None
    pv_forecast: Points | None = None
    load_last_day: Points | None = None
    pv_last_day: Points | None = None
    has_pv: bool = True


@dataclass(frozen=True)
class RadialData:
    radial_id: str
    sites: tuple[SiteData, ...]
    batteries: tuple[EssThing, ...]
    socs: Mapping[str, SocReading] = field(default_factory=dict)
    price_eur_per_mwh: Points | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)  # the radial Thing's, if there is one


@dataclass(frozen=True)
class PlanSettings:
    step_s: int = 900
    hold_s: int = 3600  # a forecast or mean holds this long after its phenomenonTime (hourly runs)
    tariff_import_eur_per_kwh: float = 0.30
    export_eur_per_kwh: float = 0.0  # Fur: no feed-in tariff; never above the import price
    efficiency: float = 0.95
    wear_eur_per_kwh: float = 0.02


def on_grid(points: Points | None, start: datetime, step_s: int, steps: int, hold_s: int) -> list[float] | None:
    """The value in force at each step's start (the newest point at or before it, at most `hold_s` old);
    None when a step has none."""
    if not points:
        return None
    ordered = sorted(points)
    values, j = [], -1
    for i in range(steps):
        at = start + timedelta(seconds=i * step_s)
        while j + 1 < len(ordered) and ordered[j + 1][0] <= at:
            j += 1
        if j < 0 or (at - ordered[j][0]).total_seconds() >= hold_s:
            return None
        values.append(float(ordered[j][1]))
    return values


def shifted(points: Points | None, by: timedelta) -> Points | None:
    return None if points is None else [(t + by, v) for t, v in points]


def _site(site: SiteData, start: datetime, settings: PlanSettings, steps: int) -> SiteForecast:
    def grid(points: Points | None) -> list[float] | None:
        return on_grid(points, start, settings.step_s, steps, settings.hold_s)

    zeros = [0.0] * steps
    return site_forecast(site.site_id, site.properties, steps,
                         load=grid(site.load_forecast), load_last_day=grid(shifted(site.load_last_day, DAY)),
                         pv=grid(site.pv_forecast) if site.has_pv else zeros,
                         pv_last_day=grid(shifted(site.pv_last_day, DAY)) if site.has_pv else zeros)


def prices(data: RadialData, start: datetime, settings: PlanSettings, steps: int) -> tuple[Prices, tuple[str, ...]]:
    """Day-ahead prices (EUR/MWh ÷ 1000) when they cover the day, else the tariff (flagged)."""
    found = on_grid(data.price_eur_per_mwh, start, settings.step_s, steps, settings.hold_s)
    flags: tuple[str, ...] = ()
    if found is None:
        found, flags = [settings.tariff_import_eur_per_kwh] * steps, ("price:tariff",)
    imports = tuple(p / 1000 for p in found) if not flags else tuple(found)
    exports = tuple(min(settings.export_eur_per_kwh, p) for p in imports)
    return Prices(imports, exports), flags


def problem_of(data: RadialData, start: datetime, objective: Objective, settings: PlanSettings, *,
               unavailable: frozenset[str] = frozenset(), horizon_s: int = 86_400
               ) -> tuple[RadialProblem, tuple[str, ...]]:
    """The radial's problem from `start` over `horizon_s`, and the flags of every assumption made."""
    steps = horizon_s // settings.step_s
    site_ids = {s.site_id for s in data.sites}
    batteries: list[EssParams] = []
    flags: list[str] = []
    for thing in data.batteries:
        if thing.site_id not in site_ids:
            continue
        ess, ess_flags = ess_params(thing.key, thing.site_id, thing.properties, data.socs.get(thing.key),
                                    efficiency=settings.efficiency, wear_eur_per_kwh=settings.wear_eur_per_kwh)
        if thing.key in unavailable:
            ess = EssParams(**{**ess.__dict__, "available": False})
        else:
            flags += ess_flags
        batteries.append(ess)
    price, price_flags = prices(data, start, settings, steps)
    limits = {name: _limit(data.properties, name) for name in ("transformerLimitIn_W", "transformerLimitOut_W")}
    problem = RadialProblem(data.radial_id, start, settings.step_s,
                            tuple(_site(s, start, settings, steps) for s in data.sites), tuple(batteries), price,
                            limits["transformerLimitIn_W"], limits["transformerLimitOut_W"], objective)
    return problem, tuple(flags) + price_flags


def _limit(properties: Mapping[str, Any], name: str) -> float:
    value = properties.get(name)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.inf
