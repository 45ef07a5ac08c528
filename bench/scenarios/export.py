"""Scenario 5: one day of a 1-second Datastream streamed out through nextLinks, JSON and dataArray."""
from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from bench.dataset import DAY_STREAM_START
from bench.load import Http
from bench.scenarios import Context, Result
from bench.stats import latency_ms, percentile

PAGE = 10_000


def _fetch_all(http: Http, path: str, array: bool) -> tuple[int, list[float]]:
    rows, pages, url = 0, [], path
    while url:
        started = time.perf_counter()
        page: Any = http.get_json(url)
        pages.append(time.perf_counter() - started)
        if array:
            rows += sum(len(group["dataArray"]) for group in page["value"])
        else:
            rows += len(page["value"])
        url = page.get("@iot.nextLink")
    return rows, pages


def run(ctx: Context) -> Result:
    day = datetime.fromisoformat(DAY_STREAM_START) + timedelta(seconds=ctx.sizes.day_seconds)
    end = day + timedelta(seconds=ctx.sizes.day_seconds)
    filter_ = f"phenomenonTime%20ge%20{day.isoformat()}%20and%20phenomenonTime%20lt%20{end.isoformat()}"
    filter_ = filter_.replace("+", "%2B")
    base = (f"Datastreams({ctx.sizes.day_stream})/Observations?$filter={filter_}"
            f"&$orderby=phenomenonTime&$top={PAGE}")
    http = Http(ctx.base)
    totals: dict[str, list[float]] = {"json": [], "dataArray": []}
    pages: list[float] = []
    for _ in range(1 if ctx.quick else 3):
        for name, suffix in (("json", ""), ("dataArray", "&$resultFormat=dataArray")):
            started = time.perf_counter()
            rows, page_times = _fetch_all(http, base + suffix, name == "dataArray")
            totals[name].append(time.perf_counter() - started)
            pages.extend(page_times)
            assert rows == ctx.sizes.day_seconds, (name, rows)
    json_s, array_s = percentile(totals["json"], 50), percentile(totals["dataArray"], 50)
    return Result("5 one day export", f"{ctx.sizes.day_seconds} rows, pages of {PAGE}, median of "
                  f"{len(totals['json'])}", ctx.sizes.day_seconds / json_s, "rows/s (JSON)", latency_ms(pages),
                  "(no target)", True, {"json_total_s": round(json_s, 2), "dataArray_total_s": round(array_s, 2),
                                        "dataArray_rows_per_s": round(ctx.sizes.day_seconds / array_s),
                                        "latency_is": "per page"})
