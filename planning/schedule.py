"""The outputs: one Schedule per ESS, the day's plan of a radial, and the cost of any dispatch."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from planning.inputs import RadialProblem, SolutionCode

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Schedule:
    """One ESS's plan: power per step (W, consumer sign: > 0 charging) and SoC at each step's end (%)."""

    ess_key: str
    start: datetime
    resolution_s: int
    power_w: tuple[float, ...]
    soc_pct: tuple[float, ...]


@dataclass(frozen=True)
class Costs:
    """A dispatch's cost over the day (EUR): energy at the radial's transformer, wear, the term of the
    aggregator's command (peak, flicker or voltage band), slack."""

    energy_eur: float
    wear_eur: float
    command_eur: float
    slack_eur: float

    @property
    def total_eur(self) -> float:
        return self.energy_eur + self.wear_eur + self.command_eur + self.slack_eur


@dataclass(frozen=True)
class DayPlan:
    """The answer for one radial: schedules, costs, whether limits had to be violated (slack Wh per site)."""

    radial_id: str
    schedules: tuple[Schedule, ...]
    costs: Costs
    status: str  # "optimal" | "infeasible-with-slack" | a solver message
    slack_wh: Mapping[str, float]
    max_overlap_w: float
    milp_rounds: int
    solve_s: float

    @property
    def feasible(self) -> bool:
        return not self.status.startswith("infeasible")


def radial_overlap_w(charge_w: Array, discharge_w: Array) -> Array:
    """Per step, the power charged on the radial while another (or the same) battery discharges: min(C, D)."""
    return np.asarray(np.minimum(charge_w.sum(axis=0), discharge_w.sum(axis=0)), dtype=np.float64)


def evaluate(problem: RadialProblem, battery_power_w: Sequence[Sequence[float]] | Array) -> Costs:
    """The cost of a dispatch (one power row per battery, consumer sign) on the problem's inputs, no slack."""
    power = np.asarray(battery_power_w, dtype=np.float64).reshape(len(problem.batteries), problem.steps)
    net = np.asarray([s.base_w for s in problem.sites], dtype=np.float64).sum(axis=0) + power.sum(axis=0)
    imp, exp = np.maximum(net, 0.0), np.maximum(-net, 0.0)
    kwh = problem.step_h / 1000
    energy = float(kwh * (imp @ np.asarray(problem.prices.import_eur_per_kwh)
                          - exp @ np.asarray(problem.prices.export_eur_per_kwh)))
    wear = sum(b.wear_eur_per_kwh * kwh * float(np.abs(row).sum()) for b, row in zip(problem.batteries, power,
                                                                                      strict=True))
    return Costs(energy, wear, command_eur(problem, imp, exp), 0.0)


def command_eur(problem: RadialProblem, import_w: Array, export_w: Array) -> float:
    """The objective term of the aggregator's command, on the radial's import and export per step."""
    objective, kwh = problem.objective, problem.step_h / 1000
    if objective.solution == SolutionCode.PEAK_SHAVING:
        return objective.peak_eur_per_kw * float(import_w.max(initial=0.0)) / 1000
    if objective.solution == SolutionCode.PREVENT_FLICKER:
        return objective.flicker_eur_per_kw * float(np.abs(np.diff(import_w - export_w)).sum()) / 1000
    if objective.solution == SolutionCode.VOLTAGE_CONTROL:
        above = np.maximum(export_w - objective.voltage_export_w, 0.0)
        beyond = above.sum() + np.maximum(import_w - objective.voltage_import_w, 0.0).sum()
        return (objective.voltage_eur_per_kwh * kwh * float(beyond)
                + objective.voltage_peak_eur_per_kw * float(above.max(initial=0.0)) / 1000)
    return 0.0


def resample(schedule: Schedule, resolution_s: int) -> Schedule:
    """The schedule at another resolution: step means when coarser, repeated values when finer."""
    if resolution_s == schedule.resolution_s:
        return schedule
    power, soc = np.asarray(schedule.power_w), np.asarray(schedule.soc_pct)
    if resolution_s > schedule.resolution_s:
        if resolution_s % schedule.resolution_s:
            raise ValueError(f"{resolution_s} s is not a multiple of {schedule.resolution_s} s")
        k = resolution_s // schedule.resolution_s
        usable = len(power) // k * k
        power = power[:usable].reshape(-1, k).mean(axis=1)
        soc = soc[:usable].reshape(-1, k)[:, -1]
    else:
        if schedule.resolution_s % resolution_s:
            raise ValueError(f"{schedule.resolution_s} s is not a multiple of {resolution_s} s")
        k = schedule.resolution_s // resolution_s
        power, soc = np.repeat(power, k), np.repeat(soc, k)
    return Schedule(schedule.ess_key, schedule.start, resolution_s, tuple(map(float, power)),
                    tuple(map(float, soc)))
