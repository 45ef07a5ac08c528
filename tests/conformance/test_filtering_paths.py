"""Conformance class Filtering: the FilterTests of FROST-Server.Tests (paths across links, any(),
substring, null comparisons, resultQuality scalars) on their data set (tests/conformance/filter_world.py)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from sta_server.settings import Settings
from tests.conformance.filter_world import Ids, build_filter_world, world_client
from tests.sql.filter_checks import fetch

World = tuple[FlaskClient, Ids]


@pytest.fixture(scope="module")
def world(settings: Settings, engine: Engine) -> Iterator[World]:
    yield from world_client(settings, engine, build_filter_world)


def matching(world: World, entity_set: str, expression: str) -> set[int]:
    client, ids = world
    body = fetch(client, entity_set, **{"$filter": expression, "$top": "100"})
    return {ids[entity_set].index(item["@iot.id"]) for item in body["value"]}


ANY_OP = "Datastreams/any(d:d/ObservedProperty/name eq 'ObservedProperty {}')"
FILTERS = [
    # testIndirectFilter
    ("Things", "Locations/name eq 'Location 2'", {1}),
    ("Things", "startswith(HistoricalLocations/Locations/name, 'Location 1')", {0}),
    ("Things", "HistoricalLocations/Locations/properties/field eq properties/field", {1, 2}),
    # testDeepIndirection
    ("ObservedProperties", "Datastreams/Thing/Datastreams/ObservedProperty/name eq 'ObservedProperty 0'",
     {0, 1, 2, 3}),
    ("ObservedProperties", "Datastreams/Thing/Datastreams/ObservedProperty/name eq 'ObservedProperty 3'",
     {0, 1, 3}),
    # testSubString
    ("Things", "substring(properties/string, 1) eq 'wo'", {2}),
    ("Things", "substring(properties/string, 1, 1) eq 'w'", {2}),
    ("Things", "substring(name, 4) eq 'g 4'", {3}),
    ("Things", "substring(name, 4, 3) eq 'g 4'", {3}),
    # testEqualsNull, testNotEqualsNull: across a to-many link, `eq null` also matches no link at all
    ("Things", "properties/field eq null", {0, 3}),
    ("Things", "Datastreams/id eq null", {3}),
    ("Things", "properties/field ne null", {1, 2}),
    ("Things", "Datastreams/id ne null", {0, 1, 2}),
    # testStringResultQualityValue, testNumericResultQualityValue
    ("Observations", "resultQuality eq 'number-1'", {1}),
    ("Observations", "resultQuality eq 2", {2}),
    # testAnyFilter
    ("Things", "Locations/any(l:l/name eq 'Location 2')", {1}),
    ("Things", "HistoricalLocations/any(hl : hl/Locations/any(l : startswith(l/name, 'Location 1')))", {0}),
    ("Things", "HistoricalLocations/any(hl : hl/Locations/any(l : l/properties/field eq properties/field))",
     {1, 2}),
    ("Things", f"{ANY_OP.format(0)} and {ANY_OP.format(1)}", {0, 1}),
    ("Things", f"{ANY_OP.format(3)} and {ANY_OP.format(1)}", {1}),
    ("Things", "Datastreams/any(d:d/ObservedProperty/name eq 'ObservedProperty 0' and d/Sensor/name eq 'Sensor 1')",
     {2}),
]


@pytest.mark.parametrize("entity_set, expression, expected", FILTERS)
def test_filter_tests_request(world: World, entity_set: str, expression: str, expected: set[int]) -> None:
    assert matching(world, entity_set, expression) == expected
