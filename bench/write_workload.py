"""The single-entity write workload of bench/write_paths.py, against any SensorThings server: one
Observation POST after the other over one keep-alive connection, the same from 8 clients, deep
inserts of a Thing (Location + 3 Datastreams with new Sensors and ObservedProperties) and DELETEs of
those Things. Each phase reports client latencies, throughput and the CPU its server and database
spent per request (from /proc: immune to other load on the machine)."""
from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.load import Http, run_closed_loop
from bench.stats import percentile, tree_cpu_s

START = datetime(2025, 1, 1, tzinfo=UTC)
CLIENTS = 8
_ID = re.compile(r"\((\d+)\)\s*$")


@dataclass
class Target:
    """A server under test: its URL, the root pid of its processes, and the backends of its database
    (`backends()` -> pids, read just before and after each phase)."""

    name: str
    base: str
    server_pid: int
    backends: Callable[[], list[int]]
    database: str = ""
    source: str = ""  # the server code (this server's runs)
    streams: list[int] = field(default_factory=list)  # Datastreams made by `prepare`, CLIENTS * 3
    serial: Iterator[int] = field(default_factory=lambda: iter(range(10**9)))


def thing_body(tag: str, streams: int = 3) -> dict[str, Any]:
    """A Thing with a GeoJSON Location and `streams` Datastreams, each with its own new Sensor and
    ObservedProperty (a deep insert)."""
    unit = {"name": "watt", "symbol": "W", "definition": "http://qudt.org/vocab/unit/W"}
    return {
        "name": f"thing {tag}", "description": "bench", "properties": {"site": tag},
        "Locations": [{"name": f"loc {tag}", "description": "bench", "encodingType": "application/geo+json",
                       "location": {"type": "Point", "coordinates": [8.95, 46.0]}}],
        "Datastreams": [{
            "name": f"ds {tag}.{i}", "description": "bench", "unitOfMeasurement": unit,
            "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
            "Sensor": {"name": f"sensor {tag}.{i}", "description": "bench", "encodingType": "application/pdf",
                       "metadata": "https://example.org/sensor.pdf"},
            "ObservedProperty": {"name": f"power {tag}.{i}", "definition": "https://example.org/power",
                                 "description": "bench"},
        } for i in range(streams)],
    }


def created_id(http: Http, status: int, body: bytes, location: str | None) -> int:
    if status != 201:
        raise RuntimeError(f"create -> {status}: {body[:300]!r}")
    if location and _ID.search(location):
        return int(_ID.search(location).group(1))  # type: ignore[union-attr]
    return int(json.loads(body)["@iot.id"])


def post(http: Http, path: str, body: Any) -> tuple[int, bytes, str | None]:
    """A POST that keeps the Location header (bench.load.Http drops headers)."""
    http.conn.request("POST", f"{http.prefix}/{path}", body=json.dumps(body).encode(),
                      headers={"Content-Type": "application/json"})
    response = http.conn.getresponse()
    return response.status, response.read(), response.getheader("Location")


def prepare(target: Target) -> None:
    """CLIENTS Things with 3 Datastreams each: the streams the Observation phases write to."""
    http = Http(target.base)
    for client in range(CLIENTS):
        thing = created_id(http, *post(http, "Things", thing_body(f"{target.name}-prep-{client}")))
        page = http.get_json(f"Things({thing})/Datastreams?$select=id&$orderby=id")
        target.streams += [int(item["@iot.id"]) for item in page["value"]]
    http.close()


def observation(target: Target, stream: int) -> dict[str, Any]:
    n = next(target.serial)
    return {"phenomenonTime": (START + timedelta(seconds=n)).isoformat().replace("+00:00", "Z"),
            "result": n % 1000 + 0.5, "Datastream": {"@iot.id": stream}}


@dataclass
class Phase:
    """What one phase measured."""

    requests: int = 0
    errors: int = 0
    wall_s: float = 0.0
    latencies_s: list[float] = field(default_factory=list)
    server_cpu_s: float = 0.0
    db_cpu_s: float = 0.0
    load_average: float = 0.0
    first_error: str = ""

    def summary(self) -> dict[str, Any]:
        ok = max(1, self.requests)
        lat = {f"p{p}_ms": round(percentile(self.latencies_s, p) * 1000, 2) for p in (50, 90, 99)}
        return {"requests": self.requests, "errors": self.errors, "per_s": round(self.requests / self.wall_s, 1),
                **lat, "server_cpu_ms": round(1000 * self.server_cpu_s / ok, 3),
                "db_cpu_ms": round(1000 * self.db_cpu_s / ok, 3), "load_average_1m": self.load_average,
                **({"first_error": self.first_error} if self.first_error else {})}


def measured(target: Target, work: Callable[[Phase], None]) -> Phase:
    phase = Phase(load_average=round(os.getloadavg()[0], 2))
    server0, db0 = tree_cpu_s(target.server_pid), _cpu(target.backends())
    started = time.perf_counter()
    work(phase)
    phase.wall_s = time.perf_counter() - started
    phase.server_cpu_s = tree_cpu_s(target.server_pid) - server0
    # per backend: one that closed meanwhile is not counted (a sum over the two sets of pids went
    # negative when a busy backend closed), one that opened counts from zero
    phase.db_cpu_s = sum(max(0.0, cpu - db0.get(pid, 0.0)) for pid, cpu in _cpu(target.backends()).items())
    return phase


def _cpu(pids: list[int]) -> dict[int, float]:
    from bench.stats import cpu_s

    return {pid: cpu_s(pid) for pid in pids}


def sequential_posts(target: Target, count: int) -> Phase:
    def work(phase: Phase) -> None:
        http = Http(target.base)
        for n in range(count):
            body = observation(target, target.streams[n % len(target.streams)])
            started = time.perf_counter()
            status, text = http.request("POST", "Observations", body)
            phase.latencies_s.append(time.perf_counter() - started)
            _check(phase, status, text, 201)
        http.close()
    return measured(target, work)


def concurrent_posts(target: Target, duration_s: float) -> Phase:
    """CLIENTS clients, each on the 3 streams of its own Thing (a site), back to back."""
    def request(client: int, n: int) -> tuple[str, str, object]:
        stream = target.streams[(client * 3 + n % 3) % len(target.streams)]
        return "POST", "Observations", observation(target, stream)

    def work(phase: Phase) -> None:
        result = run_closed_loop(target.base, request, clients=CLIENTS, max_requests=10**7, duration_s=duration_s)
        phase.latencies_s, phase.errors, phase.first_error = result.latencies_s, result.errors, result.first_error
        phase.requests = result.requests
    return measured(target, work)


def deep_inserts(target: Target, count: int, made: list[int]) -> Phase:
    def work(phase: Phase) -> None:
        http = Http(target.base)
        for _ in range(count):
            body = thing_body(f"{target.name}-deep-{next(target.serial)}")
            started = time.perf_counter()
            status, text, location = post(http, "Things", body)
            phase.latencies_s.append(time.perf_counter() - started)
            if _check(phase, status, text, 201):
                made.append(created_id(http, status, text, location))
        http.close()
    return measured(target, work)


def deletes(target: Target, things: list[int]) -> Phase:
    def work(phase: Phase) -> None:
        http = Http(target.base)
        for thing in things:
            started = time.perf_counter()
            status, text = http.request("DELETE", f"Things({thing})")
            phase.latencies_s.append(time.perf_counter() - started)
            _check(phase, status, text, 200, 204)
        http.close()
    return measured(target, work)


def _check(phase: Phase, status: int, text: bytes, *expected: int) -> bool:
    phase.requests += 1
    if status in expected:
        return True
    phase.errors += 1
    phase.first_error = phase.first_error or f"{status}: {text[:200]!r}"
    return False
