"""The data set of Capability3Tests (FROST-Server.Tests c03filtering, ets-sta10 filteringExtension):
two Things with two Datastreams each, whose Locations are swapped afterwards (two
HistoricalLocations each), and twelve Observations with results 1..12 on 2015-03-01..12."""
from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.conftest import get, post

LUMEN = {"name": "Lumen", "symbol": "lm", "definition": "http://www.qudt.org/qudt/owl/1.0.0/unit/Instances.html/Lumen"}
CENTIGRADE = {**LUMEN, "name": "Centigrade", "symbol": "C"}
MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"
QUANTITY = "http://www.qudt.org/qudt/owl/1.0.0/quantity/Instances.html/"


def _datastream(n: int, unit: dict[str, str], observed: dict[str, Any], sensor: str, metadata: str) -> dict[str, Any]:
    return {"unitOfMeasurement": unit, "name": f"datastream {n}", "description": f"datastream {n}",
            "observationType": MEASUREMENT, "ObservedProperty": observed,
            "Sensor": {"name": sensor, "description": sensor, "encodingType": "application/pdf", "metadata": metadata}}


def _thing(n: int, reference: str, lon: float, lat: float, streams: list[dict[str, Any]]) -> dict[str, Any]:
    location = {"name": f"location {n}", "description": f"location {n}", "encodingType": "application/vnd.geo+json",
                "location": {"type": "Point", "coordinates": [lon, lat]}}
    return {"name": f"thing {n}", "description": f"thing {n}", "properties": {"reference": reference},
            "Locations": [location], "Datastreams": streams}


def _observed(name: str, quantity: str, n: int) -> dict[str, Any]:
    return {"name": name, "definition": QUANTITY + quantity, "description": f"observedProperty {n}"}


def _ids(client: FlaskClient, path: str) -> list[int]:
    return [item["@iot.id"] for item in get(client, path, **{"$orderby": "id"})["value"]]


def build_capability3_world(client: FlaskClient) -> dict[str, list[int]]:
    first = post(client, "Things", _thing(1, "first", -117.05, 51.05, [
        _datastream(1, LUMEN, _observed("Luminous Flux", "LuminousFlux", 1), "sensor 1", "Light flux sensor"),
        _datastream(2, CENTIGRADE, _observed("Tempretaure", "Tempreture", 2), "sensor 2", "Tempreture sensor"),
    ]))["@iot.id"]
    temperature = _ids(client, f"Things({first})/Datastreams")[1]
    observed_2 = get(client, f"Datastreams({temperature})/ObservedProperty")["@iot.id"]
    second = post(client, "Things", _thing(2, "second", -100.05, 50.05, [
        _datastream(3, LUMEN, _observed("Second Luminous Flux", "LuminousFlux", 3), "sensor 3",
                    "Second Light flux sensor"),
        _datastream(4, CENTIGRADE, {"@iot.id": observed_2}, "sensor 4 ", "Second Tempreture sensor"),
    ]))["@iot.id"]
    locations = [_ids(client, f"Things({thing})/Locations")[0] for thing in (first, second)]
    for thing, location in ((first, locations[1]), (second, locations[0])):
        response = client.patch(f"/v1.1/Things({thing})", json={"Locations": [{"@iot.id": location}]})
        assert response.status_code == 200, response.get_data(as_text=True)
    streams = _ids(client, f"Things({first})/Datastreams") + _ids(client, f"Things({second})/Datastreams")
    for n in range(1, 13):
        post(client, f"Datastreams({streams[(n - 1) // 3]})/Observations",
             {"phenomenonTime": f"2015-03-{n:02}T00:00:00Z", "result": n})
    return {"Things": [first, second], "Datastreams": streams}
