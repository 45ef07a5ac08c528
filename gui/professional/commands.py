"""Command forms made from a TaskingCapability's SWE Common `taskingParameters`, and form input back into
a Task's parameters.

The forms of D3.1 tables 5 (aggregator → GESSCon: radial, solution, start, stop) and 9 (GUI → GEVChCon:
action, radial, start, stop) and the ESS set-points are all DataRecords, so one builder serves them all.
Input is converted only as far as its type says (a number field's text becomes a number when it is
one); anything else goes to the server as typed, and the server's 400 message is what the user sees.
Pure.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]
LOCAL_MINUTE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    swe_type: str  # Quantity, Count, Boolean, Text, Category, Time, DataArray, QuantityRange, ...
    widget: str  # number, checkbox, text, select, datetime, list, range
    optional: bool
    unit: str
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None


def _interval(field: Mapping[str, Any]) -> tuple[float | None, float | None]:
    intervals = (field.get("constraint") or {}).get("interval") or []
    if intervals and len(intervals[0]) == 2:
        return float(intervals[0][0]), float(intervals[0][1])
    return None, None


WIDGETS = {"Quantity": "number", "Count": "number", "Boolean": "checkbox", "Time": "datetime",
           "Category": "select", "Text": "text", "DataArray": "list", "QuantityRange": "range",
           "CountRange": "range"}


def form_fields(tasking_parameters: Mapping[str, Any]) -> list[FormField]:
    """The inputs of a DataRecord capability (a non-record capability is one field named `value`)."""
    fields = tasking_parameters.get("field") if tasking_parameters.get("type") == "DataRecord" else None
    out = []
    for field in fields if fields is not None else [{"name": "value", **tasking_parameters}]:
        swe_type = str(field.get("type", "Text"))
        tokens = tuple(str(t) for t in (field.get("constraint") or {}).get("value") or [])
        widget = WIDGETS.get(swe_type, "text")
        if widget == "select" and not tokens:
            widget = "text"
        element = field.get("elementType") or {}
        low, high = _interval(element if swe_type == "DataArray" else field)
        unit = str((field.get("uom") or element.get("uom") or {}).get("code") or "")
        out.append(FormField(str(field["name"]), str(field.get("label") or field["name"]), swe_type, widget,
                             bool(field.get("optional")), unit, tokens, low, high))
    return out


def _number(text: str) -> Any:
    try:
        value = float(text)
    except ValueError:
        return text  # the server says what is wrong with it
    return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value


def _time(text: str) -> str:
    """A browser's `datetime-local` value (no zone) is taken as UTC."""
    return f"{text}:00Z" if LOCAL_MINUTE.match(text) and text.count(":") == 1 else (
        f"{text}Z" if LOCAL_MINUTE.match(text) else text)


def _value(field: FormField, raw: Sequence[str]) -> Any:
    if field.widget == "checkbox":
        return any(v in ("on", "true", "1") for v in raw)
    text = raw[0].strip() if raw else ""
    if field.widget == "number":
        return _number(text)
    if field.widget == "datetime":
        return _time(text)
    if field.widget == "list":
        return [_number(part.strip()) for part in text.replace(";", ",").split(",") if part.strip()]
    if field.widget == "range":
        return [_number(part.strip()) for part in text.split(",")]
    return text


def task_parameters(fields: Sequence[FormField], form: Mapping[str, Sequence[str]]) -> JSON:
    """The Task's parameters from submitted form values (`form[name]` lists, as Werkzeug's getlist).
    An empty optional field is left out; an empty required one is sent empty so the server names it."""
    parameters: JSON = {}
    for field in fields:
        raw = [value for value in form.get(field.name, []) if value is not None]
        if field.widget != "checkbox" and not "".join(raw).strip():
            if field.optional:
                continue
            parameters[field.name] = ""
            continue
        parameters[field.name] = _value(field, raw)
    if [f.name for f in fields] == ["value"]:
        return {"value": parameters.get("value")}
    return parameters
