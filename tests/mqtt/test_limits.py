"""Limits on MQTT creates: a message above the size limit is refused (acknowledged, logged, counted
by reason, also in /metrics, not stored); the per-topic pace only delays messages, which are all
stored (docs/limits.md)."""
from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from sta_server.api.metrics import read_totals, render_metrics
from sta_server.mqtt.flow import RejectLog
from sta_server.mqtt.limits import MessageLimits
from sta_server.mqtt.service import MqttService
from sta_server.service.events import EventBus
from sta_server.settings import Settings
from tests.conftest import make_datastream
from tests.mqtt.conftest import MqttTestClient, wait_until


@pytest.fixture
def limited(settings: Settings, clean_db: Engine, broker_url: str) -> Iterator[MqttService]:
    """The MQTT service with small limits: 512 bytes, a burst of 3 per topic, then 5 per second."""
    limits = replace(settings, mqtt_url=broker_url, mqtt_client_id=f"sta-test-{uuid.uuid4().hex[:8]}",
                     mqtt_max_message_bytes=512, mqtt_rate_per_topic=5.0, mqtt_burst_per_topic=3)
    service = MqttService(limits, clean_db, EventBus())
    service.start()
    assert service.connection.connected.wait(5)
    yield service
    service.stop()


@pytest.fixture
def publisher(broker_url: str, limited: MqttService) -> Iterator[MqttTestClient]:
    client = MqttTestClient(broker_url, limited)
    yield client
    client.close()


def _observations(client: FlaskClient, stream: int) -> list[float]:
    body = client.get(f"/v1.1/Datastreams({stream})/Observations?$orderby=id").get_json()
    return [o["result"] for o in body["value"]]


def _handled(service: MqttService) -> int:
    return service.ingest.stats.accepted + service.ingest.stats.rejected


def test_message_above_the_size_limit_is_rejected_and_counted(
        client: FlaskClient, limited: MqttService, publisher: MqttTestClient,
        caplog: pytest.LogCaptureFixture) -> None:
    stream = make_datastream(client)["@iot.id"]
    topic = f"v1.1/Datastreams({stream})/Observations"
    publisher.publish(topic, {"result": 1, "parameters": {"padding": "x" * 1000}})
    publisher.publish(topic, {"result": 2})
    wait_until(lambda: _handled(limited) == 2)
    assert limited.ingest.stats.reasons == {"PayloadTooLarge": 1}
    assert _observations(client, stream) == [2]
    assert any("more than the maximum of 512" in r.getMessage() for r in caplog.records)


def test_a_flood_of_rejections_is_logged_as_a_summary(
        client: FlaskClient, limited: MqttService, publisher: MqttTestClient,
        caplog: pytest.LogCaptureFixture) -> None:
    limited.ingest.rejections = rejections = RejectLog(window_s=4)
    topic = f"v1.1/Datastreams({make_datastream(client)['@iot.id']})/Observations"
    for number in range(40):  # 20 too large, 20 not JSON
        publisher.publish(topic, b"x" * 600 if number % 2 else b"{broken")
    wait_until(lambda: _handled(limited) == 40)
    summary = "more MQTT messages rejected"
    wait_until(lambda: rejections.flush() or any(summary in r.getMessage() for r in caplog.records), timeout=10)
    lines = [r.getMessage() for r in caplog.records if "rejected" in r.getMessage()]
    assert len(lines) == 11
    counts = re.fullmatch(r"30 more MQTT messages rejected in 4 s, not logged one by one "
                          r"\(BadRequest (\d+), PayloadTooLarge (\d+)\)", lines[-1])
    assert counts is not None and int(counts[1]) + int(counts[2]) == 30  # the first 10 were logged alone


def test_messages_beyond_the_pace_of_a_topic_wait_and_are_all_stored(
        client: FlaskClient, limited: MqttService, publisher: MqttTestClient) -> None:
    first = make_datastream(client)["@iot.id"]
    second = make_datastream(client, name="Other stream")["@iot.id"]
    for result in range(6):
        publisher.publish(f"v1.1/Datastreams({first})/Observations", {"result": result})
    publisher.publish(f"v1.1/Datastreams({second})/Observations", {"result": 9})
    wait_until(lambda: _observations(client, second) == [9])  # its own bucket: not held back
    assert len(_observations(client, first)) < 6  # three wait for their turn, unacknowledged
    wait_until(lambda: _handled(limited) == 7, timeout=10)
    assert limited.ingest.stats.reasons == {}
    assert limited.ingest.stats.paced == 3
    assert _observations(client, first) == [0, 1, 2, 3, 4, 5]


def test_rejections_show_in_the_metrics(limited: MqttService, publisher: MqttTestClient) -> None:
    publisher.publish("v1.1/Observations", b"x" * 600)
    wait_until(lambda: _handled(limited) == 1)
    assert 'sta_mqtt_ingest_rejected_total{code="PayloadTooLarge"} 1' in render_metrics(read_totals(limited, None))


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bucket_paces_at_the_rate() -> None:
    clock = _Clock()
    limits = MessageLimits(1024, rate_per_s=2.0, burst=2, clock=clock)
    assert [limits.delay("t") for _ in range(2)] == [0.0, 0.0]
    assert [limits.delay("t") for _ in range(3)] == [0.5, 1.0, 1.5]  # each waits for its own token
    assert limits.delay("other") == 0.0
    clock.now += 1.5  # the three waiting ones have had their turn
    assert limits.delay("t") == 0.5
    clock.now += 60  # never more than the burst
    assert [limits.delay("t") for _ in range(3)] == [0.0, 0.0, 0.5]


def test_only_size_is_refused() -> None:
    limits = MessageLimits(1024, rate_per_s=1.0, burst=1, clock=_Clock())
    assert limits.check(1024) is None
    refusal = limits.check(1025)
    assert refusal is not None and refusal.code == "PayloadTooLarge"


def test_no_pace_when_the_rate_is_zero() -> None:
    limits = MessageLimits(1024, rate_per_s=0.0, burst=1)
    assert all(limits.delay("t") == 0.0 for _ in range(100))
