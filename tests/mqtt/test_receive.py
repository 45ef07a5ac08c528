"""MQTT Receive (SensorThings 14.2): every topic form gets the JSON a GET returns."""
from __future__ import annotations

from flask.testing import FlaskClient

from sta_server.mqtt.service import MqttService
from tests.conftest import LOCATION, datastream_body
from tests.mqtt.conftest import MqttTestClient


def _post(http: FlaskClient, path: str, body: object) -> dict:
    response = http.post(f"/v1.1/{path}", json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def _setup(http: FlaskClient) -> int:
    thing = _post(http, "Things", {"name": "ESS 1", "description": "battery", "Locations": [LOCATION],
                                   "Datastreams": [datastream_body()]})
    return int(http.get(f"/v1.1/Things({thing['@iot.id']})/Datastreams").get_json()["value"][0]["@iot.id"])


def test_entity_set_topic_receives_created_entities(http: FlaskClient, mqtt: MqttTestClient) -> None:
    mqtt.subscribe("v1.1/Things")
    created = _post(http, "Things", {"name": "PV plant", "description": "pv"})
    assert mqtt.expect("v1.1/Things") == http.get(f"/v1.1/Things({created['@iot.id']})").get_json()


def test_navigation_topic_receives_observations_of_its_datastream(http: FlaskClient, mqtt: MqttTestClient) -> None:
    stream = _setup(http)
    mqtt.subscribe(f"v1.1/Datastreams({stream})/Observations")
    observation = _post(http, f"Datastreams({stream})/Observations",
                        {"phenomenonTime": "2026-01-01T00:00:00Z", "result": 1200})
    got = mqtt.expect(f"v1.1/Datastreams({stream})/Observations")
    assert got == http.get(f"/v1.1/Observations({observation['@iot.id']})").get_json()


def test_select_topic_receives_only_selected_properties(http: FlaskClient, mqtt: MqttTestClient) -> None:
    stream = _setup(http)
    topic = f"v1.1/Datastreams({stream})/Observations?$select=result,phenomenonTime"
    mqtt.subscribe(topic)
    _post(http, f"Datastreams({stream})/Observations", {"phenomenonTime": "2026-01-01T00:00:00Z", "result": 7})
    assert mqtt.expect(topic) == {"phenomenonTime": "2026-01-01T00:00:00Z", "result": 7}


def test_entity_topic_receives_updates(http: FlaskClient, mqtt: MqttTestClient) -> None:
    thing = _post(http, "Things", {"name": "Meter", "description": "smart meter"})
    topic = f"v1.1/Things({thing['@iot.id']})"
    mqtt.subscribe(topic)
    assert http.patch(f"/{topic}", json={"description": "SMM 7"}).status_code == 200
    assert mqtt.expect(topic)["description"] == "SMM 7"


def test_property_topic_receives_the_changed_property(http: FlaskClient, mqtt: MqttTestClient) -> None:
    thing = _post(http, "Things", {"name": "Meter", "description": "smart meter"})
    topic = f"v1.1/Things({thing['@iot.id']})/description"
    mqtt.subscribe(topic)
    http.patch(f"/v1.1/Things({thing['@iot.id']})", json={"name": "renamed"})
    http.patch(f"/v1.1/Things({thing['@iot.id']})", json={"description": "SMM 8"})
    assert mqtt.expect(topic) == {"description": "SMM 8"}


def test_filter_topic_receives_only_matching_entities(http: FlaskClient, mqtt: MqttTestClient) -> None:
    stream = _setup(http)
    topic = f"v1.1/Datastreams({stream})/Observations?$filter=result gt 100"
    mqtt.subscribe(topic)
    for value in (5, 500):
        _post(http, f"Datastreams({stream})/Observations", {"phenomenonTime": "2026-01-01T00:00:00Z",
                                                              "result": value})
    assert mqtt.expect(topic)["result"] == 500
    mqtt.expect_nothing(topic)


def test_expand_topic_includes_the_expanded_entity(http: FlaskClient, mqtt: MqttTestClient) -> None:
    stream = _setup(http)
    topic = f"v1.1/Datastreams({stream})/Observations?$expand=FeatureOfInterest($select=name)"
    mqtt.subscribe(topic)
    _post(http, f"Datastreams({stream})/Observations", {"result": 3})
    assert mqtt.expect(topic)["FeatureOfInterest"] == {"name": "Site A"}


def test_delete_is_notified_on_the_entity_topic(http: FlaskClient, mqtt: MqttTestClient) -> None:
    thing = _post(http, "Things", {"name": "Meter", "description": "smart meter"})
    topic = f"v1.1/Things({thing['@iot.id']})"
    mqtt.subscribe(topic)
    assert http.delete(f"/{topic}").status_code == 200
    assert mqtt.expect(topic) == {"@iot.id": thing["@iot.id"], "@iot.selfLink": thing["@iot.selfLink"],
                                  "@iot.deleted": True}


def test_nothing_is_published_without_subscribers(http: FlaskClient, mqtt_service: MqttService) -> None:
    _post(http, "Things", {"name": "quiet", "description": "nobody listens"})
    mqtt_service.notifier.drain()
    assert mqtt_service.notifier.published == 0


def test_unsubscribed_topics_stop_receiving(http: FlaskClient, mqtt: MqttTestClient,
                                            mqtt_service: MqttService) -> None:
    mqtt.subscribe("v1.1/Things")
    mqtt.client.unsubscribe("v1.1/Things")
    from tests.mqtt.conftest import wait_until

    wait_until(lambda: not mqtt_service.registry.lookup("v1.1/Things"))
    _post(http, "Things", {"name": "late", "description": "after unsubscribe"})
    mqtt_service.notifier.drain()
    assert mqtt_service.notifier.published == 0


def test_only_the_server_reads_the_subscription_log(broker_url: str, mqtt_service: MqttService) -> None:
    snoop = MqttTestClient(broker_url, mqtt_service)  # test clients connect anonymously
    snoop.client.subscribe("$SYS/broker/log/#")
    other = MqttTestClient(broker_url, mqtt_service)
    other.subscribe("v1.1/Things")
    snoop.expect_nothing("$SYS/broker/log/M/subscribe", timeout=1.0)
    snoop.close()
    other.close()


def test_observations_from_create_observations_are_notified(http: FlaskClient, mqtt: MqttTestClient) -> None:
    stream = _setup(http)
    topic = f"v1.1/Datastreams({stream})/Observations?$select=result"
    mqtt.subscribe(topic)
    response = http.post("/v1.1/CreateObservations", json=[{
        "Datastream": {"@iot.id": stream}, "components": ["phenomenonTime", "result"],
        "dataArray": [["2026-01-01T00:00:00Z", 1], ["2026-01-01T00:01:00Z", 2]]}])
    assert response.status_code == 201
    assert sorted([mqtt.expect(topic)["result"], mqtt.expect(topic)["result"]]) == [1, 2]


def test_entities_created_in_a_batch_are_notified(http: FlaskClient, mqtt: MqttTestClient) -> None:
    mqtt.subscribe("v1.1/Things")
    response = http.post("/v1.1/$batch", json={"requests": [
        {"id": "1", "method": "post", "url": "Things", "body": {"name": "from batch", "description": "b"}}]})
    assert response.status_code == 200
    assert mqtt.expect("v1.1/Things")["name"] == "from batch"
