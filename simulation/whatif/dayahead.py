"""The `gesscon` control mode of a what-if study (pure): each day, GESSCon's day-ahead LP (planning/) plans
every battery of the study over the whole feeder, and the study then runs the flows with the planned powers.

- **Forecasts**: perfect. The LP sees the day's own profiles (the households' loads, the added PV and EVs,
  the grid's own loads and PV), as a GESSCon with exact forecasts would; the difference to real forecasts is
  not what a what-if study is asked about.
- **Sites**: one per household with a battery (its load, added PV and EV) and one `feeder` site with
  everything else of the grid, so the LP's import and export are the transformer's (losses aside).
- **Tariff** (the studies have no prices of their own): a flat import price of `IMPORT_EUR_PER_KWH` and no
  feed-in revenue (Fur's case), so the economic objective is the feeder's import energy.
- **Batteries** as the study models them: lossless (efficiency 1), SoC window 0-100 %, the study's rating.
  Each day ends with at least the energy it started with (`terminal_soc_min_wh`), so a day's import is not
  lowered by emptying the battery (the comparison with `none` stays fair). A nominal wear of
  `WEAR_EUR_PER_KWH` keeps the LP from moving energy from one battery to another (free when lossless): without
  it HiGHS' optimum often does, and the no-overlap rule costs MILP rounds (1.9 s instead of 0.04 s a day on
  the Fur-like grid with 13 batteries).

Sign convention as planning/: P > 0 is consumption, charging, import."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from planning import EssParams, Objective, Prices, RadialProblem, SiteForecast, solve_day_ahead

IMPORT_EUR_PER_KWH = 0.25
EXPORT_EUR_PER_KWH = 0.0
WEAR_EUR_PER_KWH = 0.001
FEEDER_SITE = "feeder"


@dataclass(frozen=True)
class DayInputs:
    """One day of a study: its steps' times, each battery household's net power per step (W, without the
    battery), the rest of the feeder per step (W), each battery's energy at the day's start (Wh)."""

    times: tuple[datetime, ...]
    step_s: int
    house_w: Mapping[int, Sequence[float]]  # keyed by the household's load index
    rest_w: Sequence[float]
    soc_wh: Mapping[int, float]
    capacity_wh: float
    power_w: float


@dataclass(frozen=True)
class DaySchedule:
    """The day's planned battery powers per step (W, > 0 charging), keyed by load index, and the solve."""

    times: tuple[datetime, ...]
    power_w: Mapping[int, tuple[float, ...]]
    status: str
    cost_eur: float
    solve_s: float

    def at(self, time: datetime) -> Mapping[int, float]:
        step = self.times.index(time)
        return {load: powers[step] for load, powers in self.power_w.items()}


def _site(site_id: str, net_w: Sequence[float]) -> SiteForecast:
    """A site whose net power is split into a load (>= 0) and a PV (<= 0) part, as the LP's inputs want."""
    return SiteForecast(site_id, tuple(max(0.0, float(p)) for p in net_w), tuple(min(0.0, float(p)) for p in net_w))


def problem_of(day: DayInputs) -> RadialProblem:
    """The LP's inputs for the day."""
    steps = len(day.times)
    houses = sorted(day.house_w)
    sites = (*(_site(f"house:{load}", day.house_w[load]) for load in houses), _site(FEEDER_SITE, day.rest_w))
    batteries = tuple(
        EssParams(key=f"ess:{load}", site_id=f"house:{load}", capacity_wh=day.capacity_wh, max_charge_w=day.power_w,
                  max_discharge_w=day.power_w, soc_initial_wh=day.soc_wh[load], charge_efficiency=1.0,
                  discharge_efficiency=1.0, wear_eur_per_kwh=WEAR_EUR_PER_KWH,
                  terminal_soc_min_wh=day.soc_wh[load])
        for load in houses)
    prices = Prices((IMPORT_EUR_PER_KWH,) * steps, (EXPORT_EUR_PER_KWH,) * steps)
    return RadialProblem("whatif", day.times[0], day.step_s, sites, batteries, prices, objective=Objective())


def plan_day(day: DayInputs) -> DaySchedule:
    """GESSCon's plan of the day for the study's batteries."""
    problem = problem_of(day)
    plan = solve_day_ahead(problem)
    houses = sorted(day.house_w)
    power = {load: schedule.power_w for load, schedule in zip(houses, plan.schedules, strict=True)}
    return DaySchedule(day.times, power, plan.status, plan.costs.total_eur, plan.solve_s)
