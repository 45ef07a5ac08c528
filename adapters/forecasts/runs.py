"""A forecast run as data: which Datastream, issued when, one value per future step.

On the server a run is one Observation per step: `phenomenonTime` = the step as an interval
`start/end` (values are step means), `resultTime` = the issue time, `parameters.run` = the run id
(deterministic: product + issue time, so re-running the same run names the same Observations),
`parameters.source` = where the inputs came from. A run is checked whole before anything is sent:
no step may be NaN/infinite, the steps must be regular and non-empty.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

COMPONENTS = ("phenomenonTime", "result", "resultTime", "parameters")


class ForecastError(ValueError):
    """A run that must not be written (nothing of it is)."""


@dataclass(frozen=True)
class ForecastRun:
    """One run of one product for one Datastream (`target`: the Datastream's `properties.key`)."""

    product: str
    target: str
    issued_at: datetime
    step: timedelta
    values: pd.Series
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return run_id(self.product, self.issued_at)


def run_id(product: str, issued_at: datetime) -> str:
    """`<product>@<issue time, UTC, to the second>`, e.g. `pv@2026-06-20T23:00:00Z`."""
    return f"{product}@{issued_at.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


def day_steps(day: date, zone: str, step: timedelta) -> pd.DatetimeIndex:
    """Step starts (UTC) covering local day `day` in `zone`: 24 h of steps normally, 23 h on the
    spring DST day and 25 h on the autumn one."""
    tz = ZoneInfo(zone)
    start = datetime.combine(day, time(0), tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tz).astimezone(UTC)
    return pd.date_range(start, end, freq=step, inclusive="left")


def check_run(run: ForecastRun) -> None:
    """Raise `ForecastError` unless the run is whole (see module doc)."""
    values = run.values
    if values.empty:
        raise ForecastError(f"{run.target}: empty forecast")
    if not isinstance(values.index, pd.DatetimeIndex) or values.index.tz is None:
        raise ForecastError(f"{run.target}: steps are not timezone-aware times")
    bad = [str(t) for t, v in values.items() if not isinstance(v, int | float) or not math.isfinite(v)]
    if bad:
        raise ForecastError(f"{run.target}: {len(bad)} steps without a finite value, first {bad[0]}")
    if len(values) > 1 and (values.index.to_series().diff().dropna() != pd.Timedelta(run.step)).any():
        raise ForecastError(f"{run.target}: steps are not a regular {run.step} grid")
    if run.issued_at.tzinfo is None:
        raise ForecastError(f"{run.target}: issue time without a timezone")


def rows_of(run: ForecastRun) -> list[list[Any]]:
    """The run's dataArray rows in `COMPONENTS` order (call `check_run` first)."""
    issued = _iso(run.issued_at)
    parameters = {"run": run.run_id, "source": run.source, **run.extra}
    return [[f"{_iso(start)}/{_iso(start + run.step)}", float(value), issued, parameters]
            for start, value in run.values.items()]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
