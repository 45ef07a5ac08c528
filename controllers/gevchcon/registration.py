"""GEVChCon's own entities on the server, found or created (idempotent by `properties.controllerId` and
`properties.key`): its Thing (kind `controller`), the command TaskingCapability of D3.1 table 9 on its
Actuator, and its Datastreams — `commandResult` and `errorCode` (table 9's status), and per charging site
`<site>.evLoadProfile` (table 10's daily EV load profile, one Observation per step) and `<site>.evShortfall`
(the energy the EVs will miss, with the per-charge-point detail in `parameters`)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sta_client import EntityId, Query, StaClient, string_literal

JSON = dict[str, Any]
OM = "http://www.opengis.net/def/observationType/OGC-OM/2.0/"
ISO_8601 = {"href": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
COMMAND_CAPABILITY = "gevchcon_command"
NO_UNIT: JSON = {"name": None, "symbol": None, "definition": None}
WATT: JSON = {"name": "watt", "symbol": "W", "definition": "ucum:W"}
WATT_HOUR: JSON = {"name": "kilowatt hour / 1000", "symbol": "Wh", "definition": "ucum:W.h"}

# key -> (name, observation type, unit, ObservedProperty definition)
CONTROLLER_STREAMS = {
    "commandResult": ("Command result", "OM_CategoryObservation", NO_UNIT, "urn:s4g:op:command-result"),
    "errorCode": ("Command error code", "OM_CategoryObservation", NO_UNIT, "urn:s4g:op:error-code"),
}
SITE_STREAMS = {
    "evLoadProfile": ("EV load profile", "OM_Measurement", WATT, "urn:s4g:op:ev-load-profile"),
    "evShortfall": ("EV energy shortfall", "OM_Measurement", WATT_HOUR, "urn:s4g:op:ev-energy-shortfall"),
}


def command_parameters() -> JSON:
    """SWE Common 2.0 of the table 9 command (validated by the server when a Task is created)."""
    return {"type": "DataRecord", "field": [
        {"name": "action", "type": "Category",
         "constraint": {"type": "AllowedTokens", "value": ["avoid_overload", "voltage_control"]}},
        {"name": "radialId", "type": "Text"},
        {"name": "startTime", "type": "Time", "uom": ISO_8601},
        {"name": "stopTime", "type": "Time", "uom": ISO_8601},
        {"name": "maxPower", "type": "Quantity", "uom": {"code": "W"}, "optional": True,
         "label": "the radial's limit (avoid_overload: import, voltage_control: EV power)",
         "constraint": {"type": "AllowedValues", "interval": [[0, 1e9]]}}]}


@dataclass(frozen=True)
class ControllerIds:
    thing: EntityId
    capability: EntityId
    streams: dict[str, EntityId]  # key (`commandResult`, `<site>.evShortfall`, ...) -> Datastream id


def wanted_streams(sites: Iterable[str]) -> dict[str, tuple[str, str, JSON, str]]:
    streams = dict(CONTROLLER_STREAMS)
    for site in sites:
        streams.update({f"{site}.{key}": (f"{name} of {site}", kind, unit, definition)
                        for key, (name, kind, unit, definition) in SITE_STREAMS.items()})
    return streams


class Registration:
    def __init__(self, client: StaClient, controller_id: str) -> None:
        self.client = client
        self.controller_id = controller_id

    def ensure(self, sites: Iterable[str], location: JSON) -> ControllerIds:
        """`location`: a GeoJSON geometry for the Thing's Location (its Observations' FeatureOfInterest)."""
        thing = self._find()
        if thing is None:
            self.client.create("Things", {**self._thing_body(), "Locations": [
                {"name": f"{self.controller_id}/location", "description": "where GEVChCon's decisions apply",
                 "encodingType": "application/geo+json", "location": location}]}, f"{self.controller_id}/thing")
            thing = self._find()
            assert thing is not None, "the Thing just created is not found"
        known = {(s.get("properties") or {}).get("key"): s["@iot.id"] for s in thing.get("Datastreams") or []}
        for key, spec in wanted_streams(sites).items():
            if key not in known:
                known[key] = self.client.create("Datastreams", {**self._stream_body(key, spec),
                                                                "Thing": {"@iot.id": thing["@iot.id"]}},
                                                f"{self.controller_id}/stream/{key}")
        capability = next(c["@iot.id"] for c in thing.get("TaskingCapabilities") or []
                          if (c.get("properties") or {}).get("key") == COMMAND_CAPABILITY)
        return ControllerIds(thing["@iot.id"], capability, {str(k): v for k, v in known.items()})

    def _find(self) -> JSON | None:
        query = (Query().filter(f"properties/controllerId eq {string_literal(self.controller_id)}").orderby("id")
                 .expand("Datastreams", Query().select("id", "properties"))
                 .expand("TaskingCapabilities", Query().select("id", "properties")))
        rows = self.client.get("Things", query)["value"]
        return rows[0] if rows else None

    def _thing_body(self) -> JSON:
        actuator = self._named("Actuators", {"name": f"{self.controller_id}/actuator",
                                             "description": "GEVChCon's command intake (D3.1 table 9)",
                                             "encodingType": "text/plain", "metadata": "Tasks over HTTP or MQTT"})
        return {"name": "GEVChCon", "description": "Grid-side EV charging controller (D3.1 tables 9, 10)",
                "properties": {"kind": "controller", "controllerId": self.controller_id, "key": "gevchcon"},
                "TaskingCapabilities": [{"name": "GEVChCon command", "description": "avoid_overload / voltage_control",
                                         "taskingParameters": command_parameters(),
                                         "properties": {"key": COMMAND_CAPABILITY}, "Actuator": actuator}]}

    def _stream_body(self, key: str, spec: tuple[str, str, JSON, str]) -> JSON:
        name, observation_type, unit, definition = spec
        observed = self._named("ObservedProperties", {"name": definition.rsplit(":", 1)[-1],
                                                      "definition": definition, "description": name},
                               by="definition")
        sensor = self._named("Sensors", {"name": f"{self.controller_id}/sensor", "encodingType": "text/plain",
                                         "description": "GEVChCon's decisions", "metadata": "controllers/gevchcon"})
        return {"name": name, "description": name, "observationType": OM + observation_type,
                "unitOfMeasurement": unit, "properties": {"key": key, "controllerId": self.controller_id},
                "ObservedProperty": observed, "Sensor": sensor}

    def _named(self, entity_set: str, body: JSON, by: str = "name") -> JSON:
        """A link to the entity of that name (or definition), or the body to create it inline."""
        query = Query().filter(f"{by} eq {string_literal(str(body[by]))}").select("id").top(1)
        rows = self.client.get(entity_set, query)["value"]
        return {"@iot.id": rows[0]["@iot.id"]} if rows else body


def site_location(client: StaClient, site_id: str) -> JSON:
    """The GeoJSON of a site Thing's Location (GEVChCon's default place), a null island point when none."""
    query = (Query().filter(f"properties/siteId eq {string_literal(site_id)} and properties/kind eq 'site'")
             .expand("Locations", Query().select("location")).top(1))
    rows = client.get("Things", query)["value"]
    locations = rows[0].get("Locations") or [] if rows else []
    return dict(locations[0]["location"]) if locations else {"type": "Point", "coordinates": [0.0, 0.0]}
