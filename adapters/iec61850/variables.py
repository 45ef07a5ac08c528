"""The energy router's IEC 61850 data model (IED `S4G`, logical device `ER`: MMS domain `S4GER`) and how each
attribute maps to the site. Consumer sign convention on the wire too (P > 0 = import from the grid, battery
charging; PV <= 0), so no flips.

| reference | FC | type | site key | unit | meaning |
|---|---|---|---|---|---|
| MMXU1.TotW.mag.f | MX | float | `P_ac` | W | AC power at the grid terminals |
| MMXU1.TotVAr.mag.f | MX | float | – | var | AC reactive power |
| MMXU2.TotW.mag.f | MX | float | `P_pv` | W | PV converter power (<= 0) |
| ZBTC1.BatChaPwr.mag.f | MX | float | `P_ess` | W | battery charger power (> 0 charging) |
| ZBTC1.BatSoC.mag.f | MX | float | `SoC` | % | battery state of charge |
| MMDC1.Vol.mag.f | MX | float | `V_dc` | V | DC bus voltage |
| MMDC1.Watt.mag.f | MX | float | `P_dc_link` | W | DC link (home DC bus) power |
| DRCC1.OpModSt.stVal | ST | int32 | `erMode` | – | operation mode in force (1–5) |
| DRCC1.WSptSt.mag.f | MX | float | `P_dc_setpoint` | W | storage set-point in force |
| DRCC1.WMinGridSt.mag.f / WMaxGridSt.mag.f | MX | float | – | W | grid power limits in force |
| DRCC1.OpMod.setVal | SP | int32 | ← `er_mode.operationMode` | – | requested mode (writable) |
| DRCC1.WMinGrid.setMag.f / WMaxGrid.setMag.f | SP | float | ← `gridPowerMin/Max`, `gridPower` | W | grid limits asked |
| DRCC1.WSpt.setMag.f | SP | float | ← `ess_setpoint.powerSetpoint` | W | requested storage power (mode 1) |

Modes (T15): 1 follow the reference (storage set-point) within the grid limits; 2 reactive only, no active
exchange, the battery takes the PV; 3 inject all from PV + battery; 4 inject all from PV; 5 disconnect,
charge the battery from PV. The router applies a request only if valid (mode 1–5, min <= max) and shows what
it runs in the `...St` attributes: a write is acknowledged from those (read back), never from the write.
"""
from __future__ import annotations

from dataclasses import dataclass

IED, LD = "S4G", "ER"
DOMAIN = IED + LD


@dataclass(frozen=True)
class Attribute:
    reference: str  # inside the logical device, e.g. "MMXU1.TotW.mag.f"
    fc: str  # MX, ST, SP
    kind: str  # "float" | "int32"
    key: str | None  # default site Datastream key (None: used by the connector only)
    unit: str | None = None


MEASUREMENTS: tuple[Attribute, ...] = (
    Attribute("MMXU1.TotW.mag.f", "MX", "float", "P_ac", "W"),
    Attribute("MMXU1.TotVAr.mag.f", "MX", "float", None, "var"),
    Attribute("MMXU2.TotW.mag.f", "MX", "float", "P_pv", "W"),
    Attribute("ZBTC1.BatChaPwr.mag.f", "MX", "float", "P_ess", "W"),
    Attribute("ZBTC1.BatSoC.mag.f", "MX", "float", "SoC", "%"),
    Attribute("MMDC1.Vol.mag.f", "MX", "float", "V_dc", "V"),
    Attribute("MMDC1.Watt.mag.f", "MX", "float", "P_dc_link", "W"),
    Attribute("DRCC1.OpModSt.stVal", "ST", "int32", "erMode"),
    Attribute("DRCC1.WSptSt.mag.f", "MX", "float", "P_dc_setpoint", "W"),
    Attribute("DRCC1.WMinGridSt.mag.f", "MX", "float", None, "W"),
    Attribute("DRCC1.WMaxGridSt.mag.f", "MX", "float", None, "W"),
)
SETTINGS: tuple[Attribute, ...] = (
    Attribute("DRCC1.OpMod.setVal", "SP", "int32", None),
    Attribute("DRCC1.WMinGrid.setMag.f", "SP", "float", None, "W"),
    Attribute("DRCC1.WMaxGrid.setMag.f", "SP", "float", None, "W"),
    Attribute("DRCC1.WSpt.setMag.f", "SP", "float", None, "W"),
)
# command parameter → (setting written, its in-force attribute read back)
WRITES: dict[str, tuple[str, str]] = {
    "operationMode": ("DRCC1.OpMod.setVal", "DRCC1.OpModSt.stVal"),
    "gridPowerMin": ("DRCC1.WMinGrid.setMag.f", "DRCC1.WMinGridSt.mag.f"),
    "gridPowerMax": ("DRCC1.WMaxGrid.setMag.f", "DRCC1.WMaxGridSt.mag.f"),
    "powerSetpoint": ("DRCC1.WSpt.setMag.f", "DRCC1.WSptSt.mag.f"),
}
REQUIRED_NODE = "MMXU1"  # a router without its grid measurement is not this device
