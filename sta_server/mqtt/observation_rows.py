"""Observation creates on the MQTT path: the one Observation rule set (service/bulk.py: its stream
and feature checks, its COPY and side effects) fed by a parser of Observation bodies alone, and
each stored row's values kept on its event, so that the notifier renders the notification from
them instead of reading the row back (mqtt/notify.py).

- The parser (`parse_observation`) is bulk.py's rules 1 and 4 with the property parsers of
  `parse_body` called directly for an Observation's own properties (`serialize/values.py`: the
  same validation and errors); a body with anything else (an unknown member, an `@iot.` annotation)
  goes through `parse_body` as before.
- The kept row (`EntityChanged.entity`) holds the columns as a read selects them
  (`<property><suffix>`), with the values PostgreSQL hands back for what was written: a result
  number as a double, JSON as `jsonb` gives it back (keys shorter first, then by bytes; a float
  written with a positive exponent comes back as an integer, -0.0 as 0.0). tests/mqtt/
  test_held_notifications.py compares each notification with the GET of its entity.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects.postgresql import JSONB

from sta_server.errors import IncompleteEntity, InvalidEntity, StaError
from sta_server.model import Kind, Property
from sta_server.query.path import ResourcePath
from sta_server.security.principal import authorize
from sta_server.serialize.values import parse_value
from sta_server.service import bulk
from sta_server.service.body import is_reference, parse_body, reference_id
from sta_server.service.bulk import OBSERVATION, BulkResult, Item, Pending, stream_of
from sta_server.service.events import _KEY as EVENTS_KEY
from sta_server.service.events import EntityChanged
from sta_server.sql.tables import TABLES

log = logging.getLogger(__name__)
_STREAMS = ("Datastream", "MultiDatastream")
_JSON_COLUMNS = frozenset(c.name for c in TABLES["observations"].c if isinstance(c.type, JSONB))
# (read key, table column) of every column a read of an Observation selects, any version
_READ = tuple((p.name + s, p.column + s) for p in OBSERVATION.properties if p.kind is not Kind.ID
              for s in p.kind.read_suffixes)


def _settable(version: str) -> dict[str, Property]:
    return {p.name: p for p in OBSERVATION.properties if not p.read_only and p.since <= version}


_SETTABLE = {version: _settable(version) for version in ("1.0", "1.1")}


def store_observations(conn: Connection, items: list[Item], version: str) -> list[int | StaError]:
    """bulk.create_observations (isolated by `bulk.in_halves`) with this module's parser, keeping the
    rows on their events. The caller owns the transaction."""
    authorize("create", "Observation")
    return bulk.in_halves(conn, items, lambda part: _create(conn, part, version))


def _create(conn: Connection, items: list[Item], version: str) -> list[int | StaError]:
    result = BulkResult([IncompleteEntity()] * len(items))
    pending: list[Pending] = []
    for index, (path, body) in enumerate(items):
        try:
            pending.append(parse_observation(index, path, body, version))
        except StaError as error:
            result.outcomes[index] = error
    firsts: bulk.Firsts = {}
    pending = bulk._check_streams(conn, pending, result, frozenset(), firsts)
    pending = bulk._with_features(conn, pending, result, firsts)
    if len(pending) == 1:
        bulk._insert_one(conn, pending[0], result, version)
    elif pending:
        bulk._insert(conn, pending, result)
    _hold(conn, [held_row(item, result.outcomes[item.index]) for item in pending])
    return result.outcomes


def parse_observation(index: int, path: ResourcePath | None, body: Any, version: str) -> Pending:
    """bulk.py's `_parse`: one create's values and stream (rules 1 and 4), or its StaError."""
    if not isinstance(body, dict):
        raise InvalidEntity("An Observation must be a JSON object")
    stream = stream_of(path, body)
    if stream is None:
        raise IncompleteEntity("An Observation needs exactly one of Datastream or MultiDatastream",
                               target="Datastream")
    settable = _SETTABLE.get(version)
    if settable is None or any(key not in settable and key not in _STREAMS and key != "FeatureOfInterest"
                               for key in body):
        return bulk.parse_one(path, body, version)  # the generic parser: its errors, its rules
    values: dict[str, Any] = {}
    for key, value in body.items():  # in order, as parse_body: the first error is the same
        prop = settable.get(key)
        if prop is None:
            if key == "FeatureOfInterest" and not isinstance(value, dict):
                parse_body(OBSERVATION, {key: value}, version)  # raises its error about the link's shape
            continue
        if value is None and prop.kind is Kind.RESULT:
            values.update({column: None for column in prop.columns()})
        else:
            values.update(parse_value(prop, value))
    if "result" not in body:
        raise IncompleteEntity("Observation needs 'result' (it may be null)", target="result")
    feature = body.get("FeatureOfInterest")
    if feature is not None:
        if not is_reference(feature):
            raise InvalidEntity("'FeatureOfInterest' must link an existing entity by '@iot.id' here",
                                target="FeatureOfInterest")
        values["feature_of_interest_id"] = reference_id(feature, "FeatureOfInterest")
    if values.get("phenomenon_time_start") is None:
        values["phenomenon_time_start"] = datetime.now(UTC)  # v1.1: the server's time when absent
    return Pending(index, values, stream)


def held_row(item: Pending, ident: int | StaError) -> dict[str, Any]:
    """The row a read of the stored Observation would select, from the values written."""
    row: dict[str, Any] = {"id": ident}
    for key, column in _READ:
        value = item.values.get(column)
        if value is not None and column in _JSON_COLUMNS:
            value = as_jsonb(value)
        elif value is not None and column == "result_number":
            value = float(value)  # a double precision column
        row[key] = value
    return row


def as_jsonb(value: Any) -> Any:
    """A JSON value as PostgreSQL's `jsonb` gives it back: object keys shorter first, then by their
    bytes (the last of equal keys kept, as the parser does); numbers as `numeric` writes them out
    and json.loads reads them (an integral float written with an exponent, 1e+16, is an integer;
    -0.0 is 0.0)."""
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (len(k.encode()), k.encode()))
        return {k: as_jsonb(value[k]) for k in keys}
    if isinstance(value, list):
        return [as_jsonb(v) for v in value]
    if isinstance(value, float):
        text = repr(value)
        if "e+" in text:
            return int(Decimal(text))
        if value == 0:
            return 0.0
    return value


def _hold(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Put the rows on the events the rule set has just recorded for them (the last ones, in order);
    an event that does not match is left as it is (its notification reads the row back)."""
    events: list[EntityChanged] = conn.info.get(EVENTS_KEY, [])
    start = len(events) - len(rows)
    if not rows or start < 0:
        return
    for offset, row in enumerate(rows):
        event = events[start + offset]
        if event.entity_type is OBSERVATION and event.change == "created" and event.id == row["id"]:
            events[start + offset] = replace(event, entity=row)
