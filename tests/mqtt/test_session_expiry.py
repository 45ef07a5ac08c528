"""The ingest's persistent session outlives a long server outage: the broker keeps the creates
queued in it for STA_MQTT_SESSION_EXPIRY_S (a week by default), not the hour it used to (red team:
a site whose server was away for more than an hour lost that hour)."""
from __future__ import annotations

from sta_server.mqtt.service import MqttService
from sta_server.settings import Settings


def test_the_session_expiry_is_a_week_by_default_and_configurable() -> None:
    assert Settings.from_env({}).mqtt_session_expiry_s == 7 * 24 * 3600
    assert Settings.from_env({"STA_MQTT_SESSION_EXPIRY_S": "172800"}).mqtt_session_expiry_s == 172800


def test_the_ingest_connects_with_the_configured_expiry(mqtt_service: MqttService) -> None:
    properties = mqtt_service.connection._connect_properties
    assert properties.SessionExpiryInterval == 7 * 24 * 3600
