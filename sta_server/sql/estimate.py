"""Counts that stay fast on huge tables: exact up to a threshold, the planner's estimate beyond.

`$count=true` on a 100-million-row Observations table would scan it; in `estimate` mode the server
counts at most `threshold + 1` matching rows, and when there are more, answers PostgreSQL's row
estimate for the query (from `EXPLAIN`), as FROST-Server's estimate count modes do."""
from __future__ import annotations

from typing import Any

from sqlalchemy import ClauseElement, Connection, Executable, Select, func, select
from sqlalchemy.ext.compiler import compiles


class Explain(Executable, ClauseElement):
    """`EXPLAIN (FORMAT JSON) <statement>` as a SQLAlchemy construct (bound parameters kept)."""

    inherit_cache = False

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement


@compiles(Explain, "postgresql")
def _compile_explain(element: Explain, compiler: Any, **kw: Any) -> str:
    return "EXPLAIN (FORMAT JSON) " + str(compiler.process(element.statement, **kw))


def planner_rows(conn: Connection, statement: Select[Any]) -> int:
    plan = conn.execute(Explain(statement)).scalar_one()
    return int(plan[0]["Plan"]["Plan Rows"])


def estimated_count(conn: Connection, rows: Select[Any], threshold: int) -> int:
    """Exact when at most `threshold` rows match `rows`; else the planner's estimate (never below
    threshold + 1, so an estimate is never smaller than what was seen)."""
    limited = select(func.count()).select_from(rows.limit(threshold + 1).subquery())
    seen = int(conn.execute(limited).scalar_one())
    if seen <= threshold:
        return seen
    return max(planner_rows(conn, rows), threshold + 1)
