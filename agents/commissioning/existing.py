"""What the server holds of a site: its Things (with their Locations, Datastreams, MultiDatastreams
and TaskingCapabilities) and the shared entities commissioning links to. The server is the truth:
commissioning reads this before planning and again after applying."""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from agents.site.model import SiteSpec
from sta_client import EntityId, Query, string_literal

JSON = dict[str, Any]
STREAM_SETS = ("Datastreams", "MultiDatastreams", "TaskingCapabilities")


class EntityStore(Protocol):
    """The part of `sta_client.StaClient` commissioning uses."""

    def iter(self, path: str, query: Query | None = None) -> Iterator[dict[str, Any]]: ...

    def create(self, path: str, body: Any, idempotency_key: str | None = None) -> EntityId: ...

    def patch(self, path: str, body: Any) -> None: ...


@dataclass(frozen=True)
class Existing:
    things: Mapping[str, JSON]  # device key -> the Thing, its streams and Locations expanded
    observed_properties: Mapping[str, EntityId]  # definition URI -> id
    sensors: Mapping[str, JSON]  # name -> Sensor
    actuators: Mapping[str, JSON]  # name -> Actuator
    # Things found twice for one key (the oldest is the one in `things`): two commissioning runs at once
    duplicate_things: tuple[JSON, ...] = ()

    def streams(self, entity_set: str) -> dict[str, tuple[str, JSON]]:
        """Key -> (device key of its Thing, the entity), over every Thing of the site; of a key found
        twice, the oldest entity (see `duplicate_streams`)."""
        found: dict[str, tuple[str, JSON]] = {}
        for device, stream in self._all_streams(entity_set):
            key = (stream.get("properties") or {}).get("key")
            if isinstance(key, str) and (key not in found or _older(stream, found[key][1])):
                found[key] = (device, stream)
        return found

    def duplicate_streams(self, entity_set: str) -> list[JSON]:
        """The streams of a key that another, older stream of the site holds."""
        kept = {id(stream) for _, stream in self.streams(entity_set).values()}
        return [stream for _, stream in self._all_streams(entity_set)
                if isinstance((stream.get("properties") or {}).get("key"), str) and id(stream) not in kept]

    def _all_streams(self, entity_set: str) -> Iterator[tuple[str, JSON]]:
        for device, thing in sorted(self.things.items()):
            for stream in thing.get(entity_set, []):
                yield device, stream


def _older(entity: JSON, than: JSON) -> bool:
    return str(entity["@iot.id"]).zfill(20) < str(than["@iot.id"]).zfill(20)


def _things_query(site_id: str) -> Query:
    return (Query().filter(f"properties/siteId eq {string_literal(site_id)}").orderby("id")
            .expand("Locations")
            .expand("Datastreams", Query().expand("ObservedProperty").expand("Sensor").top(1000))
            .expand("MultiDatastreams", Query().expand("ObservedProperties").expand("Sensor").top(1000))
            .expand("TaskingCapabilities", Query().expand("Actuator").top(1000)))


def _by_key(things: Iterable[JSON]) -> tuple[dict[str, JSON], list[JSON]]:
    """Things by key, the oldest of a key winning (they come ordered by id), and the others."""
    found: dict[str, JSON] = {}
    others: list[JSON] = []
    for thing in things:
        key = (thing.get("properties") or {}).get("key")
        if isinstance(key, str) and key not in found:
            found[key] = thing
        elif isinstance(key, str):
            others.append(thing)
    return found, others


def _by_name(entities: Iterable[JSON]) -> dict[str, JSON]:
    """Entities by name, the oldest of a name winning (they come ordered by id)."""
    found: dict[str, JSON] = {}
    for entity in entities:
        found.setdefault(entity["name"], entity)
    return found


def _or(field: str, values: Iterable[str]) -> str:
    return " or ".join(f"{field} eq {string_literal(value)}" for value in sorted(set(values)))


def read_existing(store: EntityStore, site: SiteSpec) -> Existing:
    """One read of everything commissioning compares (a few requests)."""
    things, duplicates = _by_key(store.iter("Things", _things_query(site.id)))
    definitions = {stream.observed_property.definition for _, stream in site.datastreams()} | {
        component.observed_property.definition for _, stream in site.multidatastreams()
        for component in stream.components}
    observed = {entity["definition"]: entity["@iot.id"]
                for entity in store.iter("ObservedProperties",
                                         Query().filter(_or("definition", definitions)).orderby("id desc"))
                } if definitions else {}
    prefix = Query().filter(f"startswith(name, {string_literal(site.id + '/')})").orderby("id")
    return Existing(things, observed, _by_name(store.iter("Sensors", prefix)),
                    _by_name(store.iter("Actuators", prefix)), tuple(duplicates))
