"""The access matrix over MQTT: the broker checks the platform's users (password and ACL files
generated from the user store); each role subscribes to and publishes on its own topics only."""
from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from sta_server.security import users
from sta_server.security.broker_files import sync
from sta_server.settings import Settings
from tests.mosquitto import Broker
from tests.mqtt.conftest import wait_until
from tests.security.conftest import SETUP, As, Grid, password
from tests.security.mqtt_platform import SERVER_ACL, Client, acl_text, subscribed, wait_for_acl


def test_broker_files_follow_the_user_store(mqtt_grid: Grid, secure_broker: Broker, clean_db: Engine) -> None:
    acl = acl_text(secure_broker)
    agent = acl[acl.index("user agent\n"):].split("\n\n")[0]
    assert f"topic readwrite v1.1/Datastreams({mqtt_grid.stream_a})/Observations" in agent
    assert f"Datastreams({mqtt_grid.stream_b})" not in agent
    assert f"topic read v1.1/TaskingCapabilities({mqtt_grid.capability_a})/Tasks" in agent
    operator = acl[acl.index("user operator\n"):].split("\n\n")[0]
    assert f"topic readwrite v1.1/TaskingCapabilities({mqtt_grid.capability_a})/Tasks" in operator
    assert "topic readwrite v1.1/#" in acl[acl.index("user admin\n"):].split("\n\n")[0]
    passwd = (secure_broker.folder / "passwd").read_text()
    assert re.search(r"^agent:\$7\$\d+\$", passwd, re.M) and password("agent") not in passwd
    assert passwd.startswith("sta-server:")
    with clean_db.begin() as conn:
        users.change_user(conn, SETUP, "resident", disabled=True)
    with clean_db.connect() as conn:
        assert sync(conn, replace(Settings(), anonymous="off", mqtt_auth_dir=str(secure_broker.folder)))
    assert "resident:" not in (secure_broker.folder / "passwd").read_text()
    assert "user resident\n" not in acl_text(secure_broker)


def test_unknown_users_and_anonymous_clients_are_refused(mqtt_grid: Grid, secure_broker: Broker) -> None:
    assert Client(secure_broker, "agent", "wrong").rc != 0
    assert Client(secure_broker, "nobody", "x").rc != 0
    assert Client(secure_broker, None).rc != 0
    good = Client(secure_broker, "agent")
    assert good.rc == 0
    good.close()


def test_subscriptions_deliver_only_visible_entities(platform: Any, mqtt_grid: Grid, secure_broker: Broker) -> None:
    http, service, _ = platform
    own, other = (f"v1.1/Datastreams({s})/Observations" for s in (mqtt_grid.stream_a, mqtt_grid.stream_b))
    watcher = Client(secure_broker, "admin")  # makes the server publish where the agent may not read
    for topic in (other, "v1.1/Observations"):
        assert watcher.subscribe(topic) == 1
    agent = Client(secure_broker, "agent")
    denied = (other, "v1.1/Observations", f"{own}?$select=result", f"{own}?$filter=result gt 0")
    # Mosquitto 2.0.11 grants these subscriptions but delivers nothing the ACL does not allow
    for topic in (*denied, "v1.1/#", "#"):
        agent.subscribe(topic)
    assert agent.subscribe(own) == 1
    wait_until(lambda: subscribed(service, own))  # the broker logs subscriptions in order
    # ... and the server does not register them for the agent (it runs no query for them)
    assert {topic for client, topic in service.registry.snapshot() if client == agent.client_id} == {own}
    assert {topic for client, topic in service.registry.snapshot() if client == watcher.client_id} == {
        other, "v1.1/Observations"}
    admin = As(http, "admin")
    for stream in (mqtt_grid.stream_b, mqtt_grid.stream_a):  # site B's notifications go out first
        assert admin.post(f"Datastreams({stream})/Observations", {"result": stream * 100})[0] == 201
    assert [(topic, body["result"]) for topic, body in agent.until(own)] == [(own, mqtt_grid.stream_a * 100)]
    for client in (agent, watcher):
        client.close()


def test_creates_only_on_own_topics(platform: Any, mqtt_grid: Grid, secure_broker: Broker, clean_db: Engine) -> None:
    http, service, _ = platform
    agent, operator, resident = (Client(secure_broker, n) for n in ("agent", "operator", "resident"))
    listener = Client(secure_broker, "agent")
    tasks = f"v1.1/TaskingCapabilities({mqtt_grid.capability_a})/Tasks"
    assert listener.subscribe(tasks) == 1
    wait_until(lambda: subscribed(service, tasks))
    assert agent.publish(f"v1.1/Datastreams({mqtt_grid.stream_a})/Observations", {"result": 11}) == 0
    # refused by the broker's ACL (PUBACK 135, Not authorized): they never reach the server
    assert agent.publish(f"v1.1/Datastreams({mqtt_grid.stream_b})/Observations", {"result": 12}) == 135
    assert agent.publish("v1.1/Observations", {"result": 13, "Datastream": {"@iot.id": mqtt_grid.stream_b}}) == 135
    assert agent.publish(tasks, {"taskingParameters": {"powerSetpoint": 1, "priority": 1,
                                                       "startTime": "2026-06-01T12:00:00Z"}}) == 135
    assert resident.publish(f"v1.1/Datastreams({mqtt_grid.stream_a})/Observations", {"result": 14}) == 135
    # residents task over HTTP only (named capabilities, `authorize_task`); the broker refuses their Tasks
    assert resident.publish(tasks, {"taskingParameters": {"powerSetpoint": 3, "priority": 1,
                                                          "startTime": "2026-06-01T12:00:00Z"}}) == 135
    assert operator.publish(tasks, {"taskingParameters": {"powerSetpoint": 5, "priority": 1,
                                                          "startTime": "2026-06-01T12:00:00Z"}}) == 0
    delivered = listener.received(tasks, 5)  # the operator's message itself and the created Task
    assert {t["taskingParameters"]["powerSetpoint"] for t in delivered} == {5}
    assert any("@iot.id" in t for t in delivered)

    def results() -> list[float]:
        with clean_db.connect() as conn:
            return [r[0] for r in conn.execute(text("SELECT result_number FROM observations ORDER BY id"))]

    wait_until(lambda: 11 in results(), 10)
    assert {12, 13, 14}.isdisjoint(results())
    with clean_db.connect() as conn:
        audit = conn.execute(text("SELECT actor, role, entity_type FROM audit_records WHERE channel = 'mqtt'"
                                  " AND action = 'created' ORDER BY id")).all()
        tasks_stored = conn.execute(text("SELECT count(*) FROM tasks")).scalar()
    # the audit trail names the real publishers (the broker plugin's stamp)
    assert tasks_stored == 1
    assert {(r.actor, r.role, r.entity_type) for r in audit} == {("agent", "device_agent", "Observation"),
                                                                ("operator", "grid_operator", "Task")}
    for client in (agent, operator, resident, listener):
        client.close()


def test_new_entities_reach_the_acl(platform: Any, mqtt_grid: Grid, secure_broker: Broker) -> None:
    http, service, _ = platform
    status, stream = As(http, "admin").post(f"Things({mqtt_grid.thing_a})/Datastreams", {
        "name": "new", "description": "d", "observationType": "x",
        "unitOfMeasurement": {"name": "W", "symbol": "W", "definition": "W"},
        "Sensor": {"@iot.id": 1}, "ObservedProperty": {"@iot.id": 1}})
    assert status == 201
    line = f"topic readwrite v1.1/Datastreams({stream['@iot.id']})/Observations"
    wait_for_acl(secure_broker, line)
    agent = Client(secure_broker, "agent")
    assert agent.subscribe(f"v1.1/Datastreams({stream['@iot.id']})/Observations") == 1
    agent.close()


def test_generated_files_keep_the_base_and_are_not_world_readable(mqtt_grid: Grid, secure_broker: Broker) -> None:
    passwd = Path(secure_broker.folder / "passwd")
    assert (secure_broker.folder / "passwd.base").read_text().strip() in passwd.read_text()
    assert SERVER_ACL.strip() in acl_text(secure_broker)
    for name in ("passwd", "acl"):
        assert (secure_broker.folder / name).stat().st_mode & 0o007 == 0, name


def test_creates_cannot_borrow_another_sites_feature(platform: Any, mqtt_grid: Grid, secure_broker: Broker,
                                                     clean_db: Engine) -> None:
    """A FeatureOfInterest given by id must be one the publisher (and the stream's own site) may
    see, or an agent could read another household's feature through its Observations."""
    http, service, _ = platform
    admin = As(http, "admin")
    own = admin.get(f"Observations({mqtt_grid.observations_a[0]})/FeatureOfInterest")[1]["@iot.id"]
    other = admin.get(f"Observations({mqtt_grid.observations_b[0]})/FeatureOfInterest")[1]["@iot.id"]
    agent = Client(secure_broker, "agent")
    topic = f"v1.1/Datastreams({mqtt_grid.stream_a})/Observations"
    rejected = service.ingest.stats.rejected
    agent.publish(topic, {"result": 21, "FeatureOfInterest": {"@iot.id": other}})
    agent.publish(topic, {"result": 22, "FeatureOfInterest": {"@iot.id": own}})

    def stored() -> dict[float, int]:
        with clean_db.connect() as conn:
            return {r[0]: r[1] for r in conn.execute(text(
                "SELECT result_number, feature_of_interest_id FROM observations WHERE result_number IN (21, 22)"))}

    wait_until(lambda: 22 in stored(), 10)
    wait_until(lambda: service.ingest.stats.rejected == rejected + 1, 10)
    assert stored() == {22: own}
    agent.close()


def test_device_agents_publish_senml_for_their_own_streams_only(platform: Any, mqtt_grid: Grid,
                                                                 secure_broker: Broker, clean_db: Engine) -> None:
    """The broker lets a device agent publish SenML packs; the server stores the records of its own site's
    streams and refuses the others (as for its HTTP SenML); other roles cannot publish SenML at all."""
    http, _, _ = platform
    admin = As(http, "admin")
    for stream, name in ((mqtt_grid.stream_a, "site-a/P"), (mqtt_grid.stream_b, "site-b/P")):
        assert admin.call("PATCH", f"Datastreams({stream})", {"properties": {"senmlName": name}})[0] == 200
    agent, resident = Client(secure_broker, "agent"), Client(secure_broker, "resident")
    pack = [{"bn": "site-", "n": "a/P", "u": "W", "v": 21.0, "bt": 1780000000},
            {"n": "b/P", "u": "W", "v": 22.0}]
    assert agent.publish("v1.1/SenML", pack) == 0
    assert resident.publish("v1.1/SenML", [{"n": "site-a/P", "u": "W", "v": 23.0}]) == 135

    def results() -> list[float]:
        with clean_db.connect() as conn:
            return [r[0] for r in conn.execute(text("SELECT result_number FROM observations ORDER BY id"))]

    wait_until(lambda: 21.0 in results(), 10)
    with clean_db.connect() as conn:
        stored = {r[0]: r[1] for r in conn.execute(text("SELECT result_number, datastream_id FROM observations"))}
    assert stored[21.0] == mqtt_grid.stream_a and {22.0, 23.0}.isdisjoint(stored)
    for client in (agent, resident):
        client.close()
