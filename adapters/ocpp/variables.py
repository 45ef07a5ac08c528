"""OCPP 1.6J → site Datastreams: which MeterValues measurand (and status) feeds which key, in which unit.

A key is `<device key>.<suffix>` unless the connector's `keys` option names it (roles below), as the
site files do (`keys: {power: cp1.P_ev, status: cp1.cpStatus}`). Consumer sign convention: charging
power >= 0, which is OCPP's `*.Import` direction, so no flip."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Measurand:
    role: str  # the name in the connector's `keys` option
    suffix: str  # default key: <device>.<suffix>
    unit: str  # SenML unit of the Datastream
    default_ocpp_unit: str  # OCPP's default unit of the measurand
    phases: str  # how per-phase values make one: "sum" or "mean"


VARIABLE_MAP: Mapping[str, Measurand] = {
    "Power.Active.Import": Measurand("power", "P_ev", "W", "W", "sum"),
    "Voltage": Measurand("voltage", "V_ev", "V", "V", "mean"),
    "SoC": Measurand("soc", "SoC_ev", "%", "Percent", "mean"),
    "Current.Import": Measurand("current", "I_ev", "A", "A", "sum"),
    "Energy.Active.Import.Register": Measurand("energy", "E_ev", "Wh", "Wh", "sum"),
}

# OCPP sampled-value unit → factor to the SenML unit of its measurand
UNIT_FACTOR: Mapping[str, float] = {"W": 1.0, "kW": 1000.0, "Wh": 1.0, "kWh": 1000.0, "V": 1.0, "A": 1.0,
                                    "Percent": 1.0}

STATUS_ROLE, STATUS_SUFFIX = "status", "cpStatus"  # StatusNotification.status, a category
LINK_ROLE, LINK_SUFFIX = "link", "ocppLink"  # the CSMS's view of the link (faults), a category


def stream_keys(device: str, keys: Mapping[str, str] | None = None) -> dict[str, str]:
    """Role → Datastream key of one charge-point connector (device)."""
    defaults = {m.role: f"{device}.{m.suffix}" for m in VARIABLE_MAP.values()}
    defaults[STATUS_ROLE] = f"{device}.{STATUS_SUFFIX}"
    defaults[LINK_ROLE] = f"{device}.{LINK_SUFFIX}"
    return {**defaults, **{str(k): str(v) for k, v in (keys or {}).items()}}
