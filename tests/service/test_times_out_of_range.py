"""Times whose UTC instant falls outside the years 1..9999 (red team F4): `0001-01-01T00:00:00+14:00`
is year 0 in UTC, `9999-12-31T23:00:00-14:00` year 10000. PostgreSQL would store them and Python
could not read them back, so one such row made every read of its stream answer 400. They are
refused at parse on every channel, for both ends of an interval; the edges that are in range
stay writable and readable, the stream's extents too."""
from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Column, DateTime, Engine, Integer, MetaData, Table, bindparam, insert, literal_column, text

from sta_server.mqtt.service import MqttService
from sta_server.service import lone_observation
from sta_server.sql import observation_row, partitions, precompiled
from tests.conftest import get, make_datastream
from tests.mqtt.conftest import MqttTestClient, http, mqtt, mqtt_app, mqtt_service, wait_until  # noqa: F401

BEFORE = "0001-01-01T00:00:00+14:00"  # 0001-12-31T10:00Z BC
AFTER = "9999-12-31T23:00:00-14:00"  # 10000-01-01T13:00Z
GOOD = "2026-01-01T00:00:00Z"
OUT_OF_RANGE = [
    {"phenomenonTime": BEFORE},
    {"phenomenonTime": AFTER},
    {"phenomenonTime": f"{GOOD}/{AFTER}"},
    {"phenomenonTime": f"{BEFORE}/{GOOD}"},
    {"phenomenonTime": GOOD, "resultTime": BEFORE},
    {"phenomenonTime": GOOD, "validTime": f"{BEFORE}/{GOOD}"},
    {"phenomenonTime": GOOD, "validTime": f"{GOOD}/{AFTER}"},
]


def _rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM observations")).scalar_one())


def _check_readable(client: FlaskClient, stream: int) -> dict[str, Any]:
    """Reads that one stored out-of-range time used to break answer 200."""
    datastream = get(client, f"Datastreams({stream})")
    get(client, "Datastreams")
    assert client.get("/v1.1/Observations?$orderby=phenomenonTime asc").status_code == 200
    return dict(datastream)


@pytest.mark.parametrize("times", OUT_OF_RANGE)
def test_a_lone_post_of_an_out_of_range_time_is_400_and_stores_nothing(
        client: FlaskClient, clean_db: Engine, times: dict[str, str]) -> None:
    stream = make_datastream(client)["@iot.id"]
    for path in (f"Datastreams({stream})/Observations", "Observations"):
        body = {"result": 1, **times}
        if path == "Observations":
            body["Datastream"] = {"@iot.id": stream}
        response = client.post(f"/v1.1/{path}", json=body)
        assert response.status_code == 400, response.get_data(as_text=True)[:300]
        assert "years 1 to 9999 in UTC" in response.get_json()["error"]["message"]
    assert _rows(clean_db) == 0
    assert _check_readable(client, stream).get("phenomenonTime") is None


def test_the_edges_of_the_range_are_stored_and_read_back(client: FlaskClient, clean_db: Engine) -> None:
    stream = make_datastream(client)["@iot.id"]
    for time in ("0001-01-01T00:00:00Z", "0001-01-01T10:00:00+10:00", "9999-12-31T23:59:59Z",
                 "9999-12-31T13:00:00-10:00"):
        response = client.post(f"/v1.1/Datastreams({stream})/Observations", json={"result": 2, "phenomenonTime": time})
        assert response.status_code == 201, response.get_data(as_text=True)[:300]
    datastream = _check_readable(client, stream)
    assert datastream["phenomenonTime"] == "0001-01-01T00:00:00Z/9999-12-31T23:59:59Z"
    assert _rows(clean_db) == 4
    observations = client.get(f"/v1.1/Datastreams({stream})/Observations?$orderby=id").get_json()["value"]
    for observation in observations:  # and may be deleted again
        assert client.delete(f"/v1.1/Observations({observation['@iot.id']})").status_code == 200
    assert _rows(clean_db) == 0


def test_create_observations_refuses_the_row_alone(client: FlaskClient, clean_db: Engine) -> None:
    stream = make_datastream(client)["@iot.id"]
    rows = [["2026-01-01T00:00:00Z", 1], [BEFORE, 2], [AFTER, 3], ["2026-01-01T00:01:00Z", 4]]
    body = [{"Datastream": {"@iot.id": stream}, "components": ["phenomenonTime", "result"],
             "dataArray@iot.count": len(rows), "dataArray": rows}]
    response = client.post("/v1.1/CreateObservations", json=body)
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    answers = response.get_json()
    assert [isinstance(a, str) and "Observations(" in a for a in answers] == [True, False, False, True]
    assert _rows(clean_db) == 2
    assert _check_readable(client, stream)["phenomenonTime"] == "2026-01-01T00:00:00Z/2026-01-01T00:01:00Z"


def test_a_batch_item_with_an_out_of_range_time_is_400(client: FlaskClient, clean_db: Engine) -> None:
    stream = make_datastream(client)["@iot.id"]
    batch = {"requests": [
        {"id": "1", "method": "post", "url": f"Datastreams({stream})/Observations",
         "body": {"result": 1, "phenomenonTime": AFTER}},
        {"id": "2", "method": "post", "url": f"Datastreams({stream})/Observations",
         "body": {"result": 2, "phenomenonTime": GOOD, "resultTime": BEFORE}},
        {"id": "3", "method": "post", "url": f"Datastreams({stream})/Observations",
         "body": {"result": 3, "phenomenonTime": GOOD}}]}
    response = client.post("/v1.1/$batch", json=batch)
    assert response.status_code == 200
    assert [answer["status"] for answer in response.get_json()["responses"]] == [400, 400, 201]
    assert _rows(clean_db) == 1
    _check_readable(client, stream)


def test_a_patch_to_an_out_of_range_time_is_400_and_changes_nothing(client: FlaskClient, clean_db: Engine) -> None:
    stream = make_datastream(client)["@iot.id"]
    created = client.post(f"/v1.1/Datastreams({stream})/Observations", json={"result": 1, "phenomenonTime": GOOD})
    ident = created.get_json()["@iot.id"]
    for change in ({"phenomenonTime": BEFORE}, {"resultTime": AFTER}, {"validTime": f"{BEFORE}/{GOOD}"}):
        response = client.patch(f"/v1.1/Observations({ident})", json=change)
        assert response.status_code == 400, response.get_data(as_text=True)[:300]
    observation = get(client, f"Observations({ident})")
    assert observation["phenomenonTime"] == GOOD
    assert observation.get("resultTime") is None and observation.get("validTime") is None
    _check_readable(client, stream)


def test_mqtt_refuses_and_counts_the_message_and_stores_the_others(
        http: FlaskClient, mqtt: MqttTestClient, mqtt_service: MqttService,  # noqa: F811
        clean_db: Engine) -> None:
    stream = make_datastream(http)["@iot.id"]
    topic = f"v1.1/Datastreams({stream})/Observations"
    mqtt.publish(topic, {"result": 1, "phenomenonTime": BEFORE})
    mqtt.publish(topic, {"result": 2, "phenomenonTime": GOOD, "validTime": f"{GOOD}/{AFTER}"})
    mqtt.publish(topic, {"result": 3, "phenomenonTime": GOOD})
    wait_until(lambda: mqtt_service.ingest.stats.rejected == 2 and mqtt_service.ingest.stats.accepted == 1)
    assert _rows(clean_db) == 1
    assert _check_readable(http, stream)["phenomenonTime"] == f"{GOOD}/{GOOD}"


def test_a_partition_for_december_9999_is_created_and_holds_its_row(client: FlaskClient, clean_db: Engine) -> None:
    stream = make_datastream(client)["@iot.id"]
    body = {"result": 1, "phenomenonTime": "9999-12-31T12:00:00Z"}
    assert client.post(f"/v1.1/Datastreams({stream})/Observations", json=body).status_code == 201
    with clean_db.begin() as conn:
        report = partitions.ensure_partitions(conn, ahead=0)
    assert "observations_p999912" in report.created
    with clean_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM observations_p999912")).scalar_one() == 1


@pytest.mark.parametrize("scoped", [None, ["site:S1"]])
def test_a_statement_that_committed_but_whose_row_cannot_be_read_is_not_reported_as_rolled_back(
        clean_db: Engine, scoped: list[str] | None) -> None:
    """The driver reads RETURNING rows after the commit: a row it cannot load (year 0 in UTC, as
    a stored out-of-range time was) raises CommittedUnread, never the "nothing written" error."""
    with clean_db.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS unread_rows"))
        conn.execute(text("CREATE TABLE unread_rows (n int, t timestamptz)"))
        conn.execute(text("GRANT ALL ON unread_rows TO sta_scoped"))
    table = Table("unread_rows", MetaData(), Column("n", Integer), Column("t", DateTime(timezone=True)))
    statement = precompiled.Precompiled.of(
        insert(table).values(n=bindparam("n"), t=literal_column("'0001-12-31 10:00:00+00 BC'::timestamptz"))
        .returning(table.c.n, table.c.t), clean_db.dialect)
    with clean_db.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        with pytest.raises(precompiled.CommittedUnread):
            precompiled.fetch_one(conn, statement, {"n": 7}, scoped)
    with clean_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM unread_rows WHERE n = 7")).scalar_one() == 1


def test_a_lone_post_whose_row_is_stored_but_not_read_back_is_500_and_stored_once(
        client: FlaskClient, clean_db: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """After the commit the lone path never hands the request to the rule set (a second row)."""
    stream = make_datastream(client)["@iot.id"]
    first = client.post(f"/v1.1/Datastreams({stream})/Observations", json={"result": 4, "phenomenonTime": GOOD})
    assert first.status_code == 201  # generates the feature: the next POST takes the lone path
    real = observation_row.insert_checked

    def stored_then_unreadable(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)
        raise precompiled.CommittedUnread("injected: the row could not be loaded")

    monkeypatch.setattr(lone_observation.observation_row, "insert_checked", stored_then_unreadable)
    response = client.post(f"/v1.1/Datastreams({stream})/Observations", json={"result": 5, "phenomenonTime": GOOD})
    assert response.status_code == 500
    with clean_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM observations WHERE result_number = 5")).scalar_one() == 1
        assert conn.execute(text("SELECT count(*) FROM audit_records WHERE entity_type = 'Observation'")
                            ).scalar_one() == 2
