"""The audit trail records re-linking too: a deep insert that links an existing entity by id to a
new owner (`POST Things` with `"Datastreams": [{"@iot.id": 5}]`) moves that entity, an update of it."""
from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.security.conftest import As, Grid


def _updates_since(admin: As, since: int) -> list[dict[str, Any]]:
    status, body = admin.get("AuditRecords?$top=1000&action=updated")
    assert status == 200, body
    return [r for r in body["value"] if r["id"] > since]


def _last_record(admin: As) -> int:
    status, body = admin.get("AuditRecords?$top=1")
    assert status == 200, body
    return int(body["value"][0]["id"])


def _moved_to(admin: As, stream: int) -> int:
    status, thing = admin.get(f"Datastreams({stream})/Thing")
    assert status == 200, thing
    return int(thing["@iot.id"])


def test_a_deep_insert_that_moves_a_datastream_is_an_audited_update(secure_client: FlaskClient, grid: Grid) -> None:
    admin = As(secure_client, "admin")
    since = _last_record(admin)
    status, thing = admin.post("Things", {"name": "new site", "description": "moved here",
                                          "Datastreams": [{"@iot.id": grid.stream_b}]})
    assert status == 201, thing
    assert _moved_to(admin, grid.stream_b) == thing["@iot.id"]
    updates = _updates_since(admin, since)
    assert [(r["entityType"], r["entityIds"], r["actor"]) for r in updates] == [
        ("Datastream", [grid.stream_b], "admin")]


def test_the_same_move_in_a_batch_is_audited(secure_client: FlaskClient, grid: Grid) -> None:
    admin = As(secure_client, "admin")
    since = _last_record(admin)
    status, batch = admin.post("$batch", {"requests": [
        {"id": "1", "atomicityGroup": "g", "method": "post", "url": "Things",
         "body": {"name": "new site", "description": "moved here", "Datastreams": [{"@iot.id": grid.stream_a}]}}]})
    assert status == 200 and batch["responses"][0]["status"] == 201, batch
    updates = _updates_since(admin, since)
    assert [(r["entityType"], r["entityIds"]) for r in updates] == [("Datastream", [grid.stream_a])]


def test_a_patch_that_moves_a_datastream_is_audited_as_its_update(secure_client: FlaskClient, grid: Grid) -> None:
    admin = As(secure_client, "admin")
    since = _last_record(admin)
    status, body = admin.call("PATCH", f"Things({grid.thing_a})", {"Datastreams": [{"@iot.id": grid.stream_b}]})
    assert status == 200, body
    updated = {(r["entityType"], i) for r in _updates_since(admin, since) for i in r["entityIds"]}
    assert {("Thing", grid.thing_a), ("Datastream", grid.stream_b)} <= updated
