"""SQL expressions with the SensorThings type they stand for, and the coercions between types."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Boolean, ColumnElement, Double, Text, case, cast, func, literal, null, type_coerce
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from sta_server.errors import InvalidQuery

SqlType = Literal[
    "number", "string", "bool", "datetime", "date", "time", "duration", "geometry", "json",
    "interval", "result", "null",
]


@dataclass(frozen=True)
class Typed:
    """`expr` is the value; intervals also carry `end` (NULL end means an instant); results carry
    `json` (the non-numeric part) beside `expr` (the numeric part)."""

    expr: ColumnElement[Any]
    type: SqlType
    end: ColumnElement[Any] | None = None
    json: ColumnElement[Any] | None = None


def as_number(value: Typed) -> ColumnElement[Any]:
    if value.type in ("number", "null"):
        return value.expr
    if value.type == "result":
        return value.expr
    if value.type == "json":
        return json_number(value.expr)
    raise InvalidQuery(f"Expected a number, got a {value.type}")


def as_string(value: Typed) -> ColumnElement[Any]:
    if value.type in ("string", "null"):
        return value.expr
    if value.type == "json":
        return json_text(value.expr)
    if value.type == "result":
        assert value.json is not None
        return func.coalesce(json_text(value.json), cast(value.expr, Text))
    raise InvalidQuery(f"Expected a string, got a {value.type}")


def as_bool(value: Typed) -> ColumnElement[Any]:
    if value.type in ("bool", "null"):
        return value.expr
    if value.type in ("json", "result"):
        source = value.json if value.type == "result" else value.expr
        assert source is not None
        return case((func.jsonb_typeof(source) == "boolean", json_text(source) == "true"))
    raise InvalidQuery(f"Expected a boolean, got a {value.type}")


def as_time(value: Typed) -> ColumnElement[Any]:
    """A datetime-valued expression (an interval stands for its start)."""
    if value.type in ("datetime", "interval", "null", "date"):
        return value.expr
    if value.type in ("json", "result"):
        return func.to_timestamp(as_string(value), 'YYYY-MM-DD"T"HH24:MI:SS')
    raise InvalidQuery(f"Expected a date/time, got a {value.type}")


def interval_end(value: Typed) -> ColumnElement[Any]:
    if value.type == "interval" and value.end is not None:
        return func.coalesce(value.end, value.expr)
    return as_time(value)


def as_jsonb(value: Typed) -> ColumnElement[Any]:
    """A value as JSON (for containment in a JSON array): JSON members as they are, others via to_jsonb."""
    if value.type == "json":
        return value.expr
    if value.type == "result" and value.json is not None:
        return func.coalesce(value.json, func.to_jsonb(value.expr))
    sql_types = {"number": Double, "string": Text, "bool": Boolean}
    if value.type not in sql_types:
        raise InvalidQuery(f"Expected a number, string or boolean, got a {value.type}")
    return func.to_jsonb(cast(value.expr, sql_types[value.type]))


def json_text(expr: ColumnElement[Any]) -> ColumnElement[Any]:
    """A JSON value's text (strings unquoted), NULL for objects and arrays."""
    return type_coerce(expr, JSONB).op("#>>")(literal([], type_=_text_array()))


def json_number(expr: ColumnElement[Any]) -> ColumnElement[Any]:
    """A JSON number as double precision; other JSON values are NULL (never an error)."""
    return case((func.jsonb_typeof(expr) == "number", cast(json_text(expr), Double)), else_=null())


def _text_array() -> Any:
    return ARRAY(Text)
