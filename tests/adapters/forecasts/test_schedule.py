"""When the round runs: the next issue moment (pure, across DST), the clock loop on an accelerated
clock, and the APScheduler job in real time (its trigger; nothing waits for it)."""
from __future__ import annotations

import asyncio
import time as wall
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from adapters.forecasts.jobs import RoundReport
from adapters.forecasts.schedule import next_issue, run_on_clock, start_realtime
from clock import AcceleratedClock

CPH = "Europe/Copenhagen"


@pytest.mark.parametrize(("now", "catch_up", "expected"), [
    (datetime(2026, 6, 20, 10, tzinfo=UTC), False, (datetime(2026, 6, 20, 20, tzinfo=UTC), date(2026, 6, 21))),
    (datetime(2026, 6, 20, 20, 30, tzinfo=UTC), False, (datetime(2026, 6, 21, 20, tzinfo=UTC), date(2026, 6, 22))),
    (datetime(2026, 6, 20, 20, 30, tzinfo=UTC), True, (datetime(2026, 6, 20, 20, 30, tzinfo=UTC), date(2026, 6, 21))),
    # the evening before the autumn change is still CEST (UTC+2); the day after is CET (UTC+1)
    (datetime(2026, 10, 24, 12, tzinfo=UTC), False, (datetime(2026, 10, 24, 20, tzinfo=UTC), date(2026, 10, 25))),
    (datetime(2026, 10, 25, 12, tzinfo=UTC), False, (datetime(2026, 10, 25, 21, tzinfo=UTC), date(2026, 10, 26))),
])
def test_next_issue(now: datetime, catch_up: bool, expected: tuple[datetime, date]) -> None:
    assert next_issue(now, time(22, 0), CPH, catch_up=catch_up) == expected


def test_the_loop_runs_each_day_once_on_an_accelerated_clock() -> None:
    calls: list[tuple[date, datetime]] = []

    def round_(day: date, issued_at: datetime) -> RoundReport:
        calls.append((day, issued_at))
        return RoundReport(day, issued_at)

    async def scenario() -> None:
        clock = AcceleratedClock(datetime(2026, 6, 20, 19, 59, 30, tzinfo=UTC), factor=20000.0)  # a day in 4.3 s
        task = asyncio.create_task(run_on_clock(clock, round_, CPH, time(22, 0)))
        deadline = wall.monotonic() + 20
        while len(calls) < 2 and wall.monotonic() < deadline:
            await asyncio.sleep(0.01)
        task.cancel()

    asyncio.run(scenario())
    assert [day for day, _ in calls[:2]] == [date(2026, 6, 21), date(2026, 6, 22)]
    scheduled = datetime(2026, 6, 20, 22, tzinfo=ZoneInfo(CPH))
    assert scheduled <= calls[0][1] < scheduled + timedelta(minutes=30)  # 30 clock minutes = 90 ms of real lag
    assert calls[1][1] - calls[0][1] >= timedelta(hours=23)


def test_real_time_uses_an_apscheduler_cron_job_in_the_zone() -> None:
    scheduler = start_realtime(RoundReport, CPH, time(22, 0))
    try:
        job = scheduler.get_job("day-ahead-forecasts")
        next_run = job.next_run_time.astimezone(ZoneInfo(CPH))
        assert (next_run.hour, next_run.minute) == (22, 0)
        assert next_run - datetime.now(ZoneInfo(CPH)) <= timedelta(days=1)
    finally:
        scheduler.shutdown(wait=False)
