"""Units a site Datastream may use: SenML symbols (RFC 8428, RFC 8798) with their UCUM definitions.

The server matches a SenML record's `u` against `unitOfMeasurement.symbol`, so the symbol must be a
SenML unit; `definition` is the UCUM code (NLM UCUM tables: no `var`, `VA`, `Wh` atoms, so energy is
`kW.h` and reactive power `V.A{reactive}`). `%` follows S4G-SYSTEM.md (SenML's own is `/`, `%EL`, `%RH`).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Unit:
    symbol: str  # SenML
    ucum: str  # UCUM code, without the `ucum:` prefix
    name: str


_UNITS = (
    Unit("W", "W", "watt"), Unit("kW", "kW", "kilowatt"), Unit("MW", "MW", "megawatt"),
    Unit("var", "V.A{reactive}", "volt-ampere reactive"), Unit("kvar", "kV.A{reactive}", "kilovolt-ampere reactive"),
    Unit("VA", "V.A", "volt-ampere"), Unit("kVA", "kV.A", "kilovolt-ampere"),
    Unit("Wh", "W.h", "watt hour"), Unit("kWh", "kW.h", "kilowatt hour"),
    Unit("varh", "V.A{reactive}.h", "volt-ampere reactive hour"),
    Unit("kvarh", "kV.A{reactive}.h", "kilovolt-ampere reactive hour"),
    Unit("Ah", "A.h", "ampere hour"), Unit("V", "V", "volt"), Unit("mV", "mV", "millivolt"),
    Unit("A", "A", "ampere"), Unit("mA", "mA", "milliampere"), Unit("Hz", "Hz", "hertz"),
    Unit("%", "%", "percent"), Unit("%EL", "%", "percent of remaining battery level"),
    Unit("%RH", "%", "percent relative humidity"), Unit("/", "1", "ratio"),
    Unit("s", "s", "second"), Unit("ms", "ms", "millisecond"), Unit("min", "min", "minute"), Unit("h", "h", "hour"),
    Unit("Cel", "Cel", "degree Celsius"), Unit("K", "K", "kelvin"), Unit("W/m2", "W/m2", "watt per square metre"),
    Unit("m/s", "m/s", "metre per second"), Unit("J", "J", "joule"), Unit("Ohm", "Ohm", "ohm"),
    Unit("count", "{count}", "count"), Unit("Pa", "Pa", "pascal"), Unit("hPa", "hPa", "hectopascal"),
)

UNITS: dict[str, Unit] = {unit.symbol: unit for unit in _UNITS}


def ucum_definition(unit: Unit) -> str:
    """The `unitOfMeasurement.definition` of a unit, e.g. `ucum:kW.h`."""
    return f"ucum:{unit.ucum}"
