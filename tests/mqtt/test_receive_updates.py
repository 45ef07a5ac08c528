"""MQTT Receive of updates (FROST-Server.Tests MqttCoreTests check02-check14): a PUT is notified on
every topic a PATCH is, relative topics included (`Locations(1)/Things`, `Datastreams(1)/Thing`,
`Datastreams(1)/Thing/Datastreams`), each with the JSON a GET of the entity gives."""
from __future__ import annotations

import json
import queue
import time
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import LOCATION, datastream_body
from tests.mqtt.conftest import MqttTestClient


def _post(http: FlaskClient, path: str, body: object) -> dict[str, Any]:
    response = http.post(f"/v1.1/{path}", json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return dict(response.get_json())


def _ids(http: FlaskClient) -> dict[str, int]:
    thing = _post(http, "Things", {"name": "ESS 1", "description": "battery", "Locations": [LOCATION],
                                   "Datastreams": [datastream_body()]})["@iot.id"]

    def one(path: str) -> int:
        body = http.get(f"/v1.1/{path}").get_json()
        return int(body["value"][0]["@iot.id"] if "value" in body else body["@iot.id"])

    stream = one(f"Things({thing})/Datastreams")
    observation = _post(http, f"Datastreams({stream})/Observations", {"result": 1})["@iot.id"]
    return {"Thing": thing, "Location": one(f"Things({thing})/Locations"), "Datastream": stream,
            "HistoricalLocation": one(f"Things({thing})/HistoricalLocations"),
            "Sensor": one(f"Datastreams({stream})/Sensor"), "Observation": observation}


def _expect_all(mqtt: MqttTestClient, topics: list[str], timeout: float = 15.0) -> dict[str, Any]:
    """The first message on each of `topics`, whatever order they come in."""
    got: dict[str, Any] = {}
    deadline = time.monotonic() + timeout
    while set(topics) - set(got) and (remaining := deadline - time.monotonic()) > 0:
        try:
            topic, payload = mqtt.messages.get(timeout=remaining)
        except queue.Empty:
            break
        if topic in topics:
            got.setdefault(topic, json.loads(payload))
    assert set(got) == set(topics), f"nothing on {sorted(set(topics) - set(got))}"
    return got


def _update(http: FlaskClient, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = http.open(f"/v1.1/{path}", method=method, json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return dict(http.get(f"/v1.1/{path}").get_json())


THING_TOPICS = ["Things", "Things({Thing})", "Locations({Location})/Things", "Datastreams({Datastream})/Thing",
                "Observations({Observation})/Datastream/Thing"]
STREAM_TOPICS = ["Datastreams", "Things({Thing})/Datastreams", "Sensors({Sensor})/Datastreams",
                 "Observations({Observation})/Datastream", "Datastreams({Datastream})/Thing/Datastreams",
                 "HistoricalLocations({HistoricalLocation})/Thing/Datastreams"]


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_thing_update_reaches_every_topic_it_lies_on(http: FlaskClient, mqtt: MqttTestClient, method: str) -> None:
    ids = _ids(http)
    topics = [f"v1.1/{topic.format(**ids)}" for topic in THING_TOPICS]
    for topic in topics:
        mqtt.subscribe(topic)
    expected = _update(http, method, f"Things({ids['Thing']})", {"name": "ESS 1b", "description": "moved"})
    assert _expect_all(mqtt, topics) == dict.fromkeys(topics, expected)


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_datastream_update_reaches_every_topic_it_lies_on(http: FlaskClient, mqtt: MqttTestClient,
                                                          method: str) -> None:
    ids = _ids(http)
    topics = [f"v1.1/{topic.format(**ids)}" for topic in STREAM_TOPICS]
    for topic in topics:
        mqtt.subscribe(topic)
    body = {key: value for key, value in datastream_body("ESS power 2").items()
            if key not in ("Sensor", "ObservedProperty")}
    expected = _update(http, method, f"Datastreams({ids['Datastream']})", body)
    assert _expect_all(mqtt, topics) == dict.fromkeys(topics, expected)


def test_put_notifies_changed_and_cleared_properties(http: FlaskClient, mqtt: MqttTestClient) -> None:
    thing = _post(http, "Things", {"name": "Meter", "description": "smart meter", "properties": {"a": 1}})
    base = f"v1.1/Things({thing['@iot.id']})"
    for name in ("name", "properties"):
        mqtt.subscribe(f"{base}/{name}")
    _update(http, "PUT", f"Things({thing['@iot.id']})", {"name": "Meter 2", "description": "smart meter"})
    assert _expect_all(mqtt, [f"{base}/name", f"{base}/properties"]) == {
        f"{base}/name": {"name": "Meter 2"}, f"{base}/properties": {"properties": None}}


def test_topics_elsewhere_get_nothing(http: FlaskClient, mqtt: MqttTestClient) -> None:
    ids = _ids(http)
    other = _post(http, "Things", {"name": "Other", "description": "elsewhere", "Locations": [LOCATION]})
    other_location = http.get(f"/v1.1/Things({other['@iot.id']})/Locations").get_json()["value"][0]["@iot.id"]
    mqtt.subscribe(f"v1.1/Locations({other_location})/Things")
    mqtt.subscribe(f"v1.1/Things({ids['Thing']})")
    _update(http, "PUT", f"Things({ids['Thing']})", {"name": "ESS 1c", "description": "d"})
    mqtt.expect(f"v1.1/Things({ids['Thing']})")  # the update has been published by now
    mqtt.expect_nothing(f"v1.1/Locations({other_location})/Things")


def test_changed_link_is_no_property_topic(http: FlaskClient, mqtt: MqttTestClient) -> None:
    ids = _ids(http)
    location = _post(http, "Locations", {**LOCATION, "name": "Site B"})["@iot.id"]
    topic = f"v1.1/Things({ids['Thing']})/Locations"
    mqtt.subscribe(topic)
    mqtt.subscribe("v1.1/HistoricalLocations")
    _update(http, "PATCH", f"Things({ids['Thing']})", {"Locations": [{"@iot.id": location}]})
    newest = http.get(f"/v1.1/Things({ids['Thing']})/HistoricalLocations",
                      query_string={"$orderby": "id desc", "$top": "1"}).get_json()["value"][0]
    assert mqtt.expect("v1.1/HistoricalLocations") == http.get(newest["@iot.selfLink"].removeprefix(
        "http://sta.test/api")).get_json()
    mqtt.expect_nothing(topic)  # a Thing is not a Location


# ets-sta10 MqttHelper.getRelativeTopicsForEntitySet/ForEntity (Capability8Test)
OTHER_TOPICS = {
    "Location": ["Things({Thing})/Locations", "Datastreams({Datastream})/Thing/Locations",
                 "HistoricalLocations({HistoricalLocation})/Thing/Locations"],
    "Sensor": ["Datastreams({Datastream})/Sensor", "Observations({Observation})/Datastream/Sensor"],
}
BODIES = {
    "Location": {**LOCATION, "name": "Site A2"},
    "Sensor": {"name": "Meter 2", "description": "m", "encodingType": "application/pdf", "metadata": "m.pdf"},
}


@pytest.mark.parametrize("kind", sorted(OTHER_TOPICS))
def test_put_reaches_the_suites_relative_topics(http: FlaskClient, mqtt: MqttTestClient, kind: str) -> None:
    ids = _ids(http)
    topics = [f"v1.1/{topic.format(**ids)}" for topic in OTHER_TOPICS[kind]]
    for topic in topics:
        mqtt.subscribe(topic)
    expected = _update(http, "PUT", f"{kind}s({ids[kind]})", BODIES[kind])
    assert _expect_all(mqtt, topics) == dict.fromkeys(topics, expected)


def test_member_and_navigated_property_topics(http: FlaskClient, mqtt: MqttTestClient) -> None:
    ids = _ids(http)
    member = f"v1.1/Things({ids['Thing']})/properties/mode"
    navigated = f"v1.1/Datastreams({ids['Datastream']})/Thing/name"
    for topic in (member, navigated):
        mqtt.subscribe(topic)
    _update(http, "PATCH", f"Things({ids['Thing']})", {"name": "ESS 1d", "properties": {"mode": "eco", "n": 2}})
    assert _expect_all(mqtt, [member, navigated]) == {member: {"mode": "eco"}, navigated: {"name": "ESS 1d"}}
    mqtt.subscribe(f"v1.1/Things({ids['Thing']})")
    _update(http, "PATCH", f"Things({ids['Thing']})", {"description": "only this"})
    mqtt.expect(f"v1.1/Things({ids['Thing']})")  # the update has been published by now
    mqtt.expect_nothing(member)
