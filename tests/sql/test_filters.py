"""$filter compiled by sql/filters.py and run on PostGIS: comparisons, logic, arithmetic, strings,
paths across links, JSON members, results, intervals, `in` and lambdas (data: filter_data.py)."""
from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.sql.filter_checks import filtered

Dataset = tuple[FlaskClient, dict[str, int]]
ALL_OBS = {f"O{n}" for n in range(1, 12)}

COMPARISONS = [
    ("name eq 'Lugano storage'", {"T1"}),
    ("name ne 'Lugano storage'", {"T2", "T3", "T4"}),
    ("description lt 'C'", {"T1", "T2"}),
    ("description le 'Battery in Milano'", {"T1", "T2"}),
    ("description gt 'Smart meter'", {"T4"}),
    ("description ge 'Smart meter'", {"T3", "T4"}),
    ("id eq {T2}", {"T2"}),
    ("@iot.id ge {T3}", {"T3", "T4"}),
    ("id in ({T1}, {T3})", {"T1", "T3"}),
    ("name in ('Zurich meter', 'nothing')", {"T3"}),
    ("properties/radialId in ('R2')", {"T2"}),
    ("name eq 'O''Neil'", set()),
]

LOGIC = [
    ("properties/radialId eq 'R1' and properties/capacity_kwh gt 6", {"T1"}),
    ("name eq 'Zurich meter' or properties/radialId eq 'R2'", {"T2", "T3"}),
    ("not (properties/radialId eq 'R1')", {"T2"}),
    ("not properties/radialId eq 'R1'", {"T2"}),
    ("not name eq 'Lugano storage'", {"T2", "T3", "T4"}),
    ("name eq 'Zurich meter' or name eq 'Milano storage' and properties/radialId eq 'R1'", {"T3"}),
    ("(name eq 'Zurich meter' or name eq 'Milano storage') and properties/radialId eq 'R2'", {"T2"}),
    ("not startswith(name, 'Lu')", {"T2", "T3", "T4"}),
    ("properties/active", {"T1", "T3"}),
    ("not properties/active", {"T2"}),
    ("properties/active eq true and not (id eq {T1})", {"T3"}),
    ("true", {"T1", "T2", "T3", "T4"}),
    ("false or name eq 'Zurich meter'", {"T3"}),
]

ARITHMETIC = [
    ("properties/capacity_kwh add 5 eq 15", {"T1"}),
    ("properties/capacity_kwh mul 2 sub 5 eq 15", {"T1"}),
    ("properties/capacity_kwh sub 5 mul 2 eq 0", {"T1"}),
    ("(properties/capacity_kwh sub 5) mul 2 eq 10", {"T1"}),
    ("properties/capacity_kwh div 4 eq 2.5", {"T1"}),
    ("properties/capacity_kwh mod 3 eq 2", {"T2", "T3"}),
    ("properties/nominal mul 4 eq 29", {"T2"}),
    ("-properties/capacity_kwh lt -8", {"T1", "T2"}),
    ("properties/capacity_kwh div 0 eq 1", set()),
    ("properties/capacity_kwh eq 2 add 3", {"T3"}),
    ("1 add 2 mul 3 eq 7 and id eq {T1}", {"T1"}),
]

STRINGS = [
    ("substringof('storage', name)", {"T1", "T2"}),
    ("contains(name, 'storage')", {"T1", "T2"}),
    ("startswith(name, 'Lu')", {"T1"}),
    ("endswith(name, 'meter')", {"T3"}),
    ("length(name) eq 12", {"T3"}),
    ("length(name) eq 14", {"T1", "T2"}),
    ("indexof(name, 'storage') eq 7", {"T1", "T2"}),
    ("indexof(name, 'Zurich') eq 0", {"T3"}),
    ("substring(name, 7) eq 'storage'", {"T1", "T2"}),
    ("substring(name, 0, 6) eq 'Milano'", {"T2"}),
    ("tolower(name) eq 'zurich meter'", {"T3"}),
    ("toupper(name) eq 'LUGANO STORAGE'", {"T1"}),
    ("trim(name) eq 'Ticino grid'", {"T4"}),
    ("concat(name, '!') eq 'Zurich meter!'", {"T3"}),
    ("concat(concat(properties/radialId, '-'), properties/site/city) eq 'R1-Lugano'", {"T1"}),
    ("length(properties/radialId) eq 2", {"T1", "T2", "T3"}),
    ("startswith(properties/site/city, 'Mil')", {"T2"}),
]

JSON_MEMBERS = [
    ("properties/radialId eq 'R1'", {"T1", "T3"}),
    ("properties/capacity_kwh gt 8", {"T1", "T2"}),
    ("properties/capacity_kwh ge 10", {"T1", "T2"}),
    ("properties/capacity_kwh lt 10", {"T3"}),
    ("properties/capacity_kwh le 10", {"T1", "T3"}),
    ("properties/nominal eq 3.5", {"T1"}),
    ("properties/nominal eq null", {"T3", "T4"}),
    ("properties/nominal ne null", {"T1", "T2"}),
    ("properties/active eq true", {"T1", "T3"}),
    ("properties/active eq false", {"T2"}),
    ("properties/site/city eq 'Milano'", {"T2"}),
    ("properties/site/floor ge 0", {"T1", "T2"}),
    ("properties/tags/0 eq 'pv'", {"T1"}),
    ("properties/tags/0 eq 'ess'", {"T2"}),
    ("properties/tags/1 eq 'ess'", {"T1"}),
    ("properties/radialId eq properties/radialId", {"T1", "T2", "T3"}),
    # array indices, `in` over a JSON array
    ("properties/tags[1] eq 'ess'", {"T1"}),
    ("properties/tags[0] eq properties/tags[1]", set()),
    ("'ess' in properties/tags", {"T1", "T2"}),
    ("'pv' in properties/tags", {"T1"}),
    ("2 in properties/tags", set()),
    # two JSON members: as numbers when both are numbers (10 > 2, though '10' < '2'), else as text
    ("properties/capacity_kwh gt properties/site/floor", {"T1", "T2"}),
    ("properties/site/floor lt properties/nominal", {"T1", "T2"}),
    ("properties/active eq properties/active", {"T1", "T2", "T3"}),
]


@pytest.mark.parametrize("expression, expected", COMPARISONS + LOGIC + ARITHMETIC + STRINGS + JSON_MEMBERS)
def test_thing_filter(dataset: Dataset, expression: str, expected: set[str]) -> None:
    assert set(filtered(dataset, "Things", expression)) == expected


PATHS = [
    ("Datastreams", "Thing/name eq 'Lugano storage'", {"D1", "D2"}),
    ("Datastreams", "Thing/@iot.id eq {T2}", {"D3"}),
    ("Datastreams", "Thing/properties/radialId eq 'R1'", {"D1", "D2", "D4"}),
    ("Observations", "Datastream/Thing/name eq 'Milano storage'", {"O10", "O11"}),
    ("Observations", "Datastream/properties/phase eq 3", {"O10", "O11"}),
    ("Observations", "Datastream/Thing/properties/radialId eq 'R1'", ALL_OBS - {"O10", "O11"}),
    ("Observations", "Datastream/name eq 'Lugano state' and result eq 'charging'", {"O5"}),
    ("Things", "Locations/name eq 'Bellinzona'", {"T1"}),
    ("Things", "Datastreams/Observations/result gt 60", {"T2"}),
    ("Things", "Datastreams/name eq 'Lugano power' and Datastreams/name eq 'Lugano state'", {"T1"}),
    ("Locations", "Things/name eq 'Zurich meter'", {"L4"}),
    ("Datastreams", "Observations/phenomenonTime gt 2024-06-01T00:00:00Z", {"D1", "D3"}),
    ("Observations", "FeatureOfInterest/name eq 'Milano feature'", {"O10", "O11"}),
    # `eq null` across links also holds when they lead nowhere (an outer join in FROST-Server)
    ("Things", "Datastreams/name eq null", {"T4"}),
    ("Datastreams", "Observations/id eq null", {"D4"}),
    ("Datastreams", "Observations/id ne null", {"D1", "D2", "D3"}),
    ("Things", "Datastreams/Observations/result eq null", {"T1", "T3", "T4"}),
]

RESULTS = [
    ("result gt 5", {"O1", "O2", "O10", "O11"}),
    ("result eq 10", {"O1"}),
    ("result lt 0", {"O3"}),
    ("result eq 0", {"O4"}),
    ("result eq 20.5", {"O2"}),
    ("result eq 2.05e1", {"O2"}),
    ("result eq -3.0", {"O3"}),
    ("result eq 'charging'", {"O5"}),
    ("result eq '15'", {"O9"}),
    ("result eq true", {"O6"}),
    ("result eq null", {"O8"}),
    ("result ne null", ALL_OBS - {"O8"}),
    ("result/value eq 42", {"O7"}),
    ("result/unit eq 'W'", {"O7"}),
    ("result/nested/a eq 'x'", {"O7"}),
    ("result add 1 eq 11", {"O1"}),
    ("result mul 2 gt 100", {"O10"}),
    ("startswith(result, 'char')", {"O5"}),
    ("length(result) eq 8", {"O5"}),
    ("result in (10, 100)", {"O1", "O10"}),
    ("parameters/quality eq 'good'", {"O1"}),
    ("parameters/n gt 1", {"O2"}),
    ("resultTime eq 2024-01-01T10:00:05Z", {"O1"}),
    ("resultTime gt 2024-03-01T00:00:00Z", {"O4"}),
    ("resultTime eq null", ALL_OBS - {"O1", "O4"}),
    ("resultTime eq 2024-01-01T11:00:05+01:00", {"O1"}),
    ("validTime gt 2024-01-01T00:00:00Z", {"O2"}),
    ("validTime eq null", ALL_OBS - {"O2"}),
]

INTERVALS = [
    ("phenomenonTime eq 2024-01-01T10:00:00Z", {"O1", "O5"}),
    ("phenomenonTime ne 2024-01-01T10:00:00Z", ALL_OBS - {"O1", "O5"}),
    ("phenomenonTime lt 2024-01-01T11:00:00Z", {"O1", "O5", "O10"}),
    ("phenomenonTime le 2024-01-01T11:00:00Z", {"O1", "O5", "O10"}),
    ("phenomenonTime le 2024-01-01T12:00:00Z", {"O1", "O2", "O3", "O5", "O6", "O10"}),
    ("phenomenonTime gt 2024-01-01T11:30:00Z", {"O3", "O4", "O7", "O8", "O9", "O11"}),
    ("phenomenonTime ge 2024-01-01T11:30:00Z", {"O3", "O4", "O6", "O7", "O8", "O9", "O11"}),
    ("phenomenonTime lt 2024-01-01T11:15:00Z", {"O1", "O5", "O10"}),
    ("phenomenonTime gt 2024-01-01T11:15:00Z", {"O3", "O4", "O6", "O7", "O8", "O9", "O11"}),
    ("phenomenonTime gt now() sub duration'P1D'", {"O11"}),
    ("phenomenonTime lt now() sub duration'P1D'", ALL_OBS - {"O11"}),
    ("phenomenonTime add duration'PT1H' eq 2024-01-01T11:00:00Z", {"O1", "O5"}),
    # a duration shifts both ends of an interval
    ("phenomenonTime add duration'PT1H' eq 2024-01-01T11:00:00Z/2024-01-01T11:15:00Z", {"O10"}),
    ("phenomenonTime sub duration'PT1H' lt 2024-01-01T09:15:00Z", {"O1", "O5", "O10"}),
    ("resultTime sub phenomenonTime eq duration'PT5S'", {"O1"}),
    ("phenomenonTime ge 2024-01-02", {"O4", "O9", "O11"}),
    ("phenomenonTime gt 2024-01-01", ALL_OBS),
]


@pytest.mark.parametrize("entity_set, expression, expected", PATHS)
def test_path_across_links(dataset: Dataset, entity_set: str, expression: str, expected: set[str]) -> None:
    assert set(filtered(dataset, entity_set, expression)) == expected


@pytest.mark.parametrize("expression, expected", RESULTS + INTERVALS)
def test_observation_filter(dataset: Dataset, expression: str, expected: set[str]) -> None:
    assert set(filtered(dataset, "Observations", expression)) == expected


DATASTREAM_INTERVALS = [
    ("phenomenonTime lt 2024-03-01T00:00:00Z", {"D2"}),
    ("phenomenonTime gt 2023-12-31T00:00:00Z", {"D1", "D2", "D3"}),
    ("phenomenonTime eq null", {"D4"}),
    ("resultTime ge 2024-01-01T10:00:05Z", {"D1"}),
]


@pytest.mark.parametrize("expression, expected", DATASTREAM_INTERVALS)
def test_datastream_interval_filter(dataset: Dataset, expression: str, expected: set[str]) -> None:
    assert set(filtered(dataset, "Datastreams", expression)) == expected


LAMBDAS = [
    ("Things", "Locations/any()", {"T1", "T2", "T3", "T4"}),
    ("Things", "Datastreams/any()", {"T1", "T2", "T3"}),
    ("Things", "not Datastreams/any()", {"T4"}),
    ("Things", "Datastreams/any(d: d/name eq 'Milano power')", {"T2"}),
    ("Things", "Datastreams/all(d: startswith(d/name, 'Lugano'))", {"T1", "T4"}),
    ("Things", "Datastreams/any(d: d/Observations/any(o: o/result gt 60))", {"T2"}),
    ("Things", "Datastreams/any(d: d/Observations/any())", {"T1", "T2"}),
    ("Things", "Datastreams/all(d: d/Observations/any())", {"T1", "T2", "T4"}),
    ("Things", "Locations/any(l: l/name eq 'Bellinzona') and properties/radialId eq 'R1'", {"T1"}),
    ("Things", "Datastreams/any(d: d/Observations/any(o: o/result gt d/properties/phase mul 30))", {"T2"}),
    ("Things", "Datastreams/any(d: d/Observations/all(o: o/result ge 0))", {"T2", "T3"}),
    ("Datastreams", "Observations/any(o: o/result eq 'charging')", {"D2"}),
    ("Datastreams", "Observations/any(o: o/phenomenonTime gt 2024-06-01T00:00:00Z)", {"D1", "D3"}),
    ("Datastreams", "Thing/Locations/any(l: l/name eq 'Milano')", {"D3"}),
    ("Observations", "Datastream/Thing/Locations/any(l: l/name eq 'Bellinzona')", ALL_OBS - {"O10", "O11"}),
]


@pytest.mark.parametrize("entity_set, expression, expected", LAMBDAS)
def test_lambda_operators(dataset: Dataset, entity_set: str, expression: str, expected: set[str]) -> None:
    assert set(filtered(dataset, entity_set, expression)) == expected
