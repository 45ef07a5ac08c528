"""Parse and check the LEVChAg's Tasks: load reduction (`startTime`, `maxPowerProfile` W per step of the
capability's resolution, up to a day; optional `priority`) and charge-point enable (`enabled`)."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from agents.lessag.tasks import Refusal, TaskRefused, is_number, parse_time
from agents.levchag.limits import LimitProfile

SECONDS_PER_DAY = 86_400
PRIORITY_MAX = 10


def parse_load_reduction(task_id: int | str, params: Mapping[str, Any], device: str | None, resolution_s: int,
                         max_power_w: float, now: datetime) -> LimitProfile:
    start = parse_time(params, "startTime")
    profile = params.get("maxPowerProfile")
    if not isinstance(profile, list) or not profile or not all(is_number(v) for v in profile):
        raise TaskRefused(Refusal.MALFORMED, "maxPowerProfile must be a non-empty array of numbers (W)")
    steps = SECONDS_PER_DAY // resolution_s
    if len(profile) > steps:
        raise TaskRefused(Refusal.WRONG_LENGTH,
                          f"{len(profile)} values at {resolution_s} s resolution, at most {steps} (a day)")
    end = start + timedelta(seconds=resolution_s * len(profile))
    if end <= now:
        raise TaskRefused(Refusal.WRONG_DAY, f"the profile for {start.isoformat()} to {end.isoformat()} is over")
    for step, value in enumerate(profile):
        if not 0 <= value <= max_power_w:
            raise TaskRefused(Refusal.OUT_OF_RANGE,
                              f"limit {value:g} W at step {step} is outside [0, {max_power_w:g}] W")
    priority = params.get("priority", PRIORITY_MAX)
    if not is_number(priority) or int(priority) != priority or not 1 <= priority <= PRIORITY_MAX:
        raise TaskRefused(Refusal.OUT_OF_RANGE, f"priority {priority!r} is outside 1..{PRIORITY_MAX}")
    return LimitProfile(task_id, device, start, resolution_s, tuple(float(v) for v in profile), int(priority))


def parse_enable(params: Mapping[str, Any]) -> bool:
    enabled = params.get("enabled")
    if not isinstance(enabled, bool):
        raise TaskRefused(Refusal.MALFORMED, "enabled must be true or false")
    return enabled
