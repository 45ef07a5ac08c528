"""Conformance class Sensing Core (OGC 18-088 A.1/A.2; ETS Capability1Tests): the service root,
entity sets, single entities, navigation both ways, properties, `$value`, `$ref`, control links."""
from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.conftest import BASE, get

SPEC_11 = "http://www.opengis.net/spec/iot_sensing/1.1/req/"

# entity type -> (entity set, mandatory properties, navigation links) as in OGC 18-088 section 8
ENTITIES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "Thing": ("Things", ("name", "description"),
              ("Locations", "HistoricalLocations", "Datastreams", "MultiDatastreams")),
    "Location": ("Locations", ("name", "description", "encodingType", "location"),
                 ("Things", "HistoricalLocations")),
    "HistoricalLocation": ("HistoricalLocations", ("time",), ("Thing", "Locations")),
    "Datastream": ("Datastreams", ("name", "description", "unitOfMeasurement", "observationType"),
                   ("Thing", "Sensor", "ObservedProperty", "Observations")),
    "MultiDatastream": ("MultiDatastreams",
                        ("name", "description", "unitOfMeasurements", "observationType",
                         "multiObservationDataTypes"),
                        ("Thing", "Sensor", "ObservedProperties", "Observations")),
    "Sensor": ("Sensors", ("name", "description", "encodingType", "metadata"),
               ("Datastreams", "MultiDatastreams")),
    "ObservedProperty": ("ObservedProperties", ("name", "definition", "description"),
                         ("Datastreams", "MultiDatastreams")),
    "Observation": ("Observations", ("phenomenonTime", "result", "resultTime"),
                    ("Datastream", "FeatureOfInterest")),
    "FeatureOfInterest": ("FeaturesOfInterest", ("name", "description", "encodingType", "feature"),
                          ("Observations",)),
}
TYPES = list(ENTITIES)

# (source type, link, target type, target is the inverse of a link back to the source)
NAVIGATION = [
    ("Thing", "Locations", "Location"), ("Thing", "HistoricalLocations", "HistoricalLocation"),
    ("Thing", "Datastreams", "Datastream"), ("Thing", "MultiDatastreams", "MultiDatastream"),
    ("Location", "Things", "Thing"), ("Location", "HistoricalLocations", "HistoricalLocation"),
    ("HistoricalLocation", "Thing", "Thing"), ("HistoricalLocation", "Locations", "Location"),
    ("Datastream", "Thing", "Thing"), ("Datastream", "Sensor", "Sensor"),
    ("Datastream", "ObservedProperty", "ObservedProperty"),
    ("Datastream", "Observations", "Observation"),
    ("MultiDatastream", "Thing", "Thing"), ("MultiDatastream", "Sensor", "MultiSensor"),
    ("MultiDatastream", "ObservedProperties", "MultiObservedProperty"),
    ("MultiDatastream", "Observations", "MultiObservation"),
    ("Sensor", "Datastreams", "Datastream"), ("MultiSensor", "MultiDatastreams", "MultiDatastream"),
    ("ObservedProperty", "Datastreams", "Datastream"),
    ("MultiObservedProperty", "MultiDatastreams", "MultiDatastream"),
    ("Observation", "Datastream", "Datastream"), ("Observation", "FeatureOfInterest", "FeatureOfInterest"),
    ("FeatureOfInterest", "Observations", "Observation"),
]
PLURALS = {name: plural for name, (plural, _, _) in ENTITIES.items()}
PLURALS.update(MultiObservation="Observations", MultiSensor="Sensors",
               MultiObservedProperty="ObservedProperties")


def _url(kind: str, ident: int) -> str:
    return f"{PLURALS[kind]}({ident})"


def _ids(body: dict) -> list[int]:
    return [e["@iot.id"] for e in body["value"]] if "value" in body else [body["@iot.id"]]


def _assert_error(body: dict) -> None:
    assert set(body) == {"error"}
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


# --- service root ------------------------------------------------------------------------------

def test_service_root_lists_every_entity_set_with_its_url(client: FlaskClient) -> None:
    body = get(client, "")  # `/v1.1/`; `/v1.1` is the same document
    urls = {item["name"]: item["url"] for item in body["value"]}
    for plural, _, _ in ENTITIES.values():
        assert urls[plural] == f"{BASE}/{plural}"
    assert all(url == f"{BASE}/{name}" for name, url in urls.items())


def test_service_root_without_trailing_slash(client: FlaskClient) -> None:
    response = client.get("/v1.1")
    assert response.status_code == 200
    assert response.get_json() == get(client, "")


def test_service_root_lists_conformance_classes(client: FlaskClient) -> None:
    conformance = get(client, "")["serverSettings"]["conformance"]
    for requirement in ("datamodel", "resource-path/resource-path-to-entities", "request-data",
                        "create-update-delete", "multi-datastream"):
        assert SPEC_11 + requirement in conformance


def test_v10_service_root_lists_entity_sets_under_v10(client: FlaskClient) -> None:
    response = client.get("/v1.0")
    assert response.status_code == 200
    urls = {item["name"]: item["url"] for item in response.get_json()["value"]}
    assert urls["Things"] == "http://sta.test/api/v1.0/Things"
    assert urls["Observations"] == "http://sta.test/api/v1.0/Observations"


def test_v10_entities_link_under_v10(client: FlaskClient, world: dict[str, int]) -> None:
    response = client.get(f"/v1.0/Things({world['Thing']})")
    assert response.status_code == 200
    assert response.get_json()["@iot.selfLink"] == f"http://sta.test/api/v1.0/Things({world['Thing']})"


def test_unknown_version_is_404_with_error_body(client: FlaskClient) -> None:
    response = client.get("/v2.0/Things")
    assert response.status_code == 404
    _assert_error(response.get_json())


# --- collections and entities ------------------------------------------------------------------

@pytest.mark.parametrize("kind", TYPES)
def test_collection_has_value_array_of_entities(client: FlaskClient, world: dict[str, int], kind: str) -> None:
    plural = PLURALS[kind]
    body = get(client, plural)
    assert isinstance(body["value"], list) and body["value"]
    for entity in body["value"]:
        assert isinstance(entity["@iot.id"], int)
        assert entity["@iot.selfLink"] == f"{BASE}/{plural}({entity['@iot.id']})"


@pytest.mark.parametrize("kind", TYPES)
def test_entity_has_mandatory_properties(client: FlaskClient, world: dict[str, int], kind: str) -> None:
    entity = get(client, _url(kind, world[kind]))
    assert entity["@iot.id"] == world[kind]
    for name in ENTITIES[kind][1]:
        assert name in entity, name


@pytest.mark.parametrize("kind", TYPES)
def test_entity_has_navigation_link_per_relation(client: FlaskClient, world: dict[str, int], kind: str) -> None:
    entity = get(client, _url(kind, world[kind]))
    for link in ENTITIES[kind][2]:
        assert entity[f"{link}@iot.navigationLink"] == f"{BASE}/{_url(kind, world[kind])}/{link}"


@pytest.mark.parametrize("kind", TYPES)
def test_missing_entity_is_404_with_error_body(client: FlaskClient, world: dict[str, int], kind: str) -> None:
    response = client.get(f"/v1.1/{PLURALS[kind]}(999999)")
    assert response.status_code == 404
    _assert_error(response.get_json())


def test_unknown_entity_set_is_404_with_error_body(client: FlaskClient) -> None:
    response = client.get("/v1.1/Gadgets")
    assert response.status_code == 404
    _assert_error(response.get_json())


def test_unknown_property_or_link_is_404(client: FlaskClient, world: dict[str, int]) -> None:
    response = client.get(f"/v1.1/Things({world['Thing']})/colour")
    assert response.status_code == 404
    _assert_error(response.get_json())


def test_observation_without_result_time_reads_null(client: FlaskClient, world: dict[str, int]) -> None:
    assert get(client, _url("Observation", world["Observation"]))["resultTime"] is None


# --- navigation ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("source", "link", "target"), NAVIGATION,
                         ids=[f"{s}-{link}" for s, link, _ in NAVIGATION])
def test_navigation_link_leads_to_related_entity(client: FlaskClient, world: dict[str, int],
                                                  source: str, link: str, target: str) -> None:
    body = get(client, f"{_url(source, world[source])}/{link}")
    if link.endswith("s"):
        assert isinstance(body["value"], list)
    assert world[target] in _ids(body)


def test_navigation_link_url_from_entity_resolves(client: FlaskClient, world: dict[str, int]) -> None:
    entity = get(client, _url("Datastream", world["Datastream"]))
    link = entity["Thing@iot.navigationLink"].removeprefix("http://sta.test/api")
    response = client.get(link)
    assert response.status_code == 200
    assert response.get_json()["@iot.id"] == world["Thing"]


def test_entity_in_navigation_collection_by_id(client: FlaskClient, world: dict[str, int]) -> None:
    body = get(client, f"Things({world['Thing']})/Datastreams({world['Datastream']})")
    assert body["@iot.id"] == world["Datastream"]


def test_unrelated_entity_in_navigation_collection_is_404(client: FlaskClient, world: dict[str, int]) -> None:
    response = client.get(f"/v1.1/Things({world['Thing']})/Datastreams(999999)")
    assert response.status_code == 404
    _assert_error(response.get_json())


def test_navigation_from_missing_entity_is_404(client: FlaskClient, world: dict[str, int]) -> None:
    assert client.get("/v1.1/Things(999999)/Datastreams").status_code == 404


def test_two_step_navigation(client: FlaskClient, world: dict[str, int]) -> None:
    body = get(client, f"Observations({world['Observation']})/Datastream/Thing/Locations")
    assert _ids(body) == [world["Location"]]


def test_id_after_single_valued_link_is_404(client: FlaskClient, world: dict[str, int]) -> None:
    response = client.get(f"/v1.1/Datastreams({world['Datastream']})/Thing({world['Thing']})")
    assert response.status_code == 404


# --- properties and $value ----------------------------------------------------------------------

@pytest.mark.parametrize("kind", TYPES)
def test_property_reads_as_single_member_object(client: FlaskClient, world: dict[str, int], kind: str) -> None:
    entity = get(client, _url(kind, world[kind]))
    for name in ENTITIES[kind][1]:
        if entity[name] is None:  # null: 204 No Content (Capability1Tests)
            assert client.get(f"/v1.1/{_url(kind, world[kind])}/{name}").status_code == 204
            continue
        body = get(client, f"{_url(kind, world[kind])}/{name}")
        assert body == {name: entity[name]}


def test_string_property_value_is_raw_text(client: FlaskClient, world: dict[str, int]) -> None:
    response = client.get(f"/v1.1/Things({world['Thing']})/name/$value")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == "Battery 1"


def test_number_property_value_is_raw_text(client: FlaskClient, world: dict[str, int]) -> None:
    response = client.get(f"/v1.1/Observations({world['Observation']})/result/$value")
    assert response.get_data(as_text=True) == "1200"


def test_object_property_value_is_json_text(client: FlaskClient, world: dict[str, int]) -> None:
    response = client.get(f"/v1.1/Locations({world['Location']})/location/$value")
    assert response.status_code == 200
    assert response.get_data(as_text=True).startswith("{")


def test_property_of_navigated_entity(client: FlaskClient, world: dict[str, int]) -> None:
    body = get(client, f"Datastreams({world['Datastream']})/Sensor/name")
    assert body == {"name": "Inverter meter"}


def test_property_of_missing_entity_is_404(client: FlaskClient) -> None:
    assert client.get("/v1.1/Things(999999)/name").status_code == 404
    assert client.get("/v1.1/Things(999999)/name/$value").status_code == 404


# --- $ref ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", TYPES)
def test_entity_set_ref_lists_only_self_links(client: FlaskClient, world: dict[str, int], kind: str) -> None:
    body = get(client, f"{PLURALS[kind]}/$ref")
    assert body["value"]
    for item in body["value"]:
        assert list(item) == ["@iot.selfLink"]
        assert item["@iot.selfLink"].startswith(f"{BASE}/{PLURALS[kind]}(")


def test_navigation_collection_ref_lists_related_self_links(client: FlaskClient, world: dict[str, int]) -> None:
    body = get(client, f"Things({world['Thing']})/Datastreams/$ref")
    assert body["value"] == [{"@iot.selfLink": f"{BASE}/Datastreams({world['Datastream']})"}]


def test_single_valued_link_ref_is_one_self_link(client: FlaskClient, world: dict[str, int]) -> None:
    body = get(client, f"Datastreams({world['Datastream']})/Thing/$ref")
    assert body == {"@iot.selfLink": f"{BASE}/Things({world['Thing']})"}


def test_nothing_may_follow_ref(client: FlaskClient, world: dict[str, int]) -> None:
    assert client.get(f"/v1.1/Things({world['Thing']})/Datastreams/$ref/name").status_code == 404


def test_value_needs_a_property(client: FlaskClient, world: dict[str, int]) -> None:
    assert client.get(f"/v1.1/Things({world['Thing']})/$value").status_code == 404
