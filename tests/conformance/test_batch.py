"""Batch requests (OGC 18-088 section 11; ETS / FROST BatchTests): OData multipart and JSON batches."""
from __future__ import annotations

import json
import re
from typing import Any

from flask.testing import FlaskClient

from tests.conftest import BASE, get, make_thing, post

BOUNDARY = "batch_36522ad7-fc75-4b56-8c71-56071383e77b"
CHANGESET = "changeset_77162fcd-b8da-41ac-a9f8-9357efbbd"
SENSOR = {"name": "DS18B20", "description": "air temperature", "encodingType": "application/pdf",
          "metadata": "http://datasheets.maxim-ic.com/en/ds/DS18B20.pdf"}


def _http(request_line: str, body: Any = None, content_id: str | None = None) -> str:
    head = "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
    if content_id is not None:
        head += f"Content-ID: {content_id}\r\n"
    if body is None:
        return f"{head}\r\n{request_line} HTTP/1.1\r\nHost: localhost\r\n\r\n"
    text = json.dumps(body)
    return (f"{head}\r\n{request_line} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(text)}\r\n\r\n{text}")


def _changeset(*parts: str) -> str:
    inner = "".join(f"--{CHANGESET}\r\n{part}\r\n" for part in parts) + f"--{CHANGESET}--"
    return f"Content-Type: multipart/mixed;boundary={CHANGESET}\r\n\r\n{inner}"


def _multipart(client: FlaskClient, *parts: str, status: int = 200) -> list[str]:
    body = "".join(f"--{BOUNDARY}\r\n{part}\r\n" for part in parts) + f"--{BOUNDARY}--\r\n"
    response = client.post("/v1.1/$batch", data=body.encode(),
                           content_type=f"multipart/mixed;boundary={BOUNDARY}")
    assert response.status_code == status, response.get_data(as_text=True)
    if status != 200:
        return []
    boundary = re.search(r"boundary=(\S+)", response.content_type)
    assert boundary is not None
    text = response.get_data(as_text=True)
    assert text.rstrip().endswith(f"--{boundary[1]}--")
    return text.split(f"--{boundary[1]}")[1:-1]


def _statuses(part: str) -> list[int]:
    return [int(s) for s in re.findall(r"^HTTP/1\.1 (\d{3})", part, re.MULTILINE)]


def _json_body(part: str) -> Any:
    return json.loads(part.strip().rsplit("\r\n\r\n", 1)[1])


def _json_batch(client: FlaskClient, requests: list[dict[str, Any]], status: int = 200) -> Any:
    response = client.post("/v1.1/$batch", json={"requests": requests})
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def _count(client: FlaskClient, path: str) -> int:
    return int(get(client, path, **{"$count": "true", "$top": "0"})["@iot.count"])


def test_batch_route_is_not_taken_by_the_entity_view(client: FlaskClient) -> None:
    response = client.post("/v1.1/$batch", data=b"x", content_type="text/plain")
    assert response.status_code == 400
    assert "$batch" in response.get_json()["error"]["message"]


def test_multipart_batch_answers_each_request_in_order(client: FlaskClient) -> None:
    thing = make_thing(client, "Thing 0")["@iot.id"]
    parts = _multipart(
        client,
        _http(f"GET /v1.1/Things({thing})?$select=name"),
        _changeset(_http("POST /v1.1/Things", {"name": "New", "description": "Thing"}, "1"),
                   _http(f"PATCH /v1.1/Things({thing})", {"name": "Patched"}, "2")),
        _http("GET /v1.1/Things(999)"),
    )
    assert len(parts) == 3
    assert _statuses(parts[0]) == [200] and _json_body(parts[0]) == {"name": "Thing 0"}
    assert "multipart/mixed" in parts[1] and _statuses(parts[1]) == [201, 200]
    assert re.search(rf"Location: {re.escape(BASE)}/Things\(\d+\)", parts[1])
    assert "Content-ID: 1" in parts[1] and "Content-ID: 2" in parts[1]
    assert _statuses(parts[2]) == [404]
    assert get(client, f"Things({thing})")["name"] == "Patched"


def test_change_set_references_new_entity_in_body(client: FlaskClient, world: dict[str, int]) -> None:
    datastream = {"name": "T5", "description": "temperature", "observationType": "m",
                  "unitOfMeasurement": {"name": "degree Celsius", "symbol": "°C", "definition": "ucum:Cel"},
                  "ObservedProperty": {"@iot.id": world["ObservedProperty"]},
                  "Sensor": {"@iot.id": "$sensor1"}}
    parts = _multipart(client, _changeset(
        _http("POST /v1.1/Sensors", SENSOR, "sensor1"),
        _http(f"POST /v1.1/Things({world['Thing']})/Datastreams", datastream, "any"),
    ))
    assert _statuses(parts[0]) == [201, 201]
    created = re.findall(r"Location: \S+/Datastreams\((\d+)\)", parts[0])
    sensor = get(client, f"Datastreams({created[0]})/Sensor")
    assert sensor["name"] == "DS18B20"


def test_change_set_references_new_entity_in_url(client: FlaskClient, world: dict[str, int]) -> None:
    datastream = {"name": "T5", "description": "temperature", "observationType": "m",
                  "unitOfMeasurement": {"name": "degree Celsius", "symbol": "°C", "definition": "ucum:Cel"},
                  "ObservedProperty": {"@iot.id": world["ObservedProperty"]},
                  "Thing": {"@iot.id": world["Thing"]}}
    parts = _multipart(client, _changeset(
        _http("POST /v1.1/Sensors", SENSOR, "1"),
        _http("POST $1/Datastreams", datastream, "2"),
    ))
    assert _statuses(parts[0]) == [201, 201]
    sensors = get(client, "Sensors", **{"$filter": "name eq 'DS18B20'", "$expand": "Datastreams"})
    assert [d["name"] for d in sensors["value"][0]["Datastreams"]] == ["T5"]


def test_failing_change_set_rolls_back_while_others_succeed(client: FlaskClient) -> None:
    parts = _multipart(
        client,
        _changeset(_http("POST /v1.1/Things", {"name": "Kept?", "description": "no"}, "1"),
                   _http("POST /v1.1/Things", {"description": "no name"}, "2")),
        _http("POST /v1.1/Things", {"name": "Alone", "description": "yes"}),
    )
    assert "multipart/mixed" not in parts[0] and _statuses(parts[0]) == [400]
    assert _json_body(parts[0])["error"]["code"] == "IncompleteEntity"
    assert _statuses(parts[1]) == [201]
    assert [t["name"] for t in get(client, "Things")["value"]] == ["Alone"]


def test_batch_accepts_relative_and_absolute_urls(client: FlaskClient) -> None:
    make_thing(client, "Thing 2", properties={"int": 10})
    make_thing(client, "Thing 3", properties={"int": 11})
    parts = _multipart(
        client,
        _http("GET Things?$count=true&$filter=properties/int%20eq%2010&$select=name"),
        _http(f"GET {BASE}/Things?$count=true&$filter=properties/int%20eq%2011&$select=name"),
    )
    assert _json_body(parts[0]) == {"@iot.count": 1, "value": [{"name": "Thing 2"}]}
    assert _json_body(parts[1]) == {"@iot.count": 1, "value": [{"name": "Thing 3"}]}


def test_spec_example_with_part_headers_after_blank_line(client: FlaskClient) -> None:
    thing = make_thing(client)["@iot.id"]
    part = (f"Content-Type: application/http\r\n\r\nContent-Transfer-Encoding:binary\r\n\r\n"
            f"GET /v1.1/Things({thing})\r\nHost: host\r\n\r\n")
    parts = _multipart(client, part)
    assert _statuses(parts[0]) == [200]


def test_multipart_without_closing_delimiter_is_400(client: FlaskClient) -> None:
    body = f"--{BOUNDARY}\r\n{_http('GET /v1.1/Things')}\r\n"
    response = client.post("/v1.1/$batch", data=body.encode(),
                           content_type=f"multipart/mixed;boundary={BOUNDARY}")
    assert response.status_code == 400


def test_multipart_without_boundary_is_400(client: FlaskClient) -> None:
    response = client.post("/v1.1/$batch", data=b"--x--", content_type="multipart/mixed")
    assert response.status_code == 400


def test_part_without_request_line_is_400(client: FlaskClient) -> None:
    _multipart(client, "Content-Type: application/http\r\n\r\nhello world\r\n", status=400)


def test_json_batch_answers_each_request(client: FlaskClient) -> None:
    thing0 = make_thing(client, "Thing 0")["@iot.id"]
    thing1 = make_thing(client, "Thing 1", properties={"old": 1})["@iot.id"]
    body = _json_batch(client, [
        {"id": "0", "method": "get", "url": f"Things({thing0})?$select=name"},
        {"id": "1", "atomicityGroup": "group1", "method": "post", "url": "Things",
         "body": {"name": "New", "description": "Thing"}},
        {"id": "2", "atomicityGroup": "group1", "method": "patch", "url": f"Things({thing0})",
         "body": {"name": "Json Patched"}},
        {"id": "3", "atomicityGroup": "group1", "method": "patch", "url": f"Things({thing1})",
         "headers": {"content-type": "application/json-patch+json"},
         "body": [{"op": "replace", "path": "/name", "value": "Thing 1 Updated"},
                  {"op": "add", "path": "/properties/new", "value": "Changes"}]},
        {"id": "4", "method": "get", "url": "Things(null)"},
    ])
    responses = body["responses"]
    assert [r["id"] for r in responses] == ["0", "1", "2", "3", "4"]
    assert [r["status"] for r in responses] == [200, 201, 200, 200, 404]
    assert responses[0]["body"] == {"name": "Thing 0"}
    assert re.fullmatch(rf"{re.escape(BASE)}/Things\(\d+\)", responses[1]["headers"]["location"])
    updated = get(client, f"Things({thing1})")
    assert updated["name"] == "Thing 1 Updated" and updated["properties"]["new"] == "Changes"


def test_json_atomicity_group_references_in_url_and_body(client: FlaskClient, world: dict[str, int]) -> None:
    datastream = {"name": "T5", "description": "t", "observationType": "m",
                  "unitOfMeasurement": {"name": "degree Celsius", "symbol": "°C", "definition": "ucum:Cel"},
                  "ObservedProperty": {"@iot.id": world["ObservedProperty"]},
                  "Sensor": {"@iot.id": "$sensor1"}}
    body = _json_batch(client, [
        {"id": "sensor1", "atomicityGroup": "g", "method": "post", "url": "Sensors", "body": SENSOR},
        {"id": "ds", "atomicityGroup": "g", "method": "post", "url": f"Things({world['Thing']})/Datastreams",
         "body": datastream},
        {"id": "obs", "method": "post", "url": "$ds/Observations", "dependsOn": ["g"],
         "body": {"phenomenonTime": "2024-01-01T00:00:00Z", "result": 3}},
    ])
    assert [r["status"] for r in body["responses"]] == [201, 201, 201]
    observation = body["responses"][2]["body"]["@iot.id"]
    assert get(client, f"Observations({observation})/Datastream/Sensor")["name"] == "DS18B20"


def test_json_failing_group_rolls_back_and_blocks_dependants(client: FlaskClient) -> None:
    body = _json_batch(client, [
        {"id": "a", "atomicityGroup": "g", "method": "post", "url": "Things",
         "body": {"name": "Rolled back", "description": "x"}},
        {"id": "b", "atomicityGroup": "g", "method": "post", "url": "Things", "body": {"description": "x"}},
        {"id": "c", "method": "get", "url": "Things", "dependsOn": ["g"]},
        {"id": "d", "method": "post", "url": "Things", "body": {"name": "Independent", "description": "x"}},
    ])
    assert [r["status"] for r in body["responses"]] == [424, 400, 424, 201]
    assert [t["name"] for t in get(client, "Things")["value"]] == ["Independent"]


def test_json_group_must_be_adjacent(client: FlaskClient) -> None:
    _json_batch(client, [
        {"id": "a", "atomicityGroup": "g", "method": "get", "url": "Things"},
        {"id": "b", "method": "get", "url": "Things"},
        {"id": "c", "atomicityGroup": "g", "method": "get", "url": "Things"},
    ], status=400)


def test_json_depends_on_must_name_an_earlier_request(client: FlaskClient) -> None:
    _json_batch(client, [{"id": "a", "method": "get", "url": "Things", "dependsOn": ["later"]}], status=400)


def test_json_batch_without_requests_is_400(client: FlaskClient) -> None:
    response = client.post("/v1.1/$batch", json={"request": []})
    assert response.status_code == 400


def test_batch_creates_observations_with_data_array(client: FlaskClient, world: dict[str, int]) -> None:
    body = _json_batch(client, [{"id": "1", "method": "post", "url": "CreateObservations", "body": [{
        "Datastream": {"@iot.id": world["Datastream"]}, "components": ["phenomenonTime", "result"],
        "dataArray": [["2024-06-01T00:00:00Z", 1]]}]}])
    assert body["responses"][0]["status"] == 201
    assert body["responses"][0]["body"][0].startswith(f"{BASE}/Observations(")


def test_batch_events_go_out_after_commit(client: FlaskClient) -> None:
    events: list[Any] = []
    client.application.config["STA_EVENTS"].subscribe(events.extend)
    _json_batch(client, [
        {"id": "a", "atomicityGroup": "g", "method": "post", "url": "Things", "body": {"name": "A"}},
        {"id": "b", "atomicityGroup": "g", "method": "post", "url": "Things", "body": {}},
        {"id": "c", "method": "post", "url": "Things", "body": {"name": "C"}},
    ])
    assert [(e.entity_type.name, e.change) for e in events] == [("Thing", "created")]


def test_batch_post_then_read_in_one_change_set(client: FlaskClient) -> None:
    post(client, "Things", {"name": "Before"})
    body = _json_batch(client, [
        {"id": "a", "atomicityGroup": "g", "method": "post", "url": "Things", "body": {"name": "In set"}},
        {"id": "b", "atomicityGroup": "g", "method": "get", "url": "Things?$select=name&$orderby=id"},
    ])
    assert body["responses"][1]["body"]["value"] == [{"name": "Before"}, {"name": "In set"}]


def test_root_document_declares_batch_and_data_array(client: FlaskClient) -> None:
    conformance = get(client, "")["serverSettings"]["conformance"]
    spec = "http://www.opengis.net/spec/iot_sensing/1.1/req/"
    assert spec + "batch-request/batch-request" in conformance
    assert spec + "data-array/data-array" in conformance
