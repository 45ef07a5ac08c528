"""The data set of the OGC/FROST FilterTests (FROST-Server.Tests c03filtering, ets-sta10
filteringExtension). Entities are known by their index in the suite's lists."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import Engine

from sta_server.app import create_app
from sta_server.settings import Settings
from tests.conftest import datastream_body, post
from tests.sql.filter_data import truncate

Ids = dict[str, list[int]]


def _point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def _line(*points: tuple[float, float]) -> dict[str, Any]:
    return {"type": "LineString", "coordinates": [list(p) for p in points]}


# FilterTests: Things 1 and 2 have properties; Location n has properties/field n (1.1 for the second
# of Thing 0) and is posted linked to its Thing; 5..7 are lines of no Thing.
THING_PROPERTIES: list[dict[str, Any] | None] = [None, {"field": 2, "string": "one"},
                                                 {"field": 3, "string": "two"}, None]
THING_NAMES = ["Thing 1", "Thing 2", "Thing 3", "Thing 4"]
LOCATIONS: list[tuple[str, dict[str, Any], float, int | None]] = [
    ("Location 1.0", _point(8, 51), 1, 0), ("Location 1.1", _point(8, 52), 1.1, 0),
    ("Location 2", _point(8, 53), 2, 1), ("Location 3", _point(8, 54), 3, 2),
    ("Location 4", {"type": "Polygon", "coordinates": [[[8, 53], [7, 52], [7, 53], [8, 53]]]}, 4, 3),
    ("Location 5", _line((5, 52), (5, 53)), 5, None), ("Location 6", _line((5, 52), (6, 53)), 6, None),
    ("Location 7", _line((4, 52), (8, 52)), 7, None),
]
# Datastream: (Thing, Sensor, ObservedProperty); Datastreams 0..5 get six Observations each
DATASTREAMS = [(0, 0, 0), (0, 1, 1), (0, 2, 2), (1, 0, 0), (1, 1, 1), (1, 3, 3), (2, 1, 0)]
START = datetime(2016, 1, 1, 1, tzinfo=UTC)


def _named(client: FlaskClient, entity_set: str, body: Callable[[int], dict[str, Any]]) -> list[int]:
    return [post(client, entity_set, body(n))["@iot.id"] for n in range(4)]


def build_filter_world(client: FlaskClient) -> Ids:
    things = [post(client, "Things", {"name": name, "description": "thing",
                                      **({"properties": props} if props else {})})["@iot.id"]
              for name, props in zip(THING_NAMES, THING_PROPERTIES, strict=True)]
    for name, geometry, field, thing in LOCATIONS:
        links = {"Things": [{"@iot.id": things[thing]}]} if thing is not None else {}
        post(client, "Locations", {"name": name, "description": name, "encodingType": "application/vnd.geo+json",
                                   "location": geometry, "properties": {"field": field}, **links})
    sensors = _named(client, "Sensors", lambda n: {"name": f"Sensor {n}", "description": f"The sensor with idx {n}.",
                                                   "encodingType": "text", "metadata": "Some metadata."})
    properties = _named(client, "ObservedProperties", lambda n: {
        "name": f"ObservedProperty {n}", "definition": f"http://ucom.org/{n}",
        "description": f"ObservedProperty with index {n}."})
    streams = []
    for n, (thing, sensor, prop) in enumerate(DATASTREAMS):
        body = {**datastream_body(f"Datastream {n}"), "Thing": {"@iot.id": things[thing]},
                "Sensor": {"@iot.id": sensors[sensor]}, "ObservedProperty": {"@iot.id": properties[prop]}}
        streams.append(post(client, "Datastreams", body)["@iot.id"])
    observations: list[int] = []
    for n, stream in enumerate(streams[:6]):
        for i in range(6):
            index = len(observations)
            quality: Any = index if index % 2 == 0 else f"number-{index}"
            body = {"result": 3 * n + i, "phenomenonTime": (START + timedelta(hours=i)).isoformat(),
                    "parameters": {"idx": index}, "resultQuality": quality, "Datastream": {"@iot.id": stream}}
            observations.append(post(client, "Observations", body)["@iot.id"])
    return {"Things": things, "ObservedProperties": properties, "Datastreams": streams, "Observations": observations}


def world_client(settings: Settings, engine: Engine,
                 build: Callable[[FlaskClient], Ids]) -> Iterator[tuple[FlaskClient, Ids]]:
    """A client over a freshly built data set; the tables are emptied again afterwards."""
    truncate(engine)
    app = create_app(settings, engine)
    app.testing = True
    client = app.test_client()
    try:
        yield client, build(client)
    finally:
        truncate(engine)
