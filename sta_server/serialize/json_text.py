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
            if "\x00" in item:
                raise ValueError("JSON text with a NUL character (\\u0000)")
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("JSON text with a lone UTF-16 surrogate (\\ud800-\\udfff)") from None
