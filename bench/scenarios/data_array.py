"""Scenario 2: CreateObservations with dataArrays of 1,000 Observations each."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bench.load import run_closed_loop
from bench.scenarios import Context, Result
from bench.stats import latency_ms

CLIENTS = 2
ROWS = 1000
START = datetime(2025, 2, 1, tzinfo=UTC)


def body(stream: int, n: int) -> list[dict[str, object]]:
    first = START + timedelta(seconds=n * ROWS)
    rows = [[(first + timedelta(seconds=i)).isoformat(), float(i)] for i in range(ROWS)]
    return [{"Datastream": {"@iot.id": stream}, "components": ["phenomenonTime", "result"],
             "dataArray@iot.count": ROWS, "dataArray": rows}]


def run(ctx: Context) -> Result:
    streams = ctx.sizes.streams
    run_closed_loop(ctx.base, lambda c, n: ("POST", "CreateObservations", body(1 + n % streams, 90_000 + n)),
                    clients=1, max_requests=1, duration_s=60)  # warm-up
    duration = 10 if ctx.quick else 30
    payloads = [body(1 + n % streams, n) for n in range(64)]  # built before: not charged to the client
    result = run_closed_loop(
        ctx.base, lambda c, n: ("POST", "CreateObservations", _shift(payloads[n % 64], 1 + n % streams)),
        clients=CLIENTS, max_requests=10_000, duration_s=duration)
    rate = (result.requests - result.errors) * ROWS / result.wall_s
    return Result("2 dataArray CreateObservations", f"{CLIENTS} clients, {result.requests} × {ROWS} rows",
                  rate, "obs/s", latency_ms(result.latencies_s), "≥ 50000 obs/s", rate >= 50_000,
                  {"errors": result.errors, "first_error": result.first_error,
                   "requests_per_s": round(result.requests / result.wall_s, 2)})


def _shift(payload: list[dict[str, object]], stream: int) -> list[dict[str, object]]:
    """The same rows in another stream (times need not be distinct)."""
    group = dict(payload[0])
    group["Datastream"] = {"@iot.id": stream}
    return [group]
