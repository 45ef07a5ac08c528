"""Aggregation extension ($apply) over HTTP: the documented requests (docs/aggregation.md), their
answers and their 400s."""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask.testing import FlaskClient

from tests.conftest import get
from tests.sql.aggregate_data import apply, load, rows, stream, utc

PER_HOUR = "groupby((bucket(phenomenonTime,'PT1H','Europe/Rome')),aggregate(result with average as avg))"


@pytest.fixture
def power(client: FlaskClient) -> int:
    """One Datastream with a reading every 10 minutes for 2 hours: 0, 1, ..., 11."""
    ident = stream(client)
    load(client, ident, [(utc("2026-06-01T08:00:00Z") + timedelta(minutes=10 * i), float(i)) for i in range(12)])
    return ident


def test_hourly_average_of_one_datastream(client: FlaskClient, power: int) -> None:
    body = get(client, f"Datastreams({power})/Observations", **{"$apply": PER_HOUR})
    assert body == {"value": [{"phenomenonTime": "2026-06-01T10:00:00+02:00", "avg": 2.5},
                              {"phenomenonTime": "2026-06-01T11:00:00+02:00", "avg": 8.5}]}


def test_sum_over_the_datastreams_of_a_radial(client: FlaskClient) -> None:
    for radial, value in [("R1", 100.0), ("R1", 50.0), ("R2", 7.0)]:
        ident = stream(client, {"name": f"house {value}", "properties": {"radialId": radial}})
        load(client, ident, [(utc("2026-06-01T08:00:00Z"), value), (utc("2026-06-01T08:30:00Z"), value * 3)])
    text = ("filter(Datastream/ObservedProperty/name eq 'Active power' and "
            "Datastream/Thing/properties/radialId eq 'R1')/groupby((Datastream/id, "
            "bucket(phenomenonTime,'PT1H','Europe/Rome') as hour),aggregate(result with average as avg))"
            "/groupby((hour),aggregate(avg with sum as total))")
    assert rows(client, "Observations", text) == [{"hour": "2026-06-01T10:00:00+02:00", "total": 300.0}]


def test_group_by_a_datastream_property(client: FlaskClient, power: int) -> None:
    found = rows(client, "Observations", "groupby((Datastream/name),aggregate($count as n))")
    assert found == [{"Datastream/name": "ESS power", "n": 12}]


def test_apply_without_groups_gives_one_row(client: FlaskClient, power: int) -> None:
    found = rows(client, f"Datastreams({power})/Observations",
                 "aggregate(result with min as lo, result with max as hi, $count as n)")
    assert found == [{"lo": 0.0, "hi": 11.0, "n": 12}]


def test_apply_on_an_empty_collection_gives_no_buckets(client: FlaskClient) -> None:
    ident = stream(client)
    assert rows(client, f"Datastreams({ident})/Observations", PER_HOUR) == []


def test_unknown_datastream_is_404(client: FlaskClient) -> None:
    get(client, "Datastreams(999)/Observations", 404, **{"$apply": PER_HOUR})


@pytest.mark.parametrize("params, message", [
    ({"$apply": "groupby((bucket(phenomenonTime,'PT1H')),aggregate(result with mean as m))"}, "unknown aggregation"),
    ({"$apply": "groupby((nosuch),aggregate($count as n))"}, "no property 'nosuch'"),
    ({"$apply": "groupby((Datastream/Thing/Locations/name),aggregate($count as n))"}, "to-many"),
    ({"$apply": "aggregate($count as n)/groupby((m))"}, "not a name of the grouped rows"),
    ({"$apply": "aggregate($count as n)/filter(n gt 1)"}, "filter() after a grouping"),
    ({"$apply": "aggregate($count as n)/aggregate(n with delta as d)"}, "'delta' needs the Observations"),
    ({"$apply": "aggregate(result with delta as d)"}, "bucket(phenomenonTime"),
    ({"$apply": "aggregate($count as n)/fill()"}, "fill() needs exactly one bucket()"),
    ({"$apply": PER_HOUR + "/fill(2000-01-01T00:00:00Z,2100-01-01T00:00:00Z)"}, "more than"),
    ({"$apply": "filter(result gt 1)"}, "needs groupby"),
    ({"$apply": PER_HOUR, "$filter": "result gt 1"}, "cannot be combined"),
    ({"$apply": PER_HOUR, "$top": "1000000"}, "exceeds the maximum"),
    ({"$apply": "aggregate(Datastream/name with sum as s)"}, "Expected a number"),
])
def test_bad_aggregation_requests_are_400(client: FlaskClient, power: int, params: dict[str, str],
                                          message: str) -> None:
    body = get(client, f"Datastreams({power})/Observations", 400, **params)
    assert message in body["error"]["message"]


def test_apply_on_a_single_entity_is_400(client: FlaskClient, power: int) -> None:
    body = apply(client, f"Datastreams({power})", "aggregate($count as n)", 400)
    assert "collections" in body["error"]["message"]


def test_hourly_average_as_csv_for_analysts(client: FlaskClient, power: int) -> None:
    response = client.get(f"/v1.1/Datastreams({power})/Observations",
                          query_string={"$apply": PER_HOUR, "$resultFormat": "CSV"})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.get_data(as_text=True).splitlines() == [
        "phenomenonTime,avg", "2026-06-01T10:00:00+02:00,2.5", "2026-06-01T11:00:00+02:00,8.5"]


def test_csv_is_also_chosen_by_the_accept_header(client: FlaskClient, power: int) -> None:
    response = client.get(f"/v1.1/Datastreams({power})/Observations", query_string={"$apply": PER_HOUR},
                          headers={"Accept": "text/csv"})
    assert response.get_data(as_text=True).splitlines()[0] == "phenomenonTime,avg"
