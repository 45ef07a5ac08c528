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
* Literals are built by literals.py: datetimes without offset are UTC; durations with years or
  months are refused; `start/end` is an interval literal (Literal((start, end), 'interval')).
* An array index is a path segment: `properties/objArray[0]/name` is
  Path(('properties', 'objArray', '0', 'name')), as `properties/objArray/0/name` is.
* `x in (a, b)` is In; `x in properties/intArray` (a member, no parentheses) is InCollection.
* Expressions nest at most MAX_DEPTH levels (a run of one `and`/`or` counts once: `id eq 1 or id eq 2
  or ...` is fine at any length).
"""
from __future__ import annotations

import logging
import re
from functools import cache
from importlib import resources
from typing import Any

from lark import Lark, Token, Transformer
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError

from sta_server.errors import InvalidQuery
from sta_server.query.ast import (
    Arith,
    BoolOp,
    Call,
    Compare,
    In,
    InCollection,
    Lambda,
    Literal,
    Negate,
    Node,
    Not,
    OrderBy,
    Path,
)
from sta_server.query.literals import NodeError, literal_of

log = logging.getLogger(__name__)

MAX_DEPTH = 100


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


def _segment(token: Token) -> str:
    if token.type == "AT_NAME":
        if token == "@iot.selfLink":  # selectable ($select=@iot.selfLink), never a filter value
            return str(token)
        if token != "@iot.id":
            raise NodeError(f"Unknown member '{token!s}'", token)
        return "id"
    if token.type == "INT" and token.startswith("-"):
        raise NodeError(f"Negative array index '{token!s}'", token)
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

    def in_collection(self, children: list[Any]) -> InCollection:
        return InCollection(children[0], children[1])

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
            raise NodeError(f"Unknown lambda operator '{quantifier!s}'", quantifier, "expected any or all")
        if variable is not None and "." in variable:
            raise NodeError(f"Invalid lambda variable '{variable!s}'", variable)
        return Lambda(collection, str(quantifier), None if variable is None else str(variable), body)  # type: ignore[arg-type]

    def member(self, children: list[Any]) -> Path:
        if len(children) == 1:
            return Path((_segment(children[0]),))
        parent: Path = children[0]
        return Path((*parent.segments, _segment(children[1])))

    def literal(self, children: list[Token]) -> Literal:
        token = children[0]
        try:
            return literal_of(token)
        except ValueError as exc:  # out-of-range dates and times, overlong integers
            raise NodeError(f"Invalid {token.type.lower()} '{token!s}'", token, str(exc)) from exc


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
        if isinstance(orig, NodeError):
            raise _fail(orig.what, orig.pos, option, text, orig.detail) from None
        raise
    except NodeError as exc:
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
