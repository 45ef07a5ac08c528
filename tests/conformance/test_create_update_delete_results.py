"""Create-Update-Delete conformance, Observation results and Thing Locations as the public suites
check them (FROST-Server.Tests ResultTypesTests.testNullResult, AdditionalTests.test01MultipleLocations
and test02GeneratePhenomenonTime)."""
from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.conftest import LOCATION, datastream_body, get, post

ADDRESS = {"name": "Location 1.0, Address", "description": "The address of Thing 1.",
           "encodingType": "text/plain", "location": ""}
DIRECTIONS = {"name": "Location 1.0, Directions", "description": "How to find Thing 1 in human language.",
              "encodingType": "text/plain", "location": ""}
GEOJSON = {"name": "Location 1.0", "description": "Location of Thing 1.", "encodingType": "application/geo+json",
           "location": {"type": "Point", "coordinates": [8, 51]}}


def _stream(client: FlaskClient, locations: list[dict[str, Any]]) -> int:
    thing = post(client, "Things", {"name": "Thing 1", "description": "The first thing.", "Locations": locations})
    return int(post(client, "Datastreams", datastream_body(Thing={"@iot.id": thing["@iot.id"]}))["@iot.id"])


def test_an_observation_with_a_null_result_is_created(client: FlaskClient) -> None:
    stream = _stream(client, [LOCATION])
    created = post(client, "Observations", {"result": None, "Datastream": {"@iot.id": stream}})
    assert created["result"] is None
    assert get(client, f"Observations({created['@iot.id']})")["result"] is None


def test_an_observation_needs_a_result_even_if_null(client: FlaskClient) -> None:
    stream = _stream(client, [LOCATION])
    body = post(client, "Observations", {"Datastream": {"@iot.id": stream}}, status=400)
    assert body["error"]["target"] == "result"


def test_a_result_can_be_patched_to_null(client: FlaskClient) -> None:
    stream = _stream(client, [LOCATION])
    created = post(client, "Observations", {"result": 1.23, "Datastream": {"@iot.id": stream}})
    response = client.patch(f"/v1.1/Observations({created['@iot.id']})", json={"result": None})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert get(client, f"Observations({created['@iot.id']})")["result"] is None


def test_locations_in_other_encodings_are_stored_and_returned_as_given(client: FlaskClient) -> None:
    thing = post(client, "Things", {"name": "Thing 1", "description": "The first thing.",
                                    "Locations": [ADDRESS, GEOJSON, DIRECTIONS]})
    stored = get(client, f"Things({thing['@iot.id']})/Locations", **{"$orderby": "id"})["value"]
    assert [{k: loc[k] for k in ("name", "encodingType", "location")} for loc in stored] == [
        {k: loc[k] for k in ("name", "encodingType", "location")} for loc in (ADDRESS, GEOJSON, DIRECTIONS)]


def test_the_generated_feature_comes_from_the_geojson_location(client: FlaskClient) -> None:
    stream = _stream(client, [ADDRESS, GEOJSON, DIRECTIONS])
    created = post(client, f"Datastreams({stream})/Observations", {"result": 1.0})
    feature = get(client, f"Observations({created['@iot.id']})/FeatureOfInterest")
    assert feature["feature"] == GEOJSON["location"]
    assert feature["encodingType"] == "application/geo+json"
    assert created["phenomenonTime"]  # generated (AdditionalTests.test02GeneratePhenomenonTime)


def test_without_a_geojson_location_no_feature_can_be_generated(client: FlaskClient) -> None:
    stream = _stream(client, [ADDRESS])
    body = post(client, f"Datastreams({stream})/Observations", {"result": 1.0}, status=400)
    assert body["error"]["target"] == "FeatureOfInterest"
