"""Aggregates over the time series of each Datastream: `timeweighted` and `delta`.

Each Observation i opens a segment [t_i, t_{i+1}) up to the next Observation of the same stream
(in the filtered set, ordered by phenomenonTime start, then id). A segment is cut at bucket edges
into pieces (LATERAL generate_series over the buckets it touches); a piece knows its overlap
with its bucket in seconds, and whether it is the piece of the bucket holding t_i (a "sample").

* timeweighted: sum(v_i * overlap) / sum(overlap) - the value holds until the next Observation
  (step, "last observation carried forward"); a bucket that only one Observation with no
  successor touches falls back to the plain mean.
* delta: the register's increment d = v_{i+1} - v_i, or v_{i+1} when the register dropped (a
  reset counts from 0), is shared over the pieces in proportion to their overlap: the
  difference of the linearly interpolated register between the bucket's edges.
* every other aggregate counts each Observation once, in its sample piece.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Double, FromClause, Select, and_, case, cast, func, over, select, true

from sta_server.errors import InvalidQuery
from sta_server.query.ast import AggregateItem, Bucket
from sta_server.sql.aggregate_exprs import Value, aggregate_sql, bad_count
from sta_server.sql.aggregate_stage import positions
from sta_server.sql.aggregate_time import bucket_end, key_of, start_of_key, step
from sta_server.sql.typed import Typed, as_number

SERIES_METHODS = frozenset({"timeweighted", "delta"})


@dataclass(frozen=True)
class SeriesInput:
    table: FromClause
    froms: list[FromClause]
    where: list[ColumnElement[bool]]
    keys: list[tuple[str, Value]]
    aggregates: list[tuple[AggregateItem, Typed | None]]


def _time_bucket(keys: list[tuple[str, Value]]) -> tuple[str, Bucket]:
    buckets = [(name, v.bucket) for name, v in keys if v.bucket is not None]
    if len(buckets) != 1 or buckets[0][1].time.segments != ("phenomenonTime",):
        raise InvalidQuery("$apply: timeweighted and delta need exactly one group key "
                           "bucket(phenomenonTime, ...)", target="$apply")
    return buckets[0]


def _inner(src: SeriesInput) -> Select[Any]:
    t = src.table.c.phenomenon_time_start
    partition = [src.table.c.datastream_id, src.table.c.multi_datastream_id]
    order = [t, src.table.c.id]
    columns = [t.label("_t"), over(func.lead(t), partition_by=partition, order_by=order).label("_nt")]
    for index, (_name, key) in enumerate(src.keys):
        if key.bucket is None:
            columns.append(key.typed.expr.label(f"_k{index}"))
    for index, (item, value) in enumerate(src.aggregates):
        if value is None:
            continue
        columns.append(value.expr.label(f"_a{index}"))
        if value.json is not None:
            columns.append(value.json.label(f"_j{index}"))
        if item.method in SERIES_METHODS:
            lead = over(func.lead(as_number(value)), partition_by=partition, order_by=order)
            columns.append(lead.label(f"_n{index}"))
    return select(*columns).select_from(*src.froms).where(*src.where)


def _seconds(interval: ColumnElement[Any]) -> ColumnElement[Any]:
    return cast(func.extract("epoch", interval), Double)


def _typed(inner: FromClause, index: int, value: Typed) -> Typed:
    json = inner.c[f"_j{index}"] if value.json is not None else None
    return Typed(inner.c[f"_a{index}"], value.type, json=json)


def series_select(src: SeriesInput) -> tuple[Select[Any], dict[str, str]]:
    """The grouped select (one row per bucket and other keys) and its non-numeric checks."""
    bucket_name, bucket = _time_bucket(src.keys)
    inner = _inner(src).subquery()
    t, next_t = inner.c["_t"], inner.c["_nt"]
    keys = func.generate_series(key_of(bucket, t), key_of(bucket, func.coalesce(next_t, t)), step(bucket))
    piece = keys.table_valued("value").render_derived().lateral()
    start = start_of_key(bucket, piece.c.value)
    end = func.coalesce(next_t, t)
    overlap = func.greatest(0.0, _seconds(func.least(end, bucket_end(bucket, start)) - func.greatest(t, start)))
    seg_len = _seconds(end - t)
    sample = piece.c.value == key_of(bucket, t)
    group = [start.label(bucket_name)]
    group += [inner.c[f"_k{i}"].label(name) for i, (name, v) in enumerate(src.keys) if v.bucket is None]
    columns: list[ColumnElement[Any]] = list(group)
    checks: dict[str, str] = {}
    for index, (item, value) in enumerate(src.aggregates):
        expr: ColumnElement[Any]
        typed = None if value is None else _typed(inner, index, value)
        if item.method == "timeweighted":
            assert typed is not None
            v = as_number(typed)
            weighted = func.sum(v * overlap) / func.nullif(func.sum(case((v.isnot(None), overlap))), 0)
            expr = func.coalesce(weighted, func.avg(v).filter(sample))
        elif item.method == "delta":
            assert typed is not None
            v, nv = as_number(typed), inner.c[f"_n{index}"]
            increment = case((nv >= v, nv - v), else_=nv)
            expr = func.sum(case((seg_len > 0, increment * overlap / seg_len), else_=increment))
        else:
            expr = aggregate_sql(item.method, typed, sample)
        columns.append(expr.label(item.alias))
        bad = bad_count(typed, sample) if typed is not None and item.method != "count" else None
        if bad is not None and item.method != "countdistinct":
            columns.append(bad.label(f"_bad_{item.alias}"))
            checks[f"_bad_{item.alias}"] = item.alias
    stmt = select(*columns).select_from(inner.join(piece, true()))
    stmt = stmt.where(and_(true(), (overlap > 0) | sample))
    return stmt.group_by(*positions(len(group))), checks
