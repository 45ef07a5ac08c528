"""What-if results written to a server: a study of `--days` on the Bolzano-like grid, `full` detail
(a voltage per bus, loading and current per line, on their FeaturesOfInterest) and `summary` detail,
through `simulation.whatif.results.ResultWriter` against a throwaway sta-server (bench/harness.py).
Reports the compute time, the time spent in CreateObservations and the Observations written, so the
write cost of a year can be extrapolated.

    .venv/bin/python bench/simulation_whatif_server.py [--days 2]
        [--out bench/results/<date>-simulation-whatif-server.json]
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.harness import own_server  # noqa: E402
from simulation.whatif.request import parse_request  # noqa: E402
from simulation.whatif.results import ResultWriter  # noqa: E402
from simulation.whatif.study import Study  # noqa: E402
from sta_client import ClientSettings, Query, StaClient  # noqa: E402

YEAR_STEPS = 35_136


def one_study(sta: StaClient, detail: str, start: datetime, days: int, task_id: int) -> dict[str, Any]:
    study = Study(parse_request({
        "grid": "bolzano", "startTime": start.isoformat(), "stopTime": (start + timedelta(days=days)).isoformat(),
        "pvPenetration": 0, "evPenetration": 50, "essPenetration": 0, "placement": "uniform",
        "controlMode": "none", "detail": detail}))
    writer = ResultWriter(sta, study, task_id, datetime.now(UTC), flush_every=96)
    opened = time.perf_counter()
    thing = writer.open()
    open_s = time.perf_counter() - opened
    write_s = 0.0
    flush = writer.flush

    def timed_flush() -> None:
        nonlocal write_s
        started = time.perf_counter()
        flush()
        write_s += time.perf_counter() - started

    writer.flush = timed_flush  # type: ignore[method-assign]
    started = time.perf_counter()
    kpis = study.run(writer.add)
    writer.finish("done", kpis)
    total_s = time.perf_counter() - started
    written = sta.page("Observations", Query().filter(f"Datastream/Thing/id eq {thing}").count().top(0)).count or 0
    steps = int(kpis["steps"])
    return {"detail": detail, "steps": steps, "streams": len(writer.streams), "observations": written,
            "open_s": round(open_s, 1), "total_s": round(total_s, 1), "write_s": round(write_s, 1),
            "compute_s": round(total_s - write_s, 1),
            "obs_per_s_written": round(written / write_s) if write_s else None,
            "year_write_extrapolated_min": round(write_s / steps * YEAR_STEPS / 60, 1),
            "year_observations": round(written / steps * YEAR_STEPS)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--start", default="2026-06-01")
    parser.add_argument("--out")
    args = parser.parse_args()
    logging.basicConfig(level="WARNING")
    warnings.simplefilter("ignore")
    with own_server() as server:
        start = datetime.fromisoformat(args.start).replace(tzinfo=UTC)
        settings = ClientSettings(base_url=server.base, timeout_s=120.0)
        with StaClient(settings) as sta:
            runs = [one_study(sta, detail, start, args.days, task)
                    for task, detail in enumerate(("full", "summary"), 1)]
        for run in runs:
            print(json.dumps(run), flush=True)
        report = {"days": args.days, "start": args.start, "load_average": os.getloadavg(), "runs": runs}
        if args.out:
            with open(args.out, "w", encoding="utf-8") as out:
                json.dump(report, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
