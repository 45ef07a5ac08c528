"""Parse and check the LESSAg's Tasks (docs/tasking.md, S4G-SYSTEM.md T7): a day schedule (`startTime`,
`resolution` s, `powerProfile` of 86,400 / resolution values, `priority` scalar or one per value) and a
single set-point (`powerSetpoint`, `priority`, `startTime`, optional `stopTime`).

A Task the agent cannot honour raises `TaskRefused` with a reason code and a sentence; the plug-in
answers it with `setpointAccepted = false`."""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypeGuard

from agents.lessag.orders import Order, Source

SECONDS_PER_DAY = 86_400
YEARS = (2000, 2100)  # the times a Task may name
RESOLUTIONS_S = (60, 900, 3600)


class Refusal(StrEnum):
    WRONG_DAY = "wrong-day"
    WRONG_LENGTH = "wrong-length"
    OUT_OF_RANGE = "out-of-range"
    UNKNOWN_CAPABILITY = "unknown-capability"
    DUPLICATE = "duplicate"
    MALFORMED = "malformed"


class TaskRefused(Exception):
    def __init__(self, code: Refusal, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail

    @property
    def reason(self) -> str:
        return f"{self.code}: {self.detail}"


@dataclass(frozen=True)
class OrderRules:
    """What a capability's Tasks may ask of this ESS."""

    source: Source
    max_charge_w: float
    max_discharge_w: float
    priority_max: int
    resolution_s: int = 60  # the capability's schedule resolution (a Task may name another allowed one)
    horizon_s: float = 2 * SECONDS_PER_DAY  # how far ahead a schedule may start


class Deliveries:
    """Which Tasks an agent has seen: a Task delivered again, or one repeating the parameters of the Task
    last accepted on its capability (a re-sent order already in force), is a duplicate."""

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._latest: dict[str, tuple[int | str, str]] = {}  # capability → (Task id, parameters)

    def check(self, task_id: int | str, capability: str, params: Mapping[str, Any]) -> None:
        """Raises TaskRefused(DUPLICATE) for a Task answered before or repeating the order in force."""
        if str(task_id) in self._seen:
            raise TaskRefused(Refusal.DUPLICATE, f"Task {task_id} was delivered before")
        same = self._latest.get(capability)
        if same is not None and same[1] == _canonical(params):
            raise TaskRefused(Refusal.DUPLICATE, f"the same parameters as Task {same[0]}, which is in force")

    def answered(self, task_id: int | str) -> None:
        """The Task has its answer (accepted or not): a later delivery of it is a duplicate."""
        self._seen.add(str(task_id))

    def accepted(self, task_id: int | str, capability: str, params: Mapping[str, Any]) -> None:
        self._latest[capability] = (task_id, _canonical(params))


def _canonical(params: Mapping[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=str)


def parse_schedule(task_id: int | str, params: Mapping[str, Any], rules: OrderRules, now: datetime) -> Order:
    """A day schedule Task → an Order, or TaskRefused."""
    start = parse_time(params, "startTime")
    resolution_s = _resolution(params.get("resolution", rules.resolution_s))
    profile = params.get("powerProfile")
    if not isinstance(profile, list) or not all(is_number(v) for v in profile):
        raise TaskRefused(Refusal.MALFORMED, "powerProfile must be an array of numbers (W)")
    expected = SECONDS_PER_DAY // resolution_s
    if len(profile) != expected:
        raise TaskRefused(Refusal.WRONG_LENGTH,
                          f"{len(profile)} values at {resolution_s} s resolution, {expected} expected for a day")
    end = start + timedelta(seconds=SECONDS_PER_DAY)
    if end <= now:
        raise TaskRefused(Refusal.WRONG_DAY, f"the schedule for {start.isoformat()} to {end.isoformat()} is over")
    if (start - now).total_seconds() > rules.horizon_s:
        raise TaskRefused(Refusal.WRONG_DAY, f"the schedule starts {start.isoformat()}, beyond the planning horizon")
    powers = tuple(float(v) for v in profile)
    _check_powers(powers, rules)
    priority = _priorities(params.get("priority", rules.priority_max), len(powers), rules)
    return Order(task_id, rules.source, start, powers, priority, rules.priority_max, resolution_s=resolution_s)


def parse_setpoint(task_id: int | str, params: Mapping[str, Any], rules: OrderRules, now: datetime) -> Order:
    """A single set-point Task → an Order, or TaskRefused."""
    power = params.get("powerSetpoint")
    if not is_number(power):
        raise TaskRefused(Refusal.MALFORMED, "powerSetpoint must be a number (W)")
    start = parse_time(params, "startTime") if "startTime" in params else now
    stop = parse_time(params, "stopTime") if params.get("stopTime") is not None else None
    if stop is not None and stop <= max(start, now):
        raise TaskRefused(Refusal.WRONG_DAY, f"the set-point stopped at {stop.isoformat()}, which is over")
    powers = (float(power),)
    _check_powers(powers, rules)
    priority = _priorities(params.get("priority", rules.priority_max), 1, rules)
    return Order(task_id, rules.source, start, powers, priority, rules.priority_max, stop=stop)


def parse_time(params: Mapping[str, Any], name: str) -> datetime:
    text = params.get(name)
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise TaskRefused(Refusal.MALFORMED, f"{name} {text!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise TaskRefused(Refusal.MALFORMED, f"{name} {text!r} has no time zone")
    if not YEARS[0] <= moment.year <= YEARS[1]:
        raise TaskRefused(Refusal.MALFORMED, f"{name} {text!r} is outside the years {YEARS[0]}-{YEARS[1]}")
    return moment


def _resolution(value: Any) -> int:
    if not is_number(value) or int(value) != value or int(value) not in RESOLUTIONS_S:
        raise TaskRefused(Refusal.OUT_OF_RANGE, f"resolution {value!r} s is not one of {list(RESOLUTIONS_S)}")
    return int(value)


def _check_powers(powers: tuple[float, ...], rules: OrderRules) -> None:
    for step, power in enumerate(powers):
        if not -rules.max_discharge_w <= power <= rules.max_charge_w:
            raise TaskRefused(Refusal.OUT_OF_RANGE, f"power {power:g} W at step {step} is outside "
                                                    f"[{-rules.max_discharge_w:g}, {rules.max_charge_w:g}] W")


def _priorities(value: Any, count: int, rules: OrderRules) -> tuple[int, ...]:
    values = value if isinstance(value, list) else [value]
    if isinstance(value, list) and len(values) != count:
        raise TaskRefused(Refusal.WRONG_LENGTH, f"{len(values)} priorities for {count} values")
    for priority in values:
        if not is_number(priority) or int(priority) != priority or not 1 <= priority <= rules.priority_max:
            raise TaskRefused(Refusal.OUT_OF_RANGE, f"priority {priority!r} is outside 1..{rules.priority_max}")
    return tuple(int(p) for p in values)


def is_number(value: object) -> TypeGuard[int | float]:
    """A finite JSON number (not a boolean)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
