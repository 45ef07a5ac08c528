"""The write plan of a run (pure): first run, identical re-run, changed steps, a shorter re-run."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

from adapters.forecasts.rerun import StoredStep, plan_write
from adapters.forecasts.runs import ForecastRun

ISSUED = datetime(2026, 6, 20, 20, tzinfo=UTC)
INDEX = pd.date_range("2026-06-20T22:00Z", periods=4, freq="h")


def _run(values: list[float]) -> ForecastRun:
    return ForecastRun("pv", "P_pv_forecast", ISSUED, timedelta(hours=1), pd.Series(values, index=INDEX[:len(values)]))


def _stored(stream: int, values: list[float]) -> list[StoredStep]:
    return [StoredStep(stream, 100 + i, INDEX[i], value) for i, value in enumerate(values)]


def test_a_first_run_creates_every_step() -> None:
    plan = plan_write([(1, _run([1.0, 2.0, 3.0, 4.0]))], [])
    assert plan.deletes == () and plan.creates == 4


def test_an_identical_rerun_changes_nothing() -> None:
    plan = plan_write([(1, _run([1.0, 2.0, 3.0, 4.0]))], _stored(1, [1.0, 2.0, 3.0, 4.0]))
    assert plan.deletes == () and plan.groups == ()


def test_a_changed_step_is_deleted_and_created_again() -> None:
    plan = plan_write([(1, _run([1.0, 2.5, 3.0, 4.0]))], _stored(1, [1.0, 2.0, 3.0, 4.0]))
    assert plan.deletes == (101,) and plan.creates == 1
    assert plan.groups[0][1][0][1] == 2.5


def test_steps_no_longer_in_the_run_are_deleted() -> None:
    plan = plan_write([(1, _run([1.0, 2.0]))], _stored(1, [1.0, 2.0, 3.0, 4.0]))
    assert set(plan.deletes) == {102, 103} and plan.creates == 0


def test_streams_are_told_apart() -> None:
    plan = plan_write([(1, _run([1.0, 2.0])), (2, _run([1.0, 2.0]))], _stored(1, [1.0, 2.0]))
    assert plan.deletes == () and [stream for stream, _ in plan.groups] == [2]
