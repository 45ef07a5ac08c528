"""GESSCon's day-ahead LP: optimum checked independently, limits, no charging from a neighbour, baseline."""
from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pytest

from controllers.gesscon import (
    EssParams,
    Objective,
    Prices,
    ProblemError,
    RadialProblem,
    SiteForecast,
    SolutionCode,
    evaluate,
    resample,
    self_consumption,
    solve_day_ahead,
)
from tests.controllers.gesscon.cases import START, radial
from tests.controllers.gesscon.independent import optimum_eur

TOL_W = 1e-3


def test_small_case_equals_an_independent_formulation() -> None:
    problem = radial(2, 6)
    plan = solve_day_ahead(problem)
    assert plan.milp_rounds == 0 and plan.feasible
    assert plan.costs.total_eur == pytest.approx(optimum_eur(problem), rel=1e-6, abs=1e-9)


def _burning_day() -> RadialProblem:
    """Negative import prices (paid to consume): batteries would charge one from the other's discharge."""
    sites = (SiteForecast("a", (300.0,) * 4, (0.0,) * 4), SiteForecast("b", (300.0,) * 4, (0.0,) * 4))
    batteries = (EssParams("e1", "a", 5000, 3000, 3000, 4000, charge_efficiency=0.9, discharge_efficiency=0.9),
                 EssParams("e2", "b", 5000, 3000, 3000, 1000, charge_efficiency=0.9, discharge_efficiency=0.9))
    prices = Prices((-0.3, -0.3, 0.4, -0.1), (-0.3, -0.3, 0.0, -0.1))
    return RadialProblem("r", START, 3600, sites, batteries, prices)


def test_charge_or_discharge_rule_equals_brute_force_over_modes() -> None:
    problem = _burning_day()
    plan = solve_day_ahead(problem)
    brute = min(optimum_eur(problem, list(modes)) for modes in itertools.product([True, False], repeat=4))
    assert plan.milp_rounds >= 1  # the LP alone cycled energy between the two batteries
    assert plan.max_overlap_w <= problem.objective.overlap_tolerance_w
    assert plan.costs.total_eur == pytest.approx(brute, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize(("n_ess", "steps", "solution"), [
    (5, 96, SolutionCode.ECONOMIC), (10, 24, SolutionCode.PEAK_SHAVING), (3, 288, SolutionCode.ECONOMIC)])
def test_limits_are_never_violated(n_ess: int, steps: int, solution: SolutionCode) -> None:
    problem = radial(n_ess, steps, contract_w=6000, objective=Objective(solution=solution), transformer_w=3000 * n_ess)
    plan = solve_day_ahead(problem)
    assert plan.feasible, plan.slack_wh
    net = np.asarray([s.base_w for s in problem.sites], dtype=float)
    for ess, schedule in zip(problem.batteries, plan.schedules, strict=True):
        power = np.asarray(schedule.power_w)
        assert power.max() <= ess.max_charge_w + TOL_W and -power.min() <= ess.max_discharge_w + TOL_W
        soc = np.asarray(schedule.soc_pct)
        assert soc.min() >= ess.min_soc_pct - 1e-6 and soc.max() <= ess.max_soc_pct + 1e-6
        net[[s.site_id for s in problem.sites].index(ess.site_id)] += power
    assert net.max() <= 6000 + TOL_W and net.min() >= -6000 - TOL_W
    assert np.abs(net.sum(axis=0)).max() <= 3000 * n_ess + TOL_W


def test_soc_follows_the_schedule_with_efficiencies() -> None:
    problem = radial(2, 24)
    plan = solve_day_ahead(problem)
    for ess, schedule in zip(problem.batteries, plan.schedules, strict=True):
        energy = ess.soc_initial_wh
        for power, soc in zip(schedule.power_w, schedule.soc_pct, strict=True):
            energy += power * (ess.charge_efficiency if power > 0 else 1 / ess.discharge_efficiency)
            assert 100 * energy / ess.capacity_wh == pytest.approx(soc, abs=1e-4)


@pytest.mark.parametrize("steps", [24, 96])
def test_no_battery_charges_while_another_discharges(steps: int) -> None:
    problem = radial(6, steps, export_price=0.05)
    plan = solve_day_ahead(problem)
    charge = np.asarray([[max(p, 0.0) for p in s.power_w] for s in plan.schedules]).sum(axis=0)
    discharge = np.asarray([[max(-p, 0.0) for p in s.power_w] for s in plan.schedules]).sum(axis=0)
    assert np.minimum(charge, discharge).max() <= problem.objective.overlap_tolerance_w


@pytest.mark.parametrize(("n_ess", "steps", "export"), [(1, 24, 0.0), (4, 96, 0.0), (4, 96, 0.08)])
def test_self_consumption_baseline_costs_at_least_the_optimum(n_ess: int, steps: int, export: float) -> None:
    problem = radial(n_ess, steps, export_price=export)
    plan = solve_day_ahead(problem)
    baseline = evaluate(problem, self_consumption(problem)).total_eur
    assert plan.costs.total_eur <= baseline + 1e-9
    assert plan.costs.total_eur < baseline  # and the coordination is worth something on this day


def test_an_infeasible_day_is_solved_with_slack_and_reported() -> None:
    problem = radial(2, 24, contract_w=300)  # evening load above the contract even with full batteries
    plan = solve_day_ahead(problem)
    assert plan.status == "infeasible-with-slack" and not plan.feasible
    assert plan.slack_wh["house0"] > 0 and plan.costs.slack_eur > 0
    assert len(plan.schedules) == 2 and all(len(s.power_w) == 24 for s in plan.schedules)


def test_an_unavailable_battery_is_left_idle() -> None:
    problem = radial(3, 24)
    problem = replace(problem, batteries=(replace(problem.batteries[0], available=False), *problem.batteries[1:]))
    plan = solve_day_ahead(problem)
    assert plan.schedules[0].power_w == (0.0,) * 24


def test_resample_keeps_energy() -> None:
    plan = solve_day_ahead(radial(1, 96))
    hourly = resample(plan.schedules[0], 3600)
    assert len(hourly.power_w) == 24
    assert sum(hourly.power_w) * 4 == pytest.approx(sum(plan.schedules[0].power_w))
    assert len(resample(hourly, 60).power_w) == 1440


def test_inconsistent_inputs_are_refused() -> None:
    with pytest.raises(ProblemError):
        radial(1, 24).__class__("r", START, 3600, (SiteForecast("a", (1.0,), (0.0, 0.0)),), (), Prices((0.1,), (0.0,)))
    with pytest.raises(ProblemError):
        solve_day_ahead(radial(1, 24, export_price=math.inf))


@pytest.mark.parametrize("solution", [SolutionCode.PEAK_SHAVING, SolutionCode.PREVENT_FLICKER,
                                      SolutionCode.VOLTAGE_CONTROL])
def test_each_command_term_is_minimised_against_the_economic_plan(solution: SolutionCode) -> None:
    """The plan of a command's solution costs no more, under that solution's objective, than the economic
    plan does; and it lowers the term the command selects (peak import, exchange changes, export beyond
    the voltage band)."""
    economic = radial(3, 96, export_price=0.12)
    selected = replace(economic, objective=Objective(solution=solution))
    economic_power = [s.power_w for s in solve_day_ahead(economic).schedules]
    plan = solve_day_ahead(selected)
    assert plan.feasible
    assert plan.costs.total_eur <= evaluate(selected, economic_power).total_eur + 1e-6
    assert plan.costs.command_eur < 0.9 * evaluate(selected, economic_power).command_eur


def test_the_flicker_and_voltage_terms_by_hand() -> None:
    """Radial net exchange 1,000 → −2,000 → 500 W over three 1-hour steps (no batteries)."""
    site = SiteForecast("a", (1000.0, 0.0, 500.0), (0.0, -2000.0, 0.0))
    prices = Prices((0.0,) * 3, (0.0,) * 3)

    def command_eur(objective: Objective) -> float:
        return evaluate(RadialProblem("r", START, 3600, (site,), (), prices, objective=objective), []).command_eur

    # |−2,000 − 1,000| + |500 + 2,000| = 5,500 W of change
    assert command_eur(Objective(SolutionCode.PREVENT_FLICKER, flicker_eur_per_kw=0.1)) == pytest.approx(0.55)
    # 2,000 W exported against a band of 500 W for one hour, 1,000 W imported against a band of 800 W;
    # the day's highest export beyond the band (1,500 W) once more at 0.4 EUR/kW
    band = Objective(SolutionCode.VOLTAGE_CONTROL, voltage_eur_per_kwh=1.0, voltage_export_w=500,
                     voltage_import_w=800, voltage_peak_eur_per_kw=0.4)
    assert command_eur(band) == pytest.approx(1.5 + 0.2 + 0.6)
    assert command_eur(Objective(SolutionCode.ECONOMIC)) == 0.0
