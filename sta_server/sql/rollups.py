"""Keeping the hourly rollups right: "dirty buckets".

Writers mark (Datastream, UTC hour) pairs dirty in their own transaction with one upsert per
stream and batch (never a per-row trigger). The upsert takes a row lock (ON CONFLICT DO UPDATE),
so a concurrent refresh that deletes the same dirty row waits for the writer's commit and then
sees its Observations; a writer that comes after the refresh's delete inserts a new dirty row.
`refresh_dirty` (run by a reader before it uses rollups, or periodically) takes the dirty pairs
out, and recomputes their rows from the Observations.
"""
from __future__ import annotations

import logging
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    DateTime,
    Table,
    bindparam,
    delete,
    exists,
    func,
    literal,
    literal_column,
    select,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert

from sta_server.sql.rollup_tables import RollupDirty, RollupHourly
from sta_server.sql.tables import TABLES

log = logging.getLogger(__name__)
hourly: Table = RollupHourly.__table__  # type: ignore[assignment]
dirty: Table = RollupDirty.__table__  # type: ignore[assignment]
_observations = TABLES["observations"]
# constants in the SQL text, not bound: fewer parameters to send with every mark
_HOUR: ColumnElement[Any] = literal_column("interval '1 hour'")


def _hour(time: Any) -> ColumnElement[Any]:
    return func.date_trunc(literal_column("'hour'"), time, literal_column("'UTC'"))


def _upsert(rows: Any) -> Any:
    stmt = insert(dirty).from_select(["datastream_id", "hour"], rows)
    return stmt.on_conflict_do_update(index_elements=["datastream_id", "hour"],
                                      set_={"marks": dirty.c.marks + literal_column("1")})


def mark_dirty(conn: Connection, stream_table: str, stream_id: int, start: datetime, end: datetime) -> None:
    """Mark every hour of a Datastream from `start` to `end` dirty (MultiDatastreams have no rollups)."""
    if stream_table != "datastreams":
        return
    conn.execute(mark_statement(), {"stream": stream_id, "start": start, "end": end})


@cache
def mark_statement() -> Any:
    """mark_dirty's statement, built once (a single create binds three values)."""
    instant = DateTime(timezone=True)
    first, last = _hour(bindparam("start", type_=instant)), _hour(bindparam("end", type_=instant))
    hours = func.generate_series(first, last, _HOUR).table_valued("value").render_derived()
    return _upsert(select(bindparam("stream", type_=BigInteger), hours.c.value).order_by(hours.c.value))


def mark_from(stream: Any) -> Any:
    """mark_statement for the Datastream of a column (of a just-inserted row: nothing is marked
    without it), binding `start` and `end`."""
    instant = DateTime(timezone=True)
    first, last = _hour(bindparam("start", type_=instant)), _hour(bindparam("end", type_=instant))
    hours = func.generate_series(first, last, _HOUR).table_valued("value").render_derived()
    return _upsert(select(stream, hours.c.value).select_from(stream.table.join(hours, true()))
                   .order_by(hours.c.value))


def mark_dirty_hours(conn: Connection, pairs: set[tuple[int, datetime]]) -> None:
    """Mark (Datastream id, any time within the hour) pairs dirty, from times the caller has in
    hand (bulk creates): one statement with two array parameters, no look-up of the rows."""
    if not pairs:
        return
    ordered = sorted(pairs)
    given = func.unnest(literal([p[0] for p in ordered], ARRAY(BigInteger)),
                        literal([p[1] for p in ordered], ARRAY(DateTime(timezone=True)))
                        ).table_valued("stream", "time").render_derived()
    hour = _hour(given.c.time)
    conn.execute(_upsert(select(given.c.stream, hour.label("hour")).distinct().order_by(given.c.stream, "hour")))


def mark_dirty_where(conn: Connection, condition: ColumnElement[bool]) -> None:
    """Mark the hours of the stored Observations matching `condition` dirty (before they change
    or go, and after they changed)."""
    o = _observations
    rows = (select(o.c.datastream_id, _hour(o.c.phenomenon_time_start).label("hour"))
            .where(condition, o.c.datastream_id.isnot(None)).distinct()
            .order_by(o.c.datastream_id, "hour"))
    conn.execute(_upsert(rows))


def refresh_dirty(conn: Connection) -> int:
    """Recompute the dirty (Datastream, hour) pairs that no open transaction holds (those stay
    dirty: SKIP LOCKED); returns how many. The caller commits."""
    # One index range scan per pair, whatever the statistics say: right after a bulk load they
    # can make a sequential scan per pair look cheap (hours instead of seconds).
    conn.execute(select(func.set_config("enable_seqscan", "off", True)))
    free = select(dirty.c.datastream_id, dirty.c.hour).with_for_update(skip_locked=True)
    key = tuple_(dirty.c.datastream_id, dirty.c.hour)
    taken = conn.execute(delete(dirty).where(key.in_(free)).returning(dirty.c.datastream_id, dirty.c.hour)).all()
    if not taken:
        return 0
    streams = [int(row[0]) for row in taken]
    hours = [row[1] for row in taken]
    pairs = func.unnest(literal(streams, ARRAY(BigInteger)),
                        literal(hours, ARRAY(DateTime(timezone=True)))).table_valued("stream", "hour").render_derived()
    stale = tuple_(hourly.c.datastream_id, hourly.c.hour).in_(select(pairs.c.stream, pairs.c.hour))
    conn.execute(delete(hourly).where(stale))
    o = _observations
    per_hour = (select(func.count().label("n"), func.count(o.c.result_number).label("numbers"),
                       func.sum(o.c.result_number).label("total"), func.min(o.c.result_number).label("lo"),
                       func.max(o.c.result_number).label("hi"))
                .where(o.c.datastream_id == pairs.c.stream, o.c.phenomenon_time_start >= pairs.c.hour,
                       o.c.phenomenon_time_start < pairs.c.hour + _HOUR)
                .lateral())  # one index range scan per pair (a hash join would compare all pairs)
    stats = (select(pairs.c.stream, pairs.c.hour, per_hour.c.n, per_hour.c.numbers, per_hour.c.total,
                    per_hour.c.lo, per_hour.c.hi)
             .select_from(pairs.join(per_hour, true())).where(per_hour.c.n > 0))
    columns = ["datastream_id", "hour", "observations", "numbers", "total", "minimum", "maximum"]
    conn.execute(insert(hourly).from_select(columns, stats))
    log.debug("refreshed %s dirty hourly rollups", len(taken))
    return len(taken)


def any_dirty(conn: Connection) -> bool:
    return bool(conn.execute(select(exists().where(dirty.c.datastream_id.isnot(None)))).scalar())
