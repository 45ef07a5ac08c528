"""Notifications: committed changes rendered as GET would render them and published to every
subscribed topic that they concern (entity set, navigation collection, entity, property, each with
its own $select/$expand/$filter).

Most payloads are rendered from the values the create held (no database). Topics with $filter or
$expand, and navigation paths only the database can resolve, read the batch's entities back: at
most `READ_CHUNK` ids per statement (PostgreSQL binds at most 65,535 parameters), one topic group's
failure costs that group alone, and while the database is unreachable the read is retried with
back-off (`read_with_retry`): the queue before it is bounded, so the committing side waits instead
of notifications being dropped."""
from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, Engine, text

from sta_server.model import REGISTRY, EntityType, Kind
from sta_server.mqtt.subscriptions import SubscriptionRegistry
from sta_server.mqtt.topics import TopicRequest
from sta_server.query import ast
from sta_server.query.ast import Query
from sta_server.query.path import ResourcePath
from sta_server.query.validate import resolve_select
from sta_server.serialize.entity import JSON, EntityWriter, Links, member_value
from sta_server.service.context import RequestContext
from sta_server.service.database_errors import classify
from sta_server.service.events import EntityChanged
from sta_server.service.read import ids_on_path
from sta_server.service.render import render_entities

log = logging.getLogger(__name__)
ORIGIN_PROPERTY = ("sta-origin", "server")  # MQTT v5 user property on every notification
READ_CHUNK = 5000  # ids per read-back statement (PostgreSQL's wire protocol: <= 65,535 parameters)
FIRST_DELAY_S = 0.5
LONGEST_DELAY_S = 10.0
REACHABLE_ROUNDS = 3  # a "transient" failure while the database answers: given up after this many
T = TypeVar("T")


class Publisher(Protocol):
    def publish_notifications(self, items: list[tuple[str, bytes]]) -> None:
        """(topic, payload) pairs, in order."""


@dataclass(frozen=True)
class Delivery:
    request: TopicRequest
    event: EntityChanged


def base_topics(event: EntityChanged, version: str) -> Iterator[str]:
    """The subscription paths (without query) an event concerns."""
    entity_type = event.entity_type
    prefix = f"v{version}"
    entity = f"{prefix}/{entity_type.plural}({event.id})"
    if event.change in ("created", "updated"):
        yield f"{prefix}/{entity_type.plural}"
        for link_name, target_id in event.related:
            link = entity_type.link(link_name)
            if link is not None and link.since <= version:
                inverse = REGISTRY.inverse(link)
                yield f"{prefix}/{REGISTRY.target(link).plural}({target_id})/{inverse.name}"
    if event.change in ("updated", "deleted"):
        yield entity
    if event.change == "updated":
        for name in event.fields:
            if entity_type.prop(name) is not None:  # a changed link is no property topic
                yield f"{entity}/{name}"


def routed_by_key(path: ResourcePath) -> bool:
    """Topics that base_topics finds from an event alone: entity sets, entities, their properties,
    and `Datastreams(7)/Observations` (the new entity's own key names the parent). Not members of
    JSON properties (`Things(1)/properties/mode`): those are looked for among the subscriptions."""
    if path.prop is not None:
        return len(path.steps) == 1 and not path.members
    if len(path.steps) == 1:
        return True
    parent, last = path.steps[0], path.steps[-1]
    return (len(path.steps) == 2 and parent.link is None and parent.id is not None and last.id is None
            and last.link is not None and REGISTRY.inverse(last.link).fk is not None)


def relative_subscriptions(registry: SubscriptionRegistry) -> list[list[TopicRequest]]:
    """Subscriptions to other navigation paths (`Locations(1)/Things`, `Datastreams(1)/Thing`,
    `Datastreams(1)/Thing/Datastreams`), grouped by path: only the database knows what lies on them."""
    groups = [registry.lookup(base) for base in registry.bases()]
    return [requests for requests in groups
            if requests and not routed_by_key(requests[0].path) and not requests[0].path.ref]


def relative_deliveries(conn: Connection, groups: list[list[TopicRequest]],
                        events: list[EntityChanged]) -> list[Delivery]:
    """The new or changed entities that lie on the paths of `groups`."""
    found: list[Delivery] = []
    for requests in groups:
        path = requests[0].path
        concerned = {event.id: event for event in events if event.entity_type == path.entity_type
                     and event.entity_type.since <= path.version and _concerns(event, path)}
        for chunk in chunks(sorted(concerned), READ_CHUNK):
            for ident in ids_on_path(conn, path, chunk):
                found.extend(Delivery(request, concerned[ident]) for request in requests)
    return found


def chunks(ids: Sequence[int], size: int) -> Iterator[list[int]]:
    """`ids` in runs of at most `size`, for statements with one parameter per id."""
    for start in range(0, len(ids), size):
        yield list(ids[start:start + size])


def _concerns(event: EntityChanged, path: ResourcePath) -> bool:
    """A new or changed entity concerns a path to entities; a property path, only a change of it."""
    if path.prop is None:
        return event.change in ("created", "updated")
    return event.change == "updated" and path.prop.name in event.fields


def deliveries(registry: SubscriptionRegistry, events: list[EntityChanged],
               versions: tuple[str, ...]) -> list[Delivery]:
    """Each subscribed topic an event concerns; the registry is asked once per path and batch."""
    found: list[Delivery] = []
    subscribed = registry.bases()
    looked: dict[str, list[TopicRequest]] = {}
    for event in events:
        for version in versions:
            if event.entity_type.since > version:
                continue
            for base in base_topics(event, version):
                if base not in subscribed:
                    continue
                requests = looked.get(base)
                if requests is None:
                    requests = looked[base] = registry.lookup(base)
                found.extend(Delivery(request, event) for request in requests)
    return found


class Notifier:
    """An EventBus listener; renders and publishes on its own thread through a bounded queue
    (a full queue blocks the committing request: back-pressure, never a dropped notification)."""

    def __init__(self, engine: Engine, registry: SubscriptionRegistry, publisher: Publisher,
                 root_url: str, default_top: int, queue_size: int = 10000) -> None:
        self.engine = engine
        self.registry = registry
        self.publisher = publisher
        self.root_url = root_url
        self.default_top = default_top
        self.queue: queue.Queue[list[EntityChanged] | None] = queue.Queue(queue_size)
        self.thread = threading.Thread(target=self._run, name="sta-notify", daemon=True)
        self.published = 0
        self.deadline = float("inf")
        self._writers: dict[tuple[str, str, tuple[ast.Path, ...] | None], EntityWriter] = {}

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Publish what is queued (database reads retried until `timeout_s`), then end the thread."""
        self.deadline = time.monotonic() + timeout_s
        self.queue.put(None)
        self.thread.join(timeout=timeout_s)
        if self.thread.is_alive():
            log.error("the notifier did not finish its queue within %.0f s; %d batches left unpublished",
                      timeout_s, self.queue.qsize())

    def __call__(self, events: list[EntityChanged]) -> None:
        if self.registry:
            self.queue.put(events)

    def drain(self) -> None:
        """Wait until every queued batch has been published (tests, shutdown)."""
        self.queue.join()

    def _run(self) -> None:
        while True:
            events = self.queue.get()
            try:
                if events is None:
                    return
                self.publish(events)
            except Exception:
                log.exception("publishing notifications failed")
            finally:
                self.queue.task_done()

    def read_with_retry(self, what: str, read: Callable[[Connection], T]) -> T:
        """`read` on a connection of its own, tried again with back-off while the database is
        unavailable (service/database_errors.py), until the stop's deadline; other failures raise."""
        delay, reachable = FIRST_DELAY_S, 0
        while True:
            try:
                with self.engine.connect() as conn:
                    return read(conn)
            except Exception as error:
                known = classify(error)
                if known is None or not known.transient or time.monotonic() + delay > self.deadline:
                    raise
                if self._reachable():  # not an outage after all (e.g. a driver limit): a few rounds
                    reachable += 1
                    if reachable >= REACHABLE_ROUNDS:
                        raise
                log.warning("database unavailable for the notifications of %s (%s); retrying in %.1f s",
                            what, type(error).__name__, delay)
                time.sleep(delay)
                delay = min(delay * 2, LONGEST_DELAY_S)

    def _reachable(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def publish(self, events: list[EntityChanged]) -> None:
        found = deliveries(self.registry, events, ("1.0", "1.1"))
        for group in relative_subscriptions(self.registry):
            topic = group[0].topic

            def on_path(conn: Connection, group: list[TopicRequest] = group) -> list[Delivery]:
                return relative_deliveries(conn, [group], events)
            try:
                found.extend(self.read_with_retry(topic, on_path))
            except Exception:
                log.exception("finding the notifications of %s failed; that topic misses this batch", topic)
        if not found:
            return
        payloads = self._render(found)
        items = [(d.request.topic, payload) for d in found
                 if (payload := payloads.get((d.request.topic, d.event.id))) is not None]
        self.publisher.publish_notifications(items)
        self.published += len(items)

    def _render(self, found: list[Delivery]) -> dict[tuple[str, int], bytes]:
        groups: dict[tuple[str, str, Query], list[Delivery]] = defaultdict(list)
        payloads: dict[tuple[str, int], bytes] = {}
        for delivery in found:
            if delivery.event.change == "deleted":
                payloads[(delivery.request.topic, delivery.event.id)] = self._deleted(delivery)
                continue
            request = delivery.request
            query = self._query_of(request)
            held = delivery.event.entity
            if held is not None and query.filter is None and not query.expand:
                kept = self._held(delivery.event.entity_type, held, query, request.path.version)
                payloads[(request.topic, delivery.event.id)] = self._payload(request, kept)
                continue
            groups[(request.path.version, delivery.event.entity_type.name, query)].append(delivery)
        for (version, type_name, query), members in groups.items():
            ctx = RequestContext(f"{self.root_url}/v{version}", version, self.default_top, self.default_top)
            ids = sorted({d.event.id for d in members})
            entity_type = REGISTRY.type(type_name)

            def read(conn: Connection, ids: list[int] = ids, entity_type: EntityType = entity_type,
                     query: Query = query, ctx: RequestContext = ctx) -> dict[int, JSON]:
                rendered: dict[int, JSON] = {}
                for chunk in chunks(ids, READ_CHUNK):
                    rendered.update(render_entities(conn, entity_type, chunk, query, ctx))
                return rendered
            try:
                rendered = self.read_with_retry(members[0].request.topic, read)
            except Exception:
                log.exception("rendering %d notifications of %s failed; the others are published",
                              len(members), members[0].request.topic)
                continue
            for delivery in members:
                entity = rendered.get(delivery.event.id)
                if entity is not None:
                    payloads[(delivery.request.topic, delivery.event.id)] = self._payload(delivery.request, entity)
        return payloads

    def _held(self, entity_type: EntityType, row: dict[str, Any], query: Query, version: str) -> JSON:
        """The entity as render_entities would give it, from the row its create kept on the event
        (mqtt/observation_rows.py) instead of reading it back: the same writer as a read's."""
        select = query.select
        if select is not None and ast.Path(("id",)) not in select:
            select = (*select, ast.Path(("id",)))
        key = (entity_type.name, version, select)
        writer = self._writers.get(key)
        if writer is None:
            links = Links(f"{self.root_url}/v{version}")
            writer = self._writers[key] = EntityWriter(entity_type, resolve_select(entity_type, select, version), links)
        entity = writer(row)
        if query.select is not None and ast.Path(("id",)) not in query.select:
            del entity["@iot.id"]
        return entity

    @staticmethod
    def _query_of(request: TopicRequest) -> Query:
        if request.path.prop is not None:
            return Query()
        return Query(filter=request.query.filter, select=request.query.select, expand=request.query.expand)

    @staticmethod
    def _payload(request: TopicRequest, entity: dict[str, object]) -> bytes:
        prop = request.path.prop
        if prop is not None:
            name = "@iot.id" if prop.kind is Kind.ID else prop.name
            entity = {request.path.member_name: member_value(entity.get(name), request.path.members)}
        return json.dumps(entity, separators=(",", ":")).encode()

    def _deleted(self, delivery: Delivery) -> bytes:
        event = delivery.event
        link = f"{self.root_url}/v{delivery.request.path.version}/{event.entity_type.plural}({event.id})"
        return json.dumps({"@iot.id": event.id, "@iot.selfLink": link, "@iot.deleted": True}).encode()
