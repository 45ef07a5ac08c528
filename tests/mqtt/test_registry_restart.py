"""The subscription registry survives a server restart: a subscriber that stays connected while
the server is down is notified again as soon as the server is back (Mosquitto cannot list
subscriptions, so the server keeps them in the database)."""
from __future__ import annotations

import uuid
from dataclasses import replace

from sqlalchemy import Engine, text

from sta_server.app import create_app
from sta_server.mqtt.service import MqttService
from sta_server.mqtt.subscriptions import SubscriptionRegistry
from sta_server.service.events import EventBus
from sta_server.settings import Settings
from tests.mqtt.conftest import MqttTestClient, wait_until


def _stored(engine: Engine) -> set[tuple[str, str]]:
    with engine.connect() as conn:
        return {(r[0], r[1]) for r in conn.execute(text("SELECT client_id, topic FROM mqtt_subscriptions"))}


def _service(settings: Settings, engine: Engine, broker_url: str) -> MqttService:
    service = MqttService(replace(settings, mqtt_url=broker_url, mqtt_client_id=f"sta-test-{uuid.uuid4().hex[:8]}"),
                          engine, EventBus())
    service.start()
    assert service.connection.connected.wait(5)
    return service


def test_a_restarted_server_still_notifies_connected_subscribers(settings: Settings, clean_db: Engine,
                                                                broker_url: str) -> None:
    first = _service(settings, clean_db, broker_url)
    listener = MqttTestClient(broker_url, first)
    listener.subscribe("v1.1/Things")
    wait_until(lambda: any(topic == "v1.1/Things" for _, topic in _stored(clean_db)))
    first.stop()  # the server goes away; the subscriber stays connected

    second = _service(settings, clean_db, broker_url)
    try:
        assert second.registry.lookup("v1.1/Things"), "the stored subscription was not loaded"
        app = create_app(settings, clean_db, second.bus)
        created = app.test_client().post("/v1.1/Things", json={"name": "after restart", "description": "d"})
        assert created.status_code == 201
        assert listener.expect("v1.1/Things")["name"] == "after restart"
        listener.client.unsubscribe("v1.1/Things")
        wait_until(lambda: not any(topic == "v1.1/Things" for _, topic in _stored(clean_db)))
    finally:
        listener.close()
        second.stop()


def test_clean_session_reconnect_forgets_old_subscriptions() -> None:
    changes: list[tuple[str, str, str | None]] = []
    registry = SubscriptionRegistry(changes.append)
    registry.load([("agent-1", "v1.1/Things"), ("agent-2", "v1.1/Datastreams")])
    assert changes == []  # loading is not a change
    registry.feed("$SYS/broker/log/N", "1700000000: New client connected from 10.0.0.5:5000 as agent-1 (p2, c1, k60).")
    assert not registry.lookup("v1.1/Things")
    assert changes == [("drop", "agent-1", None)]
    registry.feed("$SYS/broker/log/N", "1700000000: New client connected from 10.0.0.6:5000 as agent-2 (p2, c0, k60).")
    assert registry.lookup("v1.1/Datastreams")  # a persistent session keeps its subscriptions
    registry.feed("$SYS/broker/log/M/subscribe", "1700000001: agent-2 1 v1.1/Things")
    assert changes[-1] == ("add", "agent-2", "v1.1/Things")
    assert registry.snapshot() == [("agent-2", "v1.1/Datastreams"), ("agent-2", "v1.1/Things")]
