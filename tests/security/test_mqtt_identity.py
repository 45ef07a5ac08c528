"""MQTT creates run with their publisher's rights (issue 14, section 1): the broker plugin stamps
the authenticated user, the server stores each create as that user, so nested bodies can never
reach another site, and each attack that once worked over MQTT fails there as over HTTP."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, text

from sta_server.security import cli
from sta_server.security.broker_files import sync
from tests.mosquitto import Broker
from tests.mqtt.conftest import wait_until
from tests.security.conftest import As, Grid
from tests.security.mqtt_platform import (
    Client,
    Platform,
    results,
    start_platform,
    start_secure_broker,
    wait_for_acl,
)

FEATURE = {"name": "evil feature", "description": "d", "encodingType": "application/geo+json",
           "feature": {"type": "Point", "coordinates": [12.0, 45.0]}}
TASK = {"taskingParameters": {"powerSetpoint": 5, "priority": 1, "startTime": "2026-06-01T12:00:00Z"}}


def _attacks(grid: Grid, feature_b: int) -> dict[str, dict[str, Any]]:
    """Bodies a device agent of site A once used on its own stream's topic to reach site B."""
    other_obs = {"result": 99, "phenomenonTime": "2026-01-02T00:00:00Z", "Datastream": {"@iot.id": grid.stream_b}}
    return {
        "extra Datastream member": {"result": 91, "Datastream": {"@iot.id": grid.stream_b}},
        "new feature moving another site's Observation": {
            "result": 92, "FeatureOfInterest": {**FEATURE, "Observations": [{"@iot.id": grid.observations_b[0]}]}},
        "new feature storing into another site's Datastream": {
            "result": 93, "FeatureOfInterest": {**FEATURE, "Observations": [other_obs]}},
        "another household's feature": {"result": 94, "FeatureOfInterest": {"@iot.id": feature_b}},
        "a new feature (an entity type the role may not create)": {"result": 95, "FeatureOfInterest": FEATURE},
    }


def _site_b_state(engine: Engine, grid: Grid) -> tuple[list[float], list[Any], int]:
    with engine.connect() as conn:
        features = [r[0] for r in conn.execute(text(
            "SELECT feature_of_interest_id FROM observations WHERE datastream_id = :s ORDER BY id"),
            {"s": grid.stream_b})]
        evil = int(conn.execute(text("SELECT count(*) FROM features WHERE name = 'evil feature'")).scalar_one())
    return results(engine, grid.stream_b), features, evil


def _feature_of(admin: As, observation: int) -> int:
    return int(admin.get(f"Observations({observation})/FeatureOfInterest")[1]["@iot.id"])


def test_nested_bodies_never_reach_another_site_over_http(secure_client: Any, grid: Grid, clean_db: Engine) -> None:
    admin, agent = As(secure_client, "admin"), As(secure_client, "agent")
    before = _site_b_state(clean_db, grid)
    for name, body in _attacks(grid, _feature_of(admin, grid.observations_b[0])).items():
        status, answer = agent.post(f"Datastreams({grid.stream_a})/Observations", body)
        assert status in (400, 403, 404), (name, answer)
    assert _site_b_state(clean_db, grid) == before
    assert not {91, 92, 93, 94, 95} & set(results(clean_db))


def test_nested_bodies_never_reach_another_site_over_mqtt(platform: Platform, mqtt_grid: Grid, secure_broker: Broker,
                                                          clean_db: Engine) -> None:
    http, service, _ = platform
    admin = As(http, "admin")
    feature_b = _feature_of(admin, mqtt_grid.observations_b[0])
    attacks = _attacks(mqtt_grid, feature_b)
    before = _site_b_state(clean_db, mqtt_grid)
    rejected = service.ingest.stats.rejected
    agent = Client(secure_broker, "agent")
    topic = f"v1.1/Datastreams({mqtt_grid.stream_a})/Observations"
    for body in attacks.values():
        agent.publish(topic, body)
    # a forged publisher is replaced by the broker plugin: still the agent
    agent.publish(topic, attacks["extra Datastream member"], sta_publisher="admin")
    agent.publish(topic, {"result": 96})
    wait_until(lambda: 96 in results(clean_db), 10)
    # every attack refused, the forged repeat too (an extra `Datastream` member naming another
    # stream than the topic's is refused as HTTP refuses it)
    wait_until(lambda: service.ingest.stats.rejected >= rejected + len(attacks) + 1, 10)
    assert _site_b_state(clean_db, mqtt_grid) == before
    assert not {91, 92, 93, 94, 95} & set(results(clean_db))
    with clean_db.connect() as conn:  # the audit trail names the real publisher
        actors = conn.execute(text("SELECT DISTINCT actor, role FROM audit_records WHERE channel = 'mqtt'")).all()
    assert [tuple(a) for a in actors] == [("agent", "device_agent")]
    assert As(http, "agent").get(f"FeaturesOfInterest({feature_b})")[0] == 404  # nothing to read through
    assert service.probe.trusted  # the server asked the broker whether it names publishers
    agent.close()


def test_idempotency_keys_belong_to_their_publisher(platform: Platform, mqtt_grid: Grid, secure_broker: Broker,
                                                    clean_db: Engine) -> None:
    """One site's key never suppresses another site's message; a publisher's own repeat is a duplicate."""
    _, service, _ = platform
    duplicates = service.ingest.stats.duplicates
    agent, agent_b = Client(secure_broker, "agent"), Client(secure_broker, "agent-b")
    agent.publish(f"v1.1/Datastreams({mqtt_grid.stream_a})/Observations", {"result": 41}, idempotency_key="k-1")
    wait_until(lambda: 41 in results(clean_db), 10)
    agent_b.publish(f"v1.1/Datastreams({mqtt_grid.stream_b})/Observations", {"result": 42}, idempotency_key="k-1")
    wait_until(lambda: 42 in results(clean_db, mqtt_grid.stream_b), 10)
    agent.publish(f"v1.1/Datastreams({mqtt_grid.stream_a})/Observations", {"result": 43}, idempotency_key="k-1")
    wait_until(lambda: service.ingest.stats.duplicates == duplicates + 1, 10)
    assert 43 not in results(clean_db)
    agent.close()
    agent_b.close()


def test_client_ids_are_bound_to_users(mqtt_grid: Grid, secure_broker: Broker) -> None:
    """A user cannot take over another client's session by connecting with its client id."""
    box = Client(secure_broker, "agent", client_id="agent:field-box", clean=False)
    assert box.rc == 0 and box.subscribe(f"v1.1/TaskingCapabilities({mqtt_grid.capability_a})/Tasks") == 1
    thief = Client(secure_broker, "resident", client_id="agent:field-box", clean=False)
    assert thief.rc != 0
    assert box.client.is_connected()
    assert Client(secure_broker, "agent", client_id="agentx").rc != 0  # not `agent` nor `agent:…`
    assert Client(secure_broker, "resident", client_id="agent").rc != 0
    plain = Client(secure_broker, "agent", client_id="agent")
    assert plain.rc == 0
    for client in (box, plain):
        client.close()


def test_moving_a_datastream_stops_the_old_sites_notifications_at_once(
        platform: Platform, mqtt_grid: Grid, secure_broker: Broker) -> None:
    """The ACL is rewritten and the broker signalled before the PATCH answers."""
    http, _, _ = platform
    admin = As(http, "admin")
    stream, tasks = (f"v1.1/Datastreams({mqtt_grid.stream_a})/Observations",
                     f"v1.1/TaskingCapabilities({mqtt_grid.capability_a})/Tasks")
    agent = Client(secure_broker, "agent")
    assert agent.subscribe(stream) == 1 and agent.subscribe(tasks) == 1
    assert admin.post(f"Datastreams({mqtt_grid.stream_a})/Observations", {"result": 51})[0] == 201
    assert [body["result"] for _, body in agent.until(stream)] == [51]
    status, _ = admin.call("PATCH", f"Datastreams({mqtt_grid.stream_a})", {"Thing": {"@iot.id": mqtt_grid.thing_b}})
    assert status == 200
    assert admin.post(f"Datastreams({mqtt_grid.stream_a})/Observations", {"result": 52})[0] == 201
    assert admin.post(f"TaskingCapabilities({mqtt_grid.capability_a})/Tasks", TASK)[0] == 201
    # notifications go out in order: the Task's comes after the Observation's, which never came
    assert [name for name, _ in agent.until(tasks)] == [tasks]
    site_b = Client(secure_broker, "agent-b")
    assert site_b.subscribe(stream) == 1
    assert admin.post(f"Datastreams({mqtt_grid.stream_a})/Observations", {"result": 53})[0] == 201
    assert [body["result"] for _, body in site_b.until(stream)] == [53]
    for client in (agent, site_b):
        client.close()


@pytest.fixture
def topic_platform(secure_broker: Broker, secure_settings: Any, secure_app: Any, grid: Grid,
                   clean_db: Engine) -> Any:
    started, stop = start_platform(secure_broker, secure_settings, clean_db, identity="topic")
    with clean_db.connect() as conn:
        sync(conn, started[2])
    wait_for_acl(secure_broker, f"topic readwrite v1.1/Datastreams({grid.stream_a})/Observations")
    yield started
    stop()


def test_without_the_plugin_creates_run_as_the_topics_site(topic_platform: Platform, grid: Grid,
                                                           secure_broker: Broker, clean_db: Engine) -> None:
    """STA_MQTT_IDENTITY=topic (a broker that does not name publishers): the site that owns the
    topic's Datastream; collection topics, whose bodies name their streams, are refused."""
    _, service, _ = topic_platform
    rejected = service.ingest.stats.rejected
    agent, admin = Client(secure_broker, "agent"), Client(secure_broker, "admin")
    admin.publish("v1.1/Observations", {"result": 61, "Datastream": {"@iot.id": grid.stream_a}})
    into_b = {"result": 64, "phenomenonTime": "2026-01-02T00:00:00Z", "Datastream": {"@iot.id": grid.stream_b}}
    agent.publish(f"v1.1/Datastreams({grid.stream_a})/Observations",
                  {"result": 62, "FeatureOfInterest": {**FEATURE, "Observations": [into_b]}}, sta_publisher="admin")
    agent.publish(f"v1.1/Datastreams({grid.stream_a})/Observations", {"result": 63})
    wait_until(lambda: 63 in results(clean_db), 10)
    wait_until(lambda: service.ingest.stats.rejected >= rejected + 2, 10)
    assert not {61, 62, 64} & set(results(clean_db))
    with clean_db.connect() as conn:
        actors = conn.execute(text("SELECT DISTINCT actor, role FROM audit_records WHERE channel = 'mqtt'")).all()
    assert [tuple(a) for a in actors] == [(f"v1.1/Datastreams({grid.stream_a})", "device_agent")]
    for client in (agent, admin):
        client.close()


def test_revoking_a_grant_stops_notifications_at_once(platform: Platform, mqtt_grid: Grid, secure_broker: Broker,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """`sta-admin user change --revoke` rewrites the ACL and waits for the broker's reload."""
    http, _, settings = platform
    admin = As(http, "admin")
    kept, lost = (f"v1.1/Datastreams({s})/Observations" for s in (mqtt_grid.stream_public, mqtt_grid.stream_a))
    monkeypatch.setenv("STA_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("STA_MQTT_AUTH_DIR", str(secure_broker.folder))
    assert cli.main(["user", "change", "agent", "--grant", "public"]) == 0
    agent = Client(secure_broker, "agent")
    assert agent.subscribe(lost) == 1 and agent.subscribe(kept) == 1
    assert cli.main(["user", "change", "agent", "--revoke", "site:A"]) == 0
    assert admin.post(f"Datastreams({mqtt_grid.stream_a})/Observations", {"result": 71})[0] == 201
    assert admin.post(f"Datastreams({mqtt_grid.stream_public})/Observations", {"result": 72})[0] == 201
    # notifications go out in order: the kept stream's comes after the lost one's, which never came
    assert [(name, body["result"]) for name, body in agent.until(kept)] == [(kept, 72)]
    agent.close()


@pytest.fixture(scope="module")
def plain_broker() -> Any:
    broker = start_secure_broker(plugin=False)
    yield broker
    broker.remove()


def test_a_broker_that_does_not_name_publishers_is_not_trusted(plain_broker: Broker, secure_settings: Any,
                                                               secure_app: Any, grid: Grid, clean_db: Engine) -> None:
    """STA_MQTT_IDENTITY=broker against a broker without the plugin: the server finds out (a forged
    name comes back unchanged) and runs creates as the site of their topic, never as the name a
    client wrote into its message."""
    (_, service, settings), stop = start_platform(plain_broker, secure_settings, clean_db, identity="broker")
    try:
        with clean_db.connect() as conn:
            sync(conn, settings)
        wait_for_acl(plain_broker, f"topic readwrite v1.1/Datastreams({grid.stream_a})/Observations")
        rejected = service.ingest.stats.rejected
        admin, agent = Client(plain_broker, "admin"), Client(plain_broker, "agent")
        assert admin.publish("v1.1/Observations", {"result": 81, "Datastream": {"@iot.id": grid.stream_a}},
                             sta_publisher="admin") == 0
        topic = f"v1.1/Datastreams({grid.stream_a})/Observations"
        assert agent.publish(topic, {"result": 82, "FeatureOfInterest": {"@iot.id": _feature_of_b(clean_db, grid)}},
                             sta_publisher="admin") == 0
        assert agent.publish(topic, {"result": 83}, sta_publisher="admin") == 0
        wait_until(lambda: 83 in results(clean_db), 10)
        wait_until(lambda: service.ingest.stats.rejected >= rejected + 2, 10)
        assert not service.probe.trusted
        assert not {81, 82} & set(results(clean_db))
        with clean_db.connect() as conn:
            actors = conn.execute(text("SELECT DISTINCT actor FROM audit_records WHERE channel = 'mqtt'")).all()
        assert [a[0] for a in actors] == [f"v1.1/Datastreams({grid.stream_a})"]
        for client in (admin, agent):
            client.close()
    finally:
        stop()


def _feature_of_b(engine: Engine, grid: Grid) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT feature_of_interest_id FROM observations WHERE id = :o"),
                                {"o": grid.observations_b[0]}).scalar_one())
