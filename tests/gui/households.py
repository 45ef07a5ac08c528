"""A household on the test server, made by the administrator as commissioning would make it (Things
with `properties.siteId`/`kind`/`key`, Datastreams with `properties.key`, the ESS set-point capability
from the agents' own template, a mode-switch capability) and labelled `site:<id>` for its users."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from agents.site.capabilities import TemplateInput, ess_setpoint
from agents.site.model import DeviceProperties
from sta_client import Query, StaClient, literal
from tests.client.conftest import RunningServer

HOUSEHOLD = ["resident", "aggregator"]  # properties.taskedBy of the household's own capabilities
MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"
CATEGORY = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_CategoryObservation"
MODE_PARAMETERS = {"type": "DataRecord", "field": [
    {"name": "mode", "type": "Category", "constraint": {"type": "AllowedTokens",
                                                       "value": ["self-consumption", "minimum-bill",
                                                                 "minimum-grid-exchange"]}}]}
# thing key -> (kind, [(stream key, name, unit symbol or None for a category, observed property key)])
STREAMS: dict[str, tuple[str, list[tuple[str, str, str | None, str]]]] = {
    "site": ("site", [("P_load", "House consumption", "W", "load-power"),
                      ("lessagMode", "LESSAg mode", None, "lessag-mode")]),
    "meter": ("meter", [("P_grid", "PCC active power", "W", "active-power"),
                        ("meterStatus", "PCC meter link", None, "device-status")]),
    "ess": ("ess", [("P_ess", "Battery power", "W", "ess-power"), ("SoC", "Battery state of charge", "%", "ess-soc"),
                    ("essStatus", "Inverter status", None, "device-status"),
                    ("setpointAccepted", "Set-point accepted", None, "setpoint-accepted")]),
    "pv": ("pv", [("P_pv", "PV power", "W", "pv-power")]),
    "cp1": ("chargepoint", [("cp1.P_ev", "Charging power", "W", "ev-power"),
                            ("cp1.cpStatus", "Charge point status", None, "chargepoint-status")]),
}


@dataclass(frozen=True)
class Household:
    site_id: str
    streams: dict[str, int]  # key -> Datastream id
    capabilities: dict[str, int]  # key -> TaskingCapability id


def _stream(site_id: str, key: str, name: str, unit: str | None, op: str) -> dict[str, Any]:
    return {"name": name, "description": name, "observationType": MEASUREMENT if unit else CATEGORY,
            "unitOfMeasurement": {"name": unit or "", "symbol": unit or "", "definition": ""},
            "properties": {"siteId": site_id, "key": key},
            "ObservedProperty": {"name": op, "definition": f"urn:s4g:op:{op}", "description": op},
            "Sensor": {"name": f"{site_id} {key}", "description": "test", "encodingType": "text/plain",
                       "metadata": "test"}}


def _capability(site_id: str, key: str, name: str, template: str, parameters: dict[str, Any],
                tasked_by: list[str] | None = None) -> dict[str, Any]:
    properties = {"siteId": site_id, "key": key, "template": template,
                  **({"taskedBy": tasked_by} if tasked_by else {})}
    return {"name": name, "description": name, "taskingParameters": parameters, "properties": properties,
            "Actuator": {"name": f"{site_id} {key}", "description": "test", "encodingType": "text/plain",
                         "metadata": "test"}}


def make_household(server: RunningServer, admin: StaClient, site_id: str | None = None, *,
                   household_setpoint: bool = True) -> Household:
    """`household_setpoint=False`: the battery has only the grid's set-point capability (none that
    names residents in `taskedBy`)."""
    site_id = site_id or f"house-{uuid.uuid4().hex[:6]}"
    setpoint = ess_setpoint(TemplateInput(DeviceProperties(max_power_w=6400), None))
    thing_ids = []
    for key, (kind, specs) in STREAMS.items():
        body: dict[str, Any] = {
            "name": f"{site_id} {key}", "description": f"{kind} of {site_id}",
            "properties": {"siteId": site_id, "key": key, "kind": kind,
                           **({"timezone": "Europe/Rome"} if kind == "site" else {})},
            "Datastreams": [_stream(site_id, *spec) for spec in specs],
            "Locations": [{"name": f"{site_id} {key}", "description": "test", "encodingType": "application/geo+json",
                           "location": {"type": "Point", "coordinates": [11.3548, 46.4983]}}]}
        if kind == "ess":
            body["TaskingCapabilities"] = [
                _capability(site_id, "ess_setpoint", "ESS power set-point", "ess-setpoint", setpoint),
                *([_capability(site_id, "user_setpoint", "Household set-point", "ess-setpoint", setpoint, HOUSEHOLD)]
                  if household_setpoint else [])]
        if kind == "site":
            body["TaskingCapabilities"] = [_capability(site_id, "lessag_mode", "Behaviour mode", "lessag-mode",
                                                       MODE_PARAMETERS, HOUSEHOLD)]
        thing_ids.append(str(admin.create("Things", body)))
    server.admin_cli("label", "add", *thing_ids, "--label", f"site:{site_id}")
    query = (Query().filter(f"properties/siteId eq {literal(site_id)}")
             .expand("Datastreams", Query().select("id", "properties"))
             .expand("TaskingCapabilities", Query().select("id", "properties")))
    streams: dict[str, int] = {}
    capabilities: dict[str, int] = {}
    for thing in admin.iter("Things", query):
        streams.update({s["properties"]["key"]: int(s["@iot.id"]) for s in thing.get("Datastreams", [])})
        capabilities.update({c["properties"]["key"]: int(c["@iot.id"]) for c in thing.get("TaskingCapabilities", [])})
    return Household(site_id, streams, capabilities)


def add_observations(client: StaClient, stream_id: int, rows: list[list[Any]],
                     components: tuple[str, ...] = ("phenomenonTime", "result")) -> None:
    """Rows of `components`, every one stored (a refused row fails the test)."""
    ids = client.create_observations(stream_id, list(components), rows)
    assert all(isinstance(i, int) for i in ids), ids
