"""The data set of the OGC/FROST JsonPropertiesTests (FROST-Server.Tests c03filtering, ets-sta10
filteringExtension): four Things whose properties hold strings, booleans, numbers, arrays, arrays of
arrays and arrays of objects; two Datastreams (°C and °F); Observations 0..12 with the same kinds
of parameters and an object or array resultQuality, and 13..15 whose parameters have the wrong
types. Entities are known by their index in the suite."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import Engine

from sta_server.app import create_app
from sta_server.settings import Settings
from tests.conftest import datastream_body, post
from tests.sql.filter_data import truncate


def letters(start: int, length: int) -> str:
    """`length` letters from the `start`-th (a=0), wrapping after z: letters(2, 10) == 'cdefghijkl'."""
    return "".join(chr(ord("a") + (start + n) % 26) for n in range(length))


def ints(start: int, length: int) -> list[int]:
    return list(range(start, start + length))


def int_ints(start: int, length: int) -> list[list[int]]:
    return [ints(start + n, length) for n in range(length)]


def objects(start: int, length: int) -> list[dict[str, Any]]:
    return [{"string": letters(n, 10), "boolean": n % 2 == 0, "int": n, "intArray": ints(n, 3)}
            for n in range(start, start + length)]


DQ = {"code": 2, "label": "Niveau 1", "comment": "Donnée contrôlée niveau 1 (données contrôlées)"}
QUALITY_OBJECT = {"DQ_Status": DQ}
QUALITY_ARRAY = [{"nameOfMeasure": "DQ_Status", "DQ_Result": DQ},
                 {"nameOfMeasure": "DQ_Qualification", "DQ_Result": {"code": 1, "label": "Correcte",
                                                                       "comment": "Correcte"}}]

THINGS = [{"string": letters(i, 10), "boolean": i % 2 == 0, "int": i + 8, "intArray": ints(i + 8, 5),
           "strArray": [f"s{n}" for n in ints(i + 8, 5)], "intIntArray": int_ints(i + 8, 3),
           "objArray": objects(i + 8, 3)} for i in range(4)]
UNITS = [{"name": "degree celcius", "symbol": "°C", "definition": "Cel"},
         {"name": "degree Fahrenheit", "symbol": "°F", "definition": "[degF]"}]
# index: (result, parameters, resultQuality)
OBSERVATIONS: list[tuple[Any, dict[str, Any], Any]] = [
    *[(i, {"string": letters(i, 10), "boolean": i % 2 == 0, "int": i, "intArray": ints(i, 5),
           "intIntArray": int_ints(i, 3), "objArray": objects(i, 3)},
       QUALITY_OBJECT if i % 2 == 0 else QUALITY_ARRAY) for i in range(13)],
    ("badVales1", {"int": letters(13, 10), "string": False, "boolean": 13, "objArray": ints(13, 5),
                   "intArray": int_ints(13, 3), "intIntArray": objects(13, 3)}, None),
    ("badVales2", {"boolean": letters(14, 10), "int": True, "string": 14, "intIntArray": ints(14, 5),
                   "objArray": int_ints(14, 3), "intArray": objects(14, 3)}, None),
    ("badVales3", {"boolean": "true", "int": "5"}, None),
]


def _build(client: FlaskClient) -> dict[str, list[int]]:
    things = [post(client, "Things", {"name": f"Thing {i}", "description": "It's a thing.", "properties": props})
              ["@iot.id"] for i, props in enumerate(THINGS)]
    post(client, "Locations", {"name": "Location 1", "description": "Location of Thing 1.",
                               "encodingType": "application/vnd.geo+json",
                               "location": {"type": "Point", "coordinates": [8, 52]},
                               "Things": [{"@iot.id": things[0]}]})
    streams = [post(client, "Datastreams", {**datastream_body(f"Datastream {n + 1}"), "unitOfMeasurement": unit,
                                            "Thing": {"@iot.id": things[0]}})["@iot.id"]
               for n, unit in enumerate(UNITS)]
    observations = []
    for result, parameters, quality in OBSERVATIONS:
        body = {"result": result, "parameters": parameters, "Datastream": {"@iot.id": streams[0]},
                "phenomenonTime": "2016-01-01T07:00:00Z"}
        if quality is not None:
            body["resultQuality"] = quality
        observations.append(post(client, "Observations", body)["@iot.id"])
    return {"Things": things, "Datastreams": streams, "Observations": observations}


def json_world(settings: Settings, engine: Engine) -> Iterator[tuple[FlaskClient, dict[str, list[int]]]]:
    """A client over the JsonPropertiesTests data: (client, entity set -> ids by index)."""
    truncate(engine)
    app = create_app(settings, engine)
    app.testing = True
    client = app.test_client()
    try:
        yield client, _build(client)
    finally:
        truncate(engine)
