"""The transport-free dispatcher: MQTT's many creates in one transaction, answered in request order."""
from __future__ import annotations

import json

from flask.testing import FlaskClient
from sqlalchemy import Engine

from sta_server.errors import StaError
from sta_server.service.dispatch import ApiRequest, Dispatcher, Outcome
from sta_server.service.events import transaction
from sta_server.settings import Settings
from tests.conftest import make_datastream


def _post(resource: str, body: object, version: str = "1.1") -> ApiRequest:
    return ApiRequest("POST", version, resource, body=json.dumps(body).encode(), answer=False)


def test_create_many_answers_each_request_in_order(client: FlaskClient, settings: Settings, clean_db: Engine) -> None:
    stream = make_datastream(client)["@iot.id"]
    feature = {"name": "f", "description": "f", "encodingType": "application/geo+json",
               "feature": {"type": "Point", "coordinates": [1, 2]}}
    requests = [
        _post(f"Datastreams({stream})/Observations", {"result": 1}),
        _post("Things", {"name": "T", "description": "t"}),
        _post("Observations", {"result": 2, "Datastream": {"@iot.id": stream}}, "1.0"),
        ApiRequest("POST", "1.1", "Observations", body=b"{", answer=False),
        _post(f"Datastreams({stream})/Observations", {"result": 3, "FeatureOfInterest": feature}),
        _post("Observations", {"result": 4, "Datastream": {"@iot.id": stream}}),
        _post("Observations", {"result": 5, "Datastream": {"@iot.id": 999}}),
    ]
    with transaction(clean_db, None) as conn:
        outcomes = Dispatcher(settings, clean_db).create_many(conn, requests)
    assert [o.status if isinstance(o, Outcome) else o.code for o in outcomes] == [
        201, 201, 201, "BadRequest", 201, 201, "InvalidEntity"]
    created = [o.headers["Location"] for o in outcomes if isinstance(o, Outcome)]
    assert "/v1.1/Things(" in created[1] and "/v1.0/Observations(" in created[2]
    observation_ids = [int(link.rsplit("(", 1)[1].rstrip(")")) for link in created if "Observations(" in link]
    assert observation_ids == sorted(observation_ids)  # stored in the order they came
    results = client.get("/v1.1/Observations?$orderby=id&$select=result").get_json()["value"]
    assert [r["result"] for r in results] == [1, 2, 3, 4]
    assert not any(isinstance(o, StaError) and o.transient for o in outcomes)
