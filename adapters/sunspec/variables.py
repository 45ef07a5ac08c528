"""What a SunSpec device's points become: site Datastream keys, SenML units, scale and sign.

Each entry names a variable (the key of the connector's `keys` option, which maps it to a site
Datastream key), a model and point, the default Datastream key, the SenML unit, a factor applied to the
point's computed value (its SunSpec scale factor is applied first) and the sign: SunSpec inverters count
AC power as production (W > 0 = output), the site's consumer convention the other way round, so -1.
Enumerated points (`St`, `ChaSt`) become category results: their symbol names.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PointVariable:
    name: str
    model: int
    point: str
    key: str
    unit: str | None  # SenML symbol; None for a category (enum symbol)
    factor: float = 1.0
    sign: int = 1


COMMON = 1  # Mn, Md, SN, Vr
INVERTER_3P = 103  # three-phase inverter, integer + scale factor
STORAGE = 124  # basic storage controls

VARIABLE_MAP: tuple[PointVariable, ...] = (
    PointVariable("ac_power", INVERTER_3P, "W", "P_inv", "W", sign=-1),
    PointVariable("ac_reactive_power", INVERTER_3P, "VAr", "Q_inv", "var", sign=-1),
    PointVariable("ac_energy", INVERTER_3P, "WH", "E_inv", "kWh", factor=0.001),
    PointVariable("voltage_l1", INVERTER_3P, "PhVphA", "V_L1", "V"),
    PointVariable("voltage_l2", INVERTER_3P, "PhVphB", "V_L2", "V"),
    PointVariable("voltage_l3", INVERTER_3P, "PhVphC", "V_L3", "V"),
    PointVariable("frequency", INVERTER_3P, "Hz", "f_grid", "Hz"),
    PointVariable("dc_power", INVERTER_3P, "DCW", "P_dc", "W", sign=-1),
    PointVariable("status", INVERTER_3P, "St", "invStatus", None),
    PointVariable("soc", STORAGE, "ChaState", "SoC", "%"),
    PointVariable("battery_voltage", STORAGE, "InBatV", "V_ess", "V"),
    PointVariable("charge_status", STORAGE, "ChaSt", "essChargeStatus", None),
)

# Model 124 control points the connector writes (and reads back).
CONTROL_POINTS = ("StorCtl_Mod", "InWRte", "OutWRte", "InOutWRte_RvrtTms", "WChaMax")
