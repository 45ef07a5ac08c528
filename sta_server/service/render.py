"""Many entities of one type rendered at once, as GET would render each (for notifications)."""
from __future__ import annotations

from sqlalchemy import Connection

from sta_server.model import EntityType
from sta_server.query import ast
from sta_server.query.ast import Query
from sta_server.query.path import ResourcePath, Step
from sta_server.serialize.entity import JSON
from sta_server.service.context import RequestContext
from sta_server.service.read import read_collection


def render_entities(conn: Connection, entity_type: EntityType, ids: list[int], query: Query,
                    ctx: RequestContext) -> dict[int, JSON]:
    """id -> JSON for the entities among `ids` that pass the query's $filter, with its $select and
    $expand applied. One statement (plus one per expanded link) for the whole batch."""
    if not ids:
        return {}
    wanted: ast.Node = ast.In(ast.Path(("id",)), tuple(ast.Literal(i, "int") for i in ids))
    condition = wanted if query.filter is None else ast.BoolOp("and", query.filter, wanted)
    select = query.select
    if select is not None and ast.Path(("id",)) not in select:
        select = (*select, ast.Path(("id",)))
    batch_query = Query(filter=condition, select=select, expand=query.expand, top=len(ids))
    path = ResourcePath(ctx.version, (Step(entity_type),))
    body = read_collection(conn, path, batch_query, ctx)
    rendered: dict[int, JSON] = {}
    for entity in body["value"]:
        ident = entity["@iot.id"]
        if query.select is not None and ast.Path(("id",)) not in query.select:
            del entity["@iot.id"]
        rendered[ident] = entity
    return rendered
