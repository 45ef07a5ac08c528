"""The pure parts of the MQTT identity model (security/mqtt_identity.py): client ids bound to
users, who a message is from in each identity mode, topic filters."""
from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import create_engine

from sta_server.mqtt.subscriptions import SubscriptionRegistry
from sta_server.security.mqtt_identity import (
    IdentityProbe,
    Publishers,
    TopicAccess,
    _matches,
    bind_client_id,
    client_user,
)
from sta_server.settings import Settings

ON = Settings(auth=True)


@pytest.mark.parametrize(("user", "configured", "sent"), [
    ("sta-server", "sta-server", "sta-server"),
    ("sta-server", "sta-server:ingest", "sta-server:ingest"),
    ("sta-server", "sta-test-1", "sta-server:sta-test-1"),
    ("sta-server", "sta-server-http-7", "sta-server:sta-server-http-7"),  # a prefix is not enough
    (None, "anything", "anything"),
])
def test_the_servers_client_id_follows_the_plugins_rule(user: str | None, configured: str, sent: str) -> None:
    assert bind_client_id(user, configured) == sent


def test_a_client_id_names_its_user() -> None:
    assert client_user("agent:box-1") == ("agent", True)
    assert client_user("agent") == ("agent", False)  # the user, or an anonymous client of that id


@pytest.mark.parametrize(("settings", "topic", "publisher", "key"), [
    (replace(ON, mqtt_identity="broker"), "v1.1/Observations", "agent", "user:agent"),
    (replace(ON, mqtt_identity="broker"), "v1.1/Datastreams(7)/Observations", None, "anonymous"),
    (replace(ON, mqtt_identity="topic"), "v1.1/Datastreams(7)/Observations", "admin", "topic:v1.1/Datastreams(7)"),
    (replace(ON, mqtt_identity="topic"), "v1.0/MultiDatastreams(3)/Observations", None,
     "topic:v1.0/MultiDatastreams(3)"),
    (replace(ON, mqtt_identity="topic"), "v1.1/TaskingCapabilities(2)/Tasks", None,
     "topic:v1.1/TaskingCapabilities(2)"),
    (replace(ON, mqtt_identity="topic"), "v1.1/Observations", "admin", "topic:"),  # the body names the stream
    (replace(ON, mqtt_identity="topic"), "v1.1/SenML", None, "topic:"),
    (replace(ON, mqtt_identity="topic"), "v1.1/Things(1)/Locations", None, "topic:"),
    (replace(ON, auth=False), "v1.1/Observations", None, "open:anonymous"),
])
def test_who_a_create_is_from(settings: Settings, topic: str, publisher: str | None, key: str) -> None:
    assert Publishers(create_engine("postgresql+psycopg://x@127.0.0.1:1/x"), settings).key(topic, publisher) == key


def test_nobody_may_create_as_anonymous_or_without_a_site() -> None:
    publishers = Publishers(create_engine("postgresql+psycopg://x@127.0.0.1:1/x"), ON)
    assert publishers.principal("anonymous") is None and publishers.principal("topic:") is None
    opened = publishers.principal("open:dev")
    assert opened is not None and opened.unrestricted and opened.channel == "mqtt"


@pytest.mark.parametrize(("pattern", "topic", "matches"), [
    ("v1.1/#", "v1.1/Datastreams(1)/Observations?$select=result", True),
    ("v1.1/Datastreams(1)/Observations", "v1.1/Datastreams(1)/Observations", True),
    ("v1.1/Datastreams(1)/Observations", "v1.1/Datastreams(1)/Observations?$select=result", False),
    ("v1.1/Datastreams(1)/Observations", "v1.1/Datastreams(12)/Observations", False),
    ("v1.1/+/Observations", "v1.1/Datastreams(1)/Observations", True),
    ("v1.0/#", "v1.1/Things(1)", False),
])
def test_topic_filters(pattern: str, topic: str, matches: bool) -> None:
    assert _matches(pattern, topic) is matches


def test_subscriptions_are_let_through_while_the_database_is_unreachable() -> None:
    """The check runs on the MQTT network thread: a database error must not kill it, and the
    broker's ACL still decides what is delivered."""
    unreachable = create_engine("postgresql+psycopg://x@127.0.0.1:1/x", connect_args={"connect_timeout": 1})
    assert TopicAccess(unreachable, ON).may_read("agent:box", "v1.1/Datastreams(1)/Observations")


def test_the_registry_acts_only_on_what_a_subscriber_may_read() -> None:
    """Denied subscriptions are never registered; a registered one is no longer looked up once none
    of its subscribers may read it (a revoked grant)."""
    readable = {("agent:box", "v1.1/Datastreams(1)/Observations"), ("ops:1", "v1.1/Datastreams(1)/Observations")}
    registry = SubscriptionRegistry(may_read=lambda client, topic: (client, topic) in readable)
    registry.add("agent:box", "v1.1/Datastreams(1)/Observations")
    registry.add("agent:box", "v1.1/Datastreams(2)/Observations")
    registry.add("ops:1", "v1.1/Datastreams(1)/Observations")
    assert registry.snapshot() == [("agent:box", "v1.1/Datastreams(1)/Observations"),
                                   ("ops:1", "v1.1/Datastreams(1)/Observations")]
    readable.discard(("agent:box", "v1.1/Datastreams(1)/Observations"))
    assert [r.topic for r in registry.lookup("v1.1/Datastreams(1)/Observations")] == [
        "v1.1/Datastreams(1)/Observations"]  # ops may still read it
    readable.clear()
    assert registry.lookup("v1.1/Datastreams(1)/Observations") == []
    registry.drop_client("ops:1")
    registry.drop_client("agent:box")
    assert not registry


@pytest.mark.parametrize(("stamps", "trusted"), [
    (["sta-server"], True),  # the plugin replaced the forged name with the server's own
    ([IdentityProbe.FORGED], False),  # a broker that passes user properties on unchanged
    ([IdentityProbe.FORGED, "sta-server"], False),
    ([], False),
])
def test_the_identity_probe_trusts_only_a_broker_that_replaced_the_forged_name(stamps: list[str],
                                                                                trusted: bool) -> None:
    probe = IdentityProbe("sta-server", wait_s=0.01)
    probe.sent()
    probe.answer(stamps)
    assert probe.trust() is trusted
