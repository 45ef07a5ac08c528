"""Forecast runs on the real server: bulk write, re-run replaces, stale flag, latest / issued-before."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from adapters.forecasts.runs import ForecastError, ForecastRun, day_steps
from adapters.forecasts.store import (
    find_or_create_forecast_thing,
    find_or_create_stream,
    mark_fresh,
    mark_stale,
    read_latest,
    read_run,
    write_runs,
)
from adapters.forecasts.streams import StreamSpec
from sta_client.http import StaClient

SPEC = StreamSpec("ghi", "GHI forecast", "watt per square metre", "W/m2", "ucum:W/m2", "Global horizontal irradiance",
                  "urn:s4g:op:ghi")
DAY = datetime(2026, 6, 21).date()


def _stream(sta: StaClient) -> int | str:
    thing = find_or_create_forecast_thing(sta, f"weather:test-{uuid.uuid4().hex[:6]}", "test point", 56.8, 8.9)
    return find_or_create_stream(sta, thing, SPEC)


def _run(issued: datetime, offset: float = 0.0) -> ForecastRun:
    steps = day_steps(DAY, "Europe/Copenhagen", timedelta(hours=1))
    return ForecastRun("weather", SPEC.key, issued, timedelta(hours=1),
                       pd.Series(np.arange(len(steps)) * 10.0 + offset, index=steps), source="test")


def _count(sta: StaClient, stream: int | str) -> int:
    from sta_client.query import Query

    page = sta.page(f"Datastreams({stream})/Observations", Query().count().top(0))
    return int(page.count or 0)


def test_find_or_create_is_idempotent(sta: StaClient) -> None:
    thing = find_or_create_forecast_thing(sta, "weather:idem", "idem point", 46.5, 11.35)
    assert find_or_create_forecast_thing(sta, "weather:idem", "idem point", 46.5, 11.35) == thing
    stream = find_or_create_stream(sta, thing, SPEC)
    assert find_or_create_stream(sta, thing, SPEC) == stream


def test_a_run_is_stored_step_by_step_with_issue_time_and_run_id(sta: StaClient) -> None:
    stream = _stream(sta)
    issued = datetime(2026, 6, 20, 21, 0, tzinfo=UTC)
    assert write_runs(sta, [(stream, _run(issued))]) == 24
    rows = sta.page(f"Datastreams({stream})/Observations").values
    first = min(rows, key=lambda row: row["phenomenonTime"])
    assert first["phenomenonTime"].startswith("2026-06-20T22:00:00") and "/" in first["phenomenonTime"]
    assert first["resultTime"].startswith("2026-06-20T21:00:00")
    assert first["parameters"]["run"] == "weather@2026-06-20T21:00:00Z"


def test_rerunning_the_same_run_replaces_it(sta: StaClient) -> None:
    stream = _stream(sta)
    issued = datetime(2026, 6, 20, 21, 0, tzinfo=UTC)
    write_runs(sta, [(stream, _run(issued))])
    write_runs(sta, [(stream, _run(issued, offset=1.0))])
    assert _count(sta, stream) == 24
    assert read_run(sta, stream, issued).iloc[0] == 1.0


def test_latest_and_issued_before(sta: StaClient) -> None:
    stream = _stream(sta)
    early, late = datetime(2026, 6, 20, 9, tzinfo=UTC), datetime(2026, 6, 20, 21, tzinfo=UTC)
    write_runs(sta, [(stream, _run(early, offset=5.0))])
    write_runs(sta, [(stream, _run(late, offset=7.0))])
    latest = read_latest(sta, stream)
    assert latest is not None and latest[0] == late and latest[1].iloc[0] == 7.0 and len(latest[1]) == 24
    before = read_latest(sta, stream, at_or_before=late - timedelta(minutes=1))
    assert before is not None and before[0] == early and before[1].iloc[0] == 5.0
    assert read_latest(sta, stream, at_or_before=early - timedelta(seconds=1)) is None


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_a_run_with_a_bad_value_writes_nothing(sta: StaClient, bad: float) -> None:
    stream = _stream(sta)
    run = _run(datetime(2026, 6, 20, 21, tzinfo=UTC))
    values = run.values.copy()
    values.iloc[5] = bad
    with pytest.raises(ForecastError, match="finite"):
        write_runs(sta, [(stream, ForecastRun("weather", SPEC.key, run.issued_at, run.step, values))])
    assert _count(sta, stream) == 0


def test_an_empty_run_writes_nothing(sta: StaClient) -> None:
    stream = _stream(sta)
    empty = pd.Series([], index=pd.DatetimeIndex([], tz="UTC"), dtype="float64")
    with pytest.raises(ForecastError, match="empty"):
        write_runs(sta, [(stream, ForecastRun("weather", SPEC.key, datetime(2026, 6, 20, tzinfo=UTC),
                                              timedelta(hours=1), empty))])
    assert _count(sta, stream) == 0


def test_stale_flag_keeps_the_last_good_run(sta: StaClient) -> None:
    stream = _stream(sta)
    issued = datetime(2026, 6, 20, 21, tzinfo=UTC)
    write_runs(sta, [(stream, _run(issued))])
    mark_stale(sta, stream, issued + timedelta(days=1), "timeout")
    properties = sta.get(f"Datastreams({stream})")["properties"]
    assert properties["stale"] is True and properties["staleReason"] == "timeout" and properties["key"] == SPEC.key
    assert _count(sta, stream) == 24
    mark_fresh(sta, stream, "weather@x")
    assert sta.get(f"Datastreams({stream})")["properties"]["stale"] is False
