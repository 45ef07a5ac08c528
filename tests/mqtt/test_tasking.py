"""Set-points to the field: Tasks reach subscribed agents over MQTT, also after an agent was away."""
from __future__ import annotations

from flask.testing import FlaskClient

from sta_server.mqtt.service import MqttService
from tests.conformance.test_tasking import ACTUATOR
from tests.mqtt.conftest import MqttTestClient
from tests.s4g_capabilities import ESS_SETPOINT

SETPOINT = {"powerSetpoint": -3000, "priority": 1, "startTime": "2026-06-01T12:00:00Z"}


def _capability(http: FlaskClient) -> int:
    response = http.post("/v1.1/TaskingCapabilities", json={
        "name": "ESS set-point", "description": "battery power", "taskingParameters": ESS_SETPOINT,
        "Thing": {"name": "ESS 1", "description": "battery"}, "Actuator": ACTUATOR})
    assert response.status_code == 201, response.get_data(as_text=True)
    return int(response.get_json()["@iot.id"])


def test_new_task_reaches_the_subscribed_agent(http: FlaskClient, mqtt: MqttTestClient) -> None:
    capability = _capability(http)
    topic = f"v1.1/TaskingCapabilities({capability})/Tasks"
    mqtt.subscribe(topic)
    created = http.post(f"/{topic}", json={"taskingParameters": SETPOINT}).get_json()
    received = mqtt.expect(topic)
    assert received["@iot.id"] == created["@iot.id"]
    assert received["taskingParameters"] == SETPOINT


def test_agent_with_persistent_session_gets_tasks_it_missed(http: FlaskClient, broker_url: str,
                                                            mqtt_service: MqttService) -> None:
    capability = _capability(http)
    topic = f"v1.1/TaskingCapabilities({capability})/Tasks"
    agent = MqttTestClient(broker_url, mqtt_service, client_id="lessag-site-7", clean=False)
    agent.subscribe(topic, qos=1)
    agent.close()
    http.post(f"/{topic}", json={"taskingParameters": SETPOINT})
    mqtt_service.notifier.drain()
    back = MqttTestClient(broker_url, mqtt_service, client_id="lessag-site-7", clean=False)
    assert back.expect(topic)["taskingParameters"]["powerSetpoint"] == -3000
    back.close()


def test_agent_can_query_tasks_created_since_it_was_last_seen(http: FlaskClient) -> None:
    capability = _capability(http)
    first = http.post(f"/v1.1/TaskingCapabilities({capability})/Tasks",
                      json={"taskingParameters": SETPOINT}).get_json()
    http.post(f"/v1.1/TaskingCapabilities({capability})/Tasks",
              json={"taskingParameters": {**SETPOINT, "powerSetpoint": 500}})
    since = first["creationTime"]
    missed = http.get(f"/v1.1/TaskingCapabilities({capability})/Tasks",
                      query_string={"$filter": f"creationTime gt {since}", "$orderby": "creationTime"}).get_json()
    assert [t["taskingParameters"]["powerSetpoint"] for t in missed["value"]] == [500]
