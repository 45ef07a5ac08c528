"""The entities a site file asks for, as the server's JSON (wire names of S4G-SYSTEM.md §1.2).

Pure: `SiteSpec` in, bodies out. Links to shared entities (ObservedProperties, Sensors, Actuators)
are `Ref`s, resolved to ids by the plan (existing ones) or when the plan is applied (created ones).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agents.site.model import (
    OM,
    CapabilitySpec,
    DatastreamSpec,
    DeviceProperties,
    DeviceSpec,
    MultiDatastreamSpec,
    ObservedPropertySpec,
    Position,
    SiteSpec,
    UnitSpec,
)

JSON = dict[str, Any]
COMPLEX_OBSERVATION = OM + "OM_ComplexObservation"
# Entities commissioning made carry `properties.managedBy = "site-file"`; only those are retired when the
# file no longer names them (others' entities on the site's Things, e.g. forecast Datastreams, stay as they are).
MANAGED_BY, SITE_FILE = "managedBy", "site-file"
POWER_UNITS = frozenset({"W", "kW", "MW", "var", "kvar", "VA", "kVA"})

# DeviceProperties field -> the Thing property's wire name
WIRE_PROPERTIES = {
    "device_id": "deviceId", "radial_id": "radialId", "manufacturer": "manufacturer",
    "product_name": "productName", "max_capacity_wh": "maxCapacity_Wh", "max_power_w": "maxPower_W",
    "min_soc_pct": "minSoC_pct", "max_soc_pct": "maxSoC_pct", "contract_limit_in_w": "contractLimitIn_W",
    "contract_limit_out_w": "contractLimitOut_W", "bus": "bus", "peak_power_kwp": "peakPower_kWp",
    "tilt_deg": "tilt_deg", "azimuth_deg": "azimuth_deg", "losses_pct": "losses_pct", "timezone": "timezone",
    "annual_consumption_kwh": "annualConsumption_kWh",
}


@dataclass(frozen=True)
class Ref:
    """A link to an entity found or created by commissioning: `{"@iot.id": <its id>}` once known."""

    entity_set: str  # ObservedProperties, Sensors, Actuators
    key: str  # the definition URI (ObservedProperties) or the name (Sensors, Actuators)


def thing_properties(site: SiteSpec, device: DeviceSpec) -> JSON:
    """`properties` of a device's Thing: identity (siteId + key), kind, status fields, free extras."""
    status = {WIRE_PROPERTIES[name]: value for name, value in _fields(device.properties).items() if value is not None}
    identity: JSON = {"siteId": site.id, "key": device.key, "kind": device.kind.value, MANAGED_BY: SITE_FILE}
    if device.key == site.site_thing.key:
        identity["signConvention"] = site.sign_convention
    return {**device.properties.extra, **status, **identity}


def _fields(properties: DeviceProperties) -> dict[str, Any]:
    return {name: getattr(properties, name) for name in WIRE_PROPERTIES}


def thing_body(site: SiteSpec, device: DeviceSpec) -> JSON:
    """The Thing's own fields (no links)."""
    return {"name": device.name, "description": device.description or device.name,
            "properties": thing_properties(site, device)}


def location_body(site: SiteSpec, device: DeviceSpec) -> JSON:
    """A WGS84 Point (2D: the server stores 2D geometries; an altitude goes in `properties`)."""
    body: JSON = {"name": f"{site.id}/{device.key}", "description": f"Position of {device.name}",
                  "encodingType": "application/geo+json", "location": geojson_point(device.location)}
    if device.location.altitude_m is not None:
        body["properties"] = {"altitude_m": device.location.altitude_m}
    return body


def geojson_point(position: Position) -> JSON:
    return {"type": "Point", "coordinates": [position.longitude, position.latitude]}


def unit_body(unit: UnitSpec | None) -> JSON:
    if unit is None:
        return {"name": None, "symbol": None, "definition": None}
    return {"name": unit.name, "symbol": unit.symbol, "definition": unit.definition}


def stream_properties(site: SiteSpec, key: str, senml_name: str, units: list[UnitSpec | None],
                      extra: Mapping[str, Any]) -> JSON:
    properties: JSON = {**extra, "siteId": site.id, "key": key, "senmlName": senml_name, MANAGED_BY: SITE_FILE}
    if any(unit is not None and unit.symbol in POWER_UNITS for unit in units):
        properties["signConvention"] = site.sign_convention
    return properties


def sensor_name(site: SiteSpec, device: DeviceSpec) -> str:
    return f"{site.id}/{device.key}"


def sensor_body(site: SiteSpec, device: DeviceSpec) -> JSON:
    """One Sensor per device: what measures (its connector, manufacturer and product)."""
    return {"name": sensor_name(site, device), "description": f"Measurements of {device.name}",
            **_device_metadata(site, device)}


def actuator_body(site: SiteSpec, device: DeviceSpec) -> JSON:
    """One Actuator per device with capabilities (the same name as its Sensor)."""
    return {"name": sensor_name(site, device), "description": f"Set-points of {device.name}",
            **_device_metadata(site, device)}


def _device_metadata(site: SiteSpec, device: DeviceSpec) -> JSON:
    """`metadata` (a text: the product and how it is reached) and the same as `properties`."""
    properties: JSON = {"siteId": site.id, "device": device.key, "kind": device.kind.value}
    for name, value in (("manufacturer", device.properties.manufacturer),
                        ("productName", device.properties.product_name),
                        ("connector", device.connector.kind if device.connector else None)):
        if value is not None:
            properties[name] = value
    product = " ".join(str(properties[name]) for name in ("manufacturer", "productName") if name in properties)
    reached = f" via the {properties['connector']} connector" if "connector" in properties else ""
    return {"encodingType": "text/plain", "metadata": f"{product or device.name}{reached}",
            "properties": properties}


def observed_property_body(spec: ObservedPropertySpec) -> JSON:
    return {"name": spec.name, "definition": spec.definition, "description": spec.description or spec.name,
            "properties": dict(spec.properties)}


def datastream_body(site: SiteSpec, device: DeviceSpec, stream: DatastreamSpec) -> JSON:
    """A Datastream's fields and its ObservedProperty and Sensor links (not its Thing)."""
    return {"name": stream.name, "description": stream.description or stream.name,
            "unitOfMeasurement": unit_body(stream.unit), "observationType": stream.observation_type.uri,
            "properties": stream_properties(site, stream.key, stream.senml_name, [stream.unit], stream.properties),
            "ObservedProperty": Ref("ObservedProperties", stream.observed_property.definition),
            "Sensor": Ref("Sensors", sensor_name(site, device))}


def multidatastream_body(site: SiteSpec, device: DeviceSpec, stream: MultiDatastreamSpec) -> JSON:
    units: list[UnitSpec | None] = [component.unit for component in stream.components]
    return {"name": stream.name, "description": stream.description or stream.name,
            "observationType": COMPLEX_OBSERVATION,
            "multiObservationDataTypes": [OM + "OM_Measurement"] * len(stream.components),
            "unitOfMeasurements": [unit_body(component.unit) for component in stream.components],
            "properties": {**stream_properties(site, stream.key, stream.senml_name, units, stream.properties),
                           "components": [component.name for component in stream.components]},
            "ObservedProperties": [Ref("ObservedProperties", component.observed_property.definition)
                                   for component in stream.components],
            "Sensor": Ref("Sensors", sensor_name(site, device))}


def capability_body(site: SiteSpec, device: DeviceSpec, capability: CapabilitySpec) -> JSON:
    properties: JSON = {**capability.properties, "siteId": site.id, "key": capability.key, MANAGED_BY: SITE_FILE}
    if capability.resolution_s is not None:
        properties["resolution_s"] = capability.resolution_s
    if capability.template is not None:
        properties["template"] = capability.template
    return {"name": capability.name, "description": capability.description or capability.name,
            "taskingParameters": dict(capability.tasking_parameters), "properties": properties,
            "Actuator": Ref("Actuators", sensor_name(site, device))}
