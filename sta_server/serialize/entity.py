"""Rows to SensorThings JSON: `@iot.id`, `@iot.selfLink`, navigation links, typed property values."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sta_server.model import EntityType, Kind, Property
from sta_server.model.selection import Selection
from sta_server.serialize.times import format_instant, format_interval, format_time

JSON = dict[str, Any]
_MAX_EXACT_INT = 2**53


@dataclass(frozen=True)
class Links:
    """Where links point: the external service root of one API version, e.g. https://h/sta/v1.1."""

    root: str

    def self_link(self, entity_type: EntityType, ident: int) -> str:
        return f"{self.root}/{entity_type.plural}({ident})"


def _result(number: float | None, value: Any) -> Any:
    if number is None:
        return value
    if number.is_integer() and abs(number) < _MAX_EXACT_INT:
        return int(number)
    return number


_FORMATS: dict[Kind, Callable[..., Any]] = {
    Kind.INSTANT: format_instant,
    Kind.INTERVAL: format_interval,
    Kind.TIME: format_time,
    Kind.RESULT: _result,
}


def serialize_value(prop: Property, row: Mapping[Any, Any]) -> Any:
    values = [row[prop.name + suffix] for suffix in prop.kind.read_suffixes]
    fmt = _FORMATS.get(prop.kind)
    return fmt(*values) if fmt else values[0]


def keep_members(value: Any, paths: tuple[tuple[str, ...], ...]) -> Any:
    """Only the selected members of a JSON value: `properties/radialId` keeps {"radialId": …}."""
    kept: JSON = {}
    for path in paths:
        source, target = value, kept
        for key in path[:-1]:
            if not isinstance(source, dict) or key not in source:
                break
            source = source[key]
            target = target.setdefault(key, {})
        else:
            if isinstance(source, dict) and path[-1] in source:
                target[path[-1]] = source[path[-1]]
    return kept


def serialize_entity(entity_type: EntityType, row: Mapping[Any, Any], selection: Selection,
                     where: Links, extra: Mapping[str, Any] | None = None) -> JSON:
    """One entity as JSON. `extra` holds expanded links (`Datastreams`, `Datastreams@iot.count`…);
    an expanded link is written in place of its navigation link."""
    out: JSON = {}
    ident = row["id"]
    self_link = where.self_link(entity_type, ident)
    for prop in selection.props:
        if prop.kind is Kind.ID:
            out["@iot.id"] = ident
    if selection.self_link:
        out["@iot.selfLink"] = self_link
    for prop in selection.props:
        if prop.kind is Kind.ID:
            continue
        value = serialize_value(prop, row)
        members = selection.members.get(prop.name)
        out[prop.name] = keep_members(value, members) if members else value
    extra = extra or {}
    for link in selection.links:
        if link.name not in extra:
            out[f"{link.name}@iot.navigationLink"] = f"{self_link}/{link.name}"
    out.update(extra)
    return out
