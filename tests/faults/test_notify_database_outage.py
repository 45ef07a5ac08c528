"""PostgreSQL stopped right after a commit, while the notifier still has to read the batch back
($filter topics, navigation paths): the notifications wait for the database and are all published
once it is back, on every topic (red team finding F3: the batch was dropped)."""
from __future__ import annotations

import json
import logging
import threading
from collections import Counter

import pytest
from sqlalchemy import Engine, create_engine, text

from sta_server.mqtt.ingest import Incoming, Ingest
from sta_server.mqtt.notify import Notifier
from sta_server.mqtt.subscriptions import SubscriptionRegistry
from sta_server.service.events import EntityChanged, EventBus
from tests.conftest import LOCATION, datastream_body
from tests.faults.conftest import Cluster, wait_for

COUNT = 200


class Kept:
    def __init__(self) -> None:
        self.items: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()

    def publish_notifications(self, items: list[tuple[str, bytes]]) -> None:
        with self.lock:
            self.items.extend(items)


def test_notifications_wait_for_the_database_and_none_is_dropped(
        db: Engine, cluster: Cluster, caplog: pytest.LogCaptureFixture) -> None:
    events: list[EntityChanged] = []
    bus = EventBus()
    bus.subscribe(events.extend)
    ingest = Ingest(db, bus)
    thing = {"name": "site", "description": "d", "Locations": [LOCATION], "Datastreams": [datastream_body()]}
    ingest.store([Incoming("v1.1/Things", json.dumps(thing).encode(), lambda: None)])
    with db.connect() as conn:
        thing_id, stream = conn.execute(text("SELECT thing_id, id FROM datastreams")).one()
    ingest.store([Incoming(f"v1.1/Datastreams({stream})/Observations", json.dumps({"result": n}).encode(),
                           lambda: None) for n in range(COUNT)])
    created = [e for e in events if e.entity_type.name == "Observation"]
    assert ingest.stats.accepted == 1 + COUNT and len(created) == COUNT
    plain, filtered = "v1.1/Observations", "v1.1/Observations?$filter=result ge 0"
    relative = f"v1.1/Things({thing_id})/Datastreams({stream})/Observations"
    registry = SubscriptionRegistry()
    for topic in (plain, filtered, relative):
        registry.add("listener", topic)
    engine = create_engine(cluster.url)  # as the server's: pooled connections, no pre-ping
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))  # a pooled connection that the stop breaks
    kept = Kept()
    notifier = Notifier(engine, registry, kept, "http://sta.test/api", 100)
    notifier.start()
    down = False
    try:
        cluster.stop()
        down = True
        with caplog.at_level(logging.WARNING, "sta_server.mqtt.notify"):
            notifier(created)  # committed just before the stop
            wait_for(lambda: any("database unavailable for the notifications" in r.message
                                 for r in caplog.records), 30, "the notifier waiting for the database")
        cluster.start()
        down = False
        wait_for(lambda: notifier.queue.unfinished_tasks == 0, 60, "the batch published")
    finally:
        if down:
            cluster.start()
        notifier.stop()
        engine.dispose()
    assert Counter(t for t, _ in kept.items) == {plain: COUNT, filtered: COUNT, relative: COUNT}
    ids = {e.id for e in created}
    for topic in (plain, filtered, relative):
        assert {json.loads(p)["@iot.id"] for t, p in kept.items if t == topic} == ids
