"""A small radial on a real server, written the way commissioning and the forecast adapters write it
(S4G-SYSTEM.md §1.2 names): site Things with contracts, ESS Things with SoC / setpointAccepted Datastreams
and an `ess_schedule` capability, a load forecast per site and a day-ahead price run; and a stand-in LESSAg
that answers Tasks the way agents/lessag does (`setpointAccepted`, `parameters.taskId`)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from controllers.gesscon.status import iso
from sta_client import StaClient
from sta_client.paths import EntityId, entity_path
from sta_client.query import Query

OM = "http://www.opengis.net/def/observationType/OGC-OM/2.0/"
NO_UNIT: dict[str, Any] = {"name": None, "symbol": None, "definition": None}
WATT = {"name": "watt", "symbol": "W", "definition": "ucum:W"}
ISO = {"href": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}


def schedule_capability(max_w: float) -> dict[str, Any]:
    return {"type": "DataRecord", "field": [
        {"name": "startTime", "type": "Time", "uom": ISO},
        {"name": "resolution", "type": "Quantity", "uom": {"code": "s"}, "optional": True,
         "constraint": {"type": "AllowedValues", "value": [60]}},
        {"name": "powerProfile", "type": "DataArray",
         "elementCount": {"type": "Count", "constraint": {"type": "AllowedValues", "interval": [[1, 1440]]}},
         "elementType": {"name": "power", "type": "Quantity", "uom": {"code": "W"},
                         "constraint": {"type": "AllowedValues", "interval": [[-max_w, max_w]]}}},
        {"name": "priority", "type": "Count", "optional": True,
         "constraint": {"type": "AllowedValues", "interval": [[1, 3]]}}]}


@dataclass
class Radial:
    radial_id: str
    price_key: str
    ess: dict[str, dict[str, EntityId]] = field(default_factory=dict)  # key -> SoC / ack / capability ids


def _location(name: str) -> list[dict[str, Any]]:
    return [{"name": name, "description": name, "encodingType": "application/geo+json",
             "location": {"type": "Point", "coordinates": [8.98, 56.83]}}]


def _stream(tag: str, key: str, kind: str, unit: dict[str, Any]) -> dict[str, Any]:
    return {"name": f"{tag} {key}", "description": key, "observationType": OM + kind, "unitOfMeasurement": unit,
            "properties": {"key": key}, "Sensor": {"name": f"{tag}-sensor-{key}", "description": "test",
                                                   "encodingType": "text/plain", "metadata": "test"},
            "ObservedProperty": {"name": f"{tag} {key}", "definition": f"urn:test:{tag}:{key}", "description": key}}


def build_radial(sta: StaClient, day: datetime, issued: datetime, sites: int = 3, batteries: int = 2,
                 contract_in_w: float = 11000) -> Radial:
    """`sites` houses (1.2 kW evening-heavy load each, 11 kW contracts), the first `batteries` with a
    9.6 kWh / 3 kW battery; a time-of-use price (cheap nights, dear evenings)."""
    tag = uuid.uuid4().hex[:8]
    radial = Radial(f"feeder-{tag}", f"price:{tag}")
    for i in range(sites):
        site_id = f"{tag}-house-{i}"
        site = sta.create("Things", {
            "name": site_id, "description": "house", "Locations": _location(site_id),
            "properties": {"kind": "site", "siteId": site_id, "key": "site", "radialId": radial.radial_id,
                           "contractLimitIn_W": contract_in_w, "contractLimitOut_W": 6000},
            "Datastreams": [_stream(tag, "P_load_forecast", "OM_Measurement", WATT)]})
        stream = sta.get(entity_path("Things", site, "Datastreams"), Query().select("id"))["value"][0]["@iot.id"]
        rows = [[iso(day + timedelta(hours=h)), iso(issued), 800.0 + (1500.0 if 17 <= h < 21 else 0.0)]
                for h in range(24)]
        sta.create_observations(stream, ["phenomenonTime", "resultTime", "result"], rows)
        if i < batteries:
            radial.ess[f"{site_id}/ess"] = _ess(sta, tag, site_id)
    price = sta.create("Things", {"name": radial.price_key, "description": "prices", "Locations": _location("p"),
                                  "properties": {"kind": "forecast", "key": radial.price_key},
                                  "Datastreams": [_stream(tag, "price", "OM_Measurement", WATT)]})
    stream = sta.get(entity_path("Things", price, "Datastreams"), Query().select("id"))["value"][0]["@iot.id"]
    rows = [[iso(day + timedelta(hours=h)), iso(issued), 80.0 if h < 6 else (400.0 if 17 <= h < 21 else 200.0)]
            for h in range(24)]
    sta.create_observations(stream, ["phenomenonTime", "resultTime", "result"], rows)
    return radial


def _ess(sta: StaClient, tag: str, site_id: str) -> dict[str, EntityId]:
    thing = sta.create("Things", {
        "name": f"{site_id} battery", "description": "battery", "Locations": _location(site_id),
        "properties": {"kind": "ess", "siteId": site_id, "key": "ess", "maxCapacity_Wh": 9600, "maxPower_W": 3000,
                       "minSoC_pct": 10, "maxSoC_pct": 95},
        "Datastreams": [_stream(tag, "SoC", "OM_Measurement", {"name": "percent", "symbol": "%",
                                                              "definition": "ucum:%"}),
                        _stream(tag, "setpointAccepted", "OM_TruthObservation", NO_UNIT)],
        "TaskingCapabilities": [{"name": "ESS schedule", "description": "24 h", "properties": {
            "key": "ess_schedule", "resolution_s": 60}, "taskingParameters": schedule_capability(3000),
            "Actuator": {"name": f"{site_id}-actuator", "description": "a", "encodingType": "text/plain",
                         "metadata": "test"}}]})
    entity = sta.get(entity_path("Things", thing), Query().expand("Datastreams", Query().select("id", "properties"))
                     .expand("TaskingCapabilities", Query().select("id")))
    ids = {d["properties"]["key"]: d["@iot.id"] for d in entity["Datastreams"]}
    capability = entity["TaskingCapabilities"][0]["@iot.id"]
    return {"soc": ids["SoC"], "ack": ids["setpointAccepted"], "capability": capability}


def post_soc(sta: StaClient, ids: dict[str, EntityId], at: datetime, soc_pct: float) -> None:
    sta.create(entity_path("Datastreams", ids["soc"], "Observations"), {"phenomenonTime": iso(at), "result": soc_pct})


def tasks(sta: StaClient, ids: dict[str, EntityId]) -> list[dict[str, Any]]:
    query = Query().orderby("id asc").select("id", "taskingParameters")
    return list(sta.iter(entity_path("TaskingCapabilities", ids["capability"], "Tasks"), query))


def acknowledge(sta: StaClient, ids: dict[str, EntityId], task: EntityId, at: datetime, accepted: bool = True) -> None:
    sta.create(entity_path("Datastreams", ids["ack"], "Observations"), {
        "phenomenonTime": iso(at), "result": accepted,
        "parameters": {"taskId": task, "reason": "accepted" if accepted else "out-of-range: test"}})


def observations(sta: StaClient, stream: EntityId, radial_id: str) -> list[Any]:
    query = Query().filter(f"parameters/radialId eq '{radial_id}'").orderby("id asc").select("result", "parameters")
    return list(sta.iter(entity_path("Datastreams", stream, "Observations"), query))
