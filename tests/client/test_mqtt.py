"""`MqttSession` against the real server and broker: PUBACK callbacks that name the message, creates
stored once per idempotency key, persistent subscriptions that receive what was published while the
subscriber was away, and the asyncio bridge."""
from __future__ import annotations

import asyncio
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from sta_client import AsyncMqttSession, MqttSession, Notification, Publication, Query, StaClient, entity_path
from sta_client.topics import observations_topic, tasks_topic
from tests.client.bodies import make_datastream
from tests.client.conftest import RunningServer


def wait_until(condition: Callable[[], bool], timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def sta(sta_process: RunningServer) -> Iterator[StaClient]:
    with StaClient(sta_process.settings()) as client:
        yield client


@pytest.fixture
def session(sta_process: RunningServer) -> Iterator[MqttSession]:
    started = MqttSession(sta_process.settings(), f"dev-{uuid.uuid4().hex[:8]}")
    started.start()
    started.wait_connected(10)
    yield started
    started.close()


def results(sta: StaClient, stream: int) -> list[float]:
    return [row["result"] for row in sta.iter(entity_path("Datastreams", stream, "Observations"),
                                              Query().orderby("id").select("result"))]


def test_publish_reports_the_puback_with_the_message(sta: StaClient, session: MqttSession) -> None:
    stream = make_datastream(sta)
    acks: queue.Queue[tuple[Publication, int]] = queue.Queue()
    sent = session.publish_observation(stream, {"phenomenonTime": "2026-05-01T10:00:00Z", "result": 7},
                                       "dev-1/1", on_ack=lambda publication, code: acks.put((publication, code)))
    publication, code = acks.get(timeout=10)
    assert publication is sent and code < 128 and publication.accepted
    assert publication.idempotency_key == "dev-1/1" and publication.topic == observations_topic(stream)
    wait_until(lambda: results(sta, stream) == [7], what="the Observation")


def test_same_key_published_twice_is_stored_once(sta: StaClient, session: MqttSession) -> None:
    stream = make_datastream(sta)
    body = {"phenomenonTime": "2026-05-01T10:00:00Z", "result": 1}
    first = session.publish_observation(stream, body, "dev-2/1")
    again = session.publish_observation(stream, body, "dev-2/1")
    marker = session.publish_observation(stream, {**body, "result": 2}, "dev-2/2")
    assert [p.wait(10) < 128 for p in (first, again, marker)] == [True, True, True]
    wait_until(lambda: 2 in results(sta, stream), what="the marker")  # ingest keeps the publish order
    assert results(sta, stream) == [1, 2]


def test_persistent_subscription_receives_what_came_while_away(sta_process: RunningServer, sta: StaClient) -> None:
    stream = make_datastream(sta)
    client_id = f"agent-{uuid.uuid4().hex[:8]}"
    got: queue.Queue[Notification] = queue.Queue()
    topic = observations_topic(stream)
    subscriber = MqttSession(sta_process.settings(), client_id)
    subscriber.subscribe(topic, got.put)
    subscriber.start()
    subscriber.wait_connected(10)

    def heard(result: int) -> bool:  # until the server's registry knows the subscription
        sta.create(entity_path("Datastreams", stream, "Observations"),
                   {"phenomenonTime": "2026-05-01T10:00:00Z", "result": result})
        try:
            return bool(got.get(timeout=0.5).body["result"] == result)
        except queue.Empty:
            return False
    wait_until(lambda: heard(0), what="a first notification")
    subscriber.close()
    sta.create(entity_path("Datastreams", stream, "Observations"),
               {"phenomenonTime": "2026-05-01T11:00:00Z", "result": 42})
    while not got.empty():
        got.get_nowait()
    back = MqttSession(sta_process.settings(), client_id)
    back.subscribe(topic, got.put)
    back.start()
    try:
        back.wait_connected(10)
        assert back.session_present
        notification = got.get(timeout=15)
        while notification.body.get("result") != 42:
            notification = got.get(timeout=15)
        assert notification.from_server and notification.topic == topic
    finally:
        back.close()


def test_async_session_awaits_pubacks_and_hands_messages_to_the_loop(sta_process: RunningServer,
                                                                      sta: StaClient) -> None:
    stream = make_datastream(sta)

    async def run() -> tuple[int, Notification, bool]:
        loop_thread = threading.get_ident()
        received: asyncio.Queue[tuple[Notification, bool]] = asyncio.Queue()

        async def handler(notification: Notification) -> None:
            await received.put((notification, threading.get_ident() == loop_thread))
        mqtt = AsyncMqttSession(MqttSession(sta_process.settings(), f"async-{uuid.uuid4().hex[:8]}"))
        await mqtt.start()
        try:
            await mqtt.subscribe(observations_topic(stream), handler)
            deadline = time.monotonic() + 15
            while True:  # until the server's registry knows the subscription
                publication = await mqtt.publish_observation(
                    stream, {"phenomenonTime": "2026-05-01T10:00:00Z", "result": 5})
                try:
                    while True:
                        notification, in_loop = await asyncio.wait_for(received.get(), 0.5)
                        if notification.from_server:
                            return publication.reason_code or 0, notification, in_loop
                except TimeoutError:
                    assert time.monotonic() < deadline, "no notification"
        finally:
            await mqtt.close()
    code, notification, in_loop = asyncio.run(run())
    assert code < 128 and notification.body["result"] == 5 and in_loop


def test_tasks_reach_a_subscribed_agent(sta: StaClient, session: MqttSession) -> None:
    owner = sta.create("Things", {"name": "ESS", "description": "d"})
    capability = sta.create("TaskingCapabilities", {
        "name": "Set-point", "description": "d", "taskingParameters": {}, "Thing": {"@iot.id": owner},
        "Actuator": {"name": "Inverter", "description": "d", "encodingType": "text/plain", "metadata": "x"}})
    got: queue.Queue[Notification] = queue.Queue()
    session.subscribe(tasks_topic(capability), got.put)
    sent: set[int] = set()

    def heard() -> bool:  # until the server's registry knows the subscription
        sent.add(int(sta.create_task(capability, {"powerSetpoint": -3000})))
        try:
            return bool(got.get(timeout=0.5).body["@iot.id"] in sent)
        except queue.Empty:
            return False
    wait_until(heard, what="a Task notification")
    assert session.publish_task(capability, {"powerSetpoint": 1500}, "ems/1").wait(10) < 128
    while (task := got.get(timeout=15)).body["taskingParameters"] != {"powerSetpoint": 1500} \
            or not task.from_server:
        pass
    assert task.body["@iot.id"] not in sent
