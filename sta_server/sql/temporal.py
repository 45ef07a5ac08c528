"""Relations between instants and intervals, as FROST-Server (and the OGC test suites) define them.

Every time value is taken as (start, end): an instant is (t, t), an interval [start, end) is
half-open. `a lt b` means a is wholly before b (`before`), `a gt b` wholly after (`after`);
`le`/`ge` compare both ends; `eq` needs both ends equal. The extra start comparisons in `lt`/`gt`
keep an instant from being before itself, and let an index on the start column serve them.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, and_, not_, or_

from sta_server.errors import InvalidQuery
from sta_server.sql.typed import Typed, as_time, interval_end

Bounds = tuple[ColumnElement[Any], ColumnElement[Any]]
Relation = Callable[[Bounds, Bounds], ColumnElement[bool]]


def bounds(value: Typed) -> Bounds:
    """(start, end) of a time value; an instant's end is its start."""
    return as_time(value), interval_end(value)


def before(a: Bounds, b: Bounds) -> ColumnElement[bool]:
    return and_(a[1] <= b[0], a[0] < b[0])


def after(a: Bounds, b: Bounds) -> ColumnElement[bool]:
    return and_(a[0] >= b[1], a[0] > b[0])


def _equal(a: Bounds, b: Bounds) -> ColumnElement[bool]:
    return and_(a[0] == b[0], a[1] == b[1])


def meets(a: Bounds, b: Bounds) -> ColumnElement[bool]:
    return or_(a[0] == b[1], a[1] == b[0])


def overlaps(a: Bounds, b: Bounds) -> ColumnElement[bool]:
    """They share a moment: an instant overlaps an interval it lies in (its end excluded)."""
    return or_(and_(a[0] < b[1], b[0] < a[1]), a[0] == b[0])


def during(a: Bounds, b: Bounds) -> ColumnElement[bool]:
    """a lies in b: b starts no later and ends after a starts and no earlier than a ends."""
    return and_(b[0] <= a[0], b[1] > a[0], b[1] >= a[1])


COMPARISONS: dict[str, Relation] = {
    "lt": before,
    "gt": after,
    "le": lambda a, b: and_(a[0] <= b[0], a[1] <= b[1]),
    "ge": lambda a, b: and_(a[0] >= b[0], a[1] >= b[1]),
    "eq": _equal,
    "ne": lambda a, b: not_(_equal(a, b)),
}

FUNCTIONS: dict[str, Relation] = {
    "before": before,
    "after": after,
    "meets": meets,
    "overlaps": overlaps,
    "during": during,
    "starts": lambda a, b: a[0] == b[0],
    "finishes": lambda a, b: a[1] == b[1],
}


def relate(name: str, a: Typed, b: Typed) -> ColumnElement[bool]:
    """One of FUNCTIONS; `during(x, t)` with an instant `t` is refused (nothing lies in an instant)."""
    if name == "during" and b.type in ("datetime", "date"):
        raise InvalidQuery("during() needs an interval as its second argument, got an instant")
    return FUNCTIONS[name](bounds(a), bounds(b))
