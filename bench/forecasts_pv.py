"""Benchmark: the day-ahead PV forecasts of 100 PV Things computed and stored (issue 17: < 10 s).

    .venv/bin/python -m bench.forecasts_pv [--things 100] [--rounds 3] [--base-url http://…/v1.1]

Without `--base-url` it starts its own database, Mosquitto and `sta-server` (bench/harness.py) on the
project PostgreSQL (port 55432) and removes them afterwards. It creates `--things` `pv` Things around
the Fur-like weather point (random 3–10 kWp, tilt 15–45°, azimuth 120–240°, seeded), then times
`run_day_ahead` with the recorded Open-Meteo fixture as the only source (weather + PV, nothing else):

- `cold`: the first round, which also creates the 100 `P_pv_forecast` Datastreams;
- `warm`: rounds with a new issue time (100 × 24 Observations in one transaction);
- `rerun`: the same issue time again (identical data: the write plan keeps every step, no write);
- the documented queries on one forecast Datastream (median ms of 20), then again after
  `--history-days` (30) more daily runs of every Thing (100 × 24 × 30 more Observations).
Results: docs/forecasts.md.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import random
import statistics
import time
from datetime import UTC, date, datetime, timedelta

from adapters.forecasts import queries
from adapters.forecasts.jobs import DayAheadConfig, run_day_ahead
from adapters.forecasts.sources import OpenMeteoFile
from bench.harness import own_server
from sta_client.http import StaClient
from sta_client.query import Query
from sta_client.settings import ClientSettings

log = logging.getLogger("bench.forecasts_pv")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(ROOT, "tests", "fixtures", "forecasts", "open_meteo_fur_2026-06-20.json")
DAY = date(2026, 6, 21)
FIRST_ISSUE = datetime(2026, 6, 20, 20, tzinfo=UTC)


def make_pv_things(sta: StaClient, count: int, seed: int = 17) -> None:
    rng = random.Random(seed)
    for i in range(count):
        latitude, longitude = 56.8 + rng.uniform(-0.2, 0.2), 8.9 + rng.uniform(-0.3, 0.3)
        sta.create("Things", {
            "name": f"bench PV {i}", "description": "benchmark PV system",
            "Locations": [{"name": f"bench PV {i}", "description": "roof", "encodingType": "application/geo+json",
                           "location": {"type": "Point", "coordinates": [longitude, latitude]}}],
            "properties": {"kind": "pv", "deviceId": f"bench-pv-{i}", "peakPower_kWp": round(rng.uniform(3, 10), 1),
                           "tilt_deg": rng.randint(15, 45), "azimuth_deg": rng.randint(120, 240), "losses_pct": 14}})


def timed_round(sta: StaClient, config: DayAheadConfig, issued_at: datetime) -> tuple[float, int]:
    started = time.perf_counter()
    report = run_day_ahead(sta, config, DAY, issued_at)
    elapsed = time.perf_counter() - started
    log.warning("round issued %s: %.2f s, written %s", issued_at, elapsed, report.written)
    if report.errors or report.stale:
        raise RuntimeError(f"the round failed: {report.errors} {report.stale}")
    return elapsed, report.written.get("pv", 0)


def time_queries(sta: StaClient, repeat: int = 20) -> dict[str, float]:
    """Median milliseconds of the documented queries on one PV forecast Datastream holding
    1 + 2·rounds runs: the latest issue time, a run's steps, the issue time at or before t."""
    stream = sta.page("Datastreams", Query().filter("properties/key eq 'P_pv_forecast'").select("id").top(1))
    path = f"Datastreams({stream.values[0]['@iot.id']})/Observations"
    cases = {"latest_issue_ms": queries.latest_issue(), "run_steps_ms": queries.run_steps(FIRST_ISSUE),
             "issued_before_ms": queries.issue_at_or_before(FIRST_ISSUE + timedelta(seconds=90))}
    result = {}
    for name, query in cases.items():
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            sta.page(path, query)
            samples.append((time.perf_counter() - started) * 1000)
        result[name] = round(statistics.median(samples), 1)
    return result


def run(base_url: str, things: int, rounds: int, history_days: int = 30) -> dict[str, object]:
    config = DayAheadConfig(weather=(OpenMeteoFile("fur", FIXTURE),), zone="Europe/Copenhagen")
    with StaClient(ClientSettings(base_url=base_url, timeout_s=60.0)) as sta:
        make_pv_things(sta, things)
        cold_s, written = timed_round(sta, config, FIRST_ISSUE)
        warm = [timed_round(sta, config, FIRST_ISSUE + timedelta(minutes=i + 1))[0] for i in range(rounds)]
        rerun = [timed_round(sta, config, FIRST_ISSUE)[0] for _ in range(rounds)]
        queries_ms = time_queries(sta)
        for day in range(1, history_days + 1):  # a month of daily runs, then the queries again
            run_day_ahead(sta, config, DAY, FIRST_ISSUE - timedelta(days=day))
        history_ms = {f"{name}_after_{history_days}_more_runs": value for name, value in time_queries(sta).items()}
    return {**queries_ms, **history_ms, "things": things, "pv_observations_per_round": written,
            "cold_s": round(cold_s, 2),
            "warm_s": [round(s, 2) for s in warm], "warm_median_s": round(statistics.median(warm), 2),
            "rerun_s": [round(s, 2) for s in rerun], "rerun_median_s": round(statistics.median(rerun), 2),
            "limit_s": 10.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--things", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--base-url", default=None)
    parser.add_argument("--history-days", type=int, default=30)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("adapters.forecasts").setLevel(os.environ.get("BENCH_FORECASTS_LOG", "WARNING"))
    if args.base_url:
        result = run(args.base_url, args.things, args.rounds, args.history_days)
    else:
        with own_server() as server:
            result = run(server.base, args.things, args.rounds, args.history_days)
    log.warning("result: %s", json.dumps(result))


if __name__ == "__main__":
    main()
