"""Parse `$apply` (OData Data Aggregation Extension, the parts SensorThings users need) into an AST.

A value is a `/`-separated sequence of transformations, applied left to right:

* `filter(<$filter expression>)` (only before the first grouping: it filters entities)
* `compute(<expr> as <alias>, ...)`
* `aggregate(<expr> with <method> as <alias>, ..., $count as <alias>)`
* `groupby((<key>, ...)[, aggregate(...)])`; a key is a member path or
  `bucket(<time path>, '<ISO 8601 duration>'[, '<IANA time zone>'])`, optionally `as <alias>`
* `fill()` / `fill(<start>, <end>)`: empty time buckets as rows of nulls (docs/aggregation.md)

Expressions reuse the $filter grammar (parser.py); the structure around them is split here by
hand at top-level commas and slashes. Every problem raises InvalidQuery (target `$apply`).
"""
from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sta_server.errors import InvalidQuery
from sta_server.query.ast import (
    Aggregate,
    AggregateItem,
    Aliased,
    Apply,
    Bucket,
    Call,
    Compute,
    Fill,
    Filter,
    GroupBy,
    Literal,
    Node,
    Path,
    Transformation,
)
from sta_server.query.parser import parse_filter
from sta_server.query.splitting import SplitError, split_outside

METHODS = frozenset({"sum", "average", "min", "max", "count", "countdistinct", "timeweighted", "delta"})
_CALL = re.compile(r"\s*([A-Za-z]+)\s*\((.*)\)\s*", re.DOTALL)
_AS = re.compile(r"^(.*\S)\s+as\s+([A-Za-z_][A-Za-z0-9_]*)\s*$", re.DOTALL)
_WITH = re.compile(r"^(.*\S)\s+with\s+([A-Za-z]+)\s+as\s+([A-Za-z_][A-Za-z0-9_]*)\s*$", re.DOTALL)
_COUNT = re.compile(r"^\s*\$count\s+as\s+([A-Za-z_][A-Za-z0-9_]*)\s*$")
_STRIDE = re.compile(r"^P(?:(\d+)([YMWD]))?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")
_MONTHS = {"Y": 12, "M": 1}


def _fail(message: str) -> InvalidQuery:
    return InvalidQuery(f"$apply: {message}", target="$apply")


def split_top(text: str, sep: str) -> list[str]:
    """Split at `sep` outside parentheses and single-quoted strings."""
    try:
        return [piece for piece, _ in split_outside(text, sep)]
    except SplitError as error:
        raise _fail(f"{error.message.lower()} at position {error.position + 1}") from None


def _expression(text: str) -> Node:
    try:
        return parse_filter(text)
    except InvalidQuery as error:
        raise _fail(f"in '{text.strip()}': {error.message}") from None


def _bucket_stride(text: str) -> dict[str, int]:
    match = _STRIDE.match(text)
    if not match or text in ("P", "PT"):
        raise _fail(f"'{text}' is not a bucket duration (use e.g. 'PT15M', 'PT1H', 'P1D', 'P1M')")
    amount, unit, hours, minutes, seconds = match.groups()
    clock = int(hours or 0) * 3600 + int(minutes or 0) * 60 + int(seconds or 0)
    if unit is None:
        if clock <= 0:
            raise _fail(f"bucket duration '{text}' must be positive")
        return {"seconds": clock}
    if clock or int(amount) <= 0:
        raise _fail(f"bucket duration '{text}': combine days, weeks, months or years with nothing else")
    if unit in _MONTHS:
        months = int(amount) * _MONTHS[unit]
        if months not in (1, 3, 12):
            raise _fail(f"bucket duration '{text}': calendar buckets are P1M, P3M or P1Y")
        return {"months": months}
    return {"days": int(amount) * (7 if unit == "W" else 1)}


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise _fail(f"unknown time zone '{name}'") from None
    return name


def as_bucket(node: Node) -> Bucket | None:
    """A `bucket(time, 'duration'[, 'zone'])` call as a Bucket; None for any other node."""
    if not isinstance(node, Call) or node.name != "bucket":
        return None
    args = node.args
    if not 2 <= len(args) <= 3 or not isinstance(args[0], Path):
        raise _fail("bucket() takes a time property, a duration and optionally a time zone")
    texts = [a.value for a in args[1:] if isinstance(a, Literal) and a.kind == "string"]
    if len(texts) != len(args) - 1:
        raise _fail("the duration and time zone of bucket() are quoted strings: 'PT1H', 'Europe/Rome'")
    tz = _zone(texts[1]) if len(texts) > 1 else "UTC"
    return Bucket(args[0], tz=tz, **_bucket_stride(texts[0]))


def _aliased(text: str, *, required: bool) -> Aliased:
    match = _AS.match(text)
    if match is None and required:
        raise _fail(f"'{text.strip()}' needs 'as <alias>'")
    body = match.group(1) if match else text
    node = _expression(body)
    bucket = as_bucket(node)
    if match:
        return Aliased(bucket or node, match.group(2))
    if bucket is not None:
        return Aliased(bucket, bucket.time.segments[-1])
    if not isinstance(node, Path):
        raise _fail(f"group by a member path or bucket(), or give '{body.strip()}' an alias")
    return Aliased(node, "/".join(node.segments))


def _aggregate_item(text: str) -> AggregateItem:
    count = _COUNT.match(text)
    if count:
        return AggregateItem(None, "count", count.group(1))
    match = _WITH.match(text)
    if match is None:
        raise _fail(f"expected '<expression> with <method> as <alias>', found '{text.strip()}'")
    method = match.group(2)
    if method not in METHODS:
        raise _fail(f"unknown aggregation method '{method}' (use {', '.join(sorted(METHODS))})")
    return AggregateItem(_expression(match.group(1)), method, match.group(3))


def _call(text: str) -> tuple[str, str]:
    match = _CALL.fullmatch(text)
    if match is None:
        raise _fail(f"expected a transformation such as groupby(...), found '{text.strip()}'")
    return match.group(1), match.group(2)


def _items(body: str) -> list[str]:
    items = split_top(body, ",")
    if not all(item.strip() for item in items):
        raise _fail(f"empty item in '{body}'")
    return items


def _groupby(body: str) -> GroupBy:
    parts = split_top(body, ",")
    keys_text = parts[0].strip()
    if not (keys_text.startswith("(") and keys_text.endswith(")")) or len(parts) > 2:
        raise _fail("groupby takes a parenthesised list of keys and optionally an aggregate(...)")
    keys = tuple(_aliased(item, required=False) for item in _items(keys_text[1:-1]))
    if len(parts) == 1:
        return GroupBy(keys)
    name, inner = _call(parts[1])
    if name != "aggregate":
        raise _fail(f"groupby's second argument must be aggregate(...), not {name}(...)")
    return GroupBy(keys, tuple(_aggregate_item(item) for item in _items(inner)))


def _fill(body: str) -> Fill:
    if not body.strip():
        return Fill()
    bounds = [_instant(_expression(item)) for item in _items(body)]
    if len(bounds) != 2:
        raise _fail("fill takes no arguments or a start and an end datetime")
    return Fill(bounds[0], bounds[1])


def _instant(node: Node) -> datetime:
    """A datetime literal, bare (2026-03-29T00:00:00+01:00) or quoted; no offset means UTC."""
    if isinstance(node, Literal) and node.kind == "datetime":
        return node.value  # type: ignore[no-any-return]
    if isinstance(node, Literal) and node.kind == "string":
        try:
            value = datetime.fromisoformat(node.value)
        except ValueError:
            raise _fail(f"'{node.value}' is not a datetime") from None
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    raise _fail("fill takes no arguments or a start and an end datetime")


def _transformation(text: str) -> Transformation:
    name, body = _call(text)
    if name == "filter":
        return Filter(_expression(body))
    if name == "compute":
        return Compute(tuple(_aliased(item, required=True) for item in _items(body)))
    if name == "aggregate":
        return Aggregate(tuple(_aggregate_item(item) for item in _items(body)))
    if name == "groupby":
        return _groupby(body)
    if name == "fill":
        return _fill(body)
    raise _fail(f"unknown transformation '{name}' (use filter, compute, groupby, aggregate, fill)")


def parse_apply(text: str) -> Apply:
    """Parse a `$apply` value; see the module docstring for the grammar."""
    if not text.strip():
        raise _fail("empty")
    steps = tuple(_transformation(piece) for piece in split_top(text, "/"))
    _check_aliases(steps)
    return steps


def _check_aliases(steps: Apply) -> None:
    for step in steps:
        names: list[str] = []
        if isinstance(step, GroupBy):
            names = [k.alias for k in step.keys] + [a.alias for a in step.aggregates]
        elif isinstance(step, Aggregate):
            names = [a.alias for a in step.items]
        elif isinstance(step, Compute):
            names = [c.alias for c in step.items]
        duplicate = next((n for n in names if names.count(n) > 1), None)
        if duplicate is not None:
            raise _fail(f"the name '{duplicate}' is used twice in one transformation")
