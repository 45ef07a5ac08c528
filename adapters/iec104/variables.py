"""The point map of the outstation (one station, common address 1 by default) and the option parser.

Monitoring points (outstation → SCADA), consumer sign convention (P > 0 = import / battery charging):

| IOA | type | Datastream key | unit | meaning |
|---|---|---|---|---|
| 1001 | M_ME_TF_1 | `P_grid` | W | active power at the PCC (float, CP56Time2a time tag) |
| 1002 | M_ME_TF_1 | `Q_grid` | var | reactive power at the PCC |
| 1003–1005 | M_ME_TF_1 | `V_grid` [L1, L2, L3] | V | phase voltages (components of the MultiDatastream) |
| 1006 | M_ME_NC_1 | `SoC` | % | battery state of charge (float, no time tag) |
| 1007 | M_ME_TF_1 | `P_ess` | W | battery power |
| 1101 | M_SP_TB_1 | `setpointAccepted` | – | the last set-point accepted by the ESS agent (single point, time tag) |

Commands (SCADA → outstation), each a Task of the site's TaskingCapability:

| IOA | type | capability | Task parameters |
|---|---|---|---|
| 2001 | C_SE_NC_1 | `ess_setpoint` | `powerSetpoint` = the value (W, consumer sign), `priority` 10, `startTime` now |
| 2002 | C_SC_NA_1 | `ess_setpoint` | ON: `powerSetpoint` 0 W (stop the battery's exchange), priority 10; OFF refused |

Options override the tables: `points: [{ioa, type, key, index?, unit?}]`, `commands: [{ioa, type, capability,
parameter?, on?: {...}, off?: {...}}]`.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

MONITOR_TYPES = frozenset({"M_ME_NC_1", "M_ME_TF_1", "M_SP_TB_1"})
COMMAND_TYPES = frozenset({"C_SE_NC_1", "C_SC_NA_1"})
HIGHEST_PRIORITY = 10  # the top of the ess-setpoint template's priority range (agents/site/capabilities.py)


@dataclass(frozen=True)
class MonitorPoint:
    ioa: int
    type: str
    key: str
    index: int | None = None  # component of a MultiDatastream reading


@dataclass(frozen=True)
class CommandPoint:
    ioa: int
    type: str
    capability: str
    parameter: str | None = "powerSetpoint"  # C_SE_NC_1: the Task parameter that takes the value
    on: Mapping[str, Any] | None = None  # C_SC_NA_1: the Task parameters of ON / OFF (None: refused)
    off: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class PointMap:
    monitors: tuple[MonitorPoint, ...]
    commands: tuple[CommandPoint, ...]
    common_address: int = 1
    priority: int = HIGHEST_PRIORITY
    extra: Mapping[str, Any] = field(default_factory=dict)

    def command(self, ioa: int) -> CommandPoint | None:
        return next((point for point in self.commands if point.ioa == ioa), None)


DEFAULT_MONITORS = (
    MonitorPoint(1001, "M_ME_TF_1", "P_grid"), MonitorPoint(1002, "M_ME_TF_1", "Q_grid"),
    MonitorPoint(1003, "M_ME_TF_1", "V_grid", 0), MonitorPoint(1004, "M_ME_TF_1", "V_grid", 1),
    MonitorPoint(1005, "M_ME_TF_1", "V_grid", 2), MonitorPoint(1006, "M_ME_NC_1", "SoC"),
    MonitorPoint(1007, "M_ME_TF_1", "P_ess"), MonitorPoint(1101, "M_SP_TB_1", "setpointAccepted"),
)
DEFAULT_COMMANDS = (
    CommandPoint(2001, "C_SE_NC_1", "ess_setpoint"),
    CommandPoint(2002, "C_SC_NA_1", "ess_setpoint", None, on={"powerSetpoint": 0.0}),
)


def point_map(options: Mapping[str, Any]) -> PointMap:
    """The point map of a plug-in's options (defaults above); raises ValueError on a bad entry."""
    monitors = tuple(_monitor(entry) for entry in options["points"]) if "points" in options else DEFAULT_MONITORS
    commands = tuple(_command(entry) for entry in options["commands"]) if "commands" in options \
        else DEFAULT_COMMANDS
    addresses = [point.ioa for point in monitors] + [point.ioa for point in commands]
    if len(set(addresses)) != len(addresses):
        raise ValueError(f"iec104: an information object address is used twice: {sorted(addresses)}")
    return PointMap(monitors, commands, int(options.get("common_address", 1)),
                    int(options.get("priority", HIGHEST_PRIORITY)))


def _monitor(entry: Mapping[str, Any]) -> MonitorPoint:
    if str(entry.get("type")) not in MONITOR_TYPES:
        raise ValueError(f"iec104 point {entry!r}: type must be one of {sorted(MONITOR_TYPES)}")
    index = entry.get("index")
    return MonitorPoint(int(entry["ioa"]), str(entry["type"]), str(entry["key"]), None if index is None else int(index))


def _command(entry: Mapping[str, Any]) -> CommandPoint:
    if str(entry.get("type")) not in COMMAND_TYPES:
        raise ValueError(f"iec104 command {entry!r}: type must be one of {sorted(COMMAND_TYPES)}")
    return CommandPoint(int(entry["ioa"]), str(entry["type"]), str(entry["capability"]), entry.get("parameter"),
                        entry.get("on"), entry.get("off"))


def monitor_value(point: MonitorPoint, value: object) -> float | bool | None:
    """What a point reports for a reading's value (None: nothing to report yet)."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        value = value[point.index] if point.index is not None and point.index < len(value) else None
    if point.type == "M_SP_TB_1":
        return None if value is None else bool(value) and value not in ("false", "off", "0")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
