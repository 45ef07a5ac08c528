"""JSON text from clients (request bodies, MQTT messages, $batch parts), parsed strictly: no NaN or
Infinity, no number too large for a double, no lone UTF-16 surrogate and no NUL character (neither
can be stored in PostgreSQL text or jsonb), and at most MAX_DEPTH levels of nesting (deeper
documents would exhaust the stack of whatever handles them next). Every problem is a ValueError
whose message can be shown to the client."""
from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 100
_UNSTORABLE_ESCAPE = re.compile(rb"\\u(?:[dD][89a-fA-F]|0000)")


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"The number {text[:40]} is too large")
    return value


def parse_json(data: bytes | str) -> Any:
    """The JSON value of `data`; ValueError (or UnicodeDecodeError) when it is not acceptable."""
    try:
        value = json.loads(data, parse_constant=_constant, parse_float=_finite)
    except RecursionError:
        raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    _check(value, strings=_UNSTORABLE_ESCAPE.search(raw) is not None)
    return value


def _check(value: Any, *, strings: bool) -> None:
    """Depth, and (when the text had such escapes) that every string can be stored."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if strings or isinstance(child, dict | list))
        elif strings and isinstance(item, str):
            problem = _string_problem(item)
            if problem is not None:
                raise ValueError(f"JSON text with {problem}")


def _string_problem(text: str) -> str | None:
    if "\x00" in text:
        return "a NUL character (\\u0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "a lone UTF-16 surrogate (\\ud800-\\udfff)"
    return None


def unstorable(value: Any) -> str | None:
    """What in a decoded value (any format: JSON, CBOR, a SenML record's strings) PostgreSQL text
    or jsonb cannot hold — a NUL character or a lone surrogate in a string or a key — or None. The
    JSON parser refuses these in the text; other decoders do not, so values are checked again
    where they are parsed (serialize/values.py), one record at a time."""
    if isinstance(value, str):
        return _string_problem(value)
    if not isinstance(value, dict | list):
        return None
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            problem = _string_problem(item)
            if problem is not None:
                return problem
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None
