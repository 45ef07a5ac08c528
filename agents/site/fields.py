"""Typed reads of the plain data of a site file; every failure is a `SiteFileError` at the field's line.

A small schema of our own rather than marshmallow's: the checks are few, and each error must carry
the line the YAML walk recorded (yaml_tree.Lines).
"""
from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from typing import Any

from agents.site.errors import SiteFileError
from agents.site.yaml_tree import FieldPath, Lines

KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class Fields:
    """Reads values of one file, raising errors that name the file, line and field."""

    def __init__(self, lines: Lines) -> None:
        self.lines = lines

    def error(self, path: FieldPath, message: str) -> SiteFileError:
        return self.lines.error(path, message)

    def mapping(self, value: Any, path: FieldPath, required: Collection[str] = (),
                optional: Collection[str] = ()) -> dict[str, Any]:
        """A mapping with exactly the allowed keys (all of `required`, any of `optional`)."""
        if not isinstance(value, dict):
            raise self.error(path, f"expected a mapping, got {_kind(value)}")
        allowed = set(required) | set(optional)
        for key in value:
            if key not in allowed:
                raise self.error((*path, key), f"unknown field (allowed: {', '.join(sorted(allowed))})")
        for key in required:
            if key not in value:
                raise self.error(path, f"missing field '{key}'")
        return value

    def free_mapping(self, value: Any, path: FieldPath) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(path, f"expected a mapping, got {_kind(value)}")
        return value

    def items(self, value: Any, path: FieldPath) -> list[Any]:
        if not isinstance(value, list):
            raise self.error(path, f"expected a list, got {_kind(value)}")
        return value

    def text(self, value: Any, path: FieldPath) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.error(path, f"expected a non-empty string, got {_kind(value)}")
        return value

    def key(self, value: Any, path: FieldPath) -> str:
        text = self.text(value, path)
        if not KEY.match(text):
            raise self.error(path, f"'{text}' is not a key (letters, digits, '_', '.', '-'; at most 64)")
        return text

    def number(self, value: Any, path: FieldPath, low: float | None = None, high: float | None = None) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.error(path, f"expected a number, got {_kind(value)}")
        if (low is not None and value < low) or (high is not None and value > high):
            raise self.error(path, f"{value} is outside [{low}, {high}]")
        return float(value)

    def integer(self, value: Any, path: FieldPath, low: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(path, f"expected an integer, got {_kind(value)}")
        if low is not None and value < low:
            raise self.error(path, f"{value} is below {low}")
        return value

    def choice(self, value: Any, path: FieldPath, allowed: Collection[str]) -> str:
        text = self.text(value, path)
        if text not in allowed:
            raise self.error(path, f"'{text}' is not one of {', '.join(sorted(allowed))}")
        return text

    def optional_text(self, data: Mapping[str, Any], name: str, path: FieldPath) -> str | None:
        return self.text(data[name], (*path, name)) if name in data else None

    def optional_number(self, data: Mapping[str, Any], name: str, path: FieldPath,
                        low: float | None = None, high: float | None = None) -> float | None:
        return self.number(data[name], (*path, name), low, high) if name in data else None


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {bool: "a boolean", int: "a number", float: "a number", str: f"'{value}'", list: "a list",
            dict: "a mapping"}.get(type(value), type(value).__name__)
