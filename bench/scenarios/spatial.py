"""Scenario 7: Things whose Location lies in a polygon, among 100,000 Locations."""
from __future__ import annotations

from urllib.parse import quote

from bench.load import Http, run_closed_loop
from bench.scenarios import Context, Result
from bench.stats import latency_ms

POLYGON = "POLYGON((9 46, 10 46, 10 47, 9 47, 9 46))"  # 1/80 of the area the Locations cover
FILTERS = {
    "st_within": f"st_within(Locations/location, geography'{POLYGON}')",
    "geo.intersects": f"geo.intersects(Locations/location, geography'{POLYGON}')",
}


def run(ctx: Context) -> Result:
    http = Http(ctx.base)
    paths = [f"Things?$filter={quote(f)}" for f in FILTERS.values()]
    counts = {name: http.get_json(f"Things?$count=true&$top=1&$filter={quote(f)}")["@iot.count"]
              for name, f in FILTERS.items()}
    latencies: list[float] = []
    per_filter = {}
    for name, path in zip(FILTERS, paths, strict=True):
        run_closed_loop(ctx.base, lambda c, n, p=path: ("GET", p, None), clients=1, max_requests=5,
                        duration_s=30, expect=200)
        result = run_closed_loop(ctx.base, lambda c, n, p=path: ("GET", p, None), clients=1,
                                 max_requests=20 if ctx.quick else 200, duration_s=60, expect=200)
        latencies.extend(result.latencies_s)
        per_filter[name] = latency_ms(result.latencies_s)
    lat = latency_ms(latencies)
    return Result("7 spatial filter", f"{ctx.sizes.things} Locations, matches {counts}, $top=100",
                  len(latencies) / sum(latencies), "req/s", lat, "< 50 ms", lat["p50_ms"] < 50,
                  {"per_filter": per_filter, "matches": counts})
