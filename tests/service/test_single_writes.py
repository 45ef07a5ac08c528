"""Single-entity writes on their short path: an Observation POST is one statement for the row and
its side effects — for an administrator, with the stream check and the audit row, committed on its
own — and answers from that statement's row (the same body a GET gives), the extents
and rollup marks stay exact, a DELETE of `Things(n)` answers 404 for a missing Thing, and a pooled
connection whose backend went away is replaced without failing the next request."""
from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from sta_server.service.events import EntityChanged
from tests.conftest import get, make_datastream, post
from tests.service.driver_statements import driver_statements


def _observation(stream: int, time: str, result: object, **extra: object) -> dict[str, object]:
    return {"phenomenonTime": time, "result": result, "Datastream": {"@iot.id": stream}, **extra}


def test_the_201_body_is_the_entity_as_read(client: FlaskClient) -> None:
    stream = make_datastream(client)["@iot.id"]
    for body in (_observation(stream, "2025-01-01T10:15:00Z", 21.5),
                 _observation(stream, "2025-01-01T10:00:00Z/2025-01-01T11:00:00Z", {"a": [1, None]},
                              resultTime="2025-01-01T11:00:01Z", parameters={"q": "good"},
                              validTime="2025-01-01T10:00:00Z/2025-01-02T10:00:00Z")):
        response = client.post("/v1.1/Observations", json=body)
        assert response.status_code == 201
        created = response.get_json()
        assert response.headers["Location"] == created["@iot.selfLink"]
        assert created == get(client, f"Observations({created['@iot.id']})")
    old = client.post("/v1.0/Observations", json=_observation(stream, "2025-01-01T12:00:00Z", 3)).get_json()
    assert old == client.get(f"/v1.0/Observations({old['@iot.id']})").get_json()


def test_single_posts_keep_extents_and_rollup_marks_exact(client: FlaskClient, clean_db: Engine) -> None:
    stream = make_datastream(client)["@iot.id"]
    post(client, "Observations", _observation(stream, "2025-03-01T10:15:00Z", 1, resultTime="2025-03-01T10:16:00Z"))
    post(client, "Observations", _observation(stream, "2025-02-01T08:00:00Z/2025-02-01T09:30:00Z", 2))
    post(client, f"Datastreams({stream})/Observations", {"phenomenonTime": "2025-03-01T10:45:00Z", "result": 3})
    datastream = get(client, f"Datastreams({stream})")
    assert datastream["phenomenonTime"] == "2025-02-01T08:00:00Z/2025-03-01T10:45:00Z"
    assert datastream["resultTime"] == "2025-03-01T10:16:00Z/2025-03-01T10:16:00Z"
    assert datastream["observedArea"]["type"] == "Point"  # the generated feature's point
    with clean_db.connect() as conn:
        marks = conn.execute(text("SELECT to_char(hour AT TIME ZONE 'UTC', 'MM-DD HH24'), marks FROM rollup_dirty "
                                  "WHERE datastream_id = :s ORDER BY hour"), {"s": stream}).all()
    assert [tuple(row) for row in marks] == [("02-01 08", 1), ("03-01 10", 2)]


def test_delete_of_a_missing_thing_is_404_and_changes_nothing(client: FlaskClient) -> None:
    thing = make_datastream(client)["@iot.id"]
    response = client.delete("/v1.1/Things(987654)")
    assert response.status_code == 404
    assert response.get_json()["error"]["target"] == "Things(987654)"
    assert client.delete(f"/v1.1/Datastreams({thing})").status_code == 200
    assert client.delete(f"/v1.1/Datastreams({thing})").status_code == 404


def test_a_pooled_connection_whose_backend_ended_is_replaced(client: FlaskClient, clean_db: Engine) -> None:
    stream = make_datastream(client)["@iot.id"]
    with clean_db.connect() as killer:  # another pooled connection than the one ended
        with clean_db.connect() as victim:
            backend = victim.execute(text("SELECT pg_backend_pid()")).scalar_one()
        killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        killer.commit()
    for n in range(3):  # whichever pooled connection each gets, none fails
        post(client, "Observations", _observation(stream, f"2025-01-01T00:0{n}:00Z", n))


def test_a_lone_post_is_one_statement_with_its_audit_row_and_its_event(client: FlaskClient, clean_db: Engine) -> None:
    stream = make_datastream(client)["@iot.id"]
    post(client, "Observations", _observation(stream, "2025-01-01T00:00:00Z", 0))  # generates the feature
    events: list[EntityChanged] = []
    client.application.config["STA_EVENTS"].subscribe(events.extend)
    with driver_statements(clean_db) as statements:
        created = post(client, f"Datastreams({stream})/Observations", {"phenomenonTime": "2025-01-01T00:05:00Z",
                                                                       "result": 1})
    assert [text[:11] for text, _ in statements] == ["WITH stream"]
    feature = get(client, f"Observations({created['@iot.id']})/FeatureOfInterest")["@iot.id"]
    assert [(e.id, e.change, e.related) for e in events] == [
        (created["@iot.id"], "created", (("Datastream", stream), ("FeatureOfInterest", feature)))]
    with clean_db.connect() as conn:
        trail = conn.execute(text("SELECT action, entity_type, entity_ids, channel FROM audit_records "
                                  "WHERE entity_type = 'Observation' ORDER BY id")).all()
    assert [tuple(row) for row in trail][-1] == ("created", "Observation", [created["@iot.id"]], "http")


def test_posts_the_one_statement_declines_write_nothing_of_their_own(client: FlaskClient, clean_db: Engine) -> None:
    stream = make_datastream(client)["@iot.id"]
    missing = client.post("/v1.1/Observations", json=_observation(987654, "2025-01-01T00:00:00Z", 1))
    assert missing.status_code == 400
    assert missing.get_json()["error"]["target"] == "Datastream"
    first = post(client, "Observations", _observation(stream, "2025-01-01T00:00:00Z", 1))  # the feature is new
    second = post(client, "Observations", _observation(stream, "2025-01-01T00:01:00Z", 2))
    assert get(client, f"Observations({first['@iot.id']})/FeatureOfInterest") == \
        get(client, f"Observations({second['@iot.id']})/FeatureOfInterest")
    with clean_db.connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM observations")).scalar_one()
        trail = conn.execute(text("SELECT entity_ids FROM audit_records WHERE entity_type = 'Observation' "
                                  "ORDER BY id")).scalars().all()
    assert rows == 2
    assert trail == [[first["@iot.id"]], [second["@iot.id"]]]
