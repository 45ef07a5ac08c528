"""Rows the database would refuse (red team F0). A CBOR SenML pack skips the JSON parser's NUL
check: a NUL in one record's text made PostgreSQL refuse the pack's COPY, and the row-by-row retry
updated the same Datastream row once per row in one transaction — superlinear, minutes for a few
thousand rows, every other message waiting. Now (a) NUL characters and lone surrogates are refused
per record at parse, whatever the format; (b) when the database still refuses a batch for one row,
the rows are tried again in halves, not one by one. Counts and statements are asserted, not time."""
from __future__ import annotations

import json
from typing import Any

import cbor2
import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from sta_server.errors import InvalidEntity
from sta_server.model import REGISTRY
from sta_server.mqtt.ingest import Incoming, Ingest
from sta_server.serialize.json_text import unstorable
from sta_server.serialize.values import parse_value
from tests.conftest import LOCATION, make_datastream, make_thing
from tests.service.driver_statements import driver_statements

N = 2000
BAD = 1234


def _stream(client: FlaskClient) -> int:
    thing = make_thing(client, "Meter", Locations=[LOCATION])
    return int(make_datastream(client, thing["@iot.id"], properties={"senmlName": "urn:S1:power"})["@iot.id"])


def _pack() -> bytes:
    records: list[dict[int, Any]] = [{-2: "urn:S1:power", -3: 1631000000, 2: 0}]
    records += [{6: i, 2: i % 97} for i in range(1, N)]
    records.insert(BAD, {6: 0.5, 3: "a\x00b"})
    return cbor2.dumps(records)


def _count(engine: Engine, stream: int) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM observations WHERE datastream_id = :s"),
                                {"s": stream}).scalar_one())


def _stream_updates(statements: list[tuple[str, bool]]) -> int:
    return sum(1 for sql, _ in statements if "UPDATE datastreams" in sql or sql.startswith("WITH grown"))


def test_a_cbor_pack_with_a_nul_record_refuses_that_record_alone(client: FlaskClient, clean_db: Engine) -> None:
    stream = _stream(client)
    first = {"result": -1, "phenomenonTime": "2026-01-01T00:00:00Z"}
    assert client.post(f"/v1.1/Datastreams({stream})/Observations", json=first).status_code == 201
    with driver_statements(clean_db) as statements:
        response = client.post("/v1.1/SenML", data=_pack(), content_type="application/senml+cbor")
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    report = response.get_json()
    assert [item["index"] for item in report["rejected"]] == [BAD]
    assert "NUL" in report["rejected"][0]["reason"]
    assert len(report["accepted"]) == N
    assert _count(clean_db, stream) == N + 1
    assert _stream_updates(statements) == 1  # one COPY, one extents UPDATE: no retry at all


def test_the_mqtt_ingest_stores_the_pack_but_its_nul_record(client: FlaskClient, clean_db: Engine) -> None:
    stream = _stream(client)
    ingest = Ingest(clean_db, None)
    acks: list[bool] = []
    single = cbor2.dumps([{0: "urn:S1:power", 6: 1.7e9, 2: 5}])
    ingest.store([Incoming("v1.1/SenML", _pack(), lambda: acks.append(True)),
                  Incoming("v1.1/SenML", single, lambda: acks.append(True))])
    assert acks == [True, True]
    assert _count(clean_db, stream) == N + 1
    assert (ingest.stats.accepted, ingest.stats.rejected) == (N + 1, 1)  # records: the pack's N and the single


@pytest.fixture
def refuses_13(clean_db: Engine) -> Any:
    """A row the database refuses at COPY although parsing accepts it (a CHECK constraint)."""
    with clean_db.begin() as conn:
        conn.execute(text("ALTER TABLE observations ADD CONSTRAINT no_13 CHECK (result_number IS DISTINCT FROM 13)"))
    yield
    with clean_db.begin() as conn:
        conn.execute(text("ALTER TABLE observations DROP CONSTRAINT no_13"))


def test_a_batch_the_database_refuses_for_one_row_is_retried_in_halves(
        client: FlaskClient, clean_db: Engine, refuses_13: None) -> None:
    stream = make_datastream(client)["@iot.id"]
    first = {"result": -1, "phenomenonTime": "2026-01-01T00:00:00Z"}
    assert client.post(f"/v1.1/Datastreams({stream})/Observations", json=first).status_code == 201
    rows = [[f"2026-01-01T00:00:{i % 60:02d}Z", 13 if i == BAD else i + 100] for i in range(N)]
    body = [{"Datastream": {"@iot.id": stream}, "components": ["phenomenonTime", "result"],
             "dataArray@iot.count": N, "dataArray": rows}]
    with driver_statements(clean_db) as statements:
        response = client.post("/v1.1/CreateObservations", json=body)
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    answers = response.get_json()
    assert [i for i, a in enumerate(answers) if not (isinstance(a, str) and "Observations(" in a)] == [BAD]
    assert _count(clean_db, stream) == N
    # one extents UPDATE per COPY that succeeded: about log2(N) halves, not one per row (N)
    assert _stream_updates(statements) <= 2 * N.bit_length(), _stream_updates(statements)
    extent = client.get(f"/v1.1/Datastreams({stream})").get_json()["phenomenonTime"]
    assert extent.endswith("/2026-01-01T00:00:59Z")


@pytest.mark.parametrize("value", ["a\x00b", {"k\x00": 1}, {"k": ["x", "\ud800"]}, ["ok", {"v": "\x00"}]])
def test_unstorable_strings_are_refused_at_parse_for_any_format(value: Any) -> None:
    assert unstorable(value) is not None
    observation = REGISTRY.type("Observation")
    for name in ("result", "parameters"):
        prop = next(p for p in observation.properties if p.name == name)
        if name == "parameters" and not isinstance(value, dict):
            continue
        with pytest.raises(InvalidEntity):
            parse_value(prop, value)


@pytest.mark.parametrize("value", ["charging", {"k": ["x", 1, None, True]}, 3.5, None, ["é", "€"]])
def test_storable_values_pass(value: Any) -> None:
    assert unstorable(value) is None


def _pack_with_a_nul_name() -> bytes:
    return cbor2.dumps([{-2: "urn:S1:", -3: 1631000000, 0: "power", 2: 1},
                        {0: "pow\x00er", 6: 1, 2: 2},
                        {0: "power", 6: 2, 2: 3}])


def test_a_record_name_with_a_nul_is_refused_alone(client: FlaskClient, clean_db: Engine) -> None:
    """RFC 8428's name rule (serialize/senml.py) refuses the record before any look-up by name."""
    stream = _stream(client)
    response = client.post("/v1.1/SenML", data=_pack_with_a_nul_name(), content_type="application/senml+cbor")
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    report = response.get_json()
    assert [item["index"] for item in report["rejected"]] == [1]
    assert [item["index"] for item in report["accepted"]] == [0, 2]
    assert _count(clean_db, stream) == 2
    ingest = Ingest(clean_db, None)
    acks: list[bool] = []
    ingest.store([Incoming("v1.1/SenML", _pack_with_a_nul_name(), lambda: acks.append(True))])
    assert acks == [True]
    assert _count(clean_db, stream) == 4
    assert (ingest.stats.accepted, ingest.stats.rejected) == (2, 1)


def test_the_mqtt_ingest_retries_a_refused_pack_in_halves(client: FlaskClient, clean_db: Engine,
                                                          refuses_13: None) -> None:
    stream = make_datastream(client)["@iot.id"]
    first = {"result": -1, "phenomenonTime": "2026-01-01T00:00:00Z"}
    assert client.post(f"/v1.1/Datastreams({stream})/Observations", json=first).status_code == 201
    rows = [[f"2026-01-01T00:00:{i % 60:02d}Z", 13 if i == BAD else i + 100] for i in range(N)]
    body = [{"Datastream": {"@iot.id": stream}, "components": ["phenomenonTime", "result"],
             "dataArray@iot.count": N, "dataArray": rows}]
    ingest = Ingest(clean_db, None)
    acks: list[bool] = []
    with driver_statements(clean_db) as statements:
        ingest.store([Incoming("v1.1/CreateObservations", json.dumps(body).encode(), lambda: acks.append(True))])
    assert acks == [True]
    assert _count(clean_db, stream) == N  # the first POST and every row but the refused one
    assert _stream_updates(statements) <= 2 * N.bit_length(), _stream_updates(statements)
