"""GESSCon's day-ahead LP solve time (issue 18: 10 ESS × 1,440 one-minute steps < 10 s; 100 ESS × 96
fifteen-minute steps < 30 s), on the synthetic radial day of the tests (tests/controllers/gesscon/cases.py:
one house per battery, PV and load, time-of-use import price, no feed-in tariff, 11 kW contracts).
Reports wall time of `solve_day_ahead` (building the sparse matrices + HiGHS), the problem size, the
MILP rounds the no-overlap rule needed, and the cost against the self-consumption baseline.

    .venv/bin/python bench/gesscon_solve.py [--repeat 3] [--case 10x1440 ...]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from controllers.gesscon import Objective, SolutionCode, evaluate, self_consumption, solve_day_ahead  # noqa: E402
from planning.layout import Layout  # noqa: E402
from tests.controllers.gesscon.cases import radial  # noqa: E402

CASES = {"10x1440": (10, 1440), "100x96": (100, 96), "10x24": (10, 24), "10x96": (10, 96)}


def run(name: str, repeat: int, peak: bool) -> dict[str, object]:
    n_ess, steps = CASES[name]
    objective = Objective(solution=SolutionCode.PEAK_SHAVING if peak else SolutionCode.ECONOMIC)
    problem = radial(n_ess, steps, objective=objective)
    times, plan = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        plan = solve_day_ahead(problem)
        times.append(time.perf_counter() - started)
    assert plan is not None
    baseline = evaluate(problem, self_consumption(problem)).total_eur
    return {"case": name, "objective": objective.solution.value, "variables": Layout(n_ess, n_ess, steps).size,
            "median_s": round(statistics.median(times), 2), "max_s": round(max(times), 2),
            "status": plan.status, "milp_rounds": plan.milp_rounds, "max_overlap_w": round(plan.max_overlap_w, 6),
            "cost_eur": round(plan.costs.total_eur, 3), "baseline_eur": round(baseline, 3),
            "load_avg_1m": round(os.getloadavg()[0], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--case", action="append", choices=sorted(CASES))
    parser.add_argument("--peak-shaving", action="store_true")
    args = parser.parse_args()
    for name in args.case or ["10x1440", "100x96"]:
        print(json.dumps(run(name, args.repeat, args.peak_shaving)), flush=True)


if __name__ == "__main__":
    main()
