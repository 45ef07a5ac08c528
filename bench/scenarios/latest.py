"""Scenario 4: the latest 100 Observations of one Datastream on a table of ≥ 10 M Observations."""
from __future__ import annotations

from bench.load import Http, run_closed_loop
from bench.scenarios import Context, Result
from bench.stats import latency_ms


def run(ctx: Context) -> Result:
    path = f"Datastreams({ctx.sizes.big_stream})/Observations?$orderby=phenomenonTime%20desc&$top=100"
    page = Http(ctx.base).get_json(path)
    assert len(page["value"]) == 100, page
    run_closed_loop(ctx.base, lambda c, n: ("GET", path, None), clients=1, max_requests=50, duration_s=30,
                    expect=200)
    result = run_closed_loop(ctx.base, lambda c, n: ("GET", path, None), clients=1,
                             max_requests=300 if ctx.quick else 2000, duration_s=60, expect=200)
    lat = latency_ms(result.latencies_s)
    return Result("4 latest 100 of a stream", f"{ctx.sizes.observations / 1e6:.2f} M obs, stream of "
                  f"{ctx.sizes.big_stream_rows} rows, 1 client, {result.requests} GETs",
                  result.requests / result.wall_s, "req/s", lat, "p50 < 5 ms, p99 < 20 ms",
                  lat["p50_ms"] < 5 and lat["p99_ms"] < 20, {"errors": result.errors})
