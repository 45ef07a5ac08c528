"""Creates over MQTT: messages published to collection topics are stored exactly as a POST would
store them, in batches (one transaction, a SAVEPOINT per message), acknowledged to the broker only
after the commit. A bad message is logged, counted and rejected alone."""
from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from sta_server.errors import BadRequest, MethodNotAllowed, StaError
from sta_server.mqtt.topics import parse_topic
from sta_server.service.create import create
from sta_server.service.events import EventBus, savepoint, transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Incoming:
    topic: str
    payload: bytes
    ack: Callable[[], None]


@dataclass
class IngestStats:
    accepted: int = 0
    rejected: int = 0
    batches: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


class Ingest:
    """A bounded queue and one worker thread. A full queue blocks the MQTT network thread, so the
    broker holds (and redelivers) what the database cannot take yet: back-pressure, not loss."""

    def __init__(self, engine: Engine, bus: EventBus | None, *, batch_size: int = 500,
                 max_wait_s: float = 0.02, queue_size: int = 20000) -> None:
        self.engine = engine
        self.bus = bus
        self.batch_size = batch_size
        self.max_wait_s = max_wait_s
        self.queue: queue.Queue[Incoming | None] = queue.Queue(queue_size)
        self.stats = IngestStats()
        self.thread = threading.Thread(target=self._run, name="sta-ingest", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.queue.put(None)
        self.thread.join(timeout=10)

    def submit(self, message: Incoming) -> None:
        self.queue.put(message)

    def _run(self) -> None:
        while True:
            first = self.queue.get()
            if first is None:
                return
            batch = [first]
            deadline = time.monotonic() + self.max_wait_s
            while len(batch) < self.batch_size:
                try:
                    item = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is None:
                    self.queue.put(None)
                    break
                batch.append(item)
            self._store_with_retry(batch)

    def _store_with_retry(self, batch: list[Incoming]) -> None:
        delay = 0.5
        while True:
            try:
                self.store(batch)
                return
            except DBAPIError as error:  # database down: keep the batch unacknowledged and retry
                log.warning("database unavailable for MQTT ingest (%s); retrying in %.1fs",
                            type(error).__name__, delay)
                time.sleep(delay)
                delay = min(delay * 2, 10.0)

    def store(self, batch: list[Incoming]) -> None:
        with transaction(self.engine, self.bus) as conn:
            for message in batch:
                try:
                    with savepoint(conn):
                        self._create(conn, message)
                    self.stats.accepted += 1
                except StaError as error:
                    self._reject(message, error.code, error.message)
        self.stats.batches += 1
        for message in batch:
            message.ack()

    @staticmethod
    def _create(conn: object, message: Incoming) -> None:
        request = parse_topic(message.topic)
        if request is None:
            raise MethodNotAllowed(f"'{message.topic}' is not a SensorThings collection topic")
        if request.query != request.query.__class__() or not request.path.is_collection:
            raise MethodNotAllowed("Entities are created by publishing to a collection topic")
        try:
            body = json.loads(message.payload)
        except (ValueError, UnicodeDecodeError) as error:
            raise BadRequest(f"The message is not valid JSON: {error}") from None
        create(conn, request.path, body)  # type: ignore[arg-type]

    def _reject(self, message: Incoming, code: str, reason: str) -> None:
        self.stats.rejected += 1
        self.stats.reasons[code] = self.stats.reasons.get(code, 0) + 1
        log.warning("rejected MQTT message on %s: %s", message.topic, reason)
