"""Hostile input over HTTP: every limit answers with its status and the OData JSON error body, and
malformed or malicious input ends in a 4xx, never a 5xx (docs/limits.md)."""
from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, insert, text
from werkzeug.test import EnvironBuilder, TestResponse

from sta_server.app import create_app
from sta_server.settings import Settings
from sta_server.sql.engine import make_engine
from sta_server.sql.tables import TABLES
from tests.conftest import LOCATION, make_datastream, make_thing, post


def _error(response: TestResponse, status: int | None = None) -> dict[str, Any]:
    """The error object of a 4xx answer (of `status` when given)."""
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data(as_text=True)[:500])
    if status is not None:
        assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert list(body) == ["error"] and body["error"]["code"] and body["error"]["message"]
    error: dict[str, Any] = body["error"]
    return error


def _client(settings: Settings, engine: Engine, **limits: Any) -> FlaskClient:
    app = create_app(replace(settings, **limits), engine)
    app.testing = True
    return app.test_client()


# --- request body size ---------------------------------------------------------------------------


def test_body_above_the_limit_is_413_json(settings: Settings, clean_db: Engine) -> None:
    client = _client(settings, clean_db, max_body_bytes=2048)
    body = {"name": "x" * 4096, "description": "too big"}
    assert _error(client.post("/v1.1/Things", json=body), 413)["code"] == "PayloadTooLarge"


def test_batch_above_the_limit_is_413_json(settings: Settings, clean_db: Engine) -> None:
    client = _client(settings, clean_db, max_body_bytes=2048)
    batch = {"requests": [{"id": str(i), "method": "get", "url": "Things"} for i in range(100)]}
    assert _error(client.post("/v1.1/$batch", json=batch), 413)["code"] == "PayloadTooLarge"


def test_chunked_body_above_the_limit_is_413_json(settings: Settings, clean_db: Engine) -> None:
    """No Content-Length (chunked transfer): the body is cut off while it is read."""
    client = _client(settings, clean_db, max_body_bytes=2048)
    body = json.dumps({"name": "x" * 10_000, "description": "d"}).encode()
    environ = EnvironBuilder("/v1.1/Things", method="POST", input_stream=io.BytesIO(body),
                             content_type="application/json").get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input_terminated"] = True
    _error(client.open(environ), 413)


def test_data_array_of_1000_observations_fits_the_default_limit(client: FlaskClient) -> None:
    stream = make_datastream(client)["@iot.id"]
    start = datetime(2024, 1, 1, tzinfo=UTC)
    rows = [[(start + timedelta(minutes=i)).isoformat().replace("+00:00", "Z"), float(i)] for i in range(1000)]
    body = [{"Datastream": {"@iot.id": stream}, "components": ["phenomenonTime", "result"],
             "dataArray@iot.count": len(rows), "dataArray": rows}]
    assert len(json.dumps(body)) < Settings().max_body_bytes
    response = client.post("/v1.1/CreateObservations", json=body)
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    assert len(response.get_json()) == 1000


# --- $expand depth and $top ----------------------------------------------------------------------

DEEP_PATH = "Datastreams/Thing/Datastreams/Thing/Datastreams/Thing"  # 6 levels


@pytest.mark.parametrize("expand", [
    DEEP_PATH,
    "Datastreams($expand=Thing($expand=Datastreams($expand=Thing($expand=Datastreams($expand=Thing)))))",
    "Locations,Datastreams($expand=Thing/Datastreams/Thing/Datastreams/Thing)",
])
def test_expand_deeper_than_the_limit_is_400(client: FlaskClient, expand: str) -> None:
    make_thing(client)
    error = _error(client.get("/v1.1/Things", query_string={"$expand": expand}), 400)
    assert error["target"] == "$expand" and "5" in error["message"]


def test_expand_at_the_limit_is_answered(client: FlaskClient) -> None:
    make_datastream(client)
    response = client.get("/v1.1/Things", query_string={"$expand": "Datastreams/Thing/Datastreams/Thing/Locations"})
    assert response.status_code == 200, response.get_data(as_text=True)


def test_expand_depth_is_configurable(settings: Settings, clean_db: Engine) -> None:
    client = _client(settings, clean_db, max_expand_depth=1)
    assert client.get("/v1.1/Things?$expand=Locations").status_code == 200
    _error(client.get("/v1.1/Things?$expand=Locations/Things"), 400)


@pytest.mark.parametrize("expand", [
    "/".join(["Datastreams/Thing"] * 5000),
    "Datastreams($expand=" * 3000 + "Thing" + ")" * 3000,
    "Datastreams(" * 5000,
])
def test_huge_expand_nesting_is_400(client: FlaskClient, expand: str) -> None:
    _error(client.get("/v1.1/Things", query_string={"$expand": expand}), 400)


@pytest.mark.parametrize("params", [
    {"$top": "10001"},
    {"$top": "99999999999999999999999999999"},
    {"$expand": "Datastreams($top=10001)"},
    {"$expand": "Datastreams($expand=Observations($top=20000))"},
    {"$top": "1e3"}, {"$top": "0x10"}, {"$top": "+5"}, {"$skip": "-1"},
])
def test_top_beyond_the_maximum_or_malformed_is_400(client: FlaskClient, params: dict[str, str]) -> None:
    assert _error(client.get("/v1.1/Things", query_string=params), 400)["code"] == "InvalidQuery"


# --- CSV without $top -------------------------------------------------------------------------------


def test_csv_without_top_stops_at_the_limit_with_a_link_to_the_rest(settings: Settings, clean_db: Engine) -> None:
    client = _client(settings, clean_db, max_csv_rows=2)
    for name in ("a", "b", "c"):
        make_thing(client, name)
    response = client.get("/v1.1/Things?$resultFormat=CSV&$select=name&$orderby=name")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "name\r\na\r\nb\r\n"
    link = response.headers["Link"]
    assert link.endswith('>; rel="next"') and "$skip=2" in link and "$top=2" in link
    rest = client.get(link[link.index("/v1.1/"):link.index(">")])
    assert rest.get_data(as_text=True) == "name\r\nc\r\n" and "Link" not in rest.headers


def test_csv_within_the_limit_has_no_link(settings: Settings, clean_db: Engine) -> None:
    client = _client(settings, clean_db, max_csv_rows=3)
    for name in ("a", "b", "c"):
        make_thing(client, name)
    response = client.get("/v1.1/Things?$resultFormat=CSV&$select=name")
    assert response.get_data(as_text=True).count("\r\n") == 4 and "Link" not in response.headers


def test_csv_top_above_the_csv_limit_is_400(settings: Settings, clean_db: Engine) -> None:
    client = _client(settings, clean_db, max_csv_rows=2)
    _error(client.get("/v1.1/Things?$resultFormat=CSV&$top=3"), 400)


# --- statement timeout ------------------------------------------------------------------------------


@pytest.fixture
def many_observations(client: FlaskClient, clean_db: Engine) -> None:
    stream = make_datastream(client)["@iot.id"]
    feature = post(client, "FeaturesOfInterest", {"name": "f", "description": "f",
                                                  "encodingType": "application/geo+json",
                                                  "feature": LOCATION["location"]})["@iot.id"]
    start = datetime(2024, 1, 1, tzinfo=UTC)
    rows = [{"datastream_id": stream, "feature_of_interest_id": feature,
             "phenomenon_time_start": start + timedelta(seconds=i), "result_number": float(i)}
            for i in range(100_000)]
    with clean_db.begin() as conn:
        conn.execute(insert(TABLES["observations"]), rows)
        conn.execute(text("ANALYZE observations"))


def test_statement_timeout_is_503_query_timeout(settings: Settings, clean_db: Engine,
                                                many_observations: None) -> None:
    slow = replace(settings, statement_timeout_ms=1)
    engine = make_engine(slow)
    try:
        client = _client(slow, engine)
        query = {"$filter": "result mul 3 mod 7 eq 11 or round(result div 3) eq 5", "$count": "true",
                 "$orderby": "result mod 13 desc"}
        response = client.get("/v1.1/Observations", query_string=query)
        assert response.status_code == 503, response.get_data(as_text=True)[:300]
        assert response.get_json()["error"]["code"] == "QueryTimeout"
        assert "Retry-After" not in response.headers
        batch = {"requests": [{"id": "1", "method": "get",
                               "url": "Observations?$count=true&$filter=result mul 3 mod 7 eq 11"}]}
        answer = client.post("/v1.1/$batch", json=batch).get_json()["responses"][0]
        assert answer["status"] == 503 and answer["body"]["error"]["code"] == "QueryTimeout"
    finally:
        engine.dispose()


# --- malformed bodies --------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [
    b"{", b"", b"null", b"[]", b"42", b'"thing"', b"{'name': 'x'}", b'{"name": "x",}', b"\xff\xfe\x00",
    b'{"name": "x", "description": "d", "properties": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    b'{"name": NaN, "description": "d"}', b'{"name": "a\\ud800", "description": "d"}',
    b'{"name": "a\\u0000b", "description": "d"}', b'{"name": "x", "description": "d", "properties": {"\\u0000": 1}}',
    b'{"name": "x", "description": "d", "Locations": "nope"}',
    b'{"name": "x", "description": "d", "Locations": [42]}',
    b'{"name": "x", "description": "d", "Datastreams": [{"@iot.id": "1; DROP TABLE things"}]}',
    b'{"name": "x", "description": "d", "@iot.id": 1e400}',
    b'{"name": {"nested": true}, "description": "d"}',
])
def test_malformed_entity_body_is_4xx(client: FlaskClient, body: bytes) -> None:
    _error(client.post("/v1.1/Things", data=body, content_type="application/json"))


@pytest.mark.parametrize("geometry", [
    {"type": "Point", "coordinates": ["a", "b"]},
    {"type": "Point", "coordinates": [1]},
    {"type": "Point", "coordinates": []},
    {"type": "Point"},
    {"type": "Polygon", "coordinates": [[1, 2]]},
    {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [0, 0]]]},
    {"type": "LineString", "coordinates": [[0, 0]]},
    {"type": "Circle", "coordinates": [0, 0]},
    {"type": "Point", "coordinates": [1e400, 0]},
    {"type": "GeometryCollection", "geometries": [{"type": "Point"}]},
    {"coordinates": [1, 2]},
    "POINT(1 2)", 42, [1, 2], None,
])
def test_bad_geojson_is_4xx(client: FlaskClient, geometry: Any) -> None:
    body = {**LOCATION, "location": geometry}
    _error(client.post("/v1.1/Locations", json=body))


@pytest.mark.parametrize("when", [
    "2024-02-30T00:00:00Z", "2024-13-01T00:00:00Z", "2024-01-01T25:00:00Z", "2024-01-01T00:00:00+25:00",
    "99999-01-01T00:00:00Z", "0000-01-01T00:00:00Z", "yesterday", "", "2024-02-01T00:00:00Z/2024-01-01T00:00:00Z",
    "2024-01-01T00:00:00Z/", "/", "2024-01-01T00:00:00Z/2024-01-02T00:00:00Z/2024-01-03T00:00:00Z", 12,
])
def test_impossible_time_is_4xx(client: FlaskClient, when: Any) -> None:
    stream = make_datastream(client)["@iot.id"]
    body = {"result": 1, "phenomenonTime": when, "Datastream": {"@iot.id": stream}}
    _error(client.post("/v1.1/Observations", json=body))


# --- hostile query options ------------------------------------------------------------------------------


@pytest.mark.parametrize("wkt", [
    "POINT(1)", "POINT(a b)", "POLYGON((0 0, 1 1))", "LINESTRING(", "SRID=x;POINT(1 2)", "", "POINT(1 2) trailing",
    "POLYGON((0 0, 1 0, 1 1, 0 0)", "CIRCLE(0 0, 1)", "POINT(1e400 0)", "GEOMETRYCOLLECTION(POINT())",
    "POINT(1 2)'; DROP TABLE things; --",
])
def test_bad_wkt_in_filter_is_400(client: FlaskClient, wkt: str) -> None:
    literal = wkt.replace("'", "''")
    response = client.get("/v1.1/Locations", query_string={"$filter": f"st_within(location, geography'{literal}')"})
    _error(response, 400)


@pytest.mark.parametrize("date", ["2024-02-30T00:00:00Z", "2024-01-01T25:00:00Z", "99999-01-01T00:00:00Z",
                                  "2024-01-01T00:00:00+99:00", "2024-00-10"])
def test_impossible_time_in_filter_is_400(client: FlaskClient, date: str) -> None:
    _error(client.get("/v1.1/Observations", query_string={"$filter": f"phenomenonTime gt {date}"}), 400)


@pytest.mark.parametrize("expression", [
    "name eq 'x'; DROP TABLE things",
    "name eq 'x' -- comment",
    "name eq 'x' /* comment */",
    "name eq 'x' or 1 eq 1; --",
    "name eq 'x'' OR ''1''=''1",  # unbalanced after the escaped quote
    "name eq \"x\"",
    "name eq x' or '1'='1",
    "1 eq 1) or (1 eq 1",
    "name eq 'x' union select * from pg_user",
    "substringof(name, (select 1))",
    "name eq " + "9" * 5000,
    "result eq 1e99999",
    "(" * 10_000,
    "not " * 5000 + "name eq 'x'",
    "-" * 5000 + "1 eq 1",
    "name eq '" + "x" * 200_000,
    "length(" * 2000 + "name" + ")" * 2000 + " eq 1",
])
def test_filter_injection_and_abuse_is_400(client: FlaskClient, expression: str) -> None:
    make_thing(client)
    _error(client.get("/v1.1/Things", query_string={"$filter": expression}), 400)
    assert client.get("/v1.1/Things").get_json()["value"]  # the table is still there


@pytest.mark.parametrize("expression", ["name eq 'a\x00b'", "substringof('\x00', name)",
                                        "properties/x\x00 eq 1"])
def test_nul_characters_in_filter_are_400(client: FlaskClient, expression: str) -> None:
    make_thing(client)
    _error(client.get("/v1.1/Things", query_string={"$filter": expression}), 400)


@pytest.mark.parametrize("expression", [
    "name eq 'x'' OR ''1''=''1'",  # one string literal with quotes in it
    "name eq '; DROP TABLE things; --'",
    "name eq '%' or substringof('%'' --', name)",
    "name eq '" + "x" * 100_000 + "'",
    "(" * 10_000 + "name eq 'x'" + ")" * 10_000,  # parentheses alone add no depth
    " and ".join(["name eq 'x'"] * 5000),  # nor does a run of one operator
    "name eq 'x' and (" + " or ".join(f"id eq {i}" for i in range(5000)) + ")",
])
def test_quoted_injection_is_only_a_string(client: FlaskClient, expression: str) -> None:
    make_thing(client)
    response = client.get("/v1.1/Things", query_string={"$filter": expression})
    assert response.status_code == 200 and response.get_json()["value"] == []
    assert len(client.get("/v1.1/Things").get_json()["value"]) == 1


@pytest.mark.parametrize("params", [
    {"$foo": "1"}, {"$Filter": "name eq 'x'"}, {"$orderby": "name; DROP TABLE things"},
    {"$orderby": "name desc, (select 1)"}, {"$select": "name,(select 1)"}, {"$select": "name;id"},
    {"$count": "1"}, {"$expand": "Datastreams;DROP"}, {"$expand": "Datastreams($filter=1 eq 1; --)"},
    {"$resultFormat": "xml"}, {"$skiptoken": "'; DROP TABLE things; --"}, {"$apply": "groupby((name)); DROP"},
    {"$apply": "aggregate(" * 2000}, {"$orderby": ",".join(["name"] * 5000) + " sideways"},
    {"$select": "/".join(["properties"] * 10_000) + "/"},
])
def test_unknown_or_malicious_options_are_400(client: FlaskClient, params: dict[str, str]) -> None:
    _error(client.get("/v1.1/Things", query_string=params), 400)


@pytest.mark.parametrize("path", [
    "/v1.1/Things(1; DROP TABLE things)", "/v1.1/Things(99999999999999999999999)",
    "/v1.1/Things(-1)", "/v1.1/Things(1)/../../etc/passwd", "/v1.1/" + "Things(1)/" * 2000 + "name",
    "/v1.1/Things(1)/Datastreams(1)/Thing/Locations(1)/Things(1)/name/$value/$ref",
])
def test_malicious_paths_are_4xx(client: FlaskClient, path: str) -> None:
    make_thing(client)
    _error(client.get(path))


def test_nested_lambdas_may_reuse_a_variable_name(client: FlaskClient) -> None:
    make_datastream(client)
    expression = "Datastreams/any(d: d/Thing/Datastreams/any(d: d/name eq 'ESS power') and d/name eq 'ESS power')"
    response = client.get("/v1.1/Things", query_string={"$filter": expression})
    assert response.status_code == 200 and len(response.get_json()["value"]) == 1
