"""Pure translation of a SCADA command into the parameters of a Task (no I/O)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from adapters.iec104.variables import CommandPoint


class CommandRefused(ValueError):
    """A command the outstation answers with a negative confirmation."""


@dataclass(frozen=True)
class ScadaCommand:
    """A command as received: its information object address, type and value."""

    ioa: int
    type: str
    value: float | bool


def task_parameters(point: CommandPoint, command: ScadaCommand, now: datetime, priority: int) -> dict[str, Any]:
    """The taskingParameters of the Task a command becomes (startTime now, the SCADA's priority)."""
    if command.type != point.type:
        raise CommandRefused(f"ioa {command.ioa}: {command.type} where {point.type} is expected")
    if point.type == "C_SE_NC_1":
        if isinstance(command.value, bool) or not math.isfinite(float(command.value)) or point.parameter is None:
            raise CommandRefused(f"ioa {command.ioa}: set-point {command.value!r} is not a finite number")
        chosen: dict[str, Any] = {point.parameter: float(command.value)}
    else:
        mapped = point.on if command.value else point.off
        if mapped is None:
            raise CommandRefused(f"ioa {command.ioa}: {'ON' if command.value else 'OFF'} is not mapped to a Task")
        chosen = dict(mapped)
    return {**chosen, "priority": priority, "startTime": now.isoformat().replace("+00:00", "Z")}
