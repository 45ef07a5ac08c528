"""The simulation as the physics source of the sites on its grid: per site and step, the PV and household
load of the SimBench profile elements at the site's bus and the voltage at that bus from the latest power
flow, written as Observations of three Datastreams on the site's own Thing (kind ``site``).

Mapping: a site is at the bus of its site Thing (``bus`` property, else the nearest LV bus to its Location,
``GridModel.bus_of``); it *is* the profile loads and PV generators (pandapower ``load`` / ``sgen`` rows) at
that bus. Those elements are in every power flow already, so the flow counts them once; only the sites'
batteries and chargers are added (``simulation.devices``). Two sites on one bus share its elements equally.

The Datastreams live on the site Thing so that they carry the site's labels (row-level security): the
site's device agent and whoever may read the site read them, nobody else. Keys (``properties.key``):
``physics.P_pv`` (W, <= 0, consumer sign), ``physics.P_load`` (W, >= 0), ``physics.V`` (V, the phase voltage
of a balanced flow); ``properties.managedBy = dsf-se`` (a site's commissioning leaves them alone).
"""
from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from simulation.commission import observed_property, sensor
from simulation.devices import position
from simulation.entities import MANAGED_BY, OM
from simulation.grid import GridModel
from simulation.profiles import StepProfile
from sta_client import EntityId, Query, StaClient, entity_path, string_literal

log = logging.getLogger(__name__)

PHYSICS_STREAMS: dict[str, tuple[str, str, dict[str, str]]] = {
    # key -> (ObservedProperty key, name, unit)
    "physics.P_pv": ("physics-pv-power", "PV power at the site's bus (simulation)",
                     {"name": "watt", "symbol": "W", "definition": "ucum:W"}),
    "physics.P_load": ("physics-load-power", "Household load at the site's bus (simulation)",
                       {"name": "watt", "symbol": "W", "definition": "ucum:W"}),
    "physics.V": ("physics-voltage", "Phase voltage at the site's bus (simulation)",
                  {"name": "volt", "symbol": "V", "definition": "ucum:V"}),
}


@dataclass(frozen=True)
class SitePhysics:
    """A site on the grid: its Thing, bus, and the ids of its physics Datastreams by key."""

    site_id: str
    thing_id: EntityId
    bus: int
    streams: Mapping[str, EntityId]


def bus_elements(model: GridModel, bus: int) -> tuple[list[int], list[int]]:
    """The profile load and sgen rows (pandapower indices) at a bus; the loop's own extra loads excluded."""
    profile_loads = set(model.profiles.load_p_mw.columns)
    loads = [int(i) for i in model.net.load.index[model.net.load.bus == bus] if int(i) in profile_loads]
    sgens = [int(i) for i in model.net.sgen.index[model.net.sgen.bus == bus]]
    return loads, sgens


def physics_values(model: GridModel, step: StepProfile, bus: int, sharing: int,
                   vm_pu: float | None) -> dict[str, float]:
    """Datastream key -> value of one site at one step (pure): its share of the bus's profile load and
    PV (consumer sign) and the bus's phase voltage (left out when no flow has a value for the bus)."""
    loads, sgens = bus_elements(model, bus)
    load_w = float(step.load_p_mw[loads].sum()) * 1e6 / sharing if loads else 0.0
    pv_w = -float(step.sgen_p_mw[sgens].sum()) * 1e6 / sharing if sgens else 0.0
    values = {"physics.P_load": round(load_w, 3), "physics.P_pv": round(pv_w, 3)}
    if vm_pu is not None and math.isfinite(vm_pu):
        values["physics.V"] = round(vm_pu * model_phase_v(model), 3)
    return values


def model_phase_v(model: GridModel) -> float:
    """The nominal phase voltage of the grid's LV side (V)."""
    return float(model.net.bus.vn_kv.at[model.transformer_bus]) * 1e3 / math.sqrt(3)


def commission_physics(sta: StaClient, model: GridModel, site_ids: Iterable[str] | None = None) -> list[SitePhysics]:
    """The sites (kind ``site``; only ``site_ids`` when given) on this grid, with their physics Datastreams
    found or created (idempotent, by ``properties.key``). A site without a bus is logged and left out."""
    query = (Query().filter(f"properties/kind eq {string_literal('site')}").expand("Locations")
             .expand("Datastreams", Query().select("id", "properties").top(1000)).top(1000))
    wanted = None if site_ids is None else set(site_ids)
    sites: list[SitePhysics] = []
    links: tuple[dict[str, EntityId], EntityId] | None = None
    for thing in sta.iter("Things", query):
        properties = thing.get("properties") or {}
        site_id = str(properties.get("siteId"))
        if wanted is not None and site_id not in wanted:
            continue
        named = {"bus": properties["bus"]} if "bus" in properties else {}
        bus = model.bus_of(named, position(thing))
        if bus is None:
            model.counters["site_without_bus"] += 1
            log.warning("site %s has no bus on grid %s: no physics for it", site_id, model.name)
            continue
        streams = {str((d.get("properties") or {}).get("key")): d["@iot.id"] for d in thing.get("Datastreams") or []}
        for key, (_, name, unit) in PHYSICS_STREAMS.items():
            if key in streams:
                continue
            if links is None:
                links = ({k: observed_property(sta, op, n) for k, (op, n, _) in PHYSICS_STREAMS.items()}, sensor(sta))
            body = {"name": f"{site_id} {key}", "description": name, "unitOfMeasurement": unit,
                    "observationType": OM + "OM_Measurement",
                    "properties": {"key": key, "managedBy": MANAGED_BY, "bus": bus, "grid": model.name},
                    "ObservedProperty": {"@iot.id": links[0][key]}, "Sensor": {"@iot.id": links[1]}}
            streams[key] = sta.create(entity_path("Things", thing["@iot.id"], "Datastreams"), body)
        sites.append(SitePhysics(site_id, thing["@iot.id"], bus,
                                 {key: streams[key] for key in PHYSICS_STREAMS}))
    return sites


def physics_groups(model: GridModel, sites: list[SitePhysics], step: StepProfile, when: datetime,
                   vm_pu: Mapping[int, float], features: Mapping[str, EntityId]) -> list[dict[str, Any]]:
    """The CreateObservations body of one step's physics for every site (pure); each Observation's
    FeatureOfInterest is the simulation's feature of the site's bus (``features["bus<n>"]``)."""
    sharing = {bus: sum(1 for s in sites if s.bus == bus) for bus in {s.bus for s in sites}}
    groups: list[dict[str, Any]] = []
    for site in sites:
        for key, value in physics_values(model, step, site.bus, sharing[site.bus], vm_pu.get(site.bus)).items():
            groups.append({"Datastream": {"@iot.id": site.streams[key]},
                           "components": ["phenomenonTime", "result", "FeatureOfInterest/id"],
                           "dataArray@iot.count": 1,
                           "dataArray": [[when.isoformat(), value, features.get(f"bus{site.bus}")]]})
    return groups
