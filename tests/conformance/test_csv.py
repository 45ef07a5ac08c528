"""CSV for analysts: flat columns, csv-module quoting, streamed over a server-side cursor."""
from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from flask.testing import FlaskClient
from sqlalchemy import Engine, insert

from sta_server.sql.tables import TABLES
from tests.conftest import LOCATION, make_datastream, make_thing, post


def _csv(client: FlaskClient, path: str, **params: str) -> list[dict[str, str]]:
    response = client.get(f"/v1.1/{path}", query_string={"$resultFormat": "CSV", **params})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_collection_is_one_row_per_entity(client: FlaskClient) -> None:
    make_thing(client, "Battery, \"east\"", properties={"radialId": 3})
    (row,) = _csv(client, "Things", **{"$select": "id,name,properties"})
    assert row["name"] == 'Battery, "east"' and row["properties"] == '{"radialId":3}'


def test_expanded_to_one_link_is_flattened(client: FlaskClient) -> None:
    stream = make_datastream(client)
    post(client, f"Datastreams({stream['@iot.id']})/Observations",
         {"result": 4.5, "phenomenonTime": "2024-01-01T00:00:00Z"})
    (row,) = _csv(client, "Observations", **{"$select": "result,phenomenonTime",
                                             "$expand": "Datastream($select=name;$expand=Thing($select=name))"})
    assert row == {"phenomenonTime": "2024-01-01T00:00:00Z", "result": "4.5", "Datastream/name": "ESS power",
                   "Datastream/Thing/name": "Thing of stream"}


def test_filter_and_top_are_honoured(client: FlaskClient) -> None:
    for name in ("a", "b", "c"):
        make_thing(client, name)
    rows = _csv(client, "Things", **{"$filter": "name ne 'b'", "$orderby": "name desc", "$top": "1"})
    assert [r["name"] for r in rows] == ["c"]


def test_header_only_for_an_empty_result(client: FlaskClient) -> None:
    response = client.get("/v1.1/Things?$resultFormat=CSV&$select=name")
    assert response.get_data(as_text=True) == "name\r\n"


def test_accept_text_csv_selects_csv(client: FlaskClient) -> None:
    make_thing(client, "x", Locations=[LOCATION])
    response = client.get("/v1.1/Things", headers={"Accept": "text/csv"})
    assert response.mimetype == "text/csv" and "Battery" not in response.get_data(as_text=True)


def test_large_result_is_streamed(client: FlaskClient, clean_db: Engine) -> None:
    stream = make_datastream(client)
    feature = post(client, "FeaturesOfInterest", {"name": "f", "description": "f",
                                                  "encodingType": "application/geo+json",
                                                  "feature": LOCATION["location"]})
    start = datetime(2024, 1, 1, tzinfo=UTC)
    rows = [{"datastream_id": stream["@iot.id"], "feature_of_interest_id": feature["@iot.id"],
             "phenomenon_time_start": start + timedelta(seconds=i), "result_number": float(i)} for i in range(20000)]
    with clean_db.begin() as conn:
        conn.execute(insert(TABLES["observations"]), rows)
    response = client.get("/v1.1/Observations?$resultFormat=CSV&$select=result&$orderby=phenomenonTime")
    assert response.is_streamed
    chunks = iter(response.response)
    assert next(chunks) == b"result\r\n"  # the header comes before any row is read
    first = next(chunks).decode()
    assert first.count("\r\n") == 1000  # one chunk per yield_per rows
    rest = b"".join(chunks).decode()
    assert (first + rest).count("\r\n") == 20000 and rest.endswith("\r\n19999\r\n")
