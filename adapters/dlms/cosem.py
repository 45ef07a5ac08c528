"""Pure DLMS/COSEM encoding and decoding for the meter connector and its emulator (dlms-cosem's APDU
classes): the GET.WITH_LIST request of every mapped register's value and scaler_unit, and the readings
made from the answer. No I/O here."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from dlms_cosem import cosem, enumerations
from dlms_cosem.protocol import xdlms

from adapters.connector import Reading
from adapters.dlms.errors import GarbledFrame, RegisterError
from adapters.dlms.variables import VARIABLE_MAP, ObisVariable

VALUE, SCALER_UNIT = 2, 3


def register_attributes(variables: Sequence[ObisVariable] = VARIABLE_MAP) -> list[Any]:
    """Value and scaler_unit of each register, in that order (one GET.WITH_LIST)."""
    return [cosem.CosemAttributeWithSelection(
        attribute=cosem.CosemAttribute(enumerations.CosemInterface.REGISTER, cosem.Obis(*variable.obis), attribute),
        access_selection=None) for variable in variables for attribute in (VALUE, SCALER_UNIT)]


def get_request(variables: Sequence[ObisVariable] = VARIABLE_MAP) -> Any:
    return xdlms.GetRequestWithList(cosem_attributes_with_selection=register_attributes(variables))


def scaled_value(variable: ObisVariable, value: object, scaler_unit: object) -> float:
    """register value × 10^scaler, converted to the site unit; refuses errors, non-numbers, other units."""
    for item in (value, scaler_unit):
        if isinstance(item, enumerations.DataAccessResult):
            raise RegisterError(f"{variable.name}: the meter answered {item.name}")
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise RegisterError(f"{variable.name}: value {value!r} is not a number")
    if not isinstance(scaler_unit, list) or len(scaler_unit) != 2 or not all(isinstance(x, int) for x in scaler_unit):
        raise RegisterError(f"{variable.name}: scaler_unit {scaler_unit!r} is not a structure of two integers")
    scaler, unit = scaler_unit
    if unit != variable.cosem_unit:
        raise RegisterError(f"{variable.name}: unit {unit}, expected {variable.cosem_unit}")
    return float(value) * 10.0 ** int(scaler) * variable.factor


def parse_values(results: Sequence[object], variables: Sequence[ObisVariable] = VARIABLE_MAP) -> dict[str, float]:
    """The answer of `get_request` (value, scaler_unit per register) → name → value in the site unit."""
    if len(results) != 2 * len(variables):
        raise GarbledFrame(f"{len(results)} results for {2 * len(variables)} attributes asked")
    return {variable.name: scaled_value(variable, results[2 * i], results[2 * i + 1])
            for i, variable in enumerate(variables)}


def readings(values: Mapping[str, float], now: datetime, keys: Mapping[str, str]) -> list[Reading]:
    """Site readings in the consumer convention (power = P+ − P−); `keys` names their Datastreams."""
    derived: dict[str, Any] = {
        "power": values["active_import"] - values["active_export"],
        "reactive_power": values["reactive_import"] - values["reactive_export"],
        "voltages": [round(values[f"voltage_l{phase}"], 3) for phase in (1, 2, 3)],
        "energy_import": values["energy_import"], "energy_export": values["energy_export"],
    }
    if "active_import_l1" in values:
        derived["phase_powers"] = [round(values[f"active_import_l{p}"] - values[f"active_export_l{p}"], 3)
                                   for p in (1, 2, 3)]
    derived.update({name: value for name, value in values.items() if name in keys})  # raw registers asked for
    return [Reading(keys[name], round(value, 6) if isinstance(value, float) else value, now)
            for name, value in derived.items() if keys.get(name)]
