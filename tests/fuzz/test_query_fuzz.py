"""Fuzzing the URL and query parsers: random text and grammar-shaped text must give an AST or a
StaError (a 4xx), never another exception; what parses must also compile to SQL or fail with a
StaError (bounded by max_examples; see conftest.py for the profiles)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql

from sta_server.errors import StaError
from sta_server.model import REGISTRY
from sta_server.mqtt.topics import parse_topic
from sta_server.query.apply import parse_apply
from sta_server.query.options import parse_expand_option, parse_query
from sta_server.query.parser import parse_filter, parse_orderby, parse_select
from sta_server.query.path import parse_path
from sta_server.sql.filters import compile_filter
from sta_server.sql.relations import table_of
from tests.fuzz.conftest import examples

NAMES = ["name", "description", "id", "@iot.id", "result", "phenomenonTime", "resultTime", "location",
         "properties", "properties/radialId", "Datastream", "Datastream/Thing/name", "Locations", "Things",
         "Observations", "unitOfMeasurement/symbol", "feature", "parameters/x", "validTime", "$it", "l", "d"]
LITERALS = ["1", "-1", "2.5", "-2.5e3", "1e308", "1e999", "99999999999999999999999", "0x1", "'x'", "''", "'a''b'",
            "'", "null", "true", "false", "2024-01-01T00:00:00Z", "2024-02-30T00:00:00Z", "2024-01-01", "12:00:00",
            "duration'P1D'", "duration'P1Y'", "duration'PT'", "geography'POINT(1 2)'", "geography'POINT(1)'",
            "geometry'POLYGON((0 0,1 0,1 1,0 0))'", "geography'SRID=4326;LINESTRING(0 0,1 1)'",
            "geography'LINEARRING(0 0,1 1,1 0,0 0)'", "geography''", "'2024-01-01T00:00:00Z'"]
OPERATORS = ["eq", "ne", "gt", "ge", "lt", "le", "and", "or", "not", "add", "sub", "mul", "div", "mod", "in",
             "has", "-", "asc", "desc"]
FUNCTIONS = ["substringof", "startswith", "endswith", "length", "indexof", "substring", "tolower", "toupper",
             "trim", "concat", "year", "month", "day", "hour", "minute", "second", "fractionalseconds", "date",
             "time", "totaloffsetminutes", "now", "mindatetime", "maxdatetime", "round", "floor", "ceiling",
             "geo.distance", "geo.length", "geo.intersects", "st_within", "st_equals", "st_intersects",
             "st_disjoint", "st_touches", "st_overlaps", "st_crosses", "st_contains", "st_relate", "cast", "any",
             "all", "Locations/any", "nosuch"]
PUNCTUATION = ["(", ")", ",", "/", ":", ";", "'", "=", "$", "*", "%20", "\\", "--", "/*", "*/", "\x00", "é"]
TOKENS = NAMES + LITERALS + OPERATORS + FUNCTIONS + PUNCTUATION

tokens = st.lists(st.sampled_from(TOKENS), max_size=25).map(" ".join)
squeezed = st.lists(st.sampled_from(TOKENS), max_size=25).map("".join)
text = st.text(max_size=120)
anything = st.one_of(text, tokens, squeezed)


def _expression() -> st.SearchStrategy[str]:
    """Mostly well-formed $filter expressions of any depth."""
    leaf = st.sampled_from(NAMES + LITERALS)
    return st.recursive(leaf, lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(OPERATORS), inner).map(" ".join),
        inner.map(lambda e: f"({e})"),
        inner.map(lambda e: f"not {e}"),
        st.tuples(st.sampled_from(FUNCTIONS), st.lists(inner, min_size=0, max_size=3))
        .map(lambda f: f"{f[0]}({', '.join(f[1])})"),
        st.tuples(inner, st.lists(inner, min_size=1, max_size=3)).map(lambda t: f"{t[0]} in ({', '.join(t[1])})"),
        inner.map(lambda e: f"Datastreams/any(d: {e})"),
    ), max_leaves=12)


expressions = _expression()


def _options() -> st.SearchStrategy[str]:
    """`$expand` values with nested options."""
    link = st.sampled_from(["Datastreams", "Thing", "Locations", "Observations", "Sensor", "Things", "Nope", ""])
    option = st.one_of(
        expressions.map(lambda e: f"$filter={e}"),
        st.sampled_from(["$top=1", "$top=-1", "$top=99999", "$skip=2", "$select=name,id", "$count=true",
                         "$orderby=id desc", "$select=", "$top=x"]),
    )
    return st.recursive(link, lambda inner: st.one_of(
        st.tuples(link, inner).map("/".join),
        st.tuples(link, st.lists(st.one_of(option, inner.map(lambda e: f"$expand={e}")), min_size=1,
                                 max_size=3)).map(lambda t: f"{t[0]}({';'.join(t[1])})"),
        st.lists(inner, min_size=2, max_size=3).map(",".join),
    ), max_leaves=8)


expand_values = _options()


def _accepts(parse: Callable[[str], Any], value: str) -> Any:
    """The result, or None when `parse` refused the value with a StaError."""
    try:
        return parse(value)
    except StaError as error:
        assert 400 <= error.status < 500, error
        return None


@pytest.mark.parametrize("parse", [parse_filter, parse_orderby, parse_select, parse_apply, parse_expand_option],
                         ids=["filter", "orderby", "select", "apply", "expand"])
@settings(max_examples=examples(150))
@given(value=anything)
def test_random_text_gives_an_ast_or_a_sta_error(parse: Callable[[str], Any], value: str) -> None:
    _accepts(parse, value)


@settings(max_examples=examples(300))
@given(value=st.one_of(expressions, tokens))
def test_filter_expressions_parse_and_compile_or_fail_cleanly(value: str) -> None:
    node = _accepts(parse_filter, value)
    if node is None:
        return
    for type_name in ("Thing", "Observation", "Location"):
        entity_type = REGISTRY.type(type_name)
        try:
            clause = compile_filter(node, entity_type, table_of(entity_type), "1.1")
        except StaError as error:
            assert 400 <= error.status < 500, error
            continue
        str(clause.compile(dialect=postgresql.dialect()))


@settings(max_examples=examples(200))
@given(value=st.one_of(expand_values, anything))
def test_expand_values_parse_or_fail_cleanly(value: str) -> None:
    _accepts(lambda v: parse_query({"$expand": v}, max_top=100, max_expand_depth=5), value)


@settings(max_examples=examples(200))
@given(params=st.dictionaries(st.sampled_from(["$filter", "$select", "$expand", "$orderby", "$top", "$skip",
                                               "$count", "$resultFormat", "$skiptoken", "$apply", "$foo", "x"]),
                              anything, max_size=4))
def test_query_options_parse_or_fail_cleanly(params: dict[str, str]) -> None:
    _accepts(lambda _: parse_query(params, default_top=100, max_top=1000, max_expand_depth=5), "")


path_text = st.lists(st.one_of(
    st.sampled_from(["Things", "Things(1)", "Things(-1)", "Things('1')", "Things(x)", "Things(99999999999999999999)",
                     "Datastreams(2)", "Observations", "Locations(1)", "name", "$value", "$ref", "properties",
                     "Thing", "HistoricalLocations", "..", "", "Things()", "Things(1)(2)", "unitOfMeasurement"]),
    text), max_size=6).map("/".join)


@settings(max_examples=examples(300))
@given(version=st.sampled_from(["1.1", "1.0"]), value=path_text)
def test_paths_parse_or_fail_cleanly(version: str, value: str) -> None:
    _accepts(lambda v: parse_path(version, v), value)


@settings(max_examples=examples(200))
@given(topic=st.one_of(path_text.map(lambda p: f"v1.1/{p}"), st.tuples(path_text, st.text(max_size=40)).map(
    lambda t: f"v1.1/{t[0]}?$select={t[1]}"), text))
def test_mqtt_topics_parse_or_fail_cleanly(topic: str) -> None:
    _accepts(parse_topic, topic)
