"""Observations in bulk: one multi-row INSERT for a batch, with every side effect a single POST has
(generated FeaturesOfInterest, stream extents once per stream, events). Used by MQTT ingest and
CreateObservations; anything it does not handle (deep inserts) goes the generic way."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from sta_server.errors import IncompleteEntity, InvalidEntity, NotFound, StaError
from sta_server.model import REGISTRY
from sta_server.query.path import ResourcePath
from sta_server.security.principal import authorize, current
from sta_server.service.body import is_reference, parse_body, reference_id
from sta_server.service.events import EntityChanged, record
from sta_server.sql import rollups, side_effects
from sta_server.sql.bulk import copy_rows
from sta_server.sql.policies import scope, unscope
from sta_server.sql.tables import TABLES

OBSERVATION = REGISTRY.type("Observation")
FEATURE_OF_INTEREST = REGISTRY.type("FeatureOfInterest")
_STREAM_LINKS = {"Datastream": "datastreams", "MultiDatastream": "multi_datastreams"}
_observations = TABLES["observations"]
_features = TABLES["features"]
_labels = TABLES["thing_labels"]


@dataclass
class Pending:
    index: int
    values: dict[str, Any]
    stream: tuple[str, int]


@dataclass
class BulkResult:
    """Per item: the new id, an error, or None when the item needs the generic path."""

    outcomes: list[int | StaError | None] = field(default_factory=list)


def stream_of(path: ResourcePath | None, body: Any) -> tuple[str, int] | None:
    """The (table, id) of the stream an Observation create targets, from its path or body."""
    if path is not None and len(path.steps) == 2 and path.steps[0].id is not None:
        table = _STREAM_LINKS.get(path.steps[0].entity_type.name)
        if table and path.last.link is not None and path.last.link.name == "Observations":
            return table, path.steps[0].id
    if isinstance(body, dict):
        for name, table in _STREAM_LINKS.items():
            if is_reference(body.get(name)):
                return table, reference_id(body[name], name)
    return None


def _simple(body: Any) -> bool:
    """No deep insert: links are references only."""
    return isinstance(body, dict) and all(
        is_reference(body[name]) for name in ("Datastream", "MultiDatastream", "FeatureOfInterest")
        if name in body)


def create_observations(conn: Connection, items: list[tuple[ResourcePath | None, Any]],
                        version: str = "1.1") -> BulkResult:
    authorize("create", "Observation")
    result = BulkResult([None] * len(items))
    pending: list[Pending] = []
    for index, (path, body) in enumerate(items):
        try:
            stream = stream_of(path, body)
            if stream is None or not _simple(body) or (path is not None and len(path.steps) > 2):
                continue
            pending.append(Pending(index, _parse(body, version), stream))
        except StaError as error:
            result.outcomes[index] = error
    pending = _check_streams(conn, pending, result)
    pending = _with_features(conn, pending, result)
    if pending:
        _insert(conn, pending, result)
    return result


def _parse(body: dict[str, Any], version: str) -> dict[str, Any]:
    fields = {k: v for k, v in body.items() if k not in _STREAM_LINKS}
    parsed = parse_body(OBSERVATION, fields, version)
    values = parsed.values
    if "FeatureOfInterest" in parsed.links:
        values["feature_of_interest_id"] = reference_id(parsed.links["FeatureOfInterest"][1], "FeatureOfInterest")
    if values.get("phenomenon_time_start") is None:
        values["phenomenon_time_start"] = datetime.now(UTC)
    if "result_number" not in values and "result_json" not in values:
        raise IncompleteEntity("Observation needs 'result'", target="result")
    return values


def _check_streams(conn: Connection, pending: list[Pending], result: BulkResult) -> list[Pending]:
    wanted: dict[str, set[int]] = defaultdict(set)
    for item in pending:
        wanted[item.stream[0]].add(item.stream[1])
    found: dict[tuple[str, int], Any] = {}
    for table_name, ids in wanted.items():
        table = TABLES[table_name]
        columns = [table.c.id]
        if table_name == "multi_datastreams":
            columns.append(table.c.multi_observation_data_types)
        for row in conn.execute(select(*columns).where(table.c.id.in_(ids))):
            found[(table_name, row[0])] = row[1] if len(row) > 1 else None
    kept = []
    for item in pending:
        if item.stream not in found:
            result.outcomes[item.index] = NotFound(f"No {item.stream[0][:-1]} with id {item.stream[1]}")
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


def _with_features(conn: Connection, pending: list[Pending], result: BulkResult) -> list[Pending]:
    given = {item.values["feature_of_interest_id"] for item in pending
             if item.values.get("feature_of_interest_id") is not None}
    features = TABLES["features"]
    existing = {r[0] for r in conn.execute(select(features.c.id).where(features.c.id.in_(given)))} if given else set()
    foreign = _foreign_features(conn, pending) if given and current().channel == "mqtt" else set()
    generated = _generated_features(conn, {item.stream for item in pending
                                           if item.values.get("feature_of_interest_id") is None})
    kept = []
    for item in pending:
        feature = item.values.get("feature_of_interest_id")
        if feature is None:
            feature = generated.get(item.stream)
            if feature is None:
                result.outcomes[item.index] = IncompleteEntity(
                    "The Observation needs a FeatureOfInterest: its Thing has no Location",
                    target="FeatureOfInterest")
                continue
            item.values["feature_of_interest_id"] = feature
        elif feature not in existing or (item.stream, feature) in foreign:
            result.outcomes[item.index] = NotFound(f"No FeatureOfInterest with id {feature}")
            continue
        kept.append(item)
    return kept


def _foreign_features(conn: Connection, pending: list[Pending]) -> set[tuple[tuple[str, int], int]]:
    """MQTT creates name no user (the broker's ACL allowed the topic): a FeatureOfInterest given
    by id must be one the stream's own site may see, under that Thing's labels and the same
    row-level security as HTTP — else an agent could link its Observations to another household's
    feature and read it through them. Streams of unlabelled Things are published to by
    administrators only (nobody else sees their topics), so they are not checked."""
    wanted: dict[tuple[str, int], set[int]] = defaultdict(set)
    for item in pending:
        if item.values.get("feature_of_interest_id") is not None:
            wanted[item.stream].add(item.values["feature_of_interest_id"])
    foreign: set[tuple[tuple[str, int], int]] = set()
    for (table_name, stream), features in wanted.items():
        stream_table = TABLES[table_name]
        labels = [str(label) for label in conn.execute(
            select(_labels.c.label).join(stream_table, stream_table.c.thing_id == _labels.c.thing_id)
            .where(stream_table.c.id == stream)).scalars()]
        if not labels:
            continue
        inner = conn.begin_nested()
        try:
            scope(conn, labels)
            seen = set(conn.execute(select(_features.c.id).where(_features.c.id.in_(features))).scalars())
        finally:
            inner.rollback()  # ends the scoping too
        foreign |= {((table_name, stream), feature) for feature in features - seen}
    return foreign


def _generated_features(conn: Connection, streams: set[tuple[str, int]]) -> dict[tuple[str, int], int]:
    """The generated FeatureOfInterest of each stream, one query per stream table (new ones are
    announced like any created entity)."""
    found: dict[tuple[str, int], int] = {}
    for table in {table for table, _ in streams}:
        ids = {ident for t, ident in streams if t == table}
        for stream, (feature, created) in side_effects.streams_features(conn, table, ids).items():
            found[(table, stream)] = feature
            if created:
                record(conn, EntityChanged(FEATURE_OF_INTEREST, feature, "created"))
    return found


_COLUMNS = [c.name for c in _observations.c if c.name != "id"]


def _insert(conn: Connection, pending: list[Pending], result: BulkResult) -> None:
    rows = []
    for item in pending:
        row = {column: item.values.get(column) for column in _COLUMNS}
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
    checked under the principal's own policies (_check_streams, _with_features)."""
    principal = current()
    if principal.unrestricted:
        return copy_rows(conn, _observations, rows)
    unscope(conn)
    try:
        return copy_rows(conn, _observations, rows)
    finally:
        scope(conn, principal.grants)


def _extent(members: list[Pending]) -> side_effects.Extent:
    starts = [m.values["phenomenon_time_start"] for m in members]
    ends = [m.values.get("phenomenon_time_end") or m.values["phenomenon_time_start"] for m in members]
    result_times = [m.values["result_time"] for m in members if m.values.get("result_time") is not None]
    return side_effects.Extent(min(starts), max(ends), min(result_times, default=None),
                               max(result_times, default=None),
                               sorted({m.values["feature_of_interest_id"] for m in members}))
