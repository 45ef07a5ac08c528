"""AST of $filter / $orderby expressions and of query options: frozen dataclasses, compared by value.

The parser (parser.py) builds these; sql/filters.py compiles them; validate.py checks names.
Nothing here knows SQL or HTTP.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from typing import Literal as TypingLiteral

LiteralKind = TypingLiteral[
    "string", "int", "float", "decimal", "bool", "null",
    "datetime", "date", "time", "duration", "interval", "geography", "geometry",
]


@dataclass(frozen=True)
class Literal:
    """A constant. value is a Python value of the kind: str, int, float, Decimal, bool, None,
    datetime (tz-aware), date, time, timedelta (duration), (start, end) datetimes (interval), or WKT
    text (geography/geometry)."""

    value: Any
    kind: LiteralKind


@dataclass(frozen=True)
class Path:
    """A member path: ('name',), ('Datastream', 'Thing', 'name'), ('properties', 'radialId').

    An array index is a segment of its digits: `properties/objArray[0]/name` and
    `properties/objArray/0/name` are both ('properties', 'objArray', '0', 'name'), as in FROST-Server.

    Segments are raw; which are navigation links, properties or JSON keys is decided against the
    model (validate.py / sql/filters.py). Inside a lambda the first segment may be its variable.
    """

    segments: tuple[str, ...]


@dataclass(frozen=True)
class Compare:
    op: TypingLiteral["eq", "ne", "gt", "ge", "lt", "le"]
    left: Node
    right: Node


@dataclass(frozen=True)
class BoolOp:
    op: TypingLiteral["and", "or"]
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class Arith:
    op: TypingLiteral["add", "sub", "mul", "div", "mod"]
    left: Node
    right: Node


@dataclass(frozen=True)
class Negate:
    operand: Node


@dataclass(frozen=True)
class Call:
    """A function call; name as written, lower-cased (e.g. 'substringof', 'geo.distance', 'st_within')."""

    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class In:
    """OData `x in (a, b, c)`."""

    left: Node
    items: tuple[Node, ...]


@dataclass(frozen=True)
class InCollection:
    """OData `x in collection` with a member that holds a JSON array: `9 in properties/intArray`."""

    left: Node
    collection: Path


@dataclass(frozen=True)
class Lambda:
    """`Locations/any(l: l/name eq 'x')`; body None for the argument-less `any()`."""

    collection: Path
    quantifier: TypingLiteral["any", "all"]
    variable: str | None
    body: Node | None


Node = Literal | Path | Compare | BoolOp | Not | Arith | Negate | Call | In | InCollection | Lambda


# $apply (parsed by apply.py): a sequence of transformations over expressions of the $filter grammar.


@dataclass(frozen=True)
class Bucket:
    """A time bucket of `time`: fixed `seconds` (absolute, aligned to local midnight 2000-01-03),
    or whole local `days`, or calendar `months` (1, 3 or 12), in the IANA zone `tz`."""

    time: Path
    seconds: int = 0
    days: int = 0
    months: int = 0
    tz: str = "UTC"


Expr = Node | Bucket


@dataclass(frozen=True)
class Aliased:
    expr: Expr
    alias: str


@dataclass(frozen=True)
class AggregateItem:
    """`expr with method as alias`; expr None is `$count as alias` (the number of members)."""

    expr: Node | None
    method: str
    alias: str


@dataclass(frozen=True)
class Filter:
    condition: Node


@dataclass(frozen=True)
class Compute:
    items: tuple[Aliased, ...]


@dataclass(frozen=True)
class GroupBy:
    keys: tuple[Aliased, ...]
    aggregates: tuple[AggregateItem, ...] = ()


@dataclass(frozen=True)
class Aggregate:
    items: tuple[AggregateItem, ...]


@dataclass(frozen=True)
class Fill:
    start: datetime | None = None
    end: datetime | None = None


Transformation = Filter | Compute | GroupBy | Aggregate | Fill
Apply = tuple[Transformation, ...]


@dataclass(frozen=True)
class OrderBy:
    expr: Node
    descending: bool = False


@dataclass(frozen=True)
class Expand:
    """One navigation link to expand, with its own nested options. `$expand=A/B` is nested as
    Expand('A', Query(expand=(Expand('B'),)))."""

    link: str
    query: Query = field(default_factory=lambda: Query())  # noqa: PLW0108 - Query is defined below
    # The options as written (name -> text), for the nextLinks of expanded collections.
    options: tuple[tuple[str, str], ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class Query:
    """All query options of one level of a request."""

    filter: Node | None = None
    select: tuple[Path, ...] | None = None
    expand: tuple[Expand, ...] = ()
    orderby: tuple[OrderBy, ...] = ()
    top: int | None = None
    skip: int = 0
    count: bool | None = None
    result_format: str | None = None
    skiptoken: str | None = None
    apply: Apply | None = None  # $apply (parsed by query/apply.py), None when absent
