"""The OBIS registers a meter connector reads (Register, interface class 3: attribute 2 value, attribute 3
scaler_unit) and how each becomes a site Datastream.

| name | OBIS | COSEM unit | site unit | factor | meaning |
|---|---|---|---|---|---|
| `active_import` | 1.0.1.7.0.255 | W (27) | W | 1 | P+, instantaneous import |
| `active_export` | 1.0.2.7.0.255 | W (27) | W | 1 | P−, instantaneous export |
| `reactive_import` | 1.0.3.7.0.255 | var (29) | var | 1 | Q+ |
| `reactive_export` | 1.0.4.7.0.255 | var (29) | var | 1 | Q− |
| `voltage_l1` | 1.0.32.7.0.255 | V (35) | V | 1 | phase voltage L1 |
| `voltage_l2` | 1.0.52.7.0.255 | V (35) | V | 1 | phase voltage L2 |
| `voltage_l3` | 1.0.72.7.0.255 | V (35) | V | 1 | phase voltage L3 |
| `energy_import` | 1.0.1.8.0.255 | Wh (30) | kWh | 0.001 | A+, total import |
| `energy_export` | 1.0.2.8.0.255 | Wh (30) | kWh | 0.001 | A−, total export |
| `active_import_l1..l3` | 1.0.21/41/61.7.0.255 | W (27) | W | 1 | P+ per phase (asked only for `phase_powers`) |
| `active_export_l1..l3` | 1.0.22/42/62.7.0.255 | W (27) | W | 1 | P− per phase (idem) |

value = register value × 10^scaler × factor; a register whose unit is not the one above is refused
(not guessed). Sign convention (the site's consumer convention): `power` = P+ − P− (> 0 = import at the
meter), `reactive_power` = Q+ − Q−. `voltages` = [L1, L2, L3] for a MultiDatastream; `phase_powers` =
[P+ − P− of L1, L2, L3] for a MultiDatastream (D3.1 T19 "P×3"), read only when its key is set (a meter without
the per-phase registers still answers the rest).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ObisVariable:
    name: str
    obis: tuple[int, int, int, int, int, int]
    cosem_unit: int  # the DLMS unit enumeration (IEC 62056-6-2)
    unit: str  # SenML symbol in the site file
    factor: float  # from the COSEM unit to the site unit


VARIABLE_MAP: tuple[ObisVariable, ...] = (
    ObisVariable("active_import", (1, 0, 1, 7, 0, 255), 27, "W", 1.0),
    ObisVariable("active_export", (1, 0, 2, 7, 0, 255), 27, "W", 1.0),
    ObisVariable("reactive_import", (1, 0, 3, 7, 0, 255), 29, "var", 1.0),
    ObisVariable("reactive_export", (1, 0, 4, 7, 0, 255), 29, "var", 1.0),
    ObisVariable("voltage_l1", (1, 0, 32, 7, 0, 255), 35, "V", 1.0),
    ObisVariable("voltage_l2", (1, 0, 52, 7, 0, 255), 35, "V", 1.0),
    ObisVariable("voltage_l3", (1, 0, 72, 7, 0, 255), 35, "V", 1.0),
    ObisVariable("energy_import", (1, 0, 1, 8, 0, 255), 30, "kWh", 0.001),
    ObisVariable("energy_export", (1, 0, 2, 8, 0, 255), 30, "kWh", 0.001),
)
PHASE_POWER_MAP: tuple[ObisVariable, ...] = tuple(
    ObisVariable(f"active_{way}_l{phase}", (1, 0, code + 20 * (phase - 1), 7, 0, 255), 27, "W", 1.0)
    for way, code in (("import", 21), ("export", 22)) for phase in (1, 2, 3))
BY_OBIS = {variable.obis: variable for variable in (*VARIABLE_MAP, *PHASE_POWER_MAP)}

# Datastream keys of the readings (the connector's `keys` option overrides them; a meter other than the
# PCC meter names its own keys, e.g. {power: P_ev_meter}).
DEFAULT_KEYS: dict[str, str] = {
    "power": "P_grid", "reactive_power": "Q_grid", "voltages": "V_grid",
    "energy_import": "A_plus", "energy_export": "A_minus", "phase_powers": "",
}
