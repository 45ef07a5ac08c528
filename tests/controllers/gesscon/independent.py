"""An independent formulation of the day-ahead problem for the tests: no SoC variables (stored energy as
cumulative sums), the grid exchange as import − export = net, dense matrices, HiGHS interior point via linprog.
Contract and transformer limits must be infinite; a per-step mode fixes whether the radial may charge."""
from __future__ import annotations

import numpy as np
from scipy.optimize import linprog

from controllers.gesscon import RadialProblem


def optimum_eur(problem: RadialProblem, charging_allowed: list[bool] | None = None) -> float:
    n, t, h = len(problem.batteries), problem.steps, problem.step_h
    size = 2 * n * t + 2 * t  # c, d per battery and step, then import, export
    cost = np.zeros(size)
    for i, ess in enumerate(problem.batteries):
        cost[2 * i * t:2 * (i + 1) * t] = ess.wear_eur_per_kwh * h / 1000
    cost[2 * n * t:2 * n * t + t] = np.asarray(problem.prices.import_eur_per_kwh) * h / 1000
    cost[2 * n * t + t:] = -np.asarray(problem.prices.export_eur_per_kwh) * h / 1000
    base = np.asarray([s.base_w for s in problem.sites]).sum(axis=0)
    a_eq, a_ub, b_ub = [], [], []
    for k in range(t):  # import − export − Σ(c − d) = base
        row = np.zeros(size)
        for i in range(n):
            row[2 * i * t + k], row[(2 * i + 1) * t + k] = -1.0, 1.0
        row[2 * n * t + k], row[2 * n * t + t + k] = 1.0, -1.0
        a_eq.append(row)
    for i, ess in enumerate(problem.batteries):
        for k in range(t):  # min <= E0 + Σ_{j<=k} h(ηc c − d/ηd) <= max
            row = np.zeros(size)
            row[2 * i * t:2 * i * t + k + 1] = h * ess.charge_efficiency
            row[(2 * i + 1) * t:(2 * i + 1) * t + k + 1] = -h / ess.discharge_efficiency
            a_ub += [row, -row]
            b_ub += [ess.max_wh - ess.soc_initial_wh, ess.soc_initial_wh - ess.min_wh]
    bounds: list[tuple[float, float | None]] = []
    for ess in problem.batteries:
        for mode_c in (True, False):
            for k in range(t):
                allowed = charging_allowed is None or charging_allowed[k] == mode_c
                bounds.append((0.0, (ess.max_charge_w if mode_c else ess.max_discharge_w) if allowed else 0.0))
    bounds += [(0.0, None)] * (2 * t)
    result = linprog(cost, A_ub=np.asarray(a_ub), b_ub=np.asarray(b_ub), A_eq=np.asarray(a_eq), b_eq=base,
                     bounds=bounds, method="highs-ipm")
    assert result.status == 0, result.message
    return float(result.fun)
