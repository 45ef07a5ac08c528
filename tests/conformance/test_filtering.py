"""Conformance class Filtering (OGC 18-088 A.3; the ets-sta10 Capability3Tests and GeoTests, FROST's
FilterTests): $orderby, $top/$skip/$count and nextLinks, $select, $expand with nested options, the
ets geospatial requests, and 400 answers that name the problem. Data: tests/sql/filter_data.py."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from sta_server.settings import Settings
from tests.sql.filter_checks import error_message, fetch, filtered, labels_of
from tests.sql.filter_data import dataset_client

Dataset = tuple[FlaskClient, dict[str, int]]
BOX = "geography'POLYGON((8.8 45.8, 9.2 45.8, 9.2 46.3, 8.8 46.3, 8.8 45.8))'"


@pytest.fixture(scope="module")
def dataset(settings: Settings, engine: Engine) -> Iterator[Dataset]:
    yield from dataset_client(settings, engine)


def ordered(dataset: Dataset, path: str, **params: str) -> list[str]:
    """Labels in response order; `{T1}`-style placeholders in path and options become ids."""
    client, ids = dataset
    params = {k: v.format(**ids) for k, v in params.items()}
    entity_set = path.rsplit("/", 1)[-1]
    return labels_of(ids, entity_set, fetch(client, path.format(**ids), **params)["value"])


ORDERBY = [
    ("Things", {"$orderby": "id desc"}, ["T4", "T3", "T2", "T1"]),
    ("Things", {"$orderby": "description desc"}, ["T4", "T3", "T2", "T1"]),
    ("Things", {"$orderby": "description asc"}, ["T1", "T2", "T3", "T4"]),
    ("Things", {"$orderby": "properties/capacity_kwh desc"}, ["T2", "T1", "T3", "T4"]),
    ("Things", {"$orderby": "properties/radialId,name desc"}, ["T4", "T3", "T1", "T2"]),
    ("Things", {"$orderby": "length(name) desc,id"}, ["T1", "T2", "T4", "T3"]),
    ("Datastreams", {"$orderby": "Thing/name desc,name"}, ["D4", "D3", "D1", "D2"]),
    ("Observations", {"$filter": "Datastream/id eq {D1}", "$orderby": "result desc"},
     ["O2", "O1", "O4", "O3"]),
    ("Observations", {"$filter": "Datastream/id eq {D2}", "$orderby": "result"},
     ["O8", "O9", "O5", "O6", "O7"]),
    ("Observations", {"$orderby": "Datastream/name,phenomenonTime desc"},
     ["O4", "O3", "O2", "O1", "O9", "O8", "O7", "O6", "O5", "O11", "O10"]),
    ("Observations", {"$filter": "Datastream/id eq {D1}", "$orderby": "phenomenonTime"},
     ["O1", "O2", "O3", "O4"]),
    ("Datastreams({D1})/Observations", {"$orderby": "result desc", "$top": "2"}, ["O2", "O1"]),
    ("Things({T1})/Datastreams", {"$filter": "name eq 'Lugano state'"}, ["D2"]),
    ("Datastreams", {"$orderby": "Observations/result desc,id"}, ["D3", "D1", "D2", "D4"]),
]


@pytest.mark.parametrize("entity_set, params, expected", ORDERBY)
def test_orderby(dataset: Dataset, entity_set: str, params: dict[str, str], expected: list[str]) -> None:
    assert ordered(dataset, entity_set, **params) == expected


def test_top_skip_count_and_next_link_keep_the_options(dataset: Dataset) -> None:
    client, ids = dataset
    params = {"$filter": "startswith(description, 'B') or startswith(description, 'S')",
              "$orderby": "id", "$count": "true", "$top": "2"}
    first = fetch(client, "Things", **params)
    assert (first["@iot.count"], labels_of(ids, "Things", first["value"])) == (3, ["T1", "T2"])
    query = parse_qs(urlsplit(first["@iot.nextLink"]).query)
    token = query.pop("$skiptoken")  # key-set paging: the next page starts after the last key
    assert token and query == {"$filter": [params["$filter"]], "$orderby": ["id"], "$count": ["true"],
                               "$top": ["2"]}
    query["$skiptoken"] = token
    second = fetch(client, "Things", **{k: v[0] for k, v in query.items()})
    assert labels_of(ids, "Things", second["value"]) == ["T3"]
    assert "@iot.nextLink" not in second


@pytest.mark.parametrize("params, expected", [
    ({"$skip": "3", "$orderby": "id"}, ["T4"]),
    ({"$skip": "1", "$top": "2", "$orderby": "id desc"}, ["T3", "T2"]),
    ({"$top": "0"}, []),
    ({"$skip": "10"}, []),
])
def test_top_and_skip(dataset: Dataset, params: dict[str, str], expected: list[str]) -> None:
    assert ordered(dataset, "Things", **params) == expected


def test_count_ignores_top(dataset: Dataset) -> None:
    client, _ = dataset
    body = fetch(client, "Observations", **{"$top": "1", "$count": "true", "$filter": "result gt 5"})
    assert (body["@iot.count"], len(body["value"])) == (4, 1)


def only(dataset: Dataset, entity_set: str, label: str, **params: str) -> dict[str, Any]:
    client, ids = dataset
    body = fetch(client, entity_set, **{"$filter": f"id eq {ids[label]}", **params})
    assert len(body["value"]) == 1
    item: dict[str, Any] = body["value"][0]
    return item


def test_select_json_member(dataset: Dataset) -> None:
    item = only(dataset, "Things", "T1", **{"$select": "id,properties/radialId"})
    assert item == {"@iot.id": dataset[1]["T1"], "properties": {"radialId": "R1"}}


def test_select_result_member(dataset: Dataset) -> None:
    assert only(dataset, "Observations", "O7", **{"$select": "result/value"}) == {"result": {"value": 42}}


def test_select_self_link_and_id(dataset: Dataset) -> None:
    item = only(dataset, "Things", "T2", **{"$select": "@iot.selfLink,@iot.id"})
    ident = dataset[1]["T2"]
    assert item == {"@iot.id": ident, "@iot.selfLink": f"http://sta.test/api/v1.1/Things({ident})"}


def test_select_navigation_link(dataset: Dataset) -> None:
    item = only(dataset, "Things", "T1", **{"$select": "name,Datastreams"})
    assert item == {"name": "Lugano storage",
                    "Datastreams@iot.navigationLink": f"http://sta.test/api/v1.1/Things({dataset[1]['T1']})/Datastreams"}


@pytest.mark.parametrize("entity_set, label, prop", [
    ("Things", "T1", "name"), ("Things", "T4", "properties"), ("Locations", "L5", "location"),
    ("Datastreams", "D1", "phenomenonTime"), ("Datastreams", "D1", "observedArea"),
    ("Observations", "O2", "validTime"), ("Observations", "O1", "parameters"),
    ("FeaturesOfInterest", "F1", "feature"),
])
def test_select_one_property(dataset: Dataset, entity_set: str, label: str, prop: str) -> None:
    assert set(only(dataset, entity_set, label, **{"$select": prop})) == {prop}


NESTED = ("Datastreams($filter=startswith(name,'Lugano');$orderby=name desc;$top=1;$count=true;"
          "$select=name;$expand=Observations($top=2;$orderby=phenomenonTime;$count=true;$select=result))")


def _nested_thing(dataset: Dataset) -> dict[str, Any]:
    return only(dataset, "Things", "T1", **{"$expand": NESTED, "$select": "name"})


def test_expand_nested_options_per_level(dataset: Dataset) -> None:
    thing = _nested_thing(dataset)
    assert [d["name"] for d in thing["Datastreams"]] == ["Lugano state"]
    assert thing["Datastreams"][0]["Observations"] == [{"result": "charging"}, {"result": True}]


def test_expand_counts_per_parent(dataset: Dataset) -> None:
    thing = _nested_thing(dataset)
    assert thing["Datastreams@iot.count"] == 2
    assert thing["Datastreams"][0]["Observations@iot.count"] == 5


def test_expand_next_link_keeps_options(dataset: Dataset) -> None:
    link = _nested_thing(dataset)["Datastreams@iot.nextLink"]
    query = parse_qs(urlsplit(link).query)
    assert query["$filter"] == ["startswith(name,'Lugano')"] and query["$skip"] == ["1"]


def test_expand_next_link_per_parent(dataset: Dataset) -> None:
    client, ids = dataset
    body = fetch(client, "Things", **{"$orderby": "id", "$expand": NESTED})
    by_label = dict(zip(labels_of(ids, "Things", body["value"]), body["value"], strict=True))
    assert "Datastreams@iot.nextLink" in by_label["T1"]
    assert by_label["T2"]["Datastreams"] == [] and "Datastreams@iot.nextLink" not in by_label["T2"]
    assert "Observations@iot.nextLink" in by_label["T1"]["Datastreams"][0]


def _expanded(dataset: Dataset, entity_set: str, link: str, expand: str) -> dict[str, list[str]]:
    """label -> labels of the expanded `link` entities, for every entity of the set."""
    client, ids = dataset
    body = fetch(client, entity_set, **{"$orderby": "id", "$expand": expand})
    target = {"Locations": "Locations", "Datastreams": "Datastreams", "Observations": "Observations"}[link]
    return {label: labels_of(ids, target, item[link])
            for label, item in zip(labels_of(ids, entity_set, body["value"]), body["value"], strict=True)}


def test_expand_filter_and_orderby(dataset: Dataset) -> None:
    expanded = _expanded(dataset, "Things", "Locations",
                         f"Locations($filter=st_within(location, {BOX});$orderby=name;$select=id)")
    assert expanded == {"T1": ["L2", "L1"], "T2": [], "T3": [], "T4": ["L5"]}


def test_expand_top_per_parent(dataset: Dataset) -> None:
    expanded = _expanded(dataset, "Datastreams", "Observations",
                         "Observations($top=1;$orderby=result desc;$filter=result gt 0;$select=id)")
    assert expanded == {"D1": ["O2"], "D2": [], "D3": ["O10"], "D4": []}


def test_expand_skip_per_parent(dataset: Dataset) -> None:
    expanded = _expanded(dataset, "Things", "Datastreams", "Datastreams($skip=1;$orderby=name;$select=id)")
    assert expanded == {"T1": ["D2"], "T2": [], "T3": [], "T4": []}


def test_expand_path_with_select(dataset: Dataset) -> None:
    item = only(dataset, "Observations", "O10",
                **{"$select": "id", "$expand": "Datastream/Thing($select=name)"})
    assert item["Datastream"]["Thing"] == {"name": "Milano storage"}


GEO_REQUESTS = [  # the shapes of the ets-sta10 GeoTests requests, on the data set's coordinates
    ("Locations", "geo.distance(location, geography'POINT(8.54 47.5)') lt 0.2", {"L4"}),
    ("Observations", "geo.distance(FeatureOfInterest/feature, geography'POINT(9.19 45.5)') lt 0.1",
     {"O10", "O11"}),
    ("FeaturesOfInterest", "geo.intersects(feature, geography'LINESTRING(8.95 45.0, 8.95 47.0)')", {"F1"}),
    ("FeaturesOfInterest", "geo.length(feature) eq 0", {"F1", "F2"}),
    ("Observations", f"st_contains({BOX}, FeatureOfInterest/feature)", {f"O{n}" for n in range(1, 10)}),
    ("FeaturesOfInterest", f"st_disjoint({BOX}, feature)", {"F2"}),
    ("FeaturesOfInterest", "st_equals(feature, geography'POINT(9.19 45.46)')", {"F2"}),
    ("FeaturesOfInterest", f"st_relate({BOX}, feature, 'T********')", {"F1"}),
]


@pytest.mark.parametrize("entity_set, expression, expected", GEO_REQUESTS)
def test_ets_geo_requests(dataset: Dataset, entity_set: str, expression: str, expected: set[str]) -> None:
    assert set(filtered(dataset, entity_set, expression)) == expected


BAD = [
    ("Things", {"$filter": "name gt 5"}, "Cannot compare a string with a number"),
    ("Things", {"$filter": "nosuch eq 1"}, "Thing has no property 'nosuch'"),
    ("Things", {"$filter": "foo(name) eq 1"}, "Unknown function 'foo'"),
    ("Things", {"$filter": "length(name, 2) eq 1"}, "Function 'length' takes 1 arguments, got 2"),
    ("Things", {"$filter": "substring(name) eq 'x'"}, "Function 'substring' takes 2 to 3 arguments, got 1"),
    ("Things", {"$filter": "name eq"}, "Unexpected end of input at position 8 in $filter"),
    ("Things", {"$filter": "name eqq 'x'"}, "Unexpected 'eqq' at position 6 in $filter"),
    ("Things", {"$filter": "name"}, "$filter needs a boolean expression, got a string"),
    ("Things", {"$filter": "year(name) eq 2024"}, "Expected a date/time, got a string"),
    ("Things", {"$filter": "substring(name, 'a') eq 'x'"}, "Expected a number, got a string"),
    ("Things", {"$filter": "geo.distance(name, geography'POINT(1 2)') lt 1"},
     "Expected a geometry, got a string"),
    ("Things", {"$filter": "Locations/any(l: l/nosuch eq 1)"}, "Location has no property 'nosuch'"),
    ("Things", {"$orderby": "nosuch"}, "Thing has no property 'nosuch'"),
    ("Things", {"$select": "nosuch"}, "Thing has no property or link 'nosuch'"),
    ("Things", {"$expand": "Nope"}, "Thing has no navigation link 'Nope'"),
    ("Things", {"$expand": "Datastreams($filter=nosuch eq 1)"}, "Datastream has no property 'nosuch'"),
    ("Things", {"$top": "-1"}, "$top must be a non-negative integer"),
    ("Observations", {"$filter": "Datastream eq 1"}, "'Datastream' ends at an entity"),
    ("Observations", {"$filter": "result lt null"}, "null can only be compared with eq or ne"),
    ("Observations", {"$filter": "phenomenonTime gt 'abc'"}, "Cannot compare"),
    ("Datastreams", {"$filter": "Locations/any(l: l/name eq 'x')"}, "'Locations' is not a navigation link"),
    ("Datastreams", {"$filter": "Thing/any()"}, "'Thing' is a single entity"),
    ("Locations", {"$filter": "name/x eq 1"}, "'name' has no members"),
    ("Things", {"$filter": "@iot.selfLink eq 'x'"}, "Thing has no property '@iot.selfLink'"),
    ("Things", {"$filter": "'x' in name"}, "'in' needs a list in parentheses or a JSON array member"),
    ("Observations", {"$filter": "during(phenomenonTime, now())"}, "during() needs an interval"),
    ("Things", {"$filter": "mindatetime(name) lt now()"}, "Function 'mindatetime' takes 0 arguments, got 1"),
    ("Things", {"$filter": "properties/a eq 2024-01-02T00:00:00Z/2024-01-01T00:00:00Z"}, "Invalid interval"),
]


@pytest.mark.parametrize("entity_set, params, expected", BAD)
def test_bad_query_is_400_naming_the_problem(dataset: Dataset, entity_set: str, params: dict[str, str],
                                             expected: str) -> None:
    assert expected in error_message(dataset[0], entity_set, **params)
