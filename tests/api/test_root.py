"""The service root's serverSettings: the MQTT classes, with the endpoints where clients reach the
broker (OGC 18-088 9.2.1), are claimed only when MQTT is on."""
from __future__ import annotations

from dataclasses import replace

from flask.testing import FlaskClient
from sqlalchemy import Engine

from sta_server.api.root import MQTT_CONFORMANCE, mqtt_endpoints, root_document
from sta_server.app import create_app
from sta_server.settings import Settings

SENSING_MQTT = "http://www.opengis.net/spec/iot_sensing/1.1/req/create-observations-via-mqtt/observations-creation"
TASKING_MQTT = "http://www.opengis.net/spec/iot_tasking/1.0/req/create-tasks-via-mqtt"


def test_endpoints_default_to_the_broker_port_on_the_service_host() -> None:
    settings = Settings(mqtt_url="mqtt://sta-server:secret@127.0.0.1:18830", service_root_url="https://grid.example/sta")
    assert mqtt_endpoints(settings) == ("mqtt://grid.example:18830",)
    tls = replace(settings, mqtt_url="mqtts://broker.internal")
    assert mqtt_endpoints(tls) == ("mqtts://grid.example:8883",)


def test_endpoints_as_configured() -> None:
    settings = Settings(mqtt_public_urls="mqtts://grid.example:8883, wss://grid.example/mqtt")
    assert mqtt_endpoints(settings) == ("mqtts://grid.example:8883", "wss://grid.example/mqtt")


def test_no_mqtt_no_endpoints_and_no_mqtt_classes() -> None:
    assert mqtt_endpoints(Settings(mqtt_url=None, mqtt_public_urls="mqtt://x:1883")) == ()
    settings = root_document("http://h/v1.1", "1.1")["serverSettings"]
    assert not set(MQTT_CONFORMANCE) & set(settings["conformance"])
    assert set(settings) == {"conformance"}


def test_mqtt_classes_name_their_endpoints(settings: Settings, clean_db: Engine) -> None:
    app = create_app(settings, clean_db)
    app.config["STA_MQTT_ENDPOINTS"] = ("mqtt://sta.test:1883",)
    client: FlaskClient = app.test_client()
    body = client.get("/v1.1").get_json()["serverSettings"]
    for requirement in (SENSING_MQTT, TASKING_MQTT):
        assert requirement in body["conformance"]
        assert body[requirement] == {"endpoints": ["mqtt://sta.test:1883"]}
    assert "serverSettings" not in client.get("/v1.0").get_json()
