"""FROST's own Python client (frost-sta-client) against the server over real HTTP."""
from __future__ import annotations

import frost_sta_client as fsc
import geojson
import pytest
import requests

UNIT = fsc.UnitOfMeasurement(name="Watt", symbol="W", definition="http://unitsofmeasure.org/ucum.html#W")
MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"


def _thing() -> fsc.Thing:
    """A Thing with a Location and a Datastream (with Sensor and ObservedProperty), for deep insert."""
    location = fsc.Location(name="Site A", description="USM site", encoding_type="application/geo+json",
                            location=geojson.Point((8.95, 46.0)))
    datastream = fsc.Datastream(
        name="ESS power", description="ESS power stream", observation_type=MEASUREMENT,
        unit_of_measurement=UNIT,
        sensor=fsc.Sensor(name="Inverter meter", description="meter", encoding_type="application/pdf",
                          metadata="https://example.org/meter.pdf"),
        observed_property=fsc.ObservedProperty(name="Active power", description="AC active power",
                                               definition="http://example.org/def/ActivePower"))
    return fsc.Thing(name="Battery 1", description="ESS", properties={"site": "USM"},
                     locations=[location], datastreams=[datastream])


@pytest.fixture
def service(live_server: str) -> fsc.SensorThingsService:
    return fsc.SensorThingsService(live_server)


def test_client_creates_thing_by_deep_insert_and_reads_it(service: fsc.SensorThingsService) -> None:
    thing = _thing()
    service.create(thing)
    assert isinstance(thing.id, int)
    found = service.things().find(thing.id)
    assert (found.name, found.description, found.properties) == ("Battery 1", "ESS", {"site": "USM"})
    locations = found.get_locations().query().list()
    assert [loc.name for loc in locations] == ["Site A"]
    datastreams = found.get_datastreams().query().list()
    assert [ds.unit_of_measurement.symbol for ds in datastreams] == ["W"]


def test_client_creates_and_lists_observations(service: fsc.SensorThingsService) -> None:
    thing = _thing()
    service.create(thing)
    datastream = service.things().find(thing.id).get_datastreams().query().list().get(0)
    for minute, value in enumerate((1200, 1250, 1300)):
        observation = fsc.Observation(result=value, phenomenon_time=f"2024-05-01T10:0{minute}:00Z",
                                      datastream=datastream)
        service.create(observation)
        assert isinstance(observation.id, int)
    listed = datastream.get_observations().query().orderby("phenomenonTime", "asc").list()
    assert [o.result for o in listed] == [1200, 1250, 1300]
    first = service.observations().find(listed.get(0).id)
    assert first.result == 1200


def test_client_default_upper_case_orderby_is_accepted(service: fsc.SensorThingsService) -> None:
    service.create(_thing())
    assert len(service.things().query().orderby("name").list().entities) == 1


def test_client_filters_with_query_options(service: fsc.SensorThingsService) -> None:
    service.create(_thing())
    other = fsc.Thing(name="Battery 2", description="spare")
    service.create(other)
    found = service.things().query().filter("name eq 'Battery 2'").list()
    assert [t.id for t in found] == [other.id]


def test_client_updates_and_patches_a_thing(service: fsc.SensorThingsService) -> None:
    thing = fsc.Thing(name="Battery 1", description="ESS")
    service.create(thing)
    thing.description = "updated"
    service.update(thing)
    service.patch(thing, [{"op": "add", "path": "/properties", "value": {"soc_pct": 80}}])
    found = service.things().find(thing.id)
    assert (found.description, found.properties) == ("updated", {"soc_pct": 80})


def test_client_deletes_a_thing(service: fsc.SensorThingsService, live_server: str) -> None:
    thing = fsc.Thing(name="Battery 1", description="ESS")
    service.create(thing)
    service.delete(thing)
    assert requests.get(f"{live_server}/Things({thing.id})", timeout=5).status_code == 404
