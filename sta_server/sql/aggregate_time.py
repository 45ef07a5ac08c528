"""Time buckets in SQL: which bucket a timestamptz falls in, the next bucket, a series of buckets.

Every bucket is computed through a *key*: for fixed strides (`PT15M`, `PT1H`) the key is the
bucket start itself, `date_bin` over absolute time with the origin at local midnight of
2000-01-03 (a Monday) in the query's zone, so hours and quarters follow the local clock in zones
with whole-hour offsets, also across daylight-saving changes. For day strides (`P1D`, `P1W`) the
key is the local wall-clock date-time (`timezone(tz, t)`), binned in local time and turned back
into a timestamptz, so a local day on a daylight-saving change lasts 23 or 25 hours. Calendar
strides (`P1M`, `P3M`, `P1Y`) use `date_trunc` on local time the same way.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, DateTime, func, literal

from sta_server.query.ast import Bucket

_LOCAL_ORIGIN = datetime(2000, 1, 3)
_TRUNC = {1: "month", 3: "quarter", 12: "year"}


def origin(bucket: Bucket) -> datetime:
    """The absolute origin of fixed buckets: local midnight of 2000-01-03 in the bucket's zone."""
    return _LOCAL_ORIGIN.replace(tzinfo=ZoneInfo(bucket.tz))


def step(bucket: Bucket) -> ColumnElement[Any]:
    if bucket.seconds:
        return func.make_interval(0, 0, 0, 0, 0, 0, bucket.seconds)
    if bucket.days:
        return func.make_interval(0, 0, 0, bucket.days)
    return func.make_interval(0, bucket.months)


def key_of(bucket: Bucket, time: ColumnElement[Any]) -> ColumnElement[Any]:
    """The key of the bucket holding `time`."""
    if bucket.seconds:
        when = literal(origin(bucket), DateTime(timezone=True))
        return func.date_bin(step(bucket), time, when)
    local = func.timezone(bucket.tz, time)
    if bucket.days:
        return func.date_bin(step(bucket), local, literal(_LOCAL_ORIGIN, DateTime()))
    return func.date_trunc(_TRUNC[bucket.months], local)


def start_of_key(bucket: Bucket, key: ColumnElement[Any]) -> ColumnElement[Any]:
    """The absolute start (timestamptz) of the bucket with this key."""
    return key if bucket.seconds else func.timezone(bucket.tz, key)


def bucket_start(bucket: Bucket, time: ColumnElement[Any]) -> ColumnElement[Any]:
    return start_of_key(bucket, key_of(bucket, time))


def bucket_end(bucket: Bucket, start: ColumnElement[Any]) -> ColumnElement[Any]:
    """The end (exclusive) of the bucket starting at `start`."""
    if bucket.seconds:
        return start + step(bucket)
    return func.timezone(bucket.tz, func.timezone(bucket.tz, start) + step(bucket))


def key_series(bucket: Bucket, first: ColumnElement[Any], last: ColumnElement[Any]) -> Any:
    """A table-valued generate_series of the bucket keys from `first`'s bucket to `last`'s."""
    return func.generate_series(key_of(bucket, first), key_of(bucket, last), step(bucket))


def whole_hours(bucket: Bucket) -> bool:
    """Whether every bucket is a union of whole UTC hours (so hourly rollups can answer it)."""
    if bucket.seconds and bucket.seconds % 3600:
        return False
    zone = ZoneInfo(bucket.tz)
    samples = [datetime(year, month, 1, tzinfo=zone) for year in (2000, 2026) for month in (1, 7)]
    return all((s.utcoffset() or timedelta()) % timedelta(hours=1) == timedelta() for s in samples)


def local_text(value: datetime | None, tz: str) -> str | None:
    """A bucket start as ISO 8601 text with the zone's offset at that instant."""
    return None if value is None else value.astimezone(ZoneInfo(tz)).isoformat()
