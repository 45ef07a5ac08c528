"""$filter literal tokens (filter.lark terminals) to ast.Literal values.

Datetimes without offset are taken as UTC; durations with years or months are refused (they have
no fixed length); an interval `start/end` must not end before it starts; geography/geometry
literals must be WKT with finite coordinates.
"""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import numpy
import shapely
from lark import Token

from sta_server.model.geometry import geometry_problem
from sta_server.query.ast import Literal

_DURATION = re.compile(
    r"(?P<sign>-)?P(?:(?P<weeks>\d+(?:\.\d+)?)W)?(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?"
)
_YEAR_MONTH = re.compile(r"-?P(?:[^T]*[YM])")
_SRID = re.compile(r"^\s*SRID=\d+\s*;\s*", re.IGNORECASE)


class NodeError(Exception):
    """A semantic problem found while building the AST; parser.py turns it into InvalidQuery."""

    def __init__(self, what: str, token: Token, detail: str = "") -> None:
        super().__init__(what)
        self.what = what
        self.pos = token.start_pos or 0
        self.detail = detail


def _duration(token: Token) -> timedelta:
    text = token[len("duration'") : -1].strip()
    match = _DURATION.fullmatch(text)
    if match is None or text.rstrip("T").endswith("P"):
        if _YEAR_MONTH.match(text):
            raise NodeError(f"Invalid duration '{text}'", token, "years and months are not fixed durations")
        raise NodeError(f"Invalid duration '{text}'", token)
    parts = {k: float(v) for k, v in match.groupdict().items() if v is not None and k != "sign"}
    value = timedelta(**parts)
    return -value if match["sign"] else value


def _datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _interval(token: Token) -> tuple[datetime, datetime]:
    start, end = (_datetime(part) for part in str(token).split("/"))
    if end < start:
        raise NodeError(f"Invalid interval '{token!s}'", token, "it ends before it starts")
    return start, end


def _geo(token: Token) -> Literal:
    kind, _, rest = str(token).partition("'")
    wkt = _SRID.sub("", rest[:-1]).strip()
    if not wkt:
        raise NodeError(f"Empty {kind} literal", token)
    try:
        with numpy.errstate(all="ignore"):  # 1e400 overflows to inf: refused below, no warning
            shape = shapely.from_wkt(wkt)
    except shapely.errors.ShapelyError as error:
        raise NodeError(f"Invalid {kind} literal", token, str(error)) from None
    problem = geometry_problem(shape)
    if problem is not None:
        raise NodeError(f"Invalid {kind} literal", token, problem)
    return Literal(wkt, "geography" if kind == "geography" else "geometry")


def literal_of(token: Token) -> Literal:
    """The Literal of a literal token; ValueError for out-of-range dates, times and integers."""
    kind = token.type
    text = str(token)
    if kind == "STRING":
        return Literal(text[1:-1].replace("''", "'"), "string")
    if kind in ("INT", "FLOAT"):
        return Literal(int(text), "int") if kind == "INT" else Literal(float(text), "float")
    if kind == "BOOL":
        return Literal(text == "true", "bool")
    if kind == "NULL":
        return Literal(None, "null")
    if kind == "GEO":
        return _geo(token)
    if kind == "DURATION":
        return Literal(_duration(token), "duration")
    if kind == "INTERVAL":
        return Literal(_interval(token), "interval")
    if kind == "DATETIME":
        return Literal(_datetime(text), "datetime")
    if kind == "DATE":
        return Literal(date.fromisoformat(text), "date")
    return Literal(time.fromisoformat(text), "time")
