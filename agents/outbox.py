"""The site's durable store-and-forward queue: every message for the server goes through it.

One SQLite file per site, in WAL mode. A message is durable when `put` returns; the north-bound
connector replays rows in `id` order and deletes a row only when the broker acknowledged it (PUBACK).
Each row carries an idempotency key chosen when it was queued, so a replay after `kill -9` sends the
same key again and the server stores the message once.

Durability: `synchronous=FULL` by default. In WAL mode `NORMAL` already survives a crash of the
process (the WAL write reached the operating system before `put` returned), but not a power cut,
which an SMX box on a pole will see; `FULL` syncs the WAL on every commit. A put is one commit for a
whole poll of a device, so the cost is one fsync per poll (`S4G_QUEUE_SYNC=NORMAL` to trade it away).

Bounds: at more than `max_rows` rows or `max_bytes` payload bytes, or when SQLite reports the disk
full, the oldest *measurements* are dropped and counted; acknowledgements and events never are.
"""
from __future__ import annotations

import json
import logging
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    idempotency_key TEXT NOT NULL,
    created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    droppable INTEGER NOT NULL,
    records INTEGER NOT NULL DEFAULT 1,
    mergeable INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_droppable ON outbox (droppable, id);
"""
# the oldest droppable rows until both `rows` rows and `bytes` payload bytes are covered (among the
# `scan` oldest: a loop goes on when that was not enough)
DROP_OLDEST = """
DELETE FROM outbox WHERE id IN (
    SELECT id FROM (
        SELECT id, row_number() OVER w AS n, sum(length(payload)) OVER w - length(payload) AS before
        FROM (SELECT id, payload FROM outbox WHERE droppable = 1 ORDER BY id LIMIT :scan)
        WINDOW w AS (ORDER BY id ROWS UNBOUNDED PRECEDING))
    WHERE n <= :rows OR before < :bytes)
RETURNING length(payload)
"""
DISK_FULL_DROP_ROWS = 100  # at least this many measurements go when the disk is full


class Kind(StrEnum):
    """What a queued message is; only measurements may be dropped."""

    MEASUREMENT = "measurement"
    ACKNOWLEDGEMENT = "acknowledgement"  # a Task's accepted/refused reading
    EVENT = "event"  # a status change, a command's outcome

    @property
    def droppable(self) -> bool:
        return self is Kind.MEASUREMENT


@dataclass(frozen=True)
class Message:
    """An MQTT publish to make, as the producer hands it in."""

    topic: str
    payload: bytes
    kind: Kind = Kind.MEASUREMENT
    records: int = 1  # Observations it creates
    mergeable: bool = False  # a JSON array (a SenML pack) that may be joined to the previous row's


@dataclass(frozen=True)
class Queued:
    """A stored message and the key it is published with."""

    id: int
    topic: str
    payload: bytes
    key: str
    kind: Kind


@dataclass(frozen=True)
class Bound:
    """The most the queue keeps before dropping the oldest measurements."""

    max_rows: int = 2_000_000
    max_bytes: int = 512 * 1024 * 1024
    merge_records: int = 2000  # a never-published pack grows to this many records at most
    merge_bytes: int = 256 * 1024


@dataclass
class OutboxCounters:
    queued: int = 0  # messages put
    deleted: int = 0  # rows deleted after their acknowledgement
    dropped: int = 0  # measurements dropped for the bound or a full disk
    disk_full: int = 0  # puts that met a full disk
    by_reason: dict[str, int] = field(default_factory=dict)


class OutboxFull(Exception):
    """Nothing droppable is left and the message still does not fit."""


class Outbox:
    """The queue table of one site's SQLite file (the task ledger shares the connection)."""

    def __init__(self, path: Path | str, bound: Bound = Bound(), synchronous: str = "FULL") -> None:
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be FULL or NORMAL, not {synchronous!r}")
        self.path = Path(path)
        self.bound = bound
        self.counters = OutboxCounters()
        self._drop_logged = -60.0
        self.connection = sqlite3.connect(self.path, isolation_level=None)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA journal_size_limit=4194304")  # a checkpointed WAL shrinks to 4 MiB
        self.synchronous = synchronous
        self.connection.execute(f"PRAGMA synchronous={synchronous}")
        self.connection.executescript(SCHEMA)
        self.rows, self.bytes, self.sealed_through = self.connection.execute(
            "SELECT count(*), coalesce(sum(length(payload)), 0), coalesce(max(id), 0) FROM outbox").fetchone()
        if self.rows:
            log.info("queue %s reopened with %d messages (%d bytes) to replay", self.path, self.rows, self.bytes)

    def put(self, messages: Sequence[Message],
            also: Callable[[sqlite3.Connection], None] | None = None) -> list[str]:
        """Store `messages` (and whatever `also` writes) in one transaction; their keys. Durable on
        return. A full disk drops the oldest measurements and tries again.

        A mergeable message joins the newest row when that row is mergeable too, has the same topic,
        has room and was never handed to MQTT (`sealed_through`): while the broker is away a poll's
        pack grows instead of adding a row, so the replay sends a few large packs. A row's payload
        never changes once published, so its key always stands for the same content."""
        for _attempt in range(10):
            try:
                keys = self._insert(messages, also)
                break
            except sqlite3.OperationalError as error:
                if "full" not in str(error):
                    raise
                self.counters.disk_full += 1
                if not self._make_room(max(DISK_FULL_DROP_ROWS, 2 * len(messages))):
                    raise OutboxFull(f"the disk is full and no measurement could be dropped ({error})") from error
        else:
            raise OutboxFull("the disk stays full after dropping measurements")
        self.counters.queued += len(messages)
        self._enforce_bound()
        return keys

    def _make_room(self, rows: int) -> bool:
        """After SQLITE_FULL: shrink the WAL (a checkpoint gives its pages back to the disk), then drop
        the oldest measurements; False when even that cannot be written."""
        try:
            self.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return self._drop_oldest(rows=rows, reason="disk full") > 0
        except sqlite3.OperationalError as error:
            if "full" not in str(error):
                raise
            if time.monotonic() - self._drop_logged >= 60:  # once a minute, not once a poll
                self._drop_logged = time.monotonic()
                log.error("queue: the disk is too full even to drop measurements (%s)", error)
            return False

    def seal(self, through_id: int) -> None:
        """Rows up to `through_id` are being published: their payloads are final."""
        self.sealed_through = max(self.sealed_through, through_id)

    def _insert(self, messages: Sequence[Message], also: Callable[[sqlite3.Connection], None] | None) -> list[str]:
        keys: list[str] = []
        added_rows = added_bytes = 0
        with self._transaction() as conn:
            for message in messages:
                key = self._merge(conn, message) if message.mergeable else None
                if key is not None:  # the brackets between the two arrays become one comma
                    added_bytes += len(message.payload) - 1
                else:
                    key = uuid.uuid4().hex
                    conn.execute("INSERT INTO outbox (kind, topic, payload, idempotency_key, droppable, records, "
                                 "mergeable) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                 (message.kind.value, message.topic, message.payload, key,
                                  int(message.kind.droppable), message.records, int(message.mergeable)))
                    added_rows += 1
                    added_bytes += len(message.payload)
                keys.append(key)
            if also is not None:
                also(conn)
        self.rows += added_rows
        self.bytes += added_bytes
        return keys

    def _merge(self, conn: sqlite3.Connection, message: Message) -> str | None:
        """Join `message` to the newest row if allowed; that row's key, else None."""
        newest = conn.execute("SELECT id, topic, payload, idempotency_key, records, mergeable, kind FROM outbox "
                              "ORDER BY id DESC LIMIT 1").fetchone()
        if newest is None:
            return None
        ident, topic, payload, key, records, mergeable, kind = newest
        if (ident <= self.sealed_through or not mergeable or topic != message.topic or kind != message.kind.value
                or records + message.records > self.bound.merge_records
                or len(payload) + len(message.payload) > self.bound.merge_bytes):
            return None
        joined = bytes(payload)[:-1] + b"," + message.payload[1:]
        conn.execute("UPDATE outbox SET payload = ?, records = records + ? WHERE id = ?",
                     (joined, message.records, ident))
        return str(key)

    def peek(self, after_id: int = 0, limit: int = 1000) -> list[Queued]:
        """The next messages to publish, oldest first."""
        rows = self.connection.execute(
            "SELECT id, topic, payload, idempotency_key, kind FROM outbox WHERE id > ? ORDER BY id LIMIT ?",
            (after_id, limit)).fetchall()
        return [Queued(row[0], row[1], bytes(row[2]), row[3], Kind(row[4])) for row in rows]

    def delete(self, ids: Iterable[int]) -> int:
        """Forget acknowledged messages; how many were still there (a dropped one is not)."""
        chunk = sorted(set(ids))
        if not chunk:
            return 0
        # a delete lost in a power cut only means one more publish under the same key: no fsync
        self.connection.execute("PRAGMA synchronous=NORMAL")
        try:
            with self._transaction() as conn:
                sizes = conn.execute("DELETE FROM outbox WHERE id IN (SELECT value FROM json_each(?)) "
                                     "RETURNING length(payload)", (json.dumps(chunk),)).fetchall()
        finally:
            self.connection.execute(f"PRAGMA synchronous={self.synchronous}")
        self.rows -= len(sizes)
        self.bytes -= sum(size for (size,) in sizes)
        self.counters.deleted += len(sizes)
        return len(sizes)

    def close(self) -> None:
        self.connection.close()

    def _enforce_bound(self) -> None:
        """Over a bound, drop down to 5 % under it, so that a queue at its bound drops in chunks
        rather than one row per put."""
        if self.rows > self.bound.max_rows:
            self._drop_oldest(rows=self.rows - _low_water(self.bound.max_rows), reason="row bound")
        if self.bytes > self.bound.max_bytes:
            self._drop_oldest(bytes_=self.bytes - _low_water(self.bound.max_bytes), reason="byte bound")

    def _drop_oldest(self, *, rows: int = 0, bytes_: int = 0, reason: str) -> int:
        """Delete the oldest measurements: at least `rows` rows and `bytes_` payload bytes."""
        dropped = freed = 0
        while dropped < rows or freed < bytes_:
            with self._transaction() as conn:
                sizes = conn.execute(DROP_OLDEST, {"rows": rows - dropped, "bytes": bytes_ - freed,
                                                   "scan": max(rows - dropped, 10_000)}).fetchall()
            if not sizes:
                break
            dropped += len(sizes)
            freed += sum(size for (size,) in sizes)
        if not dropped:
            if time.monotonic() - self._drop_logged >= 60:
                self._drop_logged = time.monotonic()
                log.error("queue over its bound (%s) with no measurement left to drop", reason)
            return 0
        self.rows -= dropped
        self.bytes -= freed
        self.counters.dropped += dropped
        self.counters.by_reason[reason] = self.counters.by_reason.get(reason, 0) + dropped
        if time.monotonic() - self._drop_logged >= 60:  # once a minute, not once a poll
            self._drop_logged = time.monotonic()
            log.warning("queue: dropped the %d oldest measurements (%s); %d dropped so far",
                        dropped, reason, self.counters.dropped)
        return dropped

    def _transaction(self) -> _Transaction:
        return _Transaction(self.connection)


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, rolled back on any error."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def __enter__(self) -> sqlite3.Connection:
        self.connection.execute("BEGIN IMMEDIATE")
        return self.connection

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            self.connection.execute("COMMIT")
        elif self.connection.in_transaction:  # SQLite rolls back by itself on SQLITE_FULL
            self.connection.execute("ROLLBACK")


def _low_water(bound: int) -> int:
    return bound - max(1, bound // 20)
