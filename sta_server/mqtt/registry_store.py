"""The subscription registry in the database: what the broker's log said, written behind by a
thread of its own (never on the MQTT network thread), read back when a server starts.

Only the process that takes creates (the single server, or the ingest process of the multi-process
mode) writes; every process reads at start. Rows of clients that went away while no server was
listening stay until the client reconnects with a clean session (or unsubscribes): they cost a
notification nobody receives, never a missed one. Nothing replaces the stored registry wholesale
(not even a broker restart: mqtt/subscriptions.py merges)."""
from __future__ import annotations

import logging
import queue
import threading
import time

from sqlalchemy import Connection, Engine, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import SQLAlchemyError

from sta_server.mqtt.subscriptions import Change
from sta_server.sql.subscription_tables import MqttSubscription
from sta_server.sql.tables import TABLES

log = logging.getLogger(__name__)
rows = TABLES[MqttSubscription.__tablename__]
_FLUSH_S = 0.5
_QUEUE = 100_000


def load(engine: Engine) -> list[tuple[str, str]]:
    """The stored (client id, topic) pairs; none when the database cannot be read now."""
    try:
        with engine.connect() as conn:
            return [(str(r[0]), str(r[1])) for r in conn.execute(select(rows.c.client_id, rows.c.topic))]
    except SQLAlchemyError as error:
        log.warning("could not read the stored MQTT subscriptions (%s); starting without them", type(error).__name__)
        return []


class RegistryStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._ops: queue.Queue[Change | None] = queue.Queue(_QUEUE)
        self._thread = threading.Thread(target=self._run, name="sta-registry-store", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Write what is pending, then end."""
        self._ops.put(None)
        self._thread.join(timeout=10)

    def record(self, change: Change) -> None:
        try:
            self._ops.put_nowait(change)
        except queue.Full:
            log.warning("MQTT subscription store behind; a change is not persisted")

    def _run(self) -> None:
        """Changes are written in batches: what arrives within _FLUSH_S of the first (at most 1,000)."""
        while True:
            item = self._ops.get()
            stop = item is None
            batch: list[Change] = [] if item is None else [item]
            deadline = time.monotonic() + _FLUSH_S
            while not stop and len(batch) < 1000:
                try:
                    item = self._ops.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                stop = item is None
                if item is not None:
                    batch.append(item)
            if batch:
                self._write(batch)
            if stop:
                return

    def _write(self, batch: list[Change]) -> None:
        try:
            with self.engine.begin() as conn:
                for op in batch:
                    _apply(conn, op)
        except SQLAlchemyError as error:  # the registry in memory is right; the next changes retry
            log.warning("could not store %d MQTT subscription changes (%s)", len(batch), type(error).__name__)


def _apply(conn: Connection, op: Change) -> None:
    kind, client, topic = op
    if kind == "add":
        conn.execute(insert(rows).values(client_id=client, topic=topic)
                     .on_conflict_do_update(index_elements=["client_id", "topic"], set_={"seen_at": func.now()}))
    elif kind == "remove":
        conn.execute(delete(rows).where(rows.c.client_id == client, rows.c.topic == topic))
    elif kind == "drop":
        conn.execute(delete(rows).where(rows.c.client_id == client))
