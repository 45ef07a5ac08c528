"""Conformance class Filtering, JSON members: every $filter of the JsonPropertiesTests of
FROST-Server.Tests (and the ets-sta10 fork) on their data set (tests/conformance/json_world.py),
with array indices (`properties/objArray[0]/string`, `intIntArray[1][0]`), `in` over a JSON array,
JSON members compared with each other, and the same paths in $orderby and $select."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from sta_server.settings import Settings
from tests.conformance.json_world import json_world
from tests.sql.filter_checks import fetch

World = tuple[FlaskClient, dict[str, list[int]]]
EVEN, ODD = set(range(0, 13, 2)), set(range(1, 12, 2))


@pytest.fixture(scope="module")
def world(settings: Settings, engine: Engine) -> Iterator[World]:
    yield from json_world(settings, engine)


def matching(world: World, entity_set: str, expression: str) -> set[int]:
    """Indexes (in the suite's lists) of the entities that match."""
    client, ids = world
    body = fetch(client, entity_set, **{"$filter": expression, "$top": "100"})
    return {ids[entity_set].index(item["@iot.id"]) for item in body["value"]}


FILTERS = [
    # test03StringFilter
    ("Things", "properties/string eq 'cdefghijkl'", {2}),
    ("Observations", "parameters/string eq 'cdefghijkl'", {2}),
    ("Things", "substringof('cdefgh', properties/string)", {0, 1, 2}),
    ("Observations", "substringof('cdefgh', parameters/string)", {0, 1, 2}),
    ("Things", "properties/objArray[0]/string eq 'jklmnopqrs'", {1}),
    ("Observations", "parameters/objArray[0]/string eq 'jklmnopqrs'", {9}),
    ("Observations", "parameters/int eq '5'", {5, 15}),
    # test04NumberFilter
    ("Things", "properties/int eq 10", {2}),
    ("Observations", "parameters/int eq 2", {2}),
    ("Things", "properties/int gt 9", {2, 3}),
    ("Observations", "parameters/int gt 8", {9, 10, 11, 12}),
    ("Things", "properties/int lt 9", {0}),
    ("Observations", "parameters/int lt 8", set(range(8))),
    ("Things", "properties/intArray[1] gt 10", {2, 3}),
    ("Observations", "parameters/intArray[1] gt 9", {9, 10, 11, 12}),
    ("Things", "properties/intArray[1] lt 10", {0}),
    ("Observations", "parameters/intArray[1] lt 9", set(range(8))),
    ("Things", "properties/intIntArray[1][0] gt 10", {2, 3}),
    ("Observations", "parameters/intIntArray[1][0] gt 9", {9, 10, 11, 12}),
    ("Things", "properties/objArray[1]/intArray[0] gt 10", {2, 3}),
    ("Observations", "parameters/objArray[1]/intArray[0] gt 9", {9, 10, 11, 12}),
    # test05BooleanFilter
    ("Things", "properties/boolean eq false", {1, 3}),
    ("Observations", "parameters/boolean eq false", ODD),
    ("Things", "properties/boolean", {0, 2}),
    ("Observations", "parameters/boolean", EVEN),
    ("Things", "not properties/boolean", {1, 3}),
    ("Observations", "not parameters/boolean", ODD),
    ("Things", "properties/objArray[1]/boolean", {1, 3}),
    ("Observations", "parameters/objArray[1]/boolean", ODD),
    # test06UnitOfMeasurementFilter
    ("Datastreams", "unitOfMeasurement/symbol eq '°C'", {0}),
    ("Datastreams", "unitOfMeasurement/symbol eq '°F'", {1}),
    ("Datastreams", "unitOfMeasurement/name eq 'degree celcius'", {0}),
    ("Datastreams", "unitOfMeasurement/name eq 'degree Fahrenheit'", {1}),
    ("Datastreams", "unitOfMeasurement/definition eq 'Cel'", {0}),
    ("Datastreams", "unitOfMeasurement/definition eq '[degF]'", {1}),
    # test07PropertyCompare: JSON against JSON, as numbers when both are, else as text
    ("Observations", "parameters/int eq Datastream/Thing/properties/int", {8}),
    ("Observations", "parameters/string eq Datastream/Thing/properties/string", {0}),
    ("Observations", "parameters/boolean eq Datastream/Thing/properties/boolean", EVEN | {15}),
    # test08InNumberFilter
    ("Things", "properties/int in (8,9)", {0, 1}),
    ("Things", "9 in properties/intArray", {0, 1}),
    ("Things", "'s10' in properties/strArray", {0, 1, 2}),
    # test20ResultQualityFilter
    ("Observations", "resultQuality/DQ_Status/code eq 2", EVEN),
    ("Observations", "resultQuality[0]/DQ_Result/code eq 2", ODD),
    # the same paths written with '/' instead of brackets
    ("Things", "properties/intIntArray/1/0 gt 10", {2, 3}),
    ("Observations", "resultQuality/0/DQ_Result/code eq 2", ODD),
    # an index into an object, or past the end, leads nowhere
    ("Things", "properties/objArray[5]/int eq null and properties/string[0] eq null", {0, 1, 2, 3}),
]


@pytest.mark.parametrize("entity_set, expression, expected", FILTERS)
def test_json_member_filter(world: World, entity_set: str, expression: str, expected: set[int]) -> None:
    assert matching(world, entity_set, expression) == expected


def _ordered(world: World, entity_set: str, orderby: str) -> list[int]:
    client, ids = world
    body = fetch(client, entity_set, **{"$orderby": orderby, "$top": "100"})
    return [ids[entity_set].index(item["@iot.id"]) for item in body["value"]]


def test_orderby_array_element(world: World) -> None:
    assert _ordered(world, "Things", "properties/intArray[1] desc") == [3, 2, 1, 0]
    assert _ordered(world, "Things", "properties/objArray[0]/boolean,properties/int desc") == [3, 1, 2, 0]


def _selected(world: World, entity_set: str, index: int, select: str) -> Any:
    client, ids = world
    body = fetch(client, f"{entity_set}({ids[entity_set][index]})", **{"$select": select})
    return body


def test_select_array_element_keeps_it_under_its_index(world: World) -> None:
    # as FROST-Server writes it: an index becomes a key of the object that holds the selection
    assert _selected(world, "Things", 1, "properties/objArray[0]/string,properties/intArray[4]") == {
        "properties": {"objArray": {"0": {"string": "jklmnopqrs"}}, "intArray": {"4": 13}}}
    assert _selected(world, "Observations", 1, "resultQuality[1]/DQ_Result/code") == {
        "resultQuality": {"1": {"DQ_Result": {"code": 1}}}}


def test_select_unit_of_measurement_member(world: World) -> None:
    # test21SelectUnit
    assert _selected(world, "Datastreams", 0, "unitOfMeasurement/symbol") == {"unitOfMeasurement": {"symbol": "°C"}}
