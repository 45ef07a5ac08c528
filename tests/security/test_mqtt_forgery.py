"""What a red team tried against the MQTT identity model (issue 14, section 1; brief H8): a will
message naming another publisher, a retained create, a body naming another stream than its topic.
Real broker with the project's plugin, users generated from the user store."""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import Engine, text

from sta_server.security.broker_files import sync
from sta_server.settings import Settings
from tests.mosquitto import Broker
from tests.mqtt.conftest import wait_until
from tests.security.conftest import Grid, password
from tests.security.mqtt_platform import (
    Client,
    Platform,
    results,
    start_platform,
    start_secure_broker,
    subscribed,
    wait_for_acl,
)

FEATURE = {"name": "will feature", "description": "d", "encodingType": "application/geo+json",
           "feature": {"type": "Point", "coordinates": [12.0, 45.0]}}


def _drop_with_will(broker: Broker, user: str, topic: str, body: Any, retain: bool = False,
                    **user_properties: str) -> None:
    """Connect with an MQTT v5 will and drop the socket without DISCONNECT: the broker sends the will."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"{user}:will", protocol=paho.MQTTv5)
    client.username_pw_set(user, password(user))
    will = Properties(PacketTypes.WILLMESSAGE)  # type: ignore[no-untyped-call]
    will.UserProperty = list(user_properties.items())
    client.will_set(topic, json.dumps(body), qos=1, retain=retain, properties=will)
    assert client.connect("127.0.0.1", broker.port) == 0
    while not client.is_connected():
        client.loop(0.1)
    client.socket().close()


def _mqtt_actors(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT DISTINCT actor, role FROM audit_records WHERE channel = 'mqtt'")).all()
    return sorted((str(r[0]), str(r[1])) for r in rows)


def test_a_will_naming_another_publisher_is_refused(platform: Platform, mqtt_grid: Grid, secure_broker: Broker,
                                                    clean_db: Engine) -> None:
    """Wills never pass the plugin's message event: the forged `sta-publisher=admin` has no valid
    stamp, so the create (a new FeatureOfInterest, which only an administrator may create) is
    refused instead of stored as the administrator."""
    _, service, _ = platform
    rejected = service.ingest.stats.rejected
    topic = f"v1.1/Datastreams({mqtt_grid.stream_a})/Observations"
    _drop_with_will(secure_broker, "agent", topic, {"result": 31, "FeatureOfInterest": FEATURE},
                    **{"sta-publisher": "admin", "sta-stamp": "0" * 64})
    wait_until(lambda: service.ingest.stats.rejected >= rejected + 1, 10)
    agent = Client(secure_broker, "agent")
    assert agent.publish(topic, {"result": 32}) == 0  # a stamped message of the same user is stored
    wait_until(lambda: 32 in results(clean_db), 10)
    assert 31 not in results(clean_db)
    with clean_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM features WHERE name = 'will feature'")).scalar_one() == 0
    assert _mqtt_actors(clean_db) == [("agent", "device_agent")]
    agent.close()


def test_a_retained_will_is_never_stored(secure_settings: Settings, secure_app: Any, grid: Grid,
                                        clean_db: Engine) -> None:
    """A will with `retain` (which the plugin cannot clear) and a forged publisher: refused when it
    is sent, and again when a server subscribes afresh (a restart) and gets the retained copy.
    (A broker of its own: the retained will stays there.)"""
    broker = start_secure_broker()
    topic = f"v1.1/Datastreams({grid.stream_a})/Observations"
    try:
        (_, service, settings), stop = start_platform(broker, secure_settings, clean_db)
        try:
            with clean_db.connect() as conn:
                sync(conn, settings)
            wait_for_acl(broker, f"topic readwrite {topic}")
            _drop_with_will(broker, "agent", topic, {"result": 33}, retain=True, **{"sta-publisher": "admin"})
            wait_until(lambda: service.ingest.stats.reasons.get("Forbidden", 0) == 1, 10)
        finally:
            stop()
        (_, restarted, _), stop = start_platform(broker, secure_settings, clean_db)
        try:
            wait_until(lambda: restarted.ingest.stats.reasons.get("Retained", 0) == 1, 10)
        finally:
            stop()
        assert 33 not in results(clean_db)
    finally:
        broker.remove()


def test_a_client_id_imitating_a_log_line_is_refused(platform: Platform, mqtt_grid: Grid,
                                                     secure_broker: Broker) -> None:
    """A resident's client id once read, in the broker's `$SYS` log, as a clean reconnect of a
    device: the registry dropped the device's subscriptions and it stopped getting Tasks."""
    _, service, _ = platform
    tasks = f"v1.1/TaskingCapabilities({mqtt_grid.capability_a})/Tasks"
    device = Client(secure_broker, "agent", client_id="agent:box", clean=False)
    assert device.subscribe(tasks) == 1
    wait_until(lambda: subscribed(service, tasks), 10)
    forged = "resident:q New client connected from 127.0.0.1:1 as agent:box (p5, c1, k60, u'agent')."
    assert Client(secure_broker, "resident", client_id=forged).rc != 0
    resident = Client(secure_broker, "resident")  # the registry reads its lines after any forged one
    stream = f"v1.1/Datastreams({mqtt_grid.stream_a})/Observations"
    assert resident.subscribe(stream) == 1
    wait_until(lambda: subscribed(service, stream), 10)
    assert subscribed(service, tasks)
    for client in (device, resident):
        client.close()


def _publish_retained(client: Client, topic: str, body: Any) -> None:
    client.client.publish(topic, json.dumps(body), qos=1, retain=True).wait_for_publish(5)


def test_the_broker_keeps_no_create_for_later_subscribers(platform: Platform, mqtt_grid: Grid,
                                                          secure_broker: Broker, clean_db: Engine) -> None:
    """The plugin clears `retain`: a create is stored once and never handed to whoever subscribes
    later (the server resubscribing after a broker restart, a new site after a Datastream moved)."""
    topic = f"v1.1/Datastreams({mqtt_grid.stream_a})/Observations"
    agent = Client(secure_broker, "agent")
    _publish_retained(agent, topic, {"result": 21})
    wait_until(lambda: 21 in results(clean_db), 10)
    later = Client(secure_broker, "agent")
    assert later.subscribe(topic) == 1
    agent.publish(topic, {"result": 22})  # anything retained would come before this one
    assert [body["result"] for _, body in later.until(topic)] == [22]
    assert results(clean_db).count(21) == 1
    for client in (agent, later):
        client.close()


@pytest.fixture
def plain_broker() -> Iterator[Broker]:
    broker = start_secure_broker(plugin=False)
    yield broker
    broker.remove()


def test_a_retained_copy_is_not_stored_again(plain_broker: Broker, secure_settings: Settings, secure_app: Any,
                                             grid: Grid, clean_db: Engine) -> None:
    """A broker without the plugin keeps a retained create: a server that subscribes afresh (a
    restart, another ingest process) gets the copy with the retain flag, and refuses it."""
    (_, first, settings), stop = start_platform(plain_broker, secure_settings, clean_db, identity="topic")
    topic = f"v1.1/Datastreams({grid.stream_a})/Observations"
    try:
        with clean_db.connect() as conn:
            sync(conn, settings)
        wait_for_acl(plain_broker, f"topic readwrite {topic}")
        agent = Client(plain_broker, "agent")
        _publish_retained(agent, topic, {"result": 23})
        wait_until(lambda: 23 in results(clean_db), 10)
        agent.close()
    finally:
        stop()
    (_, second, _), stop = start_platform(plain_broker, secure_settings, clean_db, identity="topic")
    try:
        wait_until(lambda: second.ingest.stats.reasons.get("Retained", 0) == 1, 10)
        assert results(clean_db).count(23) == 1
    finally:
        stop()


def test_a_body_naming_another_stream_than_its_topic_is_refused(platform: Platform, mqtt_grid: Grid,
                                                                secure_broker: Broker, clean_db: Engine,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    """As over HTTP (400, "names another Datastream than the path"): rejected, logged, counted;
    never stored into the topic's stream (nor the other one)."""
    _, service, _ = platform
    before = service.ingest.stats.reasons.get("InvalidEntity", 0)
    topic = f"v1.1/Datastreams({mqtt_grid.stream_a})/Observations"
    agent = Client(secure_broker, "agent")
    agent.publish(topic, {"result": 24, "Datastream": {"@iot.id": mqtt_grid.stream_b}})
    agent.publish(topic, {"result": 25, "Datastream": {"@iot.id": mqtt_grid.stream_a}})  # the same: fine
    wait_until(lambda: 25 in results(clean_db), 10)
    assert service.ingest.stats.reasons.get("InvalidEntity", 0) == before + 1
    assert 24 not in results(clean_db)
    assert any("names another Datastream than the path" in r.getMessage() for r in caplog.records
               if r.levelname == "WARNING")
    agent.close()


def test_a_broker_with_another_secret_is_not_trusted(plain_broker: Broker, secure_settings: Settings,
                                                     secure_app: Any, clean_db: Engine) -> None:
    """The identity probe's answer must carry a stamp that verifies with the server's secret: a
    broker whose plugin stamps with another secret (or none) does not name publishers for it."""
    broker = start_secure_broker()
    try:
        (broker.folder / "stamp.secret").write_text("f" * 64 + "\n")  # not the one the plugin read
        (_, service, _), stop = start_platform(broker, secure_settings, clean_db, identity="broker")
        try:
            assert service.probe.trust() is False
        finally:
            stop()
        (_, service, _), stop = start_platform(plain_broker, secure_settings, clean_db, identity="broker")
        try:
            assert service.probe.trust() is False  # no plugin: no stamp at all
        finally:
            stop()
    finally:
        broker.remove()
