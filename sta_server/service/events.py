"""EntityChanged events: recorded during a transaction, dispatched to listeners after commit."""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Connection, Engine

from sta_server.model import EntityType
from sta_server.security.audit import record_events

log = logging.getLogger(__name__)
_KEY = "sta_events"
_REQUEST_START = "sta_request_start"  # index into the events where the current request began
_CREATED_ROW = "sta_created_row"  # (type name, id, row) of the entity the current request created last

Change = Literal["created", "updated", "deleted"]


@dataclass(frozen=True)
class EntityChanged:
    entity_type: EntityType
    id: int
    change: Change
    fields: frozenset[str] = frozenset()  # wire names of the properties/links an update changed
    related: tuple[tuple[str, int], ...] = ()  # (to-one link name, target id) at the time of change
    entity: dict[str, Any] | None = field(default=None, compare=False)  # last state, for deletes


Listener = Callable[[list[EntityChanged]], None]


class EventBus:
    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def publish(self, events: list[EntityChanged]) -> None:
        for listener in self._listeners:
            try:
                listener(events)
            except Exception:  # a broken listener must not fail a committed request
                log.exception("event listener %r failed", listener)


def record(conn: Connection, event: EntityChanged) -> None:
    conn.info.setdefault(_KEY, []).append(event)


def begin_request(conn: Connection) -> None:
    """A request starts on `conn`: `created_in` counts what it creates from here (a transaction may
    hold many requests: an MQTT batch, a `$batch` change set)."""
    conn.info[_REQUEST_START] = len(conn.info.get(_KEY, []))
    conn.info.pop(_CREATED_ROW, None)


def remember_created(conn: Connection, entity_type: EntityType, ident: int, row: Any) -> None:
    """The row a create's statement returned (as a read selects it), for the request's answer."""
    conn.info[_CREATED_ROW] = (entity_type.name, ident, row)


def created_row(conn: Connection, entity_type: EntityType, ident: int) -> Any | None:
    """The row `remember_created` kept for this entity, once (None: read it)."""
    kept = conn.info.pop(_CREATED_ROW, None)
    return kept[2] if kept is not None and kept[:2] == (entity_type.name, ident) else None


def created_in(conn: Connection, entity_type: EntityType) -> set[int]:
    """Ids of the entities of a type the current request (see `begin_request`) has created so far."""
    events = conn.info.get(_KEY, [])[conn.info.get(_REQUEST_START, 0):]
    return {e.id for e in events if e.entity_type is entity_type and e.change == "created"}


@contextmanager
def savepoint(conn: Connection) -> Iterator[Connection]:
    """A SAVEPOINT: on failure its writes and its recorded events are both undone."""
    recorded = len(conn.info.get(_KEY, []))
    try:
        with conn.begin_nested():
            yield conn
    except BaseException:
        del conn.info.setdefault(_KEY, [])[recorded:]
        raise


@contextmanager
def transaction(engine: Engine, bus: EventBus | None) -> Iterator[Connection]:
    """One transaction; its changes are written to the audit trail in it, and its recorded events
    go to `bus` only once it has committed."""
    with engine.connect() as conn:
        conn.info.pop(_KEY, None)
        conn.info.pop(_REQUEST_START, None)
        try:
            with conn.begin():
                yield conn
                record_events(conn, conn.info.get(_KEY, []))
            events: list[EntityChanged] = conn.info.pop(_KEY, [])
        finally:
            conn.info.pop(_KEY, None)
            conn.info.pop(_REQUEST_START, None)
    if bus is not None and events:
        bus.publish(events)
