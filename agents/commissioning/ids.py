"""`SiteIds`: the server's ids of a site's entities, by the site file's keys (what the runtime uses)."""
from __future__ import annotations

import json
import pathlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agents.commissioning.existing import Existing
from agents.site.model import SiteSpec
from sta_client import EntityId


class CommissioningError(RuntimeError):
    """The server does not hold what commissioning just wrote (or was told to write)."""


@dataclass(frozen=True)
class SiteIds:
    site: str
    things: Mapping[str, EntityId]  # device key -> Thing id (`site` -> the site Thing)
    datastreams: Mapping[str, EntityId]
    multidatastreams: Mapping[str, EntityId]
    capabilities: Mapping[str, EntityId]  # capability key -> TaskingCapability id

    def to_json(self) -> dict[str, Any]:
        return {"site": self.site, "things": dict(self.things), "datastreams": dict(self.datastreams),
                "multidatastreams": dict(self.multidatastreams), "capabilities": dict(self.capabilities)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SiteIds:
        return cls(data["site"], data["things"], data["datastreams"], data["multidatastreams"], data["capabilities"])

    def write(self, path: pathlib.Path) -> None:
        """A cache beside the site's queue (the server stays the truth)."""
        temporary = path.with_suffix(path.suffix + ".tmp")
        temporary.write_text(json.dumps(self.to_json(), indent=2, sort_keys=True), encoding="utf-8")
        temporary.replace(path)

    @classmethod
    def read(cls, path: pathlib.Path) -> SiteIds:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))


def site_ids(site: SiteSpec, existing: Existing) -> SiteIds:
    """The ids of every entity the file names; a missing one is a `CommissioningError`."""
    def ids(found: Mapping[str, tuple[str, dict[str, Any]]], keys: list[str], what: str) -> dict[str, EntityId]:
        missing = [key for key in keys if key not in found]
        if missing:
            raise CommissioningError(f"site {site.id}: no {what} on the server for {', '.join(missing)}")
        return {key: found[key][1]["@iot.id"] for key in keys}

    things = {key: (key, thing) for key, thing in existing.things.items()}
    return SiteIds(
        site=site.id,
        things=ids(things, [device.key for device in site.devices], "Thing"),
        datastreams=ids(existing.streams("Datastreams"), [spec.key for _, spec in site.datastreams()], "Datastream"),
        multidatastreams=ids(existing.streams("MultiDatastreams"),
                             [spec.key for _, spec in site.multidatastreams()], "MultiDatastream"),
        capabilities=ids(existing.streams("TaskingCapabilities"), [spec.key for _, spec in site.capabilities()],
                         "TaskingCapability"))
