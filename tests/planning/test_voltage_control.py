"""The `voltage_control` objective (planning/model.py, inputs.Objective): export beyond the band is paid per kWh
and the day's highest excess once more per kW, no discharge while the radial's own load and PV export beyond
the band, and a plan whose MILP stops early never costs more than the economic plan on the command's terms."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from planning import Objective, RadialProblem, SolutionCode, solve_day_ahead
from planning.constraints import exporting_beyond_band
from planning.model import safer_plan
from planning.schedule import Array, DayPlan, Schedule, evaluate
from tests.controllers.gesscon.cases import radial

BAND_W = 15_000.0


def june_like(objective: Objective) -> RadialProblem:
    """Nine sites and batteries over 96 quarter hours (the June-day loop's size), PV export above the band at
    noon, and no feed-in revenue (Fur)."""
    return radial(9, 96, objective=objective)


def base_export_w(problem: RadialProblem) -> Array:
    base: Array = -np.asarray([s.base_w for s in problem.sites], dtype=np.float64).sum(axis=0)
    return base


def export_after_w(problem: RadialProblem, plan: DayPlan) -> Array:
    charge = np.asarray([s.power_w for s in plan.schedules], dtype=np.float64).sum(axis=0)
    after: Array = base_export_w(problem) - charge
    return after


def voltage(eur_per_kwh: float = 0.5) -> Objective:
    return Objective(SolutionCode.VOLTAGE_CONTROL, voltage_export_w=BAND_W, voltage_eur_per_kwh=eur_per_kwh)


def test_the_plan_charges_at_the_peak_export_steps_and_lowers_the_peak() -> None:
    economic = june_like(Objective())
    selected = june_like(voltage())
    base = base_export_w(selected)
    assert base.max() > BAND_W + 10_000  # the case: the radial exports well beyond the band at noon
    plan, economic_plan = solve_day_ahead(selected), solve_day_ahead(economic)
    charge = np.asarray([s.power_w for s in plan.schedules]).sum(axis=0)
    peak = int(np.argmax(base))
    above = np.flatnonzero(base > BAND_W)
    assert charge[peak] > 0.4 * (base.max() - BAND_W)
    # the peak steps weigh most: the step of the highest export charges at least as much as the mean step above
    assert charge[peak] >= charge[above].mean()
    after, economic_after = export_after_w(selected, plan), export_after_w(selected, economic_plan)
    assert after.max() < economic_after.max() - 10_000  # 33.0 -> 17.5 kW (economic: 33.0)


def test_no_battery_discharges_while_the_radial_exports_beyond_the_band() -> None:
    problem = june_like(voltage(5.0))  # dear excess: burning it in losses would pay
    plan = solve_day_ahead(problem)
    power = np.asarray([s.power_w for s in plan.schedules])
    beyond = exporting_beyond_band(problem)
    assert beyond.sum() >= 8
    assert power[:, beyond].min() >= -1e-6
    radial_power = power.sum(axis=0)
    flips = [t for t in range(95) if radial_power[t] * radial_power[t + 1] < -1e6]  # charge ⇄ discharge (W²)
    assert all(not (beyond[t] or beyond[t + 1]) for t in flips)


def test_the_june_day_size_is_a_pure_lp() -> None:
    """9 batteries × 96 steps: no binaries needed, so no MILP round and no time limit (the cause of the
    ±59 kW alternation seen in the loop before: every exported kWh paid alike, losses "paid")."""
    plan = solve_day_ahead(june_like(voltage()))
    assert plan.milp_rounds == 0 and plan.status == "optimal"
    assert plan.max_overlap_w <= 1.0


def test_a_plan_stopped_early_falls_back_to_the_economic_plan_when_that_costs_less() -> None:
    problem = june_like(voltage())
    good = solve_day_ahead(problem)
    # an incumbent as HiGHS left one at its time limit: full charge and discharge in alternate steps
    flapping = tuple(
        Schedule(s.ess_key, s.start, s.resolution_s,
                 tuple(b.max_charge_w if t % 2 else -b.max_discharge_w for t in range(96)), s.soc_pct)
        for s, b in zip(good.schedules, problem.batteries, strict=True))
    stopped = replace(good, schedules=flapping, status="optimal; MILP: Time limit reached")
    chosen = safer_plan(problem, stopped, 0.0)
    economic = solve_day_ahead(replace(problem, objective=replace(problem.objective, solution=SolutionCode.ECONOMIC)))
    assert "economic fallback" in chosen.status and chosen.feasible
    assert [s.power_w for s in chosen.schedules] == [s.power_w for s in economic.schedules]
    assert evaluate(problem, [s.power_w for s in chosen.schedules]).total_eur < evaluate(
        problem, [s.power_w for s in flapping]).total_eur
    # a good incumbent is kept
    kept = safer_plan(problem, replace(good, status="optimal; MILP: Time limit reached"), 0.0)
    assert kept.schedules == good.schedules
