"""Per-ESS schedule against actual: the `ess_schedule` Task's parameters (startTime, resolution,
powerProfile) as a step series, and the measured P and SoC Observations beside it on one time axis.
Pure.
"""
from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

DEFAULT_RESOLUTION_S = 60


def parse_time(text: str) -> datetime:
    """An ISO 8601 instant (`Z` or an offset); an interval's start."""
    return datetime.fromisoformat(text.split("/", maxsplit=1)[0].replace("Z", "+00:00"))


@dataclass(frozen=True)
class Step:
    start: datetime
    power_w: float


def planned_steps(parameters: Mapping[str, Any]) -> list[Step]:
    """The steps of one schedule Task (an empty list when its parameters are not a schedule)."""
    profile = parameters.get("powerProfile")
    start = parameters.get("startTime")
    if not isinstance(profile, list) or not isinstance(start, str):
        return []
    resolution = timedelta(seconds=float(parameters.get("resolution") or DEFAULT_RESOLUTION_S))
    first = parse_time(start)
    return [Step(first + i * resolution, float(power)) for i, power in enumerate(profile)]


def latest_plan(tasks: Sequence[Mapping[str, Any]]) -> list[Step]:
    """Tasks newest first: a later Task replaces an earlier one from its own start on."""
    merged: list[Step] = []
    for task in reversed(tasks):
        steps = planned_steps(task.get("taskingParameters") or {})
        if steps:
            merged = [step for step in merged if step.start < steps[0].start] + steps
    return merged


def planned_at(steps: Sequence[Step], moment: datetime) -> float | None:
    if not steps or moment < steps[0].start:
        return None
    return steps[bisect_right([s.start for s in steps], moment) - 1].power_w


@dataclass(frozen=True)
class Row:
    time: datetime
    planned_w: float | None
    actual_w: float | None
    soc_pct: float | None


def compare(steps: Sequence[Step], actual: Sequence[tuple[datetime, float]],
            soc: Sequence[tuple[datetime, float]]) -> list[Row]:
    """One row per step start and per measurement, in time order: the plan in force at that moment,
    the measurement (if one was taken then) and the last SoC known."""
    moments = sorted({s.start for s in steps} | {t for t, _ in actual})
    measured = dict(actual)
    soc_sorted = sorted(soc)
    soc_times = [t for t, _ in soc_sorted]
    rows = []
    for moment in moments:
        index = bisect_right(soc_times, moment) - 1
        rows.append(Row(moment, planned_at(steps, moment), measured.get(moment),
                        soc_sorted[index][1] if index >= 0 else None))
    return rows
