"""Small builders of entity records for the client tests (deep-insert bodies made of records)."""
from __future__ import annotations

import uuid
from typing import Any

from sta_client import Datastream, Location, ObservedProperty, Sensor, StaClient, Thing

WATT = {"name": "Watt", "symbol": "W", "definition": "http://unitsofmeasure.org/ucum.html#W"}
MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"


def unique(name: str) -> str:
    return f"{name} {uuid.uuid4().hex[:8]}"


def thing(name: str = "Battery", **properties: Any) -> Thing:
    return Thing(name=unique(name), description="client test thing", properties=properties or None)


def location() -> Location:
    return Location(name=unique("Site"), description="USM site",
                    location={"type": "Point", "coordinates": [8.95, 46.0]})


def datastream(thing_id: int | str | None = None, name: str = "ESS power", **extra: Any) -> Datastream:
    sensor = Sensor(name=unique("Meter"), description="meter", encoding_type="application/pdf",
                    metadata="https://example.org/meter.pdf")
    prop = ObservedProperty(name=unique("Active power"), definition="http://example.org/def/ActivePower",
                            description="AC active power")
    owner = ({"@iot.id": thing_id} if thing_id is not None
             else {**thing().to_json(), "Locations": [location().to_json()]})
    return Datastream(name=unique(name), description="stream", unit_of_measurement=WATT,
                      observation_type=MEASUREMENT,
                      links={"Thing": owner, "Sensor": sensor.to_json(), "ObservedProperty": prop.to_json()}, **extra)


def make_datastream(sta: StaClient, **extra: Any) -> int:
    stream_id = sta.create("Datastreams", datastream(**extra))
    assert isinstance(stream_id, int)
    return stream_id
