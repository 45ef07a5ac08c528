"""The emulator's side of the Solar API v1: the JSON documents a Fronius Symo Hybrid with a Solar Battery
and a Smart Meter at the grid point answers, from a `HybridState`, with Fronius's signs and night nulls."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from adapters.fronius.variables import INVERTER, METER, POWER_FLOW, STORAGE
from adapters.sunspec.hybrid import HybridState

ASLEEP_W = 0.5  # below this the PV side sleeps and the API answers null


def watts(value: float) -> float:
    """One decimal, and no negative zero (the API never writes -0.0)."""
    return round(value, 1) + 0.0


def envelope(data: dict[str, Any], when: datetime, code: int = 0, reason: str = "") -> dict[str, Any]:
    return {"Body": {"Data": data},
            "Head": {"RequestArguments": {}, "Status": {"Code": code, "Reason": reason, "UserMessage": ""},
                     "Timestamp": when.isoformat(timespec="seconds")}}


def power_flow(state: HybridState, e_total_wh: float) -> dict[str, Any]:
    pv = None if -state.pv_w < ASLEEP_W else round(-state.pv_w, 1)
    return {"Inverters": {"1": {"Battery_Mode": "normal", "DT": 99, "E_Day": None, "E_Total": round(e_total_wh, 1),
                                "E_Year": None, "P": round(-state.inverter_w, 1), "SOC": round(state.soc_pct, 1)}},
            "Site": {"BackupMode": False, "BatteryStandby": False, "E_Day": None, "E_Total": round(e_total_wh, 1),
                     "E_Year": None, "Meter_Location": "grid", "Mode": "bidirectional",
                     "P_Akku": watts(-state.ess_w), "P_Grid": watts(state.grid_w),
                     "P_Load": watts(-state.load_w), "P_PV": pv, "rel_Autonomy": None,
                     "rel_SelfConsumption": None},
            "Version": "12"}


def inverter(state: HybridState, day_wh: float, e_total_wh: float) -> dict[str, Any]:
    asleep = -state.inverter_w < ASLEEP_W and -state.pv_w < ASLEEP_W
    data: dict[str, Any] = {"DAY_ENERGY": {"Unit": "Wh", "Value": round(day_wh, 1)},
                            "TOTAL_ENERGY": {"Unit": "Wh", "Value": round(e_total_wh, 1)},
                            "DeviceStatus": {"StatusCode": 13 if asleep else 7, "ErrorCode": 0, "InverterState":
                                             "Sleeping" if asleep else "Running"}}
    if not asleep:  # at night the inverter answers without its AC values
        data["PAC"] = {"Unit": "W", "Value": round(-state.inverter_w, 1)}
        data["UAC"] = {"Unit": "V", "Value": state.voltages_v[0]}
        data["FAC"] = {"Unit": "Hz", "Value": 50.0}
    return data


def meter(state: HybridState) -> dict[str, Any]:
    return {"0": {"Meter_Location_Current": 0, "PowerReal_P_Sum": round(state.grid_w, 1),
                  "Voltage_AC_Phase_1": state.voltages_v[0], "Voltage_AC_Phase_2": state.voltages_v[1],
                  "Voltage_AC_Phase_3": state.voltages_v[2], "Frequency_Phase_Average": 50.0}}


def storage(state: HybridState, capacity_wh: float) -> dict[str, Any]:
    return {"0": {"Controller": {"Capacity_Maximum": capacity_wh, "DesignedCapacity": capacity_wh, "Enable": 1,
                                 "StateOfCharge_Relative": round(state.soc_pct, 1),
                                 "Temperature_Cell": 25.0, "Voltage_DC": round(400 + state.soc_pct / 2, 1)},
                  "Modules": []}}


def documents(state: HybridState, capacity_wh: float, day_wh: float, e_total_wh: float) -> dict[str, dict[str, Any]]:
    """Endpoint path (with its query) → Body.Data."""
    return {POWER_FLOW: power_flow(state, e_total_wh), INVERTER: inverter(state, day_wh, e_total_wh),
            METER: meter(state), STORAGE: storage(state, capacity_wh)}
