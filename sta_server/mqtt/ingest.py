"""Creates over MQTT: messages published to collection topics are stored exactly as a POST would
store them, in batches (one transaction, a SAVEPOINT per message), acknowledged to the broker only
after the commit. A bad message is logged, counted and rejected alone."""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import timedelta
from functools import lru_cache

from sqlalchemy import Connection, Engine

from sta_server.errors import MethodNotAllowed, StaError
from sta_server.mqtt.flow import IngestQueue, RejectLog
from sta_server.mqtt.ingest_retry import store_with_retry
from sta_server.mqtt.limits import MessageLimits
from sta_server.mqtt.observation_rows import store_observations
from sta_server.mqtt.packs import PACKS, Pack, PackOutcome, store_packs
from sta_server.mqtt.topics import parse_topic
from sta_server.query.ast import Query
from sta_server.query.path import ResourcePath, parse_path
from sta_server.security.mqtt_identity import Publishers
from sta_server.security.principal import Principal, acting_as
from sta_server.serialize.senml import media_type_of
from sta_server.service.bulk import OBSERVATION, Item, takes
from sta_server.service.database_errors import classify
from sta_server.service.dispatch import ApiRequest, Dispatcher, Outcome, json_body
from sta_server.service.events import EventBus, begin_request, transaction
from sta_server.service.idempotency import check_key, claim_messages, forget_old_keys, release_messages
from sta_server.settings import Settings

# Creates run as their publisher (security/mqtt_identity.py); an Ingest made without `publishers`
# (tests that call `store` directly) stores as this administrator.
MQTT_INGEST = Principal("mqtt-publisher", "admin", channel="mqtt")
log = logging.getLogger(__name__)
SENML_TOPICS = ("v1.1/SenML", "v1.0/SenML")
# many Observations in dataArray form (the CreateObservations action), answered per row
CREATE_OBSERVATIONS_TOPICS = ("v1.1/CreateObservations", "v1.0/CreateObservations")
PRUNE_EVERY_S = 600.0
_NO_QUERY = Query()
# A batch also ends at this many payload bytes: about 5,000 Observations in SenML packs of 50 (2,000
# such packs would be one transaction of 100,000 rows, committed seconds apart, its notifications all
# at once), about 1,300 single creates.
BATCH_BYTES = 128 * 1024


@dataclass(frozen=True)
class Incoming:
    topic: str
    payload: bytes
    ack: Callable[[], None]
    key: str | None = None  # the `idempotency-key` user property: a redelivery is stored once
    publisher: str | None = None  # the `sta-publisher` user property the broker plugin stamps
    unstamped: bool = False  # it named a publisher without a valid `sta-stamp` (security/publisher_stamp.py)


@dataclass
class IngestStats:
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0  # acknowledged, not stored: their idempotency key was stored already
    paced: int = 0  # held back (unacknowledged) by the per-topic pace, stored later
    batches: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def add(self, other: IngestStats) -> None:
        for item in fields(self):
            if item.name != "reasons":
                setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))
        for code, count in other.reasons.items():
            self.reasons[code] = self.reasons.get(code, 0) + count


class Ingest:
    """A queue and one worker thread. `submit` never blocks the MQTT network thread; at the queue's
    high-water mark that thread stops reading (mqtt/connection.py), so the broker holds what the
    database cannot take yet: back-pressure, not loss (mqtt/flow.py)."""

    def __init__(self, engine: Engine, bus: EventBus | None, *, batch_size: int = 500,
                 max_wait_s: float = 0.02, queue_size: int = 20000, key_retention_h: float = 24.0,
                 report_s: float = 60.0, limits: MessageLimits | None = None,
                 publishers: Publishers | None = None, settings: Settings | None = None,
                 batch_bytes: int = BATCH_BYTES) -> None:
        self.engine = engine
        # the same dispatcher as HTTP (service/dispatch.py): the rule sets, the error classification
        self.dispatcher = Dispatcher(settings or Settings(), engine, bus)
        self.publishers = publishers
        self.limits = limits or MessageLimits(1024 * 1024, 0.0, 1)  # size, rate/topic: see mqtt/limits.py
        self._stats_lock = threading.Lock()  # refusals are counted on the network thread
        self.bus = bus
        self.batch_size = batch_size
        self.batch_bytes = batch_bytes
        self.max_wait_s = max_wait_s
        self.queue: IngestQueue[Incoming | None] = IngestQueue(queue_size)
        self.rejections = RejectLog()  # WARNING lines, at most 10 per 10 s, then a summary
        self.stats = IngestStats()
        self.max_queued = 0  # the deepest the queue has been (about its high-water mark)
        self._batch = IngestStats()  # the running batch's counts, added to `stats` after commit
        self._rejected: list[Incoming] = []
        self.key_retention = timedelta(hours=key_retention_h)
        self._pruned_at = 0.0
        self.report_s = report_s
        self.thread = threading.Thread(target=self._run, name="sta-ingest", daemon=True)

    def start(self) -> None:
        self.thread.start()
        threading.Thread(target=self._report, name="sta-ingest-report", daemon=True).start()

    def _report(self) -> None:
        """An INFO line every `report_s` while anything moves (the fault tests read it)."""
        last: tuple[int, ...] = ()
        while self.thread.is_alive():
            time.sleep(self.report_s)
            self.rejections.flush()
            now = (self.queue.qsize(), self.stats.accepted, self.stats.rejected, self.stats.duplicates,
                   self.stats.paced)
            if now != last:
                log.info("MQTT ingest: queued=%d max_queued=%d accepted=%d rejected=%d duplicates=%d paced=%d",
                         now[0], self.max_queued, *now[1:])
                last = now

    def stop(self, timeout_s: float = 10.0) -> None:
        """Store (and acknowledge) what is queued, then end the thread (waiting up to `timeout_s`)."""
        self.queue.put(None)
        self.thread.join(timeout=timeout_s)
        if self.thread.is_alive():
            log.error("the MQTT ingest did not finish its queue within %.0f s", timeout_s)

    def submit(self, message: Incoming) -> None:
        """Queue a message (never blocks); one that can never be stored is rejected at once."""
        refusal = self.limits.check(len(message.payload))
        if refusal is not None:
            self.refuse(message, refusal.code, refusal.reason)
            return
        delay = self.limits.delay(message.topic)
        if delay > 0:
            with self._stats_lock:
                self.stats.paced += 1
        self.queue.put(message, delay)
        self.max_queued = max(self.max_queued, self.queue.qsize())

    def has_a_batch(self) -> bool:
        """A full batch is waiting (the network thread need not hurry)."""
        return self.queue.qsize() >= self.batch_size

    def refuse(self, message: Incoming, code: str, reason: str) -> None:
        """Rejected before it is queued: counted, logged (rate-limited), acknowledged, not stored."""
        with self._stats_lock:
            self.stats.add(IngestStats(rejected=1, reasons={code: 1}))
        self.rejections.note(message.topic, code, reason)
        message.ack()

    def _run(self) -> None:
        while True:
            first = self.queue.get()
            if first is None:
                return
            batch, size = [first], len(first.payload)
            deadline = time.monotonic() + self.max_wait_s
            while len(batch) < self.batch_size and size < self.batch_bytes:
                try:
                    item = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is None:
                    self.queue.put(None)
                    break
                batch.append(item)
                size += len(item.payload)
            for group in self._by_publisher(batch):  # one transaction per principal
                self._store_with_retry(group)
            self._prune_keys()

    def _store_with_retry(self, batch: list[Incoming]) -> None:
        """Nothing acknowledged is dropped for the database's condition (mqtt/ingest_retry.py)."""
        store_with_retry(batch, self.store, self.refuse)

    def _by_publisher(self, batch: list[Incoming]) -> list[list[Incoming]]:
        groups: dict[str, list[Incoming]] = {}
        for m in batch:
            groups.setdefault("" if self.publishers is None else self.publishers.key_of(m), []).append(m)
        return list(groups.values())

    def store(self, batch: list[Incoming]) -> None:
        """Store the messages of one publisher in one transaction with its rights (row-level
        security and role permissions as over HTTP); each message alone in a savepoint."""
        groups = self._by_publisher(batch)
        if len(groups) > 1:
            for group in groups:
                self.store(group)
            return
        self._batch, self._rejected = IngestStats(), []
        who = MQTT_INGEST if self.publishers is None else self.publishers.resolve(batch[0])
        if isinstance(who, str):  # nobody who may create anything published these
            for message in batch:
                self._reject(message, "Forbidden", who)
        else:
            self._store_as(who, batch)
        with self._stats_lock:
            self.stats.add(self._batch)
        for message in batch:
            message.ack()

    def _store_as(self, principal: Principal, batch: list[Incoming]) -> None:
        with acting_as(principal), transaction(self.engine, self.bus) as conn:
            fresh = self._claim(conn, batch, principal.name)
            requests = [self._request(message) for message in fresh]
            valid = [(m, r) for m, r in zip(fresh, requests, strict=True) if isinstance(r, ApiRequest)]
            for message, request in zip(fresh, requests, strict=True):
                if isinstance(request, StaError):
                    self._reject(message, request.code, request.message)
            for run in _runs([(m, r, _direct(r)) for m, r in valid]):  # in the order they came
                self._store_run(conn, run)
            release_messages(conn, [m.key for m in self._rejected if m.key is not None], principal.name)
        self._batch.batches += 1

    def _claim(self, conn: Connection, batch: list[Incoming], owner: str) -> list[Incoming]:
        """The messages to store: those without a key, and the first of each key not stored yet
        (the others are duplicates: counted and acknowledged). Keys are the publisher's own
        (`owner`): another publisher's equal key is another key. Keys of messages that end up
        rejected are released before the commit."""
        keyed: list[Incoming] = []
        for message in batch:
            if message.key is not None:
                try:
                    check_key(message.key)
                    keyed.append(message)
                except StaError as error:
                    self._reject(message, error.code, error.message)
        owned = claim_messages(conn, [m.key for m in keyed if m.key is not None], owner)
        valid = {id(m) for m in keyed}
        fresh: list[Incoming] = []
        for message in batch:
            if message.key is None:
                fresh.append(message)
            elif message.key in owned:
                owned.discard(message.key)
                fresh.append(message)
            elif id(message) in valid:
                self._batch.duplicates += 1
                log.debug("duplicate MQTT message %s on %s acknowledged", message.key, message.topic)
        return fresh

    def _prune_keys(self) -> None:
        if time.monotonic() - self._pruned_at < PRUNE_EVERY_S:
            return
        self._pruned_at = time.monotonic()
        try:
            with self.engine.begin() as conn:
                pruned = forget_old_keys(conn, self.key_retention)
        except Exception as error:  # the database's condition: pruned on a later round
            known = classify(error)
            if known is None or not known.transient:
                raise
            return
        if pruned:
            log.info("forgot %d idempotency keys older than %s", pruned, self.key_retention)

    @staticmethod
    def _request(message: Incoming) -> ApiRequest | StaError:
        """The POST a message stands for: a SenML pack on `v1.1/SenML` (JSON or CBOR, told apart by
        the first byte), a CreateObservations body on `v1.1/CreateObservations`, else an entity
        on a collection topic."""
        if message.topic in SENML_TOPICS:
            version = message.topic.split("/")[0][1:]
            return ApiRequest("POST", version, "SenML", body=message.payload,
                              mimetype=media_type_of(message.payload), answer=False)
        if message.topic in CREATE_OBSERVATIONS_TOPICS:
            version = message.topic.split("/")[0][1:]
            return ApiRequest("POST", version, "CreateObservations", body=message.payload, answer=False)
        found = _collection(message.topic)
        if isinstance(found, StaError):
            return found
        return ApiRequest("POST", found[0], found[1], body=message.payload, answer=False)

    def _store_run(self, conn: Connection, run: list[Classified]) -> None:
        """Packs of a run together, single Observations (links by reference) together, the rest
        as the dispatcher stores them (each alone on a SAVEPOINT, as its POST)."""
        version = run[0][1].version
        if run[0][1].resource in PACKS:
            packs = [Pack(r.resource, m.payload) for m, r, _ in run]
            for (message, _, _), done in zip(run, store_packs(conn, packs, version), strict=True):
                self._count_pack(message, done)
            return
        if isinstance(run[0][2], tuple):
            begin_request(conn)
            stored = store_observations(conn, [item for _, _, item in run if isinstance(item, tuple)], version)
            for (message, request, _), result in zip(run, stored, strict=True):
                self._count(message, request, result if isinstance(result, StaError) else Outcome(201))
            return
        outcomes = self.dispatcher.create_many(conn, [r for _, r, _ in run])
        for (message, request, _), outcome in zip(run, outcomes, strict=True):
            self._count(message, request, outcome)

    def _count_pack(self, message: Incoming, done: PackOutcome) -> None:
        """A pack is stored row by row: rejected as a whole only when nothing of it was stored."""
        if done.failed is not None:
            self._reject(message, done.failed.code, done.failed.message)
            return
        self._batch.accepted += done.accepted
        for code, reason in done.refused:
            self._reject(message, code, reason, whole=not done.accepted)

    def _count(self, message: Incoming, request: ApiRequest, outcome: Outcome | StaError) -> None:
        if isinstance(outcome, StaError):
            self._reject(message, outcome.code, outcome.message)
        elif request.resource != "SenML":
            self._batch.accepted += 1
        else:  # a pack is stored record by record: rejected as a whole only when nothing was stored
            report = outcome.body
            self._batch.accepted += len(report["accepted"])
            for item in report["rejected"]:
                self._reject(message, "SenMLRecord", f"record {item['index']}: {item['reason']}",
                             whole=not report["accepted"])

    def _reject(self, message: Incoming, code: str, reason: str, *, whole: bool = True) -> None:
        self._batch.rejected += 1
        self._batch.reasons[code] = self._batch.reasons.get(code, 0) + 1
        if whole:
            self._rejected.append(message)
        self.rejections.note(message.topic, code, reason)


Classified = tuple[Incoming, ApiRequest, Item | StaError | None]  # an Observation for the rule set, or not


def _direct(request: ApiRequest) -> Item | StaError | None:
    """The rule set's item for a POST of an Observation with links by reference (as the dispatcher
    decides, service/dispatch.py `_direct`); its StaError (bad JSON, a bad path); None: another create."""
    if request.resource in PACKS:
        return None
    try:
        path = _path(request.version, request.resource)
        if path.entity_type is not OBSERVATION:
            return None
        body = json_body(request)
    except StaError as error:
        return error
    return (path, body) if takes(path, body) else None


@lru_cache(maxsize=65536)
def _collection(topic: str) -> tuple[str, str] | StaError:
    """(version, resource) of the collection a create topic names, or why it names none."""
    request = parse_topic(topic)
    if request is None:
        return MethodNotAllowed(f"'{topic}' is not a SensorThings collection topic")
    if request.query != _NO_QUERY or not request.path.is_collection:
        return MethodNotAllowed("Entities are created by publishing to a collection topic")
    version, _, resource = topic.partition("/")
    return version[1:], resource


@lru_cache(maxsize=65536)
def _path(version: str, resource: str) -> ResourcePath:
    return parse_path(version, resource)


def _runs(valid: list[Classified]) -> list[list[Classified]]:
    """Consecutive messages of one kind (packs of one API version, Observations for the rule set
    of one version, anything else), in order."""
    runs: list[list[Classified]] = []
    for item in valid:
        if runs and _kind(runs[-1][0]) == _kind(item):
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs


def _kind(item: Classified) -> str:
    request, direct = item[1], item[2]
    if request.resource in PACKS:
        return f"pack {request.resource} {request.version}"
    return f"rows {request.version}" if isinstance(direct, tuple) else "other"
