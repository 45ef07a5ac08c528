"""A server of these tests' own: its own throwaway database, its own persistent Mosquitto (the
outage tests stop and restart it) and `sta-server` with STA_AUTH=off; a site's Datastreams made
over HTTP; the rows the server stored, read back for comparison."""
from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from alembic import command
from sqlalchemy import Engine, create_engine, text

from agents.observation_messages import StreamRef
from sta_client.settings import ClientSettings
from tests.conftest import LOCATION, _admin_url, alembic_config, throwaway_database
from tests.faults.conftest import Server
from tests.mosquitto import Broker


@dataclass
class SiteServer:
    server: Server
    broker: Broker
    engine: Engine

    @property
    def base_url(self) -> str:
        return self.server.base

    @property
    def mqtt_url(self) -> str:
        return f"mqtt://127.0.0.1:{self.broker.port}"

    def settings(self) -> ClientSettings:
        return ClientSettings(base_url=self.base_url, mqtt_url=self.mqtt_url, retry_budget_s=10.0,
                              backoff_base_s=0.05, backoff_max_s=1.0)

    def make_site(self, streams: int, prefix: str | None = None) -> dict[str, StreamRef]:
        """A Thing with `streams` Datastreams keyed `p0`, `p1`, … (SenML names `<site>/<key>`)."""
        site = prefix or f"site-{uuid.uuid4().hex[:8]}"
        body: dict[str, Any] = {"name": site, "description": "runtime test site", "Locations": [LOCATION],
                                "properties": {"siteId": site}, "Datastreams": [
                                    _datastream(f"p{n}", f"{site}/p{n}") for n in range(streams)]}
        response = httpx.post(f"{self.base_url}/Things", json=body, timeout=30)
        assert response.status_code == 201, response.text
        thing = httpx.get(response.headers["location"], params={"$expand": "Datastreams($top=1000)"}, timeout=30)
        return {ds["properties"]["key"]: StreamRef(ds["@iot.id"], ds["properties"]["senmlName"])
                for ds in thing.json()["Datastreams"]}

    def stored(self, stream_ids: list[int]) -> dict[int, list[tuple[datetime, float]]]:
        """(phenomenonTime, result) of every stored Observation of the streams, in time order."""
        found: dict[int, list[tuple[datetime, float]]] = {ident: [] for ident in stream_ids}
        with self.engine.connect() as conn:
            rows = conn.execute(text("SELECT datastream_id, phenomenon_time_start, result_number "
                                     "FROM observations WHERE datastream_id = ANY(:ids) "
                                     "ORDER BY datastream_id, phenomenon_time_start, id"), {"ids": stream_ids})
            for stream, moment, result in rows:
                found[stream].append((moment.astimezone(UTC), result))
        return found

    def count(self, stream_ids: list[int]) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM observations WHERE datastream_id = ANY(:ids)"),
                                    {"ids": stream_ids}).scalar_one())


def _datastream(key: str, senml_name: str) -> dict[str, Any]:
    return {"name": key, "description": key, "properties": {"key": key, "senmlName": senml_name},
            "unitOfMeasurement": {"name": "Watt", "symbol": "W", "definition": "ucum:W"},
            "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
            "Sensor": {"name": "s", "description": "s", "encodingType": "text/plain", "metadata": "s"},
            "ObservedProperty": {"name": f"power {key}", "description": "p", "definition": f"urn:test:{key}"}}


@pytest.fixture(scope="module")
def site_server() -> Iterator[SiteServer]:
    with throwaway_database(_admin_url()) as url:
        command.upgrade(alembic_config(url), "head")
        broker = Broker(persistent=True)
        broker.start()
        server = Server(url, broker.server_url, f"sta-runtime-test-{uuid.uuid4().hex[:6]}")
        engine = create_engine(url)
        try:
            server.start()
            yield SiteServer(server, broker, engine)
        finally:
            server.stop()
            engine.dispose()
            broker.remove()
            shutil.rmtree(server.log_path.parent, ignore_errors=True)
