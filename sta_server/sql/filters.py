"""$filter and $orderby AST -> SQLAlchemy expressions (a visitor; functions live in functions.py).

Paths across navigation links join aliased tables; the nearest boolean node wraps those joins in an
EXISTS, so a path through a to-many link means "some linked entity matches" (as in FROST-Server).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Column, ColumnElement, FromClause, and_, exists, false, func, literal, not_, or_, select

from sta_server.errors import InvalidQuery
from sta_server.model import REGISTRY, EntityType
from sta_server.query import ast
from sta_server.sql.arithmetic import arithmetic
from sta_server.sql.comparisons import compare
from sta_server.sql.functions import call_function
from sta_server.sql.literals import compile_literal
from sta_server.sql.paths import link_joins, resolve_path
from sta_server.sql.relations import table_of
from sta_server.sql.typed import Typed, as_bool, as_jsonb, as_number

Scope = list[tuple[FromClause, ColumnElement[bool]]]


_IN_LIST_TYPES: dict[str, set[str]] = {"number": {"int"}, "string": {"string"}}


class FilterCompiler:
    def __init__(self, entity_type: EntityType, table: FromClause, version: str) -> None:
        self.root = (entity_type, table)
        self.version = version
        self.variables: dict[str, tuple[EntityType, FromClause]] = {}
        self.scope: Scope = []

    def compile(self, node: ast.Node) -> Typed:
        method: Callable[[Any], Typed] = getattr(self, "visit_" + type(node).__name__)
        return method(node)

    def boolean(self, node: ast.Node) -> ColumnElement[bool]:
        value = self.compile(node)
        if value.type not in ("bool", "null", "json", "result"):
            raise InvalidQuery(f"$filter needs a boolean expression, got a {value.type}")
        return as_bool(value)

    def _scoped(self, build: Callable[[], Typed], *, unlinked: bool = False) -> Typed:
        """Compile a node in a fresh join scope. If it is boolean, the paths inside it that crossed
        links become one EXISTS; otherwise their joins pass up to the enclosing node. `unlinked`:
        the condition also holds when the links lead nowhere (`Datastreams/id eq null` matches a
        Thing without Datastreams, as an outer join would in FROST-Server)."""
        outer, self.scope = self.scope, []
        try:
            value = build()
            joins = self.scope
        finally:
            self.scope = outer
        if not joins:
            return value
        if value.type != "bool":
            self.scope.extend(joins)
            return value
        froms = [alias for alias, _ in joins]
        linked = select(literal(1)).select_from(*froms).where(*[c for _, c in joins])
        matching = exists(linked.where(value.expr))
        return Typed(or_(matching, not_(exists(linked))) if unlinked else matching, "bool")

    def visit_Literal(self, node: ast.Literal) -> Typed:
        return compile_literal(node)

    def visit_Path(self, node: ast.Path) -> Typed:
        start = self.root
        segments = node.segments
        if segments and segments[0] in self.variables:
            start, segments = self.variables[segments[0]], segments[1:]
        return resolve_path(start, segments, self.version, self.scope)

    def visit_Compare(self, node: ast.Compare) -> Typed:
        is_null = ast.Literal(None, "null")
        return self._scoped(
            lambda: Typed(compare(node.op, self.compile(node.left), self.compile(node.right)), "bool"),
            unlinked=node.op == "eq" and is_null in (node.left, node.right),
        )

    def visit_BoolOp(self, node: ast.BoolOp) -> Typed:
        """A run of one operator (`a or b or c ...`, any length) as one flat SQL clause list."""
        combine = and_ if node.op == "and" else or_
        operands: list[ast.Node] = []
        pending: list[ast.Node] = [node]
        while pending:
            item = pending.pop()
            if isinstance(item, ast.BoolOp) and item.op == node.op:
                pending += [item.right, item.left]
            else:
                operands.append(item)
        return Typed(combine(*(self.boolean(operand) for operand in operands)), "bool")

    def visit_Not(self, node: ast.Not) -> Typed:
        return Typed(not_(self.boolean(node.operand)), "bool")

    def visit_Arith(self, node: ast.Arith) -> Typed:
        return arithmetic(node.op, self.compile(node.left), self.compile(node.right))

    def visit_Negate(self, node: ast.Negate) -> Typed:
        return Typed(-as_number(self.compile(node.operand)), "number")

    def visit_Call(self, node: ast.Call) -> Typed:
        return self._scoped(lambda: call_function(node.name, [self.compile(arg) for arg in node.args]))

    def visit_In(self, node: ast.In) -> Typed:
        def build() -> Typed:
            left = self.compile(node.left)
            kinds = {item.kind for item in node.items if isinstance(item, ast.Literal)}
            if left.type in _IN_LIST_TYPES and len(kinds) == 1 and len(node.items) == sum(
                    isinstance(item, ast.Literal) for item in node.items) and kinds <= _IN_LIST_TYPES[left.type]:
                # one `= ANY(:list)` parameter instead of a chain of ORs (notifications send
                # `id in (...)` with a whole batch of ids)
                values = [item.value for item in node.items if isinstance(item, ast.Literal)]
                return Typed(left.expr.in_(values), "bool")
            return Typed(or_(*[compare("eq", left, self.compile(item)) for item in node.items]), "bool")

        return self._scoped(build)

    def visit_InCollection(self, node: ast.InCollection) -> Typed:
        """`9 in properties/intArray`, `4 in result`: the JSON array holds the value (JSON containment)."""
        def build() -> Typed:
            collection = self.compile(node.collection)
            array = collection.json if collection.type == "result" else collection.expr
            if collection.type not in ("json", "result") or array is None:
                raise InvalidQuery("'in' needs a list in parentheses or a JSON array member")
            return Typed(array.op("@>", is_comparison=True)(as_jsonb(self.compile(node.left))), "bool")

        return self._scoped(build)

    def visit_Lambda(self, node: ast.Lambda) -> Typed:
        return self._scoped(lambda: Typed(self._lambda(node), "bool"))

    def _lambda(self, node: ast.Lambda) -> ColumnElement[bool]:
        owner_type, owner = self.root
        segments = node.collection.segments
        if segments and segments[0] in self.variables:
            (owner_type, owner), segments = self.variables[segments[0]], segments[1:]
        if not segments:
            raise InvalidQuery("any()/all() need a navigation path before them")
        joins: Scope = []
        for index, name in enumerate(segments):
            link = owner_type.link(name)
            if link is None or link.since > self.version:
                raise InvalidQuery(f"'{name}' is not a navigation link of {owner_type.name}")
            target_type = REGISTRY.target(link)
            target = table_of(target_type).alias()
            joins = link_joins(link, owner, target)
            if index < len(segments) - 1:
                self.scope.extend(joins)
            elif not link.many:
                raise InvalidQuery(f"any()/all() need a collection, '{name}' is a single entity")
            owner_type, owner = target_type, target
        return self._quantify(node, owner_type, owner, joins)

    def _quantify(self, node: ast.Lambda, target_type: EntityType, target: FromClause,
                  joins: Scope) -> ColumnElement[bool]:
        """any(): some linked entity satisfies the body; all(): none fails it (an unknown body,
        e.g. a comparison with a missing value, fails it too)."""
        froms, conditions = [f for f, _ in joins], [c for _, c in joins]
        if node.body is None:
            return exists(select(literal(1)).select_from(*froms).where(*conditions))
        if node.variable is None:
            raise InvalidQuery("any()/all() with a condition need a variable: any(x: x/name eq 'a')")
        shadowed = self.variables.get(node.variable)  # `d` of an enclosing any(d: ...) of the same name
        self.variables[node.variable] = (target_type, target)
        try:
            body = self.boolean(node.body)
        finally:
            if shadowed is None:
                del self.variables[node.variable]
            else:
                self.variables[node.variable] = shadowed
        if node.quantifier == "any":
            return exists(select(literal(1)).select_from(*froms).where(*conditions, body))
        failing = not_(func.coalesce(body, false()))
        return not_(exists(select(literal(1)).select_from(*froms).where(*conditions, failing)))


def compile_filter(node: ast.Node, entity_type: EntityType, table: FromClause,
                   version: str) -> ColumnElement[bool]:
    return FilterCompiler(entity_type, table, version).boolean(node)


def compile_order_keys(orderby: tuple[ast.OrderBy, ...], entity_type: EntityType, table: FromClause,
                       version: str) -> list[tuple[ColumnElement[Any], bool]]:
    """The sort keys as (expression, descending); `ordered` applies the null placement (nulls count
    as smallest). A path across links becomes a correlated scalar subquery (the first linked
    entity's value); a result sorts by its number, then by its JSON value."""
    keys: list[tuple[ColumnElement[Any], bool]] = []
    for item in orderby:
        compiler = FilterCompiler(entity_type, table, version)
        value = compiler.compile(item.expr)
        exprs = [value.expr] if value.json is None else [value.expr, value.json]
        for expr in exprs:
            key = expr
            if compiler.scope:
                froms = [alias for alias, _ in compiler.scope]
                query = select(expr).select_from(*froms).where(*[c for _, c in compiler.scope])
                key = query.limit(1).scalar_subquery()
            keys.append((key, item.descending))
    return keys


def ordered(key: ColumnElement[Any], descending: bool) -> ColumnElement[Any]:
    """Nulls count as smallest. A NOT NULL column gets no NULLS clause, so that an index on it
    serves the order (PostgreSQL matches index order only with its default null placement)."""
    if isinstance(key, Column) and not key.nullable:
        return key.desc() if descending else key.asc()
    return key.desc().nulls_last() if descending else key.asc().nulls_first()
