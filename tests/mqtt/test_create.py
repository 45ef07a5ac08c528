"""MQTT Create (SensorThings 14.1): a publish to a collection topic creates as a POST would;
bad messages are rejected alone and the listener stays up."""
from __future__ import annotations

from flask.testing import FlaskClient

from sta_server.mqtt.service import MqttService
from tests.conftest import LOCATION, datastream_body
from tests.mqtt.conftest import MqttTestClient, wait_until


def _stream(http: FlaskClient) -> int:
    response = http.post("/v1.1/Things", json={"name": "ESS", "description": "battery",
                                               "Locations": [LOCATION], "Datastreams": [datastream_body()]})
    assert response.status_code == 201
    return int(http.get("/v1.1/Datastreams").get_json()["value"][0]["@iot.id"])


def _observations(http: FlaskClient) -> list[dict]:
    return http.get("/v1.1/Observations?$orderby=id").get_json()["value"]


def test_publish_to_navigation_topic_creates_an_observation(http: FlaskClient, mqtt: MqttTestClient,
                                                            mqtt_service: MqttService) -> None:
    stream = _stream(http)
    mqtt.publish(f"v1.1/Datastreams({stream})/Observations",
                 {"phenomenonTime": "2026-03-01T10:00:00Z", "result": 4200})
    wait_until(lambda: len(_observations(http)) == 1)
    observation = _observations(http)[0]
    assert observation["result"] == 4200
    assert http.get(f"/v1.1/Observations({observation['@iot.id']})/Datastream").get_json()["@iot.id"] == stream
    assert http.get(f"/v1.1/Observations({observation['@iot.id']})/FeatureOfInterest").status_code == 200


def test_publish_to_entity_set_with_datastream_link(http: FlaskClient, mqtt: MqttTestClient) -> None:
    stream = _stream(http)
    mqtt.publish("v1.1/Observations", {"result": 1, "Datastream": {"@iot.id": stream}})
    wait_until(lambda: len(_observations(http)) == 1)


def test_created_observation_is_notified_to_subscribers(http: FlaskClient, mqtt: MqttTestClient,
                                                        broker_url: str, mqtt_service: MqttService) -> None:
    stream = _stream(http)
    listener = MqttTestClient(broker_url, mqtt_service)
    topic = f"v1.1/Datastreams({stream})/Observations?$select=result"
    listener.subscribe(topic)
    mqtt.publish(f"v1.1/Datastreams({stream})/Observations", {"result": 99})
    assert listener.expect(topic) == {"result": 99}
    listener.close()


def test_bad_messages_are_rejected_and_counted(http: FlaskClient, mqtt: MqttTestClient,
                                               mqtt_service: MqttService) -> None:
    stream = _stream(http)
    topic = f"v1.1/Datastreams({stream})/Observations"
    mqtt.publish(topic, b"{not json")
    mqtt.publish(topic, {"phenomenonTime": "yesterday", "result": 1})
    mqtt.publish("v1.1/Datastreams(999)/Observations", {"result": 1})
    mqtt.publish("v1.1/Things(1)", {"name": "not a collection"})
    mqtt.publish(topic, {"result": 5})
    wait_until(lambda: mqtt_service.ingest.stats.rejected == 4 and mqtt_service.ingest.stats.accepted == 1)
    assert [o["result"] for o in _observations(http)] == [5]


def test_many_messages_are_stored_in_batches(http: FlaskClient, mqtt: MqttTestClient,
                                             mqtt_service: MqttService) -> None:
    stream = _stream(http)
    for value in range(300):
        mqtt.client.publish(f"v1.1/Datastreams({stream})/Observations",
                            f'{{"result": {value}}}'.encode(), qos=1)
    wait_until(lambda: mqtt_service.ingest.stats.accepted == 300, timeout=20)
    assert mqtt_service.ingest.stats.batches < 300
    count = http.get(f"/v1.1/Datastreams({stream})/Observations?$count=true&$top=0").get_json()["@iot.count"]
    assert count == 300


def test_shared_group_spreads_creates_without_no_local() -> None:
    from sta_server.mqtt.service import create_subscriptions

    shared = create_subscriptions("sta")
    assert [topic for topic, _ in shared] == ["$share/sta/v1.1/#", "$share/sta/v1.0/#"]
    assert not any(options.noLocal for _, options in shared)
    assert all(options.noLocal for _, options in create_subscriptions(None))


def test_rejections_are_counted_in_the_metrics(http: FlaskClient, mqtt: MqttTestClient,
                                               mqtt_service: MqttService) -> None:
    stream = _stream(http)
    mqtt.publish(f"v1.1/Datastreams({stream})/Observations", b"{broken")
    mqtt.publish(f"v1.1/Datastreams({stream})/Observations", {"result": 1})
    wait_until(lambda: mqtt_service.ingest.stats.accepted == 1 and mqtt_service.ingest.stats.rejected == 1)
    text = http.get("/metrics").get_data(as_text=True)
    assert "sta_mqtt_ingest_accepted_total 1" in text
    assert 'sta_mqtt_ingest_rejected_total{code="BadRequest"} 1' in text
