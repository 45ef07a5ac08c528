"""The GESSCon Thing on the server, commissioned idempotently (find by `properties.key`, create what is
missing): its status Datastreams (T5/T8) and the aggregator's `radial_service` TaskingCapability.

Written here rather than reusing agents/commissioning (controllers never import agents); the pattern is
the same: the server is the truth, entities are found by `properties.key` and created when absent."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from controllers.aggregator.capability import CAPABILITY_KEY, radial_service
from sta_client.paths import EntityId, entity_path
from sta_client.query import Query, string_literal

OM = "http://www.opengis.net/def/observationType/OGC-OM/2.0/"
KIND, KEY = "controller", "gesscon"
NO_UNIT: dict[str, Any] = {"name": None, "symbol": None, "definition": None}

# key -> (name, observation type): D3.1 T5 (aggregator) and T8 (GUI); each Observation names its radial in
# `parameters.radialId` (commandAccepted also `taskId` and `reason`)
STATUS_STREAMS: Mapping[str, tuple[str, str]] = {
    "commandAccepted": ("Aggregator command accepted", "OM_TruthObservation"),
    "commandError": ("Radial command error (none: planned within every limit)", "OM_CategoryObservation"),
    "radialSolution": ("Radial solution code in force", "OM_CategoryObservation"),
    "radialState": ("Radial overview: plan status, cost, slack, flags", "OM_Observation"),
    "essOverview": ("Overview of every ESS of the radial", "OM_Observation"),
    "essWithinBounds": ("All ESS of the radial within bounds", "OM_TruthObservation"),
}


class Writer(Protocol):
    def create(self, path: str, body: Any, idempotency_key: str | None = None) -> EntityId: ...

    def get(self, path: str, query: Query | None = None) -> dict[str, Any]: ...


@dataclass(frozen=True)
class GessconIds:
    thing: EntityId
    streams: Mapping[str, EntityId]
    capability: EntityId


def _values(sta: Writer, path: str, query: Query) -> list[dict[str, Any]]:
    return list(sta.get(path, query).get("value", []))


def _find_or_create(sta: Writer, entity_set: str, condition: str, body: dict[str, Any]) -> EntityId:
    found = _values(sta, entity_set, Query().filter(condition).select("id").top(1))
    return found[0]["@iot.id"] if found else sta.create(entity_set, body)


def _thing(sta: Writer, latitude: float, longitude: float) -> EntityId:
    condition = f"properties/kind eq '{KIND}' and properties/key eq '{KEY}'"
    location = {"name": "GESSCon", "description": "where the GESSCon runs", "encodingType": "application/geo+json",
                "location": {"type": "Point", "coordinates": [longitude, latitude]}}
    return _find_or_create(sta, "Things", condition, {
        "name": "GESSCon", "description": "Grid-side ESS controller: day-ahead schedules per radial",
        "properties": {"kind": KIND, "key": KEY}, "Locations": [location]})


def _observed_property(sta: Writer, key: str, name: str) -> EntityId:
    definition = f"urn:s4g:op:gesscon-{key}"
    return _find_or_create(sta, "ObservedProperties", f"definition eq {string_literal(definition)}",
                           {"name": name, "definition": definition, "description": name})


def commission_gesscon(sta: Writer, *, latitude: float = 0.0, longitude: float = 0.0) -> GessconIds:
    """Find or create the Thing, its Sensor/Actuator, status Datastreams and command capability."""
    thing = _thing(sta, latitude, longitude)
    meta = {"encodingType": "text/plain", "metadata": "GESSCon (controllers/gesscon)"}
    sensor = _find_or_create(sta, "Sensors", "name eq 'gesscon'", {"name": "gesscon", "description": "GESSCon",
                                                                    **meta})
    existing = {str((d.get("properties") or {}).get("key")): d["@iot.id"] for d in _values(
        sta, entity_path("Things", thing, "Datastreams"), Query().select("id", "properties").top(100))}
    streams: dict[str, EntityId] = {}
    for key, (name, kind) in STATUS_STREAMS.items():
        streams[key] = existing.get(key) or sta.create("Datastreams", {
            "name": f"GESSCon {key}", "description": name, "observationType": OM + kind,
            "unitOfMeasurement": NO_UNIT, "properties": {"key": key},
            "Thing": {"@iot.id": thing}, "Sensor": {"@iot.id": sensor},
            "ObservedProperty": {"@iot.id": _observed_property(sta, key, name)}})
    caps = _values(sta, entity_path("Things", thing, "TaskingCapabilities"),
                   Query().filter(f"properties/key eq '{CAPABILITY_KEY}'").select("id").top(1))
    if caps:
        return GessconIds(thing, streams, caps[0]["@iot.id"])
    actuator = _find_or_create(sta, "Actuators", "name eq 'gesscon'", {"name": "gesscon", "description": "GESSCon",
                                                                        **meta})
    capability = sta.create("TaskingCapabilities", {
        "name": "Radial service", "description": "Aggregator command: radial solution code, start/stop (T5)",
        "taskingParameters": radial_service(), "properties": {"key": CAPABILITY_KEY},
        "Thing": {"@iot.id": thing}, "Actuator": {"@iot.id": actuator}})
    return GessconIds(thing, streams, capability)
