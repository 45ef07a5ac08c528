"""Solar API v1 fields → site Datastream keys, SenML units, factor and sign (consumer convention).

Fronius's own signs: `P_PV` > 0 is production, `P_Akku` > 0 is the battery discharging, `P_Grid` > 0 is
import from the grid, `P_Load` < 0 is consumption. The site counts consumption, charging and import as
positive, so `P_PV`, `P_Akku` and `P_Load` are flipped and `P_Grid` kept. `null` at night: `P_PV` (and an
inverter's `PAC`) mean 0 W (the inverter sleeps); any other null field is left out (not measured).
"""
from __future__ import annotations

from dataclasses import dataclass

POWER_FLOW = "/solar_api/v1/GetPowerFlowRealtimeData.fcgi"
INVERTER = "/solar_api/v1/GetInverterRealtimeData.cgi?Scope=Device&DeviceId=1&DataCollection=CommonInverterData"
METER = "/solar_api/v1/GetMeterRealtimeData.cgi?Scope=System"
STORAGE = "/solar_api/v1/GetStorageRealtimeData.cgi?Scope=System"
ENDPOINTS = (POWER_FLOW, INVERTER, METER, STORAGE)


@dataclass(frozen=True)
class FieldVariable:
    name: str  # key of the connector's `keys` option
    endpoint: str
    path: tuple[str, ...]  # inside Body.Data ("*" = the first device of a System scope)
    key: str  # default site Datastream key
    unit: str | None  # SenML; None = category (a code as text)
    factor: float = 1.0
    sign: int = 1
    null_is_zero: bool = False


VARIABLE_MAP: tuple[FieldVariable, ...] = (
    FieldVariable("pv_power", POWER_FLOW, ("Site", "P_PV"), "P_pv", "W", sign=-1, null_is_zero=True),
    FieldVariable("ess_power", POWER_FLOW, ("Site", "P_Akku"), "P_ess", "W", sign=-1),
    FieldVariable("grid_power", POWER_FLOW, ("Site", "P_Grid"), "P_grid", "W"),
    FieldVariable("load_power", POWER_FLOW, ("Site", "P_Load"), "P_load", "W", sign=-1),
    FieldVariable("soc", POWER_FLOW, ("Inverters", "1", "SOC"), "SoC", "%"),
    FieldVariable("ac_power", INVERTER, ("PAC", "Value"), "P_inv", "W", sign=-1, null_is_zero=True),
    FieldVariable("day_energy", INVERTER, ("DAY_ENERGY", "Value"), "E_day", "kWh", factor=0.001),
    FieldVariable("total_energy", INVERTER, ("TOTAL_ENERGY", "Value"), "E_total", "kWh", factor=0.001),
    FieldVariable("status", INVERTER, ("DeviceStatus", "StatusCode"), "essStatus", None),
    FieldVariable("voltage_l1", METER, ("*", "Voltage_AC_Phase_1"), "V_L1", "V"),
    FieldVariable("voltage_l2", METER, ("*", "Voltage_AC_Phase_2"), "V_L2", "V"),
    FieldVariable("voltage_l3", METER, ("*", "Voltage_AC_Phase_3"), "V_L3", "V"),
    FieldVariable("meter_power", METER, ("*", "PowerReal_P_Sum"), "P_meter", "W"),
    FieldVariable("battery_voltage", STORAGE, ("*", "Controller", "Voltage_DC"), "V_ess", "V"),
    FieldVariable("battery_temperature", STORAGE, ("*", "Controller", "Temperature_Cell"), "T_ess", "Cel"),
)

# Inverter DeviceStatus.StatusCode → text (parameters.detail of the status reading).
STATUS_TEXT = {0: "Startup", 1: "Startup", 2: "Startup", 3: "Startup", 4: "Startup", 5: "Startup",
               6: "Startup", 7: "Running", 8: "Standby", 9: "Bootloading", 10: "Error", 11: "Idle",
               12: "Ready", 13: "Sleeping", 255: "Unknown"}
