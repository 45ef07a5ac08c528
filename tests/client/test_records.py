"""Pure parts of the client: entity records, settings, SenML packs, the retry rule and readers."""
from __future__ import annotations

import pathlib
from datetime import UTC, datetime, timedelta

import pytest

from sta_client import ClientSettings, Conflict, Datastream, Observation, ServerError, Task, Thing
from sta_client.entities import ENTITY_TYPES, wire_name
from sta_client.requests import BatchItem, batch_request, create_request
from sta_client.responses import Reply, created_id, created_ids, error_of, retry_after_s
from sta_client.retry import RetryPolicy, Send, Sleep, backoff_s, exchange, retryable_status
from sta_client.senml import pack_from_tuples
from sta_client.topics import broker_address, client_id_for


@pytest.mark.parametrize(("attribute", "wire"), [
    ("phenomenon_time", "phenomenonTime"), ("unit_of_measurement", "unitOfMeasurement"),
    ("multi_observation_data_types", "multiObservationDataTypes"), ("tasking_parameters", "taskingParameters"),
    ("name", "name"),
])
def test_wire_names(attribute: str, wire: str) -> None:
    assert wire_name(attribute) == wire


def test_records_read_and_write_the_wire_form() -> None:
    data = {"@iot.id": 4, "@iot.selfLink": "http://h/v1.1/Observations(4)", "phenomenonTime": "2026-05-01T10:00:00Z",
            "result": 3.5, "Datastream@iot.navigationLink": "http://h/v1.1/Observations(4)/Datastream",
            "FeatureOfInterest": {"@iot.id": 9}}
    record = Observation.from_json(data)
    assert (record.id, record.phenomenon_time, record.result) == (4, "2026-05-01T10:00:00Z", 3.5)
    assert record.to_json() == {"phenomenonTime": "2026-05-01T10:00:00Z", "result": 3.5,
                                "FeatureOfInterest": {"@iot.id": 9}}
    assert Thing(id=5).ref() == {"@iot.id": 5}
    assert Datastream(unit_of_measurement={"symbol": "W"}).to_json() == {"unitOfMeasurement": {"symbol": "W"}}
    assert Task.from_json({"creationTime": "t", "taskingParameters": {}}).creation_time == "t"
    assert len({kind.entity_set for kind in ENTITY_TYPES}) == 11


def test_settings_from_env_keep_secrets_out_of_repr(tmp_path: pathlib.Path) -> None:
    (tmp_path / "token").write_text("sta_secret\n")
    settings = ClientSettings.from_env(environ={
        "STA_CLIENT_BASE_URL": "https://grid.example/v1.1/", "STA_CLIENT_USERNAME": "ops",
        "STA_CLIENT_PASSWORD": "hunter2", "STA_CLIENT_TOKEN_FILE": str(tmp_path / "token"),
        "STA_CLIENT_MQTT_URL": "mqtt://ops:hunter2@broker", "STA_CLIENT_RETRY_BUDGET_S": "5"})
    assert settings.base_url == "https://grid.example/v1.1" and settings.retry_budget_s == 5.0
    assert settings.token == "sta_secret" and settings.password == "hunter2"
    assert "hunter2" not in repr(settings) and "sta_secret" not in repr(settings)
    with pytest.raises(ValueError):
        ClientSettings(password="x")
    address = broker_address("mqtts://agent:p%40ss@broker.example")
    assert (address.port, address.tls, address.username, address.password) == (8883, True, "agent", "p@ss")
    assert "p@ss" not in repr(address)
    assert client_id_for("agent", "box") == "agent:box" and client_id_for("agent", "agent:box") == "agent:box"
    assert client_id_for(None, "box") == "box"


def test_senml_packs_factor_base_name_and_time() -> None:
    t0 = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    pack = pack_from_tuples([("house20/P_PV", "W", 1500.0, t0), ("house20/SOC", "%", 55, t0 + timedelta(seconds=5)),
                             ("house20/ok", None, True, t0), ("house20/state", None, "Charging", t0)])
    assert pack == [{"bn": "house20/", "bt": t0.timestamp(), "n": "P_PV", "u": "W", "v": 1500.0},
                    {"n": "SOC", "u": "%", "t": 5.0, "v": 55}, {"n": "ok", "vb": True},
                    {"n": "state", "vs": "Charging"}]
    with pytest.raises(ValueError):
        pack_from_tuples([("x", "W", 1, datetime(2026, 5, 1))])


def test_backoff_grows_with_jitter_and_stops_at_the_ceiling() -> None:
    policy = RetryPolicy(base_s=0.5, max_s=4)
    assert [backoff_s(policy, n, lambda: 1.0) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert backoff_s(policy, 3, lambda: 0.0) == 1.0
    assert [retryable_status(s) for s in (400, 404, 409, 429, 500, 501, 503)] == [
        False, False, False, True, True, False, True]


def test_exchange_resends_the_same_request_then_returns_the_last_answer() -> None:
    request = create_request("Things", {"name": "x"})
    plan = exchange(request, RetryPolicy(budget_s=100, max_attempts=2, base_s=0.1), clock=lambda: 0.0)
    first = next(plan)
    assert isinstance(first, Send) and first.request is request
    assert isinstance(plan.send(Reply(503, {"retry-after": "3"})), Sleep)
    assert next(plan) == Send(request)
    with pytest.raises(StopIteration) as done:
        plan.send(Reply(503))
    assert done.value.value.status == 503


def test_readers() -> None:
    assert created_id(Reply(201, {"location": "http://h/v1.1/Things(8)"}, b"")) == 8
    assert created_ids(Reply(201, {}, b'["http://h/v1.1/Observations(1)", "error"]')) == [1, "error"]
    error = error_of(Reply(409, {}, b'{"error": {"code": "Conflict", "message": "key reused", "target": "k"}}'))
    assert isinstance(error, Conflict) and (error.code, error.message, error.target) == ("Conflict", "key reused", "k")
    assert isinstance(error_of(Reply(502, {}, b"<html>bad gateway</html>")), ServerError)
    now = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    assert retry_after_s({"retry-after": "Fri, 01 May 2026 10:00:07 GMT"}, now) == 7.0
    assert retry_after_s({"retry-after": "soon"}) is None


def test_batch_posts_carry_keys() -> None:
    body = batch_request([BatchItem("POST", "Things", {"name": "a"}), BatchItem("GET", "Things")]).json
    post, get = body["requests"]
    assert post["headers"]["Idempotency-Key"] and "headers" not in get and post["id"] == "r0"
