"""Reading: entity sets, single entities, navigation, properties, $value, $ref, $expand."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, RowMapping, exists, select

from sta_server.errors import NotFound
from sta_server.model import REGISTRY, EntityType, Kind
from sta_server.model.selection import Selection
from sta_server.query.ast import Expand, Path, Query
from sta_server.query.path import ResourcePath
from sta_server.query.validate import resolve_expand, resolve_select
from sta_server.serialize.entity import JSON, EntityWriter, member_value, serialize_value
from sta_server.service.context import RequestContext
from sta_server.sql import select as sql
from sta_server.sql.estimate import estimated_count
from sta_server.sql.keyset import encode_token
from sta_server.sql.relations import table_of

REF_SELECTION_PATHS = (Path(("@iot.selfLink",)),)


def read(conn: Connection, path: ResourcePath, query: Query, ctx: RequestContext) -> Any:
    """The JSON body of a GET (or, for `$value`, the raw value); None for a property that is null
    (the answer is 204 No Content).

    Whether every entity on the path exists is asked only when the answer is empty (or missing):
    rows on a path prove the path, so the common read costs one statement, not two."""
    if path.prop is not None:
        return _read_property(conn, path, ctx)
    check_expands(path.entity_type, query.expand, ctx.version)
    if path.ref:
        query = Query(filter=query.filter, orderby=query.orderby, top=query.top, skip=query.skip,
                      count=query.count, select=REF_SELECTION_PATHS)
    if path.is_collection:
        body = read_collection(conn, path, query, ctx)
        if not body["value"] and len(path.steps) > 1:
            check_path(conn, path)
        return body
    return read_entity(conn, path, query, ctx)


def check_path(conn: Connection, path: ResourcePath) -> None:
    """404 when an entity the path passes through (or ends in) does not exist."""
    for end in range(1, len(path.steps) + 1):
        prefix = ResourcePath(path.version, path.steps[:end])
        if prefix.is_collection:
            continue
        ids = sql.path_ids(prefix)
        assert ids is not None
        if not conn.execute(select(exists(ids))).scalar():
            raise NotFound(f"Nothing found at {prefix.url_path()}", target=prefix.url_path())


def ids_on_path(conn: Connection, path: ResourcePath, ids: Collection[int]) -> list[int]:
    """Which of `ids` (entities of the path's last type) the path reaches."""
    table = table_of(path.entity_type)
    stmt = select(table.c.id).where(table.c.id.in_(list(ids)))
    condition = sql.path_condition(path, table)
    if condition is not None:
        stmt = stmt.where(condition)
    return [int(ident) for ident in conn.execute(stmt).scalars()]


def check_expands(entity_type: EntityType, expands: tuple[Expand, ...], version: str) -> None:
    """400 for a bad $expand (or nested $select) even when there is nothing to expand."""
    for expand in expands:
        target = REGISTRY.target(resolve_expand(entity_type, expand, version))
        resolve_select(target, expand.query.select, version)
        check_expands(target, expand.query.expand, version)


def single_id(conn: Connection, path: ResourcePath) -> int:
    """The id of the one entity a path ends in (404 when there is none)."""
    ids = sql.path_ids(path)
    assert ids is not None
    ident = conn.execute(ids.limit(1)).scalar()
    if ident is None:
        raise NotFound(f"Nothing found at {path.url_path()}", target=path.url_path())
    return int(ident)


def read_collection(conn: Connection, path: ResourcePath, query: Query, ctx: RequestContext) -> JSON:
    entity_type = path.entity_type
    selection = resolve_select(entity_type, query.select, ctx.version)
    top = query.top if query.top is not None else ctx.default_top
    rows = conn.execute(sql.collection_select(path, query, selection, top)).mappings().all()
    body: JSON = {}
    if query.count:
        body["@iot.count"] = count_matching(conn, path, query, ctx)
    if len(rows) > top:
        body["@iot.nextLink"] = _next_page(path, query, ctx, rows[top - 1] if top else None, top)
        rows = rows[:top]
    body["value"] = serialize_rows(conn, entity_type, rows, selection, query.expand, ctx)
    return body


def count_matching(conn: Connection, path: ResourcePath, query: Query, ctx: RequestContext) -> int:
    """`@iot.count`: exact, or in estimate mode exact up to the threshold and estimated beyond."""
    if ctx.count_estimate_threshold is None:
        return int(conn.execute(sql.count_select(path, query)).scalar_one())
    return estimated_count(conn, sql.matching_ids(path, query), ctx.count_estimate_threshold)


def _next_page(path: ResourcePath, query: Query, ctx: RequestContext, last: RowMapping | None,
               top: int) -> str:
    """A key-set nextLink (`$skiptoken`) when the order allows it, else one with a larger `$skip`."""
    keys = sql.page_keys(path, query)
    token = encode_token(keys, last) if keys is not None and last is not None else None
    if token is None:
        return ctx.next_link(path.url_path(), query.skip + top, top)
    return ctx.next_link(path.url_path(), 0, top, skiptoken=token)


def read_entity(conn: Connection, path: ResourcePath, query: Query, ctx: RequestContext) -> JSON:
    entity_type = path.entity_type
    selection = resolve_select(entity_type, query.select, ctx.version)
    row = conn.execute(sql.entity_select(path, selection)).mappings().first()
    if row is None:
        check_path(conn, path)  # names the first missing entity of the path
        raise NotFound(f"Nothing found at {path.url_path()}", target=path.url_path())
    return serialize_rows(conn, entity_type, [row], selection, query.expand, ctx)[0]


def render_row(entity_type: EntityType, row: Mapping[str, Any], ctx: RequestContext) -> JSON:
    """An entity as `read_entity` answers it without options, from a row holding its columns as a
    read selects them (a create's RETURNING: service/events.py `remember_created`)."""
    selection = resolve_select(entity_type, None, ctx.version)
    return EntityWriter(entity_type, selection, ctx.links)(row, None)


def _read_property(conn: Connection, path: ResourcePath, ctx: RequestContext) -> Any:
    """`{"name": value}` (or, for `$value`, the value); None when the value is null or the member
    path leads nowhere (answered 204 No Content, as FROST-Server and OData do)."""
    assert path.prop is not None
    entity_path = ResourcePath(path.version, path.steps)
    selection = Selection((path.prop,), (), self_link=False)
    row = conn.execute(sql.entity_select(entity_path, selection)).mappings().first()
    if row is None:
        check_path(conn, path)
        raise NotFound(f"Nothing found at {path.url_path()}")
    value = row["id"] if path.prop.kind is Kind.ID else serialize_value(path.prop, row)
    value = member_value(value, path.members)
    if value is None or path.value:
        return value
    return {path.member_name: value}


def serialize_rows(conn: Connection, entity_type: EntityType, rows: Sequence[RowMapping],
                   selection: Selection, expands: tuple[Expand, ...], ctx: RequestContext) -> list[JSON]:
    extras = _expand(conn, entity_type, [row["id"] for row in rows], expands, ctx)
    write = EntityWriter(entity_type, selection, ctx.links)
    return [write(row, extras.get(row["id"])) for row in rows]


def _expand(conn: Connection, entity_type: EntityType, parent_ids: list[int],
            expands: tuple[Expand, ...], ctx: RequestContext) -> dict[int, JSON]:
    """For each parent id, the JSON members that the expanded links add (one query per link)."""
    extras: dict[int, JSON] = defaultdict(dict)
    if not parent_ids:
        return extras
    for expand in expands:
        link = resolve_expand(entity_type, expand, ctx.version)
        target_type = REGISTRY.target(link)
        query = expand.query
        selection = resolve_select(target_type, query.select, ctx.version)
        top = query.top if query.top is not None else ctx.default_top
        stmt = sql.expand_select(link, parent_ids, query, selection, top, ctx.version)
        rows = conn.execute(stmt).mappings().all()
        children = serialize_rows(conn, target_type, rows, selection, query.expand, ctx)
        grouped: dict[int, list[JSON]] = defaultdict(list)
        for row, child in zip(rows, children, strict=True):
            grouped[row["_parent"]].append(child)
        counts = _expand_counts(conn, link, parent_ids, query, ctx) if query.count else {}
        for parent in parent_ids:
            members = grouped.get(parent, [])
            if not link.many:
                extras[parent][link.name] = members[0] if members else None
                continue
            extras[parent][link.name] = members[:top]
            if query.count:
                extras[parent][f"{link.name}@iot.count"] = counts.get(parent, 0)
            if len(members) > top:
                path = f"{entity_type.plural}({parent})/{link.name}"
                extras[parent][f"{link.name}@iot.nextLink"] = ctx.next_link(
                    path, query.skip + top, top, dict(expand.options))
    return extras


def _expand_counts(conn: Connection, link: Any, parent_ids: list[int], query: Query,
                   ctx: RequestContext) -> dict[int, int]:
    stmt = sql.expand_count_select(link, parent_ids, query, ctx.version)
    return {row._mapping["_parent"]: row._mapping["_count"] for row in conn.execute(stmt)}


