"""Query options: parse_query() for one level and parse_expand_option() with nested `;` options."""
from __future__ import annotations

import pytest

from sta_server.errors import InvalidQuery
from sta_server.query.ast import BoolOp, Compare, Expand, Literal, OrderBy, Path, Query
from sta_server.query.options import parse_expand_option, parse_query


def p(*segments: str) -> Path:
    return Path(segments)


NAME_X = Compare("eq", p("name"), Literal("x", "string"))

QUERIES = [
    ({}, Query()),
    ({"$top": "5", "$skip": "10", "$count": "true"}, Query(top=5, skip=10, count=True)),
    ({"$top": "0", "$count": "false"}, Query(top=0, count=False)),
    ({"$top": " 7 "}, Query(top=7)),
    ({"$filter": "name eq 'x'"}, Query(filter=NAME_X)),
    ({"$select": "id,name"}, Query(select=(p("id"), p("name")))),
    ({"$orderby": "phenomenonTime desc"}, Query(orderby=(OrderBy(p("phenomenonTime"), True),))),
    ({"$expand": "Thing"}, Query(expand=(Expand("Thing"),))),
    ({"$resultFormat": "dataArray"}, Query(result_format="dataArray")),
    ({"$skiptoken": "abc"}, Query(skiptoken="abc")),
    ({"foo": "bar", "id": "1", "$skip": "2"}, Query(skip=2)),
]


@pytest.mark.parametrize("text, expected", QUERIES)
def test_parse_query_options(text: dict[str, str], expected: Query) -> None:
    assert parse_query(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [({}, Query(top=100)), ({"$top": "3"}, Query(top=3)), ({"$top": "1000"}, Query(top=1000)),
     ({"$expand": "Datastreams"}, Query(top=100, expand=(Expand("Datastreams", Query(top=100)),)))],
)
def test_default_and_max_top(text: dict[str, str], expected: Query) -> None:
    assert parse_query(text, default_top=100, max_top=1000) == expected


OPTION_ERRORS = [
    ({"$foo": "1"}, "Unknown query option '$foo'"),
    ({"$Filter": "a eq 1"}, "Unknown query option '$Filter'"),
    ({"$top": "-1"}, "$top must be a non-negative integer"),
    ({"$top": "abc"}, "$top must be a non-negative integer"),
    ({"$top": "1.5"}, "$top must be a non-negative integer"),
    ({"$skip": "-3"}, "$skip must be a non-negative integer"),
    ({"$count": "yes"}, "$count must be true or false"),
    ({"$count": "True"}, "$count must be true or false"),
    ({"$top": "1001"}, "exceeds the maximum of 1000"),
    ({"$expand": "Datastreams($top=5000)"}, "exceeds the maximum of 1000"),
    ({"$filter": "a eq"}, "end of input at position 5 in $filter"),
    ({"$filter": ""}, "Empty $filter"),
    ({"$select": ""}, "Empty $select"),
    ({"$expand": " "}, "Empty $expand"),
    ({"$orderby": "a,,b"}, "Unexpected ',' at position 3 in $orderby"),
    ({"$resultFormat": ""}, "Empty $resultFormat"),
]


@pytest.mark.parametrize("text, expected", OPTION_ERRORS)
def test_parse_query_errors(text: dict[str, str], expected: str) -> None:
    with pytest.raises(InvalidQuery) as info:
        parse_query(text, max_top=1000)
    assert expected in info.value.message


EXPANDS = [
    ("Thing", (Expand("Thing"),)),
    (
        "Datastreams($select=name;$expand=Observations($top=1)),Locations,Datastreams/Sensor",
        (
            Expand("Datastreams", Query(select=(p("name"),), expand=(Expand("Observations", Query(top=1)),
                                                                     Expand("Sensor")))),
            Expand("Locations"),
        ),
    ),
    (
        "Datastreams/Sensor,Datastreams/ObservedProperty",
        (Expand("Datastreams", Query(expand=(Expand("Sensor"), Expand("ObservedProperty")))),),
    ),
    ("Datastreams,Datastreams", (Expand("Datastreams"),)),
    ("Datastreams/Sensor,Datastreams/Sensor", (Expand("Datastreams", Query(expand=(Expand("Sensor"),))),)),
    (
        "Datastreams($expand=Sensor),Datastreams/ObservedProperty($select=name)",
        (Expand("Datastreams", Query(expand=(Expand("Sensor"),
                                             Expand("ObservedProperty", Query(select=(p("name"),)))))),),
    ),
    (
        "Datastreams($expand=Sensor),Datastreams($expand=Thing)",
        (Expand("Datastreams", Query(expand=(Expand("Sensor"), Expand("Thing")))),),
    ),
    ("A/B/C", (Expand("A", Query(expand=(Expand("B", Query(expand=(Expand("C"),))),))),)),
    (" Thing , Locations ", (Expand("Thing"), Expand("Locations"))),
    (
        "Datastreams($filter=name eq 'x';$top=2;$expand=Observations($orderby=phenomenonTime desc))",
        (Expand("Datastreams", Query(filter=NAME_X, top=2, expand=(
            Expand("Observations", Query(orderby=(OrderBy(p("phenomenonTime"), True),))),))),),
    ),
    (
        "Datastreams($filter=name eq 'a;b)' or name eq 'O''Neil,(';$count=true)",
        (Expand("Datastreams", Query(count=True, filter=BoolOp(
            "or", Compare("eq", p("name"), Literal("a;b)", "string")),
            Compare("eq", p("name"), Literal("O'Neil,(", "string"))))),),
    ),
]


@pytest.mark.parametrize("text, expected", EXPANDS)
def test_parse_expand_option(text: str, expected: tuple[Expand, ...]) -> None:
    assert parse_expand_option(text) == expected


def test_expand_default_top_applies_at_every_level() -> None:
    expected = (Expand("Datastreams", Query(top=10, expand=(Expand("Sensor", Query(top=10)),))),)
    assert parse_expand_option("Datastreams/Sensor", default_top=10) == expected


EXPAND_ERRORS = [
    ("Datastreams(", "missing ')') at position 13 in $expand"),
    ("Datastreams)", "Unexpected ')' at position 12 in $expand"),
    ("Datastreams,,Locations", "Missing navigation link at position 13"),
    ("Datastreams,", "Missing navigation link at position 13"),
    ("Datastreams/", "Missing navigation link at position 13"),
    ("Datastreams($top=2)/Sensor", "Unexpected '/Sensor' after ')' at position 20"),
    ("Data streams", "Invalid navigation link 'Data streams' at position 1"),
    ("Thing,Data-streams", "Invalid navigation link 'Data-streams' at position 7"),
    ("Datastreams()", "Empty options at position 13"),
    ("Datastreams(top=1)", "Expected '$option=value', found 'top=1' at position 13"),
    ("Datastreams($top=1; $top=2)", "Duplicate option '$top' at position 21"),
    ("Datastreams($top=2),Datastreams($top=3)", "Conflicting $top for 'Datastreams' at position 21"),
    ("Datastreams($foo=1)", "Unknown query option '$foo'"),
    ("Datastreams($filter=name eq 'x)", "Unterminated string at position 29"),
    ("Datastreams($filter=name eqq 1)", "Unexpected 'eqq' at position 6 in $filter"),
    ("Datastreams($top=x)", "$top must be a non-negative integer"),
]


@pytest.mark.parametrize("text, expected", EXPAND_ERRORS)
def test_expand_errors_name_the_position(text: str, expected: str) -> None:
    with pytest.raises(InvalidQuery) as info:
        parse_expand_option(text)
    assert expected in info.value.message
