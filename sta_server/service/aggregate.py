"""Reading with `$apply`: compile, bring the rollups up to date when they are used, run, check,
and render the rows (a plain list of flat rows, so other formats can reuse `aggregate_rows`)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from sta_server.errors import InvalidQuery
from sta_server.query.ast import Query
from sta_server.query.path import ResourcePath
from sta_server.security.principal import SERVER, acting_as
from sta_server.serialize.entity import JSON
from sta_server.service.context import RequestContext
from sta_server.service.read import check_path
from sta_server.sql.aggregate import Compiled, compile_apply
from sta_server.sql.aggregate_stage import OutColumn
from sta_server.sql.aggregate_time import local_text
from sta_server.sql.rollups import any_dirty, refresh_dirty

log = logging.getLogger(__name__)
_EXCLUSIVE = {"$filter": "filter(...)", "$orderby": None, "$select": None, "$expand": None}


@dataclass(frozen=True)
class AggregateRows:
    """The result: column names in order, rows as name -> JSON value, and paging."""

    columns: list[str]
    rows: list[dict[str, Any]]
    count: int | None = None
    next_link: str | None = None


def _check_request(path: ResourcePath, ctx: RequestContext) -> None:
    if not path.is_collection or path.prop is not None or path.ref:
        raise InvalidQuery("$apply works on entity collections only", target="$apply")
    for option, instead in _EXCLUSIVE.items():
        if option in ctx.params:
            hint = f"; use {instead} inside $apply" if instead else ""
            raise InvalidQuery(f"{option} cannot be combined with $apply{hint}", target=option)


def _rollups_current(conn: Connection) -> bool:
    """Refresh the dirty rollups in a transaction of their own (committed, so the work is kept);
    False when some stay dirty (held by an open writer, or this request's own transaction)."""
    with acting_as(SERVER), conn.engine.connect() as other:  # every stream's rollups, not only visible ones
        refreshed = refresh_dirty(other)
        other.commit()
    if refreshed:
        log.debug("aggregation refreshed %s rollup hours", refreshed)
    return not any_dirty(conn)


def _compiled(conn: Connection, path: ResourcePath, query: Query, ctx: RequestContext, top: int) -> Compiled:
    assert query.apply is not None
    use = ctx.params.get("rollups", "true").lower() != "false"
    compiled = compile_apply(query.apply, path, query.skip, top, use_rollups=use)
    if compiled.rollups and not _rollups_current(conn):
        compiled = compile_apply(query.apply, path, query.skip, top, use_rollups=False)
    return compiled


def _json(value: Any, column: OutColumn) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return local_text(value, column.bucket.tz if column.bucket else "UTC")
    return value


def aggregate_rows(conn: Connection, path: ResourcePath, query: Query, ctx: RequestContext) -> AggregateRows:
    _check_request(path, ctx)
    check_path(conn, path)
    top = query.top if query.top is not None else ctx.default_top
    compiled = _compiled(conn, path, query, ctx, top)
    rows = conn.execute(compiled.page).mappings().all()
    for row in rows:
        for check, alias in compiled.checks.items():
            if row[check]:
                raise InvalidQuery(f"$apply: '{alias}' needs numbers, but {row[check]} of the values "
                                   "aggregated are not numeric", target="$apply")
    count = conn.execute(compiled.count).scalar_one() if query.count else None
    next_link = None
    if len(rows) > top:
        rows = rows[:top]
        next_link = ctx.next_link(path.url_path(), query.skip + top, top)
    names = [c.name for c in compiled.columns]
    body = [{c.name: _json(row[c.name], c) for c in compiled.columns} for row in rows]
    return AggregateRows(names, body, count, next_link)


def read_aggregate(conn: Connection, path: ResourcePath, query: Query, ctx: RequestContext) -> JSON:
    """The JSON body of a GET with `$apply`: `{"value": [rows]}` (or one dataArray)."""
    if query.result_format not in (None, "dataArray"):
        raise InvalidQuery(f"$resultFormat={query.result_format} is not available with $apply; "
                           "use JSON or dataArray", target="$resultFormat")
    result = aggregate_rows(conn, path, query, ctx)
    body: JSON = {}
    if result.count is not None:
        body["@iot.count"] = result.count
    if result.next_link:
        body["@iot.nextLink"] = result.next_link
    if query.result_format == "dataArray":
        data = [[row[name] for name in result.columns] for row in result.rows]
        body["value"] = [{"components": result.columns, "dataArray@iot.count": len(data), "dataArray": data}]
    else:
        body["value"] = result.rows
    return body
