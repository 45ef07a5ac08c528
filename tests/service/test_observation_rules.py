"""Every Observation rule through every write channel (service/bulk.py is the one rule set).

The channels: POST on `Observations` and on a stream's `Observations`, CreateObservations, `$batch`
(JSON and multipart), SenML over HTTP, and MQTT (collection topic, stream topic, SenML topic), all as
the same device agent of site A (HTTP Basic; over MQTT the ingest runs as that publisher). A rule
that cannot be expressed on a channel (SenML names no FeatureOfInterest, a dataArray group names
exactly one stream…) is not paired with it: see APPLIES.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select

from sta_server.app import create_app
from sta_server.mqtt.ingest import Incoming, Ingest
from sta_server.security import users
from sta_server.security.principal import Principal
from sta_server.service.events import EntityChanged, EventBus
from sta_server.settings import Settings
from sta_server.sql.tables import TABLES
from tests.conformance.conftest import multi_datastream_body
from tests.conftest import LOCATION, datastream_body
from tests.security.conftest import SETUP, basic

# the users the channels act as: a device agent of site A, and one of both sites A and B (who sees
# both sites' features: only the stream-site rule keeps site B's feature out of site A's streams)
AGENTS = {"agent": ("site:A",), "agent-ab": ("site:A", "site:B")}
TIME = "2030-01-01T05:30:00Z"
EPOCH = datetime(2030, 1, 1, 5, 30, tzinfo=UTC).timestamp()
_obs = TABLES["observations"]
TEXT_LOCATION = {"name": "address", "description": "postal address", "encodingType": "text/plain", "location": ""}


class AgentPublishers:
    """Every MQTT message is the current agent's (what security/mqtt_identity.py derives for its user)."""

    user = "agent"

    def key(self, topic: str, *who: object) -> str:  # (publisher, …): whatever the ingest passes
        return self.user

    def key_of(self, message: object) -> str:  # the ingest passes the message
        return self.user

    def principal(self, key: str) -> Principal:
        return Principal(key, "device_agent", frozenset(AGENTS[key]), channel="mqtt")

    def refusal(self, key: str) -> str:
        return "never"

    def resolve(self, message: object) -> Principal:
        return self.principal(self.key_of(message))


@dataclass
class World:
    client: FlaskClient
    engine: Engine
    ingest: Ingest
    publishers: AgentPublishers
    stream_a: int
    stream_b: int
    stream_a2: int
    multi_a: int
    feature_b: int
    location_a: dict[str, Any]
    events: list[EntityChanged] = field(default_factory=list)
    acks: list[str] = field(default_factory=list)

    def new_observations(self, after: int) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(_obs).where(_obs.c.id > after).order_by(_obs.c.id)).mappings())

    def last_id(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.coalesce(func.max(_obs.c.id), 0))).scalar_one())


@pytest.fixture
def world(settings: Settings, clean_db: Engine) -> World:
    with clean_db.begin() as conn:
        users.add_user(conn, SETUP, "admin", "admin", "pw-admin-secret")
        for name, grants in AGENTS.items():
            users.add_user(conn, SETUP, name, "device_agent", f"pw-{name}-secret", grants)
    bus = EventBus()
    app = create_app(replace(settings, auth=True, anonymous="off"), clean_db, bus)
    client = app.test_client()
    admin = basic("admin")

    def post(path: str, body: Any) -> Any:
        response = client.post(f"/v1.1/{path}", json=body, headers=admin)
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.get_json()

    thing_a = post("Things", {"name": "A", "description": "site A",
                              "Locations": [TEXT_LOCATION, LOCATION, {**TEXT_LOCATION, "name": "directions"}]})
    stream_a = post("Datastreams", datastream_body("A power", Thing={"@iot.id": thing_a["@iot.id"]},
                                                   properties={"senmlName": "a/power"}))
    stream_a2 = post("Datastreams", datastream_body("A energy", Thing={"@iot.id": thing_a["@iot.id"]}))
    multi_a = post("MultiDatastreams", multi_datastream_body(Thing={"@iot.id": thing_a["@iot.id"]}))
    thing_b = post("Things", {"name": "B", "description": "site B", "Locations": [
        {**LOCATION, "location": {"type": "Point", "coordinates": [12.0, 45.0]}}]})
    stream_b = post("Datastreams", datastream_body("B power", Thing={"@iot.id": thing_b["@iot.id"]},
                                                   properties={"senmlName": "b/power"}))
    feature_b = post("FeaturesOfInterest", {"name": "B meter", "description": "b",
                                            "encodingType": "application/geo+json",
                                            "feature": {"type": "Point", "coordinates": [12.0, 45.0]}})
    post(f"Datastreams({stream_b['@iot.id']})/Observations",
         {"result": 1, "FeatureOfInterest": {"@iot.id": feature_b["@iot.id"]}})
    with clean_db.begin() as conn:
        users.label_things(conn, SETUP, [thing_a["@iot.id"]], add=["site:A"])
        users.label_things(conn, SETUP, [thing_b["@iot.id"]], add=["site:B"])
    publishers = AgentPublishers()
    ingest = Ingest(clean_db, bus, publishers=publishers)  # type: ignore[arg-type]
    found = World(client, clean_db, ingest, publishers, stream_a["@iot.id"], stream_b["@iot.id"], stream_a2["@iot.id"],
                  multi_a["@iot.id"],
                  feature_b["@iot.id"], LOCATION)
    bus.subscribe(found.events.extend)
    return found


# --- the channels: each sends one Observation (given as a POST body) as the agent -----------------

def _headers(world: World, key: str | None) -> dict[str, str]:
    return {**basic(world.publishers.user), **({"Idempotency-Key": key} if key else {})}


def _http(world: World, path: str, body: Any, key: str | None, content_type: str = "application/json") -> str:
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    response = world.client.post(f"/v1.1/{path}", data=data, headers=_headers(world, key), content_type=content_type)
    assert response.status_code < 500, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def _stream_path(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    body = dict(body)
    name = "Datastream" if "Datastream" in body else "MultiDatastream"
    path = f"{name}s({body.pop(name)['@iot.id']})/Observations"
    if f"{name}@body" in body:  # what the body names besides the path
        body[name] = body.pop(f"{name}@body")
    return path, body


def send_post(world: World, body: dict[str, Any], key: str | None) -> None:
    _http(world, "Observations", body, key)


def send_navigation(world: World, body: dict[str, Any], key: str | None) -> None:
    path, rest = _stream_path(body)
    _http(world, path, rest, key)


def send_create_observations(world: World, body: dict[str, Any], key: str | None) -> None:
    group: dict[str, Any] = {name: body[name] for name in ("Datastream", "MultiDatastream") if name in body}
    values = {k: v for k, v in body.items() if k not in ("Datastream", "MultiDatastream", "FeatureOfInterest")}
    if "FeatureOfInterest" in body:
        values["FeatureOfInterest/id"] = body["FeatureOfInterest"]["@iot.id"]
    group.update(components=list(values), dataArray=[list(values.values())])
    text = _http(world, "CreateObservations", [group], key)
    assert "Internal" not in text


def send_batch_json(world: World, body: dict[str, Any], key: str | None) -> None:
    request = {"id": "r1", "method": "post", "url": "Observations", "body": body,
               "headers": {"Idempotency-Key": key} if key else {}}
    answer = json.loads(_http(world, "$batch", {"requests": [request]}, None))
    assert answer["responses"][0]["status"] < 500, answer


def send_batch_multipart(world: World, body: dict[str, Any], key: str | None) -> None:
    lines = ["--b1", "Content-Type: application/http", "Content-Transfer-Encoding: binary", "",
             "POST Observations HTTP/1.1", "Content-Type: application/json",
             *([f"Idempotency-Key: {key}"] if key else []), "", json.dumps(body), "--b1--", ""]
    text = _http(world, "$batch", "\r\n".join(lines), None, "multipart/mixed; boundary=b1")
    status = re.search(r"HTTP/1\.1 (\d+)", text)
    assert status is not None and int(status[1]) < 500, text


def _senml(world: World, body: dict[str, Any]) -> bytes:
    stream = body["Datastream"]["@iot.id"]
    record: dict[str, Any] = {"n": "a/power" if stream == world.stream_a else "b/power", "v": body["result"]}
    if "phenomenonTime" in body:
        record["t"] = EPOCH
    return json.dumps([record]).encode()


def send_senml(world: World, body: dict[str, Any], key: str | None) -> None:
    _http(world, "SenML", _senml(world, body), key, "application/senml+json")


def _publish(world: World, topic: str, payload: bytes, key: str | None) -> None:
    before = world.ingest.stats.reasons.get("InternalError", 0)
    world.ingest.store([Incoming(topic, payload, lambda: world.acks.append(topic), key)])
    assert world.ingest.stats.reasons.get("InternalError", 0) == before
    assert world.acks[-1] == topic  # every stored or rejected message is acknowledged


def send_mqtt(world: World, body: dict[str, Any], key: str | None) -> None:
    _publish(world, "v1.1/Observations", json.dumps(body).encode(), key)


def send_mqtt_navigation(world: World, body: dict[str, Any], key: str | None) -> None:
    path, rest = _stream_path(body)
    _publish(world, f"v1.1/{path}", json.dumps(rest).encode(), key)


def send_mqtt_senml(world: World, body: dict[str, Any], key: str | None) -> None:
    _publish(world, "v1.1/SenML", _senml(world, body), key)


Send = Callable[[World, dict[str, Any], str | None], None]
CHANNELS: dict[str, Send] = {
    "POST": send_post, "POST navigation": send_navigation, "CreateObservations": send_create_observations,
    "$batch JSON": send_batch_json, "$batch multipart": send_batch_multipart, "SenML": send_senml,
    "MQTT": send_mqtt, "MQTT navigation": send_mqtt_navigation, "MQTT SenML": send_mqtt_senml,
}
ALL = set(CHANNELS)
SENML = {"SenML", "MQTT SenML"}
NAVIGATION = {"POST navigation", "MQTT navigation"}


# --- the rules -------------------------------------------------------------------------------------

def _one_new(world: World, send: Send, body: dict[str, Any]) -> Any:
    before = world.last_id()
    send(world, body, None)
    rows = world.new_observations(before)
    assert len(rows) == 1, rows
    return rows[0]


def _refused(world: World, send: Send, body: dict[str, Any]) -> None:
    before = world.last_id()
    send(world, body, None)
    assert world.new_observations(before) == []


def stream_required(world: World, send: Send) -> None:
    _refused(world, send, {"result": 1, "phenomenonTime": TIME})


def exactly_one_stream(world: World, send: Send) -> None:
    _refused(world, send, {"Datastream": {"@iot.id": world.stream_a},
                           "MultiDatastream": {"@iot.id": world.multi_a}, "result": [1, 2], "phenomenonTime": TIME})


def path_and_body_name_one_stream(world: World, send: Send) -> None:
    _refused(world, send, {"Datastream": {"@iot.id": world.stream_a}, "Datastream@body": {"@iot.id": world.stream_a2},
                           "result": 1, "phenomenonTime": TIME})


def stream_visible(world: World, send: Send) -> None:
    _refused(world, send, {"Datastream": {"@iot.id": world.stream_b}, "result": 1, "phenomenonTime": TIME})


def multi_datastream_result(world: World, send: Send) -> None:
    _refused(world, send, {"MultiDatastream": {"@iot.id": world.multi_a}, "result": [1], "phenomenonTime": TIME})
    row = _one_new(world, send, {"MultiDatastream": {"@iot.id": world.multi_a}, "result": [1, 2],
                                 "phenomenonTime": TIME})
    assert row["result_json"] == [1, 2]


def feature_visible_to_stream_site(world: World, send: Send) -> None:
    world.publishers.user = "agent-ab"  # sees site B's feature, which site A's stream may not link
    _refused(world, send, {"Datastream": {"@iot.id": world.stream_a}, "result": 1, "phenomenonTime": TIME,
                           "FeatureOfInterest": {"@iot.id": world.feature_b}})


def feature_generated_from_geojson_location(world: World, send: Send) -> None:
    row = _one_new(world, send, {"Datastream": {"@iot.id": world.stream_a}, "result": 5, "phenomenonTime": TIME})
    features = TABLES["features"]
    with world.engine.connect() as conn:
        feature = conn.execute(select(features.c.feature).where(features.c.id == row["feature_of_interest_id"])).one()
    assert feature[0] == LOCATION["location"]


def phenomenon_time_default(world: World, send: Send) -> None:
    row = _one_new(world, send, {"Datastream": {"@iot.id": world.stream_a}, "result": 5})
    assert abs(row["phenomenon_time_start"] - datetime.now(UTC)) < timedelta(minutes=1)


def null_result(world: World, send: Send) -> None:
    row = _one_new(world, send, {"Datastream": {"@iot.id": world.stream_a}, "result": None, "phenomenonTime": TIME})
    assert row["result_number"] is None and row["result_json"] is None


def idempotency(world: World, send: Send) -> None:
    body = {"Datastream": {"@iot.id": world.stream_a}, "result": 7, "phenomenonTime": TIME}
    before = world.last_id()
    send(world, body, "retry-1")
    send(world, body, "retry-1")
    assert len(world.new_observations(before)) == 1


def audit_row(world: World, send: Send) -> None:
    row = _one_new(world, send, {"Datastream": {"@iot.id": world.stream_a}, "result": 5, "phenomenonTime": TIME})
    records = TABLES["audit_records"]
    with world.engine.connect() as conn:
        found = conn.execute(select(records.c.actor, records.c.action).where(
            records.c.entity_type == "Observation", records.c.entity_ids.contains([row["id"]]))).all()
    assert [tuple(r) for r in found] == [(world.publishers.user, "created")]


def extents_and_rollup_marks(world: World, send: Send) -> None:
    _one_new(world, send, {"Datastream": {"@iot.id": world.stream_a}, "result": 5, "phenomenonTime": TIME})
    streams, dirty = TABLES["datastreams"], TABLES["rollup_dirty"]
    with world.engine.connect() as conn:
        end = conn.execute(select(streams.c.phenomenon_time_end).where(streams.c.id == world.stream_a)).scalar_one()
        hours = set(conn.execute(select(dirty.c.hour).where(dirty.c.datastream_id == world.stream_a)).scalars())
    assert end == datetime(2030, 1, 1, 5, 30, tzinfo=UTC)
    assert datetime(2030, 1, 1, 5, tzinfo=UTC) in hours


def events_after_commit(world: World, send: Send) -> None:
    world.events.clear()
    row = _one_new(world, send, {"Datastream": {"@iot.id": world.stream_a}, "result": 5, "phenomenonTime": TIME})
    created = [e for e in world.events if e.entity_type.name == "Observation" and e.change == "created"]
    assert [e.id for e in created] == [row["id"]]
    assert ("Datastream", world.stream_a) in created[0].related


Rule = Callable[[World, Send], None]
APPLIES: dict[Rule, set[str]] = {
    stream_required: ALL - NAVIGATION - SENML,  # a stream topic or a SenML name always names one
    exactly_one_stream: ALL - SENML,
    path_and_body_name_one_stream: NAVIGATION,  # the body names another stream than the path
    stream_visible: ALL,
    multi_datastream_result: ALL - SENML,  # SenML records map to Datastreams
    feature_visible_to_stream_site: ALL - SENML,  # SenML names no FeatureOfInterest
    feature_generated_from_geojson_location: ALL,
    phenomenon_time_default: ALL - {"CreateObservations"},  # its components must include phenomenonTime
    null_result: ALL - SENML,  # a SenML record without a value is refused by SenML itself
    idempotency: ALL,
    audit_row: ALL,
    extents_and_rollup_marks: ALL,
    events_after_commit: ALL,
}
CASES = [pytest.param(rule, channel, id=f"{rule.__name__}-{channel}")
         for rule, channels in APPLIES.items() for channel in CHANNELS if channel in channels]


@pytest.mark.parametrize(("rule", "channel"), CASES)
def test_every_observation_rule_on_every_channel(world: World, rule: Rule, channel: str) -> None:
    rule(world, CHANNELS[channel])



def test_a_feature_created_by_an_earlier_request_of_the_same_change_set_is_not_the_requests_own(
        world: World) -> None:
    """Review: features created earlier in the same transaction (a `$batch` change set, an MQTT
    batch) counted as the linking request's own. Site B's first Observation without a feature
    generates one (its id is predictable); the next request linked it from site A's stream."""
    world.publishers.user = "agent-ab"
    with world.engine.connect() as conn:
        next_feature = int(conn.execute(select(func.max(TABLES["features"].c.id))).scalar_one()) + 1
    generates_b = {"id": "b", "atomicityGroup": "g", "method": "post",
                   "url": f"Datastreams({world.stream_b})/Observations", "body": {"result": 1, "phenomenonTime": TIME}}
    links_a = {"id": "a", "atomicityGroup": "g", "method": "post", "dependsOn": ["b"],
               "url": f"Datastreams({world.stream_a})/Observations",
               "body": {"result": 2, "phenomenonTime": TIME, "FeatureOfInterest": {"@iot.id": next_feature}}}
    before = world.last_id()
    response = world.client.post("/v1.1/$batch", json={"requests": [generates_b, links_a]},
                                 headers=basic("agent-ab"))
    assert response.status_code < 500, response.get_data(as_text=True)
    stored = world.new_observations(before)
    assert all(row["datastream_id"] != world.stream_a for row in stored), stored
