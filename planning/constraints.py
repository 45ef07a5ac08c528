"""The day-ahead LP's rows, built as sparse blocks (scipy.sparse COO triplets), one function per rule."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from planning.inputs import RadialProblem, SolutionCode
from planning.layout import Index, Layout

Array = NDArray[np.float64]


@dataclass
class Rows:
    """Accumulates constraint rows lb <= A x <= ub as COO triplets."""

    count: int = 0
    rows: list[Index] = field(default_factory=list)
    cols: list[Index] = field(default_factory=list)
    vals: list[Array] = field(default_factory=list)
    lower: list[Array] = field(default_factory=list)
    upper: list[Array] = field(default_factory=list)

    def add(self, terms: list[tuple[Index, float | Array]], lower: Array, upper: Array) -> None:
        """One row per element of `lower`; each term: column indices (same shape) and their coefficients."""
        n = len(lower)
        row = np.arange(self.count, self.count + n, dtype=np.int64)
        for cols, coef in terms:
            flat = cols.reshape(-1, n)  # several columns per row when cols is 2-D (summed blocks)
            for part in flat:
                self.rows.append(row)
                self.cols.append(part)
                self.vals.append(np.broadcast_to(np.asarray(coef, dtype=np.float64), (n,)).copy())
        self.lower.append(np.asarray(lower, dtype=np.float64))
        self.upper.append(np.asarray(upper, dtype=np.float64))
        self.count += n

    def matrix(self, columns: int) -> tuple[sp.csr_array, Array, Array]:
        a = sp.coo_array((np.concatenate(self.vals), (np.concatenate(self.rows), np.concatenate(self.cols))),
                         shape=(self.count, columns)).tocsr()
        return a, np.concatenate(self.lower), np.concatenate(self.upper)


def soc_dynamics(rows: Rows, problem: RadialProblem, lay: Layout) -> None:
    """E[t] - E[t-1] - h·ηc·C[t] + h/ηd·D[t] = 0, with E[-1] the initial energy (moved to the right side)."""
    h, t = problem.step_h, problem.steps
    for i, ess in enumerate(problem.batteries):
        rhs = np.zeros(t)
        rhs[0] = ess.soc_initial_wh
        energy = lay.energy[i]
        rows.add([(energy, 1.0), (lay.charge[i], -h * ess.charge_efficiency),
                  (lay.discharge[i], h / ess.discharge_efficiency)], rhs, rhs)
        first = rows.count - t  # the row of step 0 just added; step k also holds −E[k−1]
        rows.rows.append(np.arange(first + 1, first + t, dtype=np.int64))
        rows.cols.append(energy[:-1])
        rows.vals.append(-np.ones(t - 1))


def radial_balance(rows: Rows, problem: RadialProblem, lay: Layout) -> None:
    """Import − export at the transformer = Σ sites' load + PV + Σ batteries' (C − D)."""
    base = np.asarray([s.base_w for s in problem.sites], dtype=np.float64).reshape(-1, problem.steps).sum(axis=0)
    terms: list[tuple[Index, float | Array]] = [(lay.radial_import, 1.0), (lay.radial_export, -1.0)]
    if problem.batteries:
        terms += [(lay.charge, -1.0), (lay.discharge, 1.0)]
    rows.add(terms, base, base)


def site_contracts(rows: Rows, problem: RadialProblem, lay: Layout) -> None:
    """Each site: −(out + slack) <= load + PV + Σ its batteries' (C − D) <= in + slack."""
    inf = np.full(problem.steps, np.inf)
    for j, site in enumerate(problem.sites):
        own = np.asarray([i for i, b in enumerate(problem.batteries) if b.site_id == site.site_id], dtype=np.int64)
        base = np.asarray(site.base_w, dtype=np.float64)
        flows: list[tuple[Index, float | Array]] = []
        if own.size:
            flows = [(lay.charge[own], 1.0), (lay.discharge[own], -1.0)]
        rows.add([*flows, (lay.site_slack_in[j], -1.0)], -inf, site.contract_in_w - base)
        rows.add([*flows, (lay.site_slack_out[j], 1.0)], -site.contract_out_w - base, inf)


def transformer_limits(rows: Rows, problem: RadialProblem, lay: Layout) -> None:
    """Import <= transformer_in + slack, export <= transformer_out + slack; peak >= import when selected."""
    inf, t = np.full(problem.steps, np.inf), problem.steps
    rows.add([(lay.radial_import, 1.0), (lay.transformer_slack_in, -1.0)], -inf, np.full(t, problem.transformer_in_w))
    rows.add([(lay.radial_export, 1.0), (lay.transformer_slack_out, -1.0)], -inf,
             np.full(t, problem.transformer_out_w))
    rows.add([(lay.radial_import, 1.0), (np.full(t, lay.peak, dtype=np.int64), -1.0)], -inf, np.zeros(t))


def command_terms(rows: Rows, problem: RadialProblem, lay: Layout) -> None:
    """Flicker: (I − X)[t] − (I − X)[t−1] = up[t] − down[t]; voltage: I − excess_in <= band_in,
    X − excess_out <= band_out and excess_out <= export_peak. Only for the solution the aggregator's command
    selects."""
    objective, t = problem.objective, problem.steps
    if objective.solution == SolutionCode.PREVENT_FLICKER and t > 1:
        now, before = slice(1, t), slice(0, t - 1)
        zero = np.zeros(t - 1)
        rows.add([(lay.radial_import[now], 1.0), (lay.radial_export[now], -1.0),
                  (lay.radial_import[before], -1.0), (lay.radial_export[before], 1.0),
                  (lay.ramp_up[now], -1.0), (lay.ramp_down[now], 1.0)], zero, zero)
    if objective.solution == SolutionCode.VOLTAGE_CONTROL:
        inf = np.full(t, np.inf)
        rows.add([(lay.radial_export, 1.0), (lay.band_excess_out, -1.0)], -inf, np.full(t, objective.voltage_export_w))
        rows.add([(lay.band_excess_out, 1.0), (np.full(t, lay.export_peak, dtype=np.int64), -1.0)], -inf,
                 np.zeros(t))
        if math.isfinite(objective.voltage_import_w):
            rows.add([(lay.radial_import, 1.0), (lay.band_excess_in, -1.0)], -inf,
                     np.full(t, objective.voltage_import_w))


def exporting_beyond_band(problem: RadialProblem) -> NDArray[np.bool_]:
    """The steps at which the radial's own load and PV (no battery) export more than the voltage band."""
    base = np.asarray([s.base_w for s in problem.sites], dtype=np.float64).reshape(-1, problem.steps).sum(axis=0)
    return np.asarray(-base > problem.objective.voltage_export_w)


def no_overlap(rows: Rows, problem: RadialProblem, lay: Layout) -> None:
    """At a step with a binary z: Σ C <= Mc·z and Σ D <= Md·(1 − z) (the radial charges or discharges)."""
    if not lay.binary_steps or not problem.batteries:
        return
    steps = np.asarray(lay.binary_steps, dtype=np.int64)
    big_c = sum(b.max_charge_w for b in problem.batteries)
    big_d = sum(b.max_discharge_w for b in problem.batteries)
    inf = np.full(len(steps), np.inf)
    rows.add([(lay.charge[:, steps], 1.0), (lay.binaries, -big_c)], -inf, np.zeros(len(steps)))
    rows.add([(lay.discharge[:, steps], 1.0), (lay.binaries, big_d)], -inf, np.full(len(steps), big_d))
