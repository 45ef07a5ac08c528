"""Conformance class Filtering, geospatial functions: every request of the GeoTests of
FROST-Server.Tests on their data set (tests/conformance/geo_world.py), on Locations,
FeaturesOfInterest, Observations (through their FeatureOfInterest) and Datastreams (observedArea).
Functions are planar in degrees, as FROST-Server's."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from sta_server.settings import Settings
from tests.conformance.filter_world import Ids, world_client
from tests.conformance.geo_world import build_geo_world
from tests.sql.filter_checks import fetch

World = tuple[FlaskClient, Ids]
BOX = "geography'POLYGON((7.5 51.5, 7.5 53.5, 8.5 53.5, 8.5 51.5, 7.5 51.5))'"
LINE = "geography'LINESTRING(7.5 51, 7.5 54)'"
ALL = set(range(8))


@pytest.fixture(scope="module")
def world(settings: Settings, engine: Engine) -> Iterator[World]:
    yield from world_client(settings, engine, build_geo_world)


def _both(template: str, expected: set[int]) -> list[tuple[str, str, set[int]]]:
    """The request on Locations (`location`) and on FeaturesOfInterest (`feature`)."""
    return [("Locations", template.format(g="location"), expected),
            ("FeaturesOfInterest", template.format(g="feature"), expected)]


REQUESTS = [
    # testGeoDistance
    ("Locations", "geo.distance(location, geography'POINT(8 54.1)') lt 1", {3}),
    ("Locations", "geo.distance(location, geography'POINT(8 54.1)') gt 1", ALL - {3}),
    ("Observations", "geo.distance(FeatureOfInterest/feature, geography'POINT(8 54.1)') lt 1", {3}),
    ("Observations", "geo.distance(FeatureOfInterest/feature, geography'POINT(8 54.1)') gt 1", {0, 1, 2}),
    # testGeoIntersects
    *_both(f"geo.intersects({{g}}, {LINE})", {4, 7}),
    ("Datastreams", f"geo.intersects(observedArea, {BOX})", {0, 1}),
    # testGeoLength
    *_both("geo.length({g}) gt 1", {6, 7}),
    *_both("geo.length({g}) ge 1", {5, 6, 7}),
    *_both("geo.length({g}) eq 1", {5}),
    *_both("geo.length({g}) ne 1", ALL - {5}),
    *_both("geo.length({g}) le 4", ALL),
    *_both("geo.length({g}) lt 4", ALL - {7}),
    # testStContains
    ("Locations", f"st_contains({BOX}, location)", {1, 2}),
    ("Observations", f"st_contains({BOX}, FeatureOfInterest/feature)", {1, 2}),
    ("Datastreams", f"st_contains({BOX}, observedArea)", {1}),
    # testStCrosses, testStDisjoint, testStEquals, testStIntersects, testStOverlaps, testStRelate
    *_both("st_crosses(geography'LINESTRING(7.5 51.5, 7.5 53.5)', {g})", {4, 7}),
    *_both(f"st_disjoint({BOX}, {{g}})", {0, 3, 5, 6}),
    *_both("st_equals({g}, geography'POINT(8 53)')", {2}),
    *_both(f"st_intersects({{g}}, {LINE})", {4, 7}),
    ("Datastreams", f"st_intersects(observedArea, {BOX})", {0, 1}),
    *_both(f"st_overlaps({BOX}, {{g}})", {4}),
    *_both(f"st_relate({BOX}, {{g}}, 'T********')", {1, 2, 4, 7}),
    # testStTouches, testStWithin
    *_both("st_touches(geography'POLYGON((8 53, 7.5 54.5, 8.5 54.5, 8 53))', {g})", {2, 4}),
    *_both("st_within(geography'POINT(7.5 52.75)', {g})", {4}),
]


@pytest.mark.parametrize("entity_set, expression, expected", REQUESTS)
def test_geo_request(world: World, entity_set: str, expression: str, expected: set[int]) -> None:
    client, ids = world
    body = fetch(client, entity_set, **{"$filter": expression, "$top": "100"})
    assert {ids[entity_set].index(item["@iot.id"]) for item in body["value"]} == expected
