"""ISO 8601 instants and intervals on the wire (always written in UTC with `Z`)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

_ZERO = timedelta(0)


def format_instant(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.utcoffset() != _ZERO:  # the database session is in UTC: rarely taken
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat() + "Z"


def format_interval(start: datetime | None, end: datetime | None) -> str | None:
    if start is None:
        return None
    return f"{format_instant(start)}/{format_instant(end or start)}"


def format_time(start: datetime | None, end: datetime | None) -> str | None:
    """An instant when there is no end, else an interval (Observation.phenomenonTime)."""
    return format_instant(start) if end is None else format_interval(start, end)
