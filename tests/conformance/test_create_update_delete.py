"""Conformance class Create-Update-Delete (OGC 18-088 section 10, A.3; ETS Capability2Tests and
JsonPatchTests): POST plain, deep and into navigation collections, links by id, the
HistoricalLocation and FeatureOfInterest rules, stream extents, PATCH/PUT/JSON PATCH, DELETE with
its cascades, and bad requests that leave nothing behind."""
from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conformance.conftest import multi_datastream_body
from tests.conftest import BASE, LOCATION, datastream_body, get, make_datastream, make_thing, post

PLURALS = ("Things", "Locations", "HistoricalLocations", "Datastreams", "MultiDatastreams", "Sensors",
           "ObservedProperties", "Observations", "FeaturesOfInterest")
SENSOR = {"name": "Meter", "description": "m", "encodingType": "application/pdf", "metadata": "m.pdf"}
OBSERVED_PROPERTY = {"name": "Power", "description": "p", "definition": "http://example.org/def/P"}
FEATURE = {"name": "Roof", "description": "r", "encodingType": "application/geo+json",
           "feature": {"type": "Point", "coordinates": [10.0, 10.0]}}


def counts(client: FlaskClient) -> dict[str, int]:
    return {plural: get(client, plural, **{"$count": "true"})["@iot.count"] for plural in PLURALS}


def ids(client: FlaskClient, path: str) -> list[int]:
    return sorted(e["@iot.id"] for e in get(client, path)["value"])


def observe(client: FlaskClient, stream: int, time: str, result: Any = 1, **extra: Any) -> int:
    body = {"phenomenonTime": time, "result": result, "Datastream": {"@iot.id": stream}, **extra}
    return int(post(client, "Observations", body)["@iot.id"])


def request(client: FlaskClient, method: str, path: str, body: Any = None, **kw: Any) -> Any:
    return client.open(f"/v1.1/{path}", method=method, json=body, **kw)


def assert_error(response: Any, status: int) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] and error["message"]


def location(x: float, y: float, name: str = "Site") -> dict[str, Any]:
    return {**LOCATION, "name": name, "location": {"type": "Point", "coordinates": [x, y]}}


# --- create ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("plural", "body"), [
    ("Things", {"name": "T", "description": "t"}),
    ("Locations", LOCATION),
    ("Sensors", SENSOR),
    ("ObservedProperties", OBSERVED_PROPERTY),
    ("FeaturesOfInterest", FEATURE),
])
def test_create_answers_201_with_location_header(client: FlaskClient, plural: str, body: Any) -> None:
    response = client.post(f"/v1.1/{plural}", json=body)
    assert response.status_code == 201
    created = response.get_json()
    assert response.headers["Location"] == f"{BASE}/{plural}({created['@iot.id']})"
    assert created["@iot.selfLink"] == response.headers["Location"]
    assert get(client, f"{plural}({created['@iot.id']})") == created


def test_create_datastream_linking_by_id(client: FlaskClient) -> None:
    thing = make_thing(client)["@iot.id"]
    sensor = post(client, "Sensors", SENSOR)["@iot.id"]
    prop = post(client, "ObservedProperties", OBSERVED_PROPERTY)["@iot.id"]
    body = {**datastream_body(), "Thing": {"@iot.id": thing}, "Sensor": {"@iot.id": sensor},
            "ObservedProperty": {"@iot.id": prop}}
    stream = post(client, "Datastreams", body)["@iot.id"]
    assert get(client, f"Datastreams({stream})/Sensor")["@iot.id"] == sensor
    assert get(client, f"Datastreams({stream})/ObservedProperty")["@iot.id"] == prop
    assert ids(client, f"Things({thing})/Datastreams") == [stream]


def test_create_observation_with_feature_by_id(client: FlaskClient) -> None:
    stream = make_datastream(client)["@iot.id"]
    feature = post(client, "FeaturesOfInterest", FEATURE)["@iot.id"]
    obs = observe(client, stream, "2024-05-01T10:00:00Z", FeatureOfInterest={"@iot.id": feature})
    assert get(client, f"Observations({obs})/FeatureOfInterest")["@iot.id"] == feature


def test_create_historical_location_linking_thing_and_location(client: FlaskClient) -> None:
    thing = make_thing(client)["@iot.id"]
    loc = post(client, "Locations", LOCATION)["@iot.id"]
    body = {"time": "2024-05-01T10:00:00Z", "Thing": {"@iot.id": thing}, "Locations": [{"@iot.id": loc}]}
    created = post(client, "HistoricalLocations", body)
    assert created["time"] == "2024-05-01T10:00:00Z"
    assert ids(client, f"HistoricalLocations({created['@iot.id']})/Locations") == [loc]


def test_deep_insert_creates_and_links_everything(client: FlaskClient) -> None:
    body = {"name": "Office", "description": "o", "properties": {"floor": 3},
            "Locations": [LOCATION], "Datastreams": [datastream_body()]}
    thing = post(client, "Things", body)["@iot.id"]
    stream = get(client, f"Things({thing})/Datastreams")["value"][0]
    assert stream["unitOfMeasurement"]["symbol"] == "W"
    assert get(client, f"Datastreams({stream['@iot.id']})/Sensor")["name"] == "Inverter meter"
    assert get(client, f"Datastreams({stream['@iot.id']})/ObservedProperty")["name"] == "Active power"
    assert get(client, f"Things({thing})/Locations")["value"][0]["location"] == LOCATION["location"]
    assert counts(client) == {"Things": 1, "Locations": 1, "HistoricalLocations": 1, "Datastreams": 1,
                              "MultiDatastreams": 0, "Sensors": 1, "ObservedProperties": 1,
                              "Observations": 0, "FeaturesOfInterest": 0}


def test_deep_insert_datastream_with_observations(client: FlaskClient) -> None:
    thing = post(client, "Things", {"name": "T", "description": "t", "Locations": [LOCATION]})["@iot.id"]
    body = {**datastream_body(), "Thing": {"@iot.id": thing},
            "Observations": [{"phenomenonTime": "2024-05-01T10:00:00Z", "result": 5,
                              "FeatureOfInterest": FEATURE}]}
    stream = post(client, "Datastreams", body)["@iot.id"]
    observation = get(client, f"Datastreams({stream})/Observations")["value"][0]
    assert observation["result"] == 5
    assert get(client, f"Observations({observation['@iot.id']})/FeatureOfInterest")["name"] == "Roof"


def test_deep_insert_ignores_given_ids_of_new_entities(client: FlaskClient) -> None:
    created = post(client, "Things", {"name": "T", "description": "t", "@iot.id": 4242})
    assert created["@iot.id"] != 4242


def test_post_to_thing_datastreams_links_the_thing(client: FlaskClient) -> None:
    thing = make_thing(client)["@iot.id"]
    response = client.post(f"/v1.1/Things({thing})/Datastreams", json=datastream_body())
    assert response.status_code == 201
    stream = response.get_json()["@iot.id"]
    assert response.headers["Location"] == f"{BASE}/Datastreams({stream})"
    assert get(client, f"Datastreams({stream})/Thing")["@iot.id"] == thing


def test_post_to_datastream_observations_links_the_stream(client: FlaskClient) -> None:
    stream = make_datastream(client)["@iot.id"]
    created = post(client, f"Datastreams({stream})/Observations",
                   {"phenomenonTime": "2024-05-01T10:00:00Z", "result": 7})
    assert get(client, f"Observations({created['@iot.id']})/Datastream")["@iot.id"] == stream


def test_post_to_thing_locations_links_and_records_history(client: FlaskClient) -> None:
    thing = make_thing(client)["@iot.id"]
    loc = post(client, f"Things({thing})/Locations", LOCATION)["@iot.id"]
    assert ids(client, f"Things({thing})/Locations") == [loc]
    history = get(client, f"Things({thing})/HistoricalLocations")["value"]
    assert len(history) == 1
    assert ids(client, f"HistoricalLocations({history[0]['@iot.id']})/Locations") == [loc]


def test_post_to_navigation_of_missing_entity_is_404(client: FlaskClient) -> None:
    assert_error(request(client, "POST", "Things(999)/Datastreams", datastream_body()), 404)


def test_post_to_single_entity_is_not_allowed(client: FlaskClient) -> None:
    thing = make_thing(client)["@iot.id"]
    assert_error(request(client, "POST", f"Things({thing})", {"name": "x"}), 405)


# --- HistoricalLocations --------------------------------------------------------------------------

def test_thing_created_with_location_gets_historical_location(client: FlaskClient) -> None:
    thing = post(client, "Things", {"name": "T", "description": "t", "Locations": [LOCATION]})["@iot.id"]
    history = get(client, f"Things({thing})/HistoricalLocations")["value"]
    assert len(history) == 1
    assert history[0]["time"].endswith("Z")
    assert ids(client, f"HistoricalLocations({history[0]['@iot.id']})/Locations") == \
        ids(client, f"Things({thing})/Locations")


def test_thing_created_linking_location_by_id_gets_historical_location(client: FlaskClient) -> None:
    loc = post(client, "Locations", LOCATION)["@iot.id"]
    thing = post(client, "Things", {"name": "T", "description": "t", "Locations": [{"@iot.id": loc}]})
    assert len(get(client, f"Things({thing['@iot.id']})/HistoricalLocations")["value"]) == 1


def test_patching_thing_location_records_historical_location(client: FlaskClient) -> None:
    thing = post(client, "Things", {"name": "T", "description": "t", "Locations": [LOCATION]})["@iot.id"]
    moved = post(client, "Locations", location(9.0, 47.0, "Site B"))["@iot.id"]
    response = request(client, "PATCH", f"Things({thing})", {"Locations": [{"@iot.id": moved}]})
    assert response.status_code == 200
    assert ids(client, f"Things({thing})/Locations") == [moved]
    history = get(client, f"Things({thing})/HistoricalLocations", **{"$orderby": "time desc"})["value"]
    assert len(history) == 2
    assert ids(client, f"HistoricalLocations({history[0]['@iot.id']})/Locations") == [moved]


def test_location_created_for_thing_by_id_records_historical_location(client: FlaskClient) -> None:
    thing = make_thing(client)["@iot.id"]
    post(client, "Locations", {**LOCATION, "Things": [{"@iot.id": thing}]})
    assert len(get(client, f"Things({thing})/HistoricalLocations")["value"]) == 1


def test_thing_without_location_has_no_history(client: FlaskClient) -> None:
    thing = make_thing(client)["@iot.id"]
    assert get(client, f"Things({thing})/HistoricalLocations")["value"] == []


# --- FeatureOfInterest generation and Observation defaults ---------------------------------------

def test_feature_of_interest_generated_from_thing_location(client: FlaskClient) -> None:
    stream = make_datastream(client)["@iot.id"]
    obs = observe(client, stream, "2024-05-01T10:00:00Z")
    feature = get(client, f"Observations({obs})/FeatureOfInterest")
    assert feature["feature"] == LOCATION["location"]
    assert feature["encodingType"] == LOCATION["encodingType"]


def test_generated_feature_of_interest_is_reused(client: FlaskClient) -> None:
    stream = make_datastream(client)["@iot.id"]
    first = observe(client, stream, "2024-05-01T10:00:00Z")
    second = observe(client, stream, "2024-05-01T11:00:00Z")
    assert get(client, f"Observations({first})/FeatureOfInterest")["@iot.id"] == \
        get(client, f"Observations({second})/FeatureOfInterest")["@iot.id"]
    assert len(get(client, "FeaturesOfInterest")["value"]) == 1


def test_new_feature_of_interest_after_thing_moves(client: FlaskClient) -> None:
    stream = make_datastream(client)["@iot.id"]
    thing = get(client, f"Datastreams({stream})/Thing")["@iot.id"]
    first = observe(client, stream, "2024-05-01T10:00:00Z")
    moved = post(client, "Locations", location(9.0, 47.0, "Site B"))["@iot.id"]
    request(client, "PATCH", f"Things({thing})", {"Locations": [{"@iot.id": moved}]})
    second = observe(client, stream, "2024-05-01T11:00:00Z")
    old = get(client, f"Observations({first})/FeatureOfInterest")
    new = get(client, f"Observations({second})/FeatureOfInterest")
    assert new["@iot.id"] != old["@iot.id"]
    assert new["feature"] == {"type": "Point", "coordinates": [9.0, 47.0]}


def test_observation_without_feature_and_without_location_is_400(client: FlaskClient) -> None:
    thing = make_thing(client)["@iot.id"]
    stream = make_datastream(client, thing)["@iot.id"]
    body = {"phenomenonTime": "2024-05-01T10:00:00Z", "result": 1, "Datastream": {"@iot.id": stream}}
    assert_error(request(client, "POST", "Observations", body), 400)
    assert counts(client)["Observations"] == 0


def test_observation_result_time_defaults_to_null(client: FlaskClient) -> None:
    stream = make_datastream(client)["@iot.id"]
    obs = observe(client, stream, "2024-05-01T10:00:00Z")
    assert get(client, f"Observations({obs})")["resultTime"] is None


def test_observation_without_phenomenon_time_gets_server_time(client: FlaskClient) -> None:
    stream = make_datastream(client)["@iot.id"]
    created = post(client, "Observations", {"result": 1, "Datastream": {"@iot.id": stream}})
    assert created["phenomenonTime"].startswith("20")


@pytest.mark.parametrize("result", ["high", True, {"a": 1}, [1, 2], 12.5])
def test_observation_result_of_any_json_type_round_trips(client: FlaskClient, result: Any) -> None:
    stream = make_datastream(client)["@iot.id"]
    obs = observe(client, stream, "2024-05-01T10:00:00Z", result)
    assert get(client, f"Observations({obs})")["result"] == result


# --- Datastream extents ---------------------------------------------------------------------------

def test_datastream_times_follow_observations(client: FlaskClient) -> None:
    stream = make_datastream(client)["@iot.id"]
    observe(client, stream, "2024-05-01T10:00:00Z", resultTime="2024-05-01T10:00:05Z")
    observe(client, stream, "2024-05-01T12:00:00Z", resultTime="2024-05-01T12:00:05Z")
    body = get(client, f"Datastreams({stream})")
    assert body["phenomenonTime"] == "2024-05-01T10:00:00Z/2024-05-01T12:00:00Z"
    assert body["resultTime"] == "2024-05-01T10:00:05Z/2024-05-01T12:00:05Z"
    assert body["observedArea"]["type"] in ("Point", "Polygon")


def test_datastream_times_shrink_after_deleting_newest_observation(client: FlaskClient) -> None:
    stream = make_datastream(client)["@iot.id"]
    observe(client, stream, "2024-05-01T10:00:00Z")
    observe(client, stream, "2024-05-01T11:00:00Z")
    newest = observe(client, stream, "2024-05-01T12:00:00Z")
    assert request(client, "DELETE", f"Observations({newest})").status_code == 200
    assert get(client, f"Datastreams({stream})")["phenomenonTime"] == \
        "2024-05-01T10:00:00Z/2024-05-01T11:00:00Z"


def test_datastream_times_follow_patched_observation(client: FlaskClient) -> None:
    stream = make_datastream(client)["@iot.id"]
    observe(client, stream, "2024-05-01T10:00:00Z")
    obs = observe(client, stream, "2024-05-01T11:00:00Z")
    request(client, "PATCH", f"Observations({obs})", {"phenomenonTime": "2024-05-02T00:00:00Z"})
    assert get(client, f"Datastreams({stream})")["phenomenonTime"] == \
        "2024-05-01T10:00:00Z/2024-05-02T00:00:00Z"


def test_datastream_without_observations_has_null_extents(client: FlaskClient) -> None:
    body = get(client, f"Datastreams({make_datastream(client)['@iot.id']})")
    assert body["phenomenonTime"] is None and body["resultTime"] is None


# --- PATCH, PUT, JSON PATCH -----------------------------------------------------------------------

def test_patch_merges_given_properties_only(client: FlaskClient) -> None:
    thing = make_thing(client, properties={"site": "USM"})
    response = request(client, "PATCH", f"Things({thing['@iot.id']})", {"description": "patched"})
    assert response.status_code == 200
    after = get(client, f"Things({thing['@iot.id']})")
    assert after == {**thing, "description": "patched"}


@pytest.mark.parametrize(("make", "patch"), [
    ("Locations", {"location": {"type": "Point", "coordinates": [114.05, -50.0]}}),
    ("Sensors", {"metadata": "PATCHED"}),
    ("ObservedProperties", {"description": "PATCHED"}),
    ("FeaturesOfInterest", {"feature": {"type": "Point", "coordinates": [114.05, -51.05]}}),
])
def test_patch_changes_one_property(client: FlaskClient, make: str, patch: dict[str, Any]) -> None:
    body = {"Locations": LOCATION, "Sensors": SENSOR, "ObservedProperties": OBSERVED_PROPERTY,
            "FeaturesOfInterest": FEATURE}[make]
    before = post(client, make, body)
    assert request(client, "PATCH", f"{make}({before['@iot.id']})", patch).status_code == 200
    assert get(client, f"{make}({before['@iot.id']})") == {**before, **patch}


def test_patch_datastream_unit_of_measurement(client: FlaskClient) -> None:
    stream = make_datastream(client)
    unit = {"name": "Kilowatt", "symbol": "kW", "definition": "http://unitsofmeasure.org/ucum.html#kW"}
    request(client, "PATCH", f"Datastreams({stream['@iot.id']})", {"unitOfMeasurement": unit})
    assert get(client, f"Datastreams({stream['@iot.id']})") == {**stream, "unitOfMeasurement": unit}


def test_patch_replaces_single_valued_link_by_id(client: FlaskClient) -> None:
    stream = make_datastream(client)["@iot.id"]
    sensor = post(client, "Sensors", SENSOR)["@iot.id"]
    request(client, "PATCH", f"Datastreams({stream})", {"Sensor": {"@iot.id": sensor}})
    assert get(client, f"Datastreams({stream})/Sensor")["@iot.id"] == sensor


def test_patch_link_to_missing_entity_fails_and_changes_nothing(client: FlaskClient) -> None:
    stream = make_datastream(client)
    response = request(client, "PATCH", f"Datastreams({stream['@iot.id']})",
                       {"description": "x", "Sensor": {"@iot.id": 999}})
    assert_error(response, 400)
    assert get(client, f"Datastreams({stream['@iot.id']})") == stream


@pytest.mark.parametrize(("kind", "body"), [
    ("Things", {"Locations": [LOCATION]}),
    ("Datastreams", {"Sensor": SENSOR}),
    ("Datastreams", {"Thing": {"name": "new", "description": "inline"}}),
    ("Datastreams", {"Observations": [{"phenomenonTime": "2024-05-01T10:00:00Z", "result": 1}]}),
])
def test_patch_with_inline_related_entity_is_400(client: FlaskClient, kind: str, body: Any) -> None:
    stream = make_datastream(client)["@iot.id"]
    ident = stream if kind == "Datastreams" else get(client, f"Datastreams({stream})/Thing")["@iot.id"]
    before = counts(client)
    assert_error(request(client, "PATCH", f"{kind}({ident})", body), 400)
    assert counts(client) == before


def test_patch_missing_entity_is_404(client: FlaskClient) -> None:
    assert_error(request(client, "PATCH", "Things(999)", {"name": "x"}), 404)


def test_patch_mandatory_property_to_null_is_400(client: FlaskClient) -> None:
    thing = make_thing(client)["@iot.id"]
    assert_error(request(client, "PATCH", f"Things({thing})", {"name": None}), 400)


def test_patch_ignores_id_in_body(client: FlaskClient) -> None:
    thing = make_thing(client)["@iot.id"]
    request(client, "PATCH", f"Things({thing})", {"@iot.id": 777, "name": "renamed"})
    assert get(client, f"Things({thing})")["name"] == "renamed"


def test_put_replaces_all_properties(client: FlaskClient) -> None:
    thing = make_thing(client, properties={"site": "USM"})["@iot.id"]
    response = request(client, "PUT", f"Things({thing})", {"name": "replaced", "description": "new"})
    assert response.status_code == 200
    after = get(client, f"Things({thing})")
    assert (after["name"], after["description"]) == ("replaced", "new")
    assert after.get("properties") in (None, {})


def test_put_without_mandatory_property_is_400(client: FlaskClient) -> None:
    thing = make_thing(client)
    assert_error(request(client, "PUT", f"Things({thing['@iot.id']})", {"description": "only"}), 400)
    assert get(client, f"Things({thing['@iot.id']})") == thing


def test_put_observation_result_and_time(client: FlaskClient) -> None:
    stream = make_datastream(client)["@iot.id"]
    obs = observe(client, stream, "2024-05-01T10:00:00Z")
    request(client, "PUT", f"Observations({obs})", {"result": "99", "phenomenonTime": "2015-08-01T00:40:00Z"})
    after = get(client, f"Observations({obs})")
    assert (after["result"], after["phenomenonTime"]) == ("99", "2015-08-01T00:40:00Z")
    assert get(client, f"Observations({obs})/Datastream")["@iot.id"] == stream


def test_json_patch_adds_copies_and_moves(client: FlaskClient) -> None:
    thing = make_thing(client)["@iot.id"]
    patch = "application/json-patch+json"
    add = [{"op": "add", "path": "/properties", "value": {"key1": 1}}]
    assert request(client, "PATCH", f"Things({thing})", add, content_type=patch).status_code == 200
    ops = [{"op": "copy", "from": "/properties/key1", "path": "/properties/keyCopy1"},
           {"op": "move", "from": "/properties/key1", "path": "/properties/key2"}]
    assert client.patch(f"/v1.1/Things({thing})", json=ops,
                        headers={"Content-Type": patch}).status_code == 200
    assert get(client, f"Things({thing})")["properties"] == {"keyCopy1": 1, "key2": 1}


def test_json_patch_that_cannot_apply_is_400(client: FlaskClient) -> None:
    thing = make_thing(client)["@iot.id"]
    ops = [{"op": "remove", "path": "/properties/missing"}]
    response = client.patch(f"/v1.1/Things({thing})", json=ops,
                            headers={"Content-Type": "application/json-patch+json"})
    assert_error(response, 400)


# --- DELETE ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("plural", PLURALS)
def test_delete_missing_entity_is_404(client: FlaskClient, plural: str) -> None:
    assert_error(request(client, "DELETE", f"{plural}(999999)"), 404)


@pytest.fixture
def graph(client: FlaskClient) -> dict[str, int]:
    """A Thing with one Location, one Datastream and one Observation, as ETS createEntitiesForDelete."""
    stream = make_datastream(client)["@iot.id"]
    obs = observe(client, stream, "2024-05-01T10:00:00Z")

    def one(path: str) -> int:
        body = get(client, path)
        return int(body["value"][0]["@iot.id"] if "value" in body else body["@iot.id"])

    thing = one(f"Datastreams({stream})/Thing")
    return {"Things": thing, "Datastreams": stream, "Observations": obs,
            "Locations": one(f"Things({thing})/Locations"),
            "HistoricalLocations": one(f"Things({thing})/HistoricalLocations"),
            "Sensors": one(f"Datastreams({stream})/Sensor"),
            "ObservedProperties": one(f"Datastreams({stream})/ObservedProperty"),
            "FeaturesOfInterest": one(f"Observations({obs})/FeatureOfInterest")}


@pytest.mark.parametrize(("deleted", "gone"), [
    ("Things", {"Things", "Datastreams", "Observations", "HistoricalLocations"}),
    ("Datastreams", {"Datastreams", "Observations"}),
    ("Sensors", {"Sensors", "Datastreams", "Observations"}),
    ("ObservedProperties", {"ObservedProperties", "Datastreams", "Observations"}),
    ("FeaturesOfInterest", {"FeaturesOfInterest", "Observations"}),
    ("Locations", {"Locations", "HistoricalLocations"}),
    ("HistoricalLocations", {"HistoricalLocations"}),
    ("Observations", {"Observations"}),
])
def test_delete_cascades_per_integrity_constraints(client: FlaskClient, graph: dict[str, int],
                                                   deleted: str, gone: set[str]) -> None:
    response = request(client, "DELETE", f"{deleted}({graph[deleted]})")
    assert response.status_code == 200
    assert request(client, "GET", f"{deleted}({graph[deleted]})").status_code == 404
    left = {plural for plural, n in counts(client).items() if n > 0}
    assert left == set(graph) - gone


def test_delete_location_keeps_history_that_names_other_locations(client: FlaskClient) -> None:
    body = {"name": "T", "description": "t", "Locations": [LOCATION, location(9.0, 47.0, "Site B")]}
    thing = post(client, "Things", body)["@iot.id"]
    first, second = ids(client, f"Things({thing})/Locations")
    request(client, "DELETE", f"Locations({first})")
    history = get(client, f"Things({thing})/HistoricalLocations")["value"]
    assert len(history) == 1
    assert ids(client, f"HistoricalLocations({history[0]['@iot.id']})/Locations") == [second]
    assert ids(client, f"Things({thing})/Locations") == [second]


def test_delete_collection_is_not_allowed(client: FlaskClient) -> None:
    make_thing(client)
    assert_error(request(client, "DELETE", "Things"), 405)
    assert counts(client)["Things"] == 1


# --- bad requests ----------------------------------------------------------------------------------

def test_post_to_unknown_entity_set_is_404(client: FlaskClient) -> None:
    assert_error(request(client, "POST", "Gadgets", {"name": "x"}), 404)


def test_malformed_json_is_400(client: FlaskClient) -> None:
    response = client.post("/v1.1/Things", data=b'{"name": "T",', content_type="application/json")
    assert_error(response, 400)


@pytest.mark.parametrize(("plural", "body"), [
    ("Things", {"description": "no name"}),
    ("Things", ["not", "an", "object"]),
    ("Things", {"name": 5, "description": "name is a number"}),
    ("Things", {"name": "T", "properties": "not an object"}),
    ("Things", {"name": "T", "colour": "unknown property"}),
    ("Locations", {**LOCATION, "location": {"type": "Point", "coordinates": "x"}}),
    ("Locations", {**LOCATION, "location": {"type": "Blob"}}),
    ("Locations", {"name": "L", "description": "no location", "encodingType": "application/geo+json"}),
    ("Sensors", {"name": "S", "description": "no metadata", "encodingType": "application/pdf"}),
    ("ObservedProperties", {"name": "P", "description": "no definition"}),
    ("FeaturesOfInterest", {**FEATURE, "feature": [1, 2]}),
    ("HistoricalLocations", {"time": "yesterday", "Thing": {"name": "T", "description": "t"}}),
    ("Datastreams", {**datastream_body(), "Thing": {"@iot.id": "abc"}}),
    ("Datastreams", {**datastream_body(), "unitOfMeasurement": "W"}),
    ("Observations", {"phenomenonTime": "2024-05-01T10:00:00Z", "result": 1}),
])
def test_invalid_entity_is_400_and_nothing_is_written(client: FlaskClient, plural: str, body: Any) -> None:
    assert_error(request(client, "POST", plural, body), 400)
    assert set(counts(client).values()) == {0}


@pytest.mark.parametrize("link", ["Thing", "Sensor", "ObservedProperty"])
def test_deep_insert_with_one_missing_link_writes_nothing(client: FlaskClient, link: str) -> None:
    thing = make_thing(client)["@iot.id"]
    body = {**datastream_body(), "Thing": {"@iot.id": thing}, link: {"@iot.id": 999}}
    before = counts(client)
    assert_error(request(client, "POST", "Datastreams", body), 400)
    assert counts(client) == before


def test_link_to_missing_entity_is_rejected_and_nothing_is_written(client: FlaskClient) -> None:
    body = {**datastream_body(), "Thing": {"@iot.id": 999}}
    assert_error(request(client, "POST", "Datastreams", body), 400)  # a bad body, not a bad URL
    assert set(counts(client).values()) == {0}


@pytest.mark.parametrize("missing", ["Sensor", "ObservedProperty"])
def test_failed_deep_insert_of_thing_writes_nothing(client: FlaskClient, missing: str) -> None:
    stream = datastream_body()
    del stream[missing]
    body = {"name": "T", "description": "t", "Locations": [LOCATION], "Datastreams": [stream]}
    assert_error(request(client, "POST", "Things", body), 400)
    assert set(counts(client).values()) == {0}


def test_failed_deep_insert_of_datastream_writes_nothing(client: FlaskClient) -> None:
    body = {**datastream_body(), "Observations": [
        {"phenomenonTime": "2024-05-01T10:00:00Z", "result": 1, "FeatureOfInterest": FEATURE}]}
    assert_error(request(client, "POST", "Datastreams", body), 400)  # no Thing
    assert set(counts(client).values()) == {0}


def test_invalid_observation_time_is_400(client: FlaskClient) -> None:
    stream = make_datastream(client)["@iot.id"]
    body = {"phenomenonTime": "not a time", "result": 1, "Datastream": {"@iot.id": stream}}
    assert_error(request(client, "POST", "Observations", body), 400)
    assert counts(client)["Observations"] == 0


# --- MultiDatastream ---------------------------------------------------------------------------------

def test_multi_datastream_created_with_observed_properties_in_order(client: FlaskClient) -> None:
    thing = make_thing(client)["@iot.id"]
    multi = post(client, "MultiDatastreams", {**multi_datastream_body(), "Thing": {"@iot.id": thing}})
    names = [p["name"] for p in get(client, f"MultiDatastreams({multi['@iot.id']})/ObservedProperties")["value"]]
    assert sorted(names) == ["Current", "Voltage"]
    assert multi["unitOfMeasurements"][0]["symbol"] == "V"


def test_multi_datastream_observation_has_array_result(client: FlaskClient) -> None:
    thing = post(client, "Things", {"name": "T", "description": "t", "Locations": [LOCATION]})["@iot.id"]
    multi = post(client, "MultiDatastreams", {**multi_datastream_body(), "Thing": {"@iot.id": thing}})
    created = post(client, f"MultiDatastreams({multi['@iot.id']})/Observations",
                   {"phenomenonTime": "2024-05-01T10:00:00Z", "result": [230.0, 4.5]})
    assert get(client, f"Observations({created['@iot.id']})")["result"] == [230.0, 4.5]
    assert get(client, f"MultiDatastreams({multi['@iot.id']})")["phenomenonTime"] == \
        "2024-05-01T10:00:00Z/2024-05-01T10:00:00Z"


def test_multi_datastream_observation_with_wrong_length_is_400(client: FlaskClient) -> None:
    thing = post(client, "Things", {"name": "T", "description": "t", "Locations": [LOCATION]})["@iot.id"]
    multi = post(client, "MultiDatastreams", {**multi_datastream_body(), "Thing": {"@iot.id": thing}})
    response = request(client, "POST", f"MultiDatastreams({multi['@iot.id']})/Observations",
                       {"phenomenonTime": "2024-05-01T10:00:00Z", "result": [230.0]})
    assert_error(response, 400)
    assert counts(client)["Observations"] == 0


@pytest.mark.parametrize("change", [
    {"multiObservationDataTypes": ["http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"]},
    {"ObservedProperties": [OBSERVED_PROPERTY]},
    {"observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"},
])
def test_multi_datastream_inconsistent_definition_is_400(client: FlaskClient, change: dict[str, Any]) -> None:
    thing = make_thing(client)["@iot.id"]
    body = {**multi_datastream_body(), "Thing": {"@iot.id": thing}, **change}
    assert_error(request(client, "POST", "MultiDatastreams", body), 400)
    assert counts(client)["MultiDatastreams"] == 0


def test_observation_with_both_streams_is_400(client: FlaskClient) -> None:
    thing = post(client, "Things", {"name": "T", "description": "t", "Locations": [LOCATION]})["@iot.id"]
    stream = make_datastream(client, thing)["@iot.id"]
    multi = post(client, "MultiDatastreams", {**multi_datastream_body(), "Thing": {"@iot.id": thing}})
    body = {"phenomenonTime": "2024-05-01T10:00:00Z", "result": [1, 2],
            "Datastream": {"@iot.id": stream}, "MultiDatastream": {"@iot.id": multi["@iot.id"]}}
    assert_error(request(client, "POST", "Observations", body), 400)
