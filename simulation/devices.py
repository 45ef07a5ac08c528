"""The batteries and chargers the simulation takes from the server: the Things of kind ess, grid-ess
and chargepoint, their power Datastream, their bus; and their latest power before a step.

A device's bus: its own ``bus`` property, else its site Thing's (same ``siteId``, kind ``site``), else
the bus nearest to its (or its site's) Location. A device without one is reported, not simulated.
"""
from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from simulation.geometry import LonLat
from simulation.grid import GridModel, Injection
from sta_client import EntityId, Query, StaClient, datetime_literal, entity_path, string_literal

log = logging.getLogger(__name__)

# ObservedProperty definition of a device's power (consumer convention: P > 0 charges / consumes) -> Thing kinds
POWER_STREAMS: dict[str, tuple[str, ...]] = {"urn:s4g:op:ess-power": ("ess", "grid-ess"),
                                             "urn:s4g:op:ev-power": ("chargepoint",)}


@dataclass(frozen=True)
class Device:
    thing_id: EntityId
    name: str
    kind: str
    datastream_id: EntityId
    bus: int | None


def position(thing: Mapping[str, Any]) -> LonLat | None:
    """The first GeoJSON Point among a Thing's expanded Locations."""
    for location in thing.get("Locations") or []:
        geometry = location.get("location") or {}
        if geometry.get("type") == "Point":
            lon, lat = geometry["coordinates"][:2]
            return LonLat(float(lon), float(lat))
    return None


def _sites(sta: StaClient) -> dict[str, dict[str, Any]]:
    query = Query().filter(f"properties/kind eq {string_literal('site')}").expand("Locations").top(1000)
    return {str(t["properties"].get("siteId")): t for t in sta.iter("Things", query)}


def _power_streams(sta: StaClient) -> list[dict[str, Any]]:
    clauses = " or ".join(f"ObservedProperty/definition eq {string_literal(d)}" for d in POWER_STREAMS)
    query = (Query().filter(clauses).select("id", "name")
             .expand("Thing", Query().expand("Locations")).expand("ObservedProperty", Query().select("definition"))
             .top(1000))
    return list(sta.iter("Datastreams", query))


def discover(sta: StaClient, model: GridModel, counters: Counter[str],
             site_ids: frozenset[str] | None = None) -> list[Device]:
    """Every battery and charger on the server (of the sites in ``site_ids``, when given) with its bus
    (None: not on this grid)."""
    sites = _sites(sta)
    devices: list[Device] = []
    for stream in _power_streams(sta):
        thing = stream["Thing"]
        properties = thing.get("properties") or {}
        kind = str(properties.get("kind"))
        if kind not in POWER_STREAMS.get(stream["ObservedProperty"]["definition"], ()):
            continue
        if site_ids is not None and str(properties.get("siteId")) not in site_ids:
            continue
        site = sites.get(str(properties.get("siteId")), {})
        site_properties = site.get("properties") or {}
        named = {"bus": properties.get("bus", site_properties.get("bus"))} if (
            "bus" in properties or "bus" in site_properties) else {}
        bus = model.bus_of(named, position(thing) or position(site))
        if bus is None:
            counters["thing_without_bus"] += 1
            log.warning("%s %s (Thing %s) has no bus on grid %s: not simulated", kind, thing.get("name"),
                        thing["@iot.id"], model.name)
        devices.append(Device(thing["@iot.id"], str(thing.get("name")), kind, stream["@iot.id"], bus))
    return devices


def latest_power_w(sta: StaClient, device: Device, when: datetime, max_age: timedelta) -> float | None:
    """The device's last power at or before ``when`` (None: none within ``max_age``)."""
    query = (Query().filter(f"phenomenonTime le {datetime_literal(when)} and "
                            f"phenomenonTime ge {datetime_literal(when - max_age)}")
             .orderby("phenomenonTime desc").select("result").top(1))
    rows = sta.get(entity_path("Datastreams", device.datastream_id, "Observations"), query).get("value", [])
    if not rows or not isinstance(rows[0].get("result"), int | float):
        return None
    return float(rows[0]["result"])


def injections(sta: StaClient, devices: list[Device], when: datetime, max_age: timedelta,
               counters: Counter[str]) -> list[Injection]:
    """The devices' latest powers as Injections at their buses (no recent reading: 0 W, counted)."""
    found: list[Injection] = []
    for device in devices:
        if device.bus is None:
            continue
        power_w = latest_power_w(sta, device, when, max_age)
        if power_w is None:
            counters["stale_readings"] += 1
            continue
        found.append(Injection(device.bus, power_w))
    return found
