"""A site as typed data: the result of loading a site file (loader.py), read by commissioning and the
runtime. snake_case here; the server's wire names (`maxCapacity_Wh`, `senmlName`, ...) are made in
`agents/commissioning/desired.py` only.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

OM = "http://www.opengis.net/def/observationType/OGC-OM/2.0/"


class DeviceKind(StrEnum):
    """`properties.kind` of a Thing (S4G-SYSTEM.md §1.2)."""

    SITE = "site"
    METER = "meter"
    ESS = "ess"
    PV = "pv"
    CHARGEPOINT = "chargepoint"
    ENERGY_ROUTER = "energy-router"
    GRID_ESS = "grid-ess"


class ObservationType(StrEnum):
    """The site file's names of the O&M observation types."""

    MEASUREMENT = "measurement"
    CATEGORY = "category"
    TRUTH = "truth"
    COUNT = "count"
    JSON = "json"

    @property
    def uri(self) -> str:
        return OM + {"measurement": "OM_Measurement", "category": "OM_CategoryObservation",
                     "truth": "OM_TruthObservation", "count": "OM_CountObservation",
                     "json": "OM_Observation"}[self.value]


@dataclass(frozen=True)
class Position:
    """A WGS84 point."""

    latitude: float
    longitude: float
    altitude_m: float | None = None


@dataclass(frozen=True)
class UnitSpec:
    symbol: str  # SenML symbol, e.g. `kWh`
    definition: str  # UCUM, e.g. `ucum:kW.h`
    name: str


@dataclass(frozen=True)
class ObservedPropertySpec:
    """Found on the server by `definition` (a stable URI such as `urn:s4g:op:active-power`)."""

    key: str
    definition: str
    name: str
    description: str = ""
    properties: Mapping[str, Any] = field(default_factory=dict)  # IEC 61850 / OBIS hints


@dataclass(frozen=True)
class DatastreamSpec:
    key: str  # unique in the site; the runtime's name of the stream (Reading.datastream)
    name: str
    description: str
    unit: UnitSpec | None  # None: a category/truth/json stream without a unit
    observed_property: ObservedPropertySpec
    observation_type: ObservationType
    senml_name: str  # `<site id>/<key>`
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ComponentSpec:
    """One member of a MultiDatastream (L1, L2, L3)."""

    name: str
    unit: UnitSpec
    observed_property: ObservedPropertySpec


@dataclass(frozen=True)
class MultiDatastreamSpec:
    key: str
    name: str
    description: str
    components: tuple[ComponentSpec, ...]
    senml_name: str
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CapabilitySpec:
    """A TaskingCapability on the device's Actuator."""

    key: str  # unique in the site (TaskMessage.capability)
    name: str
    description: str
    tasking_parameters: Mapping[str, Any]  # SWE Common 2.0 JSON (docs/tasking.md)
    template: str | None = None  # the capabilities.py template that made them, if any
    resolution_s: int | None = None  # schedules: seconds per step
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ConnectorSpec:
    """How the runtime reaches the device: `simulated`, `fronius`, `sunspec`, `ocpp`, ... + options."""

    kind: str
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DeviceProperties:
    """The status fields of a Thing (D3.1 T4, T7, T10) and what forecasts need, units in the names."""

    device_id: str | None = None
    radial_id: str | None = None
    manufacturer: str | None = None
    product_name: str | None = None
    max_capacity_wh: float | None = None
    max_power_w: float | None = None
    min_soc_pct: float | None = None
    max_soc_pct: float | None = None
    contract_limit_in_w: float | None = None
    contract_limit_out_w: float | None = None
    bus: str | None = None
    peak_power_kwp: float | None = None  # pv
    tilt_deg: float | None = None  # pv: 0 horizontal, 90 vertical
    azimuth_deg: float | None = None  # pv: 180 south
    losses_pct: float | None = None  # pv: system losses
    timezone: str | None = None  # site: IANA name, e.g. Europe/Rome
    annual_consumption_kwh: float | None = None  # site or meter: for load forecasts
    extra: Mapping[str, Any] = field(default_factory=dict)  # free properties, passed as given


@dataclass(frozen=True)
class DeviceSpec:
    """One Thing of the site (the site itself is the device of kind `site`, key `site`)."""

    key: str
    kind: DeviceKind
    name: str
    description: str
    properties: DeviceProperties
    location: Position  # the device's own, else the site's
    connector: ConnectorSpec | None = None
    datastreams: tuple[DatastreamSpec, ...] = ()
    multidatastreams: tuple[MultiDatastreamSpec, ...] = ()
    capabilities: tuple[CapabilitySpec, ...] = ()

    def connector_options(self) -> dict[str, Any]:
        """The connector's options over defaults from the device: its ratings (`max_capacity_wh`,
        `max_power_w`, `min_soc_pct`, `max_soc_pct`) and position (`latitude_deg`, `longitude_deg`)."""
        ratings = {name: getattr(self.properties, name) for name in RATINGS}
        defaults = {name: value for name, value in ratings.items() if value is not None}
        defaults.update(latitude_deg=self.location.latitude, longitude_deg=self.location.longitude)
        return {**defaults, **(self.connector.options if self.connector else {})}


RATINGS = ("max_capacity_wh", "max_power_w", "min_soc_pct", "max_soc_pct")


@dataclass(frozen=True)
class PluginSpec:
    """A local agent the host runs: `lessag` or `levchag`, with its options (strategy, cycle_s, ...)."""

    kind: str
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NorthboundSpec:
    """Where the site's server and broker are. None: from the environment (`resolve`). Credentials
    never sit in the site file: the runtime reads them from its environment."""

    server_url: str | None = None
    mqtt_url: str | None = None

    def resolve(self, environ: Mapping[str, str]) -> NorthboundSpec:
        """Fill what the file left open from `STA_CLIENT_BASE_URL` / `STA_CLIENT_MQTT_URL` (the
        client's own variables, sta_client/settings.py), then the project defaults."""
        return NorthboundSpec(
            server_url=self.server_url or environ.get("STA_CLIENT_BASE_URL") or "http://127.0.0.1:8080/v1.1",
            mqtt_url=self.mqtt_url or environ.get("STA_CLIENT_MQTT_URL") or "mqtt://127.0.0.1:18830")


@dataclass(frozen=True)
class SiteSpec:
    """One site (an SMX box, S4G's USM 0): its Things, streams, capabilities and agents."""

    id: str  # `properties.siteId` of every Thing; SenML names start with it
    name: str
    description: str
    location: Position
    sign_convention: str  # `properties.signConvention`, e.g. `consumer`
    devices: tuple[DeviceSpec, ...]  # devices[0] is the site Thing (kind site, key `site`)
    plugins: tuple[PluginSpec, ...] = ()
    northbound: NorthboundSpec = NorthboundSpec()
    file: str = ""

    @property
    def site_thing(self) -> DeviceSpec:
        return self.devices[0]

    def device(self, key: str) -> DeviceSpec:
        for device in self.devices:
            if device.key == key:
                return device
        raise KeyError(key)

    def datastreams(self) -> Iterator[tuple[DeviceSpec, DatastreamSpec]]:
        return ((device, stream) for device in self.devices for stream in device.datastreams)

    def multidatastreams(self) -> Iterator[tuple[DeviceSpec, MultiDatastreamSpec]]:
        return ((device, stream) for device in self.devices for stream in device.multidatastreams)

    def capabilities(self) -> Iterator[tuple[DeviceSpec, CapabilitySpec]]:
        return ((device, capability) for device in self.devices for capability in device.capabilities)

    def datastream(self, key: str) -> DatastreamSpec:
        for _, stream in self.datastreams():
            if stream.key == key:
                return stream
        raise KeyError(key)

    def capability(self, key: str) -> tuple[DeviceSpec, CapabilitySpec]:
        for device, capability in self.capabilities():
            if capability.key == key:
                return device, capability
        raise KeyError(key)
