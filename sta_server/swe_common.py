"""Validation of Task.taskingParameters against a TaskingCapability's SWE Common JSON description
(only capabilities whose taskingParameters declare a SWE Common `type`; see declares_swe_common).

Supported components (OGC SWE Common 2.0 JSON encoding): DataRecord (nested `field`s), DataArray
(`elementType`, `elementCount` fixed or bounded), Quantity, Count, Boolean, Text, Category, Time,
QuantityRange, CountRange; constraints AllowedValues (`interval`, `value`), AllowedTokens (`value`,
`pattern`), AllowedTimes (`interval`). A field with `"optional": true` may be left out.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sta_server.errors import InvalidEntity

JSON = dict[str, Any]


def _fail(path: str, message: str) -> InvalidEntity:
    return InvalidEntity(f"taskingParameters/{path}: {message}" if path else f"taskingParameters: {message}",
                         target="taskingParameters")


def _number(value: Any, path: str, integer: bool = False) -> float:
    wrong_type = isinstance(value, bool) or not isinstance(value, (int, float))
    if wrong_type or (integer and not isinstance(value, int)):
        raise _fail(path, f"must be {'an integer' if integer else 'a number'}, got {value!r}")
    return float(value)


def _allowed_values(value: float, constraint: JSON, path: str) -> None:
    intervals = constraint.get("interval") or []
    values = constraint.get("value") or []
    if not intervals and not values:
        return
    if any(low <= value <= high for low, high in intervals) or value in values:
        return
    raise _fail(path, f"{value:g} is outside the allowed values {intervals or values}")


def _quantity(component: JSON, value: Any, path: str, integer: bool = False) -> None:
    number = _number(value, path, integer)
    _allowed_values(number, component.get("constraint") or {}, path)


def _range(component: JSON, value: Any, path: str, integer: bool = False) -> None:
    if not isinstance(value, list) or len(value) != 2:
        raise _fail(path, "must be a [low, high] pair")
    low, high = (_number(v, path, integer) for v in value)
    if low > high:
        raise _fail(path, "low is above high")
    for bound in (low, high):
        _allowed_values(bound, component.get("constraint") or {}, path)


def _text(component: JSON, value: Any, path: str) -> None:
    if not isinstance(value, str):
        raise _fail(path, f"must be a string, got {value!r}")
    constraint = component.get("constraint") or {}
    tokens = constraint.get("value")
    if tokens and value not in tokens:
        raise _fail(path, f"{value!r} is not one of {tokens}")
    pattern = constraint.get("pattern")
    if pattern and not re.fullmatch(pattern, value):
        raise _fail(path, f"{value!r} does not match {pattern!r}")


def _time(component: JSON, value: Any, path: str) -> None:
    if not isinstance(value, str):
        raise _fail(path, "must be an ISO 8601 time string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _fail(path, f"{value!r} is not an ISO 8601 time") from None
    for low, high in (component.get("constraint") or {}).get("interval") or []:
        if datetime.fromisoformat(low) <= moment <= datetime.fromisoformat(high):
            return
    if (component.get("constraint") or {}).get("interval"):
        raise _fail(path, f"{value} is outside the allowed times")


def _boolean(component: JSON, value: Any, path: str) -> None:
    if not isinstance(value, bool):
        raise _fail(path, f"must be true or false, got {value!r}")


def _record(component: JSON, value: Any, path: str) -> None:
    if not isinstance(value, dict):
        raise _fail(path, "must be a JSON object")
    fields = component.get("field") or component.get("fields") or []
    names = {f.get("name") for f in fields}
    unknown = sorted(set(value) - names)
    if unknown:
        raise _fail(path, f"unknown parameter(s) {unknown}; expected {sorted(n for n in names if n)}")
    for field in fields:
        name = field.get("name")
        child = f"{path}/{name}" if path else str(name)
        if name not in value:
            if not field.get("optional", False):
                raise _fail(child, "is missing")
            continue
        validate_component(field, value[name], child)


def _array(component: JSON, value: Any, path: str) -> None:
    if not isinstance(value, list):
        raise _fail(path, "must be a JSON array")
    count = component.get("elementCount") or {}
    fixed = count.get("value")
    if fixed is not None and len(value) != fixed:
        raise _fail(path, f"must have {fixed} elements, has {len(value)}")
    for low, high in (count.get("constraint") or {}).get("interval") or []:
        if not low <= len(value) <= high:
            raise _fail(path, f"must have {low} to {high} elements, has {len(value)}")
    element = component.get("elementType") or {}
    for index, item in enumerate(value):
        validate_component(element, item, f"{path}/{index}")


_VALIDATORS: dict[str, Callable[[JSON, Any, str], None]] = {
    "DataRecord": _record,
    "DataArray": _array,
    "Quantity": _quantity,
    "Count": lambda c, v, p: _quantity(c, v, p, integer=True),
    "QuantityRange": _range,
    "CountRange": lambda c, v, p: _range(c, v, p, integer=True),
    "Boolean": _boolean,
    "Text": _text,
    "Category": _text,
    "Time": _time,
}


def validate_component(component: JSON, value: Any, path: str = "") -> None:
    kind = component.get("type")
    validator = _VALIDATORS.get(str(kind))
    if validator is None:
        raise _fail(path, f"the capability describes an unsupported SWE Common type {kind!r}")
    validator(component, value, path)


def declares_swe_common(description: Any) -> bool:
    """Whether a capability's taskingParameters is a SWE Common description (it names a `type`).
    Anything else (the OGC test suites post `{"todo": "yes"}`) is stored as given and its Tasks are
    not checked against it."""
    return isinstance(description, dict) and "type" in description


def check_description(description: Any) -> None:
    """A capability's taskingParameters: a JSON object; when it names a SWE Common `type`, one this
    module understands."""
    if not isinstance(description, dict):
        raise InvalidEntity("taskingParameters must be a JSON object", target="taskingParameters")
    if declares_swe_common(description) and description.get("type") not in _VALIDATORS:
        raise InvalidEntity("taskingParameters must be a SWE Common JSON component such as a DataRecord "
                            f"(unsupported type {description.get('type')!r})", target="taskingParameters")


def validate_task_parameters(description: Any, parameters: Any) -> None:
    """A Task's taskingParameters: what its capability's SWE Common description describes, or, when
    the capability declares none, any JSON object."""
    if declares_swe_common(description):
        validate_component(description, parameters)
    elif not isinstance(parameters, dict):
        raise InvalidEntity("taskingParameters must be a JSON object", target="taskingParameters")
