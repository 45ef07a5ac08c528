"""The register map of the commercial ESS (D3.1 table 14), unit id 1. Addresses are 0-based PDU addresses;
32-bit values are big-endian with the high word first. Device sign convention: GENERATOR (a set-point or
power > 0 discharges the battery into the grid), so the connector flips set-points and the signed power
into the site's consumer convention.

Input registers (function code 4), read-only measurements:

| addr | name | type | unit | scale | meaning |
|---|---|---|---|---|---|
| 0 | `dc_voltage` | uint16 | V | 0.1 | battery DC voltage |
| 1–2 | `charge_power` | uint32 | W | 1 | power into the ESS (>= 0) |
| 3–4 | `discharge_power` | uint32 | W | 1 | power out of the ESS (>= 0) |
| 5 | `soc` | uint16 | % | 0.1 | state of charge |
| 6 | `state` | uint16 | enum | – | 0 standby, 1 charging, 2 discharging, 3 fault, 4 local control |
| 7–8 | `setpoint_in_force` | int32 | W | 1 | the set-point the inverter runs (generator sign) |
| 9 | `watchdog_left` | uint16 | s | 1 | seconds until the set-point lapses (0: none) |
| 10 | `alarms` | uint16 | bits | – | bit 0 SoC low, bit 1 SoC high, bit 2 over-temperature |
| 11 | `heartbeat` | uint16 | – | – | counts the device's seconds (wraps) |

Holding registers (function codes 3, 6, 16), the commands:

| addr | name | type | unit | range | meaning |
|---|---|---|---|---|---|
| 0–1 | `setpoint` | int32 | W | ±rated power | active power set-point (generator sign) |
| 2 | `watchdog` | uint16 | s | 0–3600 | the set-point lapses to 0 W after this long without a new write (0: never) |
| 3 | `mode` | uint16 | enum | 0–1 | 0 local (standby, 0 W), 1 remote set-point |

Out-of-range values are refused with exception 3 (illegal data value), writes to other addresses with
exception 2. A 15-minute set-point cycle writes all four holding registers at once (function 16) with a
watchdog of 960 s, then reads the input registers back.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

INPUT_COUNT = 12
HOLDING_COUNT = 4
MAX_WATCHDOG_S = 3600


class EssState(IntEnum):
    STANDBY = 0
    CHARGING = 1
    DISCHARGING = 2
    FAULT = 3
    LOCAL = 4


class Mode(IntEnum):
    LOCAL = 0
    REMOTE = 1


@dataclass(frozen=True)
class RegisterVariable:
    name: str  # key of the connector's `keys` option
    address: int  # input register
    words: int  # 1 or 2
    signed: bool
    scale: float
    key: str | None  # default site Datastream key; None: used only inside the connector
    unit: str | None  # SenML; None = category


VARIABLE_MAP: tuple[RegisterVariable, ...] = (
    RegisterVariable("dc_voltage", 0, 1, False, 0.1, "V_ess", "V"),
    RegisterVariable("charge_power", 1, 2, False, 1.0, "P_ess_in", "W"),
    RegisterVariable("discharge_power", 3, 2, False, 1.0, "P_ess_out", "W"),
    RegisterVariable("soc", 5, 1, False, 0.1, "SoC", "%"),
    RegisterVariable("state", 6, 1, False, 1.0, "essStatus", None),
    RegisterVariable("setpoint_in_force", 7, 2, True, 1.0, None, "W"),
    RegisterVariable("watchdog_left", 9, 1, False, 1.0, None, "s"),
    RegisterVariable("alarms", 10, 1, False, 1.0, None, None),
)
# Derived: `ess_power` = charge_power - discharge_power (consumer sign) → default key `P_ess`.
