"""Streamed reads: a collection read over a server-side cursor, handed out in chunks of entities.

Used for `$resultFormat=CSV`: large pages (up to STA_MAX_CSV_ROWS, not STA_MAX_TOP) streamed with
flat memory, `yield_per` rows at a time; `has_more` tells whether a page was cut.
The generator opens its own connection and keeps it for its whole life; it is closed when the
generator ends or is closed (a client that goes away closes the WSGI iterable).
"""
from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Connection, Engine, select

from sta_server.model import REGISTRY, EntityType, Kind
from sta_server.query.ast import Expand, Query
from sta_server.query.path import ResourcePath
from sta_server.query.validate import resolve_expand, resolve_select
from sta_server.security.principal import Principal, acting_as, current
from sta_server.serialize.entity import JSON
from sta_server.service.context import RequestContext
from sta_server.service.read import serialize_rows
from sta_server.sql import select as sql

YIELD_PER = 1000


def stream_entities(engine: Engine, path: ResourcePath, query: Query, ctx: RequestContext,
                    yield_per: int = YIELD_PER) -> Iterator[list[JSON]]:
    """The entities of a collection as JSON, `yield_per` at a time (expansions per chunk).

    Check the path and options (read.check_path / check_expands) before iterating: errors raised
    here come after the response has started. The rows are read with the rights of the principal
    of the request (the iteration runs after the request's handler has returned)."""
    return _stream(current(), engine, path, query, ctx, yield_per)


def _stream(principal: Principal, engine: Engine, path: ResourcePath, query: Query, ctx: RequestContext,
            yield_per: int) -> Iterator[list[JSON]]:
    selection = resolve_select(path.entity_type, query.select, ctx.version)
    stmt = sql.collection_select(path, query, selection, query.top or 0).limit(query.top)
    with acting_as(principal), engine.connect() as conn:
        streaming = conn.execution_options(stream_results=True, yield_per=yield_per)
        result = streaming.execute(stmt).mappings()
        for chunk in result.partitions():
            yield serialize_rows(conn, path.entity_type, chunk, selection, query.expand, ctx)


def has_more(conn: Connection, path: ResourcePath, query: Query, ctx: RequestContext, rows: int) -> bool:
    """Whether the collection has entities beyond its first `rows` (after $skip and $skiptoken)."""
    selection = resolve_select(path.entity_type, query.select, ctx.version)
    page = sql.collection_select(path, query, selection, 0).order_by(None)
    return bool(conn.execute(select(page.offset(query.skip + rows).limit(1).exists())).scalar())


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

