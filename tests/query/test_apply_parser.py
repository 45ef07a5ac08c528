"""$apply text -> transformations (query/apply.py): hand-built ASTs and 400s."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from sta_server.errors import InvalidQuery
from sta_server.query.apply import parse_apply
from sta_server.query.ast import (
    Aggregate,
    AggregateItem,
    Aliased,
    Arith,
    BoolOp,
    Bucket,
    Compare,
    Compute,
    Fill,
    Filter,
    GroupBy,
    Literal,
    Path,
)
from sta_server.query.options import parse_query

TIME, RESULT = Path(("phenomenonTime",)), Path(("result",))
HOUR_ROME = Bucket(TIME, seconds=3600, tz="Europe/Rome")
AVG = AggregateItem(RESULT, "average", "avg")

CASES = [
    ("aggregate(result with average as avg)", (Aggregate((AVG,)),)),
    ("aggregate($count as n)", (Aggregate((AggregateItem(None, "count", "n"),)),)),
    ("groupby((bucket(phenomenonTime,'PT1H','Europe/Rome')),aggregate(result with average as avg))",
     (GroupBy((Aliased(HOUR_ROME, "phenomenonTime"),), (AVG,)),)),
    ("groupby((bucket(phenomenonTime, 'PT15M')))",
     (GroupBy((Aliased(Bucket(TIME, seconds=900), "phenomenonTime"),)),)),
    ("groupby((bucket(phenomenonTime,'P1D','Europe/Rome') as day, Datastream/id))",
     (GroupBy((Aliased(Bucket(TIME, days=1, tz="Europe/Rome"), "day"),
               Aliased(Path(("Datastream", "id")), "Datastream/id"))),)),
    ("groupby((bucket(phenomenonTime,'P1W')))", (GroupBy((Aliased(Bucket(TIME, days=7), "phenomenonTime"),)),)),
    ("groupby((bucket(phenomenonTime,'P1M')))", (GroupBy((Aliased(Bucket(TIME, months=1), "phenomenonTime"),)),)),
    ("groupby((bucket(phenomenonTime,'P1Y')))", (GroupBy((Aliased(Bucket(TIME, months=12), "phenomenonTime"),)),)),
    ("groupby((bucket(phenomenonTime,'PT1H30M')))",
     (GroupBy((Aliased(Bucket(TIME, seconds=5400), "phenomenonTime"),)),)),
    ("filter(result gt 5)/aggregate(result with max as m)",
     (Filter(Compare("gt", RESULT, Literal(5, "int"))), Aggregate((AggregateItem(RESULT, "max", "m"),)))),
    ("filter(Datastream/Thing/properties/radialId eq 'R1' and name eq 'a/b')/aggregate($count as n)",
     (Filter(BoolOp("and", Compare("eq", Path(("Datastream", "Thing", "properties", "radialId")),
                                   Literal("R1", "string")),
                    Compare("eq", Path(("name",)), Literal("a/b", "string")))),
      Aggregate((AggregateItem(None, "count", "n"),)))),
    ("compute(result div 1000 as kw)/aggregate(kw with sum as s)",
     (Compute((Aliased(Arith("div", RESULT, Literal(1000, "int")), "kw"),)),
      Aggregate((AggregateItem(Path(("kw",)), "sum", "s"),)))),
    ("aggregate(result with timeweighted as tw, result with delta as kwh, result with countdistinct as k)",
     (Aggregate((AggregateItem(RESULT, "timeweighted", "tw"), AggregateItem(RESULT, "delta", "kwh"),
                 AggregateItem(RESULT, "countdistinct", "k"))),)),
    ("groupby((phenomenonTime))/fill()", (GroupBy((Aliased(TIME, "phenomenonTime"),)), Fill())),
    ("groupby((phenomenonTime))/fill(2026-03-29T00:00:00+01:00,'2026-03-30T00:00:00Z')",
     (GroupBy((Aliased(TIME, "phenomenonTime"),)),
      Fill(datetime(2026, 3, 29, tzinfo=timezone(timedelta(hours=1))), datetime(2026, 3, 30, tzinfo=UTC)))),
    ("  groupby( (name) , aggregate( $count  as  n ) ) ",
     (GroupBy((Aliased(Path(("name",)), "name"),), (AggregateItem(None, "count", "n"),)),)),
]


@pytest.mark.parametrize("text, expected", CASES)
def test_parse_apply_builds_the_transformations(text: str, expected: object) -> None:
    assert parse_apply(text) == expected


ERRORS = [
    ("", "empty"),
    ("groupby((name)", "missing ')'"),
    ("order(result)", "unknown transformation 'order'"),
    ("aggregate(result with median as m)", "unknown aggregation method 'median'"),
    ("aggregate(result as m)", "expected '<expression> with <method> as <alias>'"),
    ("aggregate(result with sum)", "expected '<expression> with <method> as <alias>'"),
    ("compute(result mul 2)", "needs 'as <alias>'"),
    ("groupby(name)", "parenthesised list of keys"),
    ("groupby((name),filter(x eq 1))", "must be aggregate"),
    ("groupby((result add 1))", "give 'result add 1' an alias"),
    ("groupby((bucket(phenomenonTime,'PT0S')))", "must be positive"),
    ("groupby((bucket(phenomenonTime,'P2M')))", "P1M, P3M or P1Y"),
    ("groupby((bucket(phenomenonTime,'P1DT1H')))", "combine days"),
    ("groupby((bucket(phenomenonTime,'1 hour')))", "not a bucket duration"),
    ("groupby((bucket(phenomenonTime,'PT1H','Mars/Olympus')))", "unknown time zone"),
    ("groupby((bucket(phenomenonTime,PT1H)))", "quoted strings"),
    ("groupby((bucket('PT1H')))", "takes a time property"),
    ("filter(result gt)", "$apply: in 'result gt'"),
    ("aggregate(result with sum as a, result with max as a)", "used twice"),
    ("groupby((name))/fill(yesterday, today)", "fill takes"),
    ("groupby((name))/fill('x','y')", "is not a datetime"),
]


@pytest.mark.parametrize("text, message", ERRORS)
def test_invalid_apply_is_a_400_with_a_message(text: str, message: str) -> None:
    with pytest.raises(InvalidQuery) as error:
        parse_apply(text)
    assert message in error.value.message
    assert error.value.target == "$apply"


def test_parse_query_accepts_apply() -> None:
    query = parse_query({"$apply": "aggregate($count as n)"})
    assert query.apply == (Aggregate((AggregateItem(None, "count", "n"),)),)
