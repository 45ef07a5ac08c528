"""Site file (YAML) -> `SiteSpec`, with errors that name the file, the line and the field.

The layout (sites/*.yaml are examples):

    site:          id, name, description, location {latitude, longitude, altitude_m},
                   sign_convention (consumer), properties, datastreams, multidatastreams, capabilities
    observed_properties:  key -> {definition, name, description, properties}  (beside the catalog)
    devices:       list of {key, kind, name, description, properties, location, connector,
                   datastreams, multidatastreams, capabilities}
    plugins:       list of {kind: lessag | levchag | iec104, options}
    northbound:    {server_url, mqtt_url}  (no credentials: those come from the environment)
"""
from __future__ import annotations

import pathlib
import zoneinfo
from collections.abc import Callable
from typing import Any, TypeVar

from agents.site.errors import SiteFileError
from agents.site.fields import Fields
from agents.site.model import (
    CapabilitySpec,
    ConnectorSpec,
    DatastreamSpec,
    DeviceKind,
    DeviceProperties,
    DeviceSpec,
    MultiDatastreamSpec,
    NorthboundSpec,
    ObservedPropertySpec,
    PluginSpec,
    Position,
    SiteSpec,
)
from agents.site.observed_properties import CATALOG
from agents.site.streams import StreamReader
from agents.site.yaml_tree import FieldPath, parse_yaml

SITE_KEY = "site"
PLUGIN_KINDS = ("lessag", "levchag", "iec104")  # iec104: the DSO-SCADA link (adapters/iec104)
SIGN_CONVENTIONS = ("consumer", "producer")
TEXT_PROPERTIES = ("device_id", "radial_id", "manufacturer", "product_name", "bus", "timezone")
NUMBER_PROPERTIES: dict[str, tuple[float, float | None]] = {  # name -> allowed [low, high]
    "max_capacity_wh": (0, None), "max_power_w": (0, None), "contract_limit_in_w": (0, None),
    "contract_limit_out_w": (0, None), "min_soc_pct": (0, 100), "max_soc_pct": (0, 100),
    "peak_power_kwp": (0, None), "tilt_deg": (0, 90), "azimuth_deg": (0, 360), "losses_pct": (0, 100),
    "annual_consumption_kwh": (0, None),
}
DEVICE_PARTS = ("datastreams", "multidatastreams", "capabilities")
_Keyed = TypeVar("_Keyed", DatastreamSpec, MultiDatastreamSpec, CapabilitySpec)


def load_site(path: str | pathlib.Path) -> SiteSpec:
    """Read and validate a site file."""
    file = str(path)
    try:
        text = pathlib.Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SiteFileError(file, 1, "", f"cannot read the file: {error}") from error
    return parse_site(text, file)


def parse_site(text: str, file: str = "<site>") -> SiteSpec:
    """Validate the text of a site file."""
    data, lines = parse_yaml(text, file)
    return _SiteReader(Fields(lines), file).site(data)


class _SiteReader:
    def __init__(self, fields: Fields, file: str) -> None:
        self.fields = fields
        self.file = file
        self.seen: dict[str, dict[str, FieldPath]] = {"device": {}, "stream": {}, "capability": {}}

    def site(self, raw: Any) -> SiteSpec:
        data = self.fields.mapping(raw, (), ("site", "devices"), ("observed_properties", "plugins", "northbound"))
        block = self.fields.mapping(data["site"], ("site",), ("id", "name", "location"),
                                    ("description", "sign_convention", "properties", *DEVICE_PARTS))
        site_id = self.fields.key(block["id"], ("site", "id"))
        observed = self.observed_properties(data.get("observed_properties", {}))
        streams = StreamReader(self.fields, site_id, observed)
        location = self.position(block["location"], ("site", "location"))
        site_thing = self.device({**block, "key": SITE_KEY, "kind": SITE_KEY}, ("site",), streams, location)
        devices = [self.device(raw_device, ("devices", index), streams, location)
                   for index, raw_device in enumerate(self.fields.items(data["devices"], ("devices",)))]
        return SiteSpec(
            id=site_id, name=site_thing.name, description=site_thing.description, location=location,
            sign_convention=self.fields.choice(block.get("sign_convention", "consumer"),
                                               ("site", "sign_convention"), SIGN_CONVENTIONS),
            devices=(site_thing, *devices), plugins=self.plugins(data.get("plugins", [])),
            northbound=self.northbound(data.get("northbound", {})), file=self.file)

    def observed_properties(self, raw: Any) -> dict[str, ObservedPropertySpec]:
        result = dict(CATALOG)
        for key, value in self.fields.free_mapping(raw, ("observed_properties",)).items():
            path: FieldPath = ("observed_properties", key)
            data = self.fields.mapping(value, path, ("definition", "name"), ("description", "properties"))
            result[self.fields.key(key, path)] = ObservedPropertySpec(
                key, self.fields.text(data["definition"], (*path, "definition")),
                self.fields.text(data["name"], (*path, "name")),
                self.fields.optional_text(data, "description", path) or "",
                self.fields.free_mapping(data.get("properties", {}), (*path, "properties")))
        return result

    def device(self, raw: Any, path: FieldPath, streams: StreamReader, site_location: Position) -> DeviceSpec:
        is_site = path == ("site",)
        optional = ("description", "properties", "location", "connector", *DEVICE_PARTS)
        data = self.fields.mapping(raw, path, ("key", "kind", "name"), optional if not is_site else
                                   (*optional, "id", "sign_convention"))
        key = self.fields.key(data["key"], (*path, "key"))
        kinds = [kind.value for kind in DeviceKind if (kind is DeviceKind.SITE) == is_site]
        kind = DeviceKind(self.fields.choice(data["kind"], (*path, "kind"), kinds))
        if not is_site and key == SITE_KEY:
            raise self.fields.error((*path, "key"), f"'{SITE_KEY}' is the site Thing's key")
        self.unique("device", key, (*path, "key"))
        name = self.fields.text(data["name"], (*path, "name"))
        properties = self.properties(data.get("properties", {}), (*path, "properties"))
        parts = {part: self.fields.items(data.get(part, []), (*path, part)) for part in DEVICE_PARTS}
        return DeviceSpec(
            key=key, kind=kind, name=name, description=self.fields.optional_text(data, "description", path) or "",
            properties=properties,
            location=self.position(data["location"], (*path, "location")) if "location" in data else site_location,
            connector=self.connector(data["connector"], (*path, "connector")) if "connector" in data else None,
            datastreams=self.keyed("stream", parts["datastreams"], (*path, "datastreams"),
                                   lambda item, at: streams.datastream(item, at, name)),
            multidatastreams=self.keyed("stream", parts["multidatastreams"], (*path, "multidatastreams"),
                                        lambda item, at: streams.multidatastream(item, at, name)),
            capabilities=self.keyed("capability", parts["capabilities"], (*path, "capabilities"),
                                    lambda item, at: streams.capability(item, at, properties)))

    def keyed(self, space: str, items: list[Any], path: FieldPath, read: Callable[[Any, FieldPath], _Keyed]
              ) -> tuple[_Keyed, ...]:
        """Read a list of specs whose keys are unique in the site (`space`: streams, capabilities)."""
        specs = []
        for index, item in enumerate(items):
            spec = read(item, (*path, index))
            self.unique(space, spec.key, (*path, index, "key"))
            specs.append(spec)
        return tuple(specs)

    def unique(self, space: str, key: str, path: FieldPath) -> None:
        first = self.seen[space].get(key)
        if first is not None:
            line = self.fields.lines.line_of(first)
            raise self.fields.error(path, f"duplicate {space} key '{key}' (first at line {line})")
        self.seen[space][key] = path

    def properties(self, raw: Any, path: FieldPath) -> DeviceProperties:
        data = self.fields.mapping(raw, path, (), (*TEXT_PROPERTIES, *NUMBER_PROPERTIES, "extra"))
        values: dict[str, Any] = {name: self._text_value(data[name], (*path, name))
                                  for name in TEXT_PROPERTIES if name in data}
        values.update({name: self.fields.number(data[name], (*path, name), low, high)
                       for name, (low, high) in NUMBER_PROPERTIES.items() if name in data})
        if values.get("min_soc_pct", 0) > values.get("max_soc_pct", 100):
            raise self.fields.error((*path, "min_soc_pct"), "min_soc_pct is above max_soc_pct")
        if "timezone" in values and not _is_timezone(values["timezone"]):
            raise self.fields.error((*path, "timezone"), f"'{values['timezone']}' is not an IANA time zone")
        extra = self.fields.free_mapping(data.get("extra", {}), (*path, "extra"))
        return DeviceProperties(**values, extra=extra)

    def _text_value(self, value: Any, path: FieldPath) -> str:
        """Ids may be written as numbers in YAML (`bus: 7`): taken as their text."""
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return self.fields.text(value, path)

    def position(self, raw: Any, path: FieldPath) -> Position:
        data = self.fields.mapping(raw, path, ("latitude", "longitude"), ("altitude_m",))
        return Position(self.fields.number(data["latitude"], (*path, "latitude"), -90, 90),
                        self.fields.number(data["longitude"], (*path, "longitude"), -180, 180),
                        self.fields.optional_number(data, "altitude_m", path))

    def connector(self, raw: Any, path: FieldPath) -> ConnectorSpec:
        data = self.fields.mapping(raw, path, ("kind",), ("options",))
        return ConnectorSpec(self.fields.key(data["kind"], (*path, "kind")),
                             self.fields.free_mapping(data.get("options", {}), (*path, "options")))

    def plugins(self, raw: Any) -> tuple[PluginSpec, ...]:
        result = []
        for index, item in enumerate(self.fields.items(raw, ("plugins",))):
            data = self.fields.mapping(item, ("plugins", index), ("kind",), ("options",))
            result.append(PluginSpec(self.fields.choice(data["kind"], ("plugins", index, "kind"), PLUGIN_KINDS),
                                     self.fields.free_mapping(data.get("options", {}), ("plugins", index, "options"))))
        return tuple(result)

    def northbound(self, raw: Any) -> NorthboundSpec:
        data = self.fields.free_mapping(raw, ("northbound",))
        for key in data:
            if any(word in key.lower() for word in ("user", "password", "secret", "token", "key", "cert")):
                raise self.fields.error(("northbound", key), "credentials never go in the site file (use the "
                                        "environment)")
        data = self.fields.mapping(data, ("northbound",), (), ("server_url", "mqtt_url"))
        return NorthboundSpec(self.fields.optional_text(data, "server_url", ("northbound",)),
                              self.fields.optional_text(data, "mqtt_url", ("northbound",)))


def _is_timezone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True
