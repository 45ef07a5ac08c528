"""What-if jobs end to end: the three Bolzano-like studies of issue 19 (a year at 15-minute steps, EV
penetration 0/50/100 %) as Tasks on a running what-if engine (`WhatIfService.serve`, real clock)
against a throwaway sta-server (bench/harness.py): created at once, queued, run one after the other,
results written; the wall time from the first Task to the last `done`, and per job.

    .venv/bin/python bench/simulation_whatif_jobs.py [--days 365] [--detail summary]
        [--out bench/results/<date>-simulation-whatif-jobs.json]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
import warnings
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.harness import own_server  # noqa: E402
from clock import RealClock  # noqa: E402
from simulation.whatif.service import WhatIfService  # noqa: E402
from sta_client import ClientSettings, Query, StaClient  # noqa: E402


def task(days: int, ev_pct: float, detail: str) -> dict[str, Any]:
    stop = "2027-01-01T00:00:00Z" if days >= 365 else f"2026-01-{1 + days:02d}T00:00:00Z"
    return {"grid": "bolzano", "startTime": "2026-01-01T00:00:00Z", "stopTime": stop, "pvPenetration": 0,
            "evPenetration": ev_pct, "essPenetration": 0, "placement": "uniform", "controlMode": "none",
            "detail": detail}


async def run(settings: ClientSettings, days: int, detail: str) -> dict[str, Any]:
    service = WhatIfService(settings, RealClock(), flush_every=96 * 7)
    await asyncio.to_thread(service.commission)
    assert service.engine is not None
    stop = asyncio.Event()
    loop = asyncio.create_task(service.serve(1.0, stop))
    started = time.perf_counter()
    finished: dict[int, float] = {}
    with StaClient(settings) as sta:
        tasks = [int(await asyncio.to_thread(sta.create_task, service.engine.study_capability, task(days, ev, detail)))
                 for ev in (0.0, 50.0, 100.0)]
        while len(finished) < len(tasks):
            await asyncio.sleep(2.0)
            for task_id in tasks:
                job = service.queue.jobs.get(task_id)
                if job is not None and job.state in ("done", "failed", "cancelled") and task_id not in finished:
                    finished[task_id] = time.perf_counter() - started
                    print(json.dumps({"task": task_id, "state": job.state, "at_s": round(finished[task_id], 1)}),
                          flush=True)
        observations = sta.page("Observations", Query().count().top(0)).count
    stop.set()
    await loop
    return {"jobs": [{"task": task_id, "state": service.queue.jobs[task_id].state, "done_at_s": round(at, 1)}
                     for task_id, at in finished.items()],
            "total_s": round(time.perf_counter() - started, 1), "observations_on_server": observations}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--detail", default="summary", choices=["summary", "full"])
    parser.add_argument("--out")
    args = parser.parse_args()
    logging.basicConfig(level="WARNING")
    warnings.simplefilter("ignore")
    with own_server() as server:
        settings = ClientSettings(base_url=server.base, timeout_s=300.0)
        report = {"days": args.days, "detail": args.detail, "load_average_before": os.getloadavg(),
                  **asyncio.run(run(settings, args.days, args.detail)), "load_average_after": os.getloadavg()}
        print(json.dumps(report), flush=True)
        if args.out:
            with open(args.out, "w", encoding="utf-8") as out:
                json.dump(report, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
