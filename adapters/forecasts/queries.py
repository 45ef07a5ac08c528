"""The documented forecast queries (docs/forecasts.md), as `sta_client` Query values (no I/O).

All run on `Datastreams(id)/Observations`:
- the issue time of the latest run: `$orderby=resultTime desc&$top=1&$select=resultTime`;
- the issue time of the latest run issued at or before t: the same with `$filter=resultTime le t`;
- a run's steps: `$filter=resultTime eq <issue>&$orderby=phenomenonTime&$select=phenomenonTime,result`
  (`resultTime eq` rather than `parameters/run eq`, because `resultTime` is a column, `parameters` JSON);
- the Observations of one run on several Datastreams (for replacing it): `$filter=Datastream/id in (…)
  and resultTime eq <issue> and parameters/run eq 'r'&$select=id,phenomenonTime,result` with
  `$resultFormat=dataArray` (grouped per Datastream, to compare a re-run with what is stored).
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sta_client.query import Query, datetime_literal, string_literal

STEP_PAGE = 10000


def latest_issue() -> Query:
    return Query().orderby("resultTime desc").top(1).select("resultTime")


def issue_at_or_before(moment: datetime) -> Query:
    return latest_issue().filter(f"resultTime le {datetime_literal(moment)}")


def run_steps(issued_at: datetime) -> Query:
    return (Query().filter(f"resultTime eq {datetime_literal(issued_at)}").orderby("phenomenonTime")
            .select("phenomenonTime", "result", "parameters").top(STEP_PAGE))


def run_members(run_id: str, issued_at: datetime, datastream_ids: Iterable[int | str]) -> Query:
    ids = ",".join(str(i) for i in datastream_ids)
    return (Query().filter(f"Datastream/id in ({ids}) and resultTime eq {datetime_literal(issued_at)}"
                           f" and parameters/run eq {string_literal(run_id)}")
            .select("id", "phenomenonTime", "result").result_format("dataArray").top(STEP_PAGE))


def by_key(key: str) -> Query:
    """An entity by its `properties.key` (forecast Things and Datastreams)."""
    return Query().filter(f"properties/key eq {string_literal(key)}").select("id", "properties").top(2)
