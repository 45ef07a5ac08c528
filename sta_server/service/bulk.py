"""The one Observation rule set: 1..n Observation creates, whatever the channel (HTTP POST, also
through a navigation path or a deep insert; CreateObservations; `$batch`; SenML; MQTT).

Rules, in order, per row (a row that breaks one gets its error; the others go on):
1. exactly one stream, from the path (`Datastreams(1)/Observations`) or the body, by `@iot.id`;
2. the stream exists and the principal sees it (row-level security);
3. a MultiDatastream's result is an array with one value per ObservedProperty;
4. `result` is given (it may be null); `phenomenonTime` defaults to the server's time;
5. a FeatureOfInterest given by id exists and the principal sees it; so does the stream's own site
   (its Thing's labels) unless the principal is an administrator over HTTP or the feature is new
   in this request: no Observation links another household's feature;
6. without one, the feature generated from the Thing's (first GeoJSON) Location, reused or created;
then, for the rows kept, in one go: COPY, an EntityChanged per row (notifications and the audit
trail), the streams' extents once per stream, the rollup hours marked dirty. Links are references
here: service/create.py creates nested new entities (a deep insert) first (docs/writes.md).
"""
from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.exc import DBAPIError

from sta_server.errors import IncompleteEntity, InvalidEntity, StaError
from sta_server.model import REGISTRY
from sta_server.query.path import ResourcePath
from sta_server.security.principal import authorize, current
from sta_server.service import observation_features as features
from sta_server.service.body import is_reference, parse_body, reference_id
from sta_server.service.database_errors import classify
from sta_server.service.events import EntityChanged, record, remember_created, savepoint
from sta_server.sql import observation_row, rollups, side_effects
from sta_server.sql.bulk import copy_rows
from sta_server.sql.policies import scope, unscope
from sta_server.sql.tables import TABLES

log = logging.getLogger(__name__)
OBSERVATION = REGISTRY.type("Observation")
_STREAM_LINKS = {"Datastream": "datastreams", "MultiDatastream": "multi_datastreams"}
_LINKS = ("Datastream", "MultiDatastream", "FeatureOfInterest")
_observations = TABLES["observations"]
_features = TABLES["features"]

Item = tuple[ResourcePath | None, Any]  # (the POST's path or None, its body)
Stream = tuple[str, int]  # (stream table, id)
Firsts = dict[Stream, tuple[int | None, int | None]]  # stream -> (its Thing's first GeoJSON Location, its feature)


@dataclass
class Pending:
    index: int
    values: dict[str, Any]
    stream: Stream


@dataclass
class BulkResult:
    """Per item: the new id or the error that refused it."""

    outcomes: list[int | StaError] = field(default_factory=list)


def stream_of(path: ResourcePath | None, body: Any) -> tuple[str, int] | None:
    """The (table, id) of the stream an Observation create targets: the path's, else the body's;
    a body naming both kinds of stream is refused."""
    if path is not None and len(path.steps) == 2 and path.steps[0].id is not None:
        table = _STREAM_LINKS.get(path.steps[0].entity_type.name)
        if table and path.last.link is not None and path.last.link.name == "Observations":
            named = _named_streams(body)
            if named and named != [path.steps[0].entity_type.name]:
                return None  # both kinds: not exactly one
            given = body[named[0]] if named else None
            if given is not None and not (is_reference(given) and reference_id(given, named[0]) == path.steps[0].id):
                raise InvalidEntity(f"'{named[0]}' names another {named[0]} than the path", target=named[0])
            return table, path.steps[0].id
    named = _named_streams(body)
    if len(named) != 1:
        return None
    if not is_reference(body[named[0]]):
        raise InvalidEntity(f"'{named[0]}' must link an existing entity by '@iot.id' here", target=named[0])
    return _STREAM_LINKS[named[0]], reference_id(body[named[0]], named[0])


def _named_streams(body: Any) -> list[str]:
    return [name for name in _STREAM_LINKS if isinstance(body, dict) and body.get(name) is not None]


def takes(path: ResourcePath, body: Any) -> bool:
    """Whether a POST goes straight to the rule set: an Observation on `Observations` or on a
    stream's `Observations`, with links by reference only (anything else goes through create())."""
    direct = len(path.steps) == 1 or (len(path.steps) == 2 and stream_of(path, None) is not None)
    return (path.entity_type is OBSERVATION and path.is_collection and direct and isinstance(body, dict)
            and all(is_reference(body[name]) for name in _LINKS if body.get(name) is not None))


def create_observations(conn: Connection, items: list[Item], version: str = "1.1", *, isolate: bool = True,
                        seen: frozenset[tuple[str, int]] = frozenset()) -> BulkResult:
    """Store the Observations `items` describe (the caller owns the transaction), isolated as
    `in_halves` does. Without `isolate` (a single POST) no SAVEPOINT is taken and every database
    error is raised. `seen`: (type name, id) of Datastreams the request has just found under the
    principal's rights."""
    authorize("create", "Observation")
    if not isolate:
        return _create(conn, items, version, seen)
    return BulkResult(in_halves(conn, items, lambda part: _create(conn, part, version).outcomes))


def in_halves(conn: Connection, items: list[Item], create: Callable[[list[Item]], list[int | StaError]],
              *, _depth: int = 0) -> list[int | StaError]:
    """`create(items)` in a SAVEPOINT. When the database refuses the batch for a row's value (a
    DataError, an IntegrityError), the rows are tried again in halves down to the refused rows
    (about 2·k·log2(n) statements for k bad rows of n); a database condition (timeout, outage) is
    raised for the caller to retry. A half without a bad row is one COPY and one extents UPDATE per
    stream; row by row, every row's UPDATE of the same Datastream row made a new version of it in one
    transaction, each walking the ones before: 4,000 rows took a minute (red team F0)."""
    try:
        with savepoint(conn):
            return create(items)
    except DBAPIError as error:
        known = classify(error)
        if known is None or known.transient:  # a bug or the database's condition: not the rows' fault
            raise
        if len(items) == 1:
            return [known]
        if not _depth:
            log.info("bulk Observation insert of %d rows refused (%s); finding the rows by halves",
                     len(items), type(error.orig).__name__)
    middle = len(items) // 2
    return (in_halves(conn, items[:middle], create, _depth=_depth + 1)
            + in_halves(conn, items[middle:], create, _depth=_depth + 1))


def _create(conn: Connection, items: list[Item], version: str,
            seen: frozenset[tuple[str, int]] = frozenset()) -> BulkResult:
    result = BulkResult([IncompleteEntity()] * len(items))
    pending: list[Pending] = []
    for index, (path, body) in enumerate(items):
        try:
            pending.append(_parse(index, path, body, version))
        except StaError as error:
            result.outcomes[index] = error
    firsts: Firsts = {}
    pending = _check_streams(conn, pending, result, seen, firsts)
    pending = _with_features(conn, pending, result, firsts)
    if len(pending) == 1:
        _insert_one(conn, pending[0], result, version)
    elif pending:
        _insert(conn, pending, result)
    return result


def parse_one(path: ResourcePath | None, body: Any, version: str) -> Pending:
    """One Observation create's values and stream, by rules 1 and 4 (raises the StaError)."""
    return _parse(0, path, body, version)


def _parse(index: int, path: ResourcePath | None, body: Any, version: str) -> Pending:
    if not isinstance(body, dict):
        raise InvalidEntity("An Observation must be a JSON object")
    stream = stream_of(path, body)
    if stream is None:
        raise IncompleteEntity("An Observation needs exactly one of Datastream or MultiDatastream",
                               target="Datastream")
    fields = {k: v for k, v in body.items() if k not in _STREAM_LINKS}
    parsed = parse_body(OBSERVATION, fields, version)
    values = parsed.values
    if "result" not in parsed.given:
        raise IncompleteEntity("Observation needs 'result' (it may be null)", target="result")
    feature = parsed.links.get("FeatureOfInterest")
    if feature is not None:
        if not is_reference(feature[1]):
            raise InvalidEntity("'FeatureOfInterest' must link an existing entity by '@iot.id' here",
                                target="FeatureOfInterest")
        values["feature_of_interest_id"] = reference_id(feature[1], "FeatureOfInterest")
    if values.get("phenomenon_time_start") is None:
        values["phenomenon_time_start"] = datetime.now(UTC)  # v1.1: the server's time when absent
    return Pending(index, values, stream)


def _check_streams(conn: Connection, pending: list[Pending], result: BulkResult,
                   seen: frozenset[tuple[str, int]], firsts: Firsts) -> list[Pending]:
    """Streams are read under the principal's row-level security: one it cannot see is missing.
    Their first Locations and generated features are read with them, into `firsts`."""
    wanted: dict[str, set[int]] = defaultdict(set)
    found: dict[tuple[str, int], Any] = {}
    for item in pending:
        if item.stream[0] == "datastreams" and ("Datastream", item.stream[1]) in seen:
            found[item.stream] = None  # found by the request's path just now
        else:
            wanted[item.stream[0]].add(item.stream[1])
    for table_name, ids in wanted.items():
        multi = table_name == "multi_datastreams"
        for row in conn.execute(side_effects.stream_rows(table_name), {"streams": sorted(ids)}):
            found[(table_name, row.stream)] = row.multi_observation_data_types if multi else None
            firsts[(table_name, row.stream)] = (row.location, row.feature)
    kept = []
    for item in pending:
        name = "Datastream" if item.stream[0] == "datastreams" else "MultiDatastream"
        if item.stream not in found:
            result.outcomes[item.index] = InvalidEntity(f"No {name} with id {item.stream[1]}", target=name)
        elif item.stream[0] == "multi_datastreams" and not _fits(item.values, found[item.stream]):
            result.outcomes[item.index] = InvalidEntity(
                "The result of a MultiDatastream Observation must be an array with one value per "
                "ObservedProperty", target="result")
        else:
            kept.append(item)
    return kept


def _fits(values: dict[str, Any], data_types: Any) -> bool:
    result = values.get("result_json")
    return isinstance(result, list) and len(result) == len(data_types or [])


def _with_features(conn: Connection, pending: list[Pending], result: BulkResult,
                   firsts: Firsts) -> list[Pending]:
    given = {item.values["feature_of_interest_id"] for item in pending
             if item.values.get("feature_of_interest_id") is not None}
    existing = set(conn.execute(select(_features.c.id).where(_features.c.id.in_(given))).scalars()) if given else set()
    wanted: dict[Stream, set[int]] = defaultdict(set)
    for item in pending:
        if item.values.get("feature_of_interest_id") is not None:
            wanted[item.stream].add(item.values["feature_of_interest_id"])
    foreign = features.foreign(conn, wanted) if given and not features.trusted(current()) else set()
    generated = features.generated(conn, {item.stream for item in pending
                                          if item.values.get("feature_of_interest_id") is None}, firsts)
    kept = []
    for item in pending:
        feature = item.values.get("feature_of_interest_id")
        if feature is None:
            feature = generated.get(item.stream)
            if feature is None:
                result.outcomes[item.index] = IncompleteEntity(
                    "The Observation needs a FeatureOfInterest: its Thing has no GeoJSON Location",
                    target="FeatureOfInterest")
                continue
            item.values["feature_of_interest_id"] = feature
        elif feature not in existing or (item.stream, feature) in foreign:
            result.outcomes[item.index] = InvalidEntity(f"No FeatureOfInterest with id {feature}",
                                                        target="FeatureOfInterest")
            continue
        kept.append(item)
    return kept


COLUMNS = [c.name for c in _observations.c if c.name != "id"]


def _insert_one(conn: Connection, item: Pending, result: BulkResult, version: str) -> None:
    """A single Observation: the row and its side effects in one statement (sql/observation_row.py);
    unscoped for a scoped principal like _copy (its stream and feature were checked under its rights)."""
    row = {column: item.values.get(column) for column in COLUMNS}
    row["datastream_id" if item.stream[0] == "datastreams" else "multi_datastream_id"] = item.stream[1]
    principal = current()
    if not principal.unrestricted:
        unscope(conn)
    new = observation_row.insert_observation(conn, item.stream[0], row, version, _extent([item]))
    if not principal.unrestricted:
        scope(conn, principal.grants)
    ident = int(new["id"])
    result.outcomes[item.index] = ident
    link = "Datastream" if item.stream[0] == "datastreams" else "MultiDatastream"
    related = ((link, item.stream[1]), ("FeatureOfInterest", item.values["feature_of_interest_id"]))
    record(conn, EntityChanged(OBSERVATION, ident, "created", related=related))
    remember_created(conn, OBSERVATION, ident, new)


def _insert(conn: Connection, pending: list[Pending], result: BulkResult) -> None:
    rows = []
    for item in pending:
        row = {column: item.values.get(column) for column in COLUMNS}
        row["datastream_id" if item.stream[0] == "datastreams" else "multi_datastream_id"] = item.stream[1]
        rows.append(row)
    ids = _copy(conn, rows)
    by_stream: dict[tuple[str, int], list[Pending]] = defaultdict(list)
    for item, ident in zip(pending, ids, strict=True):
        result.outcomes[item.index] = ident
        by_stream[item.stream].append(item)
        link = "Datastream" if item.stream[0] == "datastreams" else "MultiDatastream"
        related = ((link, item.stream[1]), ("FeatureOfInterest", item.values["feature_of_interest_id"]))
        record(conn, EntityChanged(OBSERVATION, ident, "created", related=related))
    for table in {table for table, _ in by_stream}:
        side_effects.extend_streams(conn, table, {
            stream: _extent(members) for (t, stream), members in by_stream.items() if t == table})
    rollups.mark_dirty_hours(conn, {(item.stream[1], item.values["phenomenon_time_start"]) for item in pending
                                    if item.stream[0] == "datastreams"})


def _copy(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """COPY the rows. PostgreSQL refuses COPY into a table under row-level security: for a scoped
    principal it runs as the server, which is safe because every row's stream and feature were
    checked under the principal's own policies (_check_streams, _with_features). When the COPY
    fails, the SAVEPOINT around it (create_observations) undoes the unscoping as well."""
    principal = current()
    if principal.unrestricted:
        return copy_rows(conn, _observations, rows)
    unscope(conn)
    ids = copy_rows(conn, _observations, rows)
    scope(conn, principal.grants)
    return ids


def _extent(members: list[Pending]) -> side_effects.Extent:
    starts = [m.values["phenomenon_time_start"] for m in members]
    ends = [m.values.get("phenomenon_time_end") or m.values["phenomenon_time_start"] for m in members]
    result_times = [m.values["result_time"] for m in members if m.values.get("result_time") is not None]
    return side_effects.Extent(min(starts), max(ends), min(result_times, default=None),
                               max(result_times, default=None),
                               sorted({m.values["feature_of_interest_id"] for m in members}))
