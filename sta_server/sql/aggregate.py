"""`$apply` -> SQL: the path's entities, filtered and computed, grouped stage by stage; the last
stage ordered by its keys and paged. The first grouping comes from the hourly rollups when they
answer the same question (aggregate_rollup.py), else from the entities (plain GROUP BY, or the
per-stream series of aggregate_series.py for timeweighted/delta)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, DateTime, Select, and_, func, literal, select, true

from sta_server.errors import InvalidQuery
from sta_server.model import REGISTRY
from sta_server.query.ast import Aggregate, AggregateItem, Aliased, Apply, Bucket, Compute, Fill, Filter, GroupBy, Path
from sta_server.query.path import ResourcePath
from sta_server.sql.aggregate_exprs import NUMERIC, ExprCompiler, Value, aggregate_sql, bad_count
from sta_server.sql.aggregate_rollup import rollup_stage
from sta_server.sql.aggregate_series import SERIES_METHODS, SeriesInput, series_select
from sta_server.sql.aggregate_stage import OutColumn, Source, Stage, positions
from sta_server.sql.aggregate_time import key_series, start_of_key
from sta_server.sql.relations import table_of
from sta_server.sql.select import path_ids

MAX_FILL_BUCKETS = 100_000
_ANY_TYPE = REGISTRY.type("Observation")  # the root of stage compilers, which see aliases only


def _fail(message: str) -> InvalidQuery:
    return InvalidQuery(f"$apply: {message}", target="$apply")


@dataclass(frozen=True)
class Compiled:
    page: Select[Any]
    count: Select[Any]
    columns: list[OutColumn]
    checks: dict[str, str]
    rollups: bool


def source_of(path: ResourcePath) -> Source:
    entity_type, steps = path.entity_type, path.steps
    table = table_of(entity_type)
    first, last = steps[0], steps[-1]
    if (len(steps) == 2 and first.entity_type.name == "Datastream" and first.id is not None
            and last.link is not None and last.link.name == "Observations"):
        restriction: list[ColumnElement[bool]] = [table.c.datastream_id == first.id]
        return Source(entity_type, table, path.version, restriction, stream_id=first.id)
    ids = path_ids(path)
    restriction = [] if ids is None else [table.c.id.in_(ids)]
    return Source(entity_type, table, path.version, restriction, whole_set=len(steps) == 1)


def compile_apply(steps: Apply, path: ResourcePath, skip: int, top: int, *,
                  use_rollups: bool = True) -> Compiled:
    src = source_of(path)
    stage: Stage | None = None
    for step in steps:
        if isinstance(step, Filter):
            if stage is not None:
                raise _fail("filter() after a grouping is not supported; filter the entities before it")
            src.filters.append(step.condition)
        elif isinstance(step, Compute):
            if stage is None:
                src.computes.extend(step.items)
            else:
                stage = _compute_stage(stage, step.items, path.version)
        elif isinstance(step, GroupBy | Aggregate):
            keys, items = (step.keys, step.aggregates) if isinstance(step, GroupBy) else ((), step.items)
            if stage is None:
                stage = (rollup_stage(src, keys, items) if use_rollups else None) or _group_entities(
                    src, keys, items)
            else:
                stage = _group_stage(stage, keys, items, path.version)
        else:
            if stage is None:
                raise _fail("fill() needs a groupby(...) by bucket() before it")
            stage = _fill_stage(stage, step)
    if stage is None:
        raise _fail("needs groupby(...) or aggregate(...)")
    return _page(stage, skip, top)


def _key_value(compiler: ExprCompiler, key: Aliased, buckets: dict[str, Bucket]) -> Value:
    expr = key.expr
    if isinstance(expr, Path) and len(expr.segments) == 1 and expr.segments[0] in buckets:
        return Value(compiler.aliases[expr.segments[0]], buckets[expr.segments[0]])
    return compiler.value(expr)


def _key_column(name: str, value: Value) -> OutColumn:
    return OutColumn(name, "datetime" if value.bucket else value.typed.type, True, value.bucket)


def _group_entities(src: Source, keys: tuple[Aliased, ...], items: tuple[AggregateItem, ...]) -> Stage:
    compiler = ExprCompiler(src.entity_type, src.table, src.version, {})
    buckets: dict[str, Bucket] = {}
    for item in src.computes:
        value = compiler.value(item.expr)
        compiler.aliases[item.alias] = value.typed
        if value.bucket is not None:
            buckets[item.alias] = value.bucket
    where = [*src.restriction, *(compiler.boolean(f) for f in src.filters)]
    key_values = [(k.alias, _key_value(compiler, k, buckets)) for k in keys]
    inputs = [(a, None if a.expr is None else compiler.compile(a.expr)) for a in items]
    froms = [src.table, *(f for f, _ in compiler.scope)]
    where += [c for _, c in compiler.scope]
    out = [_key_column(n, v) for n, v in key_values] + [OutColumn(a.alias, "number", False) for a in items]
    if any(a.method in SERIES_METHODS for a in items):
        if src.entity_type.name != "Observation":
            raise _fail("timeweighted and delta aggregate Observations only")
        stmt, checks = series_select(SeriesInput(src.table, froms, where, key_values, inputs))
        return Stage(stmt, out, checks)
    columns: list[ColumnElement[Any]] = [v.typed.expr.label(n) for n, v in key_values]
    checks = {}
    for aggregate, typed in inputs:
        columns.append(aggregate_sql(aggregate.method, typed).label(aggregate.alias))
        bad = bad_count(typed) if typed is not None and aggregate.method in NUMERIC else None
        if bad is not None:
            columns.append(bad.label(f"_bad_{aggregate.alias}"))
            checks[f"_bad_{aggregate.alias}"] = aggregate.alias
    stmt = select(*columns).select_from(*froms).where(*where)
    return Stage(stmt.group_by(*positions(len(key_values))) if key_values else stmt, out, checks)


def _stage_compiler(stage: Stage, version: str) -> tuple[Any, ExprCompiler]:
    prev = stage.select.subquery()
    return prev, ExprCompiler(_ANY_TYPE, prev, version, stage.aliases(prev), entities=False)


def _group_stage(stage: Stage, keys: tuple[Aliased, ...], items: tuple[AggregateItem, ...],
                 version: str) -> Stage:
    prev, compiler = _stage_compiler(stage, version)
    buckets = {c.name: c.bucket for c in stage.columns if c.bucket is not None}
    key_values = [(k.alias, _key_value(compiler, k, buckets)) for k in keys]
    columns: list[ColumnElement[Any]] = [v.typed.expr.label(n) for n, v in key_values]
    out = [_key_column(n, v) for n, v in key_values]
    for item in items:
        typed = None if item.expr is None else compiler.compile(item.expr)
        columns.append(aggregate_sql(item.method, typed).label(item.alias))
        out.append(OutColumn(item.alias, "number", False))
    columns += [func.sum(prev.c[name]).label(name) for name in stage.checks]
    stmt = select(*columns).select_from(prev)
    if key_values:
        stmt = stmt.group_by(*positions(len(key_values)))
    return Stage(stmt, out, dict(stage.checks), stage.rollups)


def _compute_stage(stage: Stage, items: tuple[Aliased, ...], version: str) -> Stage:
    prev, compiler = _stage_compiler(stage, version)
    columns: list[ColumnElement[Any]] = [prev.c[c.name] for c in stage.columns]
    columns += [prev.c[name] for name in stage.checks]
    out = list(stage.columns)
    for item in items:
        value = compiler.value(item.expr)
        columns.append(value.typed.expr.label(item.alias))
        out.append(OutColumn(item.alias, "datetime" if value.bucket else value.typed.type, False, value.bucket))
    return Stage(select(*columns), out, dict(stage.checks), stage.rollups)


def _fill_bounds(bucket: Bucket, fill: Fill, prev: Any, name: str) -> tuple[Any, Any]:
    if fill.start is None or fill.end is None:
        return select(func.min(prev.c[name])).scalar_subquery(), select(func.max(prev.c[name])).scalar_subquery()
    if fill.end <= fill.start:
        raise _fail("fill() needs a start before its end")
    width = bucket.seconds or bucket.days * 86400 or bucket.months * 28 * 86400
    if (fill.end - fill.start).total_seconds() / width > MAX_FILL_BUCKETS:
        raise _fail(f"fill() would make more than {MAX_FILL_BUCKETS} buckets")
    last = fill.end - timedelta(microseconds=1)
    return literal(fill.start, DateTime(timezone=True)), literal(last, DateTime(timezone=True))


def _fill_stage(stage: Stage, fill: Fill) -> Stage:
    bucket_keys = [c for c in stage.key_columns() if c.bucket is not None]
    if len(bucket_keys) != 1:
        raise _fail("fill() needs exactly one bucket() among the keys of the grouping before it")
    key = bucket_keys[0]
    assert key.bucket is not None
    prev = stage.select.subquery()
    first, last = _fill_bounds(key.bucket, fill, prev, key.name)
    series = key_series(key.bucket, first, last).table_valued("value").render_derived()
    start = start_of_key(key.bucket, series.c.value)
    others = [c.name for c in stage.key_columns() if c is not key]
    base: Any = series
    matches = [prev.c[key.name] == start]
    if others:
        seen = select(*[prev.c[name] for name in others]).distinct().subquery()
        base = series.join(seen, true())
        matches += [prev.c[name].is_not_distinct_from(seen.c[name]) for name in others]
    columns = [start.label(c.name) if c is key else (seen.c[c.name] if c.name in others else prev.c[c.name])
               for c in stage.columns]
    columns += [prev.c[name] for name in stage.checks]
    stmt = select(*columns).select_from(base.outerjoin(prev, and_(*matches)))
    return Stage(stmt, list(stage.columns), dict(stage.checks), stage.rollups)


def _page(stage: Stage, skip: int, top: int) -> Compiled:
    result = stage.select.subquery("result")
    order = [result.c[c.name].asc().nulls_first() for c in stage.key_columns()]
    page = select(result).order_by(*order).offset(skip).limit(top + 1)
    count = select(func.count()).select_from(result)
    return Compiled(page, count, stage.columns, stage.checks, stage.rollups)
