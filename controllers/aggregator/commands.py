"""The aggregator's commands (T5) and the rule that says which one is in force (pure).

A command is a Task on the `radial_service` capability of the radial's own GESSCon Thing (one per radial;
the GESSCon refuses a Task that names another radial): `radialId`, `solution` (economic,
peak_shaving, prevent_flicker, voltage_control), `action` (start, the default, or stop), `startTime` and an
optional `stopTime`. Each is accepted or refused with a reason (`judge`). Among the accepted commands of a
radial, **the latest accepted command whose span covers a moment decides it** (`solution_at`): a start
command selects its solution over [startTime, stopTime); a stop command ends, from its startTime on, every
command accepted before it (the radial returns to the default, economic); a command accepted later
overrides an earlier one where their spans overlap, and the earlier one is in force again after the later
one's stopTime. "Latest" is the Task's creationTime, then its id. A voltage_control command may carry its
band at the radial's transformer, `exportBand_W` (and `importBand_W`), numbers of W >= 0; without them the
GESSCon's own setting applies.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

DEFAULT_SOLUTION_TEXT = "economic"


class Solution(StrEnum):
    ECONOMIC = "economic"
    PEAK_SHAVING = "peak_shaving"
    PREVENT_FLICKER = "prevent_flicker"
    VOLTAGE_CONTROL = "voltage_control"


class Action(StrEnum):
    START = "start"
    STOP = "stop"


class CommandRefused(ValueError):
    """A command that cannot be taken: `code` (malformed, unknown-radial, unsupported, wrong-time)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


@dataclass(frozen=True)
class Command:
    task_id: int | str
    radial_id: str
    action: Action
    solution: Solution
    start: datetime
    stop: datetime | None
    created: datetime
    export_band_w: float | None = None
    import_band_w: float | None = None

    def covers(self, moment: datetime) -> bool:
        return self.start <= moment and (self.stop is None or moment < self.stop)

    @property
    def order(self) -> tuple[datetime, str]:
        return self.created, f"{self.task_id!s:>20}"


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    reason: str


def _time(parameters: Mapping[str, Any], name: str, required: bool) -> datetime | None:
    value = parameters.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise CommandRefused("malformed", f"{name} must be an ISO 8601 time")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise CommandRefused("malformed", f"{name}: {error}") from None
    if moment.tzinfo is None:
        raise CommandRefused("malformed", f"{name} has no time zone")
    return moment


def _token(parameters: Mapping[str, Any], name: str, kind: type[StrEnum], default: str) -> Any:
    value = parameters.get(name, default)
    try:
        return kind(value)
    except ValueError:
        raise CommandRefused("malformed", f"{name} {value!r} is not one of {[k.value for k in kind]}") from None


def _watts(parameters: Mapping[str, Any], name: str) -> float | None:
    value = parameters.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < float("inf"):
        raise CommandRefused("malformed", f"{name} must be a number of W >= 0, got {value!r}")
    return float(value)


def parse_command(task_id: int | str, parameters: Mapping[str, Any], created: datetime) -> Command:
    """A Task's parameters as a Command (CommandRefused "malformed" when they cannot be one)."""
    radial = parameters.get("radialId")
    if not isinstance(radial, str) or not radial:
        raise CommandRefused("malformed", "radialId must be a non-empty text")
    start = _time(parameters, "startTime", required=True)
    assert start is not None
    return Command(task_id, radial, _token(parameters, "action", Action, Action.START.value),
                   _token(parameters, "solution", Solution, DEFAULT_SOLUTION_TEXT), start,
                   _time(parameters, "stopTime", required=False), created, _watts(parameters, "exportBand_W"),
                   _watts(parameters, "importBand_W"))


def judge(command: Command, *, radials: Collection[str], supported: Collection[Solution], now: datetime,
          accepted: Sequence[Command] = ()) -> Verdict:
    """Accept or refuse a command; an accepted one that overlaps earlier accepted commands says which it
    overrides (the rule of the module doc)."""
    if command.radial_id not in radials:
        return Verdict(False, f"unknown-radial: {command.radial_id} is not a radial this GESSCon plans")
    if command.action == Action.START and command.solution not in supported:
        return Verdict(False, f"unsupported: solution {command.solution.value} is not modelled "
                              f"(supported: {', '.join(s.value for s in supported)})")
    if command.stop is not None and command.stop <= command.start:
        return Verdict(False, "wrong-time: stopTime is not after startTime")
    if command.stop is not None and command.stop <= now:
        return Verdict(False, "wrong-time: the command's span is over")
    overridden = [c for c in accepted if c.radial_id == command.radial_id and c.order < command.order
                  and _overlap(c, command)]
    if command.action == Action.STOP:
        if not overridden:
            return Verdict(False, f"nothing-to-stop: no accepted command of {command.radial_id} runs after "
                                  f"{command.start.isoformat()}")
        return Verdict(True, "accepted: stops task(s) " + ", ".join(str(c.task_id) for c in overridden))
    if overridden:
        return Verdict(True, "accepted: overrides task(s) " + ", ".join(str(c.task_id) for c in overridden)
                       + " where their spans overlap")
    return Verdict(True, "accepted")


def _overlap(a: Command, b: Command) -> bool:
    a_ends_after = a.stop is None or a.stop > b.start
    b_ends_after = b.stop is None or b.stop > a.start
    return a_ends_after and b_ends_after


def command_at(accepted: Sequence[Command], radial_id: str, moment: datetime) -> Command | None:
    """The accepted command in force on the radial at `moment` (a stop in force: None)."""
    covering = [c for c in accepted if c.radial_id == radial_id and c.covers(moment)]
    if not covering:
        return None
    latest = max(covering, key=lambda c: c.order)
    return None if latest.action == Action.STOP else latest


def solution_at(accepted: Sequence[Command], radial_id: str, moment: datetime) -> Solution:
    """The radial's solution at `moment`: the command in force, else economic."""
    command = command_at(accepted, radial_id, moment)
    return Solution.ECONOMIC if command is None else command.solution
