"""Data array extension (OGC 18-088 section 13; ETS / FROST DataArrayTests): read and create."""
from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.conftest import BASE, get, post

DEFAULT_COMPONENTS = ["id", "phenomenonTime", "result", "resultTime", "resultQuality", "validTime",
                      "parameters"]


def _observe(client: FlaskClient, stream: int, *results: Any, link: str = "Datastream") -> None:
    for minute, result in enumerate(results):
        post(client, "Observations", {"phenomenonTime": f"2024-05-02T10:{minute:02d}:00Z",
                                      "result": result, link: {"@iot.id": stream}})


def test_data_array_groups_observations_per_stream(client: FlaskClient, world: dict[str, int]) -> None:
    body = get(client, "Observations", **{"$resultFormat": "dataArray"})
    links = sorted(next(k for k in group if k.endswith("@iot.navigationLink")) for group in body["value"])
    assert links == ["Datastream@iot.navigationLink", "MultiDatastream@iot.navigationLink"]
    by_link = {next(iter(group)): group for group in body["value"]}
    group = by_link["Datastream@iot.navigationLink"]
    assert group["Datastream@iot.navigationLink"] == f"{BASE}/Datastreams({world['Datastream']})"
    assert group["components"] == DEFAULT_COMPONENTS
    assert group["dataArray@iot.count"] == 1
    assert group["dataArray"] == [[world["Observation"], "2024-05-01T10:00:00Z", 1200, None, None,
                                   None, None]]
    multi = by_link["MultiDatastream@iot.navigationLink"]
    assert multi["dataArray"][0][2] == [230.1, 5.2]


def test_data_array_components_follow_select(client: FlaskClient, world: dict[str, int]) -> None:
    path = f"Datastreams({world['Datastream']})/Observations"
    body = get(client, path, **{"$resultFormat": "dataArray", "$select": "result,phenomenonTime"})
    assert body["value"] == [{
        "Datastream@iot.navigationLink": f"{BASE}/Datastreams({world['Datastream']})",
        "components": ["result", "phenomenonTime"],
        "dataArray@iot.count": 1,
        "dataArray": [[1200, "2024-05-01T10:00:00Z"]],
    }]


def test_data_array_pages_with_count_and_next_link(client: FlaskClient, world: dict[str, int]) -> None:
    _observe(client, world["Datastream"], 10, 20, 30)
    body = get(client, "Observations", **{"$resultFormat": "dataArray", "$count": "true", "$top": "3",
                                          "$orderby": "phenomenonTime desc", "$select": "id,result"})
    assert body["@iot.count"] == 5
    assert "$resultFormat=dataArray" in body["@iot.nextLink"]
    rows = [row for group in body["value"] for row in group["dataArray"]]
    assert [row[1] for row in rows] == [30, 20, 10]
    assert all(g["dataArray@iot.count"] == len(g["dataArray"]) for g in body["value"])


def test_data_array_honours_filter(client: FlaskClient, world: dict[str, int]) -> None:
    _observe(client, world["Datastream"], 10, 20)
    body = get(client, "Observations", **{"$resultFormat": "dataArray", "$filter": "result gt 15",
                                          "$select": "result", "$orderby": "result"})
    assert [group["dataArray"] for group in body["value"]] == [[[20], [1200]]]


def test_data_array_rejects_other_entity_sets(client: FlaskClient, world: dict[str, int]) -> None:
    get(client, "Things", 400, **{"$resultFormat": "dataArray"})


def test_data_array_rejects_navigation_links_in_select(client: FlaskClient, world: dict[str, int]) -> None:
    get(client, "Observations", 400, **{"$resultFormat": "dataArray", "$select": "Datastream"})


def test_data_array_rejects_unknown_component(client: FlaskClient, world: dict[str, int]) -> None:
    get(client, "Observations", 400, **{"$resultFormat": "dataArray", "$select": "colour"})


def test_data_array_of_missing_datastream_is_404(client: FlaskClient, world: dict[str, int]) -> None:
    get(client, "Datastreams(999)/Observations", 404, **{"$resultFormat": "dataArray"})


def _create(client: FlaskClient, body: Any, status: int = 201) -> Any:
    response = client.post("/v1.1/CreateObservations", json=body)
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def test_create_observations_answers_self_links_in_order(client: FlaskClient, world: dict[str, int]) -> None:
    links = _create(client, [{
        "Datastream": {"@iot.id": world["Datastream"]},
        "components": ["phenomenonTime", "result", "FeatureOfInterest/id"],
        "dataArray@iot.count": 2,
        "dataArray": [["2010-12-23T10:20:00-07:00", 20, world["FeatureOfInterest"]],
                      ["2010-12-23T10:21:00-07:00", 30, world["FeatureOfInterest"]]],
    }])
    assert len(links) == 2 and all(link.startswith(f"{BASE}/Observations(") for link in links)
    created = client.get(links[1].removeprefix("http://sta.test/api")).get_json()
    assert created["result"] == 30 and created["phenomenonTime"] == "2010-12-23T17:21:00Z"


def test_create_observations_bad_row_gives_error_string(client: FlaskClient, world: dict[str, int]) -> None:
    links = _create(client, [{
        "Datastream": {"@iot.id": world["Datastream"]},
        "components": ["phenomenonTime", "result", "FeatureOfInterest/id"],
        "dataArray": [["2010-12-23T10:20:00-07:00", 20, world["FeatureOfInterest"]],
                      ["2010-12-23T10:21:00-07:00", 30, "probablyNotAValidId"],
                      ["not a time", 40, world["FeatureOfInterest"]],
                      ["2010-12-23T10:22:00-07:00", 50]],
    }])
    assert links[1:] == ["error", "error", "error"]
    assert links[0].startswith(f"{BASE}/Observations(")
    results = get(client, f"Datastreams({world['Datastream']})/Observations", **{"$select": "result"})
    assert sorted(o["result"] for o in results["value"]) == [20, 1200]


def test_create_observations_generates_one_feature(client: FlaskClient, world: dict[str, int]) -> None:
    links = _create(client, [{
        "Datastream": {"@iot.id": world["Datastream"]}, "components": ["phenomenonTime", "result"],
        "dataArray": [["2024-06-01T00:00:00Z", 1], ["2024-06-01T00:01:00Z", 2]],
    }])
    features = {get(client, f"{link.removeprefix(BASE + '/')}/FeatureOfInterest")["@iot.id"] for link in links}
    assert features == {world["FeatureOfInterest"]}


def test_create_observations_extends_the_datastream(client: FlaskClient, world: dict[str, int]) -> None:
    _create(client, [{
        "Datastream": {"@iot.id": world["Datastream"]}, "components": ["phenomenonTime", "result"],
        "dataArray": [["2024-06-01T00:00:00Z", 1]],
    }])
    stream = get(client, f"Datastreams({world['Datastream']})")
    assert stream["phenomenonTime"] == "2024-05-01T10:00:00Z/2024-06-01T00:00:00Z"


def test_create_observations_on_multi_datastream(client: FlaskClient, world: dict[str, int]) -> None:
    links = _create(client, [{
        "MultiDatastream": {"@iot.id": world["MultiDatastream"]},
        "components": ["phenomenonTime", "result"],
        "dataArray": [["2010-12-23T10:20:00-07:00", [5, 20]], ["2010-12-23T10:21:00-07:00", 30]],
    }])
    assert links[1] == "error" and links[0].startswith(f"{BASE}/Observations(")


def test_create_observations_unknown_datastream_gives_row_errors(client: FlaskClient,
                                                                 world: dict[str, int]) -> None:
    links = _create(client, [{
        "Datastream": {"@iot.id": 999}, "components": ["phenomenonTime", "result"],
        "dataArray": [["2024-06-01T00:00:00Z", 1]],
    }])
    assert links == ["error"]


def test_create_observations_rejects_unknown_component(client: FlaskClient, world: dict[str, int]) -> None:
    _create(client, [{
        "Datastream": {"@iot.id": world["Datastream"]}, "components": ["phenomenonTime", "result", "colour"],
        "dataArray": [["2024-06-01T00:00:00Z", 1, "red"]],
    }], 400)
    assert get(client, "Observations", **{"$count": "true", "$top": "0"})["@iot.count"] == 2


def test_create_observations_rejects_wrong_count(client: FlaskClient, world: dict[str, int]) -> None:
    _create(client, [{
        "Datastream": {"@iot.id": world["Datastream"]}, "components": ["phenomenonTime", "result"],
        "dataArray@iot.count": 3, "dataArray": [["2024-06-01T00:00:00Z", 1]],
    }], 400)


def test_create_observations_rejects_a_body_that_is_no_array(client: FlaskClient, world: dict[str, int]) -> None:
    _create(client, {"Datastream": {"@iot.id": world["Datastream"]}}, 400)


def test_create_observations_requires_result_component(client: FlaskClient, world: dict[str, int]) -> None:
    _create(client, [{
        "Datastream": {"@iot.id": world["Datastream"]}, "components": ["phenomenonTime"],
        "dataArray": [["2024-06-01T00:00:00Z"]],
    }], 400)


def test_create_observations_accepts_post_only(client: FlaskClient, world: dict[str, int]) -> None:
    assert client.get("/v1.1/CreateObservations").status_code == 405
