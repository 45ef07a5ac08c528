"""Monthly time partitions of `observations` (PostgreSQL declarative range partitioning).

`observations` is partitioned by `phenomenon_time_start` (migration 0006): one partition per
calendar month in UTC, `observations_pYYYYMM`, plus `observations_default` for any time outside the
created months. `ensure_partitions` is the maintenance job: it creates the partitions of the current
month and the `ahead` next ones, and gives every month the default partition holds rows of its own
partition (detach the default, create the month, move the rows, re-attach), so the default stays
empty in normal operation. It is idempotent and serialised by an advisory lock, so the server's
periodic run (`PartitionKeeper`) and a cron job (`python -m sta_server.sql.partitions`) can overlap.

Why months: the queries that matter (latest N of a stream, a day or a week of a stream, hourly
refreshes of the rollups) stay inside one or two partitions, and the partition count stays small
(12–36 for one to three years kept). That count matters because a lookup by `@iot.id` alone cannot
be pruned (the id says nothing about the time): it probes each partition's primary key index, and
the planner handles each partition of an unpruned query. Daily partitions would make a year 365 of
them. One Datastream at 1 s is 2.6 M rows a month; a partition of a few billion rows is still one
B-tree descent deeper than a smaller one, and a month is a convenient unit to detach or drop.

Nothing references `observations.id` by foreign key, so the composite primary key
`(id, phenomenon_time_start)` the partitioning requires changes no other table. The scoped role of
row-level security has rights on the parent only: reading a partition directly is refused to it.
"""
from __future__ import annotations

import argparse
import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine, text

from sta_server.settings import Settings

log = logging.getLogger(__name__)

PARENT = "observations"
DEFAULT = "observations_default"
PARTITION_NAME = re.compile(r"^observations_(p\d{6}|default)$")
_LOCK_KEY = 0x5354_5041_5254  # "STPART": one maintenance run at a time per database
LOCK_TIMEOUT = "5s"
COLUMNS = ("id", "phenomenon_time_start", "phenomenon_time_end", "result_number", "result_json",
            "result_time", "result_quality", "valid_time_start", "valid_time_end", "parameters",
            "datastream_id", "multi_datastream_id", "feature_of_interest_id")


def is_partition_name(name: str | None) -> bool:
    """Whether a table name is one of the partitions (Alembic's autogenerate ignores them)."""
    return bool(name and PARTITION_NAME.match(name))


def month_start(moment: datetime | date) -> date:
    return date(moment.year, moment.month, 1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"{PARENT}_p{month.year:04d}{month.month:02d}"


def _bound(month: date) -> str:
    return f"'{month.isoformat()} 00:00:00+00'"


def _end_bound(month: date) -> str:
    """The first instant after `month`; December 9999 ends in 10000, which PostgreSQL can write
    but Python's date cannot hold."""
    index = month.year * 12 + month.month
    return f"'{index // 12:04d}-{index % 12 + 1:02d}-01 00:00:00+00'"


def create_statement(month: date) -> str:
    return (f"CREATE TABLE IF NOT EXISTS {partition_name(month)} PARTITION OF {PARENT} "
            f"FOR VALUES FROM ({_bound(month)}) TO ({_end_bound(month)})")


@dataclass(frozen=True)
class Report:
    created: tuple[str, ...]
    moved_rows: int


def existing_months(conn: Connection) -> set[date]:
    """The months that have a partition (by name; the names are made only here)."""
    names = conn.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = CAST(:parent AS regclass)"), {"parent": PARENT}).scalars()
    months = set()
    for name in names:
        match = re.fullmatch(r"observations_p(\d{4})(\d{2})", name)
        if match:
            months.add(date(int(match[1]), int(match[2]), 1))
    return months


def _default_months(conn: Connection) -> list[date]:
    rows = conn.execute(text(
        f"SELECT DISTINCT CAST(date_trunc('month', phenomenon_time_start AT TIME ZONE 'UTC') AS date) "
        f"FROM {DEFAULT}")).scalars()
    return sorted(rows)


def ensure_partitions(conn: Connection, ahead: int = 3, now: datetime | None = None) -> Report:
    """Create the partitions of this month and `ahead` next ones, and of every month the default
    partition holds rows of (moving them). Runs in the caller's transaction; commit afterwards."""
    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    have = existing_months(conn)
    current = month_start(now or datetime.now(UTC))
    wanted = {add_months(current, n) for n in range(max(ahead, 0) + 1)}
    stray = [m for m in _default_months(conn) if m not in have]
    created = []
    moved = 0
    if stray or wanted - have:
        # Every lock at once, the parent's first as writers take them: the DDL below also locks the
        # default partition, which, taken piecemeal, deadlocks with a concurrent insert.
        conn.execute(text(f"LOCK TABLE {PARENT} IN ACCESS EXCLUSIVE MODE"))
    if stray:
        moved = _move_out_of_default(conn, stray)
        created += [partition_name(m) for m in stray]
        have |= set(stray)
    for month in sorted(wanted - have):
        # PostgreSQL checks that the default partition holds no row of the month (moved above)
        conn.execute(text(create_statement(month)))
        created.append(partition_name(month))
    if created:
        log.info("observation partitions created: %s (%d rows moved out of the default)",
                 ", ".join(created), moved)
    return Report(tuple(created), moved)


def _move_out_of_default(conn: Connection, months: Iterable[date]) -> int:
    """Detach the default partition, create the months, move their rows, re-attach it. The parent
    is locked meanwhile: reads and writes of Observations wait for the commit."""
    columns = ", ".join(COLUMNS)
    conn.execute(text(f"ALTER TABLE {PARENT} DETACH PARTITION {DEFAULT}"))
    moved = 0
    for month in months:
        conn.execute(text(create_statement(month)))
        window = (f"phenomenon_time_start >= {_bound(month)} "
                  f"AND phenomenon_time_start < {_end_bound(month)}")
        moved += conn.execute(text(
            f"WITH gone AS (DELETE FROM {DEFAULT} WHERE {window} RETURNING {columns}) "
            f"INSERT INTO {PARENT} ({columns}) SELECT {columns} FROM gone")).rowcount
    conn.execute(text(f"ALTER TABLE {PARENT} ATTACH PARTITION {DEFAULT} DEFAULT"))
    return moved


def run(engine: Engine, ahead: int) -> Report:
    """One run in its own transaction. Creating a partition locks the parent briefly; waiting long
    for that lock behind a long query would stall every request queued after it, so the run gives
    up after LOCK_TIMEOUT and the next one retries."""
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('lock_timeout', :t, true)"), {"t": LOCK_TIMEOUT})
        return ensure_partitions(conn, ahead)


def run_once(settings: Settings) -> None:
    """One run with an engine of its own (before the multi-process mode forks its workers); a failure
    is logged, not fatal: the partitions made ahead and the default partition cover the meantime."""
    from sta_server.sql.engine import make_engine

    engine = make_engine(settings)
    try:
        run(engine, settings.partition_months_ahead)
    except Exception:
        log.exception("observation partition maintenance failed")
    finally:
        engine.dispose()


class PartitionKeeper:
    """Runs `ensure_partitions` at start and then every `interval_s` in a daemon thread (one per
    deployment: the single server process, or the ingest process of the multi-process mode)."""

    def __init__(self, engine: Engine, ahead: int, interval_s: float = 3600.0) -> None:
        self.engine = engine
        self.ahead = ahead
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sta-partitions", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while True:  # a first run at once, even when stopped right after the start
            try:
                run(self.engine, self.ahead)
            except Exception:  # the next round retries; writes meanwhile go to existing partitions
                log.exception("observation partition maintenance failed")
            if self._stop.wait(self.interval_s):
                return


def main(argv: list[str] | None = None) -> None:
    """`python -m sta_server.sql.partitions [--ahead N]`: one maintenance run (for cron)."""
    from sta_server.sql.engine import make_engine

    settings = Settings.from_env()
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--ahead", type=int, default=settings.partition_months_ahead,
                        help="months to create ahead of the current one (STA_PARTITION_MONTHS_AHEAD)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    engine = make_engine(settings)
    try:
        report = run(engine, args.ahead)
    finally:
        engine.dispose()
    print(f"created {len(report.created)} partition(s){': ' + ', '.join(report.created) if report.created else ''};"
          f" {report.moved_rows} row(s) moved out of {DEFAULT}")


if __name__ == "__main__":
    main()
