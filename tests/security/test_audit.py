"""The audit trail: every change, over every channel, with who, when and which entities; readable
by administrators only, through the API."""
from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import Engine

from tests.security.conftest import As, Grid


def _records(admin: As, **params: str) -> list[dict[str, Any]]:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    status, body = admin.get(f"AuditRecords?{query}")
    assert status == 200, body
    return list(body["value"])


def _changed(records: list[dict[str, Any]]) -> set[tuple[str, str, int]]:
    return {(r["action"], r["entityType"], i) for r in records for i in r["entityIds"]}


def test_every_change_over_http_is_recorded(secure_client: FlaskClient, grid: Grid, clean_db: Engine) -> None:
    admin, agent, operator = (As(secure_client, n) for n in ("admin", "agent", "operator"))
    since = _records(admin, **{"$top": "1"})[0]["id"]
    status, thing = admin.post("Things", {"name": "T", "description": "new"})
    admin.call("PATCH", f"Things({thing['@iot.id']})", {"description": "changed"})
    admin.call("DELETE", f"Things({thing['@iot.id']})")
    status, observation = agent.post(f"Datastreams({grid.stream_a})/Observations", {"result": 4})
    status, task = operator.post(f"TaskingCapabilities({grid.capability_a})/Tasks", {
        "taskingParameters": {"powerSetpoint": 100, "priority": 1, "startTime": "2026-06-01T12:00:00Z"}})
    status, links = agent.post("CreateObservations", [
        {"Datastream": {"@iot.id": grid.stream_a}, "components": ["phenomenonTime", "result"],
         "dataArray": [["2026-03-01T00:00:00Z", 1], ["2026-03-01T00:00:01Z", 2]]}])
    batch_ids = [int(link.rsplit("(", 1)[1].rstrip(")")) for link in links]
    status, batch = admin.post("$batch", {"requests": [
        {"id": "1", "atomicityGroup": "g", "method": "post", "url": "Sensors",
         "body": {"name": "S", "description": "s", "encodingType": "text/html", "metadata": "m"}}]})
    sensor = int(batch["responses"][0]["headers"]["location"].rsplit("(", 1)[1].rstrip(")"))
    records = [r for r in _records(admin, **{"$top": "1000"}) if r["id"] > since]
    changed = _changed(records)
    expected = {("created", "Thing", thing["@iot.id"]), ("updated", "Thing", thing["@iot.id"]),
                ("deleted", "Thing", thing["@iot.id"]), ("created", "Observation", observation["@iot.id"]),
                ("created", "Task", task["@iot.id"]), ("created", "Sensor", sensor),
                *(("created", "Observation", i) for i in batch_ids)}
    assert expected <= changed
    by_entity = {(r["entityType"], i): r for r in records for i in r["entityIds"]}
    assert by_entity[("Observation", observation["@iot.id"])]["actor"] == "agent"
    assert by_entity[("Observation", observation["@iot.id"])]["role"] == "device_agent"
    assert by_entity[("Task", task["@iot.id"])]["actor"] == "operator"
    assert {r["channel"] for r in records} == {"http"}
    # refused and rolled-back writes leave nothing
    agent.post("Things", {"name": "no", "description": "no"})
    agent.post(f"Datastreams({grid.stream_b})/Observations", {"result": 1})
    after = [r for r in _records(admin, **{"$top": "1000"}) if r["id"] > max(x["id"] for x in records)]
    assert after == []


def test_audit_filters_and_paging(secure_client: FlaskClient, grid: Grid) -> None:
    admin = As(secure_client, "admin")
    for name in ("x1", "x2", "x3"):
        admin.post("Things", {"name": name, "description": "d"})
    things = _records(admin, entityType="Thing", action="created")
    assert len(things) == 3 + 3  # the three grid Things (deep inserts) and these
    assert all(r["entityType"] == "Thing" for r in things)
    status, page = admin.get("AuditRecords?entityType=Thing&$top=2")
    assert len(page["value"]) == 2 and "AuditRecords?$top=2&$skip=2" in page["@iot.nextLink"]
    one = _records(admin, entityType="Thing", entityId=str(grid.thing_a))
    assert {r["action"] for r in one} >= {"created", "labels.changed"}
    assert _records(admin, actor="nobody") == []
    assert admin.get("AuditRecords?since=yesterday")[0] == 400
    assert admin.get("AuditRecords?$top=-1")[0] == 400


def test_only_administrators_read_the_audit_trail(secure_client: FlaskClient, grid: Grid) -> None:
    for user in ("operator", "aggregator", "agent", "resident"):
        status, body = As(secure_client, user).get("AuditRecords")
        assert status == 403 and body["error"]["code"] == "Forbidden"
    assert As(secure_client, "admin").call("POST", "AuditRecords", {})[0] == 405

