"""When the day-ahead round runs: once a day at `issue_time` (local, default 22:00) for the next local
day, so day D's forecasts exist before the controllers plan D (GESSCon at 23:00 of D-1 or 00:00 of D).

- Real time: APScheduler (`BackgroundScheduler` with a cron trigger in the zone), `start_realtime`.
- Accelerated and stepped time: `run_on_clock`, a loop on the project clock's `sleep_until`
  (APScheduler only knows wall time). The round's blocking HTTP runs in a worker thread.
- Catch-up: started after today's issue time, the loop first runs the round for tomorrow at once
  (a demo or a restart late in the evening still has tomorrow's forecast before planning).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from adapters.forecasts.jobs import RoundReport
from clock import Clock

log = logging.getLogger(__name__)

DEFAULT_ISSUE_TIME = time(22, 0)

Round = Callable[[date, datetime], RoundReport]


def next_issue(now: datetime, issue_time: time, zone: str, catch_up: bool = False) -> tuple[datetime, date]:
    """The next issue moment at or after `now` (UTC) and the local day it forecasts. With `catch_up`,
    a moment already past today is `now` itself (forecasting tomorrow)."""
    tz = ZoneInfo(zone)
    local_now = now.astimezone(tz)
    today_issue = datetime.combine(local_now.date(), issue_time, tz)
    if local_now <= today_issue:
        return today_issue.astimezone(UTC), local_now.date() + timedelta(days=1)
    if catch_up:
        return now.astimezone(UTC), local_now.date() + timedelta(days=1)
    tomorrow = local_now.date() + timedelta(days=1)
    return datetime.combine(tomorrow, issue_time, tz).astimezone(UTC), tomorrow + timedelta(days=1)


async def run_on_clock(clock: Clock, round_: Round, zone: str, issue_time: time = DEFAULT_ISSUE_TIME,
                       on_report: Callable[[RoundReport], Awaitable[None] | None] | None = None,
                       catch_up: bool = True) -> None:
    """Run `round_(day, issued_at)` every day at `issue_time` in `zone`, on `clock`, until cancelled."""
    first = True
    while True:
        moment, day = next_issue(clock.now(), issue_time, zone, catch_up=catch_up and first)
        first = False
        await clock.sleep_until(moment)
        issued_at = clock.now()
        log.info("day-ahead round for %s (issued %s)", day, issued_at)
        report = await asyncio.to_thread(round_, day, issued_at)
        if on_report is not None:
            done = on_report(report)
            if done is not None:
                await done
        # never twice for one day: wait past this issue moment before looking for the next one
        await clock.sleep_until(moment + timedelta(seconds=1))


def start_realtime(round_: Round, zone: str, issue_time: time = DEFAULT_ISSUE_TIME) -> Any:
    """An APScheduler `BackgroundScheduler` running the round daily at `issue_time` in `zone`
    (returned started; call `.shutdown()` to stop)."""
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.cron import CronTrigger

    def job() -> None:
        issued_at = datetime.now(UTC)
        round_(issued_at.astimezone(ZoneInfo(zone)).date() + timedelta(days=1), issued_at)

    scheduler = BackgroundScheduler(timezone=ZoneInfo(zone))
    scheduler.add_job(job, CronTrigger(hour=issue_time.hour, minute=issue_time.minute, timezone=ZoneInfo(zone)),
                      id="day-ahead-forecasts", max_instances=1, coalesce=True, misfire_grace_time=3600)
    scheduler.start()
    return scheduler
