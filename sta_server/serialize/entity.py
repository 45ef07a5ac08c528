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


def member_value(value: Any, members: tuple[str | int, ...]) -> Any:
    """The member of a JSON value that a path names (`("objArray", 0, "string")`); None when the
    path leads nowhere (a missing key, an index out of range, a key into a non-object)."""
    for member in members:
        if isinstance(member, int) and isinstance(value, list) and member < len(value):
            value = value[member]
        elif isinstance(member, str) and isinstance(value, dict):
            value = value.get(member)
        else:
            return None
    return value


def keep_members(value: Any, paths: tuple[tuple[str, ...], ...]) -> Any:
    """Only the selected members of a JSON value: `properties/radialId` keeps {"radialId": …}. An
    array element is kept under its index as a key, as FROST-Server writes it:
    `properties/objArray[0]/name` keeps {"objArray": {"0": {"name": …}}}."""
    kept: JSON = {}
    for path in paths:
        source, target = value, kept
        for key in path[:-1]:
            found, source = _child(source, key)
            if not found:
                break
            target = target.setdefault(key, {})
        else:
            found, leaf = _child(source, path[-1])
            if found:
                target[path[-1]] = leaf
    return kept


def _child(value: Any, key: str) -> tuple[bool, Any]:
    """(True, the member `key` of an object or the element at index `key` of an array), or (False, None)."""
    if isinstance(value, dict) and key in value:
        return True, value[key]
    if isinstance(value, list) and key.isdigit() and int(key) < len(value):
        return True, value[int(key)]
    return False, None


def serialize_entity(entity_type: EntityType, row: Mapping[Any, Any], selection: Selection,
                     where: Links, extra: Mapping[str, Any] | None = None) -> JSON:
    """One entity as JSON. `extra` holds expanded links (`Datastreams`, `Datastreams@iot.count`…);
    an expanded link is written in place of its navigation link."""
    return EntityWriter(entity_type, selection, where)(row, extra)


class EntityWriter:
    """serialize_entity for many rows of one selection: what to write is worked out once, so each
    row is a short loop over (name, columns, format) with no look-ups in the model."""

    def __init__(self, entity_type: EntityType, selection: Selection, where: Links) -> None:
        self.prefix = f"{where.root}/{entity_type.plural}("
        self.with_id = any(prop.kind is Kind.ID for prop in selection.props)
        self.self_link = selection.self_link
        self.fields = [(prop.name, tuple(prop.name + suffix for suffix in prop.kind.read_suffixes),
                        _FORMATS.get(prop.kind), selection.members.get(prop.name))
                       for prop in selection.props if prop.kind is not Kind.ID]
        self.links = [(link.name, f"/{link.name}", f"{link.name}@iot.navigationLink") for link in selection.links]

    def __call__(self, row: Mapping[Any, Any], extra: Mapping[str, Any] | None = None) -> JSON:
        out: JSON = {}
        ident = row["id"]
        self_link = f"{self.prefix}{ident})"
        if self.with_id:
            out["@iot.id"] = ident
        if self.self_link:
            out["@iot.selfLink"] = self_link
        for name, keys, fmt, members in self.fields:
            value = row[keys[0]] if fmt is None else fmt(*[row[key] for key in keys])
            out[name] = keep_members(value, members) if members else value
        for name, suffix, key in self.links:
            if extra is None or name not in extra:
                out[key] = self_link + suffix
        if extra:
            out.update(extra)
        return out
