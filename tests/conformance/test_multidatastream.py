"""Conformance class MultiDatastream (OGC 18-088 A.5; FROST-Server.Tests MultiDatastreamTests and
MultiDatastreamObsPropTests): ObservedProperties in the order given, also twice the same one; no
re-linking by update; deletes of a Sensor, an ObservedProperty or a Thing take the MultiDatastreams
that use them (and their Observations); dataArray of a MultiDatastream's Observations."""
from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conformance.conftest import COMPLEX
from tests.conftest import LOCATION, get, make_thing, post

MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"
CELSIUS = {"name": "degree celcius", "symbol": "°C", "definition": "ucum:T"}
PERCENT = {"name": "percent", "symbol": "%", "definition": "ucum:%"}


def _entity(client: FlaskClient, plural: str, body: dict[str, Any]) -> int:
    return int(post(client, plural, body)["@iot.id"])


@pytest.fixture
def md_world(client: FlaskClient) -> dict[str, Any]:
    """The setup of MultiDatastreamTests: a Thing, two Sensors, four ObservedProperties, a Datastream,
    and MultiDatastreams of ObservedProperties [0], [0, 1], [1, 0] and [0, 0] (the last on Sensor 2)."""
    thing = make_thing(client, Locations=[LOCATION])["@iot.id"]
    sensors = [_entity(client, "Sensors", {"name": f"Sensor {n}", "description": "s", "encodingType": "text",
                                           "metadata": "Some metadata."}) for n in (1, 2)]
    props = [_entity(client, "ObservedProperties", {"name": f"ObservedProperty {n}", "description": "p",
                                                    "definition": f"http://ucom.org/{n}"}) for n in range(1, 5)]
    stream = _entity(client, "Datastreams", {
        "name": "Datastream 1", "description": "d", "observationType": MEASUREMENT, "unitOfMeasurement": CELSIUS,
        "Thing": {"@iot.id": thing}, "Sensor": {"@iot.id": sensors[0]}, "ObservedProperty": {"@iot.id": props[0]}})
    plans = [([0], [CELSIUS], 0), ([0, 1], [CELSIUS, PERCENT], 0), ([1, 0], [PERCENT, CELSIUS], 0),
             ([0, 0], [CELSIUS, CELSIUS], 1)]
    multis = [_entity(client, "MultiDatastreams", {
        "name": f"MultiDatastream {n}", "description": "m", "observationType": COMPLEX,
        "unitOfMeasurements": units, "multiObservationDataTypes": [MEASUREMENT] * len(units),
        "Thing": {"@iot.id": thing}, "Sensor": {"@iot.id": sensors[sensor]},
        "ObservedProperties": [{"@iot.id": props[i]} for i in order]})
        for n, (order, units, sensor) in enumerate(plans, start=1)]
    observations = {multi: [_entity(client, "Observations", {"result": [n] * len(plans[i][0]),
                                                             "MultiDatastream": {"@iot.id": multi}})
                            for n in range(3)] for i, multi in enumerate(multis)}
    return {"thing": thing, "sensors": sensors, "props": props, "stream": stream, "multis": multis,
            "observations": observations, "orders": [order for order, _, _ in plans]}


def _ids(body: dict[str, Any]) -> list[int]:
    return [e["@iot.id"] for e in body["value"]]


def test_observed_properties_keep_the_order_given(client: FlaskClient, md_world: dict[str, Any]) -> None:
    props = md_world["props"]
    for multi, order in zip(md_world["multis"], md_world["orders"], strict=True):
        assert _ids(get(client, f"MultiDatastreams({multi})/ObservedProperties")) == [props[i] for i in order]


def test_observed_properties_keep_their_order_in_expand(client: FlaskClient, md_world: dict[str, Any]) -> None:
    props = md_world["props"]
    body = get(client, "MultiDatastreams", **{"$expand": "ObservedProperties($select=id)", "$orderby": "id"})
    for entity, order in zip(body["value"], md_world["orders"], strict=True):
        assert [p["@iot.id"] for p in entity["ObservedProperties"]] == [props[i] for i in order]
    nested = get(client, f"Things({md_world['thing']})", **{"$expand": "MultiDatastreams($orderby=id;"
                                                                        "$expand=ObservedProperties)"})
    assert [[p["@iot.id"] for p in m["ObservedProperties"]] for m in nested["MultiDatastreams"]] == \
        [[props[i] for i in order] for order in md_world["orders"]]


def test_observed_property_lists_each_multi_datastream_once(client: FlaskClient,
                                                            md_world: dict[str, Any]) -> None:
    first, second = md_world["props"][:2]
    assert sorted(_ids(get(client, f"ObservedProperties({first})/MultiDatastreams"))) == md_world["multis"]
    assert sorted(_ids(get(client, f"ObservedProperties({second})/MultiDatastreams"))) == md_world["multis"][1:3]


def test_linking_an_observed_property_by_patch_is_400(client: FlaskClient, md_world: dict[str, Any]) -> None:
    multi, props = md_world["multis"][0], md_world["props"]
    response = client.patch(f"/v1.1/MultiDatastreams({multi})", json={"ObservedProperties": [{"@iot.id": props[1]}]})
    assert response.status_code == 400
    response = client.patch(f"/v1.1/ObservedProperties({props[1]})", json={"MultiDatastreams": [{"@iot.id": multi}]})
    assert response.status_code == 400
    assert _ids(get(client, f"MultiDatastreams({multi})/ObservedProperties")) == [props[0]]


def test_observation_with_a_datastream_cannot_get_a_multi_datastream(client: FlaskClient,
                                                                     md_world: dict[str, Any]) -> None:
    observation = post(client, "Observations", {"result": 1, "Datastream": {"@iot.id": md_world["stream"]}})
    response = client.patch(f"/v1.1/Observations({observation['@iot.id']})",
                            json={"MultiDatastream": {"@iot.id": md_world["multis"][0]}})
    assert response.status_code == 400
    assert get(client, f"Observations({observation['@iot.id']})/Datastream")["@iot.id"] == md_world["stream"]


def test_deleting_an_observed_property_deletes_its_multi_datastreams(client: FlaskClient,
                                                                     md_world: dict[str, Any]) -> None:
    multis, observations = md_world["multis"], md_world["observations"]
    assert client.delete(f"/v1.1/ObservedProperties({md_world['props'][1]})").status_code == 200
    assert _ids(get(client, "MultiDatastreams", **{"$orderby": "id"})) == [multis[0], multis[3]]
    kept = sorted(observations[multis[0]] + observations[multis[3]])
    assert _ids(get(client, "Observations", **{"$orderby": "id"})) == kept


def test_deleting_a_sensor_deletes_its_multi_datastreams(client: FlaskClient, md_world: dict[str, Any]) -> None:
    multis = md_world["multis"]
    assert client.delete(f"/v1.1/Sensors({md_world['sensors'][1]})").status_code == 200
    assert _ids(get(client, "MultiDatastreams", **{"$orderby": "id"})) == multis[:3]
    assert client.delete(f"/v1.1/Things({md_world['thing']})").status_code == 200
    assert get(client, "MultiDatastreams")["value"] == []


def test_data_array_of_multi_datastream_observations(client: FlaskClient, md_world: dict[str, Any]) -> None:
    multi = md_world["multis"][1]
    body = get(client, f"MultiDatastreams({multi})/Observations", **{"$resultFormat": "dataArray",
                                                                     "$select": "id,result"})
    assert len(body["value"]) == 1
    group = body["value"][0]
    assert group["MultiDatastream@iot.navigationLink"].endswith(f"/MultiDatastreams({multi})")
    assert group["components"] == ["id", "result"]
    assert sorted(row[1] for row in group["dataArray"]) == [[0, 0], [1, 1], [2, 2]]


def test_result_must_have_one_value_per_observed_property(client: FlaskClient, md_world: dict[str, Any]) -> None:
    one, two = md_world["multis"][:2]
    for stream, result in ((two, 1), (one, [1, 2]), (two, [1])):
        response = client.post("/v1.1/Observations", json={"result": result, "MultiDatastream": {"@iot.id": stream}})
        assert response.status_code == 400, (stream, result)


def test_entities_link_their_multi_datastreams(client: FlaskClient, md_world: dict[str, Any]) -> None:
    for plural in ("Things", "Sensors", "ObservedProperties"):
        assert all("MultiDatastreams@iot.navigationLink" in e for e in get(client, plural)["value"])
    for entity in get(client, "MultiDatastreams")["value"]:
        for link in ("Thing", "Sensor", "ObservedProperties", "Observations"):
            assert f"{link}@iot.navigationLink" in entity


@pytest.mark.parametrize("change", [
    {"unitOfMeasurements": [CELSIUS]},
    {"multiObservationDataTypes": [MEASUREMENT] * 3},
    {"observationType": MEASUREMENT},
])
def test_update_keeps_one_unit_and_type_per_observed_property(client: FlaskClient, md_world: dict[str, Any],
                                                              change: dict[str, Any]) -> None:
    multi = md_world["multis"][1]
    before = get(client, f"MultiDatastreams({multi})")
    assert client.patch(f"/v1.1/MultiDatastreams({multi})", json=change).status_code == 400
    assert get(client, f"MultiDatastreams({multi})") == before


def test_update_with_matching_units(client: FlaskClient, md_world: dict[str, Any]) -> None:
    multi = md_world["multis"][1]
    units = [PERCENT, CELSIUS]
    response = client.patch(f"/v1.1/MultiDatastreams({multi})", json={"unitOfMeasurements": units})
    assert response.status_code == 200
    assert get(client, f"MultiDatastreams({multi})")["unitOfMeasurements"] == units


def test_put_may_send_the_observed_properties_back_unchanged(client: FlaskClient, md_world: dict[str, Any]) -> None:
    multi, props = md_world["multis"][2], md_world["props"]
    body = {"name": "MultiDatastream 3b", "description": "m", "observationType": COMPLEX,
            "unitOfMeasurements": [PERCENT, CELSIUS], "multiObservationDataTypes": [MEASUREMENT] * 2,
            "ObservedProperties": [{"@iot.id": props[1]}, {"@iot.id": props[0]}]}
    assert client.put(f"/v1.1/MultiDatastreams({multi})", json=body).status_code == 200
    assert get(client, f"MultiDatastreams({multi})")["name"] == "MultiDatastream 3b"
    swapped = {**body, "ObservedProperties": [{"@iot.id": props[0]}, {"@iot.id": props[1]}]}
    assert client.put(f"/v1.1/MultiDatastreams({multi})", json=swapped).status_code == 400
    assert _ids(get(client, f"MultiDatastreams({multi})/ObservedProperties")) == [props[1], props[0]]


def test_count_matches_the_listed_observed_properties(client: FlaskClient, md_world: dict[str, Any]) -> None:
    twice = md_world["multis"][3]  # ObservedProperty 1 twice
    body = get(client, f"MultiDatastreams({twice})/ObservedProperties", **{"$count": "true"})
    assert body["@iot.count"] == len(body["value"]) == 2
    paged = get(client, f"MultiDatastreams({md_world['multis'][1]})/ObservedProperties", **{"$top": "1"})
    assert _ids(paged) == [md_world["props"][0]]
    next_page = client.get(paged["@iot.nextLink"].removeprefix("http://sta.test/api")).get_json()
    assert _ids(next_page) == [md_world["props"][1]]
