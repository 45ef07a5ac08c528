"""The OData / SensorThings $filter functions: one table of name -> (arity, SQL builder)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from geoalchemy2 import functions as geo
from sqlalchemy import (
    ColumnElement,
    Date,
    DateTime,
    Double,
    Integer,
    Numeric,
    Time,
    case,
    cast,
    extract,
    func,
    literal,
    null,
)

from sta_server.errors import InvalidQuery
from sta_server.sql import temporal
from sta_server.sql.typed import Typed, as_number, as_string, as_time

Builder = Callable[..., Typed]
# OData mindatetime()/maxdatetime(): the earliest and latest instants there are
_EARLIEST = datetime.min.replace(tzinfo=UTC)
_LATEST = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Function:
    min_args: int
    max_args: int
    build: Builder


def _s(value: Typed) -> Typed:
    return Typed(as_string(value), "string")


def _bool(expr: object) -> Typed:
    return Typed(expr, "bool")  # type: ignore[arg-type]


def _num(expr: object) -> Typed:
    return Typed(expr, "number")  # type: ignore[arg-type]


def _geom(value: Typed) -> object:
    if value.type != "geometry":
        raise InvalidQuery(f"Expected a geometry, got a {value.type}")
    return value.expr


def _utc(value: Typed) -> ColumnElement[Any]:
    return func.timezone("UTC", as_time(value))


def _part(field: str) -> Builder:
    return lambda t: _num(cast(extract(field, _utc(t)), Integer))


def _spatial(name: str) -> Function:
    sql = getattr(geo, name)
    return Function(2, 2, lambda a, b: _bool(sql(_geom(a), _geom(b))))


def _relation(name: str) -> Builder:
    return lambda a, b: _bool(temporal.relate(name, a, b))


def _offset_minutes(value: Typed) -> Typed:
    """Instants are stored and written in UTC: the offset is 0 (NULL for a missing time)."""
    return _num(case((as_time(value).is_(None), null()), else_=literal(0, Integer)))


def _round(value: Typed) -> Typed:
    """Half away from zero (as OData and Java): numeric rounding, not the double's half-to-even."""
    return _num(cast(func.round(cast(as_number(value), Numeric)), Double))


def _substring(s: Typed, start: Typed, length: Typed | None = None) -> Typed:
    begin = as_number(start) + 1
    if length is None:
        return Typed(func.substr(as_string(s), begin), "string")
    return Typed(func.substr(as_string(s), begin, as_number(length)), "string")


FUNCTIONS: dict[str, Function] = {
    # strings
    "substringof": Function(2, 2, lambda a, b: _bool(func.strpos(as_string(b), as_string(a)) > 0)),
    "contains": Function(2, 2, lambda a, b: _bool(func.strpos(as_string(a), as_string(b)) > 0)),
    "startswith": Function(2, 2, lambda a, b: _bool(func.starts_with(as_string(a), as_string(b)))),
    "endswith": Function(2, 2, lambda a, b: _bool(
        func.right(as_string(a), func.char_length(as_string(b))) == as_string(b))),
    "length": Function(1, 1, lambda a: _num(func.char_length(as_string(a)))),
    "indexof": Function(2, 2, lambda a, b: _num(func.strpos(as_string(a), as_string(b)) - 1)),
    "substring": Function(2, 3, _substring),
    "tolower": Function(1, 1, lambda a: Typed(func.lower(as_string(a)), "string")),
    "toupper": Function(1, 1, lambda a: Typed(func.upper(as_string(a)), "string")),
    "trim": Function(1, 1, lambda a: Typed(func.btrim(as_string(a)), "string")),
    "concat": Function(2, 2, lambda a, b: Typed(func.concat(as_string(a), as_string(b)), "string")),
    # date and time (instants are stored in UTC: totaloffsetminutes is 0)
    "year": Function(1, 1, _part("year")),
    "month": Function(1, 1, _part("month")),
    "day": Function(1, 1, _part("day")),
    "hour": Function(1, 1, _part("hour")),
    "minute": Function(1, 1, _part("minute")),
    "second": Function(1, 1, lambda t: _num(cast(func.floor(extract("second", _utc(t))), Integer))),
    "fractionalseconds": Function(1, 1, lambda t: _num(
        cast(extract("second", _utc(t)), Double) - func.floor(extract("second", _utc(t))))),
    "date": Function(1, 1, lambda t: Typed(cast(_utc(t), Date), "date")),
    "time": Function(1, 1, lambda t: Typed(cast(_utc(t), Time), "time")),
    "totaloffsetminutes": Function(1, 1, _offset_minutes),
    "now": Function(0, 0, lambda: Typed(func.now(), "datetime")),
    "mindatetime": Function(0, 0, lambda: Typed(literal(_EARLIEST, DateTime(timezone=True)), "datetime")),
    "maxdatetime": Function(0, 0, lambda: Typed(literal(_LATEST, DateTime(timezone=True)), "datetime")),
    # math
    "round": Function(1, 1, _round),
    "floor": Function(1, 1, lambda a: _num(func.floor(as_number(a)))),
    "ceiling": Function(1, 1, lambda a: _num(func.ceiling(as_number(a)))),
    # geospatial (planar, in the units of SRID 4326 — degrees — as FROST-Server does)
    "geo.intersects": _spatial("ST_Intersects"),
    "geo.length": Function(1, 1, lambda a: _num(geo.ST_Length(_geom(a)))),
    "geo.distance": Function(2, 2, lambda a, b: _num(geo.ST_Distance(_geom(a), _geom(b)))),
    "st_equals": _spatial("ST_Equals"),
    "st_disjoint": _spatial("ST_Disjoint"),
    "st_touches": _spatial("ST_Touches"),
    "st_within": _spatial("ST_Within"),
    "st_overlaps": _spatial("ST_Overlaps"),
    "st_crosses": _spatial("ST_Crosses"),
    "st_intersects": _spatial("ST_Intersects"),
    "st_contains": _spatial("ST_Contains"),
    "st_relate": Function(3, 3, lambda a, b, p: _bool(geo.ST_Relate(_geom(a), _geom(b), as_string(p)))),
    # temporal relations between instants and intervals (FROST-Server extension; see temporal.py)
    **{name: Function(2, 2, _relation(name)) for name in temporal.FUNCTIONS},
}


def call_function(name: str, args: list[Typed]) -> Typed:
    function = FUNCTIONS.get(name)
    if function is None:
        raise InvalidQuery(f"Unknown function '{name}'")
    if not function.min_args <= len(args) <= function.max_args:
        expected = (str(function.min_args) if function.min_args == function.max_args
                    else f"{function.min_args} to {function.max_args}")
        raise InvalidQuery(f"Function '{name}' takes {expected} arguments, got {len(args)}")
    return function.build(*args)
