"""What a red team tried against the MQTT identity model (issue 14, section 1; brief H8): a will
message naming another publisher, a retained create, a body naming another stream than its topic.
Real broker with the project's plugin, users generated from the user store."""
from __future__ import annotations

import json
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import Engine, text

from tests.mosquitto import Broker
from tests.mqtt.conftest import wait_until
from tests.security.conftest import Grid, password
from tests.security.mqtt_platform import Client, Platform, results, subscribed

FEATURE = {"name": "will feature", "description": "d", "encodingType": "application/geo+json",
           "feature": {"type": "Point", "coordinates": [12.0, 45.0]}}


def _drop_with_will(broker: Broker, user: str, topic: str, body: Any, **user_properties: str) -> None:
    """Connect with an MQTT v5 will and drop the socket without DISCONNECT: the broker sends the will."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"{user}:will", protocol=paho.MQTTv5)
    client.username_pw_set(user, password(user))
    will = Properties(PacketTypes.WILLMESSAGE)  # type: ignore[no-untyped-call]
    will.UserProperty = list(user_properties.items())
    client.will_set(topic, json.dumps(body), qos=1, properties=will)
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
