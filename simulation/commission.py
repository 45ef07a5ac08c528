"""Idempotent commissioning of the simulation's entities through sta_client: what exists (found by
`properties.simulationId` + `properties.key`, ObservedProperties by definition, the Sensor by name) is
kept, what is missing is created. A second run creates nothing and returns the same ids."""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from simulation.entities import (
    OBSERVED_PROPERTIES,
    SENSOR_NAME,
    datastream_body,
    feature_bodies,
    op_definition,
    phase_voltage_body,
    simulation_id,
    stream_specs,
    thing_body,
)
from simulation.grid import GridModel
from sta_client import EntityId, Query, StaClient, entity_path, string_literal

log = logging.getLogger(__name__)


@dataclass
class SimulationIds:
    """Server ids of the simulation's entities, by key."""

    thing: EntityId
    datastreams: dict[str, EntityId] = field(default_factory=dict)
    multidatastreams: dict[str, EntityId] = field(default_factory=dict)
    features: dict[str, EntityId] = field(default_factory=dict)
    stream_feature: dict[str, str] = field(default_factory=dict)  # Datastream key -> FeatureOfInterest key


def _keyed(rows: Iterable[dict[str, Any]]) -> dict[str, EntityId]:
    return {str(row["properties"]["key"]): row["@iot.id"] for row in rows
            if isinstance(row.get("properties"), dict) and "key" in row["properties"]}


def observed_property(sta: StaClient, key: str, name: str) -> EntityId:
    """The simulation's ObservedProperty of ``key`` (found by its definition, created when missing)."""
    definition = op_definition(key)
    found = list(sta.iter("ObservedProperties", Query().filter(f"definition eq {string_literal(definition)}").top(1)))
    if found:
        op_id: EntityId = found[0]["@iot.id"]
        return op_id
    return sta.create("ObservedProperties", {"name": name, "definition": definition, "description": name})


def sensor(sta: StaClient) -> EntityId:
    """The simulation's Sensor (found by name, created when missing)."""
    found = list(sta.iter("Sensors", Query().filter(f"name eq {string_literal(SENSOR_NAME)}").top(1)))
    if found:
        sensor_id: EntityId = found[0]["@iot.id"]
        return sensor_id
    return sta.create("Sensors", {"name": SENSOR_NAME, "description": "pandapower on SimBench grids (DSF-SE)",
                                  "encodingType": "text/plain", "metadata": "pandapower runpp, Newton-Raphson"})


def _thing(sta: StaClient, model: GridModel) -> dict[str, Any] | None:
    sim = string_literal(simulation_id(model))
    query = (Query().filter(f"properties/simulationId eq {sim}")
             .expand("Datastreams", Query().select("id", "properties").top(10_000))
             .expand("MultiDatastreams", Query().select("id", "properties").top(10_000)).top(1))
    found = list(sta.iter("Things", query))
    return found[0] if found else None


def _links(sta: StaClient) -> tuple[dict[str, EntityId], EntityId]:
    return {key: observed_property(sta, key, name) for key, name in OBSERVED_PROPERTIES.items()}, sensor(sta)


def _create_thing(sta: StaClient, model: GridModel, phase_buses: list[int]) -> dict[str, Any]:
    """The Thing with all its Datastreams and MultiDatastreams in one deep insert."""
    op_ids, sensor_id = _links(sta)
    body = thing_body(model)
    body["Datastreams"] = [datastream_body(model, key, quantity, op_ids[quantity.op], sensor_id)
                           for key, (quantity, _) in stream_specs(model).items()]
    body["MultiDatastreams"] = [phase_voltage_body(model, bus, op_ids["phase-voltage"], sensor_id)
                                for bus in phase_buses]
    thing_id = sta.create("Things", body)
    log.info("created the simulation Thing %s of %s", thing_id, simulation_id(model))
    created = _thing(sta, model)
    if created is None:
        raise LookupError(f"the simulation Thing {thing_id} was created but is not found")
    return created


def commission(sta: StaClient, model: GridModel, phase_buses: Iterable[int] = ()) -> SimulationIds:
    """Find or create the Thing, the FeaturesOfInterest, the Datastreams and the phase-voltage
    MultiDatastreams of the buses in ``phase_buses``."""
    buses = sorted(set(phase_buses))
    existing = _thing(sta, model) or _create_thing(sta, model, buses)
    thing_id: EntityId = existing["@iot.id"]
    ids = SimulationIds(thing_id, _keyed(existing.get("Datastreams", [])),
                        _keyed(existing.get("MultiDatastreams", [])))
    sim = string_literal(simulation_id(model))
    ids.features = _keyed(sta.iter("FeaturesOfInterest",
                                   Query().filter(f"properties/simulationId eq {sim}").top(10_000)))
    for key, body in feature_bodies(model).items():
        if key not in ids.features:
            ids.features[key] = sta.create("FeaturesOfInterest", body)
    specs = stream_specs(model)
    ids.stream_feature = {key: feature for key, (_, feature) in specs.items()}
    missing = [key for key in specs if key not in ids.datastreams]
    wanted_phases = [bus for bus in buses if f"bus{bus}.V" not in ids.multidatastreams]
    if not missing and not wanted_phases:
        return ids
    op_ids, sensor_id = _links(sta)
    streams = entity_path("Things", thing_id, "Datastreams")
    for key in missing:
        quantity = specs[key][0]
        ids.datastreams[key] = sta.create(streams, datastream_body(model, key, quantity, op_ids[quantity.op],
                                                                   sensor_id))
    multi = entity_path("Things", thing_id, "MultiDatastreams")
    for bus in wanted_phases:
        ids.multidatastreams[f"bus{bus}.V"] = sta.create(multi, phase_voltage_body(model, bus, op_ids["phase-voltage"],
                                                                                  sensor_id))
    log.info("simulation %s: %d Datastreams and %d MultiDatastreams added", simulation_id(model), len(missing),
             len(wanted_phases))
    return ids
