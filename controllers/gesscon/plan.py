"""The `ess_schedule` Task parameters for one battery (S4G-SYSTEM.md T7; read by agents/lessag/tasks.py):
`startTime` (ISO 8601 UTC), `resolution` (s), `powerProfile` (W, consumer sign: > 0 charging, one value per
step of a whole day) and `priority` (Count). Pure: the loop that creates the Tasks sits above it."""
from __future__ import annotations

from datetime import UTC
from typing import Any

from planning.schedule import Schedule, resample

SECONDS_PER_DAY = 86_400
RESOLUTIONS_S = (60, 900, 3600)  # the ones the LESSAg accepts


class PlanError(ValueError):
    """A schedule that cannot become an `ess_schedule` Task (wrong length or resolution)."""


def schedule_parameters(schedule: Schedule, resolution_s: int = 60, priority: int = 2) -> dict[str, Any]:
    """The Task's `taskingParameters` for the capability's resolution (the schedule is resampled to it)."""
    if resolution_s not in RESOLUTIONS_S:
        raise PlanError(f"resolution {resolution_s} s is not one of {list(RESOLUTIONS_S)}")
    at = resample(schedule, resolution_s)
    if len(at.power_w) * resolution_s != SECONDS_PER_DAY:
        raise PlanError(f"{len(at.power_w)} values at {resolution_s} s do not cover one day")
    start = at.start.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return {"startTime": start, "resolution": resolution_s,
            "powerProfile": [round(p, 1) + 0.0 for p in at.power_w], "priority": priority}
