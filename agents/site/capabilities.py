"""SWE Common 2.0 descriptions of the S4G TaskingCapabilities (docs/tasking.md), made to measure.

A site file names a template (`template: ess-schedule`) instead of spelling the JSON out; the
template reads the device's ratings (`max_power_w`) and the capability's `resolution_s`, so a 6.4 kW
battery's set-point is bounded by ±6,400 W and a 60-minute schedule has 24 values. A file may give
`tasking_parameters` itself instead (any SWE Common the server accepts).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agents.site.model import DeviceProperties

JSON = dict[str, Any]
ISO_8601 = {"href": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
DAY_S = 86_400


@dataclass(frozen=True)
class TemplateInput:
    properties: DeviceProperties
    resolution_s: int | None
    limit_w: float | None = None  # the capability's own power bound, else the device's max_power_w


def _time(name: str, optional: bool = False) -> JSON:
    return {"name": name, "type": "Time", "uom": ISO_8601, **({"optional": True} if optional else {})}


def _watts(name: str, low: float, high: float, label: str = "") -> JSON:
    field: JSON = {"name": name, "type": "Quantity", "uom": {"code": "W"},
                   "constraint": {"type": "AllowedValues", "interval": [[low, high]]}}
    return {**field, "label": label} if label else field


def _count(name: str, low: int, high: int, optional: bool = False) -> JSON:
    return {"name": name, "type": "Count", "constraint": {"type": "AllowedValues", "interval": [[low, high]]},
            **({"optional": True} if optional else {})}


def _max_power_w(given: TemplateInput) -> float:
    power_w = given.limit_w if given.limit_w is not None else given.properties.max_power_w
    if power_w is None:
        raise ValueError("this template needs the device's max_power_w (or the capability's limit_w)")
    return power_w


def _resolution_s(given: TemplateInput) -> int:
    resolution_s = given.resolution_s or 60
    if DAY_S % resolution_s:
        raise ValueError(f"resolution_s {resolution_s} does not divide a day")
    return resolution_s


def ess_setpoint(given: TemplateInput) -> JSON:
    """D3.1 T7/T14/T17: one ESS power set-point (P > 0: charge)."""
    power_w = _max_power_w(given)
    return {"type": "DataRecord", "field": [
        _watts("powerSetpoint", -power_w, power_w, "ESS active power set-point"),
        _count("priority", 1, 10), _time("startTime"), _time("stopTime", optional=True)]}


def ess_user_setpoint(given: TemplateInput) -> JSON:
    """D3.1 T11: the household's manual ESS set-point (the residential GUI); the LESSAg gives it the
    user's source, below every order of the grid, whatever priority it names."""
    return ess_setpoint(given)


LESSAG_MODES = ("self-consumption", "minimum-grid-exchange", "minimum-bill")


def lessag_mode(given: TemplateInput) -> JSON:
    """The household's behaviour-mode switch (the residential GUI; S4G's local objectives)."""
    return {"type": "DataRecord", "field": [
        {"name": "mode", "type": "Category", "label": "LESSAg behaviour mode",
         "constraint": {"type": "AllowedTokens", "value": list(LESSAG_MODES)}}]}


def ess_schedule(given: TemplateInput) -> JSON:
    """D3.1 T7: up to 24 h of ESS power at `resolution_s` (1 to 1,440 one-minute values by default; a
    profile of the wrong length reaches the agent, which answers it with accepted = false)."""
    power_w, resolution_s = _max_power_w(given), _resolution_s(given)
    steps = DAY_S // resolution_s
    return {"type": "DataRecord", "field": [
        _time("startTime"),
        {"name": "resolution", "type": "Quantity", "uom": {"code": "s"}, "optional": True,
         "constraint": {"type": "AllowedValues", "value": [resolution_s]}},
        {"name": "powerProfile", "label": f"up to 24 h at {resolution_s}-second resolution", "type": "DataArray",
         "elementCount": {"type": "Count", "constraint": {"type": "AllowedValues", "interval": [[1, steps]]}},
         "elementType": _watts("power", -power_w, power_w)},
        _count("priority", 1, 3, optional=True)]}


def ev_load_reduction(given: TemplateInput) -> JSON:
    """D3.1 T10/T12/T16: a profile of EV charging power limits (15-minute steps by default)."""
    power_w = _max_power_w(given)
    steps = DAY_S // (given.resolution_s or 900)
    return {"type": "DataRecord", "field": [
        _time("startTime"),
        {"name": "maxPowerProfile", "label": "EV charging power limit per step", "type": "DataArray",
         "elementCount": {"type": "Count", "constraint": {"type": "AllowedValues", "interval": [[1, steps]]}},
         "elementType": _watts("maxPower", 0, power_w)},
        _count("priority", 1, 10, optional=True)]}


def chargepoint_enable(given: TemplateInput) -> JSON:
    """D3.1 T16: enable or disable a charge point."""
    return {"type": "DataRecord", "field": [{"name": "enabled", "type": "Boolean"}, _time("startTime", True)]}


def er_mode(given: TemplateInput) -> JSON:
    """D3.1 T15: energy-router operation mode 1-5 and grid power limits."""
    return {"type": "DataRecord", "field": [
        _count("operationMode", 1, 5),
        {"name": "gridPowerMin", "type": "Quantity", "uom": {"code": "W"}, "optional": True},
        {"name": "gridPowerMax", "type": "Quantity", "uom": {"code": "W"}, "optional": True},
        {"name": "enabled", "type": "Boolean", "optional": True},
        {"name": "reason", "type": "Category", "optional": True,
         "constraint": {"type": "AllowedTokens", "value": ["peak-shaving", "self-consumption", "dso-request"]}}]}


def er_limits(given: TemplateInput) -> JSON:
    """D3.1 T15: grid active and reactive power ranges."""
    return {"type": "DataRecord", "field": [
        {"name": "gridPower", "type": "QuantityRange", "uom": {"code": "W"}},
        {"name": "gridReactivePower", "type": "QuantityRange", "uom": {"code": "var"}}]}


def er_setpoints(given: TemplateInput) -> JSON:
    """D3.1 T19: energy-router AC power, storage power and AC voltage."""
    power_w = _max_power_w(given)
    return {"type": "DataRecord", "field": [
        _watts("acPower", -power_w, power_w), _watts("storagePower", -power_w, power_w),
        {"name": "acVoltage", "type": "Quantity", "uom": {"code": "V"}, "optional": True,
         "constraint": {"type": "AllowedValues", "interval": [[207, 253]]}}]}


TEMPLATES: dict[str, Callable[[TemplateInput], JSON]] = {
    "ess-setpoint": ess_setpoint, "ess-schedule": ess_schedule, "ev-load-reduction": ev_load_reduction,
    "chargepoint-enable": chargepoint_enable, "er-mode": er_mode, "er-limits": er_limits,
    "er-setpoints": er_setpoints, "ess-user-setpoint": ess_user_setpoint, "lessag-mode": lessag_mode,
}
