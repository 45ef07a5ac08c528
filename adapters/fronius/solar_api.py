"""Pure parsing of Solar API v1 answers: bytes → JSON document (checked) → readings."""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from adapters.connector import Reading
from adapters.fronius.variables import STATUS_TEXT, VARIABLE_MAP, FieldVariable


class SolarApiError(ConnectionError):
    """An answer the connector cannot use: bad JSON, or `Head.Status.Code` other than 0."""


def parse_document(body: bytes, endpoint: str) -> dict[str, Any]:
    """The JSON document of one answer; refuses truncated JSON and error statuses."""
    try:
        document = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise SolarApiError(f"{endpoint}: invalid or truncated JSON ({len(body)} bytes: {error})") from error
    if not isinstance(document, dict) or not isinstance(document.get("Body"), dict):
        raise SolarApiError(f"{endpoint}: no Body in the answer")
    status = document.get("Head", {}).get("Status", {})
    code = status.get("Code", 0) if isinstance(status, dict) else 0
    if code != 0:
        raise SolarApiError(f"{endpoint}: Status.Code {code} {status.get('Reason', '')!r}".rstrip())
    return document


def field_value(data: Any, path: Sequence[str]) -> Any:
    """The value at `path` inside Body.Data; `*` takes the first device of a System scope."""
    node = data
    for step in path:
        if not isinstance(node, Mapping):
            return None
        node = next(iter(node.values()), None) if step == "*" else node.get(step)
    return node


def parse_readings(documents: Mapping[str, Mapping[str, Any]], when: datetime,
                   keys: Mapping[str, str] | None = None,
                   variables: Sequence[FieldVariable] = VARIABLE_MAP) -> list[Reading]:
    """Readings of every mapped field of the documents at hand (endpoint → checked document)."""
    readings = []
    for variable in variables:
        document = documents.get(variable.endpoint)
        if document is None:
            continue
        value = field_value(document["Body"].get("Data"), variable.path)
        key = (keys or {}).get(variable.name, variable.key)
        reading = _reading(variable, key, value, when)
        if reading is not None:
            readings.append(reading)
    return readings


def _reading(variable: FieldVariable, key: str, value: Any, when: datetime) -> Reading | None:
    if value is None:
        return Reading(key, 0.0, when, {"null": True}) if variable.null_is_zero else None
    if variable.unit is None:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return Reading(key, str(int(value)), when, {"detail": STATUS_TEXT.get(int(value), "Unknown")})
        return Reading(key, str(value), when)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return Reading(key, round(variable.sign * variable.factor * float(value), 6), when)
