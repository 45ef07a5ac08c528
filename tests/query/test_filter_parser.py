"""$filter / $orderby / $select parsing: text → hand-built AST, and errors with positions."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest

from sta_server.errors import InvalidQuery
from sta_server.query.ast import (
    Arith,
    BoolOp,
    Call,
    Compare,
    In,
    InCollection,
    Lambda,
    Literal,
    Negate,
    Node,
    Not,
    OrderBy,
    Path,
)
from sta_server.query.parser import parse_filter, parse_orderby, parse_select


def p(*segments: str) -> Path:
    return Path(segments)


def s(value: str) -> Literal:
    return Literal(value, "string")


def i(value: int) -> Literal:
    return Literal(value, "int")


def eq(left: Node, right: Node) -> Compare:
    return Compare("eq", left, right)


H7, H8 = datetime(2016, 1, 1, 7, tzinfo=UTC), datetime(2016, 1, 1, 8, tzinfo=UTC)


LITERALS = [
    ("'abc'", s("abc")),
    ("'O''Neil'", s("O'Neil")),
    ("''", s("")),
    ("'a;b)c'", s("a;b)c")),
    ("42", i(42)),
    ("-5", i(-5)),
    ("1.5", Literal(1.5, "float")),
    ("-2.5e3", Literal(-2500.0, "float")),
    ("1E-7", Literal(1e-7, "float")),
    ("true", Literal(True, "bool")),
    ("false", Literal(False, "bool")),
    ("null", Literal(None, "null")),
    ("2016-01-01T12:00:00Z", Literal(datetime(2016, 1, 1, 12, tzinfo=UTC), "datetime")),
    (
        "2016-01-01T12:00:00.123+02:00",
        Literal(datetime(2016, 1, 1, 12, 0, 0, 123000, tzinfo=timezone(timedelta(hours=2))), "datetime"),
    ),
    ("2016-01-01T12:00:00", Literal(datetime(2016, 1, 1, 12, tzinfo=UTC), "datetime")),
    ("2016-01-01", Literal(date(2016, 1, 1), "date")),
    ("12:00:00", Literal(time(12), "time")),
    ("12:00:00.5", Literal(time(12, 0, 0, 500000), "time")),
    ("duration'P1DT2H'", Literal(timedelta(days=1, hours=2), "duration")),
    ("duration'PT15M'", Literal(timedelta(minutes=15), "duration")),
    ("duration'-P1D'", Literal(timedelta(days=-1), "duration")),
    ("duration'PT1.5S'", Literal(timedelta(seconds=1.5), "duration")),
    ("geography'POINT(30 10)'", Literal("POINT(30 10)", "geography")),
    ("geometry'LINESTRING(30 10, 10 30)'", Literal("LINESTRING(30 10, 10 30)", "geometry")),
    ("geography'SRID=4326;POLYGON((3 1, 4 4, 4 1, 3 1))'", Literal("POLYGON((3 1, 4 4, 4 1, 3 1))", "geography")),
    ("2016-01-01T07:00:00Z/2016-01-01T08:00:00Z", Literal((H7, H8), "interval")),
    ("2016-01-01T07:00Z/2016-01-01T08:00Z", Literal((H7, H8), "interval")),  # as Java writes it
    ("2016-01-01T09:00:00+02:00/2016-01-01T08:00:00", Literal((H7, H8), "interval")),
    ("2016-01-01T07:00:00Z/2016-01-01T07:00:00Z", Literal((H7, H7), "interval")),
]


@pytest.mark.parametrize("text, expected", LITERALS)
def test_literal_kinds(text: str, expected: Literal) -> None:
    assert parse_filter(f"x eq {text}") == eq(p("x"), expected)


PRECEDENCE = [
    ("a add b mul c", Arith("add", p("a"), Arith("mul", p("b"), p("c")))),
    ("a mul b add c", Arith("add", Arith("mul", p("a"), p("b")), p("c"))),
    ("(a add b) mul c", Arith("mul", Arith("add", p("a"), p("b")), p("c"))),
    ("a sub b sub c", Arith("sub", Arith("sub", p("a"), p("b")), p("c"))),
    ("a div b mod c", Arith("mod", Arith("div", p("a"), p("b")), p("c"))),
    ("a or b and c", BoolOp("or", p("a"), BoolOp("and", p("b"), p("c")))),
    ("a and b or c", BoolOp("or", BoolOp("and", p("a"), p("b")), p("c"))),
    ("not a eq b and c", BoolOp("and", Not(eq(p("a"), p("b"))), p("c"))),
    ("not a eq b", Not(eq(p("a"), p("b")))),
    ("not a gt 1 or b", BoolOp("or", Not(Compare("gt", p("a"), i(1))), p("b"))),
    ("not not a", Not(Not(p("a")))),
    ("a and not b eq 1", BoolOp("and", p("a"), Not(eq(p("b"), i(1))))),
    ("not a add 1 eq b", Not(eq(Arith("add", p("a"), i(1)), p("b")))),
    ("(not a) eq b", eq(Not(p("a")), p("b"))),
    ("not name in ('a', 'b')", Not(In(p("name"), (s("a"), s("b"))))),
    ("not (a eq b)", Not(eq(p("a"), p("b")))),
    ("not(a eq b)", Not(eq(p("a"), p("b")))),
    ("a gt 1 eq b lt 2", eq(Compare("gt", p("a"), i(1)), Compare("lt", p("b"), i(2)))),
    ("a add 1 ge b", Compare("ge", Arith("add", p("a"), i(1)), p("b"))),
    ("a le 1 and b ne 2", BoolOp("and", Compare("le", p("a"), i(1)), Compare("ne", p("b"), i(2)))),
    ("- a mul b", Arith("mul", Negate(p("a")), p("b"))),
    ("- 5", Negate(i(5))),
    ("-(5)", Negate(i(5))),
    ("a sub -5", Arith("sub", p("a"), i(-5))),
    ("((a))", p("a")),
    ("  name   eq\t'x'  ", eq(p("name"), s("x"))),
    ("order eq 1 and andy eq divisor", BoolOp("and", eq(p("order"), i(1)), eq(p("andy"), p("divisor")))),
    ("notes eq inside or orx eq nulls", BoolOp("or", eq(p("notes"), p("inside")), eq(p("orx"), p("nulls")))),
]


@pytest.mark.parametrize("text, expected", PRECEDENCE)
def test_operator_precedence(text: str, expected: Node) -> None:
    assert parse_filter(text) == expected


PATHS = [
    ("name", p("name")),
    ("Datastream/Thing/name", p("Datastream", "Thing", "name")),
    ("properties/radialId", p("properties", "radialId")),
    ("result/value/0", p("result", "value", "0")),
    ("@iot.id", p("id")),
    ("Datastream/@iot.id", p("Datastream", "id")),
    ("properties/a.b", p("properties", "a.b")),
    ("properties/desc", p("properties", "desc")),
    ("Thing / name", p("Thing", "name")),
    # array indices are segments, as in FROST-Server: [0] and /0 are the same path
    ("properties/objArray[0]/string", p("properties", "objArray", "0", "string")),
    ("properties/intIntArray[1][0]", p("properties", "intIntArray", "1", "0")),
    ("resultQuality[0]/DQ_Result/code", p("resultQuality", "0", "DQ_Result", "code")),
    ("result[1]", p("result", "1")),
    ("properties/a [ 2 ]", p("properties", "a", "2")),
]


@pytest.mark.parametrize("text, expected", PATHS)
def test_member_paths(text: str, expected: Path) -> None:
    assert parse_filter(f"{text} eq 1") == eq(expected, i(1))


FUNCTIONS = (
    "substringof", "contains", "startswith", "endswith", "length", "indexof", "substring", "tolower",
    "toupper", "trim", "concat", "year", "month", "day", "hour", "minute", "second",
    "fractionalseconds", "date", "time", "totaloffsetminutes", "now", "mindatetime", "maxdatetime",
    "round", "floor", "ceiling", "geo.intersects", "geo.length", "geo.distance", "st_equals",
    "st_disjoint", "st_touches", "st_within", "st_overlaps", "st_crosses", "st_intersects",
    "st_contains", "st_relate", "before", "after", "meets", "during", "overlaps", "starts", "finishes",
)


@pytest.mark.parametrize("text, expected", [(f"{n}(a, 'b')", Call(n, (p("a"), s("b")))) for n in FUNCTIONS])
def test_every_function_name(text: str, expected: Call) -> None:
    assert parse_filter(text) == expected


CALLS = [
    ("now()", Call("now", ())),
    ("mindatetime() lt maxdatetime()", Compare("lt", Call("mindatetime", ()), Call("maxdatetime", ()))),
    ("Contains(name, 'x')", Call("contains", (p("name"), s("x")))),
    ("GEO.Distance(location, geography'POINT(1 2)') lt 3",
     Compare("lt", Call("geo.distance", (p("location"), Literal("POINT(1 2)", "geography"))), i(3))),
    ("length(trim(name)) gt 2", Compare("gt", Call("length", (Call("trim", (p("name"),)),)), i(2))),
    ("not startswith(name, 'x')", Not(Call("startswith", (p("name"), s("x"))))),
]


@pytest.mark.parametrize("text, expected", CALLS)
def test_function_calls(text: str, expected: Node) -> None:
    assert parse_filter(text) == expected


OTHER = [
    ("name in ('a', 'b')", In(p("name"), (s("a"), s("b")))),
    ("id in (1)", In(p("id"), (i(1),))),
    ("a in (1, 2) and b", BoolOp("and", In(p("a"), (i(1), i(2))), p("b"))),
    ("9 in properties/intArray", InCollection(i(9), p("properties", "intArray"))),
    ("'s10' in properties/strArray and b", BoolOp("and", InCollection(s("s10"), p("properties", "strArray")), p("b"))),
    ("name in properties/names[0]", InCollection(p("name"), p("properties", "names", "0"))),
    (
        "before(validTime, 2016-01-01T07:00:00Z/2016-01-01T08:00:00Z)",
        Call("before", (p("validTime"), Literal((H7, H8), "interval"))),
    ),
    (
        "resultTime lt 2016-01-01T07:00:00Z/2016-01-01T08:00:00Z add duration'PT1H'",
        Compare("lt", p("resultTime"),
                Arith("add", Literal((H7, H8), "interval"), Literal(timedelta(hours=1), "duration"))),
    ),
    ("Locations/any(l: l/name eq 'x')", Lambda(p("Locations"), "any", "l", eq(p("l", "name"), s("x")))),
    (
        "Datastreams/all(d: d/unitOfMeasurement/symbol eq 'W')",
        Lambda(p("Datastreams"), "all", "d", eq(p("d", "unitOfMeasurement", "symbol"), s("W"))),
    ),
    ("Locations/any()", Lambda(p("Locations"), "any", None, None)),
    (
        "Thing/Datastreams/any(d : d/Observations/any(o: o/result gt 5))",
        Lambda(p("Thing", "Datastreams"), "any", "d",
               Lambda(p("d", "Observations"), "any", "o", Compare("gt", p("o", "result"), i(5)))),
    ),
]


@pytest.mark.parametrize("text, expected", OTHER)
def test_in_and_lambdas(text: str, expected: Node) -> None:
    assert parse_filter(text) == expected


ORDERBY = [
    ("phenomenonTime desc, result", (OrderBy(p("phenomenonTime"), True), OrderBy(p("result"), False))),
    ("length(name) asc", (OrderBy(Call("length", (p("name"),)), False),)),
    ("Datastream/name desc,id", (OrderBy(p("Datastream", "name"), True), OrderBy(p("id")))),
    ("a add b", (OrderBy(Arith("add", p("a"), p("b"))),)),
    ("description", (OrderBy(p("description")),)),
    ("name ASC, id DESC", (OrderBy(p("name")), OrderBy(p("id"), True))),
    ("name Desc", (OrderBy(p("name"), True),)),
]


@pytest.mark.parametrize("text, expected", ORDERBY)
def test_parse_orderby(text: str, expected: tuple[OrderBy, ...]) -> None:
    assert parse_orderby(text) == expected


SELECT = [
    ("id,name,properties/radialId,Datastreams",
     (p("id"), p("name"), p("properties", "radialId"), p("Datastreams"))),
    ("@iot.id, name", (p("id"), p("name"))),
    ("@iot.selfLink,name", (p("@iot.selfLink"), p("name"))),
    ("result", (p("result"),)),
    ("properties/objArray[0]/string,result[1]", (p("properties", "objArray", "0", "string"), p("result", "1"))),
]


@pytest.mark.parametrize("text, expected", SELECT)
def test_parse_select(text: str, expected: tuple[Path, ...]) -> None:
    assert parse_select(text) == expected


FILTER_ERRORS = [
    ("name eqq 'x'", "Unexpected 'eqq' at position 6"),
    ("Name EQ 'x'", "Unexpected 'EQ' at position 6"),
    ("(a eq 1", "at position 8"),
    ("a eq 1)", "Unexpected ')' at position 7"),
    ("name eq 'abc", "Unterminated string at position 9"),
    ("a eq 1 b", "Unexpected 'b' at position 8"),
    ("a eq", "end of input at position 5"),
    ("a # b", "Unexpected '#' at position 3"),
    ("f(a,)", "Unexpected ')' at position 5"),
    ("a in ()", "Unexpected ')' at position 7"),
    ("a eq not b", "Unexpected 'b' at position 10"),
    ("a//b", "Unexpected '/' at position 3"),
    ("x eq 1.", "Unexpected '.' at position 7"),
    ("x eq duration'P1Y'", "position 6"),
    ("x eq duration'P2M'", "Invalid duration 'P2M' at position 6 in $filter: \"x eq duration'P2M'\" (years"),
    ("x eq duration'PT'", "Invalid duration 'PT' at position 6"),
    ("x eq 2016-13-01T00:00:00Z", "Invalid datetime '2016-13-01T00:00:00Z'"),
    ("x eq 2016-02-30", "at position 6"),
    ("x eq 25:00:00", "Invalid time '25:00:00' at position 6"),
    ("a/foo(x: x eq 1)", "Unknown lambda operator 'foo' at position 3"),
    ("a/-1 eq 1", "position 3"),
    ("a/@foo eq 1", "Unknown member '@foo' at position 3"),
    ("x eq geography''", "position 6"),
    ("x eq 2016-01-01T08:00:00Z/2016-01-01T07:00:00Z", "Invalid interval '2016-01-01T08:00:00Z/2016-01-01T07:00:00Z'"
                                                       " at position 6 in $filter"),
    ("x eq 2016-01-01T07:00:00Z/2016-02-30T00:00:00Z", "at position 6"),
    ("x eq 2016-01-01T07:00:00Z/", "Unexpected '/' at position 26"),
    ("properties/a[-1] eq 1", "Negative array index '-1' at position 14"),
    ("properties/a[x] eq 1", "Unexpected 'x' at position 14"),
    ("properties/a[] eq 1", "Unexpected ']' at position 14"),
    ("9 in 5", "Unexpected '5' at position 6"),
    ("", "Empty $filter"),
    ("   ", "Empty $filter"),
]


@pytest.mark.parametrize("text, expected", FILTER_ERRORS)
def test_filter_errors_name_the_position(text: str, expected: str) -> None:
    with pytest.raises(InvalidQuery) as info:
        parse_filter(text)
    assert expected in info.value.message
    assert "$filter" in info.value.message


@pytest.mark.parametrize(
    "text, expected",
    [("name asc desc", "Unexpected 'desc' at position 10 in $orderby"), ("", "Empty $orderby"),
     ("a,", "end of input at position 3 in $orderby")],
)
def test_orderby_errors(text: str, expected: str) -> None:
    with pytest.raises(InvalidQuery) as info:
        parse_orderby(text)
    assert expected in info.value.message


@pytest.mark.parametrize(
    "text, expected",
    [("id,,name", "Unexpected ',' at position 4 in $select"), ("length(name)", "position 7"),
     ("name eq 1", "position 6")],
)
def test_select_errors(text: str, expected: str) -> None:
    with pytest.raises(InvalidQuery) as info:
        parse_select(text)
    assert expected in info.value.message
