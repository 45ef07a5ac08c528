"""Notifications of MQTT creates rendered from the values the ingest wrote (mqtt/observation_rows.py,
mqtt/notify.py), not read back: byte for byte what a GET of the entity returns, for every kind of
value PostgreSQL hands back changed (jsonb key order, numbers, time zones, defaults)."""
from __future__ import annotations

import json
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import Engine, event

from sta_server.mqtt.ingest import Incoming, Ingest
from sta_server.mqtt.notify import Notifier
from sta_server.mqtt.observation_rows import as_jsonb
from sta_server.mqtt.service import MqttService
from sta_server.mqtt.subscriptions import SubscriptionRegistry
from sta_server.service.events import EntityChanged, EventBus
from tests.conftest import LOCATION, datastream_body
from tests.mqtt.conftest import MqttTestClient

VALUES: list[dict[str, Any]] = [
    {"phenomenonTime": "2026-03-01T10:00:00Z", "result": 4200},
    {"phenomenonTime": "2026-03-01T12:00:00+02:00", "result": 0.1, "resultTime": "2026-03-01T10:00:01.123456Z"},
    {"result": 1e16, "parameters": {"sent": 1.78e9, "a": -0.0, "zz": 2e20, "bb": [1.0, 1.5e-07, {"yy": 1, "x": 2}]}},
    {"result": 2**60, "validTime": "2026-03-01T00:00:00Z/2026-03-02T00:00:00Z"},
    {"result": "on", "phenomenonTime": "2026-03-01T10:00:00Z/2026-03-01T10:15:00Z", "resultQuality": {"q": "ok"}},
    {"result": True},
    {"result": None},
    {"result": {"zeta": 1, "a": {"bb": 2, "c": [1.0, 2e20, -0.0]}, "mid": "é"}},
    {"result": [3, "x", None, 12.5]},
    {"result": -7.25, "parameters": {}},
]


def _setup(http: FlaskClient) -> tuple[int, int]:
    response = http.post("/v1.1/Things", json={"name": "SMX box", "description": "field agent",
                                               "Locations": [LOCATION], "Datastreams": [
                                                   datastream_body(properties={"senmlName": "box/p"})]})
    assert response.status_code == 201
    stream = int(http.get("/v1.1/Datastreams").get_json()["value"][0]["@iot.id"])
    feature = http.post("/v1.1/FeaturesOfInterest", json={
        "name": "meter", "description": "m", "encodingType": "application/geo+json",
        "feature": {"type": "Point", "coordinates": [8.9, 46.0]}}).get_json()["@iot.id"]
    return stream, int(feature)


def test_each_notification_is_the_get_of_its_entity(http: FlaskClient, mqtt: MqttTestClient, broker_url: str,
                                                    mqtt_service: MqttService) -> None:
    stream, feature = _setup(http)
    plain, selected = "v1.1/Observations", f"v1.1/Datastreams({stream})/Observations?$select=result,parameters"
    filtered = "v1.0/Observations?$filter=id gt 0"  # a $filter: read back, as before
    listeners = {topic: MqttTestClient(broker_url, mqtt_service) for topic in (plain, selected, filtered)}
    for topic, listener in listeners.items():
        listener.subscribe(topic)
    bodies = [*VALUES, {"result": 5, "FeatureOfInterest": {"@iot.id": feature}}]
    for body in bodies:
        mqtt.publish(f"v1.1/Datastreams({stream})/Observations", body)
    mqtt.publish("v1.1/SenML", [{"bn": "box/", "n": "p", "bt": 1.78e9, "v": 3.5}, {"n": "p", "s": 2.0}])
    mqtt.publish("v1.1/CreateObservations", [{"Datastream": {"@iot.id": stream}, "components": [
        "phenomenonTime", "result", "parameters"], "dataArray": [["2026-03-01T10:00:00Z", 1, {"b": 1, "aa": 2}]]}])
    count = len(bodies) + 3
    for _ in range(count):
        entity = listeners[plain].expect(plain)
        got = http.get(f"/v1.1/Observations({entity['@iot.id']})").get_json()
        assert json.dumps(entity) == json.dumps(got)  # equal, in the same order
    got = [listeners[selected].expect(selected) for _ in range(count)]
    stored = http.get(f"/v1.1/Datastreams({stream})/Observations?$select=result,parameters&$orderby=id").get_json()
    assert sorted(json.dumps(g, sort_keys=True) for g in got) == sorted(
        json.dumps(v, sort_keys=True) for v in stored["value"])
    for _ in range(count):
        entity = listeners[filtered].expect(filtered)
        assert entity == http.get(f"/v1.0/Observations({entity['@iot.id']})").get_json()
    for listener in listeners.values():
        listener.close()


def test_the_notifier_reads_nothing_back_for_held_rows(http: FlaskClient, clean_db: Engine) -> None:
    stream, _ = _setup(http)
    events: list[EntityChanged] = []
    bus = EventBus()
    bus.subscribe(events.extend)
    ingest = Ingest(clean_db, bus)
    ingest.store([Incoming(f"v1.1/Datastreams({stream})/Observations", json.dumps(body).encode(), lambda: None)
                  for body in VALUES])
    assert ingest.stats.accepted == len(VALUES)
    created = [e for e in events if e.entity_type.name == "Observation"]
    assert len(created) == len(VALUES) and all(e.entity is not None for e in created)
    registry = SubscriptionRegistry()
    registry.add("listener", "v1.1/Observations")
    kept: list[tuple[str, bytes]] = []

    class Kept:
        def publish_notifications(self, items: list[tuple[str, bytes]]) -> None:
            kept.extend(items)

    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(clean_db, "before_cursor_execute", count)
    try:
        Notifier(clean_db, registry, Kept(), "http://sta.test/api", 100).publish(created)
    finally:
        event.remove(clean_db, "before_cursor_execute", count)
    assert statements == []
    assert len(kept) == len(VALUES)
    for _, payload in kept:  # the same bytes as the GET's JSON written the notifier's way (key order too)
        got = http.get(f"/v1.1/Observations({json.loads(payload)['@iot.id']})").get_json()
        assert payload == json.dumps(got, separators=(",", ":")).encode()


def test_jsonb_order_and_numbers() -> None:
    value = as_jsonb({"zz": 1e16, "a": -0.0, "bb": [2e20, 1.5e-07, {"yyy": 1, "x": 2.5}], "é": 1, "c": 1})
    assert list(value) == ["a", "c", "bb", "zz", "é"]  # "é" is two bytes
    assert value["zz"] == 10**16 and isinstance(value["zz"], int)
    assert value["bb"] == [2 * 10**20, 1.5e-07, {"x": 2.5, "yyy": 1}]
    assert repr(value["a"]) == "0.0"
