"""Create, read, patch and delete each entity type through `StaClient` against a real server."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sta_client import (
    Actuator,
    Datastream,
    FeatureOfInterest,
    Location,
    MultiDatastream,
    NotFound,
    Observation,
    ObservedProperty,
    Query,
    Sensor,
    StaClient,
    Task,
    TaskingCapability,
    Thing,
    entity_path,
)
from sta_client.entities import Entity
from tests.client.bodies import WATT, datastream, location, make_datastream, thing, unique
from tests.client.conftest import RunningServer


@pytest.fixture
def sta(sta_process: RunningServer) -> Iterator[StaClient]:
    with StaClient(sta_process.settings()) as client:
        yield client


def _round_trip(sta: StaClient, record: Entity, change: dict[str, Any]) -> None:
    kind = type(record)
    new_id = sta.create(kind.entity_set, record)
    read = sta.get_entity(kind, new_id)
    assert read.id == new_id and read.self_link and read.self_link.endswith(entity_path(kind.entity_set, new_id))
    for attribute, value in record.to_json().items():
        if not isinstance(value, dict) or "@iot.id" not in value:
            assert read.to_json().get(attribute, value) == value
    sta.patch(entity_path(kind.entity_set, new_id), change)
    assert sta.get(entity_path(kind.entity_set, new_id))[next(iter(change))] == next(iter(change.values()))
    sta.delete(entity_path(kind.entity_set, new_id))
    with pytest.raises(NotFound) as raised:
        sta.get(entity_path(kind.entity_set, new_id))
    assert raised.value.status == 404 and raised.value.body["error"]["code"]


def test_thing_location_sensor_property_feature_actuator_crud(sta: StaClient) -> None:
    _round_trip(sta, thing(mode="auto"), {"description": "patched"})
    _round_trip(sta, location(), {"description": "patched"})
    _round_trip(sta, Sensor(name=unique("S"), description="d", encoding_type="application/pdf", metadata="m.pdf"),
                {"description": "patched"})
    _round_trip(sta, ObservedProperty(name=unique("P"), definition="http://example.org/P", description="d"),
                {"description": "patched"})
    _round_trip(sta, FeatureOfInterest(name=unique("F"), description="d",
                                       feature={"type": "Point", "coordinates": [8.9, 46.1]}),
                {"description": "patched"})
    _round_trip(sta, Actuator(name=unique("A"), description="d", encoding_type="text/plain", metadata="x"),
                {"description": "patched"})


def test_datastream_and_observation_crud(sta: StaClient) -> None:
    _round_trip(sta, datastream(), {"name": unique("renamed")})
    stream = make_datastream(sta)
    _round_trip(sta, Observation(phenomenon_time="2026-05-01T10:00:00Z", result=12.5,
                                 links={"Datastream": {"@iot.id": stream}}), {"result": 13.5})
    read = sta.get_entity(Datastream, stream, Query().expand("Thing"))
    assert read.unit_of_measurement == WATT and read.links["Thing"]["name"].startswith("Battery")


def test_multidatastream_crud(sta: StaClient) -> None:
    owner = sta.create("Things", thing())
    body = datastream(owner).links
    record = MultiDatastream(
        name=unique("MDS"), description="d", unit_of_measurements=[WATT, WATT],
        observation_type="http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_ComplexObservation",
        multi_observation_data_types=[
            "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"] * 2,
        links={"Thing": {"@iot.id": owner}, "Sensor": body["Sensor"],
               "ObservedProperties": [body["ObservedProperty"],
                                      {**body["ObservedProperty"], "name": unique("Reactive")}]})
    _round_trip(sta, record, {"description": "patched"})


def test_tasking_capability_and_task_crud(sta: StaClient) -> None:
    owner = sta.create("Things", thing())
    capability = TaskingCapability(name=unique("Set-point"), description="d", tasking_parameters={},
                                   links={"Thing": {"@iot.id": owner},
                                          "Actuator": Actuator(name=unique("Inverter"), description="d",
                                                               encoding_type="text/plain", metadata="x").to_json()})
    _round_trip(sta, capability, {"description": "patched"})
    capability_id = sta.create("TaskingCapabilities", capability)
    task_id = sta.create_task(capability_id, {"powerSetpoint": -3000})
    task = sta.get_entity(Task, task_id)
    assert task.tasking_parameters == {"powerSetpoint": -3000} and task.creation_time


def test_string_and_navigation_paths(sta: StaClient) -> None:
    owner = sta.create("Things", thing())
    sta.create(entity_path("Things", owner, "Locations"), location())
    names = [row["name"] for row in sta.iter(entity_path("Things", owner, "Locations"))]
    assert len(names) == 1 and names[0].startswith("Site")
    assert Thing.from_json(sta.get(entity_path("Things", owner))).name == sta.get_entity(Thing, owner).name
    assert Location.entity_set == "Locations"
