"""Scenario 6: 1,000 Things with their Datastreams and each one's latest Observation, one query."""
from __future__ import annotations

from bench.load import Http, run_closed_loop
from bench.scenarios import Context, Result
from bench.stats import latency_ms

QUERY = ("Things?$top={top}&$expand=Datastreams($expand=Observations($top=1;"
         "$orderby=phenomenonTime%20desc))")


def run(ctx: Context) -> Result:
    top = ctx.sizes.dashboard_things
    path = QUERY.format(top=top)
    page = Http(ctx.base).get_json(path)
    things = page["value"]
    assert len(things) == top, len(things)
    assert all(len(ds["Observations"]) == 1 for t in things for ds in t["Datastreams"]), "missing latest"
    result = run_closed_loop(ctx.base, lambda c, n: ("GET", path, None), clients=1,
                             max_requests=3 if ctx.quick else 20, duration_s=120, expect=200)
    lat = latency_ms(result.latencies_s)
    return Result("6 dashboard $expand", f"{top} Things × 2 streams, latest obs each; {result.requests} GETs",
                  result.requests / result.wall_s, "req/s", lat, "< 300 ms", lat["p50_ms"] < 300,
                  {"errors": result.errors})
