"""Typed records of the SensorThings entities (Sensing and Tasking Core, MultiDatastream):
snake_case attributes, wire names exactly as the spec (`phenomenonTime`, `@iot.id`), mapped once
here. `from_json` keeps navigation members (expanded entities, `…@iot.navigationLink`) in `links`;
`to_json` gives a create body: the properties that are set, plus `links` members (e.g. `{"Thing":
{"@iot.id": 5}}` or a nested deep-insert member). Plain dict bodies are accepted everywhere too."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self, TypeVar

from sta_client.paths import EntityId

JSON = dict[str, Any]
# attributes that are not spec properties of the type
_META = frozenset({"id", "self_link", "links"})


def wire_name(attribute: str) -> str:
    """`phenomenon_time` -> `phenomenonTime`; the few irregular names say theirs in metadata."""
    head, *rest = attribute.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


@dataclass(frozen=True, kw_only=True)
class Entity:
    """What every entity has: its id, self link and navigation members."""

    entity_set: ClassVar[str] = ""
    id: EntityId | None = None
    self_link: str | None = None
    links: JSON = field(default_factory=dict)

    @classmethod
    def _wire(cls) -> dict[str, str]:
        return {f.name: f.metadata.get("wire", wire_name(f.name)) for f in dataclasses.fields(cls)
                if f.name not in _META}

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        wire = cls._wire()
        known = set(wire.values()) | {"@iot.id", "@iot.selfLink"}
        values = {attribute: data[name] for attribute, name in wire.items() if name in data}
        links = {name: value for name, value in data.items() if name not in known}
        return cls(id=data.get("@iot.id"), self_link=data.get("@iot.selfLink"), links=links, **values)

    def to_json(self) -> JSON:
        """A create or PATCH body: the properties that are set and the navigation members (not the
        id, self link or `…@iot.navigationLink` annotations the server wrote)."""
        body: JSON = {}
        for attribute, name in self._wire().items():
            value = getattr(self, attribute)
            if value is not None:
                body[name] = value
        body.update((name, value) for name, value in self.links.items() if "@iot." not in name)
        return body

    def ref(self) -> JSON:
        """`{"@iot.id": id}`: this entity as the member of another's body."""
        if self.id is None:
            raise ValueError(f"{type(self).__name__} has no id yet")
        return {"@iot.id": self.id}


@dataclass(frozen=True, kw_only=True)
class Thing(Entity):
    entity_set: ClassVar[str] = "Things"
    name: str | None = None
    description: str | None = None
    properties: JSON | None = None


@dataclass(frozen=True, kw_only=True)
class Location(Entity):
    entity_set: ClassVar[str] = "Locations"
    name: str | None = None
    description: str | None = None
    encoding_type: str | None = "application/geo+json"
    location: JSON | None = None
    properties: JSON | None = None


@dataclass(frozen=True, kw_only=True)
class Sensor(Entity):
    entity_set: ClassVar[str] = "Sensors"
    name: str | None = None
    description: str | None = None
    encoding_type: str | None = None
    metadata: Any = None
    properties: JSON | None = None


@dataclass(frozen=True, kw_only=True)
class ObservedProperty(Entity):
    entity_set: ClassVar[str] = "ObservedProperties"
    name: str | None = None
    definition: str | None = None
    description: str | None = None
    properties: JSON | None = None


@dataclass(frozen=True, kw_only=True)
class Datastream(Entity):
    entity_set: ClassVar[str] = "Datastreams"
    name: str | None = None
    description: str | None = None
    unit_of_measurement: JSON | None = None
    observation_type: str | None = None
    observed_area: JSON | None = None
    phenomenon_time: str | None = None
    result_time: str | None = None
    properties: JSON | None = None


@dataclass(frozen=True, kw_only=True)
class MultiDatastream(Entity):
    entity_set: ClassVar[str] = "MultiDatastreams"
    name: str | None = None
    description: str | None = None
    unit_of_measurements: list[JSON] | None = None
    observation_type: str | None = None
    multi_observation_data_types: list[str] | None = None
    observed_area: JSON | None = None
    phenomenon_time: str | None = None
    result_time: str | None = None
    properties: JSON | None = None


@dataclass(frozen=True, kw_only=True)
class Observation(Entity):
    entity_set: ClassVar[str] = "Observations"
    phenomenon_time: str | None = None
    result: Any = None
    result_time: str | None = None
    result_quality: Any = None
    valid_time: str | None = None
    parameters: JSON | None = None


@dataclass(frozen=True, kw_only=True)
class FeatureOfInterest(Entity):
    entity_set: ClassVar[str] = "FeaturesOfInterest"
    name: str | None = None
    description: str | None = None
    encoding_type: str | None = "application/geo+json"
    feature: JSON | None = None
    properties: JSON | None = None


@dataclass(frozen=True, kw_only=True)
class Actuator(Entity):
    entity_set: ClassVar[str] = "Actuators"
    name: str | None = None
    description: str | None = None
    encoding_type: str | None = None
    metadata: Any = None
    properties: JSON | None = None


@dataclass(frozen=True, kw_only=True)
class TaskingCapability(Entity):
    entity_set: ClassVar[str] = "TaskingCapabilities"
    name: str | None = None
    description: str | None = None
    tasking_parameters: JSON | None = None
    properties: JSON | None = None


@dataclass(frozen=True, kw_only=True)
class Task(Entity):
    entity_set: ClassVar[str] = "Tasks"
    creation_time: str | None = None
    tasking_parameters: JSON | None = None


ENTITY_TYPES: tuple[type[Entity], ...] = (Thing, Location, Sensor, ObservedProperty, Datastream, MultiDatastream,
                                          Observation, FeatureOfInterest, Actuator, TaskingCapability, Task)
E = TypeVar("E", bound=Entity)
