"""The GESSCon's Things on the server, one per radial, commissioned idempotently (found by
`properties.kind/key/radialId`, created when missing): each with its own status Datastreams (T5/T8) and its
own `radial_service` TaskingCapability (the aggregator's commands for that radial).

One Thing per radial because the server's access rules work per Thing (labels `radial:…`): an operator
granted radial R1 reads R1's status (its batteries' SoC in `essOverview`) and commands R1, and nothing of
R2. Labelling the Things is the administrator's job (`sta-admin label add <id> --label radial:<R>`).

Written here rather than reusing agents/commissioning (controllers never import agents); the pattern is
the same: the server is the truth, entities are found by their keys and created when absent."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from controllers.aggregator.capability import CAPABILITY_KEY, radial_service
from sta_client.paths import EntityId, entity_path
from sta_client.query import Query, string_literal

OM = "http://www.opengis.net/def/observationType/OGC-OM/2.0/"
KIND, KEY = "controller", "gesscon"
NO_UNIT: dict[str, Any] = {"name": None, "symbol": None, "definition": None}

# key -> (name, observation type): D3.1 T5 (aggregator) and T8 (GUI), on each radial's Thing; each
# Observation also names its radial in `parameters.radialId` (commandAccepted also `taskId` and `reason`)
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

    def patch(self, path: str, body: Any) -> None: ...


@dataclass(frozen=True)
class GessconIds:
    """One radial's GESSCon Thing, its status Datastreams (by key) and its command capability."""

    radial_id: str
    thing: EntityId
    streams: Mapping[str, EntityId]
    capability: EntityId


def _values(sta: Writer, path: str, query: Query) -> list[dict[str, Any]]:
    return list(sta.get(path, query).get("value", []))


def _find_or_create(sta: Writer, entity_set: str, condition: str, body: dict[str, Any]) -> EntityId:
    found = _values(sta, entity_set, Query().filter(condition).select("id").top(1))
    return found[0]["@iot.id"] if found else sta.create(entity_set, body)


def thing_condition(radial_id: str) -> str:
    """The `$filter` that finds the GESSCon Thing of a radial."""
    return (f"properties/kind eq '{KIND}' and properties/key eq '{KEY}' "
            f"and properties/radialId eq {string_literal(radial_id)}")


def _thing(sta: Writer, radial_id: str, latitude: float, longitude: float) -> EntityId:
    location = {"name": f"GESSCon {radial_id}", "description": "where the GESSCon runs",
                "encodingType": "application/geo+json",
                "location": {"type": "Point", "coordinates": [longitude, latitude]}}
    return _find_or_create(sta, "Things", thing_condition(radial_id), {
        "name": f"GESSCon {radial_id}",
        "description": f"Grid-side ESS controller: day-ahead schedules of radial {radial_id}",
        "properties": {"kind": KIND, "key": KEY, "radialId": radial_id}, "Locations": [location]})


def _observed_property(sta: Writer, key: str, name: str) -> EntityId:
    definition = f"urn:s4g:op:gesscon-{key}"
    return _find_or_create(sta, "ObservedProperties", f"definition eq {string_literal(definition)}",
                           {"name": name, "definition": definition, "description": name})


def commission_radial(sta: Writer, radial_id: str, *, latitude: float = 0.0, longitude: float = 0.0) -> GessconIds:
    """Find or create a radial's Thing, its status Datastreams and its command capability."""
    thing = _thing(sta, radial_id, latitude, longitude)
    meta = {"encodingType": "text/plain", "metadata": "GESSCon (controllers/gesscon)"}
    sensor = _find_or_create(sta, "Sensors", "name eq 'gesscon'", {"name": "gesscon", "description": "GESSCon",
                                                                    **meta})
    existing = {str((d.get("properties") or {}).get("key")): d["@iot.id"] for d in _values(
        sta, entity_path("Things", thing, "Datastreams"), Query().select("id", "properties").top(100))}
    streams: dict[str, EntityId] = {}
    for key, (name, kind) in STATUS_STREAMS.items():
        streams[key] = existing.get(key) or sta.create("Datastreams", {
            "name": f"GESSCon {radial_id} {key}", "description": name, "observationType": OM + kind,
            "unitOfMeasurement": NO_UNIT, "properties": {"key": key, "radialId": radial_id},
            "Thing": {"@iot.id": thing}, "Sensor": {"@iot.id": sensor},
            "ObservedProperty": {"@iot.id": _observed_property(sta, key, name)}})
    caps = _values(sta, entity_path("Things", thing, "TaskingCapabilities"),
                   Query().filter(f"properties/key eq '{CAPABILITY_KEY}'").select("id", "taskingParameters").top(1))
    if caps:
        if caps[0].get("taskingParameters") != radial_service():  # e.g. commissioned before the band fields
            sta.patch(entity_path("TaskingCapabilities", caps[0]["@iot.id"]), {"taskingParameters": radial_service()})
        return GessconIds(radial_id, thing, streams, caps[0]["@iot.id"])
    actuator = _find_or_create(sta, "Actuators", "name eq 'gesscon'", {"name": "gesscon", "description": "GESSCon",
                                                                        **meta})
    capability = sta.create("TaskingCapabilities", {
        "name": f"Radial service {radial_id}",
        "description": f"Aggregator command for radial {radial_id}: solution code, start/stop (T5)",
        "taskingParameters": radial_service(), "properties": {"key": CAPABILITY_KEY, "radialId": radial_id},
        "Thing": {"@iot.id": thing}, "Actuator": {"@iot.id": actuator}})
    return GessconIds(radial_id, thing, streams, capability)


def commission_gesscon(sta: Writer, radials: Iterable[str], *, latitude: float = 0.0,
                       longitude: float = 0.0) -> dict[str, GessconIds]:
    """One Thing per radial (radial id -> its ids), each found or created."""
    return {r: commission_radial(sta, r, latitude=latitude, longitude=longitude) for r in dict.fromkeys(radials)}
