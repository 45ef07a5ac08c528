"""Scenario 1: single-Observation POSTs from several concurrent clients."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bench.load import run_closed_loop
from bench.scenarios import Context, Result
from bench.stats import latency_ms

CLIENTS = 8
STREAMS = 100
START = datetime(2025, 1, 1, tzinfo=UTC)


def run(ctx: Context) -> Result:
    def request(client: int, n: int) -> tuple[str, str, object]:
        time = (START + timedelta(milliseconds=n)).isoformat()
        return "POST", f"Datastreams({1 + n % STREAMS})/Observations", {"phenomenonTime": time, "result": n}

    run_closed_loop(ctx.base, lambda c, n: request(c, 10_000_000 + n), clients=2, max_requests=100,
                    duration_s=30)  # warm-up: pool, generated FeaturesOfInterest
    duration = 5 if ctx.quick else 30
    result = run_closed_loop(ctx.base, request, clients=CLIENTS, max_requests=200_000, duration_s=duration)
    rate = (result.requests - result.errors) / result.wall_s
    lat = latency_ms(result.latencies_s)
    return Result("1 HTTP POST Observation", f"{CLIENTS} clients, {result.requests} POSTs over {STREAMS} streams",
                  rate, "req/s", lat, "≥ 1000 req/s", rate >= 1000,
                  {"errors": result.errors, "first_error": result.first_error})
