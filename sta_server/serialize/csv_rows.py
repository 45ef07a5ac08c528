"""Entities as CSV rows (`$resultFormat=CSV`): one row per entity, expanded to-one links flattened
into `Link/property` columns, JSON values (objects, arrays, GeoJSON) written as JSON text, quoting
by the csv module (RFC 4180: `,` separated, `"` quoted, CRLF line ends)."""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sta_server.serialize.entity import JSON

MEDIA_TYPE = "text/csv"


def flatten(entity: JSON, nested: frozenset[str], prefix: str = "") -> dict[str, Any]:
    """`{"name": "x", "Datastream": {"name": "y"}}` -> `{"name": "x", "Datastream/name": "y"}`
    for the expanded to-one links in `nested` (`{"Datastream/"}`); anything else stays one value."""
    flat: dict[str, Any] = {}
    for key, value in entity.items():
        inner = f"{prefix}{key}/"
        if inner in nested and isinstance(value, dict):
            flat.update(flatten(value, nested, inner))
        else:
            flat[prefix + key] = value
    return flat


def nested_prefixes(columns: Sequence[str]) -> frozenset[str]:
    """`Datastream/Thing/name` -> {"Datastream/", "Datastream/Thing/"}."""
    prefixes: set[str] = set()
    for column in columns:
        parts = column.split("/")[:-1]
        prefixes.update("/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1))
    return frozenset(prefixes)


def cell(value: Any) -> Any:
    """A CSV cell: None is empty, JSON values are JSON text, booleans are true/false."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return value


def write_csv(columns: Sequence[str], chunks: Iterable[list[JSON]]) -> Iterator[str]:
    """The header, then one text chunk per chunk of entities (a generator: nothing is held)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    yield _take(buffer)
    nested = nested_prefixes(columns)
    for chunk in chunks:
        for entity in chunk:
            flat = flatten(entity, nested)
            writer.writerow([cell(flat.get(column)) for column in columns])
        yield _take(buffer)


def _take(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
