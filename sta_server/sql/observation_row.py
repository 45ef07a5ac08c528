"""One new Observation and its side effects in ONE statement, one round trip (a single POST, the
most common write): the row inserted, its stream's extents and observed area grown (the growth of
side_effects.extend_streams, for one stream and one feature) and, for a Datastream, the rollup
hour marked dirty (rollups.mark_dirty's statement), as data-modifying CTEs of one query that
returns the new row as a read selects it (serialize/entity.py renders the answer from it)."""
from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from sqlalchemy import Connection, RowMapping, Select, bindparam, func, insert, select
from sqlalchemy.engine.interfaces import Dialect

from sta_server.model import REGISTRY, Kind
from sta_server.query.validate import resolve_select
from sta_server.sql import precompiled, rollups, side_effects
from sta_server.sql.columns import read_columns
from sta_server.sql.security_tables import AuditRecord
from sta_server.sql.tables import TABLES

_observations = TABLES["observations"]
_OBSERVATION = REGISTRY.type("Observation")
_audit = TABLES[AuditRecord.__tablename__]


def insert_observation(conn: Connection, stream_table: str, values: dict[str, Any], version: str,
                       extent: side_effects.Extent) -> RowMapping:
    """Insert one Observation (`values`: column -> value, its stream's key included; None is left
    to the column's default) and apply its side effects; returns the row (`id` and the read
    columns of `version`)."""
    given = {name: value for name, value in values.items() if value is not None}
    stream = int(given["datastream_id" if stream_table == "datastreams" else "multi_datastream_id"])
    params = {f"new_{name}": value for name, value in given.items()}
    (feature,) = extent.feature_ids
    params |= {"ext_stream": stream, "t0": extent.start, "t1": extent.end, "r0": extent.result_start,
               "r1": extent.result_end, "feature": feature}
    if stream_table == "datastreams":
        params |= {"stream": stream, "start": extent.start, "end": extent.start}
    return conn.execute(_statement(stream_table, tuple(sorted(given)), version), params).mappings().one()


@cache
def _statement(stream_table: str, columns: tuple[str, ...], version: str) -> Select[Any]:
    """Built once per stream table, set of given columns and API version."""
    selection = resolve_select(_OBSERVATION, None, version)
    props = tuple(p for p in selection.props if p.kind is not Kind.ID)
    row = insert(_observations).values({name: bindparam(f"new_{name}", type_=_observations.c[name].type)
                                        for name in columns})
    new = row.returning(_observations.c.id, *read_columns(_OBSERVATION, _observations, props)).cte("new_row")
    effects = [side_effects.extend_one_statement(stream_table).cte("grown")]
    if stream_table == "datastreams":
        effects.append(rollups.mark_statement().cte("dirty"))
    return select(*new.c).add_cte(*effects)



def insert_checked(conn: Connection, values: dict[str, Any], version: str, extent: side_effects.Extent,
                   audit: dict[str, Any], scoped_labels: Iterable[str] | None = None) -> dict[str, Any] | None:
    """insert_observation with the rule set's stream check, the feature generated from the Thing's
    first GeoJSON Location and the transaction's audit row in the same statement (a lone create
    in autocommit mode: one statement is one transaction, one round trip). `values` holds neither
    the stream nor the feature: the Datastream `stream` (bound in `values` as `datastream_id`) is
    looked up under the caller's rights and its generated feature used. None (nothing written):
    the stream is missing or its feature was never generated (the caller takes the rule set's path).
    `conn` must be in autocommit mode: the statement runs precompiled on the driver
    (sql/precompiled.py), with `scoped_labels` under row-level security as the scoped role with
    those grants — the stream check, the insert and its side effects all under the policies."""
    given = {name: value for name, value in values.items() if value is not None}
    stream = int(given.pop("datastream_id"))
    params = {f"new_{name}": value for name, value in given.items()}
    params |= {"streams": [stream], "t0": extent.start, "t1": extent.end, "r0": extent.result_start,
               "r1": extent.result_end, "start": extent.start, "end": extent.start,
               **{f"audit_{name}": value for name, value in audit.items()}}
    statement = _checked_precompiled(tuple(sorted(given)), version, tuple(sorted(audit)), conn.dialect)
    return precompiled.fetch_one(conn, statement, params, scoped_labels)


@cache
def _checked_precompiled(columns: tuple[str, ...], version: str, audit_columns: tuple[str, ...],
                         dialect: Dialect) -> precompiled.Precompiled:
    return precompiled.Precompiled.of(_checked(columns, version, audit_columns), dialect)


@cache
def _checked(columns: tuple[str, ...], version: str, audit_columns: tuple[str, ...]) -> Select[Any]:
    """Built once per set of given columns and API version."""
    selection = resolve_select(_OBSERVATION, None, version)
    props = tuple(p for p in selection.props if p.kind is not Kind.ID)
    found = side_effects.stream_rows("datastreams").cte("stream")
    source = select(*[bindparam(f"new_{name}", type_=_observations.c[name].type) for name in columns],
                    found.c.stream, found.c.feature).where(found.c.feature.isnot(None))
    row = insert(_observations).from_select([*columns, "datastream_id", "feature_of_interest_id"], source)
    new = row.returning(_observations.c.id, _observations.c.datastream_id.label("stream_id"),
                        _observations.c.feature_of_interest_id.label("feature_id"),
                        *read_columns(_OBSERVATION, _observations, props)).cte("new_row")
    grown = side_effects.extend_one_from(new.c.stream_id, new.c.feature_id).cte("grown")
    marked = rollups.mark_from(new.c.stream_id).cte("dirty")
    trail = insert(_audit).from_select(
        [*audit_columns, "entity_ids"],
        select(*[bindparam(f"audit_{name}", type_=_audit.c[name].type) for name in audit_columns],
               func.array_agg(new.c.id)).select_from(new).having(func.count() > 0)).cte("trail")
    return select(*new.c).add_cte(grown, marked, trail)
