"""The $filter function table of sql/functions.py on PostGIS: date/time, math, geospatial (planar,
in degrees) and the temporal relations (data: filter_data.py)."""
from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.sql.filter_checks import filtered

Dataset = tuple[FlaskClient, dict[str, int]]
ALL_OBS = {f"O{n}" for n in range(1, 12)}
BOX = "geography'POLYGON((8.8 45.8, 9.2 45.8, 9.2 46.3, 8.8 46.3, 8.8 45.8))'"
LON_9 = "geography'LINESTRING(9.0 45.0, 9.0 47.0)'"

DATE_TIME = [
    ("year(resultTime) eq 2024", {"O1", "O4"}),
    ("month(resultTime) eq 6", {"O4"}),
    ("day(resultTime) eq 1", {"O1"}),
    ("hour(resultTime) eq 10", {"O1"}),
    ("minute(resultTime) eq 30", {"O4"}),
    ("second(resultTime) eq 5", {"O1"}),
    ("second(phenomenonTime) eq 15 and year(phenomenonTime) eq 2024", {"O4"}),
    ("fractionalseconds(phenomenonTime) eq 0.25", {"O4"}),
    ("date(resultTime) eq 2024-06-15", {"O4"}),
    ("date(phenomenonTime) eq date(resultTime)", {"O1", "O4"}),
    ("time(resultTime) eq 10:00:05", {"O1"}),
    ("time(phenomenonTime) lt 10:30:00 and year(phenomenonTime) eq 2024", {"O1", "O4", "O5", "O9", "O10"}),
    ("totaloffsetminutes(resultTime) eq 0", {"O1", "O4"}),
    ("now() gt resultTime", {"O1", "O4"}),
    ("resultTime lt now()", {"O1", "O4"}),
    ("resultTime gt mindatetime() and resultTime lt maxdatetime()", {"O1", "O4"}),
    ("year(mindatetime()) eq 1 and year(maxdatetime()) eq 9999 and month(resultTime) eq 6", {"O4"}),
    ("hour(phenomenonTime) eq 10 and day(phenomenonTime) eq 1 and year(phenomenonTime) eq 2024",
     {"O1", "O5", "O10"}),
    ("year(phenomenonTime) eq 2024 and month(phenomenonTime) eq 1 and day(phenomenonTime) eq 2", {"O9"}),
]

MATH = [
    ("round(result) eq 21", {"O2"}),
    ("round(result) eq -3", {"O3"}),
    ("floor(result) eq 20", {"O2"}),
    ("ceiling(result) eq 21", {"O2"}),
    ("floor(result) eq result and result gt 5", {"O1", "O10", "O11"}),
]


@pytest.mark.parametrize("expression, expected", DATE_TIME + MATH)
def test_observation_function(dataset: Dataset, expression: str, expected: set[str]) -> None:
    assert set(filtered(dataset, "Observations", expression)) == expected


THING_MATH = [
    ("floor(properties/nominal) eq 3", {"T1"}),
    ("ceiling(properties/nominal) eq 8", {"T2"}),
    ("round(properties/nominal) eq 4", {"T1"}),
    ("round(properties/nominal) eq 7", {"T2"}),
    ("round(properties/capacity_kwh div 3) eq 3", {"T1"}),
]


@pytest.mark.parametrize("expression, expected", THING_MATH)
def test_math_on_json_numbers(dataset: Dataset, expression: str, expected: set[str]) -> None:
    assert set(filtered(dataset, "Things", expression)) == expected


GEO = [
    (f"geo.intersects(location, {LON_9})", {"L5", "L6"}),
    ("geo.length(location) eq 1", {"L6"}),
    ("geo.length(location) gt 1", {"L7"}),
    ("geo.length(location) ge 1", {"L6", "L7"}),
    ("geo.length(location) lt 1", {"L1", "L2", "L3", "L4", "L5"}),
    ("geo.length(location) ne 1", {"L1", "L2", "L3", "L4", "L5", "L7"}),
    ("geo.distance(location, geography'POINT(8.95 46.0)') lt 0.01", {"L1", "L5", "L6"}),
    ("geo.distance(location, geography'POINT(8.54 47.5)') lt 0.2", {"L4"}),
    ("geo.distance(location, geometry'POINT(8.54 47.5)') gt 0.2", {"L1", "L2", "L3", "L5", "L6", "L7"}),
    ("st_equals(location, geography'POINT(9.19 45.46)')", {"L3"}),
    ("location eq geography'POINT(9.19 45.46)'", {"L3"}),
    (f"st_disjoint(location, {BOX})", {"L3", "L4", "L7"}),
    ("st_touches(geography'POINT(9.2 46.0)', location)", {"L5"}),
    ("st_touches(geography'POINT(8.5 46.0)', location)", {"L6"}),
    ("st_within(geography'POINT(9.0 46.1)', location)", {"L5"}),
    (f"st_within(location, {BOX})", {"L1", "L2", "L5"}),
    (f"st_contains({BOX}, location)", {"L1", "L2", "L5"}),
    ("st_overlaps(geography'POLYGON((9.0 46.0, 9.5 46.0, 9.5 46.5, 9.0 46.5, 9.0 46.0))', location)",
     {"L5"}),
    (f"st_crosses({LON_9}, location)", {"L5", "L6"}),
    (f"st_intersects(location, {LON_9})", {"L5", "L6"}),
    (f"st_relate(location, {BOX}, 'T********')", {"L1", "L2", "L5", "L6"}),
    (f"not st_intersects(location, {BOX})", {"L3", "L4", "L7"}),
]


@pytest.mark.parametrize("expression, expected", GEO)
def test_geospatial_function(dataset: Dataset, expression: str, expected: set[str]) -> None:
    assert set(filtered(dataset, "Locations", expression)) == expected


GEO_PATHS = [
    ("Things", f"st_within(Locations/location, {BOX})", {"T1", "T4"}),
    ("Things", f"Locations/any(l: st_within(l/location, {BOX}))", {"T1", "T4"}),
    ("Things", f"Locations/all(l: st_within(l/location, {BOX}))", {"T1", "T4"}),
    ("Observations", "st_equals(FeatureOfInterest/feature, geography'POINT(9.19 45.46)')", {"O10", "O11"}),
    ("Observations", "geo.distance(FeatureOfInterest/feature, geography'POINT(9.19 45.46)') gt 0.5",
     ALL_OBS - {"O10", "O11"}),
    ("FeaturesOfInterest", f"st_within(feature, {BOX})", {"F1"}),
]


@pytest.mark.parametrize("entity_set, expression, expected", GEO_PATHS)
def test_geospatial_across_links(dataset: Dataset, entity_set: str, expression: str,
                                 expected: set[str]) -> None:
    assert set(filtered(dataset, entity_set, expression)) == expected


TEMPORAL = [
    ("before(phenomenonTime, 2024-01-01T11:00:00Z)", {"O1", "O5", "O10"}),
    ("after(phenomenonTime, 2024-01-01T12:00:00Z)", {"O4", "O7", "O8", "O9", "O11"}),
    ("meets(phenomenonTime, 2024-01-01T12:00:00Z)", {"O2", "O3"}),
    ("meets(2024-01-01T10:15:00Z, phenomenonTime)", {"O10"}),
    ("during(phenomenonTime, validTime)", {"O2"}),
    ("during(2024-01-01T11:30:00Z, phenomenonTime)", {"O2"}),  # nothing lies in an instant
    ("during(phenomenonTime, 2024-01-01T11:00:00Z/2024-01-01T12:00:00Z)", {"O2", "O6"}),
    ("overlaps(phenomenonTime, validTime)", {"O2"}),
    ("starts(phenomenonTime, validTime)", {"O2"}),
    ("starts(phenomenonTime, 2024-01-01T10:00:00Z)", {"O1", "O5", "O10"}),
    ("finishes(phenomenonTime, 2024-01-01T12:00:00Z)", {"O2", "O3"}),
    ("finishes(phenomenonTime, validTime)", set()),
]


@pytest.mark.parametrize("expression, expected", TEMPORAL)
def test_temporal_function(dataset: Dataset, expression: str, expected: set[str]) -> None:
    assert set(filtered(dataset, "Observations", expression)) == expected
