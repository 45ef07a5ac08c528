"""Marshmallow schemas derived from the entity registry: one response schema, one create schema
and one update schema per entity type, never written by hand."""
from __future__ import annotations

from functools import cache
from typing import Any

from marshmallow import Schema, fields

from sta_server.model import REGISTRY, EntityType, Kind, NavLink, Property

VERSION = "1.1"
TIME_TEXT = {
    Kind.INSTANT: "ISO 8601 instant, e.g. 2024-01-01T00:00:00Z",
    Kind.INTERVAL: "ISO 8601 interval start/end, e.g. 2024-01-01T00:00:00Z/2024-01-02T00:00:00Z",
    Kind.TIME: "ISO 8601 instant or interval",
}
OBJECT_PROPERTIES = frozenset({"properties", "parameters", "unitOfMeasurement"})


def _value_field(prop: Property, *, for_input: bool) -> fields.Field[Any]:
    """Inputs: required as the model says; outputs: nothing required, optional values nullable."""
    options: dict[str, Any] = {"required": for_input and prop.required, "allow_none": not prop.required}
    if prop.kind in TIME_TEXT:
        return fields.String(metadata={"description": TIME_TEXT[prop.kind]}, **options)
    if prop.kind in (Kind.GEOJSON, Kind.AREA):
        return fields.Dict(metadata={"description": "A GeoJSON geometry (or Feature)"}, **options)
    if prop.kind is Kind.JSON and prop.name in OBJECT_PROPERTIES:
        return fields.Dict(**options)
    if prop.kind in (Kind.JSON, Kind.RESULT):
        return fields.Raw(metadata={"description": "Any JSON value"}, **options)
    return fields.String(**options)


def _visible(entity_type: EntityType) -> tuple[tuple[Property, ...], tuple[NavLink, ...]]:
    links = tuple(link for link in entity_type.visible_links(VERSION)
                  if REGISTRY.target(link).since <= VERSION)
    return entity_type.visible_properties(VERSION), links


def _entity_fields(entity_type: EntityType) -> dict[str, fields.Field[Any]]:
    props, links = _visible(entity_type)
    out: dict[str, fields.Field[Any]] = {"@iot.id": fields.Integer(), "@iot.selfLink": fields.String()}
    for prop in props:
        if prop.kind is not Kind.ID:
            out[prop.name] = _value_field(prop, for_input=False)
    for link in links:
        target = REGISTRY.target(link).name
        out[f"{link.name}@iot.navigationLink"] = fields.String()
        nested = fields.Nested(lambda target=target: entity_schemas()[target],  # type: ignore[misc]
                               allow_none=not link.many)
        out[link.name] = fields.List(nested) if link.many else nested
        if link.many:
            out[f"{link.name}@iot.count"] = fields.Integer()
            out[f"{link.name}@iot.nextLink"] = fields.String()
    return out


def _link_field(link: NavLink) -> fields.Field[Any]:
    target = REGISTRY.target(link).name
    one = {"oneOf": [{"$ref": "#/components/schemas/EntityReference"},
                     {"type": "object", "additionalProperties": True,
                      "description": f"A new {target} (deep insert), as in {target}Input"}]}
    if link.many:
        return fields.List(fields.Raw(metadata=one), required=link.required)
    return fields.Raw(required=link.required, metadata=one)


def _input_fields(entity_type: EntityType, *, for_update: bool) -> dict[str, fields.Field[Any]]:
    props, links = _visible(entity_type)
    out: dict[str, fields.Field[Any]] = {}
    for prop in props:
        if not prop.read_only:
            out[prop.name] = _value_field(prop, for_input=not for_update)
    for link in links:
        field = _link_field(link)
        field.required = field.required and not for_update
        out[link.name] = field
    return out


@cache
def entity_schemas() -> dict[str, type[Schema]]:
    """Type name -> response schema (`Thing`); members as a GET writes them, none required."""
    return {t.name: Schema.from_dict(_entity_fields(t), name=t.name) for t in REGISTRY if t.since <= VERSION}


@cache
def input_schemas() -> dict[str, type[Schema]]:
    """`ThingInput` (POST, PUT: required members required) and `ThingUpdate` (PATCH)."""
    out: dict[str, type[Schema]] = {}
    for entity_type in REGISTRY:
        if entity_type.since <= VERSION:
            for suffix, update in (("Input", False), ("Update", True)):
                name = entity_type.name + suffix
                out[name] = Schema.from_dict(_input_fields(entity_type, for_update=update), name=name)
    return out


def collection_schema(entity_type: EntityType) -> dict[str, Any]:
    return {"type": "object", "properties": {
        "@iot.count": {"type": "integer"}, "@iot.nextLink": {"type": "string"},
        "value": {"type": "array", "items": {"$ref": f"#/components/schemas/{entity_type.name}"}}}}


AUDIT_RECORD = {"type": "object", "required": ["id", "at", "actor", "role", "channel", "action", "entityType",
                                               "entityIds"],
                "properties": {"id": {"type": "integer"}, "at": {"type": "string", "format": "date-time"},
                               "actor": {"type": "string"}, "role": {"type": "string"},
                               "channel": {"type": "string", "enum": ["http", "mqtt", "cli", "server"]},
                               "action": {"type": "string"}, "entityType": {"type": "string"},
                               "entityIds": {"type": "array", "items": {"type": "integer"}},
                               "detail": {"type": "object", "nullable": True}}}

STATIC_SCHEMAS: dict[str, dict[str, Any]] = {
    "AuditRecordPage": {"type": "object", "required": ["value"],
                        "properties": {"value": {"type": "array", "items": AUDIT_RECORD},
                                       "@iot.nextLink": {"type": "string"}}},
    "EntityReference": {"type": "object", "required": ["@iot.id"],
                        "properties": {"@iot.id": {"type": "integer"}}},
    "ODataError": {"type": "object", "properties": {"error": {"type": "object", "required": ["code", "message"],
              "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                             "target": {"type": "string"},
                             "details": {"type": "array", "items": {"type": "object"}}}}}},
    "GeoJSONFeatureCollection": {"type": "object", "description": "RFC 7946 FeatureCollection",
                                 "properties": {"type": {"type": "string", "enum": ["FeatureCollection"]},
                                                "features": {"type": "array", "items": {"type": "object"}}}},
    "SenMLPack": {"type": "array", "description": "RFC 8428 SenML pack",
                  "items": {"type": "object", "additionalProperties": True}},
    "SenMLReport": {"type": "object", "properties": {
        "accepted": {"type": "array", "items": {"type": "object"}},
        "rejected": {"type": "array", "items": {"type": "object"}}}},
}
