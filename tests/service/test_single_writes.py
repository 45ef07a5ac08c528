"""Single-entity writes on their short path: an Observation POST is one statement for the row and
its side effects — for an administrator, with the stream check and the audit row, committed on its
own — and answers from that statement's row (the same body a GET gives), the extents
and rollup marks stay exact, a DELETE of `Things(n)` answers 404 for a missing Thing, and a pooled
connection whose backend went away is replaced without failing the next request."""
from __future__ import annotations

from dataclasses import replace

from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from sta_server.app import create_app
from sta_server.service.events import EntityChanged
from sta_server.settings import Settings
from sta_server.sql.engine import make_engine
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
    """One statement, with the setting that gives it a generic plan before it in the same pipeline."""
    stream = make_datastream(client)["@iot.id"]
    post(client, "Observations", _observation(stream, "2025-01-01T00:00:00Z", 0))  # generates the feature
    events: list[EntityChanged] = []
    client.application.config["STA_EVENTS"].subscribe(events.extend)
    with driver_statements(clean_db) as statements:
        created = post(client, f"Datastreams({stream})/Observations", {"phenomenonTime": "2025-01-01T00:05:00Z",
                                                                       "result": 1})
    # the generic plan's setting and the statement, in one pipeline (sql/precompiled.py)
    assert [(text[:17], piped) for text, piped in statements] == [("SELECT set_config", True),
                                                                   ("WITH stream AS (S", True)]
    feature = get(client, f"Observations({created['@iot.id']})/FeatureOfInterest")["@iot.id"]
    assert [(e.id, e.change, e.related) for e in events] == [
        (created["@iot.id"], "created", (("Datastream", stream), ("FeatureOfInterest", feature)))]
    with clean_db.connect() as conn:
        trail = conn.execute(text("SELECT action, entity_type, entity_ids, channel FROM audit_records "
                                  "WHERE entity_type = 'Observation' ORDER BY id")).all()
    assert [tuple(row) for row in trail][-1] == ("created", "Observation", [created["@iot.id"]], "http")


def test_the_generic_plan_setting_ends_with_the_statement(client: FlaskClient, clean_db: Engine) -> None:
    """The one-statement POST and DELETE set `plan_cache_mode` for their own transaction only: every
    pooled connection plans the server's other statements as before afterwards."""
    stream = make_datastream(client)["@iot.id"]
    for n in range(3):
        post(client, "Observations", _observation(stream, f"2025-01-01T00:0{n}:00Z", n))
    assert client.delete(f"/v1.1/Datastreams({stream})").status_code == 200
    pooled = [clean_db.connect() for _ in range(max(1, clean_db.pool.checkedin()))]  # type: ignore[attr-defined]
    try:
        assert {conn.execute(text("SELECT current_setting('plan_cache_mode')")).scalar_one() for conn in pooled} \
            == {"auto"}
    finally:
        for conn in pooled:
            conn.close()


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


def test_a_delete_by_id_is_one_statement_with_its_audit_row_and_its_event(client: FlaskClient,
                                                                           clean_db: Engine) -> None:
    stream = make_datastream(client)
    ident = stream["@iot.id"]
    post(client, f"Datastreams({ident})/Observations", {"phenomenonTime": "2025-01-01T00:00:00Z", "result": 1})
    links = {name: get(client, f"Datastreams({ident})/{name}")["@iot.id"]
             for name in ("Thing", "Sensor", "ObservedProperty")}
    events: list[EntityChanged] = []
    client.application.config["STA_EVENTS"].subscribe(events.extend)
    with driver_statements(clean_db) as statements:
        assert client.delete(f"/v1.1/Datastreams({ident})").status_code == 200
    assert [(text[:17], piped) for text, piped in statements] == [("SELECT set_config", True),
                                                                   ("WITH gone AS (DEL", True)]
    assert [(e.entity_type.name, e.id, e.change, dict(e.related)) for e in events] == [
        ("Datastream", ident, "deleted", links)]
    assert client.get(f"/v1.1/Datastreams({ident})").status_code == 404
    with clean_db.connect() as conn:
        trail = conn.execute(text("SELECT action, entity_type, entity_ids, channel FROM audit_records "
                                  "ORDER BY id DESC LIMIT 1")).one()
        left = conn.execute(text("SELECT count(*) FROM observations WHERE datastream_id = :s"), {"s": ident})
        assert left.scalar_one() == 0  # the cascade
    assert tuple(trail) == ("deleted", "Datastream", [ident], "http")


def test_deletes_with_side_effects_keep_the_rule_sets_path(client: FlaskClient, clean_db: Engine) -> None:
    """A Location (orphaned HistoricalLocations), a FeatureOfInterest (its streams' extents), a path
    through a link: not one statement, and each still does what it must."""
    stream = make_datastream(client)["@iot.id"]
    thing = get(client, f"Datastreams({stream})/Thing")["@iot.id"]
    post(client, f"Things({thing})/Locations", {"name": "l", "description": "l", "encodingType":
                                                "application/geo+json",
                                                "location": {"type": "Point", "coordinates": [11.0, 45.0]}})
    location = get(client, f"Things({thing})/Locations")["value"][0]["@iot.id"]
    first = post(client, "Observations", _observation(stream, "2025-01-01T00:00:00Z", 1))
    post(client, "Observations", _observation(stream, "2025-01-02T00:00:00Z", 2,
                                              FeatureOfInterest={"name": "f", "description": "f",
                                                                 "encodingType": "application/geo+json",
                                                                 "feature": {"type": "Point",
                                                                             "coordinates": [1, 2]}}))
    feature = get(client, f"Observations({first['@iot.id']})/FeatureOfInterest")["@iot.id"]
    history = len(get(client, f"Things({thing})/HistoricalLocations")["value"])
    for target in (f"Locations({location})", f"FeaturesOfInterest({feature})", f"Datastreams({stream})/Sensor"):
        with driver_statements(clean_db) as statements:
            assert client.delete(f"/v1.1/{target}").status_code == 200, target
        assert "WITH gon" not in [text[:8] for text, _ in statements], target
        if target.startswith("Locations"):
            assert len(get(client, f"Things({thing})/HistoricalLocations")["value"]) == history - 1  # orphaned
        elif target.startswith("Features"):
            assert get(client, f"Datastreams({stream})")["phenomenonTime"].startswith("2025-01-02T00:00:00Z")
    assert client.get(f"/v1.1/Datastreams({stream})").status_code == 404  # the Sensor's cascade


def test_a_statement_timeout_is_answered_at_once_not_waited_out_twice(settings: Settings, clean_db: Engine) -> None:
    """A lone POST or DELETE blocked past the statement timeout (a row locked by another transaction)
    answers 503 QueryTimeout from its one statement; the rule set's path is not tried after it (it
    would wait out the same lock again: twice the timeout)."""
    slow = replace(settings, statement_timeout_ms=300)
    engine = make_engine(slow)
    try:
        client = create_app(slow, engine).test_client()
        stream = make_datastream(client)["@iot.id"]
        post(client, "Observations", _observation(stream, "2025-01-01T00:00:00Z", 0))  # the feature exists
        with clean_db.connect() as locker, locker.begin():
            locker.execute(text("SELECT id FROM datastreams WHERE id = :s FOR UPDATE"), {"s": stream})
            for method, path, body in (("POST", "Observations", _observation(stream, "2025-01-01T00:01:00Z", 1)),
                                       ("DELETE", f"Datastreams({stream})", None)):
                with driver_statements(engine) as statements:
                    response = client.open(f"/v1.1/{path}", method=method, json=body)
                assert response.status_code == 503 and response.get_json()["error"]["code"] == "QueryTimeout"
                assert [text[:17] for text, _ in statements] == ["SELECT set_config", statements[1][0][:17]]
                assert statements[1][0].startswith(("WITH stream", "WITH gone")), statements
        assert get(client, f"Datastreams({stream})/Observations")["value"][0]["result"] == 0  # nothing else stored
    finally:
        engine.dispose()


def _deep_thing(tag: str) -> dict[str, object]:
    streams = [{"name": f"{tag} {n}", "description": "d", "observationType": "OM_Measurement",
                "unitOfMeasurement": {"name": "W", "symbol": "W", "definition": "W"},
                "Sensor": {"name": f"{tag} meter {n}", "description": "m", "encodingType": "text/html",
                           "metadata": "https://example.org/m"},
                "ObservedProperty": {"name": f"{tag} P {n}", "definition": "P", "description": "P"}}
               for n in range(3)]
    return {"name": tag, "description": "deep", "Datastreams": streams,
            "Locations": [{"name": "l", "description": "l", "encodingType": "application/geo+json",
                           "location": {"type": "Point", "coordinates": [11.0, 45.0]}}]}


def test_a_deep_insert_creates_each_new_sensor_and_property_in_its_datastreams_statement(
        client: FlaskClient, clean_db: Engine) -> None:
    """Thing + Location + 3 Datastreams with new Sensors and ObservedProperties: a Datastream and
    its new Sensor and ObservedProperty are one statement, the HistoricalLocation with its link one
    more; every entity is there, linked, announced and audited as before."""
    post(client, "Things", _deep_thing("warm"))
    events: list[EntityChanged] = []
    client.application.config["STA_EVENTS"].subscribe(events.extend)
    with driver_statements(clean_db) as statements:
        thing = post(client, "Things", _deep_thing("deep"))
    heads = [" ".join(text.split()[:3]) for text, _ in statements]
    assert heads == ["INSERT INTO things", *["WITH new_observed_property_id AS"] * 3, "INSERT INTO locations",
                     "INSERT INTO things_locations", "WITH new_history AS",
                     "INSERT INTO audit_records"], heads
    streams = client.get(f"/v1.1/Things({thing['@iot.id']})/Datastreams",
                         query_string={"$expand": "Sensor,ObservedProperty", "$orderby": "name"}).get_json()
    assert [(s["name"], s["Sensor"]["name"], s["ObservedProperty"]["name"]) for s in streams["value"]] == [
        (f"deep {n}", f"deep meter {n}", f"deep P {n}") for n in range(3)]
    history = client.get(f"/v1.1/Things({thing['@iot.id']})/HistoricalLocations",
                         query_string={"$expand": "Locations"}).get_json()["value"]
    assert [[loc["name"] for loc in h["Locations"]] for h in history] == [["l"]]
    kinds = [(e.entity_type.name, e.change) for e in events]
    assert sorted(kinds) == sorted([("Thing", "created"), ("Location", "created"), ("HistoricalLocation", "created"),
                                    *[("Sensor", "created"), ("ObservedProperty", "created"),
                                      ("Datastream", "created")] * 3])
    by_stream = {e.id: dict(e.related) for e in events if e.entity_type.name == "Datastream"}
    for stream in streams["value"]:
        assert by_stream[stream["@iot.id"]] == {"Thing": thing["@iot.id"], "Sensor": stream["Sensor"]["@iot.id"],
                                                "ObservedProperty": stream["ObservedProperty"]["@iot.id"]}
    with clean_db.connect() as conn:
        rows = conn.execute(text("SELECT entity_type, entity_ids FROM audit_records WHERE action = 'created' "
                                 "AND entity_type IN ('Sensor', 'ObservedProperty') ORDER BY id DESC LIMIT 2")).all()
    audited: dict[str, list[int]] = {row[0]: row[1] for row in rows}
    assert sorted(audited["Sensor"]) == sorted(s["Sensor"]["@iot.id"] for s in streams["value"])


def test_an_incomplete_new_sensor_in_a_deep_insert_writes_nothing(client: FlaskClient, clean_db: Engine) -> None:
    body = _deep_thing("bad")
    body["Datastreams"][1]["Sensor"] = {"name": "no metadata", "description": "m"}  # type: ignore[index]
    response = client.post("/v1.1/Things", json=body)
    assert response.status_code == 400 and response.get_json()["error"]["target"] == "encodingType"
    with clean_db.connect() as conn:
        assert conn.execute(text("SELECT (SELECT count(*) FROM things) + (SELECT count(*) FROM sensors)")).scalar() == 0


def test_a_created_entity_answers_as_read_even_when_its_children_change_it(client: FlaskClient) -> None:
    """A Thing's 201 body is its INSERT's row (no read back); a Datastream created with Observations
    (they grow its phenomenonTime) is read back after them. Both equal a GET."""
    thing = post(client, "Things", {**_deep_thing("answer"), "properties": {"site": "S1"}})
    assert thing == get(client, f"Things({thing['@iot.id']})")
    body = {**_deep_thing("s")["Datastreams"][0], "Thing": {"@iot.id": thing["@iot.id"]},  # type: ignore[index]
            "Observations": [{"phenomenonTime": "2025-01-01T00:00:00Z", "result": 1,
                              "FeatureOfInterest": {"name": "f", "description": "f",
                                                    "encodingType": "application/geo+json",
                                                    "feature": {"type": "Point", "coordinates": [11, 45]}}}]}
    stream = post(client, "Datastreams", body)
    assert stream["phenomenonTime"] == "2025-01-01T00:00:00Z/2025-01-01T00:00:00Z"
    assert stream == get(client, f"Datastreams({stream['@iot.id']})")
    location = post(client, "Locations", {"name": "L", "description": "d", "encodingType": "application/geo+json",
                                          "location": {"type": "Point", "coordinates": [1, 2]},
                                          "Things": [{"@iot.id": thing["@iot.id"]}]})
    assert location == get(client, f"Locations({location['@iot.id']})")
