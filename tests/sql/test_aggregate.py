"""$apply aggregates on fixed data sets, compared with values computed in plain Python; each
query runs from the Observations (rollups=false) and, where they apply, from the rollups."""
from __future__ import annotations

import math
from datetime import timedelta
from statistics import fmean

import pytest
from flask.testing import FlaskClient

from sta_server.query.apply import parse_apply
from sta_server.query.path import parse_path
from sta_server.sql.aggregate import compile_apply
from tests.conftest import get
from tests.sql.aggregate_data import (
    ROME,
    Series,
    apply,
    by_key,
    grouped,
    hour_of,
    load,
    local_day_of,
    register_delta,
    rows,
    stream,
    time_weighted,
    utc,
)

HOURLY = "groupby((bucket(phenomenonTime,'PT1H','Europe/Rome')),aggregate({}))"
ROLLUPS = ["true", "false"]

# Irregular samples over three hours, with a gap of an hour and two samples in one second.
IRREGULAR: Series = [
    (utc("2026-05-04T10:00:00Z"), 10.0), (utc("2026-05-04T10:10:00Z"), 20.0),
    (utc("2026-05-04T10:50:00Z"), 5.0), (utc("2026-05-04T11:05:00Z"), 7.5),
    (utc("2026-05-04T11:05:00.500Z"), 8.0), (utc("2026-05-04T13:20:00Z"), -4.0),
    (utc("2026-05-04T13:59:59Z"), 1.0),
]


def _close(found: dict[str, object], expected: dict[str, float]) -> None:
    assert set(found) == set(expected)
    for key, value in expected.items():
        assert math.isclose(float(found[key]), value, rel_tol=1e-9, abs_tol=1e-9), key  # type: ignore[arg-type]


@pytest.mark.parametrize("rollups", ROLLUPS)
def test_hourly_average_sum_min_max_count_match_python(client: FlaskClient, rollups: str) -> None:
    ds = stream(client)
    load(client, ds, IRREGULAR)
    text = HOURLY.format("result with average as avg, result with sum as s, result with min as lo, "
                         "result with max as hi, result with count as n, $count as all")
    found = rows(client, f"Datastreams({ds})/Observations", text, rollups=rollups)
    groups = grouped(IRREGULAR, hour_of)
    _close(by_key(found, "phenomenonTime", "avg"), {k: fmean(v) for k, v in groups.items()})
    _close(by_key(found, "phenomenonTime", "s"), {k: sum(v) for k, v in groups.items()})
    _close(by_key(found, "phenomenonTime", "lo"), {k: min(v) for k, v in groups.items()})
    _close(by_key(found, "phenomenonTime", "hi"), {k: max(v) for k, v in groups.items()})
    assert by_key(found, "phenomenonTime", "n") == {k: len(v) for k, v in groups.items()}
    assert by_key(found, "phenomenonTime", "all") == {k: len(v) for k, v in groups.items()}


def test_bucket_starts_carry_the_local_offset(client: FlaskClient) -> None:
    ds = stream(client)
    load(client, ds, IRREGULAR[:1])
    found = rows(client, f"Datastreams({ds})/Observations", HOURLY.format("$count as n"))
    assert found == [{"phenomenonTime": "2026-05-04T12:00:00+02:00", "n": 1}]


def test_timeweighted_average_holds_each_value_until_the_next(client: FlaskClient) -> None:
    ds = stream(client)
    load(client, ds, IRREGULAR)
    found = rows(client, f"Datastreams({ds})/Observations", HOURLY.format("result with timeweighted as tw"))
    expected = time_weighted(IRREGULAR, hour_of)
    _close({k: v for k, v in by_key(found, "phenomenonTime", "tw").items() if k in expected}, expected)
    assert by_key(found, "phenomenonTime", "tw")["2026-05-04T12:00:00+00:00"] == 8.0  # the gap: held


@pytest.mark.parametrize("rollups", ROLLUPS)
def test_timeweighted_differs_from_the_plain_mean_on_irregular_samples(client: FlaskClient, rollups: str) -> None:
    ds = stream(client)
    load(client, ds, IRREGULAR)
    found = rows(client, f"Datastreams({ds})/Observations",
                 HOURLY.format("result with timeweighted as tw, result with average as avg"), rollups=rollups)
    first = found[0]
    assert math.isclose(first["avg"], fmean([10.0, 20.0, 5.0]))
    assert math.isclose(first["tw"], (10 * 600 + 20 * 2400 + 5 * 600) / 3600)


REGISTER: Series = [
    (utc("2026-05-04T00:00:00Z"), 100.0), (utc("2026-05-04T00:15:00Z"), 103.0),
    (utc("2026-05-04T00:30:00Z"), 104.5), (utc("2026-05-04T00:40:00Z"), 1.5),  # reset (meter swap)
    (utc("2026-05-04T01:00:00Z"), 4.0), (utc("2026-05-04T01:50:00Z"), 9.0),
    (utc("2026-05-04T02:10:00Z"), 11.0),
]


def test_delta_turns_a_register_into_energy_per_interval(client: FlaskClient) -> None:
    ds = stream(client)
    load(client, ds, REGISTER)
    text = "groupby((bucket(phenomenonTime,'PT15M','UTC')),aggregate(result with delta as kwh))"
    found = by_key(rows(client, f"Datastreams({ds})/Observations", text), "phenomenonTime", "kwh")
    quarter = lambda t: (t.replace(minute=t.minute // 15 * 15), t.replace(minute=t.minute // 15 * 15)  # noqa: E731
                         + timedelta(minutes=15))
    expected = register_delta(REGISTER, quarter)
    _close({k: v for k, v in found.items() if k in expected}, expected)
    assert found["2026-05-04T00:00:00+00:00"] == 3.0
    assert math.isclose(found["2026-05-04T00:30:00+00:00"], 1.5 + 2.5 * 5 / 20)  # reset counts from 0


def test_delta_of_a_day_is_the_sum_of_increments(client: FlaskClient) -> None:
    ds = stream(client)
    load(client, ds, REGISTER)
    text = "groupby((bucket(phenomenonTime,'P1D','Europe/Rome')),aggregate(result with delta as kwh))"
    found = rows(client, f"Datastreams({ds})/Observations", text)
    expected = 3 + 1.5 + 1.5 + 2.5 + 5 + 2
    assert [(r["phenomenonTime"], r["kwh"]) for r in found] == [("2026-05-04T00:00:00+02:00", expected)]


def _hourly_series(start: str, hours: int) -> Series:
    first = utc(start)
    return [(first + timedelta(hours=i), float(i)) for i in range(hours)]


@pytest.mark.parametrize("rollups", ROLLUPS)
@pytest.mark.parametrize("start, days, hours", [
    ("2026-03-27T23:00:00Z", ["2026-03-28", "2026-03-29", "2026-03-30"], [24, 23, 24]),
    ("2026-10-23T22:00:00Z", ["2026-10-24", "2026-10-25", "2026-10-26"], [24, 25, 24]),
])
def test_daily_buckets_are_local_days_across_daylight_saving(client: FlaskClient, rollups: str, start: str,
                                                            days: list[str], hours: list[int]) -> None:
    ds = stream(client)
    series = _hourly_series(start, 24 * 3 + 1)
    load(client, ds, series)
    text = "groupby((bucket(phenomenonTime,'P1D','Europe/Rome')),aggregate($count as n, result with sum as s))"
    found = rows(client, f"Datastreams({ds})/Observations", text, rollups=rollups)
    groups = grouped(series, local_day_of(ROME))
    assert [r["phenomenonTime"][:10] for r in found[:3]] == days
    assert by_key(found, "phenomenonTime", "n") == {k: len(v) for k, v in groups.items()}
    assert by_key(found, "phenomenonTime", "s") == {k: sum(v) for k, v in groups.items()}
    assert [r["n"] for r in found[:3]] == hours


def test_fill_gives_a_row_of_nulls_for_each_empty_bucket(client: FlaskClient) -> None:
    ds = stream(client)
    load(client, ds, IRREGULAR)
    fill = "/fill(2026-05-04T11:00:00+02:00,2026-05-04T17:00:00+02:00)"
    found = rows(client, f"Datastreams({ds})/Observations", HOURLY.format("result with average as avg") + fill)
    assert [r["phenomenonTime"][11:13] for r in found] == ["11", "12", "13", "14", "15", "16"]
    assert [r["avg"] is None for r in found] == [True, False, False, True, False, True]


def test_fill_without_bounds_spans_the_buckets_found(client: FlaskClient) -> None:
    ds = stream(client)
    load(client, ds, IRREGULAR)
    found = rows(client, f"Datastreams({ds})/Observations", HOURLY.format("$count as n") + "/fill()")
    assert [r["n"] for r in found] == [3, 2, None, 2]


@pytest.mark.parametrize("text, rollups", [
    (HOURLY.format("result with average as avg"), True),
    ("groupby((bucket(phenomenonTime,'P1D','Europe/Rome')),aggregate(result with max as m))", True),
    ("groupby((bucket(phenomenonTime,'PT15M','Europe/Rome')),aggregate(result with average as avg))", False),
    ("groupby((bucket(phenomenonTime,'P1D','Asia/Kolkata')),aggregate(result with average as avg))", False),
    ("filter(phenomenonTime ge 2026-05-04T10:00:00Z)/" + HOURLY.format("result with sum as s"), True),
    ("filter(phenomenonTime ge 2026-05-04T10:30:00Z)/" + HOURLY.format("result with sum as s"), False),
    ("filter(result gt 3)/" + HOURLY.format("result with sum as s"), False),
    (HOURLY.format("result with timeweighted as tw"), False),
])
def test_rollups_answer_only_the_questions_they_can(text: str, rollups: bool) -> None:
    path = parse_path("1.1", "Datastreams(1)/Observations")
    assert compile_apply(parse_apply(text), path, 0, 100).rollups is rollups


@pytest.mark.parametrize("rollups", ROLLUPS)
def test_late_observations_update_a_built_rollup(client: FlaskClient, rollups: str) -> None:
    ds = stream(client)
    load(client, ds, IRREGULAR[3:])
    path, text = f"Datastreams({ds})/Observations", HOURLY.format("result with average as avg, $count as n")
    rows(client, path, text)  # builds the rollups
    load(client, ds, IRREGULAR[:3])
    found = rows(client, path, text, rollups=rollups)
    groups = grouped(IRREGULAR, hour_of)
    _close(by_key(found, "phenomenonTime", "avg"), {k: fmean(v) for k, v in groups.items()})


def test_deleted_and_moved_observations_leave_the_rollup(client: FlaskClient) -> None:
    ds = stream(client)
    load(client, ds, IRREGULAR)
    path, text = f"Datastreams({ds})/Observations", HOURLY.format("result with sum as s, $count as n")
    rows(client, path, text)
    ids = [o["@iot.id"] for o in get(client, path, **{"$orderby": "phenomenonTime"})["value"]]
    assert client.delete(f"/v1.1/Observations({ids[0]})").status_code == 200
    moved = client.patch(f"/v1.1/Observations({ids[1]})", json={"phenomenonTime": "2026-05-04T13:30:00Z"})
    assert moved.status_code == 200
    series = [(utc("2026-05-04T13:30:00Z"), 20.0), *IRREGULAR[2:]]
    found = rows(client, path, text)
    _close(by_key(found, "phenomenonTime", "s"), {k: sum(v) for k, v in grouped(series, hour_of).items()})


@pytest.mark.parametrize("rollups", ROLLUPS)
def test_non_numeric_results_in_a_numeric_aggregate_are_400(client: FlaskClient, rollups: str) -> None:
    ds = stream(client)
    load(client, ds, [*IRREGULAR, (utc("2026-05-04T10:20:00Z"), "on")])
    body = apply(client, f"Datastreams({ds})/Observations", HOURLY.format("result with average as avg"), 400,
                 rollups=rollups)
    assert "not numeric" in body["error"]["message"]


def test_count_and_countdistinct_accept_any_result(client: FlaskClient) -> None:
    ds = stream(client)
    load(client, ds, [(utc("2026-05-04T10:00:00Z"), "on"), (utc("2026-05-04T10:01:00Z"), "off"),
                      (utc("2026-05-04T10:02:00Z"), "on")])
    found = rows(client, f"Datastreams({ds})/Observations",
                 HOURLY.format("result with count as n, result with countdistinct as states"))
    assert [(r["n"], r["states"]) for r in found] == [(3, 2)]


def test_compute_before_aggregate_scales_the_result(client: FlaskClient) -> None:
    ds = stream(client)
    load(client, ds, IRREGULAR)
    found = rows(client, f"Datastreams({ds})/Observations",
                 "compute(result div 1000 as kw)/aggregate(kw with sum as total, $count as n)")
    assert found == [{"total": pytest.approx(sum(v for _, v in IRREGULAR) / 1000), "n": len(IRREGULAR)}]


@pytest.mark.parametrize("rollups", ROLLUPS)
def test_radial_sum_adds_the_hourly_averages_of_its_things(client: FlaskClient, rollups: str) -> None:
    streams = {name: stream(client, {"name": name, "properties": {"radialId": radial}})
               for name, radial in [("h1", "R1"), ("h2", "R1"), ("h3", "R2")]}
    data = {name: [(utc("2026-05-04T10:00:00Z") + timedelta(minutes=20 * i), float(k * 10 + i)) for i in range(6)]
            for k, name in enumerate(streams, start=1)}
    for name, ident in streams.items():
        load(client, ident, data[name])
    text = ("filter(Datastream/ObservedProperty/name eq 'Active power' and Datastream/Thing/properties/radialId "
            "eq 'R1')/groupby((Datastream/id, bucket(phenomenonTime,'PT1H','Europe/Rome') as hour),"
            "aggregate(result with average as avg))/groupby((hour),aggregate(avg with sum as total_w))")
    found = by_key(rows(client, "Observations", text, rollups=rollups), "hour", "total_w")
    expected: dict[str, float] = {}
    for name in ("h1", "h2"):
        for key, values in grouped(data[name], hour_of).items():
            expected[key] = expected.get(key, 0.0) + fmean(values)
    _close(found, expected)


def test_top_pages_the_grouped_rows(client: FlaskClient) -> None:
    ds = stream(client)
    load(client, ds, IRREGULAR)
    body = apply(client, f"Datastreams({ds})/Observations", HOURLY.format("$count as n"), **{"$top": "2",
                                                                                             "$count": "true"})
    assert [r["n"] for r in body["value"]] == [3, 2]
    assert body["@iot.count"] == 3
    assert "%24skip=2" in body["@iot.nextLink"] or "$skip=2" in body["@iot.nextLink"]
    assert [r["n"] for r in get(client, body["@iot.nextLink"].split("/v1.1/", 1)[1].split("?")[0],
                                **_query(body["@iot.nextLink"]))["value"]] == [2]


def _query(link: str) -> dict[str, str]:
    from urllib.parse import parse_qsl, urlsplit

    return dict(parse_qsl(urlsplit(link).query))


def test_data_array_format_lists_components(client: FlaskClient) -> None:
    ds = stream(client)
    load(client, ds, IRREGULAR[:2])
    body = apply(client, f"Datastreams({ds})/Observations", HOURLY.format("result with sum as s"),
                 **{"$resultFormat": "dataArray"})
    assert body["value"] == [{"components": ["phenomenonTime", "s"], "dataArray@iot.count": 1,
                              "dataArray": [["2026-05-04T12:00:00+02:00", 30.0]]}]
