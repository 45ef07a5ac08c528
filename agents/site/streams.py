"""Site file sections of one device: Datastreams, MultiDatastreams and TaskingCapabilities."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agents.site.capabilities import TEMPLATES, TemplateInput
from agents.site.fields import Fields
from agents.site.model import (
    CapabilitySpec,
    ComponentSpec,
    DatastreamSpec,
    DeviceProperties,
    MultiDatastreamSpec,
    ObservationType,
    ObservedPropertySpec,
    UnitSpec,
)
from agents.site.units import UNITS, ucum_definition
from agents.site.yaml_tree import FieldPath

DATASTREAM_FIELDS = ("name", "description", "unit", "observation_type", "properties")
CAPABILITY_FIELDS = ("description", "template", "tasking_parameters", "resolution_s", "limit_w", "properties")


class StreamReader:
    """Reads the stream and capability lists of one device of one site."""

    def __init__(self, fields: Fields, site_id: str, observed: Mapping[str, ObservedPropertySpec]) -> None:
        self.fields = fields
        self.site_id = site_id
        self.observed = observed

    def unit(self, value: Any, path: FieldPath) -> UnitSpec:
        symbol = self.fields.text(value, path)
        unit = UNITS.get(symbol)
        if unit is None:
            raise self.fields.error(path, f"'{symbol}' is not a SenML unit symbol (e.g. W, kW, Wh, kWh, V, var, %)")
        return UnitSpec(unit.symbol, ucum_definition(unit), unit.name)

    def observed_property(self, value: Any, path: FieldPath) -> ObservedPropertySpec:
        key = self.fields.key(value, path)
        if key not in self.observed:
            raise self.fields.error(path, f"unknown observed property '{key}' (define it under observed_properties)")
        return self.observed[key]

    def datastream(self, raw: Any, path: FieldPath, device_name: str) -> DatastreamSpec:
        data = self.fields.mapping(raw, path, ("key", "observed_property"), DATASTREAM_FIELDS)
        key = self.fields.key(data["key"], (*path, "key"))
        observed = self.observed_property(data["observed_property"], (*path, "observed_property"))
        kind = ObservationType(self.fields.choice(data.get("observation_type", "measurement"),
                                                  (*path, "observation_type"), [t.value for t in ObservationType]))
        if kind is ObservationType.MEASUREMENT and "unit" not in data:
            raise self.fields.error(path, "missing field 'unit' (a measurement needs a SenML unit)")
        unit = self.unit(data["unit"], (*path, "unit")) if "unit" in data else None
        return DatastreamSpec(
            key=key, name=self.fields.optional_text(data, "name", path) or f"{device_name}: {observed.name}",
            description=self.fields.optional_text(data, "description", path) or observed.description,
            unit=unit, observed_property=observed, observation_type=kind, senml_name=f"{self.site_id}/{key}",
            properties=self.fields.free_mapping(data.get("properties", {}), (*path, "properties")))

    def multidatastream(self, raw: Any, path: FieldPath, device_name: str) -> MultiDatastreamSpec:
        data = self.fields.mapping(raw, path, ("key", "observed_property", "unit"),
                                   ("name", "description", "components", "properties"))
        key = self.fields.key(data["key"], (*path, "key"))
        observed = self.observed_property(data["observed_property"], (*path, "observed_property"))
        unit = self.unit(data["unit"], (*path, "unit"))
        names = self.fields.items(data.get("components", ["L1", "L2", "L3"]), (*path, "components"))
        if len(names) < 2:
            raise self.fields.error((*path, "components"), "a MultiDatastream needs at least 2 components")
        components = tuple(ComponentSpec(self.fields.key(name, (*path, "components", index)), unit, observed)
                           for index, name in enumerate(names))
        return MultiDatastreamSpec(
            key=key, name=self.fields.optional_text(data, "name", path) or f"{device_name}: {observed.name}",
            description=self.fields.optional_text(data, "description", path) or observed.description,
            components=components, senml_name=f"{self.site_id}/{key}",
            properties=self.fields.free_mapping(data.get("properties", {}), (*path, "properties")))

    def capability(self, raw: Any, path: FieldPath, device: DeviceProperties) -> CapabilitySpec:
        data = self.fields.mapping(raw, path, ("key", "name"), CAPABILITY_FIELDS)
        key = self.fields.key(data["key"], (*path, "key"))
        resolution_s = (self.fields.integer(data["resolution_s"], (*path, "resolution_s"), low=1)
                        if "resolution_s" in data else None)
        template = self.fields.optional_text(data, "template", path)
        limit_w = self.fields.optional_number(data, "limit_w", path, low=0)
        return CapabilitySpec(
            key=key, name=self.fields.text(data["name"], (*path, "name")),
            description=self.fields.optional_text(data, "description", path) or "",
            tasking_parameters=self.tasking_parameters(data, path, TemplateInput(device, resolution_s, limit_w)),
            template=template, resolution_s=resolution_s,
            properties=self.fields.free_mapping(data.get("properties", {}), (*path, "properties")))

    def tasking_parameters(self, data: Mapping[str, Any], path: FieldPath, given: TemplateInput) -> dict[str, Any]:
        if ("template" in data) == ("tasking_parameters" in data):
            raise self.fields.error(path, "give either 'template' or 'tasking_parameters'")
        if "tasking_parameters" in data:
            swe = self.fields.free_mapping(data["tasking_parameters"], (*path, "tasking_parameters"))
            if "type" not in swe:
                raise self.fields.error((*path, "tasking_parameters"), "expected a SWE Common component ('type')")
            return swe
        name = self.fields.choice(data["template"], (*path, "template"), TEMPLATES)
        try:
            return TEMPLATES[name](given)
        except ValueError as error:
            raise self.fields.error((*path, "template"), str(error)) from error
