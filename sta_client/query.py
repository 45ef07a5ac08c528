"""An immutable builder of SensorThings query options (`$filter`, `$expand` with nested options,
`$select`, `$orderby`, `$top`, `$skip`, `$count`, `$resultFormat`, `$apply`) and the literal helpers a caller
uses inside `$filter`, so no caller quotes strings or formats datetimes by hand."""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime


@dataclass(frozen=True)
class Query:
    filter_: str | None = None
    expands: tuple[tuple[str, Query | None], ...] = ()
    selects: tuple[str, ...] = ()
    orderbys: tuple[str, ...] = ()
    top_: int | None = None
    skip_: int | None = None
    count_: bool | None = None
    result_format_: str | None = None
    apply_: str | None = None

    def filter(self, expression: str) -> Query:
        """`$filter`; a second call joins both with `and`."""
        joined = expression if self.filter_ is None else f"({self.filter_}) and ({expression})"
        return replace(self, filter_=joined)

    def expand(self, navigation: str, options: Query | None = None) -> Query:
        return replace(self, expands=(*self.expands, (navigation, options)))

    def select(self, *names: str) -> Query:
        return replace(self, selects=(*self.selects, *names))

    def orderby(self, *clauses: str) -> Query:
        """`orderby("phenomenonTime desc", "id")`"""
        return replace(self, orderbys=(*self.orderbys, *clauses))

    def top(self, n: int) -> Query:
        if n < 0:
            raise ValueError("$top must not be negative")
        return replace(self, top_=n)

    def skip(self, n: int) -> Query:
        if n < 0:
            raise ValueError("$skip must not be negative")
        return replace(self, skip_=n)

    def count(self, on: bool = True) -> Query:
        return replace(self, count_=on)

    def result_format(self, name: str) -> Query:
        """`dataArray`, `GeoJSON`, `CSV`, `SenML`."""
        return replace(self, result_format_=name)

    def apply(self, transformations: str) -> Query:
        """`$apply` (docs/aggregation.md), e.g. `groupby((bucket(phenomenonTime,'PT1H')),aggregate(…))`."""
        return replace(self, apply_=transformations)

    def options(self) -> list[tuple[str, str]]:
        """The options in a fixed order, as (name, value)."""
        found: list[tuple[str, str]] = []
        if self.filter_ is not None:
            found.append(("$filter", self.filter_))
        if self.expands:
            found.append(("$expand", ",".join(_render_expand(name, query) for name, query in self.expands)))
        if self.selects:
            found.append(("$select", ",".join(self.selects)))
        if self.orderbys:
            found.append(("$orderby", ",".join(self.orderbys)))
        if self.top_ is not None:
            found.append(("$top", str(self.top_)))
        if self.skip_ is not None:
            found.append(("$skip", str(self.skip_)))
        if self.count_ is not None:
            found.append(("$count", "true" if self.count_ else "false"))
        if self.result_format_ is not None:
            found.append(("$resultFormat", self.result_format_))
        if self.apply_ is not None:
            found.append(("$apply", self.apply_))
        return found

    def params(self) -> dict[str, str]:
        """Query-string parameters for an HTTP request (the HTTP client encodes them)."""
        return dict(self.options())

    def nested(self) -> str:
        """The options inside `$expand=Name(...)`: `;`-separated, not URL-encoded."""
        return ";".join(f"{name}={value}" for name, value in self.options())


def _render_expand(navigation: str, query: Query | None) -> str:
    if query is None or not query.options():
        return navigation
    return f"{navigation}({query.nested()})"


def string_literal(value: str) -> str:
    """An OData string literal: `O'Brien` -> `'O''Brien'`."""
    return "'" + value.replace("'", "''") + "'"


def datetime_literal(value: datetime) -> str:
    """An ISO 8601 literal in UTC (`2026-05-01T10:00:00Z`); naive datetimes are refused."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("a datetime literal needs a time zone")
    text = value.astimezone(UTC).isoformat(timespec="microseconds" if value.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def literal(value: str | int | float | bool | datetime | None) -> str:
    """Any literal of a `$filter`: strings quoted, datetimes in UTC, `true`/`false`/`null`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return datetime_literal(value)
    if isinstance(value, str):
        return string_literal(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("NaN and infinities have no OData literal")
    return repr(value) if isinstance(value, float) else str(value)
