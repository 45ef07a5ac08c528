"""eq ne gt ge lt le between typed values, with the SensorThings rules for time intervals and the
loose typing of JSON members and Observation results."""
from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from geoalchemy2 import functions as geo
from sqlalchemy import ColumnElement, and_, case, func, not_, or_

from sta_server.errors import InvalidQuery
from sta_server.sql.temporal import COMPARISONS, bounds
from sta_server.sql.typed import Typed, as_bool, as_number, as_string, as_time, json_number, json_text

_OPS: dict[str, Callable[[Any, Any], ColumnElement[bool]]] = {
    "eq": operator.eq, "ne": operator.ne, "gt": operator.gt, "ge": operator.ge,
    "lt": operator.lt, "le": operator.le,
}
_TIME_TYPES = {"datetime", "interval", "date"}
_LOOSE = {"json", "result"}


def compare(op: str, left: Typed, right: Typed) -> ColumnElement[bool]:
    if left.type == "null" or right.type == "null":
        return _compare_null(op, right if left.type == "null" else left)
    types = {left.type, right.type}
    if "interval" in types and types <= _TIME_TYPES | _LOOSE:
        return COMPARISONS[op](bounds(left), bounds(right))
    domain = _domain(left, right)
    if domain == "jsonb":
        return _compare_json(op, left.expr, right.expr)
    if domain == "geometry" and op in ("eq", "ne"):
        equal = geo.ST_Equals(left.expr, right.expr)
        return equal if op == "eq" else not_(equal)
    coerce = _COERCIONS.get(domain)
    if coerce is None:
        raise InvalidQuery(f"Cannot compare a {left.type} with a {right.type} using '{op}'")
    return _OPS[op](coerce(left), coerce(right))


def _domain(left: Typed, right: Typed) -> str:
    """The type both sides are compared as: the strict side decides for JSON and results."""
    if left.type in _LOOSE and right.type in _LOOSE:
        return "number" if "result" in (left.type, right.type) else "jsonb"
    if left.type in _LOOSE:
        return right.type
    if right.type in _LOOSE:
        return left.type
    if {left.type, right.type} <= {"datetime", "date"}:
        return "datetime"
    if left.type != right.type:
        raise InvalidQuery(f"Cannot compare a {left.type} with a {right.type}")
    return left.type


_COERCIONS: dict[str, Callable[[Typed], ColumnElement[Any]]] = {
    "number": as_number,
    "string": as_string,
    "bool": as_bool,
    "datetime": as_time,
    "time": lambda v: v.expr,
    "duration": lambda v: v.expr,
}


def _compare_null(op: str, value: Typed) -> ColumnElement[bool]:
    """`x eq null`: SQL NULL, a missing JSON member, or a JSON null (`{"a": null}`, a null result)."""
    if op not in ("eq", "ne"):
        raise InvalidQuery(f"null can only be compared with eq or ne, not '{op}'")
    if value.type == "result" and value.json is not None:
        is_null = and_(value.expr.is_(None), _json_null(value.json))
    elif value.type == "json":
        is_null = _json_null(value.expr)
    else:
        is_null = value.expr.is_(None)
    return is_null if op == "eq" else not_(is_null)


def _json_null(expr: ColumnElement[Any]) -> ColumnElement[bool]:
    return or_(expr.is_(None), func.jsonb_typeof(expr) == "null")


def _compare_json(op: str, left: ColumnElement[Any], right: ColumnElement[Any]) -> ColumnElement[bool]:
    """Two JSON members: as numbers when both are numbers, else by their text (as FROST-Server
    does, so the string "true" equals the boolean true); objects and arrays by their JSON text."""
    both_numbers = and_(func.jsonb_typeof(left) == "number", func.jsonb_typeof(right) == "number")
    as_numbers = _OPS[op](json_number(left), json_number(right))
    return case((both_numbers, as_numbers), else_=_OPS[op](json_text(left), json_text(right)))
