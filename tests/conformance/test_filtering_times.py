"""Conformance class Filtering, time comparisons and temporal functions: every request and expected
answer of the DateTimeTests of FROST-Server.Tests (and the ets-sta10 fork), on their data set
(tests/conformance/time_world.py). `x op v` and `v op x` with x each of resultTime (an instant),
validTime (an interval) and phenomenonTime (either), v an instant or an interval literal."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from sta_server.settings import Settings
from tests.conformance import time_world as w
from tests.sql.filter_checks import fetch

World = tuple[FlaskClient, dict[str, Any]]
TIMES = ("resultTime", "validTime", "phenomenonTime")


@pytest.fixture(scope="module")
def world(settings: Settings, engine: Engine) -> Iterator[World]:
    yield from w.time_world(settings, engine)


def matching(world: World, entity_set: str, expression: str) -> set[int]:
    """Indexes (in the suite's lists) of the entities that match."""
    client, ids = world
    body = fetch(client, entity_set, **{"$filter": expression, "$top": "100"})
    return {ids[entity_set].index(item["@iot.id"]) for item in body["value"]}


# name: ((x op T700, x op I700_800) for x in TIMES, then (T700 op x, I700_800 op x) likewise);
# `name` is an operator (`x lt v`) or a function (`before(x, v)`), with the same answers.
A, B = [0, 1, 21, 23], [3, 4, 5, 6, 7, 22, 24]
LT = ((A, [8, 9, 23], A + [8, 9], A, [8, 9, 23], A + [8, 9]),
      (B, [12, 13, 14, 15, 20, 24], B + [12, 13, 14, 15, 20], [5, 6, 7, 22, 24], [14, 15, 24],
       [5, 6, 7, 14, 15, 22, 24]))
LE = (([0, 1, 2, 21, 23], [8, 9, 23], [0, 1, 2, 8, 9, 21, 23], [0, 1, 2, 21, 23], [8, 9, 10, 11, 17, 19, 23],
       [0, 1, 2, 8, 9, 10, 11, 17, 19, 21, 23]),
      ([2, *B], [11, 12, 13, 14, 15, 17, 18, 20, 24], [2, *B, 11, 12, 13, 14, 15, 17, 18, 20],
       [5, 6, 7, 22, 24], [11, 13, 14, 15, 18, 20, 24], [5, 6, 7, 11, 13, 14, 15, 18, 20, 22, 24]))
SYMMETRIC = {
    "eq": ([2], [], [2], [], [11], [11]),
    "meets": ([2], [9, 11, 17, 18], [2, 9, 11, 17, 18], [2, 5], [9, 14], [2, 5, 9, 14]),
    "overlaps": ([2], [10, 11, 16, 17, 18, 19], [2, 10, 11, 16, 17, 18, 19], [2, 3, 4],
                 [10, 11, 12, 13, 16, 17, 18, 19, 20], [2, 3, 4, 10, 11, 12, 13, 16, 17, 18, 19, 20]),
    "starts": ([2], [11, 17, 18], [2, 11, 17, 18], [2], [11, 17, 18], [2, 11, 17, 18]),
    "finishes": ([2], [9], [2, 9], [5], [11, 19, 20], [5, 11, 19, 20]),
}
EXPECTED = {
    "lt": LT, "before": LT, "gt": LT[::-1], "after": LT[::-1], "le": LE, "ge": LE[::-1],
    **{name: (answers, answers) for name, answers in SYMMETRIC.items()},
}


def _expression(name: str, left: str, right: str) -> str:
    return f"{left} {name} {right}" if len(name) == 2 else f"{name}({left},{right})"


def _cases() -> Iterator[tuple[str, set[int]]]:
    for name, (time_first, value_first) in EXPECTED.items():
        for n, value in enumerate((w.T700, w.I700_800)):
            for m, time in enumerate(TIMES):
                yield _expression(name, time, value), set(time_first[3 * n + m])
                yield _expression(name, value, time), set(value_first[3 * n + m])


@pytest.mark.parametrize("expression, expected", list(_cases()))
def test_time_relation(world: World, expression: str, expected: set[int]) -> None:
    assert matching(world, "Observations", expression) == expected


DURING = [
    ("during(resultTime,{I78})", {2, 3, 4}),
    ("during(validTime,{I78})", {11, 12, 17, 20}),
    ("during(phenomenonTime,{I78})", {2, 3, 4, 11, 12, 17, 20}),
    ("during({T7},validTime)", {10, 11, 16, 17, 18, 19}),
    ("during({T7},phenomenonTime)", {10, 11, 16, 17, 18, 19}),
    ("during({I78},validTime)", {11, 16, 18, 19}),
    ("during({I78},phenomenonTime)", {11, 16, 18, 19}),
    ("year(resultTime) eq 2015", {21, 23}),
    ("year(validTime) eq 2015", {23}),
    ("year(phenomenonTime) eq 2015", {21, 23}),
]
DURATIONS = [
    ("{x} add duration'PT1H' gt {T9}", {6, 7, 22, 24}, {15, 24}),
    ("{x} gt {T9} sub duration'PT1H'", {6, 7, 22, 24}, {15, 24}),
    ("{x} sub duration'PT1H' gt {T7}", {6, 7, 22, 24}, {15, 24}),
    ("{x} lt {I67} add duration'PT1H'", {0, 1, 21, 23}, {8, 9, 23}),
    ("{x} gt {I89} sub duration'PT1H'", {5, 6, 7, 22, 24}, {14, 15, 24}),
    ("not {x} lt {T7} and not {x} ge {T8}", {2, 3, 4}, {10, 11, 12, 13, 16, 17, 18, 19, 20}),
]
CONSTANTS = {"T7": w.T700, "T8": w.T800, "T9": w.T900, "I78": w.I700_800, "I67": w.I600_700,
             "I89": w.I800_900}


def _duration_cases() -> Iterator[tuple[str, set[int]]]:
    for template, result_time, valid_time in DURATIONS:
        for time, expected in zip(TIMES, (result_time, valid_time, result_time | valid_time), strict=True):
            yield template.format(x=time, **CONSTANTS), expected
    yield f"phenomenonTime sub {w.T800} eq duration'PT1H'", {7}


@pytest.mark.parametrize("expression, expected", [(e.format(**CONSTANTS), x) for e, x in DURING]
                         + list(_duration_cases()))
def test_during_year_and_durations(world: World, expression: str, expected: set[int]) -> None:
    assert matching(world, "Observations", expression) == expected


@pytest.mark.parametrize("expression", [
    "during(resultTime,{T7})", "during(validTime,{T7})", "during(phenomenonTime,{T7})",
    "during({T7},resultTime)", "during({I78},resultTime)",
])
def test_during_an_instant_is_a_bad_request(world: World, expression: str) -> None:
    body = fetch(world[0], "Observations", 400, **{"$filter": expression.format(**CONSTANTS)})
    assert "during() needs an interval" in body["error"]["message"]


# Datastream 0 spans I2015_2017_2 (both its phenomenonTime and its resultTime); Datastream 1 has
# no Observations. Values: T2014 T2015 T700 T2017_2 T2018 I78 I2014_2015 I2014_2017_2 I2014_2018
# I2015_2017_2 I2015_2018 I2017_2_2018; "0" marks where Datastream 0 matches, None: not asked.
DS_VALUES = (w.T2014, w.T2015, w.T700, w.T2017_2, w.T2018, w.I700_800, w.I2014_2015, w.I2014_2017_2,
             w.I2014_2018, w.I2015_2017_2, w.I2015_2018, w.I2017_2_2018)
DS_EXPECTED = {
    "{} lt %s": "---00------0", "before({}, %s)": "---00------0",
    "{} gt %s": "0-----0-----", "after({}, %s)": "0-----0-----",
    "{} le %s": "---00----000", "{} ge %s": "00----00-0--", "{} eq %s": "---------0--",
    "meets({}, %s)": "-0-0--0----0", "during({}, %s)": ".....--0000-",
    "overlaps({}, %s)": "-00--0-0000-", "starts({}, %s)": "-0-------00-", "finishes({}, %s)": "---0---0-0--",
}


def _datastream_cases() -> Iterator[tuple[str, set[int]]]:
    for template, marks in DS_EXPECTED.items():
        for value, mark in zip(DS_VALUES, marks, strict=True):
            if mark == ".":
                continue
            for time in ("phenomenonTime", "resultTime"):
                yield template.replace("{}", time) % value, {0} if mark == "0" else set()


@pytest.mark.parametrize("expression, expected", list(_datastream_cases()))
def test_datastream_time_relation(world: World, expression: str, expected: set[int]) -> None:
    assert matching(world, "Datastreams", expression) == expected


def test_interval_literal_in_an_expanded_filter(world: World) -> None:
    client, ids = world
    expand = f"Observations($filter=validTime lt {w.I700_800};$select=id;$orderby=id)"
    body = fetch(client, f"Datastreams({ids['Datastreams'][0]})", **{"$expand": expand, "$select": "id"})
    assert [ids["Observations"].index(o["@iot.id"]) for o in body["Observations"]] == [8, 9, 23]


@pytest.fixture(scope="module")
def md_world(settings: Settings, engine: Engine) -> Iterator[World]:
    yield from w.time_world(settings, engine, "MultiDatastreams")


@pytest.mark.parametrize("expression, expected", list(_datastream_cases()))
def test_multi_datastream_time_relation(md_world: World, expression: str, expected: set[int]) -> None:
    """MdDateTimeTests: the same answers for MultiDatastreams (their Observations' times)."""
    assert matching(md_world, "MultiDatastreams", expression) == expected


def test_multi_observation_result_elements(md_world: World) -> None:
    """`result[0]` names the first value of a MultiDatastream Observation, in $filter, $orderby, $select."""
    client = md_world[0]
    assert matching(md_world, "Observations", "result[0] ge 23") == {23, 24}
    body = fetch(client, "Observations", **{"$filter": "result[0] lt 3", "$orderby": "result[0] desc",
                                            "$select": "result[0]"})
    assert body["value"] == [{"result": {"0": 2}}, {"result": {"0": 1}}, {"result": {"0": 0}}]


def test_value_in_a_multi_observation_result(md_world: World) -> None:
    assert matching(md_world, "Observations", "7 in result or 24 in result") == {7, 24}
