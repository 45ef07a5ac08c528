"""Builders and plain-Python references for the $apply tests (no SQL here: the expected values
are computed independently of the server)."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask.testing import FlaskClient

from tests.conftest import LOCATION, get, make_datastream, post

Series = list[tuple[datetime, float]]
ROME = ZoneInfo("Europe/Rome")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def load(client: FlaskClient, stream: int, series: list[tuple[datetime, Any]]) -> None:
    """Store Observations through CreateObservations (the bulk path with its rollup marks)."""
    rows = [[t.isoformat(), v] for t, v in series]
    post(client, "CreateObservations", [{"Datastream": {"@iot.id": stream},
                                          "components": ["phenomenonTime", "result"], "dataArray": rows}])


def stream(client: FlaskClient, thing: dict[str, Any] | None = None, **extra: Any) -> int:
    if thing is None:
        return int(make_datastream(client, **extra)["@iot.id"])
    body = {"name": "Meter", "description": "meter", "Locations": [LOCATION], **thing}
    return int(make_datastream(client, post(client, "Things", body)["@iot.id"], **extra)["@iot.id"])


def apply(client: FlaskClient, path: str, text: str, status: int = 200, **params: str) -> Any:
    return get(client, path, status, **{"$apply": text, **params})


def rows(client: FlaskClient, path: str, text: str, **params: str) -> list[dict[str, Any]]:
    return list(apply(client, path, text, **params)["value"])


def by_key(found: list[dict[str, Any]], key: str, value: str) -> dict[str, Any]:
    return {datetime.fromisoformat(r[key]).astimezone(UTC).isoformat(): r[value] for r in found}


Bucketer = Callable[[datetime], tuple[datetime, datetime]]


def hour_of(t: datetime) -> tuple[datetime, datetime]:
    start = t.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return start, start + timedelta(hours=1)


def local_day_of(zone: ZoneInfo) -> Bucketer:
    def day(t: datetime) -> tuple[datetime, datetime]:
        local = t.astimezone(zone).date()
        start = datetime(local.year, local.month, local.day, tzinfo=zone)
        following = local + timedelta(days=1)
        return start.astimezone(UTC), datetime(following.year, following.month, following.day,
                                               tzinfo=zone).astimezone(UTC)
    return day


def grouped(series: Series, bucket: Bucketer) -> dict[str, list[float]]:
    groups: dict[str, list[float]] = defaultdict(list)
    for t, v in series:
        groups[bucket(t)[0].isoformat()].append(v)
    return groups


def _overlap(a: datetime, b: datetime, start: datetime, end: datetime) -> float:
    return max(0.0, (min(b, end) - max(a, start)).total_seconds())


def _buckets_between(a: datetime, b: datetime, bucket: Bucketer) -> list[tuple[datetime, datetime]]:
    found, (start, end) = [], bucket(a)
    while start <= b:
        found.append((start, end))
        start, end = bucket(end)
    return found


def time_weighted(series: Series, bucket: Bucketer) -> dict[str, float]:
    """Each value holds until the next Observation; weights are the seconds inside the bucket."""
    area: dict[str, float] = defaultdict(float)
    span: dict[str, float] = defaultdict(float)
    for (t, v), (t_next, _) in zip(series, series[1:], strict=False):
        for start, end in _buckets_between(t, t_next, bucket):
            seconds = _overlap(t, t_next, start, end)
            area[start.isoformat()] += v * seconds
            span[start.isoformat()] += seconds
    return {key: area[key] / span[key] for key in span if span[key] > 0}


def register_delta(series: Series, bucket: Bucketer) -> dict[str, float]:
    """Increments of a cumulative register (a drop is a reset to 0), shared over buckets in
    proportion to time (the register interpolated linearly at the bucket edges)."""
    delta: dict[str, float] = defaultdict(float)
    for (t, v), (t_next, v_next) in zip(series, series[1:], strict=False):
        increment = v_next - v if v_next >= v else v_next
        length = (t_next - t).total_seconds()
        for start, end in _buckets_between(t, t_next, bucket):
            seconds = _overlap(t, t_next, start, end)
            if seconds:
                delta[start.isoformat()] += increment * seconds / length
    return dict(delta)
