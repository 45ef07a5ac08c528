"""A field agent's lone Observation POST takes the one-statement path (service/lone_observation.py)
with its row-level security in the same pipeline (sql/precompiled.py): these tests fail if the
statement ran without the scoping (a row in another site's, a hidden or a public stream, a feature
generated for a Thing the agent cannot see), if the scoping outlived the request on the pooled
connection, or if the path declined silently (the agent's own POSTs must take it)."""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from sta_server.security import users
from sta_server.service.events import EntityChanged
from sta_server.sql.delete_row import delete_checked
from tests.security.conftest import SETUP, As, Grid
from tests.service.driver_statements import driver_statements as counted

MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"


@pytest.fixture
def driver_statements(clean_db: Engine) -> Iterator[list[tuple[str, bool]]]:
    with counted(clean_db) as seen:
        yield seen


def _observations(engine: Engine, stream: int) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM observations WHERE datastream_id = :s"),
                                {"s": stream}).scalar_one())


def _audit(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(
            "SELECT actor, role, action, entity_type, entity_ids FROM audit_records "
            "WHERE entity_type = 'Observation' ORDER BY id"))]


def _without_ids(error: dict[str, Any]) -> str:
    return re.sub(r"\d+", "N", str(error))


def test_an_agents_post_is_one_round_trip_under_its_own_rights(
        secure_client: FlaskClient, grid: Grid, clean_db: Engine, driver_statements: list[tuple[str, bool]]) -> None:
    agent = As(secure_client, "agent")
    events: list[EntityChanged] = []
    secure_client.application.config["STA_EVENTS"].subscribe(events.extend)
    audited = len(_audit(clean_db))
    driver_statements.clear()
    status, created = agent.post("Observations", {"result": 7.5, "phenomenonTime": "2026-01-02T00:00:00Z",
                                                  "Datastream": {"@iot.id": grid.stream_a}})
    assert status == 201, created
    # the user look-up of the authentication, then the scoping and the statement in ONE pipeline
    writes = [s for s in driver_statements if s[1]]
    assert [s[0][:17] for s in writes] == ["SELECT set_config", "WITH stream AS (S"]
    assert not any(s[0].startswith(("BEGIN", "INSERT")) for s in driver_statements)
    status, read = As(secure_client, "admin").get(f"Observations({created['@iot.id']})")
    assert read == created
    assert _audit(clean_db)[audited:] == [("agent", "device_agent", "created", "Observation", [created["@iot.id"]])]
    assert [(e.id, e.change) for e in events] == [(created["@iot.id"], "created")]
    assert _observations(clean_db, grid.stream_a) == 4


@pytest.mark.parametrize("stream", ["stream_b", "stream_public", "unlabelled"])
def test_an_agents_post_into_a_stream_it_cannot_see_writes_nothing_and_tells_nothing(
        secure_client: FlaskClient, grid: Grid, clean_db: Engine, stream: str) -> None:
    """Another site's stream, a public one (not granted to the agent) and one of an unlabelled
    Thing (administrators only) all answer as a stream that does not exist."""
    admin, agent = As(secure_client, "admin"), As(secure_client, "agent")
    if stream == "unlabelled":
        status, thing = admin.post("Things", {
            "name": "hidden", "description": "no labels",
            "Locations": [{"name": "h", "description": "h", "encodingType": "application/geo+json",
                           "location": {"type": "Point", "coordinates": [10.0, 44.0]}}],
            "Datastreams": [{"name": "h", "description": "h", "observationType": MEASUREMENT,
                             "unitOfMeasurement": {"name": "W", "symbol": "W", "definition": "W"},
                             "Sensor": {"@iot.id": grid.sensor_b_only},
                             "ObservedProperty": {"name": "P", "definition": "P", "description": "P"}}]})
        assert status == 201, thing
        target = admin.ids(f"Things({thing['@iot.id']})/Datastreams")[0]
        assert admin.post(f"Datastreams({target})/Observations", {"result": 0})[0] == 201  # its feature exists
    else:
        target = getattr(grid, stream)
        if stream == "stream_public":  # its feature generated: the one-statement path could take it
            assert admin.post(f"Datastreams({target})/Observations", {"result": 0})[0] == 201
    before, audited = _observations(clean_db, target), _audit(clean_db)
    status, refused = agent.post("Observations", {"result": 1, "Datastream": {"@iot.id": target}})
    missing_status, missing = agent.post("Observations", {"result": 1, "Datastream": {"@iot.id": 987654}})
    assert (status, _without_ids(refused)) == (missing_status, _without_ids(missing)) and status == 400
    path_status, by_path = agent.post(f"Datastreams({target})/Observations", {"result": 1})
    assert path_status in (403, 404), by_path
    assert _observations(clean_db, target) == before
    assert _audit(clean_db) == audited


def test_a_prepared_statement_planned_for_an_administrator_is_not_reused_unscoped(
        secure_client: FlaskClient, grid: Grid, clean_db: Engine) -> None:
    """psycopg prepares a statement after a few executions on a connection; PostgreSQL must plan
    it again under the agent's role (its row security depends on the role)."""
    admin, agent = As(secure_client, "admin"), As(secure_client, "agent")
    for n in range(8):
        status, _ = admin.post("Observations", {"result": n, "phenomenonTime": f"2026-02-01T00:0{n}:00Z",
                                                "Datastream": {"@iot.id": grid.stream_b}})
        assert status == 201
    before = _observations(clean_db, grid.stream_b)
    for n in range(8):
        status, _ = agent.post("Observations", {"result": n, "Datastream": {"@iot.id": grid.stream_b}})
        assert status == 400
        status, _ = agent.post("Observations", {"result": n, "Datastream": {"@iot.id": grid.stream_a}})
        assert status == 201
    assert _observations(clean_db, grid.stream_b) == before


def test_the_scoping_ends_with_the_request(secure_client: FlaskClient, grid: Grid, clean_db: Engine) -> None:
    """After agents' POSTs (accepted and refused) every pooled connection is the server's own again."""
    agent = As(secure_client, "agent")
    for stream in (grid.stream_a, grid.stream_b, grid.stream_a):
        agent.post("Observations", {"result": 1, "Datastream": {"@iot.id": stream}})
    pooled = [clean_db.connect() for _ in range(max(1, clean_db.pool.checkedin()))]  # type: ignore[attr-defined]
    try:
        for conn in pooled:
            row = conn.execute(text("SELECT current_user = session_user, current_setting('sta.labels', true), "
                                    "(SELECT count(*) FROM observations WHERE datastream_id = :b)"),
                               {"b": grid.stream_b}).one()
            assert row[0] is True and row[1] in (None, ""), tuple(row)
            assert row[2] == 3  # sees every row: no policy applies
    finally:
        for conn in pooled:
            conn.close()


def test_a_first_post_that_generates_the_feature_stays_under_the_agents_rights(
        secure_client: FlaskClient, grid: Grid, clean_db: Engine) -> None:
    """A stream whose Thing's feature was never generated: the agent's first POST on its own site
    generates it (the rule set's path), on another site's it neither writes nor generates."""
    admin, agent = As(secure_client, "admin"), As(secure_client, "agent")
    new_things = {}
    for site in ("A", "B"):
        status, thing = admin.post("Things", {
            "name": f"new {site}", "description": "fresh",
            "Locations": [{"name": "n", "description": "n", "encodingType": "application/geo+json",
                           "location": {"type": "Point", "coordinates": [11.2, 45.2]}}],
            "Datastreams": [{"name": "n", "description": "n", "observationType": MEASUREMENT,
                             "unitOfMeasurement": {"name": "W", "symbol": "W", "definition": "W"},
                             "Sensor": {"@iot.id": grid.sensor_b_only},
                             "ObservedProperty": {"name": "P", "definition": "P", "description": "P"}}]})
        assert status == 201, thing
        new_things[site] = (thing["@iot.id"], admin.ids(f"Things({thing['@iot.id']})/Datastreams")[0])
    with clean_db.begin() as conn:
        for site, (thing, _) in new_things.items():
            users.label_things(conn, SETUP, [thing], add=[f"site:{site}"])
    with clean_db.connect() as conn:
        features = conn.execute(text("SELECT count(*) FROM features")).scalar_one()
    status, _ = agent.post("Observations", {"result": 1, "Datastream": {"@iot.id": new_things["B"][1]}})
    assert status == 400
    with clean_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM features")).scalar_one() == features
    first = agent.post("Observations", {"result": 1, "Datastream": {"@iot.id": new_things["A"][1]}})
    second = agent.post("Observations", {"result": 2, "Datastream": {"@iot.id": new_things["A"][1]}})
    assert first[0] == second[0] == 201
    assert agent.get(f"Observations({first[1]['@iot.id']})/FeatureOfInterest") == \
        agent.get(f"Observations({second[1]['@iot.id']})/FeatureOfInterest")
    assert _observations(clean_db, new_things["A"][1]) == 2
    assert _observations(clean_db, new_things["B"][1]) == 0


def test_a_resident_may_not_post_observations_on_its_own_site(
        secure_client: FlaskClient, grid: Grid, clean_db: Engine) -> None:
    status, body = As(secure_client, "resident").post("Observations", {"result": 1,
                                                                        "Datastream": {"@iot.id": grid.stream_a}})
    assert status == 403 and body["error"]["code"] == "Forbidden"
    assert _observations(clean_db, grid.stream_a) == 3


def test_the_one_statement_delete_sees_only_what_its_grants_show(secure_client: FlaskClient, grid: Grid,
                                                                 clean_db: Engine) -> None:
    """No role but the administrator may delete (403, nothing deleted); the one-statement DELETE
    itself (sql/delete_row.py), run with a site's grants, cannot reach another site's row."""
    assert As(secure_client, "agent").call("DELETE", f"Datastreams({grid.stream_a})")[0] == 403
    audit = {"actor": "probe", "role": "device_agent", "channel": "http", "action": "deleted",
             "entity_type": "Datastream"}
    with clean_db.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        assert delete_checked(conn, "Datastream", grid.stream_a, audit, ("site:B",)) is None
        assert conn.execute(text("SELECT current_user = session_user")).scalar_one()  # the scoping ended
        gone = delete_checked(conn, "Datastream", grid.stream_a, audit, ("site:A",))
    assert gone is not None and gone["id"] == grid.stream_a and gone["thing_id"] == grid.thing_a
    assert _observations(clean_db, grid.stream_a) == 0
    with clean_db.connect() as conn:
        trail = conn.execute(text("SELECT actor, entity_ids FROM audit_records WHERE actor = 'probe'")).all()
    assert [tuple(row) for row in trail] == [("probe", [grid.stream_a])]
