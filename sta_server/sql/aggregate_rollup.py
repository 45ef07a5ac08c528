"""Answering the first grouping of a `$apply` from the hourly rollups, when they give the same
answer as the Observations: Observations of one Datastream (or of all, with a condition on their
Datastream), filters on the Datastream and hour-aligned `phenomenonTime ge/lt` bounds, keys that
are whole-hour buckets of phenomenonTime or Datastream paths, and sum/average/min/max/count of
result or `$count`. Anything else returns None (the Observations answer)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, FromClause, func, select

from sta_server.model import REGISTRY
from sta_server.query import ast
from sta_server.query.ast import AggregateItem, Aliased, Bucket
from sta_server.sql.aggregate_exprs import ExprCompiler
from sta_server.sql.aggregate_stage import OutColumn, Source, Stage, positions
from sta_server.sql.aggregate_time import bucket_start, whole_hours
from sta_server.sql.relations import table_of
from sta_server.sql.rollups import hourly

_METHODS = frozenset({"sum", "average", "min", "max", "count"})
_FLIP = {"ge": "le", "le": "ge", "gt": "lt", "lt": "gt", "eq": "eq", "ne": "ne"}
DATASTREAM = REGISTRY.type("Datastream")
DATASTREAM_TABLE = table_of(DATASTREAM)


def _conjuncts(node: ast.Node) -> list[ast.Node]:
    if isinstance(node, ast.BoolOp) and node.op == "and":
        return _conjuncts(node.left) + _conjuncts(node.right)
    return [node]


def _strip(node: Any, variables: frozenset[str] = frozenset()) -> Any:
    """The node with every `Datastream/...` path made relative to the Datastream; None when some
    path does not start at the Datastream (or a lambda variable)."""
    if isinstance(node, ast.Path):
        if node.segments[0] in variables:
            return node
        if len(node.segments) > 1 and node.segments[0] == "Datastream":
            return ast.Path(node.segments[1:])
        return None
    if isinstance(node, ast.Lambda):
        collection = _strip(node.collection, variables)
        inner = variables | {node.variable} if node.variable else variables
        body = None if node.body is None else _strip(node.body, inner)
        if collection is None or (node.body is not None and body is None):
            return None
        return ast.Lambda(collection, node.quantifier, node.variable, body)
    if isinstance(node, ast.Literal):
        return node
    children = {name: getattr(node, name) for name in node.__dataclass_fields__}
    for name, value in children.items():
        if isinstance(value, tuple):
            items = [_strip(v, variables) for v in value]
            if any(i is None for i in items):
                return None
            children[name] = tuple(items)
        elif not isinstance(value, str) and value is not None:
            children[name] = _strip(value, variables)
            if children[name] is None:
                return None
    return type(node)(**children)


def _time_bound(node: ast.Node) -> tuple[str, datetime] | None:
    """`phenomenonTime ge T` / `lt T` with T on a whole UTC hour (either side)."""
    if not isinstance(node, ast.Compare):
        return None
    op: str = node.op
    left, right = node.left, node.right
    if isinstance(left, ast.Literal):
        op, left, right = _FLIP[op], right, left
    if not (isinstance(left, ast.Path) and left.segments == ("phenomenonTime",)
            and isinstance(right, ast.Literal) and right.kind == "datetime" and op in ("ge", "lt")):
        return None
    when: datetime = right.value
    return (op, when) if when.timestamp() % 3600 == 0 else None


def _key_ok(key: Aliased) -> bool:
    if isinstance(key.expr, Bucket):
        return key.expr.time.segments == ("phenomenonTime",) and whole_hours(key.expr)
    return isinstance(key.expr, ast.Path) and _strip(key.expr) is not None


def _aggregate_ok(item: AggregateItem) -> bool:
    return item.expr is None or (item.method in _METHODS and item.expr == ast.Path(("result",)))


def _aggregate(item: AggregateItem) -> ColumnElement[Any]:
    r = hourly.c
    if item.expr is None or item.method == "count":
        return func.sum(r.observations)
    return {"sum": func.sum(r.total), "min": func.min(r.minimum), "max": func.max(r.maximum),
            "average": func.sum(r.total) / func.nullif(func.sum(r.numbers), 0)}[item.method]


def rollup_stage(src: Source, keys: tuple[Aliased, ...],
                 aggregates: tuple[AggregateItem, ...]) -> Stage | None:
    if src.entity_type.name != "Observation" or src.computes or not aggregates:
        return None
    if not (all(_key_ok(k) for k in keys) and all(_aggregate_ok(a) for a in aggregates)):
        return None
    stream_filters, bounds = [], []
    for node in (c for f in src.filters for c in _conjuncts(f)):
        bound = _time_bound(node)
        stripped = None if bound else _strip(node)
        if bound is not None:
            bounds.append(bound)
        elif stripped is not None:
            stream_filters.append(stripped)
        else:
            return None
    if src.stream_id is None and not (src.whole_set and stream_filters):
        return None  # only then the rollups (Datastreams only) hold every Observation asked for
    return _compile(src, keys, aggregates, stream_filters, bounds)


def _compile(src: Source, keys: tuple[Aliased, ...], aggregates: tuple[AggregateItem, ...],
             stream_filters: list[ast.Node], bounds: list[tuple[str, datetime]]) -> Stage:
    streams: FromClause = DATASTREAM_TABLE.alias()
    compiler = ExprCompiler(DATASTREAM, streams, src.version, {})
    where = [compiler.boolean(f) for f in stream_filters]
    where += [hourly.c.hour >= when if op == "ge" else hourly.c.hour < when for op, when in bounds]
    if src.stream_id is not None:
        where.append(hourly.c.datastream_id == src.stream_id)
    columns, out = [], []
    for key in keys:
        if isinstance(key.expr, Bucket):
            columns.append(bucket_start(key.expr, hourly.c.hour).label(key.alias))
            out.append(OutColumn(key.alias, "datetime", True, key.expr))
        else:
            value = compiler.value(_strip(key.expr))
            columns.append(value.typed.expr.label(key.alias))
            out.append(OutColumn(key.alias, value.typed.type, True))
    group = list(columns)
    checks: dict[str, str] = {}
    for item in aggregates:
        columns.append(_aggregate(item).label(item.alias))
        out.append(OutColumn(item.alias, "number", False))
        if item.method != "count":
            bad = func.sum(hourly.c.observations - hourly.c.numbers)
            columns.append(bad.label(f"_bad_{item.alias}"))
            checks[f"_bad_{item.alias}"] = item.alias
    joins = [(streams, streams.c.id == hourly.c.datastream_id), *compiler.scope]
    stmt = select(*columns).select_from(hourly, *[f for f, _ in joins])
    stmt = stmt.where(*[c for _, c in joins], *where)
    return Stage(stmt.group_by(*positions(len(group))), out, checks, rollups=True)
