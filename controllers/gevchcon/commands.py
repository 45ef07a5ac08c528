"""The professional commands of D3.1 table 9, pure: Tasks on GEVChCon's own TaskingCapability, checked
(accepted or refused with a code and a reason), and the limits they put on a site's steps.

- `avoid_overload(radialId, startTime, stopTime[, maxPower])`: during the timespan the EV sites of the radial
  import at most `maxPower` W together (shared in proportion to their contracts), or by default
  `overload_fraction` of each site's contract.
- `voltage_control(radialId, startTime, stopTime[, maxPower])`: during the timespan the EV charging of the
  radial (the load that deepens the evening voltage drop) is at most `maxPower` W together (shared the same
  way), or by default `voltage_fraction` of each site's charge-point rating.

Conflicts: commands do not replace each other; every command in force is a cap and the strictest wins at
each step (a command is lifted when its timespan ends). A step is under a command when they overlap."""
from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

MAX_SPAN = timedelta(days=7)


class Action(StrEnum):
    AVOID_OVERLOAD = "avoid_overload"
    VOLTAGE_CONTROL = "voltage_control"


class Refusal(StrEnum):
    MALFORMED = "malformed"
    UNKNOWN_ACTION = "unknown-action"
    UNKNOWN_RADIAL = "unknown-radial"
    WRONG_TIMESPAN = "wrong-timespan"
    OUT_OF_RANGE = "out-of-range"


class CommandRefused(Exception):
    def __init__(self, code: Refusal, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = f"{code}: {reason}"


@dataclass(frozen=True)
class Command:
    task_id: int | str
    action: Action
    radial_id: str
    start: datetime
    stop: datetime
    max_power_w: float | None

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.start < end and start < self.stop


def _time(params: Mapping[str, Any], name: str) -> datetime:
    value = params.get(name)
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as error:
        raise CommandRefused(Refusal.MALFORMED, f"{name} must be an ISO 8601 time, got {value!r}") from error
    if when.tzinfo is None:
        raise CommandRefused(Refusal.MALFORMED, f"{name} needs a time zone")
    return when


def parse_command(task_id: int | str, params: Mapping[str, Any], radials: Collection[str],
                  now: datetime) -> Command:
    """A command Task's parameters, checked; `radials`: the radials GEVChCon has charging sites on."""
    try:
        action = Action(str(params.get("action")))
    except ValueError as error:
        raise CommandRefused(Refusal.UNKNOWN_ACTION, f"action {params.get('action')!r} is not one of "
                             f"{', '.join(a.value for a in Action)}") from error
    radial = params.get("radialId")
    if not isinstance(radial, str) or radial not in radials:
        raise CommandRefused(Refusal.UNKNOWN_RADIAL, f"no charging site of GEVChCon is on radial {radial!r}")
    start, stop = _time(params, "startTime"), _time(params, "stopTime")
    if not start < stop <= start + MAX_SPAN:
        raise CommandRefused(Refusal.WRONG_TIMESPAN, f"stopTime must be after startTime, within {MAX_SPAN.days} days")
    if stop <= now:
        raise CommandRefused(Refusal.WRONG_TIMESPAN, f"the timespan ended at {stop.isoformat()}")
    limit = params.get("maxPower")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int | float) or limit < 0):
        raise CommandRefused(Refusal.OUT_OF_RANGE, f"maxPower must be a number of W >= 0, got {limit!r}")
    return Command(task_id, action, radial, start, stop, None if limit is None else float(limit))


@dataclass(frozen=True)
class SiteShare:
    """What a site's caps derive from: its contract, its charge points' rating, its share of its radial."""

    radial_id: str
    contract_in_w: float
    ev_rating_w: float
    radial_share: float  # this site's contract / the contracts of GEVChCon's sites on the radial
    overload_fraction: float = 0.7
    voltage_fraction: float = 0.5


def command_caps(commands: Sequence[Command], site: SiteShare, start: datetime, step_s: int,
                 steps: int) -> tuple[list[float | None], list[float | None]]:
    """Per step: the strictest import cap and EV power cap the commands in force set (None: none)."""
    imports: list[float | None] = [None] * steps
    evs: list[float | None] = [None] * steps
    for command in commands:
        if command.radial_id != site.radial_id:
            continue
        if command.action is Action.AVOID_OVERLOAD:
            caps, default = imports, site.overload_fraction * site.contract_in_w
        else:
            caps, default = evs, site.voltage_fraction * site.ev_rating_w
        cap = default if command.max_power_w is None else command.max_power_w * site.radial_share
        for t in range(steps):
            begin = start + timedelta(seconds=t * step_s)
            if command.overlaps(begin, begin + timedelta(seconds=step_s)):
                current = caps[t]
                caps[t] = cap if current is None else min(current, cap)
    return imports, evs
