"""The query options of a request ($filter, $select, $expand, ...) as one ast.Query.

parse_query() serves the request's own parameters and, recursively, the `;`-separated options
nested in `$expand=Datastreams($filter=...;$top=2;$expand=Observations($orderby=phenomenonTime desc))`.
Values arrive percent-decoded. Every problem raises InvalidQuery.

$expand decisions: `A/B` becomes Expand('A', Query(expand=(Expand('B'),))); links repeated at one
level are merged into one Expand (their nested $expand lists are concatenated, their other options
must not conflict); links keep the order of their first appearance. default_top and max_top apply
at every nesting level. `max_expand_depth` bounds the nesting (`A/B/C` is 3 deep, as is
`A($expand=B($expand=C))`); whatever the caller asks, EXPAND_DEPTH_CEILING holds, so hostile
nesting is refused before it recurses far.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from sta_server.errors import InvalidQuery
from sta_server.query.apply import parse_apply
from sta_server.query.ast import Expand, Query
from sta_server.query.parser import parse_filter, parse_orderby, parse_select
from sta_server.query.splitting import SplitError, split_outside

KNOWN_OPTIONS = frozenset(
    {"$filter", "$select", "$expand", "$orderby", "$top", "$skip", "$count", "$resultFormat", "$skiptoken",
     "$apply"}
)
_LINK = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"\d+")
EXPAND_DEPTH_CEILING = 32


@dataclass
class _Link:
    """The raw items of one navigation link at one $expand level, before merging."""

    options: dict[str, str] = field(default_factory=dict)
    nested: list[str] = field(default_factory=list)


def _error(what: str, pos: int, text: str) -> InvalidQuery:
    return InvalidQuery(f'{what} at position {pos + 1} in $expand: "{text}"', target="$expand")


def _non_negative(options: Mapping[str, str], name: str) -> int | None:
    if name not in options:
        return None
    value = options[name].strip()
    if not _NUMBER.fullmatch(value):
        raise InvalidQuery(f"{name} must be a non-negative integer, not '{options[name]}'", target=name)
    return int(value)


def _count(options: Mapping[str, str]) -> bool | None:
    if "$count" not in options:
        return None
    value = options["$count"].strip()
    if value not in ("true", "false"):
        raise InvalidQuery(f"$count must be true or false, not '{options['$count']}'", target="$count")
    return value == "true"


def _text(options: Mapping[str, str], name: str) -> str | None:
    if name not in options:
        return None
    value = options[name].strip()
    if not value:
        raise InvalidQuery(f"Empty {name}", target=name)
    return value


def _top(options: Mapping[str, str], default_top: int | None, max_top: int | None) -> int | None:
    top = _non_negative(options, "$top")
    if top is None:
        return default_top
    if max_top is not None and top > max_top:
        raise InvalidQuery(f"$top={top} exceeds the maximum of {max_top}", target="$top")
    return top


def parse_query(
    params: Mapping[str, str], *, default_top: int | None = None, max_top: int | None = None,
    max_expand_depth: int | None = None,
) -> Query:
    """Build the Query of one level from its options; parameters not starting with `$` are ignored."""
    return _parse_level(params, _Limits.of(default_top, max_top, max_expand_depth), 0)


@dataclass(frozen=True)
class _Limits:
    default_top: int | None
    max_top: int | None
    max_expand_depth: int

    @classmethod
    def of(cls, default_top: int | None, max_top: int | None, max_expand_depth: int | None) -> _Limits:
        depth = min(max_expand_depth or EXPAND_DEPTH_CEILING, EXPAND_DEPTH_CEILING)
        return cls(default_top, max_top, depth)


def _parse_level(params: Mapping[str, str], limits: _Limits, depth: int) -> Query:
    """One level of parse_query, `depth` $expand levels below the request."""
    options = {name: value for name, value in params.items() if name.startswith("$")}
    unknown = sorted(set(options) - KNOWN_OPTIONS)
    if unknown:
        raise InvalidQuery(f"Unknown query option '{unknown[0]}'", target=unknown[0])
    expand = options.get("$expand")
    return Query(
        filter=parse_filter(options["$filter"]) if "$filter" in options else None,
        select=parse_select(options["$select"]) if "$select" in options else None,
        expand=() if expand is None else _parse_expand(expand, limits, depth + 1),
        orderby=parse_orderby(options["$orderby"]) if "$orderby" in options else (),
        top=_top(options, limits.default_top, limits.max_top),
        skip=_non_negative(options, "$skip") or 0,
        count=_count(options),
        result_format=_text(options, "$resultFormat"),
        skiptoken=_text(options, "$skiptoken"),
        apply=parse_apply(options["$apply"]) if "$apply" in options else None,
    )


def _split_outside(text: str, sep: str) -> list[tuple[str, int]]:
    """`split_outside` with its errors as InvalidQuery pointing into the $expand text."""
    try:
        return split_outside(text, sep)
    except SplitError as error:
        raise _error(error.message, error.position, text) from None


def _item_options(body: str, offset: int, text: str) -> dict[str, str]:
    """`$select=name;$top=1` (the inside of `Link(...)`) as a dict of options."""
    options: dict[str, str] = {}
    for piece, at in _split_outside(body, ";"):
        name, equals, value = piece.partition("=")
        name = name.strip()
        pos = offset + at + len(piece) - len(piece.lstrip())
        if not name.startswith("$") or not equals:
            raise _error(f"Expected '$option=value', found '{piece.strip()}'", pos, text)
        if name in options:
            raise _error(f"Duplicate option '{name}'", pos, text)
        options[name] = value.strip()
    return options


def _closing(item: str, opening: int) -> int:
    """Index of the `)` matching the `(` at `opening` (the item is known to be balanced)."""
    depth, quoted = 0, False
    for i in range(opening, len(item)):
        if item[i] == "'":
            quoted = not quoted
        elif not quoted and item[i] in "()":
            depth += 1 if item[i] == "(" else -1
            if depth == 0:
                return i
    return len(item)  # pragma: no cover - _split_outside() has checked the balance


def _split_item(item: str, offset: int, text: str) -> tuple[list[str], tuple[str, int] | None]:
    """`Datastreams/Sensor($select=name)` → (['Datastreams', 'Sensor'], ('$select=name', its offset))."""
    opening = item.find("(")
    path = item if opening < 0 else item[:opening]
    body: tuple[str, int] | None = None
    if opening >= 0:
        closing = _closing(item, opening)
        if item[closing + 1 :].strip():
            raise _error(f"Unexpected '{item[closing + 1 :].strip()}' after ')'", offset + closing + 1, text)
        body = (item[opening + 1 : closing], offset + opening + 1)
        if not body[0].strip():
            raise _error("Empty options", offset + opening + 1, text)
    segments: list[str] = []
    at = offset
    for raw in path.split("/"):
        segment = raw.strip()
        if not _LINK.fullmatch(segment):
            shown = f"Invalid navigation link '{segment}'" if segment else "Missing navigation link"
            raise _error(shown, at + len(raw) - len(raw.lstrip()), text)
        segments.append(segment)
        at += len(raw) + 1
    return segments, body


def _group(text: str) -> dict[str, _Link]:
    links: dict[str, _Link] = {}
    for item, at in _split_outside(text, ","):
        offset = at + len(item) - len(item.lstrip())
        segments, body = _split_item(item.strip(), offset, text)
        link = links.setdefault(segments[0], _Link())
        if len(segments) > 1:
            link.nested.append(item.strip().split("/", 1)[1])
            continue
        for name, value in ({} if body is None else _item_options(*body, text)).items():
            if name == "$expand" and name in link.options:
                link.nested.append(value)
            elif link.options.setdefault(name, value) != value:
                raise _error(f"Conflicting {name} for '{segments[0]}'", offset, text)
    return links


def parse_expand_option(
    text: str, *, default_top: int | None = None, max_top: int | None = None,
    max_expand_depth: int | None = None,
) -> tuple[Expand, ...]:
    """Parse a $expand value into Expand nodes (merging repeated links); see the module docstring."""
    return _parse_expand(text, _Limits.of(default_top, max_top, max_expand_depth), 1)


def _parse_expand(text: str, limits: _Limits, depth: int) -> tuple[Expand, ...]:
    """The Expand nodes of one $expand value at `depth` (1: the request's own $expand)."""
    if depth > limits.max_expand_depth:
        raise InvalidQuery(f"$expand nests deeper than the maximum of {limits.max_expand_depth} levels",
                           target="$expand")
    if not text.strip():
        raise InvalidQuery("Empty $expand", target="$expand")
    expands = []
    for name, link in _group(text).items():
        options = dict(link.options)
        if link.nested:
            own = [options["$expand"]] if "$expand" in options else []
            options["$expand"] = ",".join([*own, *link.nested])
        query = _parse_level(options, limits, depth)
        expands.append(Expand(name, query, tuple(options.items())))
    return tuple(expands)
