"""What-if study speed (issue 19: one year at 15-minute steps on the Bolzano-like grid `1-LV-semiurb4--2-sw`
with EV penetration 0/50/100 %, the three together in under 30 minutes). Runs `simulation.whatif.Study`
(no server: the power flows and KPIs only, `detail` summary) for a period, then extrapolates the per-step
time to a year (35,136 quarter hours of SimBench's 2016), with the fast power flow (default) or pandapower
for every step (`--pandapower`), for a control mode (`--control none|local|gesscon`, with `--pv`/`--ess`
penetrations; `gesscon` also reports the LP's wall time per simulated day). Also times the parts of a step:
the fast flow, pandapower's `runpp` as the study calls it (recycle), `runpp` with its defaults, the inputs and
the result reading.

    .venv/bin/python bench/simulation_whatif.py [--grid bolzano] [--start 2026-06-01] [--days 31] [--ev 0 50 100]
        [--control gesscon --pv 100 --ess 100] [--out bench/results/<date>-simulation-whatif.json]
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import pandapower  # noqa: E402

from simulation.whatif.request import parse_request  # noqa: E402
from simulation.whatif.study import RECYCLE, Study  # noqa: E402

YEAR_STEPS = 35_136


def request(grid: str, start: datetime, days: int, ev_pct: float, control: str = "none", pv_pct: float = 0,
            ess_pct: float = 0) -> dict[str, Any]:
    return {"grid": grid, "startTime": start.isoformat(), "stopTime": (start + timedelta(days=days)).isoformat(),
            "pvPenetration": pv_pct, "evPenetration": ev_pct, "essPenetration": ess_pct, "placement": "uniform",
            "controlMode": control, "detail": "summary"}


def run_study(grid: str, start: datetime, days: int, ev_pct: float, fast: bool, control: str = "none",
              pv_pct: float = 0, ess_pct: float = 0) -> dict[str, Any]:
    built = time.perf_counter()
    study = Study(parse_request(request(grid, start, days, ev_pct, control, pv_pct, ess_pct)), fast=fast)
    started, cpu = time.perf_counter(), time.process_time()
    kpis = study.run(lambda result: None)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    steps = int(kpis["steps"])
    return {"control": control, "ess": len(study.fleet.ess), "pv": len(study.fleet.pv),
            "cpu_s_per_day": round(cpu / days, 3), "plan_s_per_day": round(study.plan_solve_s / days, 3),
            "energy_cost_eur": round(kpis["energyCost_EUR"], 2), "planned_days": kpis["plannedDays"],
            "plans_not_optimal": kpis["plansNotOptimal"],
            "ev_pct": ev_pct, "evs": len(study.fleet.ev), "fast_flow": study.flow is not None,
            "steps": steps, "build_s": round(started - built, 2),
            "run_s": round(elapsed, 1), "ms_per_step": round(1000 * elapsed / steps, 1),
            "year_extrapolated_min": round(elapsed / steps * YEAR_STEPS / 60, 1),
            "not_converged": kpis["stepsNotConverged"], "v_min_pu": kpis["vMin_pu"],
            "max_line_loading_pct": kpis["maxLineLoading_pct"], "ev_kWh": round(kpis["ev_kWh"], 1)}


def _median_ms(action: Any, repeat: int) -> float:
    action()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return round(1000 * statistics.median(times), 1)


def step_parts(grid: str, start: datetime, repeat: int) -> dict[str, float]:
    """Median ms of the parts of one step."""
    study = Study(parse_request(request(grid, start, 1, 0)))
    model = study.model
    step = model.profiles.at(start)
    assert step is not None
    study.solve(start)  # pandapower's first solution, from which the fast flow is built
    assert study.flow is not None
    flow = study.flow
    return {
        "fast_flow_ms": _median_ms(lambda: flow.solve(start), repeat),
        "inputs_ms": _median_ms(lambda: model.set_inputs(step), repeat),
        "runpp_recycle_ms": _median_ms(lambda: pandapower.runpp(model.net, numba=False, init="results",
                                                                check_connectivity=False, recycle=RECYCLE), repeat),
        "runpp_default_ms": _median_ms(lambda: pandapower.runpp(model.net, numba=False), repeat),
        "result_ms": _median_ms(lambda: model.read_result(start), repeat),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--grid", default="bolzano")
    parser.add_argument("--start", default="2026-06-01")
    parser.add_argument("--days", type=int, default=31)
    parser.add_argument("--ev", type=float, nargs="+", default=[0.0, 50.0, 100.0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--pandapower", action="store_true", help="pandapower for every step (no fast flow)")
    parser.add_argument("--control", default="none", choices=["none", "local", "gesscon"])
    parser.add_argument("--pv", type=float, default=0.0, help="PV penetration %%")
    parser.add_argument("--ess", type=float, default=0.0, help="battery penetration %%")
    parser.add_argument("--no-parts", action="store_true", help="skip the timing of a step's parts")
    parser.add_argument("--out")
    args = parser.parse_args()
    logging.basicConfig(level="WARNING")
    warnings.simplefilter("ignore")
    start = datetime.fromisoformat(args.start).replace(tzinfo=UTC)
    report: dict[str, Any] = {"grid": args.grid, "start": args.start, "days": args.days,
                              "power_flow": "pandapower" if args.pandapower else "fast flow",
                              "control": args.control, "pv_pct": args.pv, "ess_pct": args.ess,
                              "load_average": os.getloadavg(), "cpus": os.cpu_count()}
    if not args.no_parts:
        report["step_parts"] = step_parts(args.grid, start, args.repeat)
        print(json.dumps(report["step_parts"]), flush=True)
    runs = []
    for ev_pct in args.ev:
        runs.append(run_study(args.grid, start, args.days, ev_pct, not args.pandapower, args.control, args.pv,
                              args.ess))
        print(json.dumps(runs[-1]), flush=True)
    report["runs"] = runs
    report["three_years_extrapolated_min"] = round(sum(run["year_extrapolated_min"] for run in runs), 1)
    report["load_average_after"] = os.getloadavg()
    print(json.dumps({"three_years_extrapolated_min": report["three_years_extrapolated_min"]}))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as out:
            json.dump(report, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
