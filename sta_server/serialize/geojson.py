"""Entities as GeoJSON (RFC 7946) for GIS tools (`$resultFormat=GeoJSON`, `application/geo+json`).

Each entity is a Feature: `id` is its `@iot.id`, `geometry` comes from the place the table below
names, `properties` are the entity's other members as the JSON response has them (expanded
entities nested). A collection is a FeatureCollection that keeps `@iot.count` and
`@iot.nextLink` as foreign members. Geometries are written as stored: a LineString or Polygon
Location (a radial feeder) stays a line or a polygon; a Location given as a Feature gives its
geometry; a Thing with several Locations gets a GeometryCollection.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sta_server.serialize.entity import JSON

MEDIA_TYPE = "application/geo+json"


@dataclass(frozen=True)
class GeometrySource:
    """Where an entity's geometry is: its own property, or a property of an (expanded) link."""

    prop: str
    link: str | None = None


GEOMETRY_SOURCES: dict[str, GeometrySource] = {
    "Location": GeometrySource("location"),
    "FeatureOfInterest": GeometrySource("feature"),
    "Datastream": GeometrySource("observedArea"),
    "MultiDatastream": GeometrySource("observedArea"),
    "Thing": GeometrySource("location", "Locations"),
    "HistoricalLocation": GeometrySource("location", "Locations"),
    "Observation": GeometrySource("feature", "FeatureOfInterest"),
}


def as_geometry(value: Any) -> JSON | None:
    """A stored GeoJSON value (geometry or Feature) as a geometry; None when there is none."""
    if not isinstance(value, dict):
        return None
    if value.get("type") == "Feature":
        return as_geometry(value.get("geometry"))
    return value if "type" in value else None


def _geometry(entity: JSON, source: GeometrySource | None) -> JSON | None:
    if source is None:
        return None
    if source.link is None:
        return as_geometry(entity.get(source.prop))
    linked = entity.get(source.link)
    members = linked if isinstance(linked, list) else [linked]
    shapes = [g for g in (as_geometry(m.get(source.prop)) for m in members if isinstance(m, dict)) if g]
    if len(shapes) > 1:
        return {"type": "GeometryCollection", "geometries": shapes}
    return shapes[0] if shapes else None


def serialize_feature(entity: JSON, type_name: str, hidden: frozenset[str] = frozenset()) -> JSON:
    """One entity as a Feature; `hidden` members were only read for the geometry."""
    source = GEOMETRY_SOURCES.get(type_name)
    properties = {k: v for k, v in entity.items() if k not in hidden and k != "@iot.id"}
    if source is not None and source.link is None:
        properties.pop(source.prop, None)
    feature: JSON = {"type": "Feature"}
    if "@iot.id" in entity:
        feature["id"] = entity["@iot.id"]
    feature["geometry"] = _geometry(entity, source)
    feature["properties"] = properties
    return feature


def serialize_collection(body: JSON, type_name: str, hidden: frozenset[str] = frozenset()) -> JSON:
    """A collection response (`value`, `@iot.count`, `@iot.nextLink`) as a FeatureCollection."""
    collection: JSON = {"type": "FeatureCollection"}
    collection.update({k: v for k, v in body.items() if k != "value"})
    collection["features"] = [serialize_feature(e, type_name, hidden) for e in body.get("value", [])]
    return collection
