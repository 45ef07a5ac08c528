"""Desired (the site file) against existing (the server) -> a plan of writes, as pure data.

Identity on the server: a Thing by `properties.siteId` + `properties.key` (the file's device key),
a Datastream, MultiDatastream or TaskingCapability by its `properties.key` among the site's Things,
an ObservedProperty by its definition URI, a Sensor or Actuator by its name (`<site>/<device>`).
Missing -> create (a new Thing in one deep insert with its Location, streams and capabilities);
different -> PATCH of the fields that differ; gone from the file -> `properties.retired = true` +
`retiredAt` (never DELETE: the history stays), for entities commissioning made (`managedBy`) only;
back in the file -> un-retired, same id. Properties are merged over what the server holds, so
properties others set (e.g. `lastScheduleAt`) survive.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from agents.commissioning import desired
from agents.commissioning.desired import JSON, Ref
from agents.commissioning.existing import STREAM_SETS, Existing
from agents.site.model import DeviceSpec, SiteSpec
from sta_client import EntityId, datetime_literal, entity_path

RETIRED = ("retired", "retiredAt")


class Action(StrEnum):
    CREATE = "create"
    PATCH = "patch"
    RETIRE = "retire"
    UNRETIRE = "unretire"


@dataclass(frozen=True)
class Step:
    """One write: a POST of `body` to the collection `path`, or a PATCH of the entity at `path`."""

    action: Action
    entity_set: str
    key: str  # the site file's key (or the definition/name of a shared entity)
    path: str
    body: JSON  # may hold `Ref`s, resolved when applied
    creates: Ref | None = None  # the Ref whose id the create makes known
    changed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    known: Mapping[Ref, EntityId]  # Refs of entities that exist already
    unchanged: int  # entities found as the file wants them
    warnings: tuple[str, ...] = ()  # differences the server does not let a PATCH repair

    def count(self, action: Action) -> int:
        return sum(1 for step in self.steps if step.action is action)


@dataclass
class _Planner:
    site: SiteSpec
    existing: Existing
    now: datetime
    steps: list[Step] = field(default_factory=list)
    known: dict[Ref, EntityId] = field(default_factory=dict)
    unchanged: int = 0
    warnings: list[str] = field(default_factory=list)

    def link(self, value: Any) -> Any:
        """A Ref to an existing entity becomes `{"@iot.id": id}`; a Ref to one yet to create stays."""
        if isinstance(value, Ref):
            return {"@iot.id": self.known[value]} if value in self.known else value
        if isinstance(value, list):
            return [self.link(item) for item in value]
        return value

    def patch(self, entity_set: str, key: str, found: JSON, wanted: JSON, move: JSON | None = None) -> None:
        """PATCH the fields of `wanted` that differ from `found` (properties merged over found's)."""
        found_properties = found.get("properties") or {}
        was_retired = any(name in found_properties for name in RETIRED)
        wanted = {**wanted, "properties": {**_without_retired(found_properties), **wanted["properties"]}}
        body = {name: value for name, value in wanted.items() if _differs(found, name, value)}
        body.update(move or {})
        if not body:
            self.unchanged += 1
            return
        action = Action.UNRETIRE if was_retired and "properties" in body else Action.PATCH
        self.steps.append(Step(action, entity_set, key, entity_path(entity_set, found["@iot.id"]), body,
                               changed=tuple(sorted(body))))

    def retire(self, entity_set: str, key: str, found: JSON) -> None:
        """Mark an entity the file no longer names as retired (only those commissioning made)."""
        properties = found.get("properties") or {}
        if properties.get(desired.MANAGED_BY) != desired.SITE_FILE:
            return
        if properties.get("retired") is True:
            self.unchanged += 1
            return
        body = {"properties": {**properties, "retired": True, "retiredAt": datetime_literal(self.now)}}
        self.steps.append(Step(Action.RETIRE, entity_set, key, entity_path(entity_set, found["@iot.id"]), body,
                               changed=("properties",)))

    def retire_duplicate(self, entity_set: str, found: JSON) -> None:
        """An entity of a key an older one holds (two runs at once created both): retired, and its
        SenML name given up, so that SenML records name one Datastream again."""
        properties = found.get("properties") or {}
        if properties.get(desired.MANAGED_BY) != desired.SITE_FILE or properties.get("retired") is True:
            return
        kept = {name: value for name, value in properties.items() if name != "senmlName"}
        if "senmlName" in properties:
            kept["retiredSenmlName"] = properties["senmlName"]
        body = {"properties": {**kept, "retired": True, "retiredAt": datetime_literal(self.now), "duplicate": True}}
        key = str(properties.get("key"))
        self.warnings.append(f"{entity_set} {found['@iot.id']} duplicates the key '{key}' (two commissioning "
                             "runs at once): retired")
        self.steps.append(Step(Action.RETIRE, entity_set, key, entity_path(entity_set, found["@iot.id"]), body,
                               changed=("properties",)))

    def create(self, entity_set: str, key: str, path: str, body: JSON, creates: Ref | None = None) -> None:
        self.steps.append(Step(Action.CREATE, entity_set, key, path, body, creates))


def _without_retired(properties: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in properties.items() if name not in RETIRED}


def _differs(found: JSON, name: str, value: Any) -> bool:
    if isinstance(value, Ref):
        return True  # links to entities still to create
    if isinstance(value, dict) and "@iot.id" in value:
        return bool((found.get(name) or {}).get("@iot.id") != value["@iot.id"])
    if isinstance(value, list) and value and all(isinstance(item, dict) and "@iot.id" in item for item in value):
        return [item.get("@iot.id") for item in found.get(name) or []] != [item["@iot.id"] for item in value]
    return bool(found.get(name) != value)


def _shared(planner: _Planner) -> None:
    """ObservedProperties (created when missing, never changed: other sites share them), Sensors and
    Actuators (one per device, the site's own: kept as the file says)."""
    site, existing = planner.site, planner.existing
    properties = {spec.definition: spec for _, stream in site.datastreams() for spec in [stream.observed_property]}
    properties.update({component.observed_property.definition: component.observed_property
                       for _, stream in site.multidatastreams() for component in stream.components})
    for definition, spec in sorted(properties.items()):
        ref = Ref("ObservedProperties", definition)
        if definition in existing.observed_properties:
            planner.known[ref] = existing.observed_properties[definition]
        else:
            planner.create("ObservedProperties", definition, "ObservedProperties",
                           desired.observed_property_body(spec), ref)
    for device in site.devices:
        if device.datastreams or device.multidatastreams:
            _own(planner, "Sensors", existing.sensors, desired.sensor_body(site, device))
        if device.capabilities:
            _own(planner, "Actuators", existing.actuators, desired.actuator_body(site, device))


def _own(planner: _Planner, entity_set: str, found_by_name: Mapping[str, JSON], body: JSON) -> None:
    ref = Ref(entity_set, body["name"])
    found = found_by_name.get(body["name"])
    if found is None:
        planner.create(entity_set, body["name"], entity_set, body, ref)
        return
    planner.known[ref] = found["@iot.id"]
    changed = {name: value for name, value in body.items() if found.get(name) != value}
    if changed:
        planner.steps.append(Step(Action.PATCH, entity_set, body["name"], entity_path(entity_set, found["@iot.id"]),
                                  changed, changed=tuple(sorted(changed))))
    else:
        planner.unchanged += 1


StreamBody = Callable[[SiteSpec, DeviceSpec, Any], JSON]


def _wanted_streams(site: SiteSpec, entity_set: str) -> Iterator[tuple[DeviceSpec, str, JSON]]:
    makers: dict[str, tuple[StreamBody, Callable[[DeviceSpec], tuple[Any, ...]]]] = {
        "Datastreams": (desired.datastream_body, lambda device: device.datastreams),
        "MultiDatastreams": (desired.multidatastream_body, lambda device: device.multidatastreams),
        "TaskingCapabilities": (desired.capability_body, lambda device: device.capabilities),
    }
    make, specs_of = makers[entity_set]
    for device in site.devices:
        for spec in specs_of(device):
            yield device, spec.key, make(site, device, spec)


def _linked(planner: _Planner, body: JSON) -> JSON:
    return {name: planner.link(value) for name, value in body.items()}


def _deep_thing(planner: _Planner, device: DeviceSpec) -> JSON:
    """A new Thing with its Location and every stream and capability not found elsewhere on the site."""
    body = {**desired.thing_body(planner.site, device), "Locations": [desired.location_body(planner.site, device)]}
    for entity_set in STREAM_SETS:
        found = planner.existing.streams(entity_set)
        streams = [_linked(planner, stream) for owner, key, stream in _wanted_streams(planner.site, entity_set)
                   if owner.key == device.key and key not in found]
        if streams:
            body[entity_set] = streams
    return body


def _same_place(found: JSON, location: JSON) -> bool:
    return any(place.get("location") == location["location"] for place in found.get("Locations") or [])


def _move(planner: _Planner, device: DeviceSpec, found: JSON) -> JSON | None:
    """A device that moved gets a new Location (the old one stays in its HistoricalLocations)."""
    location = desired.location_body(planner.site, device)
    if _same_place(found, location):
        return None
    ref = Ref("Locations", location["name"])
    planner.create("Locations", location["name"], "Locations", location, ref)
    return {"Locations": [ref]}


def _things(planner: _Planner) -> None:
    site, existing = planner.site, planner.existing
    for device in site.devices:
        ref = Ref("Things", device.key)
        found = existing.things.get(device.key)
        if found is None:
            planner.create("Things", device.key, "Things", _deep_thing(planner, device), ref)
            continue
        planner.known[ref] = found["@iot.id"]
        planner.patch("Things", device.key, found, desired.thing_body(site, device), _move(planner, device, found))
    wanted = {device.key for device in site.devices}
    for key, found in sorted(existing.things.items()):
        if key not in wanted:
            planner.retire("Things", key, found)


def _fixed_links(planner: _Planner, key: str, found: JSON, wanted: JSON) -> JSON:
    """A MultiDatastream's ObservedProperties are fixed when it is created (the server refuses to
    change them): a difference is reported, not patched. A new key makes a new MultiDatastream."""
    if "ObservedProperties" not in wanted or not _differs(found, "ObservedProperties", wanted["ObservedProperties"]):
        return wanted
    planner.warnings.append(f"MultiDatastream {key}: its ObservedProperties differ from the site file's and "
                            "cannot be changed; give it a new key to create it anew")
    return {name: value for name, value in wanted.items() if name != "ObservedProperties"}


def _streams(planner: _Planner, entity_set: str) -> None:
    found_streams = planner.existing.streams(entity_set)
    for device, key, body in _wanted_streams(planner.site, entity_set):
        thing = planner.existing.things.get(device.key)
        found = found_streams.get(key)
        if found is None:
            if thing is not None:  # (on a new Thing it is part of the deep insert)
                planner.create(entity_set, key, entity_set,
                               {**_linked(planner, body), "Thing": {"@iot.id": thing["@iot.id"]}})
            continue
        owner, entity = found
        move = None if owner == device.key else {"Thing": planner.link(Ref("Things", device.key))}
        planner.patch(entity_set, key, entity, _fixed_links(planner, key, entity, _linked(planner, body)), move)
    wanted = {key for _, key, _ in _wanted_streams(planner.site, entity_set)}
    for key, (_, entity) in sorted(found_streams.items()):
        if key not in wanted:
            planner.retire(entity_set, key, entity)


def _duplicates(planner: _Planner) -> None:
    """Retire what concurrent runs created twice: the younger Things of a key with all their streams,
    and the younger streams of a key."""
    for thing in planner.existing.duplicate_things:
        planner.retire_duplicate("Things", thing)
        for entity_set in STREAM_SETS:
            for stream in thing.get(entity_set, []):
                planner.retire_duplicate(entity_set, stream)
    for entity_set in STREAM_SETS:
        for stream in planner.existing.duplicate_streams(entity_set):
            planner.retire_duplicate(entity_set, stream)


def plan_site(site: SiteSpec, existing: Existing, now: datetime) -> Plan:
    """Every write that makes the server hold what the site file says (none when it already does)."""
    planner = _Planner(site, existing, now)
    _shared(planner)
    _things(planner)
    for entity_set in STREAM_SETS:
        _streams(planner, entity_set)
    _duplicates(planner)
    return Plan(tuple(planner.steps), dict(planner.known), planner.unchanged, tuple(planner.warnings))
