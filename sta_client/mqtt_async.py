"""`AsyncMqttSession`: the MQTT session for asyncio agents. paho runs its own network thread; PUBACKs
and messages are handed to the event loop with `loop.call_soon_threadsafe`, so callbacks and
handlers run in the loop, never in paho's thread."""
from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sta_client.mqtt import MqttSession, Notification, Publication
from sta_client.paths import EntityId
from sta_client.requests import new_key
from sta_client.topics import IDEMPOTENCY_PROPERTY, observations_topic

log = logging.getLogger(__name__)

AsyncAckCallback = Callable[[Publication, int], None]
AsyncHandler = Callable[[Notification], Awaitable[None] | None]


class AsyncMqttSession:
    """Wraps a `MqttSession`; create it inside the running loop (or pass the loop)."""

    def __init__(self, session: MqttSession, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.session = session
        self.loop = loop or asyncio.get_running_loop()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, timeout: float = 10.0) -> None:
        self.session.start()
        await asyncio.to_thread(self.session.wait_connected, timeout)

    async def close(self) -> None:
        await asyncio.to_thread(self.session.close)

    def publish(self, topic: str, payload: Any, user_properties: Sequence[tuple[str, str]] = (),
                on_ack: AsyncAckCallback | None = None) -> Publication:
        """Publish without waiting; `on_ack(publication, reason_code)` runs in the event loop."""
        callback = None if on_ack is None else self._in_loop(on_ack)
        return self.session.publish(topic, payload, user_properties, callback)

    async def publish_acked(self, topic: str, payload: Any, user_properties: Sequence[tuple[str, str]] = (),
                            timeout: float = 30.0) -> Publication:
        """Publish and wait for the broker's PUBACK (its reason code is `publication.reason_code`)."""
        acked: asyncio.Future[int] = self.loop.create_future()

        def resolve(_: Publication, code: int) -> None:
            if not acked.done():
                acked.set_result(code)
        publication = self.publish(topic, payload, user_properties, resolve)
        async with asyncio.timeout(timeout):  # not wait_for: CPython gh-86296 on 3.11
            await acked
        return publication

    async def publish_observation(self, datastream_id: EntityId, body: Any, idempotency_key: str | None = None,
                                  timeout: float = 30.0) -> Publication:
        return await self.publish_acked(observations_topic(datastream_id), body,
                                        [(IDEMPOTENCY_PROPERTY, idempotency_key or new_key())], timeout)

    async def subscribe(self, topic: str, handler: AsyncHandler, timeout: float = 10.0) -> None:
        """Handlers (plain or coroutine functions) run in the event loop."""
        def deliver(notification: Notification) -> None:
            self.loop.call_soon_threadsafe(self._run_handler, handler, notification)
        await asyncio.to_thread(self.session.subscribe, topic, deliver, timeout)

    def _in_loop(self, callback: AsyncAckCallback) -> Callable[[Publication, int], None]:
        def hand_over(publication: Publication, code: int) -> None:
            self.loop.call_soon_threadsafe(callback, publication, code)
        return hand_over

    def _run_handler(self, handler: AsyncHandler, notification: Notification) -> None:
        try:
            result = handler(notification)
        except Exception:  # one faulty handler must not stop the loop's other work
            log.exception("MQTT handler for %s failed", notification.topic)
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            self._tasks.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("MQTT handler failed", exc_info=task.exception())


def subscription_queue(maxsize: int = 0) -> tuple[asyncio.Queue[Notification], Callable[[Notification], None]]:
    """An asyncio queue and a handler that fills it (for `AsyncMqttSession.subscribe`)."""
    notifications: asyncio.Queue[Notification] = asyncio.Queue(maxsize)
    return notifications, notifications.put_nowait
