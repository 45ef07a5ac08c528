"""Many Observations per MQTT message (mqtt/packs.py): SenML packs on `v1.1/SenML` and
CreateObservations bodies on `v1.1/CreateObservations`. A run of them in a batch is stored by one
call of the rule set, with the errors of their HTTP POSTs row by row, and every stored Observation
is notified as a GET returns it."""
from __future__ import annotations

import json
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import Engine

from sta_server.mqtt.ingest import Incoming, Ingest
from sta_server.mqtt.service import MqttService
from sta_server.service.events import EventBus
from tests.conftest import LOCATION, datastream_body
from tests.mqtt.conftest import MqttTestClient, wait_until


def _streams(http: FlaskClient, count: int = 2) -> list[int]:
    bodies = [datastream_body(f"meter {n}", properties={"senmlName": f"box/{n}"}) for n in range(count)]
    response = http.post("/v1.1/Things", json={"name": "SMX box", "description": "field agent",
                                               "Locations": [LOCATION], "Datastreams": bodies})
    assert response.status_code == 201
    return [int(d["@iot.id"]) for d in http.get("/v1.1/Datastreams?$orderby=id").get_json()["value"]]


def _results(http: FlaskClient) -> list[Any]:
    return [o["result"] for o in http.get("/v1.1/Observations?$orderby=id&$top=1000").get_json()["value"]]


def _data_array(stream: int, *rows: list[Any]) -> dict[str, Any]:
    return {"Datastream": {"@iot.id": stream}, "components": ["phenomenonTime", "result"], "dataArray": list(rows)}


def _message(topic: str, body: Any, acked: list[str]) -> Incoming:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Incoming(topic, payload, lambda: acked.append(topic))


def test_packs_and_data_arrays_are_stored_and_each_observation_notified_as_get_returns_it(
        http: FlaskClient, mqtt: MqttTestClient, broker_url: str, mqtt_service: MqttService) -> None:
    first, second = _streams(http)
    listener = MqttTestClient(broker_url, mqtt_service)
    listener.subscribe("v1.1/Observations")
    mqtt.publish("v1.1/SenML", [{"bn": "box/", "bt": 1.78e9, "n": "0", "u": "W", "v": 1},
                                {"n": "1", "v": 2}, {"n": "0", "t": 1, "v": 3}])
    mqtt.publish("v1.1/CreateObservations", [
        _data_array(first, ["2026-03-01T10:00:00Z", 4], ["2026-03-01T10:01:00Z", 5]),
        _data_array(second, ["2026-03-01T10:00:00Z", 6.5])])
    notified = [listener.expect("v1.1/Observations") for _ in range(6)]
    assert sorted(n["result"] for n in notified) == [1, 2, 3, 4, 5, 6.5]
    for notification in notified:
        assert notification == http.get(f"/v1.1/Observations({notification['@iot.id']})").get_json()
    assert sorted(_results(http)) == [1, 2, 3, 4, 5, 6.5]
    assert mqtt_service.ingest.stats.accepted == 6 and mqtt_service.ingest.stats.rejected == 0
    listener.close()


def test_a_batch_of_packs_keeps_the_good_rows_and_refuses_the_bad_ones_alone(
        http: FlaskClient, clean_db: Engine) -> None:
    first, second = _streams(http)
    ingest, acked = Ingest(clean_db, EventBus()), list[str]()
    ingest.store([
        _message("v1.1/SenML", [{"bn": "box/", "n": "0", "v": 1}, {"n": "nobody", "v": 2},
                                {"n": "1", "u": "kW", "v": 3}], acked),  # 1 stored, 2 refused
        _message("v1.1/SenML", b"[{not json", acked),  # refused whole
        _message("v1.1/CreateObservations", [_data_array(first, ["2026-03-01T10:00:00Z", 10],
                                                         ["2026-03-01T10:00:00Z"],  # wrong length
                                                         ["yesterday", 11])], acked),  # 1 stored
        _message("v1.1/CreateObservations", {"not": "an array"}, acked),  # refused whole
        _message("v1.1/CreateObservations", [_data_array(999, ["2026-03-01T10:00:00Z", 12])], acked),
        _message("v1.1/CreateObservations", [_data_array(second, ["2026-03-01T10:00:00Z", 13])], acked),
    ])
    assert sorted(_results(http)) == [1, 10, 13]
    assert len(acked) == 6  # every message acknowledged: none will ever succeed later
    assert ingest.stats.accepted == 3
    assert ingest.stats.rejected == 2 + 1 + 2 + 1 + 1
    assert ingest.stats.reasons == {"SenMLRecord": 2, "BadRequest": 2, "CreateObservationsRow": 3}
    assert ingest.stats.batches == 1


def test_packs_are_stored_in_the_order_they_came_among_other_creates(http: FlaskClient, clean_db: Engine) -> None:
    first, _ = _streams(http)
    ingest, acked = Ingest(clean_db, EventBus()), list[str]()
    ingest.store([
        _message(f"v1.1/Datastreams({first})/Observations", {"result": 1}, acked),
        _message("v1.1/SenML", [{"bn": "box/", "n": "0", "v": 2}, {"n": "0", "v": 3}], acked),
        _message("v1.1/CreateObservations", [_data_array(first, ["2026-03-01T10:00:00Z", 4])], acked),
        _message(f"v1.1/Datastreams({first})/Observations", {"result": 5}, acked),
        _message("v1.1/SenML", [{"bn": "box/", "n": "0", "v": 6}], acked),
    ])
    assert _results(http) == [1, 2, 3, 4, 5, 6]  # ordered by id: the ids follow the messages
    assert ingest.stats.accepted == 6 and len(acked) == 5


def test_a_pack_for_a_stream_created_earlier_in_the_same_batch_is_stored(http: FlaskClient, clean_db: Engine) -> None:
    _streams(http)
    thing = int(http.get("/v1.1/Things").get_json()["value"][0]["@iot.id"])
    ingest, acked = Ingest(clean_db, EventBus()), list[str]()
    ingest.store([
        _message(f"v1.1/Things({thing})/Datastreams", datastream_body("new", properties={"senmlName": "box/new"}),
                 acked),
        _message("v1.1/SenML", [{"n": "box/new", "v": 7}], acked),
    ])
    assert _results(http) == [7]
    assert ingest.stats.accepted == 2 and ingest.stats.rejected == 0


def test_a_batch_ends_at_its_byte_budget(http: FlaskClient, clean_db: Engine) -> None:
    first, _ = _streams(http)
    ingest, acked = Ingest(clean_db, EventBus(), batch_bytes=200), list[str]()
    pack = [{"bn": "box/", "n": "0", "v": 1}, {"n": "0", "v": 2}, {"n": "0", "v": 3}]  # 74 bytes
    for _ in range(5):
        ingest.submit(_message("v1.1/SenML", pack, acked))  # all queued before the worker starts
    ingest.start()
    wait_until(lambda: len(acked) == 5)
    ingest.stop()
    assert ingest.stats.accepted == 15
    assert ingest.stats.batches == 2  # 3 messages reach 200 bytes; the 2 others
