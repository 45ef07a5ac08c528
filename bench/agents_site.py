"""What the field-side benchmarks share: a database, Mosquitto and sta-server of their own (bench/
harness.py), a site Thing with N Datastreams made over HTTP, a synthetic device, the process's CPU
and memory."""
from __future__ import annotations

import os
import resource
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import Engine, text

from adapters.connector import Command, CommandResult, Reading
from agents.observation_messages import StreamRef
from bench.harness import DEFAULT_ADMIN_URL, Database, Mosquitto, Server, ensure_project_postgres
from clock import Clock


@dataclass
class Backend:
    server: Server
    broker: Mosquitto
    engine: Engine

    def count(self, stream_ids: Sequence[int]) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM observations WHERE datastream_id = ANY(:ids)"),
                                    {"ids": list(stream_ids)}).scalar_one())


@contextmanager
def backend(workers: int = 1) -> Iterator[Backend]:
    admin = os.environ.get("STA_DATABASE_URL", DEFAULT_ADMIN_URL)
    ensure_project_postgres(admin)
    database, broker = Database(admin), Mosquitto()
    engine = database.create()
    server = Server(database.url, "", workers=workers)
    try:
        broker.start()
        server.mqtt_url = broker.url
        server.start()
        yield Backend(server, broker, engine)
    finally:
        server.stop()
        broker.stop()
        engine.dispose()
        database.drop()


def make_site(base_url: str, streams: int) -> dict[str, StreamRef]:
    """A Thing with `streams` Datastreams keyed `p0`, `p1`, … (SenML names `<site>/<key>`)."""
    site = f"bench-{uuid.uuid4().hex[:8]}"
    body: dict[str, Any] = {
        "name": site, "description": "field bench site", "properties": {"siteId": site},
        "Locations": [{"name": site, "description": "l", "encodingType": "application/geo+json",
                       "location": {"type": "Point", "coordinates": [8.98, 56.83]}}],
        "Datastreams": [{"name": f"p{n}", "description": "d", "properties": {"key": f"p{n}",
                                                                             "senmlName": f"{site}/p{n}"},
                         "unitOfMeasurement": {"name": "Watt", "symbol": "W", "definition": "ucum:W"},
                         "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
                         "Sensor": {"name": "s", "description": "s", "encodingType": "text/plain", "metadata": "s"},
                         "ObservedProperty": {"name": f"power p{n}", "description": "p",
                                              "definition": f"urn:bench:p{n}"}} for n in range(streams)]}
    created = httpx.post(f"{base_url}/Things", json=body, timeout=60)
    created.raise_for_status()
    thing = httpx.get(created.headers["location"], params={"$expand": "Datastreams($top=1000)"}, timeout=60).json()
    return {ds["properties"]["key"]: StreamRef(ds["@iot.id"], ds["properties"]["senmlName"])
            for ds in thing["Datastreams"]}


class SyntheticMeter:
    """A device whose streams read a value derived from the clock (no network: the cost measured is
    the runtime's, not a protocol's)."""

    def __init__(self, device: str, clock: Clock, keys: Sequence[str]) -> None:
        self._device, self.clock, self.keys = device, clock, list(keys)

    @property
    def device(self) -> str:
        return self._device

    async def start(self) -> None:
        return None

    async def read(self) -> list[Reading]:
        now = self.clock.now()
        return [Reading(key, round(1000 + n + now.timestamp() % 100, 3), now) for n, key in enumerate(self.keys)]

    async def write(self, command: Command) -> CommandResult:
        return CommandResult(False, "read-only")

    async def stop(self) -> None:
        return None


def readings_at(keys: Sequence[str], moment: datetime, poll: int) -> list[Reading]:
    return [Reading(key, float(poll * 100 + n), moment) for n, key in enumerate(keys)]


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def memory_kb() -> dict[str, int]:
    """VmRSS and VmHWM of this process."""
    with open("/proc/self/status") as status:
        fields = dict(line.split(":", 1) for line in status if line.startswith(("VmRSS", "VmHWM")))
    return {name: int(value.split()[0]) for name, value in fields.items()}


def machine() -> dict[str, Any]:
    return {"cores": os.cpu_count(), "load_average_1m_5m_15m": list(os.getloadavg()),
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
