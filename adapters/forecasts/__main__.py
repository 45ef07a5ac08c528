"""`python -m adapters.forecasts`: the day-ahead forecast service (configuration: settings.py).

Real time runs the round with APScheduler; accelerated and stepped clocks with the clock loop.
Exit status 2 on a configuration error."""
from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from adapters.forecasts.jobs import RoundReport, run_day_ahead
from adapters.forecasts.schedule import run_on_clock, start_realtime
from adapters.forecasts.settings import ForecastSettings, SettingsError
from clock import RealClock, clock_from_env
from sta_client.http import StaClient
from sta_client.settings import ClientSettings

log = logging.getLogger("adapters.forecasts")


def main() -> int:
    logging.basicConfig(level=os.environ.get("S4G_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = ForecastSettings.from_env(os.environ)
        clock = clock_from_env(os.environ)
    except (SettingsError, ValueError) as error:
        log.error("configuration: %s", error)
        return 2
    zone = settings.config.zone
    with StaClient(ClientSettings.from_env()) as sta:
        def round_(day: date, issued_at: datetime) -> RoundReport:
            return run_day_ahead(sta, settings.config, day, issued_at)

        if settings.once:
            now = clock.now()
            run_day_ahead(sta, settings.config, now.astimezone(ZoneInfo(zone)).date() + timedelta(days=1), now)
            return 0
        if isinstance(clock, RealClock):
            scheduler = start_realtime(round_, zone, settings.issue_time)
            log.info("forecasts scheduled daily at %s %s", settings.issue_time, zone)
            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                scheduler.shutdown()
            return 0
        asyncio.run(run_on_clock(clock, round_, zone, settings.issue_time))
    return 0


if __name__ == "__main__":
    sys.exit(main())
