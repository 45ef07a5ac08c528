"""The day-ahead LP of one radial, solved with HiGHS (scipy.optimize.milp); pure: inputs in, DayPlan out.

Charging from a neighbour's discharge is ruled out at radial level: at each step the sum of charging
powers and the sum of discharging powers may not both exceed `overlap_tolerance_w`. The LP alone rarely
does it (each Wh moved battery to battery loses ηc·ηd and pays wear twice), so the LP is solved first and
only the steps where it happens get a binary (charge-or-discharge) in a MILP, repeated until none is left.
"""
from __future__ import annotations

import logging
import time
from dataclasses import replace

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, OptimizeResult, linprog, milp

from planning import constraints
from planning.inputs import ProblemError, RadialProblem, SolutionCode
from planning.layout import Layout
from planning.schedule import Array, Costs, DayPlan, Schedule, evaluate, radial_overlap_w

log = logging.getLogger(__name__)
SLACK_REPORT_WH = 1e-3


def objective_vector(problem: RadialProblem, lay: Layout) -> Array:
    """EUR per unit of each variable over its step (W → kWh through step_h / 1000)."""
    kwh, cost = problem.step_h / 1000, np.zeros(lay.size)
    for i, ess in enumerate(problem.batteries):
        cost[lay.charge[i]] = cost[lay.discharge[i]] = ess.wear_eur_per_kwh * kwh + 1e-9
    cost[lay.radial_import] = np.asarray(problem.prices.import_eur_per_kwh) * kwh
    cost[lay.radial_export] = -np.asarray(problem.prices.export_eur_per_kwh) * kwh
    slack = problem.objective.slack_eur_per_kwh * kwh
    for block in (lay.site_slack_in, lay.site_slack_out, lay.transformer_slack_in, lay.transformer_slack_out):
        cost[block] = slack
    objective = problem.objective
    if objective.solution == SolutionCode.PEAK_SHAVING:
        cost[lay.peak] = objective.peak_eur_per_kw / 1000
    if objective.solution == SolutionCode.PREVENT_FLICKER:
        cost[lay.ramp_up] = cost[lay.ramp_down] = objective.flicker_eur_per_kw / 1000
    if objective.solution == SolutionCode.VOLTAGE_CONTROL:
        cost[lay.band_excess_in] = cost[lay.band_excess_out] = objective.voltage_eur_per_kwh * kwh
        cost[lay.export_peak] = objective.voltage_peak_eur_per_kw / 1000
    return cost


def variable_bounds(problem: RadialProblem, lay: Layout) -> Bounds:
    """Power limits (0 for an unavailable battery), SoC window (widened to include the start), terminal SoC."""
    lower, upper = np.zeros(lay.size), np.full(lay.size, np.inf)
    for i, ess in enumerate(problem.batteries):
        upper[lay.charge[i]] = ess.max_charge_w if ess.available else 0.0
        upper[lay.discharge[i]] = ess.max_discharge_w if ess.available else 0.0
        lower[lay.energy[i]] = min(ess.min_wh, ess.soc_initial_wh)
        upper[lay.energy[i]] = max(ess.max_wh, ess.soc_initial_wh)
        if ess.terminal_soc_min_wh is not None:
            lower[lay.energy[i][-1]] = ess.terminal_soc_min_wh
    upper[lay.binaries] = 1.0
    solution = problem.objective.solution
    if solution != SolutionCode.PREVENT_FLICKER:
        upper[lay.ramp_up] = upper[lay.ramp_down] = 0.0
    if solution != SolutionCode.VOLTAGE_CONTROL:
        upper[lay.band_excess_in] = upper[lay.band_excess_out] = upper[lay.export_peak] = 0.0
    else:  # no discharge while the radial's own load and PV export beyond the band (Objective's doc)
        upper[lay.discharge[:, constraints.exporting_beyond_band(problem)]] = 0.0
    return Bounds(lower, upper)


def solve_lp(problem: RadialProblem, lay: Layout) -> OptimizeResult:
    """HiGHS' interior point (with crossover) for the pure LP, its branch and bound once binaries are in."""
    rows = constraints.Rows()
    for rule in (constraints.soc_dynamics, constraints.radial_balance, constraints.site_contracts,
                 constraints.transformer_limits, constraints.command_terms, constraints.no_overlap):
        rule(rows, problem, lay)
    a, lower, upper = rows.matrix(lay.size)
    cost, bounds = objective_vector(problem, lay), variable_bounds(problem, lay)
    if not lay.binary_steps:  # 2-3x faster than milp's path on 10 ESS × 1,440 steps (docs/controllers.md)
        eq = lower == upper
        above, below = ~eq & np.isfinite(upper), ~eq & np.isfinite(lower)
        a_ub = sp.vstack([a[above], -a[below]]).tocsr()
        return linprog(cost, A_ub=a_ub, b_ub=np.concatenate([upper[above], -lower[below]]), A_eq=a[eq],
                       b_eq=lower[eq], bounds=np.column_stack([bounds.lb, bounds.ub]), method="highs-ipm")
    integrality = np.zeros(lay.size)
    integrality[lay.binaries] = 1
    return milp(cost, constraints=LinearConstraint(a, lower, upper), integrality=integrality, bounds=bounds,
                options={"mip_rel_gap": 1e-7, "disp": False, "time_limit": problem.objective.milp_time_limit_s})


def solve_day_ahead(problem: RadialProblem) -> DayPlan:
    """The optimal schedule of every battery of the radial for the problem's day."""
    if any(e > i for i, e in zip(problem.prices.import_eur_per_kwh, problem.prices.export_eur_per_kwh, strict=True)):
        raise ProblemError("export revenue above the import price would make the LP unbounded")
    started, lay = time.perf_counter(), Layout(len(problem.batteries), len(problem.sites), problem.steps)
    tol = problem.objective.overlap_tolerance_w
    rounds, x, note = 0, None, ""
    while True:
        result = solve_lp(problem, lay)
        if result.x is None:
            if x is None:
                raise RuntimeError(f"HiGHS found no solution for radial {problem.radial_id}: {result.message}")
            note = f"; MILP round {rounds}: {result.message}"  # keep the previous round's answer
            break
        x = np.asarray(result.x)
        if lay.binary_steps and not result.success:
            note = f"; MILP: {result.message}"  # e.g. the time limit with an incumbent
        overlap = radial_overlap_w(x[lay.charge], x[lay.discharge])
        bad = sorted(set(lay.binary_steps) | {int(t) for t in np.flatnonzero(overlap > tol)})
        if len(bad) == len(lay.binary_steps) or rounds == problem.objective.max_milp_rounds:
            break
        log.debug("radial %s: %d step(s) charge and discharge at once; binaries added", problem.radial_id, len(bad))
        lay, rounds = Layout(lay.batteries, lay.sites, lay.steps, tuple(bad)), rounds + 1
    plan = _plan(problem, lay, x, rounds, time.perf_counter() - started, note)
    if note and problem.objective.solution != SolutionCode.ECONOMIC:
        return safer_plan(problem, plan, started)
    return plan


def _total(problem: RadialProblem, plan: DayPlan) -> float:
    costs = evaluate(problem, np.asarray([s.power_w for s in plan.schedules], dtype=np.float64))
    return costs.energy_eur + costs.wear_eur + costs.command_eur + plan.costs.slack_eur


def safer_plan(problem: RadialProblem, plan: DayPlan, started: float) -> DayPlan:
    """A command's plan whose MILP stopped early (time limit) against the economic plan of the same day, both
    costed on the command's objective: the cheaper one (the economic plan is what the radial does without
    the command, so the fallback is never worse than not following it)."""
    economic = solve_day_ahead(replace(problem, objective=replace(problem.objective, solution=SolutionCode.ECONOMIC)))
    if _total(problem, plan) <= _total(problem, economic):
        return plan
    log.warning("radial %s: the %s plan stopped early (%s); the economic plan costs less on its terms: used",
                problem.radial_id, problem.objective.solution.value, plan.status)
    power = np.asarray([s.power_w for s in economic.schedules], dtype=np.float64)
    return replace(economic, costs=replace(economic.costs, command_eur=evaluate(problem, power).command_eur),
                   status=f"{economic.status}; economic fallback ({plan.status})",
                   solve_s=time.perf_counter() - started)


def _plan(problem: RadialProblem, lay: Layout, x: Array, rounds: int, solve_s: float, note: str) -> DayPlan:
    power = x[lay.charge] - x[lay.discharge]
    schedules = tuple(
        Schedule(ess.key, problem.start, problem.step_s, tuple(map(float, power[i])),
                 tuple(map(float, 100 * x[lay.energy[i]] / ess.capacity_wh)))
        for i, ess in enumerate(problem.batteries))
    h = problem.step_h
    slack_wh = {site.site_id: float(h * (x[lay.site_slack_in[j]].sum() + x[lay.site_slack_out[j]].sum()))
                for j, site in enumerate(problem.sites)}
    slack_wh["transformer"] = float(h * (x[lay.transformer_slack_in].sum() + x[lay.transformer_slack_out].sum()))
    slack_eur = problem.objective.slack_eur_per_kwh * sum(slack_wh.values()) / 1000
    base = evaluate(problem, power)
    costs = Costs(base.energy_eur, base.wear_eur, base.command_eur, slack_eur)
    infeasible = any(v > SLACK_REPORT_WH for v in slack_wh.values())
    status = ("infeasible-with-slack" if infeasible else "optimal") + note
    if infeasible:
        log.warning("radial %s: limits violated (slack Wh %s)", problem.radial_id,
                    {k: round(v, 1) for k, v in slack_wh.items() if v > SLACK_REPORT_WH})
    overlap = float(radial_overlap_w(x[lay.charge], x[lay.discharge]).max(initial=0.0))
    return DayPlan(problem.radial_id, schedules, costs, status, slack_wh, overlap, rounds, solve_s)
