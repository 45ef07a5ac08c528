"""Streamed reads: a collection read over a server-side cursor, handed out in chunks of entities.

Used for `$resultFormat=CSV`: without `$top` the whole result is streamed (no default or maximum
page size: memory stays flat, `yield_per` rows at a time); `$top`/`$skip` are honoured when given.
The generator opens its own connection and keeps it for its whole life; it is closed when the
generator ends or is closed (a client that goes away closes the WSGI iterable).
"""
from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Engine

from sta_server.model import REGISTRY, EntityType, Kind
from sta_server.query.ast import Expand, Query
from sta_server.query.path import ResourcePath
from sta_server.query.validate import resolve_expand, resolve_select
from sta_server.serialize.entity import JSON
from sta_server.service.context import RequestContext
from sta_server.service.read import serialize_rows
from sta_server.sql import select as sql

YIELD_PER = 1000


def stream_entities(engine: Engine, path: ResourcePath, query: Query, ctx: RequestContext,
                    yield_per: int = YIELD_PER) -> Iterator[list[JSON]]:
    """The entities of a collection as JSON, `yield_per` at a time (expansions per chunk).

    Check the path and options (read.check_path / check_expands) before iterating: errors raised
    here come after the response has started."""
    selection = resolve_select(path.entity_type, query.select, ctx.version)
    stmt = sql.collection_select(path, query, selection, query.top or 0).limit(query.top)
    with engine.connect() as conn:
        streaming = conn.execution_options(stream_results=True, yield_per=yield_per)
        result = streaming.execute(stmt).mappings()
        for chunk in result.partitions():
            yield serialize_rows(conn, path.entity_type, chunk, selection, query.expand, ctx)


def flat_columns(entity_type: EntityType, query: Query, version: str, prefix: str = "") -> list[str]:
    """The CSV columns of a read: `@iot.id`, `@iot.selfLink` and the selected properties, then
    for each expanded to-one link its own columns as `Link/name`, for a to-many link one column
    `Link` (its entities as JSON text)."""
    selection = resolve_select(entity_type, query.select, version)
    columns = [f"{prefix}@iot.id"] if any(p.kind is Kind.ID for p in selection.props) else []
    if selection.self_link:
        columns.append(f"{prefix}@iot.selfLink")
    columns += [prefix + p.name for p in selection.props if p.kind is not Kind.ID]
    for expand in query.expand:
        columns += _expanded_columns(entity_type, expand, version, prefix)
    return columns


def _expanded_columns(entity_type: EntityType, expand: Expand, version: str, prefix: str) -> list[str]:
    link = resolve_expand(entity_type, expand, version)
    if link.many:
        return [prefix + link.name]
    return flat_columns(REGISTRY.target(link), expand.query, version, f"{prefix}{link.name}/")

