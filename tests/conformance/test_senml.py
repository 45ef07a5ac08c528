"""SenML (RFC 8428) in over HTTP and MQTT, and Observations out as SenML."""
from __future__ import annotations

import time
from typing import Any

import cbor2
from flask.testing import FlaskClient
from sqlalchemy import Engine

from sta_server.mqtt.ingest import Incoming, Ingest
from tests.conftest import LOCATION, get, make_datastream, make_thing, post

DEVICE = "urn:dev:ow:10e2073a01080063"


def _stream(client: FlaskClient, **extra: Any) -> int:
    thing = make_thing(client, "Meter", properties={"deviceId": DEVICE}, Locations=[LOCATION])
    return int(make_datastream(client, thing["@iot.id"], **extra)["@iot.id"])


def _send(client: FlaskClient, pack: Any, status: int = 201) -> Any:
    response = client.post("/v1.1/SenML", json=pack, content_type="application/senml+json")
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def test_pack_creates_observations_by_device_and_observed_property(client: FlaskClient) -> None:
    stream = _stream(client, ObservedProperty={"name": "power", "definition": "x", "description": "p"})
    report = _send(client, [{"bn": f"{DEVICE}/", "bt": 1.6e9, "bu": "W", "n": "power", "v": 10},
                            {"n": "power", "t": 60, "v": 11}])
    assert [item["Datastream@iot.id"] for item in report["accepted"]] == [stream, stream]
    values = get(client, f"Datastreams({stream})/Observations", **{"$orderby": "phenomenonTime"})["value"]
    assert [(o["result"], o["phenomenonTime"]) for o in values] == [
        (10, "2020-09-13T12:26:40Z"), (11, "2020-09-13T12:27:40Z")]


def test_senml_name_property_maps_a_record(client: FlaskClient) -> None:
    stream = _stream(client, properties={"senmlName": "ess1:power"})
    report = _send(client, [{"n": "ess1:power", "u": "W", "v": 5}])
    assert report == {"accepted": [{"index": 0, "n": "ess1:power", "Datastream@iot.id": stream,
                                    "Observation@iot.id": report["accepted"][0]["Observation@iot.id"]}],
                      "rejected": []}


def test_relative_time_is_resolved_against_now(client: FlaskClient) -> None:
    stream = _stream(client, properties={"senmlName": "p"})
    _send(client, [{"n": "p", "t": -3600, "v": 1}])
    (obs,) = get(client, f"Datastreams({stream})/Observations")["value"]
    from datetime import datetime

    taken = datetime.fromisoformat(obs["phenomenonTime"].replace("Z", "+00:00")).timestamp()
    assert abs(taken - (time.time() - 3600)) < 60


def test_records_that_do_not_map_are_rejected_with_a_reason(client: FlaskClient) -> None:
    _stream(client, properties={"senmlName": "p"})
    report = _send(client, [{"n": "p", "v": 1}, {"n": "unknown", "v": 2}, {"n": "p", "u": "A", "v": 3},
                            {"n": "p"}])
    assert [item["index"] for item in report["accepted"]] == [0]
    reasons = {item["index"]: item["reason"] for item in report["rejected"]}
    assert "No Datastream" in reasons[1] and "Unit 'A'" in reasons[2] and "exactly one" in reasons[3]


def test_pack_with_no_stored_record_answers_400_with_the_report(client: FlaskClient) -> None:
    report = _send(client, [{"n": "nowhere", "v": 1}], status=400)
    assert report["accepted"] == [] and report["rejected"][0]["index"] == 0


def test_undecodable_pack_is_a_bad_request(client: FlaskClient) -> None:
    response = client.post("/v1.1/SenML", data=b"{", content_type="application/senml+json")
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "BadRequest"


def test_cbor_pack_is_accepted(client: FlaskClient) -> None:
    stream = _stream(client, properties={"senmlName": "p"})
    body = cbor2.dumps([{-2: "p", 2: 7.5, 6: 1.7e9}])
    response = client.post("/v1.1/SenML", data=body, content_type="application/senml+cbor")
    assert response.status_code == 201
    assert get(client, f"Datastreams({stream})/Observations")["value"][0]["result"] == 7.5


def test_string_and_boolean_values_become_results(client: FlaskClient) -> None:
    stream = _stream(client, properties={"senmlName": "state"})
    _send(client, [{"n": "state", "t": 1.7e9, "vs": "charging"}, {"n": "state", "t": 1.7e9 + 1, "vb": True}])
    values = get(client, f"Datastreams({stream})/Observations", **{"$orderby": "phenomenonTime"})["value"]
    assert [o["result"] for o in values] == ["charging", True]


def test_mqtt_senml_topic_stores_records(client: FlaskClient, clean_db: Engine) -> None:
    stream = _stream(client, properties={"senmlName": "p"})
    ingest = Ingest(clean_db, None)
    acks: list[bool] = []
    pack = b'[{"n":"p","t":1.7e9,"v":1},{"n":"q","v":2}]'
    ingest.store([Incoming("v1.1/SenML", pack, lambda: acks.append(True)),
                  Incoming("v1.1/SenML", cbor2.dumps([{0: "p", 6: 1.7e9 + 1, 2: 3}]), lambda: acks.append(True))])
    assert acks == [True, True]
    assert (ingest.stats.accepted, ingest.stats.rejected) == (2, 1)
    assert len(get(client, f"Datastreams({stream})/Observations")["value"]) == 2


def test_observations_are_given_out_as_senml(client: FlaskClient) -> None:
    stream = _stream(client, properties={"senmlName": "ess1:power"})
    for second, value in ((0, 1.5), (1, 2.5)):
        post(client, f"Datastreams({stream})/Observations",
             {"result": value, "phenomenonTime": f"2024-01-01T00:00:0{second}Z"})
    response = client.get(f"/v1.1/Datastreams({stream})/Observations?$orderby=phenomenonTime",
                          headers={"Accept": "application/senml+json"})
    assert response.content_type == "application/senml+json"
    assert response.get_json() == [{"n": "ess1:power", "u": "W", "v": 1.5, "t": 1704067200.0},
                                   {"n": "ess1:power", "u": "W", "v": 2.5, "t": 1704067201.0}]


def test_observations_of_a_thing_as_senml_cbor_with_next_link(client: FlaskClient) -> None:
    thing = make_thing(client, "M", properties={"deviceId": "m1"}, Locations=[LOCATION])
    stream = make_datastream(client, thing["@iot.id"],
                             ObservedProperty={"name": "soc", "definition": "x", "description": "d"})
    for second in range(3):
        post(client, f"Datastreams({stream['@iot.id']})/Observations",
             {"result": second, "phenomenonTime": f"2024-01-01T00:00:0{second}Z"})
    url = f"/v1.1/Observations?$filter=Datastream/Thing/id eq {thing['@iot.id']}&$top=2"
    response = client.get(url, headers={"Accept": "application/senml+cbor"})
    pack = cbor2.loads(response.data)
    assert [record[0] for record in pack] == ["m1/soc", "m1/soc"]
    assert 'rel="next"' in response.headers["Link"]


def test_senml_out_is_for_observation_collections_only(client: FlaskClient) -> None:
    response = client.get("/v1.1/Things", headers={"Accept": "application/senml+json"})
    assert response.status_code == 400
