"""Sensing Core, paths into JSON properties (FROST-Server.Tests JsonPropertiesTests test01/test02/
test21, MultiDatastreamTests test04; Capability1Tests on null properties): `properties/string`,
`parameters/objArray[0]/string`, `result[0]`, each also with `$value`; a null property is 204."""
from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conformance.conftest import multi_datastream_body
from tests.conftest import LOCATION, datastream_body, get, make_thing, post

# The JSON of JsonPropertiesTests for index 0: generateString(0, 10), generateIntArray(8, 5), …
MEMBERS: dict[str, Any] = {
    "string": "abcdefghij", "boolean": True, "int": 8, "intArray": [8, 9, 10, 11, 12],
    "intIntArray": [[8, 9, 10], [9, 10, 11], [10, 11, 12]],
    "objArray": [{"string": "ijklmnopqr", "boolean": True, "int": 8, "intArray": [8, 9, 10]},
                 {"string": "jklmnopqrs", "boolean": False, "int": 9, "intArray": [9, 10, 11]}],
}
# (path below the JSON property, the member the answer names, its value)
MEMBER_PATHS = [
    ("string", "string", "abcdefghij"),
    ("boolean", "boolean", True),
    ("int", "int", 8),
    ("intArray", "intArray", [8, 9, 10, 11, 12]),
    ("intArray[1]", "intArray[1]", 9),
    ("intIntArray[1]", "intIntArray[1]", [9, 10, 11]),
    ("intIntArray[0][1]", "intIntArray[0][1]", 9),
    ("objArray[0]/string", "string", "ijklmnopqr"),
]


@pytest.fixture
def json_world(client: FlaskClient) -> dict[str, int]:
    thing = make_thing(client, properties=MEMBERS, Locations=[LOCATION], Datastreams=[datastream_body()])
    stream = get(client, f"Things({thing['@iot.id']})/Datastreams")["value"][0]["@iot.id"]
    observation = post(client, "Observations", {"result": 1, "parameters": MEMBERS,
                                                "Datastream": {"@iot.id": stream}})
    return {"Thing": thing["@iot.id"], "Datastream": stream, "Observation": observation["@iot.id"]}


def _encoded(path: str) -> str:
    """The suites send `[` and `]` percent-encoded."""
    return path.replace("[", "%5B").replace("]", "%5D")


@pytest.mark.parametrize(("member", "name", "value"), MEMBER_PATHS, ids=[m for m, _, _ in MEMBER_PATHS])
@pytest.mark.parametrize("entity", ["Things({Thing})/properties", "Observations({Observation})/parameters"])
def test_member_path_answers_the_member(client: FlaskClient, json_world: dict[str, int], entity: str,
                                        member: str, name: str, value: Any) -> None:
    assert get(client, _encoded(f"{entity.format(**json_world)}/{member}")) == {name: value}


@pytest.mark.parametrize(("member", "text"), [("string", "abcdefghij"), ("int", "8"), ("intArray[1]", "9"),
                                              ("objArray[1]/string", "jklmnopqrs"), ("intArray", "[8,9,10,11,12]")])
def test_member_value_is_raw(client: FlaskClient, json_world: dict[str, int], member: str, text: str) -> None:
    response = client.get(_encoded(f"/v1.1/Things({json_world['Thing']})/properties/{member}/$value"))
    assert response.status_code == 200
    assert response.get_data(as_text=True).replace(" ", "") == text


def test_unit_of_measurement_member(client: FlaskClient, json_world: dict[str, int]) -> None:
    body = get(client, f"Datastreams({json_world['Datastream']})/unitOfMeasurement/symbol")
    assert body == {"symbol": "W"}


def test_index_into_a_multi_datastream_result(client: FlaskClient) -> None:
    thing = make_thing(client, Locations=[LOCATION], MultiDatastreams=[multi_datastream_body()])
    stream = get(client, f"Things({thing['@iot.id']})/MultiDatastreams")["value"][0]["@iot.id"]
    observation = post(client, "Observations", {"result": [4, 5.5], "MultiDatastream": {"@iot.id": stream}})
    assert get(client, _encoded(f"Observations({observation['@iot.id']})/result[0]")) == {"result[0]": 4}
    response = client.get(_encoded(f"/v1.1/Observations({observation['@iot.id']})/result[1]/$value"))
    assert response.get_data(as_text=True) == "5.5"


@pytest.mark.parametrize("member", ["missing", "intArray[7]", "string/deeper", "objArray[0]/missing"])
def test_member_that_is_not_there_is_204(client: FlaskClient, json_world: dict[str, int], member: str) -> None:
    for suffix in ("", "/$value"):
        response = client.get(_encoded(f"/v1.1/Things({json_world['Thing']})/properties/{member}{suffix}"))
        assert response.status_code == 204
        assert response.get_data() == b""


def test_null_property_is_204_with_and_without_value(client: FlaskClient) -> None:
    thing = make_thing(client)  # no properties: null
    for suffix in ("properties", "properties/$value", "properties/string"):
        response = client.get(f"/v1.1/Things({thing['@iot.id']})/{suffix}")
        assert response.status_code == 204, suffix
        assert response.get_data() == b""


def test_member_of_missing_entity_is_404(client: FlaskClient) -> None:
    assert client.get("/v1.1/Things(999999)/properties/string").status_code == 404
    assert client.get("/v1.1/Things(999999)/properties/string/$value").status_code == 404


@pytest.mark.parametrize("path", ["name/first", "name%5B0%5D", "properties/%5B0%5D", "Datastreams/name"])
def test_members_only_below_json_properties(client: FlaskClient, json_world: dict[str, int], path: str) -> None:
    assert client.get(f"/v1.1/Things({json_world['Thing']})/{path}").status_code == 404


def test_member_paths_cannot_be_written(client: FlaskClient, json_world: dict[str, int]) -> None:
    response = client.patch(f"/v1.1/Things({json_world['Thing']})/properties/string", json={"string": "x"})
    assert response.status_code == 405
