"""sta_client behind the runtime's two small protocols: the MQTT session as the north-bound's
`AckingPublisher` (and the Task topics' subscriber), the HTTP client as the intake's `TaskQuery`."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sta_client.http import AsyncStaClient
from sta_client.mqtt import MqttSession, Notification, Publication
from sta_client.query import Query, datetime_literal
from sta_client.topics import IDEMPOTENCY_PROPERTY


class SessionPublisher:
    """`AckingPublisher` over a started `MqttSession` (QoS 1, MQTT v5, persistent session)."""

    def __init__(self, session: MqttSession) -> None:
        self.session = session

    @property
    def connected(self) -> bool:
        return self.session.connected.is_set()

    def publish(self, topic: str, payload: bytes, key: str, on_ack: Callable[[int], None]) -> None:
        def acknowledged(_: Publication, code: int) -> None:
            on_ack(code)

        self.session.publish(topic, payload, [(IDEMPOTENCY_PROPERTY, key)], acknowledged)

    def subscribe(self, topics: Sequence[str], on_message: Callable[[str], None]) -> None:
        """Subscribe (renewed on every connect by the session); `on_message(topic)` in paho's thread."""

        def handler(notification: Notification) -> None:
            on_message(notification.topic)

        for topic in topics:
            self.session.subscribe(topic, handler)


class HttpTaskQuery:
    """`TaskQuery` over sta_client's async HTTP client."""

    def __init__(self, client: AsyncStaClient, page_size: int = 500) -> None:
        self.client = client
        self.page_size = page_size

    async def tasks_created_since(self, capability_id: int, since: datetime) -> Sequence[Mapping[str, Any]]:
        query = (Query().filter(f"creationTime ge {datetime_literal(since)}")
                 .orderby("creationTime", "id").top(self.page_size))
        return [task async for task in self.client.iter(f"TaskingCapabilities({capability_id})/Tasks", query)]

    async def acknowledged_tasks(self, datastream_ids: Sequence[int], task_ids: Sequence[int | str]) -> set[str]:
        numbers = [task for task in task_ids if isinstance(task, int)]
        streams = ",".join(str(ident) for ident in sorted(set(datastream_ids)))
        query = Query().filter(f"Datastream/id in ({streams})").select("parameters").orderby("id").top(self.page_size)
        if numbers and len(numbers) == len(task_ids):  # server ids grow: the older acks are not read
            query = query.filter(f"parameters/taskId ge {min(numbers)}")
        wanted = {str(task) for task in task_ids}
        found: set[str] = set()
        async for observation in self.client.iter("Observations", query):
            task = (observation.get("parameters") or {}).get("taskId")
            if task is not None and str(task) in wanted:
                found.add(str(task))
        return found
