"""Parse $filter, $orderby, $select and $expand text into the AST of ast.py.

The expression grammar lives in filter.lark (LALR(1)); a lark Transformer builds the AST while
parsing. Every syntax problem becomes InvalidQuery with the 1-based character position and the
offending text; no lark exception escapes.

Decisions worth knowing:

* Negative numbers: a numeric literal written directly after `-` (no space: `-5`, `-2.5e3`) is a
  single literal, Literal(-5, 'int'); `- 5`, `-(5)` or `-name` give Negate(...).
* `not` binds looser than the comparisons and tighter than `and`: `not a eq b and c` is
  BoolOp('and', Not(Compare('eq', a, b)), c), as FROST-Server reads it (OData lists `not` among
  the unary operators, which would give `(not a) eq b`, a comparison of a boolean nobody means).
  `not startswith(name, 'x')` and `not (a eq b)` are unaffected; `a eq not b` needs parentheses.
* `@iot.id` as a member name is normalised to `id` (in $filter, $orderby and $select);
  `@iot.selfLink` is kept as it is (only $select gives it a meaning).
* Datetimes without offset are taken as UTC; durations with years or months are rejected.
* Expressions nest at most MAX_DEPTH levels (a run of one `and`/`or` counts once: `id eq 1 or id eq 2
  or ...` is fine at any length); geography/geometry literals must be WKT with finite coordinates.
"""
from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from importlib import resources
from typing import Any

import numpy
import shapely
from lark import Lark, Token, Transformer
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError

from sta_server.errors import InvalidQuery
from sta_server.model.geometry import geometry_problem
from sta_server.query.ast import (
    Arith,
    BoolOp,
    Call,
    Compare,
    Expand,
    In,
    Lambda,
    Literal,
    Negate,
    Node,
    Not,
    OrderBy,
    Path,
)

log = logging.getLogger(__name__)

_DURATION = re.compile(
    r"(?P<sign>-)?P(?:(?P<weeks>\d+(?:\.\d+)?)W)?(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?"
)
_YEAR_MONTH = re.compile(r"-?P(?:[^T]*[YM])")
_SRID = re.compile(r"^\s*SRID=\d+\s*;\s*", re.IGNORECASE)
MAX_DEPTH = 100


class _NodeError(Exception):
    """A semantic problem found while building the AST; turned into InvalidQuery with the text."""

    def __init__(self, what: str, token: Token, detail: str = "") -> None:
        super().__init__(what)
        self.what = what
        self.pos = token.start_pos or 0
        self.detail = detail


@cache
def _parser() -> Lark:
    grammar = resources.files("sta_server.query").joinpath("filter.lark").read_text(encoding="utf-8")
    log.debug("loading the $filter grammar")
    return Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        start=["filter", "orderby", "select"],
        transformer=_Builder(),
        maybe_placeholders=True,
    )


def _duration(token: Token) -> timedelta:
    text = token[len("duration'") : -1].strip()
    match = _DURATION.fullmatch(text)
    if match is None or text.rstrip("T").endswith("P"):
        if _YEAR_MONTH.match(text):
            raise _NodeError(f"Invalid duration '{text}'", token, "years and months are not fixed durations")
        raise _NodeError(f"Invalid duration '{text}'", token)
    parts = {k: float(v) for k, v in match.groupdict().items() if v is not None and k != "sign"}
    value = timedelta(**parts)
    return -value if match["sign"] else value


def _datetime(token: Token) -> datetime:
    value = datetime.fromisoformat(str(token))
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _geo(token: Token) -> Literal:
    kind, _, rest = str(token).partition("'")
    wkt = _SRID.sub("", rest[:-1]).strip()
    if not wkt:
        raise _NodeError(f"Empty {kind} literal", token)
    try:
        with numpy.errstate(all="ignore"):  # 1e400 overflows to inf: refused below, no warning
            shape = shapely.from_wkt(wkt)
    except shapely.errors.ShapelyError as error:
        raise _NodeError(f"Invalid {kind} literal", token, str(error)) from None
    problem = geometry_problem(shape)
    if problem is not None:
        raise _NodeError(f"Invalid {kind} literal", token, problem)
    return Literal(wkt, "geography" if kind == "geography" else "geometry")


def _literal(token: Token) -> Literal:
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
    if kind == "DATETIME":
        return Literal(_datetime(token), "datetime")
    if kind == "DATE":
        return Literal(date.fromisoformat(text), "date")
    return Literal(time.fromisoformat(text), "time")


def _segment(token: Token) -> str:
    if token.type == "AT_NAME":
        if token == "@iot.selfLink":  # selectable ($select=@iot.selfLink), never a filter value
            return str(token)
        if token != "@iot.id":
            raise _NodeError(f"Unknown member '{token!s}'", token)
        return "id"
    if token.type == "INT" and token.startswith("-"):
        raise _NodeError(f"Negative array index '{token!s}'", token)
    return str(token)


class _Builder(Transformer[Token, Any]):
    """Builds ast.py nodes; one method per grammar rule or alias."""

    def filter(self, children: list[Any]) -> Node:
        node: Node = children[0]
        return node

    def orderby(self, children: list[OrderBy]) -> tuple[OrderBy, ...]:
        return tuple(children)

    def order_item(self, children: list[Any]) -> OrderBy:
        return OrderBy(children[0], children[1] is not None and children[1].lower() == "desc")

    def select(self, children: list[Path]) -> tuple[Path, ...]:
        return tuple(children)

    def or_op(self, children: list[Any]) -> BoolOp:
        return BoolOp("or", children[0], children[1])

    def and_op(self, children: list[Any]) -> BoolOp:
        return BoolOp("and", children[0], children[1])

    def compare(self, children: list[Any]) -> Compare:
        return Compare(str(children[1]), children[0], children[2])  # type: ignore[arg-type]

    def arith(self, children: list[Any]) -> Arith:
        return Arith(str(children[1]), children[0], children[2])  # type: ignore[arg-type]

    def in_op(self, children: list[Any]) -> In:
        return In(children[0], children[1])

    def negate(self, children: list[Any]) -> Negate:
        return Negate(children[0])

    def not_op(self, children: list[Any]) -> Not:
        return Not(children[0])

    def expr_list(self, children: list[Any]) -> tuple[Node, ...]:
        return tuple(children)

    def call(self, children: list[Any]) -> Call:
        return Call(str(children[0]).lower(), children[1] or ())

    def lambda_(self, children: list[Any]) -> Lambda:
        collection, quantifier, variable, body = children
        if quantifier not in ("any", "all"):
            raise _NodeError(f"Unknown lambda operator '{quantifier!s}'", quantifier, "expected any or all")
        if variable is not None and "." in variable:
            raise _NodeError(f"Invalid lambda variable '{variable!s}'", variable)
        return Lambda(collection, str(quantifier), None if variable is None else str(variable), body)  # type: ignore[arg-type]

    def member(self, children: list[Any]) -> Path:
        if len(children) == 1:
            return Path((_segment(children[0]),))
        parent: Path = children[0]
        return Path((*parent.segments, _segment(children[1])))

    def literal(self, children: list[Token]) -> Literal:
        token = children[0]
        try:
            return _literal(token)
        except ValueError as exc:  # out-of-range dates and times, overlong integers
            raise _NodeError(f"Invalid {token.type.lower()} '{token!s}'", token, str(exc)) from exc


def _describe(exc: UnexpectedInput, text: str) -> tuple[str, int]:
    """What went wrong and the 0-based position, for a lark parse error."""
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream or 0
        if text[pos] == "'":
            return "Unterminated string", pos
        word = re.match(r"\S{1,20}", text[pos:])
        return f"Unexpected '{word.group(0) if word else text[pos]}'", pos
    if isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        return f"Unexpected '{exc.token!s}'", exc.token.start_pos or 0
    hint = " (missing ')'?)" if text.count("(") > text.count(")") else ""
    return f"Unexpected end of input{hint}", len(text.rstrip())


def _fail(what: str, pos: int, option: str, text: str, detail: str = "") -> InvalidQuery:
    suffix = f" ({detail})" if detail else ""
    return InvalidQuery(f'{what} at position {pos + 1} in {option}: "{text}"{suffix}', target=option)


def _parse(text: str, start: str, option: str) -> Any:
    if not text.strip():
        raise InvalidQuery(f"Empty {option}", target=option)
    try:
        return _check_depth(_parser().parse(text, start=start), option)
    except UnexpectedInput as exc:
        what, pos = _describe(exc, text)
        raise _fail(what, pos, option, text) from None
    except VisitError as exc:
        orig = exc.orig_exc
        if isinstance(orig, _NodeError):
            raise _fail(orig.what, orig.pos, option, text, orig.detail) from None
        raise
    except _NodeError as exc:
        raise _fail(exc.what, exc.pos, option, text, exc.detail) from None
    except LarkError as exc:  # pragma: no cover - defensive: any other lark failure is still a 400
        raise InvalidQuery(f"Invalid {option}: {exc}", target=option) from None


def _check_depth(tree: Any, option: str) -> Any:
    """`tree` when it nests at most MAX_DEPTH levels (without recursing: it may be very deep)."""
    stack: list[tuple[Any, int, str | None]] = [(tree, 0, None)]
    while stack:
        item, depth, chain = stack.pop()
        if isinstance(item, tuple):
            stack.extend((child, depth, None) for child in item)
            continue
        if not hasattr(item, "__dataclass_fields__") or isinstance(item, Literal | Path):
            continue
        op = item.op if isinstance(item, BoolOp) else None
        depth += 0 if op is not None and op == chain else 1
        if depth > MAX_DEPTH:
            raise InvalidQuery(f"{option} nests deeper than {MAX_DEPTH} levels", target=option)
        stack.extend((getattr(item, name), depth, op) for name in item.__dataclass_fields__)
    return tree


def parse_filter(text: str) -> Node:
    """Parse a $filter expression into an AST node."""
    node: Node = _parse(text, "filter", "$filter")
    return node


def parse_orderby(text: str) -> tuple[OrderBy, ...]:
    """Parse `$orderby`: comma-separated expressions, each optionally followed by asc/desc."""
    items: tuple[OrderBy, ...] = _parse(text, "orderby", "$orderby")
    return items


def parse_select(text: str) -> tuple[Path, ...]:
    """Parse `$select`: comma-separated member paths; `@iot.id` means `id`."""
    paths: tuple[Path, ...] = _parse(text, "select", "$select")
    return paths


def parse_expand(
    text: str, *, default_top: int | None = None, max_top: int | None = None
) -> tuple[Expand, ...]:
    """Parse `$expand` with nested `;`-separated options; see options.parse_expand_option."""
    from sta_server.query.options import parse_expand_option  # noqa: PLC0415 - options imports us

    return parse_expand_option(text, default_top=default_top, max_top=max_top)
