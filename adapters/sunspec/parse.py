"""Pure conversions: the computed point values of scanned SunSpec models → readings."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from adapters.connector import Reading
from adapters.sunspec.variables import VARIABLE_MAP, PointVariable

PointValue = float | int | str | None
ModelValues = Mapping[int, Mapping[str, PointValue]]  # model id → point name → computed value (SF applied)


def parse_models(values: ModelValues, when: datetime, keys: Mapping[str, str] | None = None,
                 variables: Sequence[PointVariable] = VARIABLE_MAP) -> list[Reading]:
    """One reading per mapped point that the device implements (unimplemented points read None and are
    left out); `keys` maps variable names to site Datastream keys over the defaults."""
    readings = []
    for variable in variables:
        value = values.get(variable.model, {}).get(variable.point)
        if value is None:
            continue
        key = (keys or {}).get(variable.name, variable.key)
        if variable.unit is None:
            readings.append(Reading(key, str(value), when))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            readings.append(Reading(key, round(variable.sign * variable.factor * float(value), 6), when))
    return readings
