"""What the field-side benchmarks share: a database, Mosquitto and sta-server of their own (bench/
harness.py) and a site Thing with N Datastreams made over HTTP."""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import Engine, text

from agents.observation_messages import StreamRef
from bench.harness import DEFAULT_ADMIN_URL, Database, Mosquitto, Server, ensure_project_postgres


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
