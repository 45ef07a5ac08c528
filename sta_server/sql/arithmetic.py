"""add sub mul div mod on numbers, and date/time arithmetic with durations."""
from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Double, Numeric, cast, func

from sta_server.errors import InvalidQuery
from sta_server.sql.typed import Typed, as_number, as_time

_TIME = {"datetime", "interval", "date"}


def arithmetic(op: str, left: Typed, right: Typed) -> Typed:
    if left.type in _TIME or right.type in _TIME or "duration" in (left.type, right.type):
        return _time_arithmetic(op, left, right)
    a, b = as_number(left), as_number(right)
    if op == "add":
        return Typed(a + b, "number")
    if op == "sub":
        return Typed(a - b, "number")
    if op == "mul":
        return Typed(a * b, "number")
    if op == "div":
        return Typed(cast(a, Double) / func.nullif(b, 0), "number")
    return Typed(cast(func.mod(cast(a, Numeric), cast(b, Numeric)), Double), "number")


def _time_arithmetic(op: str, left: Typed, right: Typed) -> Typed:
    """A duration shifts an interval (both ends); elsewhere an interval stands for its start."""
    if op in ("add", "sub") and left.type == "interval" and right.type == "duration":
        return _shifted(left, op, right.expr)
    if op == "add" and left.type == "duration" and right.type == "interval":
        return _shifted(right, op, left.expr)
    if op == "add" and left.type in _TIME and right.type == "duration":
        return Typed(as_time(left) + right.expr, "datetime")
    if op == "add" and left.type == "duration" and right.type in _TIME:
        return Typed(as_time(right) + left.expr, "datetime")
    if op == "sub" and left.type in _TIME and right.type == "duration":
        return Typed(as_time(left) - right.expr, "datetime")
    if op == "sub" and left.type in _TIME and right.type in _TIME:
        return Typed(as_time(left) - as_time(right), "duration")
    if op in ("add", "sub") and left.type == right.type == "duration":
        return Typed(left.expr + right.expr if op == "add" else left.expr - right.expr, "duration")
    raise InvalidQuery(f"'{op}' is not defined between a {left.type} and a {right.type}")


def _shifted(interval: Typed, op: str, by: ColumnElement[Any]) -> Typed:
    """The interval moved later (add) or earlier (sub) by a duration; an instant stays an instant."""
    def move(moment: ColumnElement[Any]) -> ColumnElement[Any]:
        return moment + by if op == "add" else moment - by

    return Typed(move(interval.expr), "interval", end=None if interval.end is None else move(interval.end))
