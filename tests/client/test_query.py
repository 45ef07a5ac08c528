"""The query builder and literal helpers render what the server's grammar expects (pure)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from sta_client import Query, datetime_literal, literal, string_literal
from sta_client.paths import entity_path, id_from_link, relative_link


@pytest.mark.parametrize(("query", "expected"), [
    (Query(), {}),
    (Query().top(5), {"$top": "5"}),
    (Query().filter("result gt 3").filter("result lt 9"), {"$filter": "(result gt 3) and (result lt 9)"}),
    (Query().select("name", "id").orderby("id desc").skip(10).count(),
     {"$select": "name,id", "$orderby": "id desc", "$skip": "10", "$count": "true"}),
    (Query().expand("Datastreams"), {"$expand": "Datastreams"}),
    (Query().expand("Datastreams", Query().top(1).select("name")).expand("Locations"),
     {"$expand": "Datastreams($select=name;$top=1),Locations"}),
    (Query().expand("Datastreams", Query().filter("name eq 'a;b'").expand("Observations", Query().top(2))),
     {"$expand": "Datastreams($filter=name eq 'a;b';$expand=Observations($top=2))"}),
    (Query().result_format("dataArray"), {"$resultFormat": "dataArray"}),
    (Query().apply("groupby((bucket(phenomenonTime,'PT1H')),aggregate(result with average as avg))"),
     {"$apply": "groupby((bucket(phenomenonTime,'PT1H')),aggregate(result with average as avg))"}),
])
def test_query_renders_params(query: Query, expected: dict[str, str]) -> None:
    assert query.params() == expected


def test_queries_are_immutable() -> None:
    base = Query().top(1)
    base.select("name")
    assert base.params() == {"$top": "1"}
    with pytest.raises(ValueError):
        Query().top(-1)


@pytest.mark.parametrize(("value", "expected"), [
    ("O'Brien", "'O''Brien'"), ("", "''"), (3, "3"), (2.5, "2.5"), (True, "true"), (None, "null"),
    (datetime(2026, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2))), "2026-05-01T10:00:00Z"),
    (datetime(2026, 5, 1, 10, 0, 0, 250000, tzinfo=UTC), "2026-05-01T10:00:00.250000Z"),
])
def test_literals(value: object, expected: str) -> None:
    assert literal(value) == expected  # type: ignore[arg-type]


def test_literal_helpers_refuse_what_has_no_literal() -> None:
    assert string_literal("a''b") == "'a''''b'"
    with pytest.raises(ValueError):
        datetime_literal(datetime(2026, 5, 1))
    with pytest.raises(ValueError):
        literal(float("nan"))


@pytest.mark.parametrize(("link", "expected"), [
    ("http://h/v1.1/Observations(12)", 12), ("Things('a''b')", "a'b"), ("/sta/v1.1/Tasks(7)", 7),
])
def test_ids_from_links(link: str, expected: object) -> None:
    assert id_from_link(link) == expected


def test_paths_and_next_links() -> None:
    assert entity_path("Things", 5, "Datastreams") == "Things(5)/Datastreams"
    assert entity_path("Things", "x'y") == "Things('x''y')"
    assert relative_link("http://other:1/v1.1/Things?$top=2&$skip=2", "/v1.1") == "Things?$top=2&$skip=2"
    assert relative_link("http://other:1/elsewhere/Things", "/v1.1") == "http://other:1/elsewhere/Things"
