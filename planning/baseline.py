"""The rule-based baseline: each battery on its own does self-consumption (charge surplus PV, cover deficit)."""
from __future__ import annotations

from planning.inputs import EssParams, RadialProblem


def self_consumption_step(ess: EssParams, energy_wh: float, net_w: float, step_h: float) -> tuple[float, float]:
    """(battery power W, energy after) for one step facing the site's net power without the battery (W,
    consumer sign): charge the surplus, cover the deficit, within the power limits and the SoC window. The
    local rule of the what-if studies (simulation/whatif/local.py) too."""
    if net_w < 0:  # surplus: charge what fits
        room_w = (ess.max_wh - energy_wh) / (step_h * ess.charge_efficiency)
        power = min(-net_w, ess.max_charge_w, max(room_w, 0.0))
        return power, energy_wh + power * step_h * ess.charge_efficiency
    stock_w = (energy_wh - ess.min_wh) * ess.discharge_efficiency / step_h
    power = min(net_w, ess.max_discharge_w, max(stock_w, 0.0))
    return -power, energy_wh - power * step_h / ess.discharge_efficiency


def self_consumption(problem: RadialProblem) -> list[list[float]]:
    """One power row per battery (consumer sign); a site's batteries share its net power in file order."""
    rows: list[list[float]] = []
    remaining = {s.site_id: list(s.base_w) for s in problem.sites}
    for ess in problem.batteries:
        energy, row, net = ess.soc_initial_wh, [], remaining[ess.site_id]
        for t in range(problem.steps):
            power, energy = (self_consumption_step(ess, energy, net[t], problem.step_h) if ess.available
                             else (0.0, energy))
            row.append(power)
            net[t] += power
        rows.append(row)
    return rows
