"""The charging power of every EV per step under a site's headroom, pure (an LP on HiGHS).

Rule, lexicographic (each stage keeps the previous stage's optimum within a small tolerance):
1. serve as much energy as physically possible by each EV's departure (minimum total shortfall);
2. fairness: spread an unavoidable shortfall so that the worst-served EV misses the smallest share of its
   need (minimum of the largest relative shortfall);
3. charge as early as the headroom allows (an EV that leaves before its expected time has most of its
   energy; later headroom stays free for EVs that were not expected)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_array, csr_array, vstack

SECONDS_PER_HOUR = 3600.0
ABS_TOLERANCE_WH = 1e-3
REL_TOLERANCE = 1e-7


class AllocationError(ValueError):
    """Inputs the allocation cannot take (negative need, wrong lengths)."""


@dataclass(frozen=True)
class Demand:
    """One EV: `remaining_wh` to deliver, at most `max_power_w`, `present[t]` the fraction of step t it is
    plugged in (0 before its arrival and after its departure)."""

    key: str
    max_power_w: float
    remaining_wh: float
    present: tuple[float, ...]


@dataclass(frozen=True)
class AllocationProblem:
    step_s: int
    headroom_w: tuple[float, ...]  # what all EVs together may draw at each step (>= 0)
    demands: tuple[Demand, ...]


@dataclass(frozen=True)
class Allocation:
    power_w: dict[str, tuple[float, ...]]  # per EV, per step
    served_wh: dict[str, float]
    shortfall_wh: dict[str, float]
    worst_shortfall_share: float  # the largest shortfall / need among the EVs (0: all served)

    @property
    def total_shortfall_wh(self) -> float:
        return sum(self.shortfall_wh.values())


def _check(problem: AllocationProblem) -> None:
    steps = len(problem.headroom_w)
    if problem.step_s <= 0 or any(h < 0 for h in problem.headroom_w):
        raise AllocationError("step_s must be > 0 and the headroom >= 0")
    for demand in problem.demands:
        if len(demand.present) != steps:
            raise AllocationError(f"{demand.key}: {len(demand.present)} presence values for {steps} steps")
        if demand.remaining_wh < 0 or demand.max_power_w < 0 or not all(0 <= p <= 1 for p in demand.present):
            raise AllocationError(f"{demand.key}: need, power and presence must be >= 0 (presence <= 1)")


class _Lp:
    """Variables: p[i, t] (W) for every EV i and step t, then s[i] (Wh shortfall), then z (worst share)."""

    def __init__(self, problem: AllocationProblem) -> None:
        self.problem = problem
        self.n, self.steps = len(problem.demands), len(problem.headroom_w)
        self.h = problem.step_s / SECONDS_PER_HOUR
        self.np_, self.size = self.n * self.steps, self.n * self.steps + self.n + 1
        bounds = [(0.0, d.max_power_w if d.present[t] > 0 else 0.0) for d in problem.demands for t in range(self.steps)]
        self.bounds = bounds + [(0.0, d.remaining_wh) for d in problem.demands] + [(0.0, 1.0)]
        rows, cols, vals = [], [], []
        for i, d in enumerate(problem.demands):  # energy: -(sum_t h * present * p) - s <= -need
            for t in range(self.steps):
                rows.append(i)
                cols.append(i * self.steps + t)
                vals.append(-self.h * d.present[t])
            rows.append(i)
            cols.append(self.np_ + i)
            vals.append(-1.0)
        for t in range(self.steps):  # headroom: sum_i p[i, t] <= headroom[t]
            for i in range(self.n):
                rows.append(self.n + t)
                cols.append(i * self.steps + t)
                vals.append(1.0)
        self.a_ub = csr_array(coo_array((vals, (rows, cols)), shape=(self.n + self.steps, self.size)))
        self.b_ub = np.concatenate([[-d.remaining_wh for d in problem.demands], problem.headroom_w])

    def solve(self, cost: np.ndarray, extra: list[tuple[np.ndarray, float]]) -> np.ndarray:
        a_ub, b_ub = self.a_ub, self.b_ub
        if extra:
            a_ub = vstack([a_ub, csr_array(np.array([row for row, _ in extra]))]).tocsr()
            b_ub = np.concatenate([b_ub, [bound for _, bound in extra]])
        result = linprog(cost, A_ub=a_ub, b_ub=b_ub, bounds=self.bounds, method="highs")
        if result.status != 0:
            raise AllocationError(f"the allocation LP failed: {result.message}")
        return np.asarray(result.x)

    def shortfall_row(self) -> np.ndarray:
        row = np.zeros(self.size)
        row[self.np_:self.np_ + self.n] = 1.0
        return row

    def share_rows(self) -> list[tuple[np.ndarray, float]]:
        """s[i] - need[i] * z <= 0: every EV's shortfall within the worst share z."""
        rows = []
        for i, d in enumerate(self.problem.demands):
            row = np.zeros(self.size)
            row[self.np_ + i], row[-1] = 1.0, -d.remaining_wh
            rows.append((row, 0.0))
        return rows


def allocate(problem: AllocationProblem) -> Allocation:
    """The three-stage optimum (module doc)."""
    _check(problem)
    if not problem.demands:
        return Allocation({}, {}, {}, 0.0)
    lp = _Lp(problem)
    total = lp.solve(lp.shortfall_row(), [])[lp.np_:lp.np_ + lp.n].sum()
    keep_total = [(lp.shortfall_row(), total * (1 + REL_TOLERANCE) + ABS_TOLERANCE_WH)]
    z_cost = np.zeros(lp.size)
    z_cost[-1] = 1.0
    worst = lp.solve(z_cost, keep_total + lp.share_rows())[-1]
    z_row = np.zeros(lp.size)
    z_row[-1] = 1.0
    early = np.zeros(lp.size)
    early[:lp.np_] = np.tile(np.arange(1, lp.steps + 1, dtype=float), lp.n) * lp.h
    x = lp.solve(early, [*keep_total, *lp.share_rows(), (z_row, worst + 1e-6)])
    return _allocation(problem, lp, x)


def _allocation(problem: AllocationProblem, lp: _Lp, x: np.ndarray) -> Allocation:
    power: dict[str, tuple[float, ...]] = {}
    served: dict[str, float] = {}
    short: dict[str, float] = {}
    worst = 0.0
    for i, d in enumerate(problem.demands):
        p = np.clip(x[i * lp.steps:(i + 1) * lp.steps], 0.0, None)
        power[d.key] = tuple(float(v) for v in p)
        served[d.key] = min(d.remaining_wh, float(np.dot(p, d.present)) * lp.h)
        short[d.key] = max(0.0, d.remaining_wh - served[d.key])
        if d.remaining_wh > 0:
            worst = max(worst, short[d.key] / d.remaining_wh)
    return Allocation(power, served, short, worst)
