"""Conformance class Filtering, the generic checks of Capability3Tests (ets-sta10, FROST-Server.Tests)
on their data set (tests/conformance/capability3_world.py): `$filter=<property> <op> <sample>` for
every sortable property with a sample value, on collections and on related collections, answers only
entities that satisfy it; `$orderby` on every sortable property, alone and cumulated, asc and desc,
answers them in order; query options apply in order; operator precedence."""
from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from sta_server.settings import Settings
from tests.conformance.capability3_world import MEASUREMENT, QUANTITY, build_capability3_world
from tests.conformance.filter_world import Ids, world_client
from tests.sql.filter_checks import fetch

World = tuple[FlaskClient, Ids]


@pytest.fixture(scope="module")
def world(settings: Settings, engine: Engine) -> Iterator[World]:
    yield from world_client(settings, engine, build_capability3_world)


def test_query_options_apply_in_order(world: World) -> None:
    """checkQueriesPriorityOrdering: $filter, then $count, $orderby, $skip, $top; `result gt '3'`
    compares the results as text, so 4..9 match and 10..12 do not."""
    body = fetch(world[0], "Observations", **{"$count": "true", "$top": "1", "$skip": "2",
                                              "$orderby": "phenomenonTime asc", "$filter": "result gt '3'"})
    assert (body["@iot.count"], [o["result"] for o in body["value"]]) == (6, [6])


def test_results_compare_with_a_string_as_text(world: World) -> None:
    body = fetch(world[0], "Observations", **{"$filter": "result lt '2'", "$orderby": "result"})
    assert [o["result"] for o in body["value"]] == [1, 10, 11, 12]


@pytest.mark.parametrize("expression, expected", [
    # checkAndOrPrecendece
    ("result eq 2 and result eq 1 or result eq 1", [1]),
    ("(result eq 2 and result eq 1) or result eq 1", [1]),
    ("result eq 2 and (result eq 1 or result eq 1)", []),
    ("not result lt 1 and not result gt 1", [1]),
    # checkArithmeticPrecendece
    ("1 add result mul 2 sub -1 eq 4", [1]),
    ("6 div 2 sub result eq 2", [1]),
    ("1 add 2.0 mod (result add 1) eq 1", [1]),
    ("14 div (result add 1) mod 3 mul 3 eq 3", [1]),
])
def test_operator_precedence(world: World, expression: str, expected: list[int]) -> None:
    body = fetch(world[0], "Observations", **{"$filter": expression})
    assert [o["result"] for o in body["value"]] == expected


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


# EntityPropertiesSampleValue: (property, literal as sent, value to compare with)
GENERATED = "Generated using location details: location 1"
SAMPLES: dict[str, list[tuple[str, str, Any]]] = {
    "Things": [("name", "'thing 1'", "thing 1"), ("description", "'thing 1'", "thing 1")],
    "Locations": [("name", "'location 2'", "location 2"), ("description", "'location 2'", "location 2"),
                  ("encodingType", "'application/vnd.geo+json'", "application/vnd.geo+json")],
    "HistoricalLocations": [("time", "2015-10-14T21:30:00.104Z", _time("2015-10-14T21:30:00.104+00:00"))],
    "Datastreams": [("name", "'datastream 1'", "datastream 1"), ("description", "'datastream 1'", "datastream 1"),
                    ("observationType", f"'{MEASUREMENT}'", MEASUREMENT)],
    "Sensors": [("name", "'sensor 1'", "sensor 1"), ("description", "'sensor 1'", "sensor 1"),
                ("encodingType", "'application/pdf'", "application/pdf"),
                ("metadata", "'Light flux sensor'", "Light flux sensor")],
    "ObservedProperties": [("name", "'Luminous Flux'", "Luminous Flux"),
                           ("definition", f"'{QUANTITY}LuminousFlux'", f"{QUANTITY}LuminousFlux"),
                           ("description", "'observedProperty 1'", "observedProperty 1")],
    "Observations": [("phenomenonTime", "2015-03-02T00:00Z", _time("2015-03-02T00:00:00+00:00")),
                     ("result", "2", 2), ("resultTime", "2015-03-02T00:00Z", _time("2015-03-02T00:00:00+00:00")),
                     ("result", "'2'", "2")],  # the original ets-sta10 sample: results compare as text
    "FeaturesOfInterest": [("name", f"'{GENERATED}'", GENERATED), ("description", f"'{GENERATED}'", GENERATED),
                           ("encodingType", "'application/vnd.geo+json'", "application/vnd.geo+json")],
}
# the related collections of the first entity of a set that the suite filters too
RELATED = {"Things": ["Locations", "HistoricalLocations", "Datastreams"],
           "Locations": ["Things", "HistoricalLocations"], "HistoricalLocations": ["Locations"],
           "Datastreams": ["Observations"], "Sensors": ["Datastreams"], "ObservedProperties": ["Datastreams"],
           "FeaturesOfInterest": ["Observations"]}
OPS: dict[str, Callable[[Any, Any], bool]] = {
    "lt": operator.lt, "le": operator.le, "eq": operator.eq, "ge": operator.ge, "gt": operator.gt, "ne": operator.ne}


def _filter_cases() -> Iterator[tuple[str, str, str, Any, str]]:
    for entity_set, samples in SAMPLES.items():
        paths = [entity_set] + [f"{parent}({{first}})/{entity_set}" for parent, links in RELATED.items()
                                if entity_set in links]
        for path in paths:
            for prop, text, value in samples:
                for op in OPS:
                    yield path, prop, text, value, op


def _first(client: FlaskClient, path: str) -> str:
    parent = path.split("(", 1)[0]
    return str(fetch(client, parent, **{"$orderby": "id", "$top": "1"})["value"][0]["@iot.id"])


@pytest.mark.parametrize("path, prop, text, value, op", list(_filter_cases()))
def test_filter_on_every_sortable_property(world: World, path: str, prop: str, text: str, value: Any,
                                           op: str) -> None:
    client = world[0]
    if "{first}" in path:
        path = path.format(first=_first(client, path))
    body = fetch(client, path, **{"$filter": f"{prop} {op} {text}"})
    for entity in body["value"]:
        found = entity[prop]
        assert found is not None, f"{path}: {prop} {op} {text} answered an entity without {prop}"
        if isinstance(value, datetime):
            found = _time(found.replace("Z", "+00:00"))
        elif isinstance(value, str):
            found = str(found)
        assert OPS[op](found, value), f"{path}: {prop} {op} {text} answered {prop} = {found!r}"


SORTABLE = {
    "Things": ["name", "description"], "Locations": ["name", "description", "encodingType"],
    "HistoricalLocations": ["time"], "Sensors": ["name", "description", "encodingType", "metadata"],
    "ObservedProperties": ["name", "definition", "description"],
    "Datastreams": ["name", "description", "observationType", "phenomenonTime", "resultTime"],
    "Observations": ["phenomenonTime", "result", "resultTime", "resultQuality", "validTime", "parameters"],
    "FeaturesOfInterest": ["name", "description", "encodingType"],
}


def _sort_value(prop: str, value: Any) -> Any:
    """What Capability3Tests compares: times (and intervals) as instants, else the JSON value."""
    if value is None or not prop.lower().endswith("time"):
        return value
    start, _, end = str(value).partition("/")
    return _time(start.replace("Z", "+00:00")), _time((end or start).replace("Z", "+00:00"))


def _in_order(entities: list[dict[str, Any]], keys: list[tuple[str, bool]]) -> bool:
    """Each entity sorts after the one before by the first key where they differ (nulls: equal)."""
    for before, after in zip(entities, entities[1:], strict=False):
        for prop, descending in keys:
            a, b = _sort_value(prop, before.get(prop)), _sort_value(prop, after.get(prop))
            if a is None or b is None or a == b:
                continue
            if (a > b) != descending:
                return False
            break
    return True


def _orderby_cases() -> Iterator[tuple[str, str, list[tuple[str, bool]], str]]:
    """(path, entity set, keys, $orderby) on each collection and (checkOrderbyForEntityTypeRelations)
    on the related collections of the first entity of each set."""
    paths = [(entity_set, entity_set) for entity_set in SORTABLE]
    paths += [(f"{parent}({{first}})/{link}", link) for parent, links in RELATED.items() for link in links]
    for path, entity_set in paths:
        props = SORTABLE[entity_set]
        for n, prop in enumerate(props):
            for suffix, descending in (("", False), (" asc", False), (" desc", True)):
                yield path, entity_set, [(prop, descending)], prop + suffix
                cumulated = props[: n + 1]
                yield path, entity_set, [(p, descending) for p in cumulated], ",".join(p + suffix for p in cumulated)


@pytest.mark.parametrize("path, entity_set, keys, orderby", list(_orderby_cases()))
def test_orderby_every_sortable_property(world: World, path: str, entity_set: str, keys: list[tuple[str, bool]],
                                         orderby: str) -> None:
    client = world[0]
    if "{first}" in path:
        path = path.format(first=_first(client, path))
    body = fetch(client, path, **{"$orderby": orderby})
    assert body["value"] and _in_order(body["value"], keys), [
        [entity.get(prop) for prop, _ in keys] for entity in body["value"]]


# EntityType (FROST-Server.Tests util/model): properties (optional ones marked "?") and links
PROPERTIES = {
    "Things": ["name", "description", "properties?"], "Locations": ["name", "description", "encodingType", "location"],
    "HistoricalLocations": ["time"], "Sensors": ["name", "description", "encodingType", "metadata"],
    "ObservedProperties": ["name", "definition", "description"],
    "Observations": ["phenomenonTime", "result", "resultTime", "resultQuality?", "validTime?", "parameters?"],
    "Datastreams": ["name", "description", "unitOfMeasurement", "observationType", "observedArea?", "phenomenonTime?",
                    "resultTime?"],
    "FeaturesOfInterest": ["name", "description", "encodingType", "feature"],
}
LINKS = {
    "Things": ["Datastreams", "HistoricalLocations", "Locations"], "Locations": ["HistoricalLocations", "Things"],
    "HistoricalLocations": ["Thing", "Locations"], "Sensors": ["Datastreams"], "ObservedProperties": ["Datastreams"],
    "Observations": ["Datastream", "FeatureOfInterest"], "FeaturesOfInterest": ["Observations"],
    "Datastreams": ["Thing", "Sensor", "ObservedProperty", "Observations"],
}
TARGET = {"Thing": "Things", "Datastream": "Datastreams", "Sensor": "Sensors", "ObservedProperty": "ObservedProperties",
          "FeatureOfInterest": "FeaturesOfInterest"}


def _select_cases() -> Iterator[tuple[str, str, list[str]]]:
    """(path, entity set, $select): each property and each link alone, then the properties cumulated;
    on the collection and (checkSelectForEntityTypeRelations) below the first entity of each set."""
    for parent, links in LINKS.items():
        for path, entity_set in [(parent, parent)] + [(f"{parent}({{first}})/{link}", TARGET.get(link, link))
                                                      for link in links]:
            names = [name.rstrip("?") for name in PROPERTIES[entity_set]]
            for n, name in enumerate(names):
                yield path, entity_set, [name]
                yield path, entity_set, names[: n + 1]
            if path == parent:
                yield from ((path, entity_set, [link]) for link in LINKS[entity_set])


@pytest.mark.parametrize("path, entity_set, select", list(_select_cases()))
def test_select_writes_exactly_what_was_selected(world: World, path: str, entity_set: str, select: list[str]) -> None:
    client = world[0]
    if "{first}" in path:
        path = path.format(first=_first(client, path))
    body = fetch(client, path, **{"$select": ",".join(select)})
    entities = body.get("value", [body])
    required = {n for n in select if f"{n}?" not in PROPERTIES[entity_set]} - set(LINKS[entity_set])
    wanted = {f"{n}@iot.navigationLink" if n in LINKS[entity_set] else n for n in select}
    for entity in entities:
        assert required <= set(entity) <= wanted, (path, select, sorted(entity))
