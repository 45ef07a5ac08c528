"""A request body checked against an entity type: column values, to-one and to-many links.

Two rules of the suites beyond the model's types:
- an Observation's `result` may be null (created or patched to null, as FROST and the ETS do);
  it must still be given on create (service/bulk.py);
- a Location's `location` (a FeatureOfInterest's `feature`) whose `encodingType` is not GeoJSON
  (`text/plain` with an address, even an empty string) is kept as given, without a geometry."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sta_server.errors import InvalidEntity
from sta_server.model import EntityType, Kind, NavLink, Property
from sta_server.query.path import MAX_ID
from sta_server.serialize.values import GEOJSON_TYPES, parse_value

JSON = dict[str, Any]


@dataclass
class ParsedBody:
    values: dict[str, Any] = field(default_factory=dict)  # column -> value
    given: set[str] = field(default_factory=set)  # wire names of the properties given
    links: dict[str, tuple[NavLink, Any]] = field(default_factory=dict)  # link name -> (link, raw)


def is_reference(value: Any) -> bool:
    """`{"@iot.id": 5}` links an existing entity instead of creating one."""
    return isinstance(value, dict) and "@iot.id" in value


def reference_id(value: JSON, target: str) -> int:
    ident = value["@iot.id"]
    if isinstance(ident, bool) or not isinstance(ident, (int, str)):
        raise InvalidEntity(f"'@iot.id' of the {target} must be an integer", target=target)
    try:
        number = int(ident)
    except ValueError:
        raise InvalidEntity(f"'@iot.id' of the {target} must be an integer", target=target) from None
    if not -MAX_ID <= number <= MAX_ID:
        raise InvalidEntity(f"No {target} with '@iot.id' {str(ident)[:40]}", target=target)
    return number


def parse_body(entity_type: EntityType, body: Any, version: str) -> ParsedBody:
    if not isinstance(body, dict):
        raise InvalidEntity(f"A {entity_type.name} must be a JSON object")
    parsed = ParsedBody()
    for key, value in body.items():
        if key.startswith("@iot.") or "@iot." in key:
            continue
        prop = entity_type.prop(key)
        link = entity_type.link(key)
        if prop is not None and prop.since <= version:
            if prop.read_only:
                continue
            parsed.values.update(_parse_value(prop, value, body))
            parsed.given.add(prop.name)
        elif link is not None and link.since <= version:
            _check_link_shape(link, value)
            parsed.links[link.name] = (link, value)
        else:
            raise InvalidEntity(f"{entity_type.name} has no property or link '{key}'", target=key)
    return parsed


def may_be_null(prop: Property) -> bool:
    """A required property that may be given as null (an Observation's result)."""
    return prop.kind is Kind.RESULT


def _parse_value(prop: Property, value: Any, body: JSON) -> dict[str, Any]:
    if value is None and may_be_null(prop):
        return {column: None for column in prop.columns()}
    encoding = body.get("encodingType")
    if prop.kind is Kind.GEOJSON and isinstance(encoding, str) and encoding not in GEOJSON_TYPES:
        return {prop.column: value, f"{prop.column}_geom": None}  # e.g. text/plain: an address
    return parse_value(prop, value)


def _check_link_shape(link: NavLink, value: Any) -> None:
    if link.many and not isinstance(value, list):
        raise InvalidEntity(f"'{link.name}' must be a JSON array of entities", target=link.name)
    if not link.many and not isinstance(value, dict):
        raise InvalidEntity(f"'{link.name}' must be a JSON object", target=link.name)
    for item in value if link.many else [value]:
        if not isinstance(item, dict):
            raise InvalidEntity(f"Each of '{link.name}' must be a JSON object", target=link.name)
