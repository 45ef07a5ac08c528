"""Pure conversions between the commercial ESS's registers and readings / set-points (map: variables.py)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from adapters.connector import Reading
from adapters.modbus_ess.variables import MAX_WATCHDOG_S, VARIABLE_MAP, EssState, Mode, RegisterVariable


@dataclass(frozen=True)
class Setpoint:
    """The holding registers as values: generator sign, as the device counts."""

    power_w: int
    watchdog_s: int
    mode: int


def words_to_int(words: Sequence[int], signed: bool) -> int:
    value = 0
    for word in words:
        value = (value << 16) | (word & 0xFFFF)
    bits = 16 * len(words)
    return value - (1 << bits) if signed and value >= 1 << (bits - 1) else value


def int_to_words(value: int, words: int) -> list[int]:
    value &= (1 << (16 * words)) - 1
    return [(value >> (16 * (words - 1 - i))) & 0xFFFF for i in range(words)]


def decode_measurements(registers: Sequence[int]) -> dict[str, float]:
    """Input registers 0.. → named values in their units."""
    values = {}
    for variable in VARIABLE_MAP:
        raw = words_to_int(registers[variable.address:variable.address + variable.words], variable.signed)
        values[variable.name] = round(raw * variable.scale, 6)
    return values


def parse_measurements(registers: Sequence[int], when: datetime, keys: Mapping[str, str] | None = None,
                       variables: Sequence[RegisterVariable] = VARIABLE_MAP) -> list[Reading]:
    """Readings in the consumer convention: the signed battery power (`P_ess`, > 0 charging), the two
    unsigned flows, voltage, SoC and the state as a category."""
    values = decode_measurements(registers)
    names = dict(keys or {})
    readings = [Reading(names.get("ess_power", "P_ess"), values["charge_power"] - values["discharge_power"], when)]
    for variable in variables:
        key = names.get(variable.name, variable.key)
        if key is None:
            continue
        value = values[variable.name]
        if variable.unit is None:
            state = int(value)
            text = EssState(state).name.lower() if state in EssState._value2member_map_ else str(state)
            readings.append(Reading(key, text, when, {"code": state}))
        else:
            readings.append(Reading(key, value, when))
    return readings


def encode_setpoint(power_w: float | None, watchdog_s: int) -> list[int]:
    """Holding registers 0–3 for a consumer-convention set-point (None: back to local control)."""
    if power_w is None:
        return [*int_to_words(0, 2), 0, int(Mode.LOCAL)]
    return [*int_to_words(-round(power_w), 2), watchdog_s, int(Mode.REMOTE)]


def decode_setpoint(registers: Sequence[int]) -> Setpoint:
    return Setpoint(words_to_int(registers[0:2], True), int(registers[2]), int(registers[3]))


def setpoint_error(setpoint: Setpoint, rated_w: float) -> str | None:
    """Why the device refuses these holding registers (exception 3), or None."""
    if abs(setpoint.power_w) > rated_w:
        return f"set-point {setpoint.power_w} W beyond the rated ±{rated_w:.0f} W"
    if not 0 <= setpoint.watchdog_s <= MAX_WATCHDOG_S:
        return f"watchdog {setpoint.watchdog_s} s outside 0..{MAX_WATCHDOG_S}"
    if setpoint.mode not in Mode._value2member_map_:
        return f"mode {setpoint.mode} unknown"
    return None
