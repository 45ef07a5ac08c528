"""EV charging limits, pure: load-reduction profiles, and a site-wide limit shared among charge points.

Every limit is a cap, so the strictest one in force wins (a Task's priority is kept for the record):
a charge point's own profile, its share of the site's profile, and the LESSAg's `evLoadLimit`."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class LimitProfile:
    """A load-reduction Task: `max_power_w` per `resolution_s` step from `start`, for one charge point
    (`device`) or the whole site (None)."""

    task_id: int | str
    device: str | None
    start: datetime
    resolution_s: int
    max_power_w: tuple[float, ...]
    priority: int

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.resolution_s * len(self.max_power_w))

    def at(self, when: datetime) -> float | None:
        if not self.start <= when < self.end:
            return None
        return self.max_power_w[int((when - self.start).total_seconds() // self.resolution_s)]


def strictest(*limits: float | None) -> float | None:
    """The smallest of the limits given (None: no limit)."""
    present = [limit for limit in limits if limit is not None]
    return min(present) if present else None


def profile_limit(profiles: list[LimitProfile], device: str | None, when: datetime) -> float | None:
    """The strictest limit the profiles for `device` (None: site-wide) set at `when`."""
    return strictest(*(p.at(when) for p in profiles if p.device == device))


def share_w(total_w: float, demands_w: Mapping[str, float]) -> dict[str, float]:
    """`total_w` shared among charge points by water-filling: equal shares, and what a point does not need
    (its demand is below its share) goes to the others."""
    shares = {device: 0.0 for device in demands_w}
    left_w = max(0.0, total_w)
    open_points = sorted((d for d, demand in demands_w.items() if demand > 0), key=lambda d: demands_w[d])
    while open_points and left_w > 1e-9:
        equal_w = left_w / len(open_points)
        device = open_points[0]
        grant_w = min(equal_w, demands_w[device] - shares[device])
        if grant_w < equal_w:  # the smallest demand is met: give it that and share the rest again
            shares[device] += grant_w
            left_w -= grant_w
            open_points.pop(0)
            continue
        for device in open_points:
            shares[device] += equal_w
        left_w = 0.0
    return shares
