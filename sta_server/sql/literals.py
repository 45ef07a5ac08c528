"""$filter literals as bound parameters with their SensorThings type."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from geoalchemy2 import functions as geo
from sqlalchemy import Boolean, Date, DateTime, Double, Interval, Text, Time, literal, null

from sta_server.query import ast
from sta_server.sql.typed import SqlType, Typed


def _geometry(value: Any) -> Any:
    return geo.ST_GeomFromText(literal(value, Text), 4326)


_BUILDERS: dict[str, tuple[SqlType, Callable[[Any], Any]]] = {
    "string": ("string", lambda v: literal(v, Text)),
    "int": ("number", lambda v: literal(v, Double) if abs(v) >= 2**53 else literal(v)),
    "float": ("number", lambda v: literal(v, Double)),
    "decimal": ("number", lambda v: literal(float(v), Double)),
    "bool": ("bool", lambda v: literal(v, Boolean)),
    "null": ("null", lambda v: null()),
    "datetime": ("datetime", lambda v: literal(v, DateTime(timezone=True))),
    "date": ("date", lambda v: literal(v, Date)),
    "time": ("time", lambda v: literal(v, Time)),
    "duration": ("duration", lambda v: literal(v, Interval)),
    "geography": ("geometry", _geometry),
    "geometry": ("geometry", _geometry),
}


def compile_literal(node: ast.Literal) -> Typed:
    if node.kind == "interval":
        start, end = node.value
        return Typed(literal(start, DateTime(timezone=True)), "interval", end=literal(end, DateTime(timezone=True)))
    sql_type, build = _BUILDERS[node.kind]
    return Typed(build(node.value), sql_type)


