"""A household as the logged-in user sees it on the server: the Things of one site (`properties.siteId`),
their Datastreams with the newest Observation, and their TaskingCapabilities — read in one request,
through the user's own `StaClient`, so the server decides what is visible (a neighbour's site reads
as an empty result, exactly as the API answers it)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sta_client import Query, StaClient, literal

JSON = dict[str, Any]
DEVICE_STATUS = "urn:s4g:op:device-status"


@dataclass(frozen=True)
class SiteRef:
    site_id: str
    name: str


@dataclass(frozen=True)
class Latest:
    value: Any
    time: datetime


@dataclass(frozen=True)
class Stream:
    id: int
    key: str
    name: str
    unit: str | None
    thing_kind: str
    observed_property: str
    latest: Latest | None

    @property
    def is_device_status(self) -> bool:
        return self.observed_property == DEVICE_STATUS


@dataclass(frozen=True)
class Capability:
    id: int
    key: str
    name: str
    template: str | None
    role: str | None
    thing_kind: str
    tasked_by: tuple[str, ...] | None = None  # properties.taskedBy: the roles that may task it (None: any)


@dataclass(frozen=True)
class Household:
    site_id: str
    name: str
    timezone: str | None
    streams: dict[str, Stream]
    capabilities: tuple[Capability, ...]

    def stream(self, *keys: str) -> Stream | None:
        """The first of `keys` the site has."""
        return next((self.streams[key] for key in keys if key in self.streams), None)

    def streams_ending(self, suffix: str) -> list[Stream]:
        return sorted((s for s in self.streams.values() if s.key.endswith(suffix)), key=lambda s: s.key)


def list_sites(sta: StaClient) -> list[SiteRef]:
    """The sites the user can see: Things of kind `site`, by name."""
    query = Query().filter("properties/kind eq 'site'").select("id", "name", "properties").orderby("name")
    sites = {str(thing["properties"]["siteId"]): str(thing["name"]) for thing in sta.iter("Things", query)
             if isinstance(thing.get("properties"), dict) and thing["properties"].get("siteId")}
    return [SiteRef(site_id, name) for site_id, name in sorted(sites.items(), key=lambda item: item[1])]


def household_query(site_id: str) -> Query:
    newest = Query().orderby("phenomenonTime desc").top(1).select("result", "phenomenonTime")
    streams = (Query().select("id", "name", "unitOfMeasurement", "properties")
               .expand("ObservedProperty", Query().select("definition")).expand("Observations", newest))
    capabilities = Query().select("id", "name", "properties")
    return (Query().filter(f"properties/siteId eq {literal(site_id)}").select("id", "name", "properties")
            .expand("Datastreams", streams).expand("TaskingCapabilities", capabilities))


def load_household(sta: StaClient, site_id: str) -> Household | None:
    """The site's Things as the user sees them; None when none is visible (unknown or not theirs)."""
    things = list(sta.iter("Things", household_query(site_id)))
    return household_of(site_id, things)


def household_of(site_id: str, things: list[JSON]) -> Household | None:
    """Pure: the household from the Things' JSON (with expanded Datastreams and capabilities)."""
    if not things:
        return None
    site_thing = next((t for t in things if t.get("properties", {}).get("kind") == "site"), things[0])
    streams: dict[str, Stream] = {}
    capabilities: list[Capability] = []
    for thing in things:
        kind = str(thing.get("properties", {}).get("kind", ""))
        for stream in thing.get("Datastreams", []):
            parsed = stream_of(stream, kind)
            streams[parsed.key] = parsed
        capabilities.extend(capability_of(tc, kind) for tc in thing.get("TaskingCapabilities", []))
    timezone = site_thing.get("properties", {}).get("timezone")
    return Household(site_id, str(site_thing.get("name", site_id)), str(timezone) if timezone else None,
                     streams, tuple(sorted(capabilities, key=lambda c: c.key)))


def stream_of(stream: JSON, thing_kind: str) -> Stream:
    properties = stream.get("properties") or {}
    unit = (stream.get("unitOfMeasurement") or {}).get("symbol")
    observations = stream.get("Observations") or []
    latest = None
    if observations:
        newest = observations[0]
        time_text = str(newest["phenomenonTime"]).split("/")[0]
        latest = Latest(newest.get("result"), datetime.fromisoformat(time_text.replace("Z", "+00:00")))
    definition = str((stream.get("ObservedProperty") or {}).get("definition", ""))
    return Stream(int(stream["@iot.id"]), str(properties.get("key", stream["@iot.id"])), str(stream.get("name", "")),
                  str(unit) if unit else None, thing_kind, definition, latest)


def capability_of(capability: JSON, thing_kind: str) -> Capability:
    properties = capability.get("properties") or {}
    template, role, tasked_by = properties.get("template"), properties.get("role"), properties.get("taskedBy")
    return Capability(int(capability["@iot.id"]), str(properties.get("key", capability["@iot.id"])),
                      str(capability.get("name", "")), str(template) if template else None,
                      str(role) if role else None, thing_kind,
                      tuple(str(r) for r in tasked_by) if isinstance(tasked_by, list) else None)
