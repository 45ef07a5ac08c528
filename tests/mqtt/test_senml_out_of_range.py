"""One SenML record out of range (a time past year 9999 or before year 1, a value past the float
range) is refused alone, over HTTP and MQTT: the pack's other records are stored, never a 500 or
an InternalError that costs the whole acknowledged pack (red team finding F2)."""
from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from sta_server.mqtt.ingest import Incoming, Ingest
from sta_server.service.events import EventBus
from tests.conftest import LOCATION, datastream_body

POISON: list[dict[str, Any]] = [{"t": 1e13}, {"t": -1e12}, {"t": 1e20}, {"t": 1e300}, {"t": 253402300800},
          {"bt": 1e308, "t": 1e308}, {"v": 1e308, "bv": 1e308}]


def _stream(http: FlaskClient) -> int:
    stream = datastream_body("m", properties={"senmlName": "rt/ds"})
    response = http.post("/v1.1/Things", json={"name": "box", "description": "d", "Locations": [LOCATION],
                                               "Datastreams": [stream]})
    assert response.status_code == 201
    return int(http.get("/v1.1/Datastreams").get_json()["value"][0]["@iot.id"])


def _pack(poison: dict[str, Any]) -> list[dict[str, Any]]:
    good = [{"bn": "rt/", "bt": 1.78e9, "bv": 0, "n": "ds", "v": n, "t": n} for n in range(3)]
    return [good[0], {"n": "ds", "v": 1, **poison}, good[1], good[2]]  # the base fields carry over


def _results(http: FlaskClient) -> list[Any]:
    return sorted(o["result"] for o in http.get("/v1.1/Observations?$top=100").get_json()["value"])


@pytest.mark.parametrize("poison", POISON)
def test_http_refuses_the_record_alone_and_stores_the_others(http: FlaskClient, poison: dict[str, Any]) -> None:
    _stream(http)
    response = http.post("/v1.1/SenML", json=_pack(poison), content_type="application/senml+json")
    assert response.status_code == 201, response.get_data(as_text=True)
    report = response.get_json()
    assert [item["index"] for item in report["accepted"]] == [0, 2, 3]
    (refused,) = report["rejected"]
    assert refused["index"] == 1 and "out of range" in refused["reason"]
    assert _results(http) == [0, 1, 2]


def test_mqtt_refuses_each_poison_record_alone_and_stores_every_good_one(http: FlaskClient,
                                                                        clean_db: Engine) -> None:
    _stream(http)
    ingest, acked = Ingest(clean_db, EventBus()), list[int]()
    ingest.store([Incoming("v1.1/SenML", json.dumps(_pack(poison)).encode(), lambda: acked.append(1))
                  for poison in POISON])
    assert len(acked) == len(POISON)
    assert ingest.stats.accepted == 3 * len(POISON)
    assert ingest.stats.reasons == {"SenMLRecord": len(POISON)}
    assert _results(http) == sorted([0, 1, 2] * len(POISON))
