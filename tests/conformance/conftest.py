"""A small populated world for the conformance classes: one of every entity type, all linked."""
from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import LOCATION, datastream_body, get, post

MULTI_TYPES = [
    "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
    "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
]
COMPLEX = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_ComplexObservation"


def multi_datastream_body(**extra: Any) -> dict[str, Any]:
    return {
        "name": "ESS voltage and current", "description": "two phases",
        "observationType": COMPLEX,
        "unitOfMeasurements": [
            {"name": "Volt", "symbol": "V", "definition": "http://unitsofmeasure.org/ucum.html#V"},
            {"name": "Ampere", "symbol": "A", "definition": "http://unitsofmeasure.org/ucum.html#A"},
        ],
        "multiObservationDataTypes": MULTI_TYPES,
        "Sensor": {"name": "Power analyser", "description": "analyser", "encodingType": "text/plain",
                   "metadata": "none"},
        "ObservedProperties": [
            {"name": "Voltage", "description": "AC voltage", "definition": "http://example.org/def/V"},
            {"name": "Current", "description": "AC current", "definition": "http://example.org/def/A"},
        ],
        **extra,
    }


@pytest.fixture
def world(client: FlaskClient) -> dict[str, int]:
    """Ids of one entity of each type: a Thing with a Location (so a HistoricalLocation), a
    Datastream and a MultiDatastream, an Observation on each, and the generated FeatureOfInterest."""
    thing = post(client, "Things", {
        "name": "Battery 1", "description": "ESS", "properties": {"site": "USM"},
        "Locations": [LOCATION], "Datastreams": [datastream_body()],
        "MultiDatastreams": [multi_datastream_body()],
    })
    tid = thing["@iot.id"]
    datastream = get(client, f"Things({tid})/Datastreams")["value"][0]
    multi = get(client, f"Things({tid})/MultiDatastreams")["value"][0]
    observation = post(client, "Observations", {
        "phenomenonTime": "2024-05-01T10:00:00Z", "result": 1200,
        "Datastream": {"@iot.id": datastream["@iot.id"]},
    })
    multi_observation = post(client, "Observations", {
        "phenomenonTime": "2024-05-01T10:00:00Z", "result": [230.1, 5.2],
        "MultiDatastream": {"@iot.id": multi["@iot.id"]},
    })

    def one(path: str) -> int:
        body = get(client, path)
        return int(body["value"][0]["@iot.id"] if "value" in body else body["@iot.id"])

    return {
        "Thing": tid,
        "Location": one(f"Things({tid})/Locations"),
        "HistoricalLocation": one(f"Things({tid})/HistoricalLocations"),
        "Datastream": datastream["@iot.id"],
        "MultiDatastream": multi["@iot.id"],
        "Sensor": one(f"Datastreams({datastream['@iot.id']})/Sensor"),
        "ObservedProperty": one(f"Datastreams({datastream['@iot.id']})/ObservedProperty"),
        "Observation": observation["@iot.id"],
        "MultiObservation": multi_observation["@iot.id"],
        "MultiSensor": one(f"MultiDatastreams({multi['@iot.id']})/Sensor"),
        "MultiObservedProperty": one(f"MultiDatastreams({multi['@iot.id']})/ObservedProperties"),
        "FeatureOfInterest": one(f"Observations({observation['@iot.id']})/FeatureOfInterest"),
    }
