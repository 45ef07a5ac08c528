"""The notifier's read-backs (topics with $filter/$expand, navigation paths only the database
resolves) for a batch above PostgreSQL's 65,535 bind parameters: every Observation is notified on
every topic, one topic group's failure costs that group alone (red team finding F4)."""
from __future__ import annotations

import json
import logging
from collections import Counter
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from sta_server.mqtt.ingest import Incoming, Ingest
from sta_server.mqtt.notify import Notifier
from sta_server.mqtt.subscriptions import SubscriptionRegistry
from sta_server.service.events import EntityChanged, EventBus
from tests.conftest import LOCATION, datastream_body

ROWS = 70_000  # one batch's events, above the 65,535 parameters of one statement


class Kept:
    """The notifier's publisher: what it hands to the broker connection, in order."""

    def __init__(self) -> None:
        self.items: list[tuple[str, bytes]] = []

    def publish_notifications(self, items: list[tuple[str, bytes]]) -> None:
        self.items.extend(items)


def _stored(http: FlaskClient, engine: Engine, rows: int) -> tuple[int, int, list[EntityChanged]]:
    response = http.post("/v1.1/Things", json={"name": "box", "description": "d", "Locations": [LOCATION],
                                               "Datastreams": [datastream_body("m")]})
    assert response.status_code == 201
    thing = int(http.get("/v1.1/Things").get_json()["value"][0]["@iot.id"])
    stream = int(http.get("/v1.1/Datastreams").get_json()["value"][0]["@iot.id"])
    events: list[EntityChanged] = []
    bus = EventBus()
    bus.subscribe(events.extend)
    body = [{"Datastream": {"@iot.id": stream}, "components": ["phenomenonTime", "result"],
             "dataArray": [[f"2026-03-01T10:00:{n % 60:02d}Z", n] for n in range(rows)]}]
    ingest = Ingest(engine, bus)
    ingest.store([Incoming("v1.1/CreateObservations", json.dumps(body).encode(), lambda: None)])
    assert ingest.stats.accepted == rows
    return thing, stream, [e for e in events if e.entity_type.name == "Observation"]


def test_a_batch_above_the_parameter_limit_is_notified_on_every_topic(
        http: FlaskClient, clean_db: Engine, caplog: pytest.LogCaptureFixture) -> None:
    thing, stream, created = _stored(http, clean_db, ROWS)
    assert len(created) == ROWS
    plain, filtered = "v1.1/Observations", "v1.1/Observations?$filter=result ge 0&$select=id,result"
    relative = f"v1.1/Things({thing})/Datastreams({stream})/Observations"  # only the database resolves it
    failing = "v1.1/Observations?$filter=result mod 0 eq 0"  # the database refuses its read (22012)
    registry = SubscriptionRegistry()
    for topic in (plain, filtered, relative, failing):
        registry.add("listener", topic)
    kept = Kept()
    with caplog.at_level(logging.ERROR, "sta_server.mqtt.notify"):
        Notifier(clean_db, registry, kept, "http://sta.test/api", 100).publish(created)
    by_topic = Counter(topic for topic, _ in kept.items)
    assert by_topic == {plain: ROWS, filtered: ROWS, relative: ROWS}
    ids = {e.id for e in created}
    for topic in (plain, filtered, relative):
        assert {json.loads(p)["@iot.id"] for t, p in kept.items if t == topic} == ids
    results: list[Any] = sorted(json.loads(p)["result"] for t, p in kept.items if t == filtered)
    assert results == list(range(ROWS))
    assert [r.message for r in caplog.records] == [
        f"rendering {ROWS} notifications of {failing} failed; the others are published"]
