"""What the server's measurements say about the EV at each charge point, pure: since when it is plugged in
(the OCPP-like status stream), how much it has had (its power stream integrated), and, from the site's EV
assumptions, when it leaves and how much it still needs."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

SECONDS_PER_HOUR = 3600.0
IDLE_STATUSES = frozenset({"Available", "Unavailable", "Faulted"})
FULL_STATUSES = frozenset({"SuspendedEV", "Finishing"})


@dataclass(frozen=True)
class EvAssumptions:
    """What a charge point does not tell: each EV's energy need and its departure (hours after midnight UTC;
    an EV seen after that hour leaves the next day at it, one still there later gets `overstay_s` more)."""

    energy_need_wh: float = 9000.0
    departure_h: float = 7.32
    overstay_s: float = 3600.0


@dataclass(frozen=True)
class PointReadings:
    """A charge point's recent status and power Observations, oldest first (time, value)."""

    device: str
    max_power_w: float
    statuses: Sequence[tuple[datetime, str]]
    powers: Sequence[tuple[datetime, float]]


@dataclass(frozen=True)
class EvEstimate:
    device: str
    plugged_since: datetime
    delivered_wh: float
    departure: datetime
    remaining_wh: float
    full: bool  # the EV says it takes no more (SuspendedEV)


def plugged_since(statuses: Sequence[tuple[datetime, str]]) -> datetime | None:
    """The start of the current plugged-in run of statuses (None: nothing plugged in now)."""
    if not statuses or statuses[-1][1] in IDLE_STATUSES:
        return None
    since = statuses[-1][0]
    for when, status in reversed(statuses):
        if status in IDLE_STATUSES:
            break
        since = when
    return since


def delivered_wh(powers: Sequence[tuple[datetime, float]], since: datetime) -> float:
    """Energy since `since`: each reading is the mean power over the interval it ends."""
    energy_wh, previous = 0.0, since
    for when, power_w in powers:
        if when <= since:
            continue
        energy_wh += max(0.0, power_w) * (when - previous).total_seconds() / SECONDS_PER_HOUR
        previous = when
    return energy_wh


def departure_after(since: datetime, now: datetime, assumptions: EvAssumptions) -> datetime:
    """The assumed departure: the first departure hour after the plug-in, or a while after now when the EV
    overstays it."""
    day = datetime.combine(since.date(), time(0), tzinfo=since.tzinfo)
    departure = day + timedelta(hours=assumptions.departure_h)
    if departure <= since:
        departure += timedelta(days=1)
    return max(departure, now + timedelta(seconds=assumptions.overstay_s)) if departure <= now else departure


def estimate(point: PointReadings, now: datetime, assumptions: EvAssumptions) -> EvEstimate | None:
    """The EV plugged in at the point now, or None."""
    since = plugged_since(point.statuses)
    if since is None:
        return None
    delivered = delivered_wh(point.powers, since)
    full = point.statuses[-1][1] in FULL_STATUSES
    remaining = 0.0 if full else max(0.0, assumptions.energy_need_wh - delivered)
    return EvEstimate(point.device, since, delivered, departure_after(since, now, assumptions), remaining, full)
