"""Expressions of `$apply`: the $filter compiler plus aliases and `bucket()`, and the aggregation
methods as one table (method -> SQL builder over a typed input)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, FromClause, and_, case, distinct, func, or_

from sta_server.errors import InvalidQuery
from sta_server.model import REGISTRY, EntityType
from sta_server.query import ast
from sta_server.query.apply import as_bucket
from sta_server.query.ast import Bucket, Expr
from sta_server.sql.aggregate_time import bucket_start
from sta_server.sql.filters import FilterCompiler
from sta_server.sql.typed import Typed, as_number, as_string, as_time

NUMERIC = frozenset({"sum", "average", "min", "max", "timeweighted", "delta"})


@dataclass(frozen=True)
class Value:
    """A compiled expression, and for bucket keys the Bucket (its zone formats the output)."""

    typed: Typed
    bucket: Bucket | None = None


class ExprCompiler(FilterCompiler):
    """Compiles expressions over entities (root given) or over the columns of an earlier stage
    (`aliases` only; `entities=False` makes any other member path a 400)."""

    def __init__(self, entity_type: EntityType, table: FromClause, version: str,
                 aliases: dict[str, Typed], *, entities: bool = True) -> None:
        super().__init__(entity_type, table, version)
        self.aliases = aliases
        self.entities = entities
        self._top_scope = self.scope  # compile() of a key or an aggregate input runs in this scope

    def visit_Path(self, node: ast.Path) -> Typed:
        if len(node.segments) == 1 and node.segments[0] in self.aliases:
            return self.aliases[node.segments[0]]
        if not self.entities:
            raise InvalidQuery(f"$apply: '{'/'.join(node.segments)}' is not a name of the grouped rows "
                               f"(available: {', '.join(self.aliases) or 'none'})", target="$apply")
        self._check_to_one(node.segments)
        return super().visit_Path(node)

    def _check_to_one(self, segments: tuple[str, ...]) -> None:
        if self.scope is not self._top_scope:
            return  # inside a comparison: to-many paths become EXISTS there
        entity_type = self.root[0]
        for name in segments:
            link = entity_type.link(name)
            if link is None:
                return
            if link.many:
                raise InvalidQuery(f"$apply: '{'/'.join(segments)}' crosses the to-many link '{name}'; "
                                   "group and aggregate over to-one links only", target="$apply")
            entity_type = REGISTRY.target(link)

    def visit_Call(self, node: ast.Call) -> Typed:
        bucket = as_bucket(node)
        if bucket is None:
            return super().visit_Call(node)
        return Typed(bucket_start(bucket, as_time(self.compile(bucket.time))), "datetime")

    def value(self, expr: Expr) -> Value:
        if isinstance(expr, Bucket):
            return Value(Typed(bucket_start(expr, as_time(self.compile(expr.time))), "datetime"), expr)
        return Value(self.compile(expr))


def not_numeric(value: Typed) -> ColumnElement[bool] | None:
    """The condition under which a value is present but not a number (None: it always is)."""
    if value.type == "result":
        assert value.json is not None
        return and_(value.expr.is_(None), value.json.isnot(None))
    if value.type == "json":
        return and_(value.expr.isnot(None), func.jsonb_typeof(value.expr) != "number")
    return None


def _count(value: Typed) -> ColumnElement[Any]:
    if value.type == "result":
        assert value.json is not None
        return func.count(case((or_(value.expr.isnot(None), value.json.isnot(None)), 1)))
    return func.count(value.expr)


def _count_distinct(value: Typed) -> ColumnElement[Any]:
    plain = as_string(value) if value.type in ("result", "json") else value.expr
    return func.count(distinct(plain))


Builder = Callable[[Typed], ColumnElement[Any]]
METHOD_SQL: dict[str, Builder] = {
    "sum": lambda v: func.sum(as_number(v)),
    "average": lambda v: func.avg(as_number(v)),
    "min": lambda v: func.min(as_number(v)),
    "max": lambda v: func.max(as_number(v)),
    "count": _count,
    "countdistinct": _count_distinct,
}


def aggregate_sql(method: str, value: Typed | None,
                  where: ColumnElement[bool] | None = None) -> ColumnElement[Any]:
    """One plain aggregate (sample-based), optionally only over rows matching `where`."""
    expr: ColumnElement[Any]
    if value is None:
        expr = func.count()
    elif method in METHOD_SQL:
        expr = METHOD_SQL[method](value)
    else:
        raise InvalidQuery(f"$apply: '{method}' needs the Observations of a Datastream in time "
                           "order: use it in the first groupby, by bucket(phenomenonTime, ...)",
                           target="$apply")
    return expr.filter(where) if where is not None else expr


def bad_count(value: Typed, where: ColumnElement[bool] | None = None) -> ColumnElement[Any] | None:
    """count(*) of rows whose value is not numeric (for the 400 of numeric aggregates)."""
    condition = not_numeric(value)
    if condition is None:
        return None
    return func.count().filter(condition if where is None else and_(where, condition))
